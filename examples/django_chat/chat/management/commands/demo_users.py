from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Creates the demo users alice and bob (password: chat-demo)."

    def handle(self, *args, **options):
        User = get_user_model()
        for name in ("alice", "bob"):
            user, _ = User.objects.get_or_create(username=name)
            user.set_password("chat-demo")
            user.save()
            self.stdout.write("user %s (password chat-demo)" % name)

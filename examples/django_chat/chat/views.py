from django.conf import settings
from django.shortcuts import render


def index(request):
    """The chat page: anyone may open it; the /chat namespace admits logged-in users only."""
    return render(request, "chat/index.html", {"sio_url": settings.SIO_PUBLIC_URL.rstrip("/")})

from django.contrib.auth import get_user_model, login
from django.http import HttpResponse, JsonResponse

from siobroker.django import server


def health(request):
    return HttpResponse("ok")


def login_as(request):
    """Logs in as ?u=NAME (created on first use) and returns the session cookie's value."""
    user, _ = get_user_model().objects.get_or_create(username=request.GET["u"])
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    request.session.save()
    return JsonResponse({"sessionid": request.session.session_key})


def emit_outside(request):
    """Outside a handler: socket.server.emit goes through the Redis emitter."""
    server.emit("outside", {"text": request.GET["text"]}, room=request.GET.get("room"),
                namespace="/app")
    return HttpResponse("ok")

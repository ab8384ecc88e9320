"""The view the siobroker nodes POST their calls to (``siobroker.django.urls``)."""

import json
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt

from .. import bridge
from .consumer import dispatch as dispatch_calls

logger = logging.getLogger("sio.consumer")

__all__ = ["dispatch"]

_warned_insecure = False


def _secret():
    secret = getattr(settings, "SIO_APP_SECRET", None)
    if secret:
        if len(secret) < 16:
            raise ImproperlyConfigured("SIO_APP_SECRET has at least 16 characters")
        return secret
    if getattr(settings, "SIO_INSECURE_APP", False):
        return None
    raise ImproperlyConfigured(
        "SIO_APP_SECRET is not set: the siobroker nodes sign their calls with --app-secret "
        "(SIO_INSECURE_APP = True accepts unsigned calls, trusted networks only)")


@csrf_exempt
def dispatch(request):
    """Check the node's signature first, then answer its batch of calls (docs/app-bridge.md)."""
    global _warned_insecure
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    body = request.body
    secret = _secret()
    if secret is not None:
        try:
            bridge.verify(secret, request.META.get("HTTP_X_SIOBROKER_TS"),
                          request.META.get("HTTP_X_SIOBROKER_SIG"), body)
        except bridge.SignatureError as e:
            logger.warning("call refused from %s: %s", request.META.get("REMOTE_ADDR"), e)
            return HttpResponse("forbidden: %s\n" % e, status=403, content_type="text/plain")
    elif not _warned_insecure:
        _warned_insecure = True
        logger.warning("SIO_INSECURE_APP: calls from the nodes are not authenticated")
    try:
        payload = json.loads(body)
        calls = payload["calls"]
        if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
            raise ValueError("calls is not a list of objects")
    except (ValueError, KeyError, TypeError) as e:
        logger.warning("malformed call batch: %s", e)
        return HttpResponse("bad request\n", status=400, content_type="text/plain")
    answers = dispatch_calls(calls)
    out = json.dumps({"answers": answers}, cls=DjangoJSONEncoder, separators=(",", ":"))
    return HttpResponse(out, content_type="application/json")

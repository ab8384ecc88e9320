"""The app bridge's wire format, without any web framework (docs/app-bridge.md).

A siobroker node serving a namespace with ``--namespace NSP:app`` POSTs JSON calls to the
application and applies the answers. This module holds what every adapter (Django here; Flask or
FastAPI could reuse it) needs: the signature check, the binary codec (placeholders + base64
attachments) and the answer builders. ``siobroker.django`` builds on it.
"""

import base64
import binascii
import hashlib
import hmac
import time

__all__ = [
    "SIGNATURE_WINDOW_MS",
    "SignatureError",
    "sign",
    "verify",
    "decode_args",
    "encode_args",
    "RESERVED_EVENTS",
]

#: How far the node's timestamp may be from our clock, either way (milliseconds).
SIGNATURE_WINDOW_MS = 30000

#: Event names a Socket.IO server never emits to clients.
RESERVED_EVENTS = frozenset(
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]
)


class SignatureError(Exception):
    """The request is not signed by a node that knows the secret (the reason is the message)."""


def sign(secret, ts_ms, body):
    """The X-Siobroker-Sig of ``body`` (bytes) sent at ``ts_ms``: hex HMAC-SHA256 of TS "\\n" BODY."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    msg = str(int(ts_ms)).encode("ascii") + b"\n" + body
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def verify(secret, ts, sig, body, now_ms=None):
    """Check a call's X-Siobroker-Ts (``ts``) and X-Siobroker-Sig (``sig``) for ``body``.

    Raises :class:`SignatureError` when either is missing, the timestamp is outside
    :data:`SIGNATURE_WINDOW_MS`, or the signature does not match (compared in constant time).
    """
    if not ts or not sig:
        raise SignatureError("missing signature")
    if not (isinstance(ts, str) and ts.isdigit() and len(ts) <= 19):
        raise SignatureError("bad timestamp")
    now = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now - int(ts)) > SIGNATURE_WINDOW_MS:
        raise SignatureError("timestamp outside the window")
    want = sign(secret, int(ts), body)
    if not hmac.compare_digest(want.encode("ascii"), sig.encode("ascii", "replace")):
        raise SignatureError("signature mismatch")


def _is_placeholder(v):
    return (
        isinstance(v, dict)
        and len(v) == 2
        and v.get("_placeholder") is True
        and isinstance(v.get("num"), int)
        and not isinstance(v.get("num"), bool)
    )


def decode_args(args, attachments):
    """A call's ``args`` with placeholders replaced by ``bytes`` from ``attachments`` (base64)."""
    if not attachments:
        return args
    blobs = [base64.b64decode(a, validate=True) for a in attachments]

    def walk(v):
        if _is_placeholder(v):
            n = v["num"]
            if n < 0 or n >= len(blobs):
                raise ValueError("placeholder out of range")
            return blobs[n]
        if isinstance(v, list):
            return [walk(e) for e in v]
        if isinstance(v, dict):
            return {k: walk(e) for k, e in v.items()}
        return v

    return walk(args)


def encode_args(args, default=None):
    """``(args, attachments)``: ``args`` as a JSON-ready list with every ``bytes``, ``bytearray``
    or ``memoryview`` replaced by a placeholder, and the base64 attachments (empty list when none).

    ``default`` converts what JSON does not know (e.g. Django's encoder's ``default``); tuples
    become lists, mapping keys strings.
    """
    attachments = []

    def walk(v):
        if isinstance(v, (bytes, bytearray, memoryview)):
            attachments.append(base64.b64encode(bytes(v)).decode("ascii"))
            return {"_placeholder": True, "num": len(attachments) - 1}
        if isinstance(v, (list, tuple)):
            return [walk(e) for e in v]
        if isinstance(v, dict):
            return {str(k): walk(e) for k, e in v.items()}
        if v is None or isinstance(v, (str, int, float, bool)):
            return v
        if default is not None:
            return walk(default(v))
        raise TypeError("%r is not JSON serializable" % (v,))

    out = walk(list(args))
    return out, attachments


def b64_ok(text):
    """True when ``text`` is valid padded base64."""
    try:
        base64.b64decode(text, validate=True)
        return True
    except (binascii.Error, ValueError, TypeError):
        return False

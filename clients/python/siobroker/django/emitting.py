"""Django glue for emitting: an :class:`~siobroker.emitter.Emitter` configured from settings.

Settings (both optional):

* ``SIO_REDIS_URL``: the Redis of the cluster, for ``redis.Redis.from_url``
  (default ``"redis://127.0.0.1:6379/0"``); the same URL the siobroker nodes get with ``--redis``.
* ``SIO_REDIS_KEY``: the channel prefix (default ``"socket.io"``, siobroker's ``--redis-key``).

Usage::

    from siobroker.django import emitter

    def publish(request):
        emitter.to("news").emit("news", {"title": "Hello"})

``emitter`` is a lazy proxy: nothing is read from settings and no connection is made until it is
first used (redis-py then connects on the first PUBLISH). ``get_emitter()`` returns the real
:class:`Emitter`. Changing either setting (``override_settings`` in tests) rebuilds it.

Beyond what the plain emitter encodes, values Django's ``DjangoJSONEncoder`` knows are accepted:
``date``/``time`` (ISO strings), ``timedelta`` (ISO 8601 duration), ``Decimal``, ``UUID`` and lazy
translation strings (strings).  A ``datetime`` stays a msgpack timestamp (a JS ``Date``).
"""

import threading

import redis
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.signals import setting_changed

from ..emitter import Emitter

__all__ = ["emitter", "get_emitter", "reset_emitter", "DEFAULT_REDIS_URL", "DEFAULT_REDIS_KEY"]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_REDIS_KEY = "socket.io"

_lock = threading.Lock()
_emitter = None
_json_encoder = DjangoJSONEncoder()


def _default(value):
    return _json_encoder.default(value)  # TypeError for what Django does not know either


def get_emitter():
    """The process-wide Emitter built from ``SIO_REDIS_URL`` and ``SIO_REDIS_KEY``."""
    global _emitter
    current = _emitter
    if current is None:
        with _lock:
            if _emitter is None:
                url = getattr(settings, "SIO_REDIS_URL", None) or DEFAULT_REDIS_URL
                key = getattr(settings, "SIO_REDIS_KEY", None) or DEFAULT_REDIS_KEY
                _emitter = Emitter(redis.Redis.from_url(url), key=key, default=_default)
            current = _emitter
    return current


def reset_emitter():
    """Forget the Emitter (and close its connection pool); the next use builds a new one."""
    global _emitter
    with _lock:
        old, _emitter = _emitter, None
    if old is not None:
        try:
            old.redis_client.connection_pool.disconnect()
        except Exception:  # pragma: no cover - best effort
            pass


def _on_setting_changed(setting, **kwargs):
    if setting in ("SIO_REDIS_URL", "SIO_REDIS_KEY"):
        reset_emitter()


setting_changed.connect(_on_setting_changed, dispatch_uid="siobroker.django.reset_emitter")


class _LazyEmitter:
    """Forwards every attribute to ``get_emitter()``, so importing it costs nothing."""

    __slots__ = ()

    def __getattr__(self, name):
        return getattr(get_emitter(), name)

    def __repr__(self):
        return "<lazy %r>" % (_emitter,) if _emitter is not None else "<lazy Emitter (not built yet)>"


#: ``from siobroker.django import emitter``; built from settings on first use.
emitter = _LazyEmitter()

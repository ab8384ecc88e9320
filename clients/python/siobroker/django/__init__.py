"""siobroker's Django side.

* Emitting from anywhere (a view, a task): ``from siobroker.django import emitter`` (a lazy
  :class:`~siobroker.emitter.Emitter` built from ``SIO_REDIS_URL`` / ``SIO_REDIS_KEY``), or
  ``server.emit(event, *args, room=..., namespace=...)``.
* Handlers: subclass :class:`SocketIOConsumer` (in an app's ``consumers.py``, or list the modules
  in ``SIO_CONSUMERS``), wire ``path("socket.io-app/", include("siobroker.django.urls"))`` and run
  the nodes with ``--namespace /chat:app --app-url http://host:port/socket.io-app/``
  (docs/app-bridge.md).

Importing this package imports no Django model and reads no setting.
"""

from .consumer import ConnectionRefused, Server, Socket, SocketIOConsumer, consumer_for, server
from .emitting import DEFAULT_REDIS_KEY, DEFAULT_REDIS_URL, emitter, get_emitter, reset_emitter

__all__ = [
    "emitter",
    "get_emitter",
    "reset_emitter",
    "DEFAULT_REDIS_URL",
    "DEFAULT_REDIS_KEY",
    "SocketIOConsumer",
    "ConnectionRefused",
    "Socket",
    "Server",
    "server",
    "consumer_for",
]

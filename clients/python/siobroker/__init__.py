"""siobroker: publish Socket.IO events to a siobroker (or Node socket.io) cluster from Python.

The :class:`Emitter` speaks the Redis wire format of Node's ``@socket.io/redis-emitter`` 5.x
byte for byte, so it can drive siobroker nodes started with ``--redis`` as well as Node servers
using ``@socket.io/redis-adapter`` 8.x.  ``siobroker.django`` builds one from Django settings.
"""

from .emitter import RESERVED_EVENTS, BroadcastOperator, Emitter, encode_json, encode_msgpack

__all__ = ["Emitter", "BroadcastOperator", "RESERVED_EVENTS", "encode_msgpack", "encode_json"]
__version__ = "0.1.0"

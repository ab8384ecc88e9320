"""A Python port of Node's ``@socket.io/redis-emitter`` 5.x that publishes the same bytes.

Wire format (see docs of ``@socket.io/redis-adapter`` 8.x, the "classic" adapter):

* a broadcast is the msgpack array ``["emitter", {"type": 2, "data": [event, *args], "nsp": nsp},
  {"rooms": [...], "flags": {...}, "except": [...]}]`` PUBLISHed once, on ``KEY#NSP#ROOM#`` when
  exactly one room is targeted and on ``KEY#NSP#`` otherwise;
* ``sockets_join``/``sockets_leave``/``disconnect_sockets``/``server_side_emit`` are compact JSON
  requests PUBLISHed on ``KEY-request#NSP#``.

With ``recovery=True`` (siobroker nodes run with ``--recovery-window``; docs/recovery.md), a
non-volatile emit is logged for connection state recovery instead: one EVAL of the nodes' own log
script appends it to the namespace's log (``KEY:csr-log#NSP``) and publishes it with its log offset
as its last argument (and as a 4th array element), so that clients that miss it while reconnecting
get it when their session is recovered. Without the option, what the emitter sends is not in the
log, and a client it reaches can no longer be recovered (it reconnects as a new session).

Values are encoded as notepack.io 3 (the codec of the Node emitter) encodes the equivalent
JavaScript values, and the JSON requests as ``JSON.stringify`` writes them:

==========================  ==========================================================
Python                      msgpack (JSON)
==========================  ==========================================================
``str``                     str family, UTF-8 (JSON string, non-ASCII kept as is)
``bytes``/``bytearray``/    bin8/16/32 (``{"type":"Buffer","data":[...]}``, as
``memoryview``              ``Buffer.prototype.toJSON``)
``int``                     smallest int form (a JS number: exact up to 2**53); outside
                            -2**63..2**64-1 a float64 (notepack would wrap it modulo 2**64)
``float``                   float64; an integral float is an int, as in JS (``2.0`` → 2,
                            ``-0.0`` → 0), except outside -2**63..2**64-1 (float64)
``None``/``True``/``False`` nil / true / false
``list``/``tuple``          array
``dict`` (any Mapping)      map, key order kept; keys become strings as in JS objects
``datetime.datetime``       timestamp ext -1 (32/64/96), millisecond precision, as a JS
                            ``Date`` (JSON: ``"2024-01-02T03:04:05.000Z"``); a naive
                            datetime is local time, like ``datetime.timestamp()``
anything else               ``default(obj)`` if given (like a JS ``toJSON``), else TypeError
==========================  ==========================================================
"""

import datetime as _dt
import json as _json
import math as _math
import re as _re
from collections.abc import Mapping as _Mapping

import msgpack as _msgpack

__all__ = [
    "Emitter",
    "BroadcastOperator",
    "RESERVED_EVENTS",
    "UID",
    "RECOVERY_LOG_SCRIPT",
    "encode_msgpack",
    "encode_json",
]

#: The uid every emitter puts in its messages; no adapter node uses it, so none ignores them.
UID = "emitter"

#: Event names a Socket.IO server never emits to clients (``emit`` raises ValueError for them).
RESERVED_EVENTS = frozenset(
    ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]
)

# Request types of the classic Redis adapter (the subset the emitter sends).
_REMOTE_JOIN = 2
_REMOTE_LEAVE = 3
_REMOTE_DISCONNECT = 4
_SERVER_SIDE_EMIT = 6

_EVENT = 2  # socket.io-parser PacketType.EVENT, used even when the arguments hold binary

#: The Lua script siobroker nodes log packets with (adapter-redis/rd_recovery.c, byte for byte;
#: a test checks it): XADD to the namespace's stream, PUBLISH of the broadcast with the entry id
#: spliced in as its last argument, and (for nodes) an echo.
RECOVERY_LOG_SCRIPT = (
    "-- siobroker recovery log v1: KEYS[1] stream; ARGV: maxlen, stream ttl, d, r, e, n,\n"
    "-- echo channel, token, broadcast channel, message, splice\n"
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'd', ARGV[3], 'r',\n"
    "  ARGV[4], 'e', ARGV[5], 'n', ARGV[6])\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[2])\n"
    "if ARGV[9] ~= '' then\n"
    "  local s = string.char(217, #id) .. id\n"
    "  local p = tonumber(ARGV[11])\n"
    "  redis.call('PUBLISH', ARGV[9], string.sub(ARGV[10], 1, p) .. s .. string.sub(ARGV[10], p + "
    "1) .. s)\n"
    "end\n"
    "if ARGV[7] ~= '' then\n"
    "  redis.call('PUBLISH', ARGV[7], ARGV[8] .. ' ' .. id)\n"
    "end\n"
    "return id\n"
)

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_INT_MIN = -(2**63)
_UINT_MAX = 2**64
_JS_SAFE = 2**53


# --------------------------------------------------------------------------------------------
# Values: what JavaScript would have
# --------------------------------------------------------------------------------------------

def _datetime_ms(value):
    """Milliseconds since the epoch of a datetime, floored, as ``new Date(...).getTime()``."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        value = value.astimezone(_dt.timezone.utc)  # naive: local time, as datetime.timestamp()
    delta = value - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def _js_number_str(x):
    """ECMAScript Number::toString(x) for a Python float (``String(x)`` in JS)."""
    if x != x:
        return "NaN"
    if x in (_math.inf, -_math.inf):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"  # -0 too
    sign = "-" if x < 0 else ""
    text = repr(abs(x))  # the shortest digits that round-trip, as JS uses
    mantissa, _, exp = text.partition("e")
    intpart, _, frac = mantissa.partition(".")
    digits = intpart + frac
    point = len(intpart) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    k, n = len(digits), point  # value = 0.DIGITS * 10**n
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = digits[0] + ("." + digits[1:] if k > 1 else "") + ("e+" if e >= 0 else "e-") + str(abs(e))
    return sign + out


def _key(key):
    """A mapping key as the string key a JS object would have."""
    if isinstance(key, str):
        return key
    if key is True or key is False:
        return "true" if key else "false"
    if isinstance(key, int):
        return str(int(key))
    if isinstance(key, float):
        return _js_number_str(float(key))
    if key is None:
        return "null"
    raise TypeError("mapping keys must be str, int, float, bool or None, not %s" % type(key).__name__)


def _with_default(value, default):
    if default is None:
        raise TypeError("Object of type %s cannot be sent to Socket.IO" % type(value).__name__)
    result = default(value)
    if type(result) is type(value):
        raise TypeError("default() returned the same type (%s)" % type(value).__name__)
    return result


def _prepare(value, default):
    """Turn ``value`` into what msgpack-python must pack to reproduce notepack.io's bytes."""
    if value is None or value is True or value is False or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        value = int(value)
        # Beyond the int64/uint64 range: the nearest JS number, as float64 (notepack would wrap
        # such a number modulo 2**64; we send the right value instead).
        return value if _INT_MIN <= value < _UINT_MAX else float(value)
    if isinstance(value, float):
        # JS has one number type: notepack writes an integral number as an int (-0 as 0).
        if _math.isfinite(value) and value.is_integer() and _INT_MIN <= value < _UINT_MAX:
            return int(value)
        return float(value)
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray):
        return bytes(value)
    if isinstance(value, memoryview):
        return value.tobytes()
    if isinstance(value, _dt.datetime):
        return value  # left to the packb default= hook (_msgpack_default)
    if isinstance(value, (list, tuple)):
        return [_prepare(item, default) for item in value]
    if isinstance(value, _Mapping):
        out = {}
        for k, v in value.items():
            out[_key(k)] = _prepare(v, default)
        return out
    return _prepare(_with_default(value, default), default)


def _msgpack_default(value):
    """packb's default= hook: a datetime is a msgpack timestamp (ext type -1), as notepack 3's Date.

    msgpack.Timestamp picks the same form as notepack: timestamp32 (``d6 ff`` + uint32 seconds)
    for whole seconds in 0..2**32-1, timestamp64 (``d7 ff``) below 2**34 seconds, timestamp96
    (``c7 0c ff``) otherwise (before 1970 included).
    """
    if isinstance(value, _dt.datetime):
        seconds, millis = divmod(_datetime_ms(value), 1000)
        return _msgpack.Timestamp(seconds, millis * 1000000)
    raise TypeError("Object of type %s cannot be sent to Socket.IO" % type(value).__name__)


def encode_msgpack(value, default=None):
    """``value`` encoded as notepack.io 3 encodes the equivalent JavaScript value."""
    return _msgpack.packb(_prepare(value, default), use_bin_type=True, default=_msgpack_default)


_LONE_SURROGATE = _re.compile("[\ud800-\udfff]")


def _json_str(text):
    out = _json.dumps(text, ensure_ascii=False)
    if _LONE_SURROGATE.search(out):  # JSON.stringify escapes lone surrogates (lower-case hex)
        out = _LONE_SURROGATE.sub(lambda m: "\\u%04x" % ord(m.group()), out)
    return out


def _json_number(x):
    return _js_number_str(x) if _math.isfinite(x) else "null"


def _json_iso(value):
    ms = _datetime_ms(value)
    t = _EPOCH + _dt.timedelta(milliseconds=ms)
    return '"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ"' % (
        t.year, t.month, t.day, t.hour, t.minute, t.second, t.microsecond // 1000)


def _json_value(value, default):
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return _json_str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        value = int(value)
        return str(value) if -_JS_SAFE <= value <= _JS_SAFE else _json_number(float(value))
    if isinstance(value, float):
        return _json_number(value)
    if isinstance(value, (bytes, bytearray, memoryview)):  # Buffer.prototype.toJSON
        data = bytes(value)
        return '{"type":"Buffer","data":[' + ",".join(map(str, data)) + "]}"
    if isinstance(value, _dt.datetime):  # Date.prototype.toJSON
        return _json_iso(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json_value(item, default) for item in value) + "]"
    if isinstance(value, _Mapping):
        out = {}
        for k, v in value.items():
            out[_key(k)] = v
        return "{" + ",".join(_json_str(k) + ":" + _json_value(v, default) for k, v in out.items()) + "}"
    return _json_value(_with_default(value, default), default)


def encode_json(value, default=None):
    """``value`` as ``JSON.stringify`` writes the equivalent JavaScript value (a str)."""
    return _json_value(value, default)


# --------------------------------------------------------------------------------------------
# The API
# --------------------------------------------------------------------------------------------

def _room_list(room, what="room"):
    """``room`` (one room, or an iterable of rooms) as a list, in order, duplicates kept."""
    if isinstance(room, (str, int)) and not isinstance(room, bool):
        return [room]
    if isinstance(room, (bytes, bytearray, _Mapping)) or room is None or isinstance(room, bool):
        raise TypeError("%s must be a str or a list of str, not %s" % (what, type(room).__name__))
    try:
        rooms = list(room)
    except TypeError:
        raise TypeError("%s must be a str or a list of str, not %s" % (what, type(room).__name__)) from None
    for r in rooms:
        if not isinstance(r, (str, int)) or isinstance(r, bool):
            raise TypeError("%s must be a str or a list of str, not a list holding %s" % (what, type(r).__name__))
    return rooms


def _add_rooms(current, room):
    """A JS Set's ``add`` for each room: insertion order kept, duplicates dropped."""
    rooms = list(current)
    for r in _room_list(room):
        if not any(r == c and type(r) is type(c) for c in rooms):
            rooms.append(r)
    return tuple(rooms)


class _Recovery:
    """What logging for connection state recovery needs: the nodes' window and log bound."""

    __slots__ = ("window_ms", "max_packets")

    def __init__(self, window_ms, max_packets):
        if not isinstance(window_ms, int) or isinstance(window_ms, bool) or window_ms <= 0:
            raise ValueError("recovery_window_ms must be a positive int (the nodes' --recovery-window)")
        if not isinstance(max_packets, int) or isinstance(max_packets, bool) or max_packets <= 0:
            raise ValueError("recovery_max_packets must be a positive int (the nodes' --recovery-max-packets)")
        self.window_ms = window_ms
        self.max_packets = max_packets


class _Target:
    """Namespace-level settings shared by an Emitter and its operators."""

    __slots__ = ("redis_client", "key", "nsp", "default", "broadcast_channel", "request_channel",
                 "recovery", "log_stream")

    def __init__(self, redis_client, key, nsp, default, recovery=None):
        self.redis_client = redis_client
        self.key = key
        self.nsp = nsp
        self.default = default
        self.broadcast_channel = key + "#" + nsp + "#"
        self.request_channel = key + "-request#" + nsp + "#"
        self.recovery = recovery
        self.log_stream = key + ":csr-log#" + nsp

    def publish(self, channel, message):
        return self.redis_client.publish(channel, message)

    def log(self, channel, message, splice, data, rooms, except_rooms):
        """Logs and publishes a broadcast (the nodes' script); returns its offset (a str)."""
        r = self.recovery
        offset = self.redis_client.eval(
            RECOVERY_LOG_SCRIPT, 1, self.log_stream,
            str(r.max_packets), str(2 * r.window_ms + 60000),
            data, _room_field(rooms, self.default), _room_field(except_rooms, self.default),
            "", "", "", channel, message, str(splice))
        return offset.decode() if isinstance(offset, bytes) else offset


def _room_field(rooms, default):
    """A room list as the log stores it: msgpack of the names as strings, or empty."""
    return encode_msgpack([str(r) for r in rooms], default) if rooms else b""


def _array_header(n):
    return _msgpack.Packer().pack_array_header(n)


class BroadcastOperator:
    """An immutable selection (rooms, except-rooms, flags) in one namespace.

    Every modifier returns a new operator, as in Node, so a partially built operator can be
    reused safely.
    """

    __slots__ = ("_target", "_rooms", "_except", "_flags")

    def __init__(self, target, rooms=(), except_rooms=(), flags=None):
        self._target = target
        self._rooms = tuple(rooms)
        self._except = tuple(except_rooms)
        self._flags = tuple((flags or {}).items())

    def __setattr__(self, name, value):
        if hasattr(self, "_flags"):
            raise AttributeError("BroadcastOperator is immutable")
        object.__setattr__(self, name, value)

    def __repr__(self):
        return "BroadcastOperator(nsp=%r, rooms=%r, except_rooms=%r, flags=%r)" % (
            self._target.nsp, list(self._rooms), list(self._except), self.flags)

    # -- introspection ------------------------------------------------------------------------
    @property
    def nsp(self):
        return self._target.nsp

    @property
    def rooms(self):
        return list(self._rooms)

    @property
    def except_rooms(self):
        return list(self._except)

    @property
    def flags(self):
        return dict(self._flags)

    # -- modifiers ----------------------------------------------------------------------------
    def to(self, room):
        """Target a room, or every room of a list (accumulates over calls; duplicates dropped)."""
        return BroadcastOperator(self._target, _add_rooms(self._rooms, room), self._except, self.flags)

    def in_(self, room):
        """Same as :meth:`to`."""
        return self.to(room)

    def except_(self, room):
        """Leave out the sockets in a room (or in any room of a list); a socket id is a room."""
        return BroadcastOperator(self._target, self._rooms, _add_rooms(self._except, room), self.flags)

    def compress(self, compress):
        """Set the ``compress`` flag."""
        flags = self.flags
        flags["compress"] = compress
        return BroadcastOperator(self._target, self._rooms, self._except, flags)

    @property
    def volatile(self):
        """A copy with the ``volatile`` flag: clients that are not ready may miss the event."""
        flags = self.flags
        flags["volatile"] = True
        return BroadcastOperator(self._target, self._rooms, self._except, flags)

    # -- actions ------------------------------------------------------------------------------
    def encode(self, event, *args):
        """The (channel, payload bytes) that :meth:`emit` would publish."""
        if isinstance(event, str) and event in RESERVED_EVENTS:
            raise ValueError('"%s" is a reserved event name' % event)
        if callable(args[-1] if args else event):
            raise ValueError("Acknowledgements are not supported by the emitter")
        packet = {"type": _EVENT, "data": [event] + list(args), "nsp": self._target.nsp}
        opts = {"rooms": list(self._rooms), "flags": self.flags, "except": list(self._except)}
        payload = encode_msgpack([UID, packet, opts], self._target.default)
        channel = self._target.broadcast_channel
        if len(self._rooms) == 1:
            channel += str(self._rooms[0]) + "#"
        return channel, payload

    def encode_logged(self, event, *args):
        """(channel, message, splice, data) of a logged emit: the message is
        ``[uid, {type, data, nsp}, opts, OFFSET]`` without its offset, whose data array is declared
        one longer; the log script inserts the offset at byte ``splice`` and appends it."""
        channel, _ = self.encode(event, *args)  # checks the event and the args
        t = self._target
        data = [event] + list(args)
        opts = {"rooms": list(self._rooms), "flags": self.flags, "except": list(self._except)}
        head = b"".join([
            _array_header(4), encode_msgpack(UID), b"\x83", encode_msgpack("type"),
            encode_msgpack(_EVENT), encode_msgpack("data"), _array_header(len(data) + 1),
        ] + [encode_msgpack(x, t.default) for x in data])
        tail = encode_msgpack("nsp") + encode_msgpack(t.nsp) + encode_msgpack(opts, t.default)
        return channel, head + tail, len(head), encode_msgpack(data, t.default)

    def emit(self, event, *args):
        """Broadcast ``event`` with ``args`` to the selected sockets of every node; returns True.

        With recovery on (and not volatile), the emit is logged first (see the module's notes)."""
        t = self._target
        if t.recovery is not None and not self.flags.get("volatile"):
            channel, message, splice, data = self.encode_logged(event, *args)
            t.log(channel, message, splice, data, self._rooms, self._except)
            return True
        channel, payload = self.encode(event, *args)
        t.publish(channel, payload)
        return True

    def _opts(self):
        return {"rooms": list(self._rooms), "except": list(self._except)}

    def _request(self, request):
        self._target.publish(self._target.request_channel, encode_json(request, self._target.default))

    def sockets_join(self, rooms):
        """Make the selected sockets join ``rooms`` (a room or a list of rooms) on every node."""
        self._request({"type": _REMOTE_JOIN, "opts": self._opts(), "rooms": _room_list(rooms, "rooms")})

    def sockets_leave(self, rooms):
        """Make the selected sockets leave ``rooms`` (a room or a list of rooms) on every node."""
        self._request({"type": _REMOTE_LEAVE, "opts": self._opts(), "rooms": _room_list(rooms, "rooms")})

    def disconnect_sockets(self, close=False):
        """Disconnect the selected sockets; ``close=True`` also closes their connections."""
        self._request({"type": _REMOTE_DISCONNECT, "opts": self._opts(), "close": close})


class Emitter:
    """Publishes Socket.IO events and commands to a cluster through Redis.

    ``redis_client`` is anything with a ``publish(channel, message)`` method, typically a
    ``redis.Redis`` (sync client: every call publishes before it returns).  ``key`` is the
    channel prefix of the adapter (siobroker's ``--redis-key``, default ``"socket.io"``).
    ``default`` is called for objects the encoder does not know (like a JS ``toJSON``) and
    must return something it knows.

    ``recovery=True`` logs every non-volatile emit for connection state recovery (the nodes run
    with ``--recovery-window``): ``redis_client`` must then have ``eval`` (a ``redis.Redis`` has),
    and ``recovery_window_ms`` / ``recovery_max_packets`` must be the nodes' ``--recovery-window``
    and ``--recovery-max-packets``.
    """

    __slots__ = ("_target",)

    def __init__(self, redis_client, key="socket.io", *, nsp="/", default=None, recovery=False,
                 recovery_window_ms=120000, recovery_max_packets=10000):
        if not isinstance(key, str):
            raise TypeError("key must be a str")
        rec = _Recovery(recovery_window_ms, recovery_max_packets) if recovery else None
        object.__setattr__(self, "_target", _Target(redis_client, key, _normalize_nsp(nsp), default, rec))

    def __setattr__(self, name, value):
        raise AttributeError("Emitter is immutable")

    def __repr__(self):
        return "Emitter(key=%r, nsp=%r)" % (self._target.key, self._target.nsp)

    @property
    def redis_client(self):
        return self._target.redis_client

    @property
    def key(self):
        return self._target.key

    @property
    def nsp(self):
        return self._target.nsp

    def of(self, nsp):
        """An emitter for namespace ``nsp`` (``"chat"`` is taken as ``"/chat"``)."""
        t = self._target
        r = t.recovery
        if r is None:
            return Emitter(t.redis_client, t.key, nsp=nsp, default=t.default)
        return Emitter(t.redis_client, t.key, nsp=nsp, default=t.default, recovery=True,
                       recovery_window_ms=r.window_ms, recovery_max_packets=r.max_packets)

    def _op(self):
        return BroadcastOperator(self._target)

    def emit(self, event, *args):
        """Broadcast to every socket of the namespace; returns True."""
        return self._op().emit(event, *args)

    def to(self, room):
        return self._op().to(room)

    def in_(self, room):
        return self._op().in_(room)

    def except_(self, room):
        return self._op().except_(room)

    @property
    def volatile(self):
        return self._op().volatile

    def compress(self, compress):
        return self._op().compress(compress)

    def sockets_join(self, rooms):
        return self._op().sockets_join(rooms)

    def sockets_leave(self, rooms):
        return self._op().sockets_leave(rooms)

    def disconnect_sockets(self, close=False):
        return self._op().disconnect_sockets(close)

    def server_side_emit(self, event, *args):
        """Fire ``event`` with ``args`` in the ``serverSideEmit`` handlers of every node (no ack)."""
        if callable(args[-1] if args else event):
            raise ValueError("Acknowledgements are not supported")
        t = self._target
        request = {"uid": UID, "type": _SERVER_SIDE_EMIT, "data": [event] + list(args)}
        t.publish(t.request_channel, encode_json(request, t.default))


def _normalize_nsp(nsp):
    if not isinstance(nsp, str):
        raise TypeError("namespace must be a str")
    return nsp if nsp.startswith("/") else "/" + nsp

"""``SocketIOConsumer``: Socket.IO handlers written in Django, run by siobroker nodes.

A consumer class handles one namespace::

    class ChatConsumer(SocketIOConsumer):
        namespace = "/chat"

        async def connect(self, socket, auth):
            await socket.join("lobby")
            return True

        async def event_chat_message(self, socket, payload, ack=None):
            await socket.server.emit("chat_message", payload, room="lobby",
                                     namespace=socket.namespace)
            if ack is not None:
                await ack({"status": "ok"})

The node calls the application for every connect, event and disconnect of the sockets of that
namespace (``--namespace /chat:app``); :func:`dispatch` answers a batch of calls. One instance of
the class is made per call: what must last between calls goes in ``socket.data`` (kept by the
node and sent back with every call).
"""

import asyncio
import functools
import inspect
import json
import logging
import re

from django.core.serializers.json import DjangoJSONEncoder

from .. import bridge

logger = logging.getLogger("sio.consumer")

__all__ = ["SocketIOConsumer", "ConnectionRefused", "Socket", "Server", "server", "consumer_for"]

_json_encoder = DjangoJSONEncoder()

#: namespace -> consumer class, filled as subclasses are defined.
_registry = {}


class ConnectionRefused(Exception):
    """Raise from ``connect`` to refuse with a message and data (the client's ``connect_error``:
    ``err.message`` and ``err.data``)."""

    def __init__(self, message="connection refused", data=None):
        super().__init__(message)
        self.message = message
        self.data = data


class SocketIOConsumer:
    """Base class of the consumers; see the module documentation.

    ``connect(self, socket, auth)``: return ``False`` to refuse (``connect_error`` "connection
    refused"), raise :class:`ConnectionRefused` for a message and data, anything else accepts.
    ``disconnect(self, socket, reason)``. ``event_<name>(self, socket, *args, ack=None)`` for the
    event ``<name>`` (an event name that is not an identifier uses its characters outside
    ``[A-Za-z0-9_]`` as ``_``); ``any_event(self, socket, event, *args, ack=None)`` gets the events
    without a method. A handler that does not take ``ack`` acknowledges (with no arguments) after it
    returns when the client asked for an ack. Every method may be ``async def`` or plain ``def``.
    """

    namespace = "/"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        nsp = cls.__dict__.get("namespace", getattr(cls, "namespace", "/"))
        if not nsp.startswith("/"):
            nsp = "/" + nsp
        cls.namespace = nsp
        if cls.__dict__.get("abstract", False):
            return
        old = _registry.get(nsp)
        if old is not None and old.__qualname__ != cls.__qualname__:
            logger.warning("namespace %s: consumer %s replaces %s", nsp, cls.__qualname__,
                           old.__qualname__)
        _registry[nsp] = cls

    def handler_for(self, event):
        """The bound method handling ``event``, or ``None``."""
        name = "event_" + event
        fn = getattr(self, name, None) if name.isidentifier() else None
        if fn is None:
            fn = getattr(self, "event_" + re.sub(r"[^A-Za-z0-9_]", "_", event), None)
        return fn


def consumer_for(namespace):
    """The consumer class registered for ``namespace``, or ``None``."""
    _autodiscover()
    return _registry.get(namespace)


_discovered = False


def _autodiscover():
    """Import ``SIO_CONSUMERS`` (dotted paths of modules or classes), or else the ``consumers``
    module of every installed app, once."""
    global _discovered
    if _discovered:
        return
    from django.apps import apps
    from django.conf import settings
    from django.utils.module_loading import autodiscover_modules, import_string

    paths = getattr(settings, "SIO_CONSUMERS", None)
    if paths:
        import importlib

        for path in paths:
            try:
                importlib.import_module(path)
            except ImportError:
                import_string(path)
    elif apps.ready:
        autodiscover_modules("consumers")
    _discovered = True  # only once everything imported: an import error shows on every call


class _Done:
    """What socket methods return: the work is already recorded, and ``await`` on it is a no-op,
    so the same call reads right in ``def`` and in ``async def`` handlers."""

    __slots__ = ()

    def __await__(self):
        return iter(())

    def __bool__(self):
        return True

    def __repr__(self):
        return "<done>"


_DONE = _Done()


def _encode(args):
    return bridge.encode_args(args, default=_json_encoder.default)


def _emit_action(kind, event, args):
    if event in bridge.RESERVED_EVENTS:
        raise ValueError('"%s" is a reserved event name' % event)
    wire, atts = _encode(args)
    act = {"type": kind, "event": event, "args": wire}
    if atts:
        act["attachments"] = atts
    return act


def _rooms(room):
    if room is None:
        return []
    if isinstance(room, str):
        return [room]
    return [str(r) for r in room]


class Server:
    """``socket.server`` inside a handler (actions applied by the node after the answer), or the
    module-level :data:`server` outside one (published through the Redis emitter)."""

    def __init__(self, call=None):
        self._call = call

    def emit(self, event, *args, room=None, to=None, skip_sid=None, namespace=None,
             volatile=False):
        """Emit to every socket of ``namespace`` (default: the handler's namespace, else "/"), or
        to ``room``/``to`` (a room, a socket id, or a list), skipping ``skip_sid`` (a socket id
        or a list)."""
        rooms = _rooms(room) + _rooms(to)
        skip = _rooms(skip_sid)
        if self._call is None:
            from .emitting import get_emitter

            op = get_emitter().of(namespace or "/")
            if rooms:
                op = op.to(rooms)
            if skip:
                op = op.except_(skip)
            if volatile:
                op = op.volatile
            op.emit(event, *args)
            return _DONE
        act = _emit_action("broadcast", event, args)
        act["nsp"] = namespace or self._call.namespace
        if rooms:
            act["rooms"] = rooms
        if skip:
            act["except"] = skip
        if volatile:
            act["volatile"] = True
        self._call.actions.append(act)
        return _DONE

    send = functools.partialmethod(emit, "message")

    def enter_room(self, sid, room, namespace=None):
        """Make socket ``sid`` join ``room`` (through the emitter, anywhere in the cluster)."""
        from .emitting import get_emitter

        get_emitter().of(namespace or "/").in_(sid).sockets_join(room)
        return _DONE

    def leave_room(self, sid, room, namespace=None):
        from .emitting import get_emitter

        get_emitter().of(namespace or "/").in_(sid).sockets_leave(room)
        return _DONE

    def disconnect(self, sid, namespace=None, close=False):
        from .emitting import get_emitter

        get_emitter().of(namespace or "/").in_(sid).disconnect_sockets(close=close)
        return _DONE


#: Outside a handler (a view, a task): ``server.emit(...)`` goes through the Redis emitter.
server = Server()


class _Call:
    """One call being handled: its socket, and the actions its handlers recorded."""

    def __init__(self, namespace):
        self.namespace = namespace
        self.actions = []


class Socket:
    """The socket of a call: ``id``, ``namespace``, ``data``, ``handshake`` (connect only),
    ``recovered`` and ``rooms`` (connect only: True when connection state recovery gave the socket
    back its id, data and rooms after its connection broke; docs/recovery.md),
    ``user``/``user_id``, and ``emit``/``join``/``leave``/``disconnect``/``server``."""

    def __init__(self, call, sid, data, handshake, user_id, user_backend, recovered=False, rooms=None):
        self._call = call
        self.id = sid
        self.sid = sid
        self.namespace = call.namespace
        self.recovered = recovered
        self.rooms = list(rooms or [])
        self.data = data
        self.handshake = handshake
        self.user_id = user_id
        self._user_backend = user_backend
        self._user = None
        self._user_snapshot = None
        self.server = Server(call)

    def emit(self, event, *args):
        """Emit ``event`` to this socket (after the CONNECT reply when called from ``connect``)."""
        self._call.actions.append(_emit_action("emit", event, args))
        return _DONE

    def send(self, *args):
        return self.emit("message", *args)

    def join(self, room):
        """Join one room or a list of rooms."""
        self._call.actions.append({"type": "join", "rooms": _rooms(room)})
        return _DONE

    enter_room = join

    def leave(self, room):
        self._call.actions.append({"type": "leave", "rooms": _rooms(room)})
        return _DONE

    leave_room = leave

    def disconnect(self, close=False):
        """Disconnect this socket from the namespace (``close``: the whole Engine.IO session)."""
        self._call.actions.append({"type": "disconnect", "close": bool(close)})
        return _DONE

    def to(self, room):
        """``socket.to(room).emit(...)``: a broadcast to ``room`` skipping this socket."""
        sock = self

        class _To:
            def emit(self, event, *args):
                return sock.server.emit(event, *args, room=room, skip_sid=sock.id,
                                        namespace=sock.namespace)

        return _To()

    @property
    def user(self):
        """The Django user of the session the socket connected with (``AnonymousUser`` when none).

        Resolved at connect from the session cookie with Django's session and auth machinery
        (the real model instance there). In later calls it is a :class:`SessionUser`: its id,
        username and flags come from the node's socket data at no cost; any other attribute
        loads the user from the database once per call (in a ``def`` handler; an ``async def``
        handler uses ``await socket.aget_user()`` for the model instance)."""
        if self._user is None:
            from django.contrib.auth.models import AnonymousUser

            if self.user_id is None:
                self._user = AnonymousUser()
            else:
                self._user = SessionUser(self._user_snapshot or {"pk": self.user_id},
                                         self._load_user)
        return self._user

    def _load_user(self):
        from django.contrib.auth import load_backend
        from django.contrib.auth.models import AnonymousUser

        user = None
        if self.user_id is not None and self._user_backend:
            try:
                backend = load_backend(self._user_backend)
                user = backend.get_user(self.user_id)
                if user is not None:
                    user.backend = self._user_backend
            except ImportError:  # the backend was removed from settings
                logger.warning("socket %s: cannot load user %r", self.id, self.user_id)
        return user if user is not None else AnonymousUser()

    async def aget_user(self):
        """The user's model instance (or ``AnonymousUser``), loaded without blocking the loop."""
        from asgiref.sync import sync_to_async

        user = self.user
        if isinstance(user, SessionUser):
            return await sync_to_async(user._get_real)()
        return user

    def __repr__(self):
        return "<Socket %s %s>" % (self.namespace, self.id)


#: User fields kept in the socket data at connect, readable later without a query.
_SNAPSHOT_FIELDS = ("pk", "username", "is_active", "is_staff", "is_superuser")


class SessionUser:
    """The connected user in calls after connect: the snapshot taken at connect answers ``pk``,
    ``id``, ``username``, ``is_active``, ``is_staff``, ``is_superuser``, ``is_authenticated``
    and ``get_username()``; any other attribute loads the model instance (one query, kept for the
    call)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, snapshot, loader):
        self.__dict__["_snapshot"] = snapshot
        self.__dict__["_loader"] = loader
        self.__dict__["_real"] = None

    def _get_real(self):
        if self._real is None:
            self.__dict__["_real"] = self._loader()
        return self._real

    def get_username(self):
        if "username" in self._snapshot:
            return self._snapshot["username"]
        return self._get_real().get_username()

    @property
    def id(self):
        return self._snapshot["pk"]

    def __getattr__(self, name):
        snap = self.__dict__["_snapshot"]
        if name in snap:
            return snap[name]
        return getattr(self._get_real(), name)

    def __eq__(self, other):
        return getattr(other, "pk", None) == self._snapshot["pk"] and getattr(
            other, "is_authenticated", False)

    def __hash__(self):
        return hash(self._snapshot["pk"])

    def __str__(self):
        return str(self._snapshot.get("username", self._snapshot["pk"]))

    def __repr__(self):
        return "<SessionUser %s>" % self


def _run(fn, *args, **kwargs):
    """Call ``fn`` (sync or async) from sync code."""
    if asyncio.iscoroutinefunction(fn):
        from asgiref.sync import async_to_sync

        return async_to_sync(fn)(*args, **kwargs)
    result = fn(*args, **kwargs)
    if inspect.isawaitable(result):
        from asgiref.sync import async_to_sync

        async def wait():
            return await result

        return async_to_sync(wait)()
    return result


def _takes_ack(fn):
    """Whether handler ``fn`` has an ``ack`` (or ``**kwargs``) parameter. Answered once per
    function: ``inspect.signature`` was half of the dispatcher's time per event."""
    fn = getattr(fn, "__func__", fn)
    try:
        return _function_takes_ack(fn)
    except TypeError:  # an unhashable callable: not cached
        return _function_takes_ack.__wrapped__(fn)


@functools.lru_cache(maxsize=1024)
def _function_takes_ack(fn):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "ack" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())


def _session_user(handshake):
    """``(user, backend)`` of the session in the handshake's cookie, or ``(None, None)``, with
    Django's own machinery (``auth.get_user`` checks the session hash as the middleware does)."""
    from django.conf import settings

    if "django.contrib.sessions" not in settings.INSTALLED_APPS or (
            "django.contrib.auth" not in settings.INSTALLED_APPS):
        return None, None, None
    from http.cookies import SimpleCookie

    cookie = (handshake.get("headers") or {}).get("cookie") or ""
    jar = SimpleCookie()
    try:
        jar.load(cookie)
    except Exception:
        return None, None, None
    morsel = jar.get(settings.SESSION_COOKIE_NAME)
    if morsel is None or not morsel.value:
        return None, None, None
    from importlib import import_module

    from django.contrib import auth
    from django.http import HttpRequest

    engine = import_module(settings.SESSION_ENGINE)
    request = HttpRequest()
    request.session = engine.SessionStore(morsel.value)
    user = auth.get_user(request)
    if not user.is_authenticated:
        return None, None, None
    return user, request.session.get(auth.BACKEND_SESSION_KEY), None


def _envelope(data):
    """Our part of the node's socket data: ``{"d": app data, "uid": user id, "ub": backend}``."""
    if isinstance(data, dict) and "d" in data:
        return data
    return {"d": None, "uid": None, "ub": None}


def _data_changed(before, after):
    try:
        return json.dumps(before, sort_keys=True, cls=DjangoJSONEncoder) != json.dumps(
            after, sort_keys=True, cls=DjangoJSONEncoder)
    except TypeError:
        return True


def _jsonable(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def handle_call(c):
    """Answer one call (a dict of the protocol) with the consumer of its namespace."""
    kind = c.get("type")
    nsp = c.get("nsp") or "/"
    sid = c.get("sid")
    cls = consumer_for(nsp)
    if cls is None:
        logger.warning("no consumer for namespace %s (%s call)", nsp, kind)
        if kind == "connect":
            return {"accept": False, "message": "Invalid namespace"}
        return {}
    call = _Call(nsp)
    if kind == "connect":
        handshake = c.get("handshake") or {}
        user, backend, _ = _session_user(handshake)
        user_id = None
        snapshot = None
        if user is not None:
            pk = user.pk
            user_id = pk if isinstance(pk, (int, str)) else str(pk)
            snapshot = {f: getattr(user, f) for f in _SNAPSHOT_FIELDS if hasattr(user, f)}
            snapshot["pk"] = user_id
            snapshot["username"] = user.get_username()
        env = {"d": None, "uid": user_id, "ub": backend, "us": snapshot}
        recovered = bool(c.get("recovered"))
        data = {}
        if recovered:  # the data the socket had before its connection broke
            restored = _envelope(c.get("data")).get("d")
            data = {} if restored is None else restored
        socket = Socket(call, sid, data, handshake, user_id, backend, recovered, c.get("rooms"))
        if user is not None:
            socket._user = user
        consumer = cls()
        fn = getattr(consumer, "connect", None)
        try:
            result = _run(fn, socket, c.get("auth") or {}) if fn else True
        except ConnectionRefused as e:
            logger.info("connect of %s to %s refused: %s", sid, nsp, e.message)
            answer = {"accept": False, "message": str(e.message)}
            if e.data is not None:
                answer["data"] = _jsonable(e.data)
            return answer
        if result is False:
            logger.info("connect of %s to %s refused", sid, nsp)
            return {"accept": False, "message": "connection refused"}
        env["d"] = socket.data
        return {"accept": True, "data": _jsonable(env), "actions": call.actions}

    env = _envelope(c.get("data"))
    before = env.get("d")
    try:
        data = json.loads(json.dumps(before))
    except (TypeError, ValueError):
        data = before
    socket = Socket(call, sid, {} if data is None else data, None, env.get("uid"), env.get("ub"))
    socket._user_snapshot = env.get("us")
    consumer = cls()
    if kind == "event":
        event = c.get("event")
        args = bridge.decode_args(c.get("args") or [], c.get("attachments"))
        wants_ack = bool(c.get("ack"))
        fn = consumer.handler_for(event) if isinstance(event, str) else None
        lead = ()
        if fn is None and hasattr(consumer, "any_event"):
            fn, lead = consumer.any_event, (event,)
        acked = []

        def ack(*ack_args):
            if not wants_ack or acked:
                return _DONE
            acked.append(True)
            wire, atts = _encode(ack_args)
            act = {"type": "ack", "args": wire}
            if atts:
                act["attachments"] = atts
            call.actions.append(act)
            return _DONE

        if fn is None:
            logger.debug("no handler for event %r on %s", event, nsp)
        elif _takes_ack(fn):
            _run(fn, socket, *lead, *args, ack=ack if wants_ack else None)
        else:
            _run(fn, socket, *lead, *args)
            if wants_ack:
                ack()
    elif kind == "disconnect":
        fn = getattr(consumer, "disconnect", None)
        if fn:
            _run(fn, socket, c.get("reason") or "")
        # the socket is gone: only broadcasts still mean something
        call.actions = [a for a in call.actions if a["type"] == "broadcast"]
        return {"actions": call.actions}
    else:
        return {"error": "unknown call type %r" % (kind,)}
    if _data_changed({} if before is None else before, socket.data):
        env = dict(env, d=_jsonable(socket.data))
        call.actions.append({"type": "set_data", "data": env})
    return {"actions": call.actions}


def dispatch(calls):
    """Answer a batch of calls, in order; a handler that raises answers ``{"error": ...}``."""
    answers = []
    for c in calls:
        try:
            answers.append(handle_call(c))
        except Exception as e:  # the handler's bug: logged with its traceback, the call fails
            logger.exception("%s handler of %s on %s failed", c.get("type"), c.get("sid"),
                             c.get("nsp"))
            answers.append({"error": "%s: %s" % (type(e).__name__, e)})
    return answers

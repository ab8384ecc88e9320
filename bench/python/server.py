"""server: the python-socketio reference for bench/compare.sh (Debian python3-socketio on aiohttp).

Serves namespace "/" on 127.0.0.1:PORT with siobroker's rooms policy: "join" / "leave" with a room
name, acked {"ok": True} or {"ok": False, "error": ...}; any other event is relayed to the rooms the
sender joined (skip_sid=sender) and acked {"ok": True, "delivered": N}.

Usage: /usr/bin/python3 server.py --port P
stderr: "listening on 127.0.0.1:P". SIGTERM: exits 0.
"""
import argparse
import inspect
import sys

import socketio
from aiohttp import web

RESERVED = {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
MAX_ROOM_NAME = 128
MAX_ROOMS = 64

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
opts = parser.parse_args()

sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False,
                           engineio_logger=False, max_http_buffer_size=1000000)
app = web.Application()
sio.attach(app)
NSP = "/"


async def maybe_await(r):
    """enter_room / leave_room are coroutines in some python-socketio versions, plain in others."""
    if inspect.isawaitable(r):
        await r


def room_error(sid, room):
    if not isinstance(room, str) or room == "":
        return "a room name (non-empty string) is required"
    if len(room.encode()) > MAX_ROOM_NAME:
        return "room name too long"
    if room != sid and sio.manager.is_connected(room, NSP):
        return "reserved room name"
    return None


@sio.on("join")
async def join(sid, room=None, *rest):
    err = room_error(sid, room)
    if err:
        return {"ok": False, "error": err}
    rooms = sio.rooms(sid)
    if room not in rooms and len(rooms) - 1 >= MAX_ROOMS:
        return {"ok": False, "error": "too many rooms"}
    await maybe_await(sio.enter_room(sid, room))
    return {"ok": True}


@sio.on("leave")
async def leave(sid, room=None, *rest):
    err = room_error(sid, room)
    if err:
        return {"ok": False, "error": err}
    if room not in sio.rooms(sid) or room == sid:
        return {"ok": False, "error": "not a member of that room"}
    await maybe_await(sio.leave_room(sid, room))
    return {"ok": True}


@sio.on("*")
async def relay(event, sid, *args):
    if event in RESERVED:
        return {"ok": False, "error": "reserved event name"}
    targets = [r for r in sio.rooms(sid) if r != sid]
    delivered = 0
    if targets:
        seen = set()
        for r in targets:
            for psid, _ in sio.manager.get_participants(NSP, r):
                if psid != sid:
                    seen.add(psid)
        delivered = len(seen)
        data = tuple(args) if len(args) != 1 else args[0]
        if len(targets) == 1:
            await sio.emit(event, data, room=targets[0], skip_sid=sid)
        else:  # this python-socketio takes one room per emit: each member once
            for psid in seen:
                await sio.emit(event, data, room=psid)
    return {"ok": True, "delivered": delivered}


async def on_startup(app):
    print(f"python server: listening on 127.0.0.1:{opts.port}", file=sys.stderr, flush=True)


app.on_startup.append(on_startup)
web.run_app(app, host="127.0.0.1", port=opts.port, print=None)

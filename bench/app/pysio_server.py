"""The same trivial acking handler in python-socketio (Debian's python3-socketio), in-process,
on aiohttp: the baseline of bench/app/run.sh.   /usr/bin/python3 pysio_server.py PORT"""
import sys

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp")
app = web.Application()
sio.attach(app)


@sio.on("ping", namespace="/bench")
async def ping(sid, x):
    return x


@sio.on("connect", namespace="/bench")
async def connect(sid, environ, auth=None):
    return True


web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)

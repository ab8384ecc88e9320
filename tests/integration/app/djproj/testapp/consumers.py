"""The consumer the app-bridge integration tests drive (namespace /app): one handler per case."""

import asyncio
import os
import time

from siobroker.django import ConnectionRefused, SocketIOConsumer


class TestConsumer(SocketIOConsumer):
    namespace = "/app"

    async def connect(self, socket, auth):
        if socket.recovered:  # connection state recovery: data and rooms came back
            await socket.emit("welcome_back", {"sid": socket.id, "data": socket.data,
                                               "rooms": socket.rooms})
            return True
        mode = auth.get("mode")
        if mode == "refuse":
            raise ConnectionRefused("go away", {"code": 7})
        if mode == "false":
            return False
        if mode == "boom":
            raise RuntimeError("boom")
        if mode == "login":
            user = socket.user  # Django's session + auth, resolved once here
            if not user.is_authenticated:
                raise ConnectionRefused("login required")
        socket.data["name"] = auth.get("name", "anon")
        socket.data["last"] = -1
        socket.data["errors"] = 0
        socket.data["pid"] = os.getpid()
        await socket.join("lobby")
        await socket.emit("welcome", {"sid": socket.id, "user": socket.user_id is not None})
        return True

    async def disconnect(self, socket, reason):
        await socket.server.emit("left", {"name": socket.data.get("name"), "reason": reason},
                                 room="lobby", namespace=socket.namespace)

    def event_echo(self, socket, *args, ack=None):  # a sync handler; binary round trip
        if ack is not None:
            ack(*args)

    async def event_say(self, socket, text, ack=None):
        await socket.server.emit("said", {"from": socket.data["name"], "text": text},
                                 room="lobby", namespace=socket.namespace)
        if ack is not None:
            await ack({"status": "ok"})

    def event_join(self, socket, room):  # no ack parameter: acked after it returns
        socket.join(room)

    def event_to_room(self, socket, room, payload):
        socket.server.emit("room_msg", payload, room=room, skip_sid=socket.id)

    def event_seq(self, socket, i):
        if i != socket.data["last"] + 1:
            socket.data["errors"] += 1
        socket.data["last"] = i

    def event_state(self, socket, ack):
        ack(socket.data)

    def event_whoami(self, socket, ack):
        user = socket.user
        ack({"username": user.username if user.is_authenticated else None, "id": socket.user_id})

    def event_emit_then_ack(self, socket, ack):
        socket.emit("first", 1)
        ack("second")

    def event_slow(self, socket, secs, ack):
        time.sleep(secs)
        ack("slept")

    async def event_aslow(self, socket, secs, ack):
        await asyncio.sleep(secs)
        await ack("slept")

    def event_kick(self, socket):
        socket.disconnect()

    def event_fail(self, socket, ack):
        raise ValueError("handler bug")

    def event_chat_message(self, socket, payload, ack=None):
        socket.server.emit("chat_message", {"text": payload.get("text", "")}, room="lobby",
                           namespace=socket.namespace)
        if ack is not None:
            ack({"status": "ok"})

"""The chat's Socket.IO handlers: plain Django code, run by the siobroker nodes' app bridge."""

from siobroker.django import ConnectionRefused, SocketIOConsumer


class ChatConsumer(SocketIOConsumer):
    namespace = "/chat"

    async def connect(self, socket, auth):
        # socket.user comes from Django's session cookie, as in a view.
        if not socket.user.is_authenticated:
            raise ConnectionRefused("login required")
        socket.data["name"] = socket.user.get_username()  # kept by the node for later events
        await socket.join("lobby")
        await socket.emit("system_message", {"text": "Welcome, %s!" % socket.data["name"]})
        return True

    async def disconnect(self, socket, reason):
        await socket.server.emit("system_message", {"text": "%s left" % socket.data.get("name")},
                                 room="lobby", namespace=socket.namespace)

    async def event_chat_message(self, socket, payload, ack=None):
        text = str(payload.get("text", ""))[:1000]
        await socket.server.emit("chat_message", {"from": socket.data["name"], "text": text},
                                 room="lobby", namespace=socket.namespace)
        if ack is not None:
            await ack({"status": "ok"})

from siobroker.django import SocketIOConsumer


class BenchConsumer(SocketIOConsumer):
    namespace = "/bench"

    def event_ping(self, socket, x, ack):
        ack(x)

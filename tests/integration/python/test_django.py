"""siobroker.django in a real (minimal) Django project, driven by django.test.Client in-process.

A throw-away redis-server is started, a project whose settings point SIO_REDIS_URL at it is
written to a temp dir and set up; its view does
``emitter.to(request.GET["room"]).emit("news", {"title": ...})``, and a PSUBSCRIBE '*' subscriber
checks the bytes that reached Redis.

    /usr/bin/python3 -m unittest -v tests/integration/python/test_django.py

(Debian's interpreter: python3-django 3.2, python3-redis and python3-msgpack are installed for it.)
"""

import datetime as dt
import os
import shutil
import sys
import unittest
import uuid
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from siohelpers import Capture, RedisServer, setup_django  # noqa: E402

SERVER = None
PROJECT_DIR = None


def setUpModule():
    global SERVER, PROJECT_DIR
    SERVER = RedisServer().start()
    try:
        PROJECT_DIR = setup_django(SERVER.url)
    except BaseException:
        SERVER.stop()
        raise


def tearDownModule():
    try:
        import siobroker.django

        siobroker.django.reset_emitter()
    finally:
        SERVER.stop()
        if PROJECT_DIR:
            shutil.rmtree(PROJECT_DIR, ignore_errors=True)


def mp_str(text):
    """msgpack str header + UTF-8 bytes (fixstr/str8/str16), written out by hand."""
    data = text.encode("utf-8")
    n = len(data)
    if n < 32:
        return bytes([0xA0 | n]) + data
    if n < 256:
        return b"\xd9" + bytes([n]) + data
    return b"\xda" + n.to_bytes(2, "big") + data


def expected_news(room, title, nsp="/"):
    return (b"\x93" + mp_str("emitter")
            + b"\x83" + mp_str("type") + b"\x02" + mp_str("data") + b"\x92" + mp_str("news")
            + b"\x81" + mp_str("title") + mp_str(title) + mp_str("nsp") + mp_str(nsp)
            + b"\x83" + mp_str("rooms") + b"\x91" + mp_str(room) + mp_str("flags") + b"\x80"
            + mp_str("except") + b"\x90")


class DjangoView(unittest.TestCase):
    def setUp(self):
        from django.test import Client

        self.client = Client()

    def get(self, path, **params):
        capture = Capture(SERVER).start()
        try:
            response = self.client.get(path, params)
        except BaseException:
            capture.close()
            raise
        return response, capture.finish()

    def test_view_publishes_the_node_emitter_bytes(self):
        response, published = self.get("/news/", room="room", title="Hello")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(published, [(b"socket.io#/#room#", expected_news("room", "Hello"))])

    def test_view_unicode_room_and_title(self):
        title = "Grüße € 😀 " + "x" * 40
        response, published = self.get("/news/", room="salon-ü", title=title)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(published, [("socket.io#/#salon-ü#".encode(), expected_news("salon-ü", title))])

    def test_emitter_is_lazy_and_built_once_from_settings(self):
        import siobroker.django as sd
        from django.conf import settings

        sd.reset_emitter()
        self.assertIsNone(sys.modules["siobroker.django.emitting"]._emitter)  # the lazy global
        self.assertIn("not built yet", repr(sd.emitter))
        self.assertEqual(sd.emitter.key, "socket.io")  # first use builds it
        built = sd.get_emitter()
        self.assertIs(sd.get_emitter(), built)
        self.assertEqual(built.nsp, "/")
        kwargs = built.redis_client.connection_pool.connection_kwargs
        self.assertEqual((kwargs["host"], kwargs["port"], kwargs.get("db", 0)), ("127.0.0.1", SERVER.port, 0))
        self.assertEqual(settings.SIO_REDIS_URL, SERVER.url)

    def test_settings_key_and_defaults(self):
        import siobroker.django as sd
        from django.test import override_settings

        with override_settings(SIO_REDIS_KEY="myapp"):
            response, published = self.get("/news/", room="r1", title="t")
            self.assertEqual(response.status_code, 200)
            self.assertEqual(published, [(b"myapp#/#r1#", expected_news("r1", "t"))])
            self.assertEqual(sd.get_emitter().key, "myapp")
        self.assertEqual(sd.get_emitter().key, "socket.io")  # rebuilt when the setting reverted
        with override_settings(SIO_REDIS_URL=None, SIO_REDIS_KEY=None):
            built = sd.get_emitter()
            kwargs = built.redis_client.connection_pool.connection_kwargs
            self.assertEqual((kwargs["host"], kwargs["port"], kwargs.get("db", 0)), ("127.0.0.1", 6379, 0))
            self.assertEqual(built.key, "socket.io")
        self.assertEqual(sd.get_emitter().redis_client.connection_pool.connection_kwargs["port"], SERVER.port)

    def test_get_emitter_namespace_view(self):
        response, published = self.get("/chat/", text="hi")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"ok": True})
        self.assertEqual(published, [(b"socket.io#/chat#",
                                      b"\x93" + mp_str("emitter") + b"\x83" + mp_str("type") + b"\x02"
                                      + mp_str("data") + b"\x92" + mp_str("msg") + mp_str("hi")
                                      + mp_str("nsp") + mp_str("/chat") + b"\x83" + mp_str("rooms") + b"\x90"
                                      + mp_str("flags") + b"\x81" + mp_str("volatile") + b"\xc3"
                                      + mp_str("except") + b"\x90")])

    def test_django_values(self):
        """DjangoJSONEncoder's types become strings; a datetime stays a msgpack timestamp."""
        import msgpack
        from django.utils.translation import gettext_lazy

        from siobroker.django import emitter

        u = uuid.UUID("12345678-1234-5678-1234-567812345678")
        capture = Capture(SERVER).start()
        try:
            emitter.to("r").emit("vals", Decimal("1.50"), u, dt.date(2024, 1, 2), dt.time(3, 4, 5),
                                 gettext_lazy("Hello"), dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc))
        except BaseException:
            capture.close()
            raise
        published = capture.finish()
        self.assertEqual(len(published), 1)
        self.assertEqual(published[0][0], b"socket.io#/#r#")
        decoded = msgpack.unpackb(published[0][1], raw=False, timestamp=0)
        self.assertEqual(decoded[1]["data"][:6], ["vals", "1.50", str(u), "2024-01-02", "03:04:05", "Hello"])
        self.assertEqual(decoded[1]["data"][6], msgpack.Timestamp(1704164645, 0))
        self.assertIn(b"\xd6\xff\x65\x93\x7d\x25", published[0][1])


if __name__ == "__main__":
    unittest.main()

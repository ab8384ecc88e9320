"""Publishes numbered events with the Python emitter (clients/python/siobroker) for the recovery
tests: every INTERVAL ms, event "n" with the next number to room "py" through an emitter with
recovery on (logged: recoverable) and to room "pp" through one without (not logged: its receivers
fall back to a normal reconnect). Prints each number once both are published, and "last N" when
it stops (SIGTERM or stdin closed).

usage: py_publisher.py REDIS_URL INTERVAL_MS WINDOW_MS
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "clients", "python"))

import redis  # noqa: E402

from siobroker.emitter import Emitter  # noqa: E402

stop = False


def on_term(signum, frame):
    global stop
    stop = True


def main():
    url, interval, window = sys.argv[1], int(sys.argv[2]) / 1000.0, int(sys.argv[3])
    signal.signal(signal.SIGTERM, on_term)
    client = redis.Redis.from_url(url)
    logged = Emitter(client, recovery=True, recovery_window_ms=window)
    plain = Emitter(client)
    n = 0
    print("ready", flush=True)
    while not stop:
        n += 1
        logged.to("py").emit("n", n)
        plain.to("pp").emit("n", n)
        print(n, flush=True)
        time.sleep(interval)
    print("last %d" % n, flush=True)


if __name__ == "__main__":
    main()

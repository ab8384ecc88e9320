"""python-socketio's client (Debian's python3-socketio 5.7) against sio-test-server.

Over polling and over websocket: connect with auth, the "auth" event, events, acks both ways
(client call and server ask), binary (bytes) both ways, rooms through /rooms join + emit-to,
and disconnects. Each test starts its own fixture on a free 127.0.0.1 port and stops it by PID.

Run with Debian's interpreter (the packages are not in other Pythons):
    SIO_BIN_DIR=build/bin /usr/bin/python3 -m unittest -v tests/integration/sio/test_python_client.py
SIO_TEST_SERVER=ref runs the same tests against tests/fixtures/sio_ref_server.mjs (Node socket.io).
"""

import os
import signal
import socket
import subprocess
import threading
import time
import unittest
import warnings

import socketio

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..', '..', '..'))
BIN_DIR = os.environ.get('SIO_BIN_DIR') or os.path.join(ROOT, 'build', 'bin')
USE_REF = os.environ.get('SIO_TEST_SERVER') == 'ref'
LOG_LEVEL = os.environ.get('SIO_TEST_LOG_LEVEL', 'debug')
WAIT = 5.0  # seconds, for every bounded wait
PING_MS, PONG_MS = 2000, 5000  # the fixture's pingInterval and pingTimeout


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Fixture:
    """The sio-test-server process: started on a free port, stopped by PID."""

    def __init__(self):
        self.proc = None
        self.port = None
        self.output = []
        self._lock = threading.Lock()
        self._listening = threading.Event()

    def start(self):
        for attempt in range(3):
            self.port = free_port()
            # A busy machine may delay a ping by a second: the heartbeat is not what these
            # tests check (test_disconnect waits for a ping timeout: PING_MS + PONG_MS).
            args = ['--port', str(self.port), '--ping-interval', str(PING_MS),
                    '--ping-timeout', str(PONG_MS), '--connect-timeout', '5000']
            if LOG_LEVEL:
                args += ['--log-level', LOG_LEVEL]
            if USE_REF:
                cmd = ['node', os.path.join(ROOT, 'tests', 'fixtures', 'sio_ref_server.mjs')] + args
            else:
                cmd = [os.path.join(BIN_DIR, 'sio-test-server')] + args
            env = {k: v for k, v in os.environ.items() if not k.startswith('SIO_')}
            self._listening.clear()
            self.output = []
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, env=env)
            self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
            self._reader.start()
            if self._listening.wait(15.0):
                return
            self.stop()
            if 'in use' not in self.log():
                break
        raise RuntimeError('sio-test-server did not print "listening on 127.0.0.1:%d":\n%s'
                           % (self.port, self.log()))

    def _read(self, proc):
        needle = 'listening on 127.0.0.1:%d' % self.port
        size = 0
        for raw in proc.stderr:
            line = raw.decode('utf-8', 'replace')
            with self._lock:
                if size < 4 * 1024 * 1024:
                    self.output.append(line)
                    size += len(line)
            if needle in line:
                self._listening.set()

    def log(self):
        with self._lock:
            text = ''.join(self.output)
        return text[-20000:]

    def stop(self):
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGTERM)
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=3)
            except ProcessLookupError:
                pass
        self._reader.join(timeout=2)
        if not self._reader.is_alive():
            p.stderr.close()


class Recorder:
    """Events received by one client on one namespace, with bounded waits."""

    def __init__(self):
        self.events = []  # [event, args, taken]
        self.cond = threading.Condition()

    def push(self, event, *args):
        with self.cond:
            self.events.append([event, list(args), False])
            self.cond.notify_all()

    def next(self, event, pred=lambda args: True, timeout=WAIT):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for e in self.events:
                    if not e[2] and e[0] == event and pred(e[1]):
                        e[2] = True
                        return e[1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError('no %r within %.1f s (received: %r)'
                                         % (event, timeout, [e[0] for e in self.events]))
                self.cond.wait(left)

    def count(self, event):
        with self.cond:
            return sum(1 for e in self.events if e[0] == event)


class Client:
    """A socketio.Client recording every event of the namespaces it connects."""

    def __init__(self, namespaces=('/',)):
        self.sio = socketio.Client(reconnection=False)
        self.rec = {ns: Recorder() for ns in namespaces}
        for ns, rec in self.rec.items():
            self.sio.on('*', self._catch_all(rec), namespace=ns)
            self.sio.on('connect', self._reserved(rec, 'connect'), namespace=ns)
            self.sio.on('disconnect', self._reserved(rec, 'disconnect'), namespace=ns)
            self.sio.on('connect_error', self._reserved(rec, 'connect_error'), namespace=ns)

    @staticmethod
    def _catch_all(rec):
        def handler(event, *args):
            rec.push(event, *args)
        return handler

    @staticmethod
    def _reserved(rec, name):
        def handler(*args):
            rec.push(name, *args)
        return handler

    def connect(self, url, transports, auth=None):
        self.sio.connect(url, auth=auth, transports=transports, namespaces=list(self.rec),
                         socketio_path='socket.io', wait_timeout=5)
        for ns in self.rec:
            self.rec[ns].next('connect')

    def close(self):
        try:
            self.sio.disconnect()
        except Exception:
            pass


def pattern(n, seed=0):
    return bytes(((i * 31 + seed) & 0xFF) for i in range(n))


class PythonClientTests:
    """Mixin: the cases, run once per transport by the TestCase subclasses below."""

    TRANSPORTS = None

    def setUp(self):
        # python-engineio leaves its HTTP sessions to the garbage collector.
        warnings.simplefilter('ignore', ResourceWarning)
        self.fixture = Fixture()
        self.fixture.start()
        self.url = 'http://127.0.0.1:%d' % self.fixture.port
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.fixture.stop()
        outcome = getattr(self, '_outcome', None)
        result = getattr(outcome, 'result', None)
        failed = not getattr(outcome, 'success', True) or any(
            t is self for t, _ in getattr(result, 'failures', []) + getattr(result, 'errors', []))
        if failed:
            print('\n--- server output (%s) ---\n%s' % (self.id(), self.fixture.log()))

    def client(self, namespaces=('/',), auth=None):
        c = Client(namespaces)
        self.clients.append(c)
        c.connect(self.url, list(self.TRANSPORTS), auth=auth)
        self.assertEqual(c.sio.transport(), self.TRANSPORTS[0])
        return c

    def test_connect_with_auth(self):
        auth = {'token': 'abc', 'n': 1, 'nested': {'x': [1, 2, None], 's': 'é€𝄞'}}
        c = self.client(auth=auth)
        self.assertEqual(c.rec['/'].next('auth'), [auth])
        sid = c.sio.get_sid('/')
        self.assertIsInstance(sid, str)
        self.assertNotEqual(sid, c.sio.eio.sid, 'socket id must not be the Engine.IO sid')
        c2 = self.client()
        self.assertEqual(c2.rec['/'].next('auth'), [{}])

    def test_admin_namespace_auth(self):
        ok = Client(('/admin',))
        self.clients.append(ok)
        ok.connect(self.url, list(self.TRANSPORTS), auth={'token': 'secret'})
        self.assertEqual(ok.rec['/admin'].next('welcome'), ['admin'])
        who = ok.sio.call('whoami', namespace='/admin', timeout=WAIT)
        self.assertEqual(who, {'nsp': '/admin', 'id': ok.sio.get_sid('/admin')})

        bad = Client(('/admin',))
        self.clients.append(bad)
        with self.assertRaises(socketio.exceptions.ConnectionError) as cm:
            bad.connect(self.url, list(self.TRANSPORTS), auth={'token': 'nope'})
        self.assertIn('failed to connect', str(cm.exception))
        err = bad.rec['/admin'].next('connect_error')
        self.assertEqual(err, [{'message': 'unauthorized', 'data': {'code': 401}}])

    def test_events(self):
        c = self.client()
        for args in [('hello',), ('héllo €𝄞', 42, -1.5, True, False, None),
                     ({'a': [1, None, True], 'b': {'c': 'd'}}, ['x', ['y']], '')]:
            c.sio.emit('message', args)
            self.assertEqual(c.rec['/'].next('message-back'), list(args))
        for i in range(10):
            c.sio.emit('message', i)
        # All ten come back, each once. Not necessarily in order: python-engineio's client runs
        # each message's handler on a thread of its own (the server sends them in order, as the
        # socket.io-client tests check).
        got = [c.rec['/'].next('message-back') for _ in range(10)]
        self.assertEqual(sorted(a[0] for a in got), list(range(10)))
        self.assertTrue(all(len(a) == 1 for a in got), got)

    def test_acks_both_ways(self):
        c = self.client(namespaces=('/', '/rooms'))
        # Client → server: call() waits for the ack.
        self.assertEqual(c.sio.call('message-with-ack', {'q': 1}, timeout=WAIT), {'q': 1})
        self.assertEqual(c.sio.call('message-with-ack', (1, 'two', [3]), timeout=WAIT),
                         (1, 'two', [3]))
        # Server → client: the handler's return value is the ack.
        c.sio.on('please-add', lambda a, b: (a + b, 'done'), namespace='/rooms')
        self.assertEqual(c.sio.call('ask', {'event': 'please-add', 'args': [2, 3], 'timeout': 2000},
                                    namespace='/rooms', timeout=WAIT), {'ok': True})
        self.assertEqual(c.rec['/rooms'].next('ask-result'), [{'args': [5, 'done']}])
        # An event the server does not ack times out on the client.
        with self.assertRaises(socketio.exceptions.TimeoutError):
            c.sio.call('no-such-event', 1, timeout=0.3)
        self.assertEqual(c.sio.call('message-with-ack', 'still', timeout=WAIT), 'still')

    def test_binary_both_ways(self):
        c = self.client(namespaces=('/', '/rooms'))
        one = bytes([0, 1, 2, 0xFE, 0xFF, 0x1E, 0x0A])
        big = pattern(70000, 3)
        c.sio.emit('message', (one, {'a': [big], 's': 'str'}, 'tail'))
        got = c.rec['/'].next('message-back')
        self.assertEqual(got, [one, {'a': [big], 's': 'str'}, 'tail'])
        self.assertIsInstance(got[0], bytes)
        self.assertIsInstance(got[1]['a'][0], bytes)
        self.assertEqual(c.sio.call('message-with-ack', (one, {'b': big}), timeout=WAIT),
                         (one, {'b': big}))
        # Server → client binary with an ack, answered with binary.
        c.sio.on('echo-bytes', lambda b: (b + b'\xaa', {'inner': [b]}), namespace='/rooms')
        c.sio.call('ask', {'event': 'echo-bytes', 'args': [one], 'timeout': 2000},
                   namespace='/rooms', timeout=WAIT)
        self.assertEqual(c.rec['/rooms'].next('ask-result'),
                         [{'args': [one + b'\xaa', {'inner': [one]}]}])

    def test_rooms(self):
        a = self.client(namespaces=('/rooms',), auth={'name': 'A'})
        b = self.client(namespaces=('/rooms',), auth={'name': 'B'})
        c = self.client(namespaces=('/rooms',), auth={'name': 'C'})
        ida = a.sio.get_sid('/rooms')
        r = a.sio.call('join', 'r1', namespace='/rooms', timeout=WAIT)
        self.assertTrue(r['ok'])
        self.assertEqual(sorted(r['rooms']), sorted([ida, 'r1']))
        b.sio.call('join', 'r1', namespace='/rooms', timeout=WAIT)
        r = c.sio.call('emit-to', {'rooms': ['r1'], 'event': 'hello', 'args': ['x', b'\x01\x02']},
                       namespace='/rooms', timeout=WAIT)
        self.assertEqual(r, {'count': 2})
        self.assertEqual(a.rec['/rooms'].next('hello'), ['x', b'\x01\x02'])
        self.assertEqual(b.rec['/rooms'].next('hello'), ['x', b'\x01\x02'])
        # except, then a sentinel to everyone so that absence is exact.
        r = c.sio.call('emit-to', {'rooms': ['r1'], 'except': [ida], 'event': 'ex', 'args': []},
                       namespace='/rooms', timeout=WAIT)
        self.assertEqual(r, {'count': 1})
        self.assertEqual(b.rec['/rooms'].next('ex'), [])
        c.sio.call('emit-to', {'event': 'sentinel', 'args': [1]}, namespace='/rooms', timeout=WAIT)
        for x in (a, b, c):
            x.rec['/rooms'].next('sentinel')
        self.assertEqual(c.rec['/rooms'].count('hello'), 0)
        self.assertEqual(a.rec['/rooms'].count('ex'), 0)
        # leave
        r = a.sio.call('leave', 'r1', namespace='/rooms', timeout=WAIT)
        self.assertEqual(r['rooms'], [ida])
        r = c.sio.call('emit-to', {'rooms': ['r1'], 'event': 'after', 'args': []},
                       namespace='/rooms', timeout=WAIT)
        self.assertEqual(r, {'count': 1})

    def test_disconnect(self):
        observer = self.client(namespaces=('/rooms',))
        c = self.client(namespaces=('/rooms',))
        cid = c.sio.get_sid('/rooms')
        c.sio.disconnect()
        left = observer.rec['/rooms'].next('left', pred=lambda a: a[0]['id'] == cid,
                                           timeout=WAIT + (PING_MS + PONG_MS) / 1000)
        # python-socketio 5.7 queues a DISCONNECT packet and then aborts its Engine.IO session
        # at once: the DISCONNECT, only the Engine.IO close, or (polling) nothing at all may reach
        # the server before the client stops, so any of these is right (Node's server too).
        self.assertIn(left[0]['reason'],
                      ('client namespace disconnect', 'transport close', 'ping timeout'))
        self.assertEqual(c.rec['/rooms'].count('disconnect'), 1)
        # Server-side disconnect: the client sees its namespace disconnected.
        d = self.client(namespaces=('/rooms',))
        did = d.sio.get_sid('/rooms')
        d.sio.emit('disconnect-me', False, namespace='/rooms')
        d.rec['/rooms'].next('disconnect')
        left = observer.rec['/rooms'].next('left', pred=lambda a: a[0]['id'] == did)
        self.assertEqual(left, [{'id': did, 'reason': 'server namespace disconnect'}])
        ids = [s['id'] for s in observer.sio.call('fetch', {}, namespace='/rooms', timeout=WAIT)]
        self.assertEqual(ids, [observer.sio.get_sid('/rooms')])


class PollingTests(PythonClientTests, unittest.TestCase):
    TRANSPORTS = ('polling',)


class WebSocketTests(PythonClientTests, unittest.TestCase):
    TRANSPORTS = ('websocket',)


if __name__ == '__main__':
    unittest.main(verbosity=2)

# SPDX-License-Identifier: MIT
"""rate-limiting's redis policy against a Redis that answers nonsense. A tiny RESP server on
127.0.0.1 (an ephemeral port) answers the counters' INCRBY and EXPIRE from a script: negative
or huge counts, strings, nil, error replies, arrays, protocol garbage, half a reply, extra
replies. Each such answer is a Redis failure, so fault_tolerant decides (true: the request goes
through, without rate-limit headers, and a warning is logged; false: 500 JSON) and the
connection is not used again. A real redis-server shows the same node counting normally
before and after (catalogue J-05, P15)."""

import itertools
import shutil
import socket
import threading
import time

import pytest

from harness import SLOW, away_from_boundary, wait_for
from rawhttp import one_request
from test_plugins_traffic import start_node, stop_node

FAILED = {"message": "An unexpected error occurred"}
TIMEOUT_MS = 300

_seq = itertools.count()


class FakeRedis:
    """A RESP server whose answer to each command comes from answer(args, conn_index, nth):
    args is the command as a list of bytes, nth its index on that connection; the bytes
    returned are sent as they are (b"" sends nothing)."""

    def __init__(self, answer):
        self.answer = answer
        self.commands = []          # (connection index, [args]) in arrival order
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.conns = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                idx = self.connections
                self.connections += 1
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn, idx), daemon=True).start()

    @staticmethod
    def _parse(buf):
        """One command off the front of buf: (args, rest) or (None, buf) when incomplete."""
        if not buf:
            return None, buf
        if not buf.startswith(b"*"):
            raise ValueError("not a RESP array: %r" % buf[:40])
        i = buf.find(b"\r\n")
        if i < 0:
            return None, buf
        n, pos, args = int(buf[1:i]), i + 2, []
        for _ in range(n):
            j = buf.find(b"\r\n", pos)
            if j < 0:
                return None, buf
            size = int(buf[pos + 1:j])
            if len(buf) < j + 2 + size + 2:
                return None, buf
            args.append(buf[j + 2:j + 2 + size])
            pos = j + 2 + size + 2
        return args, buf[pos:]

    def _serve(self, conn, idx):
        conn.settimeout(0.2)
        buf, nth = b"", 0
        try:
            while not self.stopping.is_set():
                try:
                    data = conn.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    return
                buf += data
                while True:
                    args, buf = self._parse(buf)
                    if args is None:
                        break
                    with self.lock:
                        self.commands.append((idx, args))
                    out = self.answer(args, idx, nth)
                    nth += 1
                    if out:
                        conn.sendall(out)
        except OSError:
            return
        finally:
            conn.close()

    def names(self):
        with self.lock:
            return [args[0].upper() for _, args in self.commands]

    def stop(self):
        self.stopping.set()
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass
        self.thread.join(2)


def incr_answers(incr, expire=b":1\r\n"):
    """Answer every INCRBY with incr and every EXPIRE with expire (bytes)."""
    def answer(args, conn, nth):
        cmd = args[0].upper()
        if cmd == b"INCRBY":
            return incr
        if cmd == b"EXPIRE":
            return expire
        return b"+OK\r\n"
    return answer


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    ns = start_node(tmp_path_factory, "rlredis")
    yield ns
    stop_node(ns)


@pytest.fixture
def fake_factory():
    made = []

    def make(answer):
        f = FakeRedis(answer)
        made.append(f)
        return f

    yield make
    for f in made:
        f.stop()


def new_api(node, port, **conf):
    name = "rr%d" % next(_seq)
    node.admin.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
    config = {"policy": "redis", "redis_host": "127.0.0.1", "redis_port": port,
              "redis_timeout": TIMEOUT_MS, "limit_by": "ip", "minute": 5}
    config.update(conf)
    r = node.admin.post("/apis/%s/plugins" % name,
                        json={"name": "rate-limiting", "config": config})
    assert r.status_code == 201, r.text
    return "/" + name


def get(node, path):
    return one_request(node.port, "GET", path + "/x")


def assert_failed_as_configured(node, path, tolerant):
    """One request: through without rate-limit headers (tolerant) or 500 JSON (strict)."""
    node.echo.reset()
    t0 = time.monotonic()
    r = get(node, path)
    took = time.monotonic() - t0
    # Not a speed check: the request must not wait much past redis_timeout (a loaded machine
    # running the suite in parallel gets a wide margin).
    assert took < TIMEOUT_MS / 1000.0 + 5.0 * SLOW, took
    if tolerant:
        assert r.status == 200, r
        assert r.header("X-RateLimit-Limit-Minute") is None
        assert r.header("RateLimit-Remaining") is None
        assert len(node.echo.requests) == 1
    else:
        assert r.status == 500, r
        assert r.json() == FAILED
        time.sleep(0.05)
        assert node.echo.requests == []


# ---- the fake server itself answers like Redis ---------------------------------------------

def test_sane_answers_are_believed(node, fake_factory):
    counts = itertools.count(1)
    fake = fake_factory(lambda args, c, n: (b":%d\r\n" % next(counts))
                        if args[0].upper() == b"INCRBY" else b":1\r\n")
    path = new_api(node, fake.port, fault_tolerant=False)
    got = [(r.status, r.header("X-RateLimit-Remaining-Minute"))
           for r in (get(node, path) for _ in range(6))]
    assert got == [(200, "4"), (200, "3"), (200, "2"), (200, "1"), (200, "0"), (429, "0")]
    assert fake.names().count(b"INCRBY") == 6
    assert wait_for(lambda: b"DECRBY" in fake.names())  # the refused one, taken back
    assert fake.connections <= 2  # one per worker thread at most: the connection is kept


# ---- nonsense, both fault_tolerant values ------------------------------------------------

# (command, name, reply): what INCRBY or EXPIRE answers (the other command answers :1).
NONSENSE = [
    ("INCRBY", "negative", b":-5\r\n"),
    ("INCRBY", "zero", b":0\r\n"),
    ("INCRBY", "int64-min", b":-9223372036854775808\r\n"),
    ("INCRBY", "over-2^53", b":9007199254740992\r\n"),
    ("INCRBY", "int64-max", b":9223372036854775807\r\n"),
    ("INCRBY", "over-64-bits", b":99999999999999999999\r\n"),
    ("INCRBY", "string", b"$3\r\nabc\r\n"),
    ("INCRBY", "number-as-string", b"$1\r\n1\r\n"),
    ("INCRBY", "status", b"+OK\r\n"),
    ("INCRBY", "nil", b"$-1\r\n"),
    ("INCRBY", "error", b"-ERR something went wrong\r\n"),
    ("INCRBY", "array-2", b"*2\r\n:1\r\n:1\r\n"),
    ("INCRBY", "array-1", b"*1\r\n:1\r\n"),
    ("INCRBY", "array-0", b"*0\r\n"),
    ("INCRBY", "array-nil", b"*-1\r\n"),
    ("INCRBY", "protocol-garbage", b"?what is this\r\n"),
    ("INCRBY", "half-a-reply", b"$3\r\nabc"),
    ("INCRBY", "nothing", b""),
    ("EXPIRE", "two", b":2\r\n"),
    ("EXPIRE", "negative", b":-1\r\n"),
    ("EXPIRE", "error", b"-ERR no\r\n"),
    ("EXPIRE", "string", b"$1\r\n1\r\n"),
    ("EXPIRE", "array", b"*2\r\n:1\r\n:1\r\n"),
]


@pytest.mark.parametrize("tolerant", [True, False], ids=["tolerant", "strict"])
@pytest.mark.parametrize("cmd,reply", [(c, r) for c, _, r in NONSENSE],
                         ids=["%s-%s" % (c, n) for c, n, _ in NONSENSE])
def test_nonsense_is_a_redis_failure(node, fake_factory, cmd, reply, tolerant):
    if cmd == "INCRBY":
        fake = fake_factory(incr_answers(reply))
    else:
        fake = fake_factory(incr_answers(b":1\r\n", reply))
    path = new_api(node, fake.port, fault_tolerant=tolerant)
    assert_failed_as_configured(node, path, tolerant)
    assert node.torii.alive()


@pytest.mark.parametrize("tolerant", [True, False], ids=["tolerant", "strict"])
def test_a_second_period_answering_nonsense(node, fake_factory, tolerant):
    """minute and hour: the second INCRBY of the pipeline is the bad one."""
    seen = itertools.count()

    def answer(args, conn, nth):
        if args[0].upper() != b"INCRBY":
            return b":1\r\n"
        return b":1\r\n" if next(seen) % 2 == 0 else b":-3\r\n"

    fake = fake_factory(answer)
    path = new_api(node, fake.port, fault_tolerant=tolerant, hour=50)
    assert_failed_as_configured(node, path, tolerant)


def test_out_of_step_server_is_dropped(node, fake_factory):
    """A server that answers INCRBY twice is one reply ahead: EXPIRE then reads a count, and
    every later INCRBY would read the previous EXPIRE's 1. Once a reply makes no sense the
    connection is dropped and the next call starts afresh on a new one."""
    state = {"extra": True}

    def answer(args, conn, nth):
        cmd = args[0].upper()
        if cmd == b"INCRBY":
            if state["extra"]:
                return b":3\r\n:3\r\n"
            return b":3\r\n"
        return b":1\r\n"

    fake = fake_factory(answer)
    path = new_api(node, fake.port, fault_tolerant=False)
    r = get(node, path)
    assert r.status == 500 and r.json() == FAILED
    state["extra"] = False
    before = fake.connections
    # after the 500 ms retry pause the next request connects again and is counted properly
    r = wait_for(lambda: (lambda x: x if x.status == 200 else None)(get(node, path)),
                 timeout=5, step=0.1)
    assert r and r.status == 200 and r.header("X-RateLimit-Remaining-Minute") == "2", r
    assert fake.connections > before
    assert node.torii.alive()


STRAYS = {"integer": b":7\r\n", "status": b"+OK\r\n", "array": b"*1\r\n$1\r\nx\r\n",
          "nil": b"$-1\r\n", "error": b"-ERR stray\r\n"}


@pytest.mark.parametrize("later", [False, True], ids=["same-packet", "while-idle"])
@pytest.mark.parametrize("stray", sorted(STRAYS), ids=sorted(STRAYS))
def test_a_reply_nobody_asked_for(node, fake_factory, stray, later):
    """A reply after the last one awaited (hiredis 0.14 would abort the worker process on it):
    the connection is dropped, the node keeps serving, and the next request is counted on a
    new connection."""
    def answer(args, conn, nth):
        cmd = args[0].upper()
        if cmd == b"INCRBY":
            return b":1\r\n"
        if cmd != b"EXPIRE":
            return b":1\r\n"
        if not later:
            return b":1\r\n" + STRAYS[stray]
        sock = [c for c in fake.conns][conn]
        threading.Timer(0.1, lambda: sock.sendall(STRAYS[stray])).start()
        return b":1\r\n"

    fake = fake_factory(answer)
    path = new_api(node, fake.port, fault_tolerant=False)
    size = node.torii.stderr_size()
    for _ in range(3):
        r = get(node, path)
        assert r.status == 200 and r.header("X-RateLimit-Remaining-Minute") == "4", r
        time.sleep(0.7)  # past the pause after a dropped connection
    log = node.torii.stderr_text()[size:]
    assert "died" not in log and "Assertion" not in log, log
    assert node.torii.alive()
    assert fake.connections >= 2  # dropped and opened again


@pytest.mark.parametrize("tolerant", [True, False], ids=["tolerant", "strict"])
@pytest.mark.parametrize("setup", ["AUTH", "SELECT"])
def test_refused_auth_or_select(node, fake_factory, setup, tolerant):
    """Counters never go to an unauthenticated session or the wrong database."""
    def answer(args, conn, nth):
        cmd = args[0].upper()
        if cmd == setup.encode():
            return b"-ERR refused\r\n"
        if cmd in (b"AUTH", b"SELECT"):
            return b"+OK\r\n"
        return b":1\r\n"

    fake = fake_factory(answer)
    path = new_api(node, fake.port, fault_tolerant=tolerant, redis_password="pw",
                   redis_database=2)
    assert_failed_as_configured(node, path, tolerant)
    names = fake.names()
    # AUTH first, and the refused command was read. What the connection carried after a
    # refused AUTH (the pipelined SELECT and counters, which Redis refuses unauthenticated)
    # may be cut when torii closes it, so it is not asked for.
    assert names[0] == b"AUTH" and setup.encode() in names, names


def test_a_warning_names_the_bad_reply(node, fake_factory):
    fake = fake_factory(incr_answers(b":-5\r\n"))
    path = new_api(node, fake.port, fault_tolerant=True)
    size = node.torii.stderr_size()

    def warned():
        # warnings are rate-limited (once per second per worker thread): keep asking
        assert get(node, path).status == 200
        return "INCRBY result out of range" in node.torii.stderr_text()[size:]

    assert wait_for(warned, timeout=5, step=0.2)
    line = [x for x in node.torii.stderr_text()[size:].splitlines()
            if "out of range" in x][0]
    assert "redis 127.0.0.1:%d" % fake.port in line


# ---- a real redis-server around the nonsense ---------------------------------------------

REDIS = shutil.which("redis-server")


@pytest.mark.skipif(REDIS is None, reason="redis-server is not installed")
def test_real_redis_before_and_after_a_poisoned_counter(node, tmp_path):
    """A counter set to nonsense in a real Redis (a negative value left by hand, a string) is a
    failure too; a counter that makes sense again is believed again."""
    from test_plugins_rate_limiting import Redis
    redis = Redis(tmp_path)
    redis.start()
    try:
        away_from_boundary(60, 15)  # the poisoned keys are this minute's (the test takes ~5 s)
        tol = new_api(node, redis.port, fault_tolerant=True, minute=3)
        strict = new_api(node, redis.port, fault_tolerant=False, minute=3)
        for path in (tol, strict):
            assert get(node, path).status == 200
        keys = [k for k in redis.command("KEYS", "ratelimit:*").split(b"\r\n")
                if k.startswith(b"ratelimit:")]
        assert len(keys) == 2
        for k in keys:
            redis.command("SET", k.decode(), "-100", "KEEPTTL")
        # INCRBY answers -99: nonsense
        assert get(node, tol).status == 200
        assert get(node, strict).status == 500
        for k in keys:
            redis.command("SET", k.decode(), "abc", "KEEPTTL")
        # INCRBY answers an error ("not an integer"): a failure as well
        time.sleep(0.6)
        assert get(node, tol).status == 200
        assert get(node, strict).status == 500
        for k in keys:
            redis.command("DEL", k.decode())
        time.sleep(0.6)

        def counting(path):
            r = get(node, path)
            return r.status == 200 and r.header("X-RateLimit-Remaining-Minute") is not None

        assert wait_for(lambda: counting(strict), timeout=5, step=0.1)
        assert wait_for(lambda: counting(tol), timeout=5, step=0.1)
    finally:
        redis.stop()

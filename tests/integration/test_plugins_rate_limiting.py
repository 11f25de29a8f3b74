# SPDX-License-Identifier: MIT
"""The rate-limiting plugin end to end: every period's headers, limit_by ip / consumer (with
key-auth) / credential / header / path / service, window rollover, 429 with Retry-After,
hide_client_headers, the never-exceed property under concurrency across two worker threads,
config validation through the Admin API, and the redis policy against a real redis-server
(two nodes sharing it, fault tolerance when it stops or stalls) (catalogue J-03, J-05, D-03)."""

import itertools
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
import types

import pytest

from harness import SLOW, Torii, away_from_boundary, finish_torii, free_port, wait_for
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

LIMITED = {"message": "API rate limit exceeded"}
ALICE_KEY = "rl-alice-key-5e1d"
BOB_KEY = "rl-bob-key-9c2a"
PERIODS = ("second", "minute", "hour", "day", "month", "year")

_seq = itertools.count()


def ok(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def get(port, target, headers=()):
    return one_request(port, "GET", target, host="svc.test", headers=headers)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One node (two worker threads) with consumers alice and bob (key-auth keys) and an echo
    upstream E."""
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("rl"))
    try:
        t.start()
        a = t.admin
        ns = types.SimpleNamespace(torii=t, admin=a, echo=echo, port=t.proxy_port)
        ns.alice = a.add_consumer(username="alice")
        ns.bob = a.add_consumer(username="bob")
        ok(a.post("/consumers/alice/key-auth", data={"key": ALICE_KEY}))
        ok(a.post("/consumers/bob/key-auth", data={"key": BOB_KEY}))
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    yield ns
    problems = finish_torii(t)
    echo.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def new_api(node, *plugins, admin=None, name=None):
    """A fresh api /rlN on E with the given (name, config) plugins; returns its path."""
    admin = admin or node.admin
    name = name or "rl%d" % next(_seq)
    admin.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
    for pname, conf in plugins:
        ok(admin.post("/apis/%s/plugins" % name, json={"name": pname, "config": conf}),
           "add plugin " + pname)
    return "/" + name


def statuses(port, target, n, headers=()):
    return [get(port, target, headers).status for _ in range(n)]


# ---- headers and counting ----------------------------------------------------------------------

def test_every_period_header(node):
    conf = dict(zip(PERIODS, (100, 200, 300, 400, 500, 600)), limit_by="ip")
    p = new_api(node, ("rate-limiting", conf))
    away_from_boundary(1, 0.5)
    r = get(node.port, p + "/x")
    assert r.status == 200
    for period, limit in zip(PERIODS, (100, 200, 300, 400, 500, 600)):
        title = period.capitalize()
        assert r.header("X-RateLimit-Limit-" + title) == str(limit), (period, r.headers)
        assert r.header("X-RateLimit-Remaining-" + title) == str(limit - 1), (period, r.headers)
    # the most restrictive window: the least remaining (the second: 99)
    assert r.header("RateLimit-Limit") == "100"
    assert r.header("RateLimit-Remaining") == "99"
    assert r.header("RateLimit-Reset") == "1"
    assert r.header("Retry-After") is None
    # the upstream never sees them
    desc = r.json()
    assert not [k for k, _ in desc["headers"] if "ratelimit" in k.lower()]


def test_j03_counting_and_429(node):
    p = new_api(node, ("rate-limiting", {"minute": 5, "limit_by": "ip"}))
    away_from_boundary(60, 5)
    node.echo.reset()
    for want in (4, 3, 2, 1, 0):
        r = get(node.port, p + "/a")
        assert r.status == 200, r
        assert r.header("X-RateLimit-Limit-Minute") == "5"
        assert r.header("X-RateLimit-Remaining-Minute") == str(want)
        assert r.header("RateLimit-Limit") == "5"
        assert r.header("RateLimit-Remaining") == str(want)
        assert 1 <= int(r.header("RateLimit-Reset")) <= 60
    r = get(node.port, p + "/a")
    assert r.status == 429
    assert r.json() == LIMITED
    assert "application/json" in r.header("Content-Type")
    assert 1 <= int(r.header("Retry-After")) <= 60
    assert r.header("X-RateLimit-Remaining-Minute") == "0"
    assert r.header("RateLimit-Remaining") == "0"
    # refused requests are not counted: still refused, still five at the upstream
    assert get(node.port, p + "/a").status == 429
    time.sleep(0.1)
    assert len(node.echo.requests) == 5


def test_d03_forwarded_for_does_not_make_new_clients(node):
    p = new_api(node, ("rate-limiting", {"minute": 5, "limit_by": "ip"}))
    away_from_boundary(60, 5)
    got = [get(node.port, p, [("X-Forwarded-For", "203.0.113.%d" % i)]).status
           for i in range(6)]
    assert got == [200] * 5 + [429]


def test_d04_trusted_proxy_client_buckets(node, tmp_path):
    """Behind a trusted proxy the client is the X-Forwarded-For address: two buckets of five."""
    t = Torii(tmp_path / "trusted", settings={"trusted_ips": "127.0.0.1/32"})
    t.start()
    try:
        p = new_api(node, ("rate-limiting", {"minute": 5, "limit_by": "ip"}), admin=t.admin)
        away_from_boundary(60, 5)
        got = {"198.51.100.7": [], "198.51.100.8": []}
        for _ in range(6):
            for ip in got:
                r = one_request(t.proxy_port, "GET", p, host="svc.test",
                                headers=[("X-Forwarded-For", ip)])
                got[ip].append(r.status)
        assert got["198.51.100.7"] == [200] * 5 + [429]
        assert got["198.51.100.8"] == [200] * 5 + [429]
    finally:
        problems = finish_torii(t)
        assert not problems, problems


def test_hide_client_headers(node):
    p = new_api(node, ("rate-limiting", {"minute": 1, "limit_by": "ip",
                                         "hide_client_headers": True}))
    away_from_boundary(60, 5)
    r = get(node.port, p)
    assert r.status == 200
    assert not [k for k, _ in r.headers if "ratelimit" in k.lower()], r.headers
    r = get(node.port, p)
    assert r.status == 429
    assert not [k for k, _ in r.headers if "ratelimit" in k.lower()], r.headers
    # Retry-After still tells the client when to come back (as Kong)
    assert 1 <= int(r.header("Retry-After")) <= 60


def test_window_rollover(node):
    p = new_api(node, ("rate-limiting", {"second": 2, "limit_by": "ip"}))
    # start early in a second so the three requests share one window
    for _ in range(20):
        away_from_boundary(1, 0.7)
        t0 = time.time()
        got = statuses(node.port, p, 3)
        if int(time.time()) == int(t0):
            break
    assert got == [200, 200, 429]
    time.sleep(1.05 - (time.time() % 1))
    r = get(node.port, p)
    assert r.status == 200
    assert r.header("X-RateLimit-Remaining-Second") == "1"


def test_shorter_and_longer_windows(node):
    """A refusal by the second window does not use up the minute's quota."""
    p = new_api(node, ("rate-limiting", {"second": 1, "minute": 3, "limit_by": "ip"}))
    away_from_boundary(60, 8)
    away_from_boundary(1, 0.7)
    assert statuses(node.port, p, 3) == [200, 429, 429]
    time.sleep(1.05 - (time.time() % 1))
    r = get(node.port, p)
    assert r.status == 200
    assert r.header("X-RateLimit-Remaining-Minute") == "1"
    time.sleep(1.05 - (time.time() % 1))
    r = get(node.port, p)
    assert r.status == 200
    assert r.header("X-RateLimit-Remaining-Minute") == "0"
    assert r.header("RateLimit-Remaining") == "0"
    assert r.header("RateLimit-Limit") == "3"
    time.sleep(1.05 - (time.time() % 1))
    r = get(node.port, p)
    assert r.status == 429
    # the minute is the window to wait for
    assert int(r.header("Retry-After")) > 1


# ---- limit_by ---------------------------------------------------------------------------------

def test_limit_by_consumer_with_key_auth(node):
    p = new_api(node, ("key-auth", {}), ("rate-limiting", {"minute": 2}))
    away_from_boundary(60, 5)
    alice = [("apikey", ALICE_KEY)]
    bob = [("apikey", BOB_KEY)]
    assert statuses(node.port, p, 3, alice) == [200, 200, 429]
    assert statuses(node.port, p, 3, bob) == [200, 200, 429]
    assert get(node.port, p).status == 401  # key-auth runs first


def test_limit_by_consumer_falls_back_to_ip(node):
    p = new_api(node, ("rate-limiting", {"minute": 2, "limit_by": "consumer"}))
    away_from_boundary(60, 5)
    assert statuses(node.port, p, 3) == [200, 200, 429]


def test_limit_by_credential(node):
    p = new_api(node, ("key-auth", {}), ("rate-limiting", {"minute": 1,
                                                           "limit_by": "credential"}))
    away_from_boundary(60, 5)
    assert statuses(node.port, p, 2, [("apikey", ALICE_KEY)]) == [200, 429]
    assert statuses(node.port, p, 2, [("apikey", BOB_KEY)]) == [200, 429]


def test_limit_by_header(node):
    p = new_api(node, ("rate-limiting", {"minute": 2, "limit_by": "header",
                                         "header_name": "X-Client"}))
    away_from_boundary(60, 5)
    assert statuses(node.port, p, 3, [("X-Client", "a")]) == [200, 200, 429]
    assert statuses(node.port, p, 3, [("x-client", "b")]) == [200, 200, 429]
    # no header: the client IP's own counter
    assert statuses(node.port, p, 3) == [200, 200, 429]


def test_limit_by_path(node):
    name = "rl%d" % next(_seq)
    p = new_api(node, ("rate-limiting", {"minute": 2, "limit_by": "path",
                                         "path": "/%s/hot" % name}), name=name)
    away_from_boundary(60, 5)
    assert statuses(node.port, p + "/hot", 3) == [200, 200, 429]
    # another path is counted by IP, apart from /hot
    assert statuses(node.port, p + "/cold", 3) == [200, 200, 429]


def test_limit_by_service(node):
    p = new_api(node, ("rate-limiting", {"minute": 3, "limit_by": "service"}))
    away_from_boundary(60, 5)
    got = [get(node.port, p, [("X-Client", str(i))]).status for i in range(4)]
    assert got == [200, 200, 200, 429]


# ---- concurrency ------------------------------------------------------------------------------

def test_never_exceeds_under_concurrency(node):
    """160 requests on fresh connections from 16 threads (spread over both worker threads by
    SO_REUSEPORT) against minute=50: exactly 50 pass, and E sees exactly 50."""
    p = new_api(node, ("rate-limiting", {"minute": 50, "limit_by": "ip"}))
    away_from_boundary(60, 20)
    node.echo.reset()
    results = []
    lock = threading.Lock()

    def client():
        mine = [get(node.port, p + "/c").status for _ in range(10)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(results) == 160
    assert results.count(200) == 50, results
    assert results.count(429) == 110
    time.sleep(0.2)
    assert len(node.echo.requests) == 50


# ---- Admin API ------------------------------------------------------------------------------

@pytest.mark.sqlite_file
def test_admin_validation(node):
    name = "rl%d" % next(_seq)
    node.admin.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
    url = "/apis/%s/plugins" % name

    def post(conf):
        return node.admin.post(url, json={"name": "rate-limiting", "config": conf})

    r = post({})
    assert r.status_code == 400 and "at least one of" in r.text, r.text
    r = post({"minute": 0})
    assert r.status_code == 400 and "greater than 0" in r.text, r.text
    r = post({"minute": 20, "hour": 10})
    assert r.status_code == 400, r.text
    assert "The limit for hour(10.0) cannot be lower than the limit for minute(20.0)" in r.text
    r = post({"minute": 5, "policy": "redis", "redis_host": "127.0.0.1", "redis_ssl": True})
    assert r.status_code == 400 and "config.redis_ssl" in r.text, r.text
    r = post({"minute": 5, "policy": "redis"})
    assert r.status_code == 400 and "redis_host" in r.text, r.text
    r = post({"minute": 5, "limit_by": "header"})
    assert r.status_code == 400 and "header_name" in r.text, r.text
    # form input works too
    r = node.admin.post(url, data={"name": "rate-limiting", "config.minute": "7",
                                   "config.policy": "redis", "config.redis_host": "127.0.0.1",
                                   "config.redis_password": "s3cret-pw"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert doc["config"]["minute"] == 7
    assert doc["config"]["limit_by"] == "consumer"
    assert doc["config"]["redis_port"] == 6379
    # the Redis password is write-only
    assert "redis_password" not in doc["config"]
    assert "s3cret-pw" not in node.admin.get("/plugins/" + doc["id"]).text
    assert "s3cret-pw" not in node.admin.get("/plugins").text
    # a PATCH without it keeps the stored one
    r = node.admin.patch("/plugins/" + doc["id"], json={"config": {"minute": 8}})
    assert r.status_code == 200, r.text
    assert r.json()["config"]["minute"] == 8 and "redis_password" not in r.json()["config"]
    db = sqlite3.connect(str(node.torii.db_path))
    try:
        stored = db.execute("SELECT json_extract(doc, '$.config.redis_password') FROM plugins "
                            "WHERE id = ?", (doc["id"],)).fetchone()[0]
    finally:
        db.close()
    assert stored == "s3cret-pw"
    assert node.admin.delete("/plugins/" + doc["id"]).status_code == 204


# ---- redis policy -------------------------------------------------------------------------

REDIS = shutil.which("redis-server")


class Redis:
    """A private redis-server on a free loopback port, stopped by pid."""

    def __init__(self, workdir):
        self.port = free_port()
        self.workdir = workdir
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self.ping, timeout=10), "redis-server did not start"

    def command(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(out)
            return s.recv(65536)

    def ping(self):
        try:
            return self.command("PING").startswith(b"+PONG")
        except OSError:
            return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def redis(tmp_path):
    if REDIS is None:
        pytest.skip("redis-server is not installed (scripts/deps.sh installs it)")
    r = Redis(tmp_path)
    r.start()
    yield r
    r.stop()


def redis_conf(redis, **kw):
    conf = {"policy": "redis", "redis_host": "127.0.0.1", "redis_port": redis.port,
            "limit_by": "ip"}
    conf.update(kw)
    return conf


def test_redis_counts_and_headers(node, redis):
    p = new_api(node, ("rate-limiting", redis_conf(redis, minute=3, hour=10)))
    away_from_boundary(60, 5)
    got = []
    for _ in range(4):
        r = get(node.port, p)
        got.append((r.status, r.header("X-RateLimit-Remaining-Minute"),
                    r.header("X-RateLimit-Remaining-Hour")))
    assert got == [(200, "2", "9"), (200, "1", "8"), (200, "0", "7"), (429, "0", "7")]
    keys = redis.command("KEYS", "ratelimit:*")
    assert b"minute" in keys and b"hour" in keys, keys
    # the counters expire with their window
    k = [x for x in keys.split(b"\r\n") if x.startswith(b"ratelimit:")]
    ttl = redis.command("TTL", k[0].decode())
    assert ttl.startswith(b":") and int(ttl[1:].strip()) > 0, ttl


def test_redis_database_and_password(node, redis):
    """AUTH and SELECT go out before the counters (this redis-server is the test's own)."""
    redis.command("CONFIG", "SET", "requirepass", "pw-1")
    p = new_api(node, ("rate-limiting", redis_conf(redis, minute=2, redis_database=3,
                                                   redis_password="pw-1",
                                                   fault_tolerant=False)))
    away_from_boundary(60, 5)
    assert statuses(node.port, p, 3) == [200, 200, 429]
    with socket.create_connection(("127.0.0.1", redis.port), timeout=2) as s:
        s.sendall(b"AUTH pw-1\r\nSELECT 3\r\nDBSIZE\r\n")
        time.sleep(0.2)
        data = s.recv(4096)
    assert data.endswith(b":1\r\n"), data


def test_redis_two_nodes_never_exceed(node, redis, tmp_path):
    """Two nodes sharing one Redis (same plugin id), 120 concurrent requests, minute=40."""
    other = Torii(tmp_path / "n2")
    other.start()
    try:
        name = "rl%d" % next(_seq)
        pid = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"
        conf = redis_conf(redis, minute=40)
        for admin in (node.admin, other.admin):
            admin.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
            ok(admin.post("/apis/%s/plugins" % name,
                          json={"id": pid, "name": "rate-limiting", "config": conf}))
        away_from_boundary(60, 20)
        results = []
        lock = threading.Lock()

        def client(port):
            mine = [get(port, "/" + name).status for _ in range(10)]
            with lock:
                results.extend(mine)

        threads = [threading.Thread(target=client, args=(port,))
                   for port in (node.port, other.proxy_port) for _ in range(6)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert len(results) == 120
        assert results.count(200) == 40, results
        assert results.count(429) == 80
    finally:
        problems = finish_torii(other)
        assert not problems, problems


def test_j05_redis_stopped_and_stalled(node, redis):
    tol = new_api(node, ("rate-limiting", redis_conf(redis, minute=1000, redis_timeout=300)))
    strict = new_api(node, ("rate-limiting", redis_conf(redis, minute=1000, redis_timeout=300,
                                                        fault_tolerant=False)))
    away_from_boundary(60, 15)
    assert get(node.port, tol).status == 200
    assert get(node.port, strict).status == 200
    log_size = node.torii.stderr_size()

    # stopped mid-test
    redis.stop()
    t0 = time.monotonic()
    r = get(node.port, tol)
    assert r.status == 200
    assert time.monotonic() - t0 < 0.5 * SLOW
    assert r.header("X-RateLimit-Limit-Minute") is None  # no counts, no headers (as Kong)
    r = get(node.port, strict)
    assert r.status == 500
    assert r.json() == {"message": "An unexpected error occurred"}

    def warned():
        # warnings are rate-limited (once per second per worker): keep failing until one shows
        get(node.port, tol)
        return "redis" in node.torii.stderr_text()[log_size:]

    assert wait_for(warned, timeout=5, step=0.1)

    # back on the same port: enforcement resumes (connections are retried after 0.5 s)
    redis.start()
    assert wait_for(lambda: get(node.port, strict).status == 200, timeout=5)

    # stalled (SIGSTOP): each request is bounded by redis_timeout
    os.kill(redis.proc.pid, signal.SIGSTOP)
    try:
        for target, want in ((tol, 200), (strict, 500), (tol, 200)):
            t0 = time.monotonic()
            r = get(node.port, target)
            took = time.monotonic() - t0
            assert r.status == want, (target, r.status)
            assert took < 1.5 * SLOW, took
        # a client that leaves while its request waits for Redis: freed when the call ends
        for target in (tol, strict):
            with socket.create_connection(("127.0.0.1", node.port), timeout=2) as s:
                s.sendall(b"GET %s HTTP/1.1\r\nHost: svc.test\r\n\r\n" % target.encode())
                time.sleep(0.05)
        time.sleep(0.5)
        assert node.torii.alive()
    finally:
        os.kill(redis.proc.pid, signal.SIGCONT)
    assert wait_for(lambda: get(node.port, strict).status == 200, timeout=5)


def test_redis_limit_enforced_after_restart(node, redis):
    """A counter lost with Redis starts again at zero, and the limit holds from there."""
    p = new_api(node, ("rate-limiting", redis_conf(redis, minute=2, fault_tolerant=False)))
    away_from_boundary(60, 10)
    assert statuses(node.port, p, 3) == [200, 200, 429]
    redis.stop()
    redis.start()
    assert wait_for(lambda: get(node.port, p).status == 200, timeout=5)
    assert statuses(node.port, p, 2) == [200, 429]

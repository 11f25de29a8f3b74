# SPDX-License-Identifier: MIT
"""basic-auth under a flood of bad passwords: an unknown user is refused without a hash, a
repeated wrong password is refused from the failure cache, and the node's password-hash
threads (a bounded queue apart from libuv's thread pool) answer 503 at once when full while a
client with a cached success and the OAuth2 token endpoint keep answering; afterwards correct
credentials work, and a node stopped in the middle of a flood stops cleanly. Hashes are
counted in GET /status (server.password_hashes)."""

import base64
import statistics
import threading
import time

import pytest

from harness import SLOW, wait_for
from oauth2util import cc_token, oauth_api, oauth_factory
from rawhttp import RawConn, build, one_request

assert oauth_factory  # fixture, imported for this module
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

BAD_CREDS = b'{"message":"Invalid authentication credentials"}'
BUSY = {"message": "Authentication is busy, try again later"}
REALM = 'Basic realm="torii"'


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def ok(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def hashes(t):
    """The node's password-hash counters."""
    r = t.admin.get("/status")
    assert r.status_code == 200, r.text
    return r.json()["server"]["password_hashes"]


def setup_basic(t, upstream_url, users):
    """An api /b on upstream_url with basic-auth, and a consumer with a credential per
    (user, password) of users."""
    a = t.admin
    a.add_api(name="b", upstream_url=upstream_url, request_path="/b")
    ok(a.post("/apis/b/plugins", json={"name": "basic-auth", "config": {}}), "basic-auth")
    for user, pw in users:
        a.add_consumer(username=user)
        ok(a.post("/consumers/%s/basic-auth" % user, data={"username": user, "password": pw}))


def get(conn, value):
    return conn.request("GET", "/b", headers=(("Authorization", value),), timeout=30 * SLOW)


def test_unknown_user_is_refused_without_a_hash(torii, echo):
    setup_basic(torii, echo.url, [("alice", "alice-pw")])
    st = hashes(torii)
    assert st["threads"] >= 1 and st["queue_size"] == 32  # defaults
    before = st["done"]

    # One hash: a known user's wrong password (on its own connection, timed).
    t0 = time.monotonic()
    wrong = one_request(torii.proxy_port, "GET", "/b",
                        headers=(("Authorization", basic("alice", "nope")),), timeout=30 * SLOW)
    one_hash = time.monotonic() - t0
    assert wrong.status == 401
    assert hashes(torii)["done"] == before + 1

    c = RawConn(torii.proxy_port, timeout=30 * SLOW)
    t0 = time.monotonic()
    answers = [get(c, basic("nobody-%d" % i, "nope")) for i in range(200)]
    elapsed = time.monotonic() - t0
    c.close()
    assert hashes(torii)["done"] == before + 1, "an unknown user was hashed"
    # 200 hashes would take 200 * one_hash; these take a small part of it (generous bound).
    assert elapsed < max(100 * one_hash, 2.0 * SLOW), (elapsed, one_hash)
    for r in answers:
        assert r.status == 401, r
        # unknown user and wrong password: the same answer, byte for byte
        assert r.body == wrong.body == BAD_CREDS
        assert r.header("www-authenticate") == wrong.header("www-authenticate") == REALM
        assert r.header("content-type") == wrong.header("content-type")


def test_repeated_wrong_password_is_refused_without_a_second_hash(torii, echo):
    setup_basic(torii, echo.url, [("alice", "alice-pw")])
    before = hashes(torii)["done"]
    c = RawConn(torii.proxy_port, timeout=30 * SLOW)  # one connection: one worker's cache
    for _ in range(10):
        r = get(c, basic("alice", "guess-1"))
        assert r.status == 401 and r.body == BAD_CREDS, r
        assert r.header("www-authenticate") == REALM
    assert hashes(torii)["done"] == before + 1
    # another wrong password is another hash; the correct one works and is cached too
    assert get(c, basic("alice", "guess-2")).status == 401
    for _ in range(3):
        assert get(c, basic("alice", "alice-pw")).status == 200
    assert get(c, basic("alice", "guess-1")).status == 401
    assert hashes(torii)["done"] == before + 3
    c.close()
    # A new password (a new stored hash) is never answered from an old entry of either cache.
    cred = ok(torii.admin.get("/consumers/alice/basic-auth"))["data"][0]
    ok(torii.admin.patch("/consumers/alice/basic-auth/%s" % cred["id"],
                         data={"password": "guess-1"}))
    c = RawConn(torii.proxy_port, timeout=30 * SLOW)
    assert get(c, basic("alice", "guess-1")).status == 200
    assert get(c, basic("alice", "alice-pw")).status == 401
    c.close()
    # Fresh connections may reach each worker thread once (the caches are per worker).
    before = hashes(torii)["done"]
    for _ in range(8):
        assert one_request(torii.proxy_port, "GET", "/b",
                           headers=(("Authorization", basic("alice", "guess-3")),),
                           timeout=30 * SLOW).status == 401
    assert hashes(torii)["done"] - before <= 2  # worker_threads = 2


class Flood:
    """Threads sending basic-auth requests with distinct wrong passwords on fresh connections
    until stopped; every answer's status, latency and head are kept. Every fourth request
    closes its connection right after sending (a client that leaves while queued)."""

    def __init__(self, port, threads=24):
        self.port = port
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.answers = []   # (status, seconds, body, retry_after)
        self.errors = []
        self.sent = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]

    def run(self, i):
        n = 0
        while not self.stop_ev.is_set():
            n += 1
            value = basic("victim", "wrong-%d-%d" % (i, n))
            try:
                c = RawConn(self.port, timeout=60 * SLOW)
                try:
                    t0 = time.monotonic()
                    c.send(build("GET", "/b", headers=(("Authorization", value),)))
                    if n % 4 == 0:
                        continue  # leave at once; the finally closes the socket
                    r = c.read_response(timeout=60 * SLOW)
                    dt = time.monotonic() - t0
                    with self.lock:
                        self.answers.append((r.status, dt, r.body, r.header("retry-after"),
                                             r.header("content-type")))
                finally:
                    c.close()
                    with self.lock:
                        self.sent += 1
            except Exception as e:  # noqa: BLE001 - kept and asserted on
                with self.lock:
                    self.errors.append(repr(e))

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def stop(self):
        self.stop_ev.set()
        for t in self.threads:
            t.join(120 * SLOW)


def test_flood_is_refused_at_once_while_others_keep_working(oauth_factory):
    gw = oauth_factory({"password_hash_threads": "1", "password_hash_queue": "2"})
    t = gw.torii
    setup_basic(t, gw.echo.url, [("victim", "victim-pw"), ("carol", "carol-pw"),
                                 ("dave", "dave-pw")])
    api = oauth_api(gw, enable_client_credentials=True)
    st = hashes(t)
    assert st["threads"] == 1 and st["queue_size"] == 2
    cc_token(gw, api, gw.web)  # the endpoint works before the flood

    # carol's success is cached on the worker of this connection
    carol = RawConn(t.proxy_port, timeout=30 * SLOW)
    assert get(carol, basic("carol", "carol-pw")).status == 200

    flood = Flood(t.proxy_port).start()
    try:
        assert wait_for(lambda: hashes(t)["refused"] > 0, timeout=30), \
            "no request was refused: %r" % hashes(t)
        token_times, carol_statuses, peak = [], [], {"queued": 0, "running": 0}
        deadline = time.monotonic() + 3 * SLOW
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            cc_token(gw, api, gw.web)
            token_times.append(time.monotonic() - t0)
            carol_statuses.append(get(carol, basic("carol", "carol-pw")).status)
            st = hashes(t)
            peak = {k: max(peak[k], st[k]) for k in peak}
    finally:
        flood.stop()
    carol.close()

    assert not flood.errors, flood.errors[:5]
    statuses = [a[0] for a in flood.answers]
    assert set(statuses) <= {401, 503}, set(statuses)
    busy = [a for a in flood.answers if a[0] == 503]
    assert busy and statuses.count(401) > 0, (len(busy), statuses.count(401))
    for status, dt, body, retry_after, ctype in busy:
        assert ctype.startswith("application/json")
        assert body == b'{"message":"Authentication is busy, try again later"}'
        assert retry_after == "1"
    # A refusal does not wait for a hash: answered about as fast as any request (generous).
    assert statistics.median(a[1] for a in busy) < 0.5 * SLOW, \
        statistics.median(a[1] for a in busy)
    # The pool never held more than its threads and queue.
    assert peak["running"] <= 1 and peak["queued"] <= 2, peak
    # The cached client and the OAuth2 token endpoint kept answering, promptly.
    assert carol_statuses and set(carol_statuses) == {200}, carol_statuses
    assert len(token_times) >= 3
    assert statistics.median(token_times) < 0.5 * SLOW, token_times
    assert max(token_times) < 3 * SLOW, token_times

    # After the flood: the queue empties and correct credentials work, also ones that need a
    # hash (dave was never verified).
    assert wait_for(lambda: hashes(t)["queued"] == 0 and hashes(t)["running"] == 0,
                    timeout=30), hashes(t)
    for user in ("dave", "victim", "carol"):
        r = one_request(t.proxy_port, "GET", "/b",
                        headers=(("Authorization", basic(user, user + "-pw")),),
                        timeout=30 * SLOW)
        assert r.status == 200, (user, r)
    assert t.alive()


@pytest.mark.parametrize("drain", ["10s", "0"])
def test_stop_during_a_flood_is_clean(torii_factory, echo, drain):
    """SIGTERM while requests wait for hashes and others left: the node drains (10s: the
    waiting requests are answered; 0: they are dropped with their queued jobs) and exits 0,
    and the sanitizer (under ASan) finds no leak of the pool or of parked requests."""
    t = torii_factory({"password_hash_threads": "1", "password_hash_queue": "4",
                       "drain_timeout": drain})
    setup_basic(t, echo.url, [("victim", "victim-pw")])
    flood = Flood(t.proxy_port, threads=12).start()
    try:
        assert wait_for(lambda: hashes(t)["refused"] > 0, timeout=30), hashes(t)
        assert t.stop() == 0
    finally:
        flood.stop()
    assert t.sanitizer_report() is None

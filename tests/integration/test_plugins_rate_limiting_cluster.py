# SPDX-License-Identifier: MIT
"""The rate-limiting `cluster` policy end to end: counters in the database, written in batches
by a flusher outside the worker loops. Limits and headers, the never-exceed property on one node
under concurrency (two worker threads), limit_by header, window rollover, counts that survive a
restart (also a kill -9 once a batch was written), two nodes on one database sharing counts,
fault_tolerant when the database cannot be written, and the Admin API's answers for the policy
and redis_ssl."""

import itertools
import sqlite3
import threading
import time
import types

import pytest

from harness import Torii, away_from_boundary, finish_torii, wait_for
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

LIMITED = {"message": "API rate limit exceeded"}
_seq = itertools.count()


def ok(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def get(port, target, headers=()):
    return one_request(port, "GET", target, host="svc.test", headers=headers)


def statuses(port, target, n, headers=()):
    return [get(port, target, headers).status for _ in range(n)]


def stored(db_path, plugin_id, period):
    """The count the database holds for plugin_id's period counters (all identities)."""
    db = sqlite3.connect(str(db_path), timeout=5)
    try:
        row = db.execute("SELECT coalesce(sum(count), 0) FROM ratelimiting_counters"
                         " WHERE plugin_id = ? AND period = ? AND window_end > ?",
                         (plugin_id, period, int(time.time()))).fetchone()
    finally:
        db.close()
    return row[0]


@pytest.fixture(scope="module")
def echo():
    e = UpstreamServer(echo_behaviour(), "E")
    yield e
    e.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory, echo):
    """One node, two worker threads."""
    t = Torii(tmp_path_factory.mktemp("rlc"), settings={"worker_threads": 2})
    try:
        t.start()
    except Exception:
        finish_torii(t)
        raise
    yield types.SimpleNamespace(torii=t, admin=t.admin, port=t.proxy_port, echo=echo)
    problems = finish_torii(t)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def new_api(admin, echo, conf, name=None):
    """A fresh api /rlcN on E with a cluster rate-limiting instance; returns (path, plugin)."""
    name = name or "rlc%d" % next(_seq)
    admin.add_api(name=name, upstream_url=echo.url, request_path="/" + name)
    conf = dict({"policy": "cluster", "limit_by": "ip"}, **conf)
    plugin = ok(admin.post("/apis/%s/plugins" % name,
                           json={"name": "rate-limiting", "config": conf}), "add plugin")
    return "/" + name, plugin


@pytest.mark.sqlite_file
def test_counts_headers_and_store(node):
    p, plugin = new_api(node.admin, node.echo, {"minute": 3, "hour": 10})
    away_from_boundary(60, 5)
    got = []
    for _ in range(4):
        r = get(node.port, p)
        got.append((r.status, r.header("X-RateLimit-Remaining-Minute"),
                    r.header("X-RateLimit-Remaining-Hour"), r.header("RateLimit-Remaining")))
    assert got == [(200, "2", "9", "2"), (200, "1", "8", "1"), (200, "0", "7", "0"),
                   (429, "0", "7", "0")]
    r = get(node.port, p)
    assert r.status == 429 and r.json() == LIMITED
    assert 1 <= int(r.header("Retry-After")) <= 60
    assert r.header("X-RateLimit-Limit-Minute") == "3"
    # the batch reaches the database; refused requests are not counted
    assert wait_for(lambda: stored(node.torii.db_path, plugin["id"], "minute") == 3, timeout=5)
    assert stored(node.torii.db_path, plugin["id"], "hour") == 3


@pytest.mark.sqlite_file
def test_never_exceeds_on_one_node(node):
    """160 requests on fresh connections from 16 threads (spread over both worker threads)
    against minute=50: exactly 50 pass, and E sees exactly 50."""
    p, plugin = new_api(node.admin, node.echo, {"minute": 50})
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
    assert wait_for(lambda: len(node.echo.requests) >= 50, timeout=2)
    assert len(node.echo.requests) == 50
    assert wait_for(lambda: stored(node.torii.db_path, plugin["id"], "minute") == 50, timeout=5)


def test_window_rollover(node):
    p, _ = new_api(node.admin, node.echo, {"second": 2})
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


@pytest.mark.sqlite_file
def test_refusal_by_a_shorter_window_keeps_the_longer_quota(node):
    p, plugin = new_api(node.admin, node.echo, {"second": 1, "minute": 3})
    away_from_boundary(60, 8)
    away_from_boundary(1, 0.7)
    assert statuses(node.port, p, 3) == [200, 429, 429]
    time.sleep(1.05 - (time.time() % 1))
    r = get(node.port, p)
    assert r.status == 200
    assert r.header("X-RateLimit-Remaining-Minute") == "1"
    assert wait_for(lambda: stored(node.torii.db_path, plugin["id"], "minute") == 2, timeout=5)


@pytest.mark.sqlite_file
def test_limit_by_header(node):
    p, plugin = new_api(node.admin, node.echo, {"minute": 2, "limit_by": "header",
                                                "header_name": "X-Client"})
    away_from_boundary(60, 5)
    assert statuses(node.port, p, 3, [("X-Client", "a")]) == [200, 200, 429]
    assert statuses(node.port, p, 3, [("X-Client", "b")]) == [200, 200, 429]
    # two counters in the database, two each
    assert wait_for(lambda: stored(node.torii.db_path, plugin["id"], "minute") == 4, timeout=5)


@pytest.mark.sqlite_file
def test_expired_windows_are_deleted(node):
    p, plugin = new_api(node.admin, node.echo, {"second": 5})
    assert get(node.port, p).status == 200
    db = sqlite3.connect(str(node.torii.db_path), timeout=5)
    try:
        def rows():
            return db.execute("SELECT count(*) FROM ratelimiting_counters WHERE plugin_id = ?",
                              (plugin["id"],)).fetchone()[0]
        assert wait_for(lambda: rows() == 1, timeout=5)
        # the window ends within a second; its row goes about a second later
        assert wait_for(lambda: rows() == 0, timeout=10)
    finally:
        db.close()


@pytest.mark.sqlite_file
@pytest.mark.parametrize("kill", [False, True], ids=["stop", "kill9"])
def test_counts_survive_a_restart(tmp_path, echo, kill):
    t = Torii(tmp_path / "n")
    t.start()
    try:
        p, plugin = new_api(t.admin, echo, {"minute": 5})
        away_from_boundary(60, 20)
        assert statuses(t.proxy_port, p, 3) == [200] * 3
        if kill:
            # a kill loses what was not written yet: wait for the batch first
            assert wait_for(lambda: stored(t.db_path, plugin["id"], "minute") == 3, timeout=5)
        t.restart(kill=kill)
        r = get(t.proxy_port, p)
        assert r.status == 200
        assert r.header("X-RateLimit-Remaining-Minute") == "1"
        assert statuses(t.proxy_port, p, 2) == [200, 429]
    finally:
        problems = finish_torii(t)
        assert not problems, problems


@pytest.mark.sqlite_file
def test_two_nodes_on_one_database(tmp_path, echo):
    """A second node on the same database sees what the first counted."""
    a = Torii(tmp_path / "a")
    a.start()
    b = None
    try:
        p, plugin = new_api(a.admin, echo, {"minute": 10})
        b = Torii(tmp_path / "b", settings={"sqlite_path": str(a.db_path)})
        b.start()  # reads the api and its plugin from the shared database
        away_from_boundary(60, 20)
        assert statuses(a.proxy_port, p, 6) == [200] * 6
        assert wait_for(lambda: stored(a.db_path, plugin["id"], "minute") == 6, timeout=5)
        r = get(b.proxy_port, p)
        assert r.status == 200
        assert r.header("X-RateLimit-Remaining-Minute") == "3"
        assert statuses(b.proxy_port, p, 4) == [200, 200, 200, 429]
        # and back: once b's batch is written, a counter a has not used for IDLE_S (2 s) is
        # read again before it decides (polling a sooner could pass a few requests: the
        # documented overshoot of one flush cycle)
        assert wait_for(lambda: stored(a.db_path, plugin["id"], "minute") == 10, timeout=5)
        time.sleep(3.1)
        assert get(a.proxy_port, p).status == 429
        assert stored(a.db_path, plugin["id"], "minute") == 10
    finally:
        problems = finish_torii(a)
        if b is not None:
            problems += finish_torii(b)
        assert not problems, problems


@pytest.mark.sqlite_file
def test_fault_tolerant_when_the_database_is_locked(node):
    """Another process holds the database's write lock: with fault_tolerant the node keeps
    deciding from what it knows (the limit still holds for its own traffic); without, 500.
    Released, the counts made meanwhile reach the database."""
    tol, tol_plugin = new_api(node.admin, node.echo, {"minute": 3})
    strict, _ = new_api(node.admin, node.echo, {"minute": 1000, "fault_tolerant": False})
    away_from_boundary(60, 25)
    assert get(node.port, tol).status == 200
    assert get(node.port, strict).status == 200
    holder = sqlite3.connect(str(node.torii.db_path), timeout=5, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")

        def strict_fails():
            return get(node.port, strict).status == 500

        assert wait_for(strict_fails, timeout=10, step=0.1)
        r = get(node.port, strict)
        assert r.status == 500
        assert r.json() == {"message": "An unexpected error occurred"}
        got = []
        for _ in range(3):
            r = get(node.port, tol)
            got.append((r.status, r.header("X-RateLimit-Remaining-Minute")))
        assert got == [(200, "1"), (200, "0"), (429, "0")]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert wait_for(lambda: get(node.port, strict).status == 200, timeout=10, step=0.1)
    assert wait_for(lambda: stored(node.torii.db_path, tol_plugin["id"], "minute") == 3,
                    timeout=5)


def test_admin_answers(node):
    name = "rlc%d" % next(_seq)
    node.admin.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
    url = "/apis/%s/plugins" % name
    r = node.admin.post(url, data={"name": "rate-limiting", "config.minute": "5",
                                   "config.policy": "redis", "config.redis_host": "127.0.0.1",
                                   "config.redis_ssl": "true"})
    assert r.status_code == 400, r.text
    assert r.json()["config.redis_ssl"] == "TLS to Redis is not available in this build"
    r = node.admin.post(url, json={"name": "rate-limiting",
                                   "config": {"minute": 5, "policy": "cluster"}})
    assert r.status_code == 201, r.text
    assert r.json()["config"]["policy"] == "cluster"

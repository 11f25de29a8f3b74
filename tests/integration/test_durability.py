# SPDX-License-Identifier: MIT
"""Durability and graceful stop: a 2xx admin write survives kill -9 right after the answer
(K-02, reduced), the restarted node routes with what it reloaded, and SIGTERM lets an in-flight
request finish while refusing new connections (K-10, reduced)."""

import sqlite3
import threading
import time

from harness import SLOW
from rawhttp import RawConn, one_request
from upstreams import delay_behaviour

ROUNDS = 8


def test_kill9_after_201_loses_nothing(torii_factory, echo):
    t = torii_factory()
    created = []
    for i in range(ROUNDS):
        api = t.admin.add_api(name="k%d" % i, upstream_url=echo.url, request_path="/k%d" % i,
                              strip_request_path=(i % 2 == 0))
        cons = t.admin.add_consumer(username="user%d" % i, custom_id="c%d" % i)
        created.append((api, cons))
        t.kill9()
        t.restart()
        for a, c in created:
            r = t.admin.get("/apis/" + a["id"])
            assert r.status_code == 200, (i, a["name"], r.text)
            assert r.json() == a
            r = t.admin.get("/consumers/" + c["id"])
            assert r.status_code == 200, (i, c["username"], r.text)
            assert r.json() == c
        assert t.admin.get("/apis").json()["total"] == i + 1
    # the reloaded apis route
    r = one_request(t.proxy_port, "GET", "/k0/x")
    assert r.status == 200 and r.json()["target"] == "/x"
    r = one_request(t.proxy_port, "GET", "/k1/x")
    assert r.status == 200 and r.json()["target"] == "/k1/x"


def test_kill9_after_patch_and_delete(torii_factory, echo):
    t = torii_factory()
    t.admin.add_api(name="a", upstream_url=echo.url, request_path="/a")
    t.admin.add_api(name="b", upstream_url=echo.url, request_path="/b")
    t.admin.patch_api("a", request_path="/a2")
    assert t.admin.delete("/apis/b").status_code == 204
    t.kill9()
    t.restart()
    assert t.admin.get("/apis/a").json()["request_path"] == "/a2"
    assert t.admin.get("/apis/b").status_code == 404
    t.stop()
    db = sqlite3.connect(str(t.db_path))
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()


def test_sigterm_lets_in_flight_request_finish(torii_factory, upstream_factory):
    m = upstream_factory(delay_behaviour(1.5), "M")
    t = torii_factory({"drain_timeout": "10s"})
    t.admin.add_api(name="slow", upstream_url=m.url, request_path="/slow")
    result = {}

    def client():
        try:
            result["r"] = one_request(t.proxy_port, "GET", "/slow/x", timeout=15 * SLOW)
        except Exception as e:  # noqa: BLE001 - reported below
            result["e"] = e

    th = threading.Thread(target=client)
    th.start()
    assert m.wait_requests(1, 5 * SLOW), "the slow request never reached the upstream"
    t0 = time.monotonic()
    t.proc.send_signal(15)
    time.sleep(0.3)
    refused = False
    try:
        c = RawConn(t.proxy_port, timeout=1)
        try:
            c.try_send(b"GET /slow/y HTTP/1.1\r\nHost: svc.test\r\n\r\n")
            refused = c.read_until_close(2) == b""
        finally:
            c.close()
    except OSError:
        refused = True
    th.join(15 * SLOW)
    assert "e" not in result, result.get("e")
    assert result["r"].status == 200 and result["r"].body == b"slow-ok"
    rc = t.proc.wait(15 * SLOW)
    t.exits.append((rc, "SIGTERM"))
    assert rc == 0
    assert time.monotonic() - t0 < 10 * SLOW
    assert refused, "a new connection was served after SIGTERM"
    assert [x.target for x in m.requests] == ["/slow/x"]


def test_sigterm_idle_keepalive_does_not_delay_stop(torii_factory, echo):
    t = torii_factory({"drain_timeout": "10s"})
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = RawConn(t.proxy_port)
    try:
        assert c.request("GET", "/e/x").status == 200
        t0 = time.monotonic()
        assert t.stop() == 0
        assert time.monotonic() - t0 < 3 * SLOW, "an idle keep-alive connection held the stop"
    finally:
        c.close()


def test_drain_timeout_bounds_stop(torii_factory, upstream_factory):
    m = upstream_factory(delay_behaviour(8), "M")
    t = torii_factory({"drain_timeout": "1s"})
    t.admin.add_api(name="slow", upstream_url=m.url, request_path="/slow")
    c = RawConn(t.proxy_port, timeout=15)
    try:
        c.send(b"GET /slow/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        assert m.wait_requests(1, 5 * SLOW)
        t0 = time.monotonic()
        rc = t.stop(timeout=10 * SLOW)
        took = time.monotonic() - t0
        assert rc == 0
        assert 0.8 <= took <= 3 * SLOW, took
    finally:
        c.close()

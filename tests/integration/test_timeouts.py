# SPDX-License-Identifier: MIT
"""Client and upstream timeouts with shortened settings: slowloris on the head (E-05), a
stalled body (E-07), idle keep-alive and idle new connections, and the upstream read timeout
(F-03)."""

import time

import pytest

from harness import SLOW, assert_silent, wait_for
from upstreams import stall_behaviour

pytestmark = pytest.mark.slow

LOW, HIGH = 1.7, 3.5 * SLOW   # accepted window for a 2 s timeout


def watch_close(c, timeout, trickle=None, interval=0.5):
    """Wait until the peer closes; optionally send one byte of trickle every interval.
    Returns (seconds until close or None, bytes received)."""
    t0 = time.monotonic()
    got = bytearray()
    i = 0
    next_send = t0 + interval
    while time.monotonic() - t0 < timeout:
        if trickle is not None and time.monotonic() >= next_send:
            if not c.try_send(trickle[i % len(trickle):i % len(trickle) + 1]):
                return time.monotonic() - t0, bytes(got)
            i += 1
            next_send += interval
        data = c.read_some(0.05)
        if data:
            got += data
        elif c.eof:
            return time.monotonic() - t0, bytes(got)
    return None, bytes(got)


def test_e05_slowloris_head(torii_factory, echo):
    t = torii_factory({"client_header_timeout": "2s"})
    t.admin.add_api(name="pub", upstream_url=echo.url, request_path="/public")
    c = t.raw()
    try:
        c.send(b"GET /public/a HTTP/1.1\r\nHost: svc.test\r\n")
        took, got = watch_close(c, 8 * SLOW, trickle=b"X-A: b\r\n")
    finally:
        c.close()
    assert took is not None, "slowloris connection still open after 8 s"
    assert LOW <= took <= HIGH, took
    # docs/behaviour.md: a head that started and did not finish in time gets 408, then a close.
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    assert_silent(echo)


def test_idle_new_connection_closed_silently(torii_factory, echo):
    t = torii_factory({"client_header_timeout": "2s"})
    c = t.raw()
    try:
        took, got = watch_close(c, 8 * SLOW)
    finally:
        c.close()
    assert took is not None and LOW <= took <= HIGH, took
    assert got == b"", got


def test_e07_stalled_body(torii_factory, echo):
    t = torii_factory({"client_body_timeout": "2s"})
    t.admin.add_api(name="pub", upstream_url=echo.url, request_path="/public")
    c = t.raw()
    try:
        c.send(b"POST /public/a HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 1000\r\n\r\n")
        c.send(b"0123456789")
        took, got = watch_close(c, 8 * SLOW)
    finally:
        c.close()
    assert took is not None, "stalled body connection still open after 8 s"
    assert LOW <= took <= HIGH, took
    # docs/behaviour.md: a body that stops arriving before any answer gets 408, then a close.
    assert got.startswith(b"HTTP/1.1 408"), got[:200]
    time.sleep(0.2)
    assert echo.requests == []


def test_keepalive_idle_close(torii_factory, echo):
    t = torii_factory({"keepalive_timeout": "2s"})
    t.admin.add_api(name="pub", upstream_url=echo.url, request_path="/public")
    c = t.raw()
    try:
        assert c.request("GET", "/public/a").status == 200
        took, got = watch_close(c, 8 * SLOW)
        assert took is not None and LOW <= took <= HIGH, took
        assert got == b""
    finally:
        c.close()


def test_keepalive_short_idle_is_kept(torii_factory, echo):
    t = torii_factory({"keepalive_timeout": "2s"})
    t.admin.add_api(name="pub", upstream_url=echo.url, request_path="/public")
    c = t.raw()
    try:
        for _ in range(3):
            assert c.request("GET", "/public/a").status == 200
            time.sleep(1.0)
        assert c.request("GET", "/public/a").status == 200
    finally:
        c.close()


def test_f03_upstream_read_timeout(torii_factory, upstream_factory):
    m = upstream_factory(stall_behaviour(10), "M")
    t = torii_factory()
    t.admin.add_api(name="slow", upstream_url=m.url, request_path="/slow",
                    upstream_read_timeout=1000, retries=0)
    c = t.raw()
    try:
        t0 = time.monotonic()
        c.send(b"GET /slow/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        r = c.read_response(timeout=10 * SLOW)
        took = time.monotonic() - t0
    finally:
        c.close()
    assert r.status == 504, r
    assert 0.9 <= took <= 2.5 * SLOW, took
    assert "json" in (r.header("Content-Type") or ""), r.headers
    assert wait_for(lambda: m.peer_closed, 2), "torii kept the timed-out connection"


def test_max_connections(torii_factory, echo):
    """A node capped at 4 connections closes (or answers 503 on) the fifth promptly while
    the four keep working; a slot freed is reusable."""
    t = torii_factory({"max_connections": "4"})
    t.admin.add_api(name="pub", upstream_url=echo.url, request_path="/public")

    # The harness's readiness probe was a proxy connection too: wait until the node has
    # accepted and closed it, or it may still hold one of the four slots.
    def probe_gone():
        s = t.admin.get("/status").json()["server"]
        return s["connections_accepted"] >= 1 and s["connections_active"] == 0
    assert wait_for(probe_gone, 5), t.admin.get("/status").text
    conns = [t.raw() for _ in range(4)]
    try:
        for c in conns:
            assert c.request("GET", "/public/a").status == 200
        extra = t.raw(timeout=3)
        try:
            extra.try_send(b"GET /public/a HTTP/1.1\r\nHost: svc.test\r\n\r\n")
            data = extra.read_until_close(2 * SLOW)
            assert extra.eof, "the fifth connection stayed open"
            assert data == b"" or data.startswith(b"HTTP/1.1 503"), data[:200]
        finally:
            extra.close()
        for c in conns:
            assert c.request("GET", "/public/b").status == 200
        conns[0].close()
        time.sleep(0.2)
        fresh = t.raw()
        try:
            assert fresh.request("GET", "/public/c").status == 200
        finally:
            fresh.close()
    finally:
        for c in conns:
            c.close()


def test_keepalive_timeout_zero_announces_the_close(torii_factory, echo):
    """keepalive_timeout = 0 keeps no connection idle: the answer says Connection: close, then
    the connection closes."""
    t = torii_factory({"keepalive_timeout": "0"})
    t.admin.add_api(name="pub", upstream_url=echo.url, request_path="/public")
    c = t.raw()
    try:
        r = c.request("GET", "/public/a")
        assert r.status == 200
        assert (r.header("connection") or "").lower() == "close"
        took, _ = watch_close(c, 5 * SLOW)
        assert took is not None
    finally:
        c.close()

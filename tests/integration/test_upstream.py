# SPDX-License-Identifier: MIT
"""The upstream side: refused connections (F-01), resets and retries with POST never replayed
(F-04), truncated bodies (F-05), invalid upstream framing (F-06, D-10), stale pooled connections
(F-11), keep-alive reuse counted by accepts, bytes after a response, and interim (1xx) answers:
dropped up to a bound, a flood of them 502 (P9)."""

import time

import pytest

from harness import SLOW, free_port, wait_for
from rawhttp import RawConn, one_request
from upstreams import (UpstreamServer, close_idle_behaviour, interim_behaviour,
                       reset_behaviour, respond_behaviour, truncated_behaviour)

ERRNO_WORDS = ("refused", "errno", "econn", "reset by peer", "broken pipe", "127.0.0.1")


def quiet_error_body(r):
    assert "json" in (r.header("Content-Type") or ""), r.headers
    text = r.body.decode("latin-1").lower()
    for w in ERRNO_WORDS:
        assert w not in text, (w, r.body)


def test_f01_connection_refused(torii, admin):
    port = free_port()
    admin.add_api(name="dead", upstream_url="http://127.0.0.1:%d" % port, request_path="/dead",
                  retries=0)
    t0 = time.monotonic()
    r = one_request(torii.proxy_port, "GET", "/dead/x")
    took = time.monotonic() - t0
    assert r.status == 502, r
    assert took < 1.0 * SLOW, took
    quiet_error_body(r)
    r = one_request(torii.proxy_port, "GET", "/dead/x")   # and the node keeps serving
    assert r.status == 502


def test_f04_reset_get_retried_post_never_replayed(torii, admin, upstream_factory):
    m = upstream_factory(reset_behaviour(), "M")
    admin.add_api(name="m", upstream_url=m.url, request_path="/public", retries=2)
    r = one_request(torii.proxy_port, "GET", "/public/g")
    assert r.status == 502, r
    quiet_error_body(r)
    time.sleep(0.2)
    assert 1 <= m.accepts <= 3, m.accepts
    m.reset()
    r = one_request(torii.proxy_port, "POST", "/public/p", body=b"0123456789")
    assert r.status == 502, r
    time.sleep(0.3)
    posts = [x for x in m.requests if x.method == "POST"]
    assert len(posts) == 1, [x.describe() for x in m.requests]


@pytest.mark.parametrize("retries,attempts", [(2, 3), (0, 1)])
def test_retries_bounded(torii, admin, upstream_factory, retries, attempts):
    """F-16 (one target): an upstream that accepts and resets at once; a GET is tried
    retries + 1 times, then 502."""
    m = upstream_factory(reset_behaviour(read_request=False), "M")
    admin.add_api(name="m", upstream_url=m.url, request_path="/r", retries=retries)
    r = one_request(torii.proxy_port, "GET", "/r/x")
    assert r.status == 502, r
    time.sleep(0.3)
    assert m.accepts == attempts


def test_f05_truncated_content_length(torii, admin, upstream_factory):
    m = upstream_factory(truncated_behaviour(
        b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"x" * 50000), "M")
    admin.add_api(name="m", upstream_url=m.url, request_path="/t", retries=0)
    c = RawConn(torii.proxy_port)
    try:
        c.send(b"GET /t/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        r = c.read_response(timeout=5 * SLOW)
        if r.status == 200:
            assert not r.complete, "a truncated body was completed"
            assert r.body_length <= 50000
            assert c.eof
        else:
            assert r.status == 502, r
    finally:
        c.close()


def test_f05_truncated_chunked(torii, admin, upstream_factory):
    m = upstream_factory(truncated_behaviour(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"5\r\nhello\r\n",
        then="close"), "M")
    admin.add_api(name="m", upstream_url=m.url, request_path="/t", retries=0)
    c = RawConn(torii.proxy_port)
    try:
        c.send(b"GET /t/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        r = c.read_response(timeout=5 * SLOW)
        if r.status == 200:
            assert not r.complete, "no terminal chunk was sent upstream, yet the client got one"
            assert c.eof
        else:
            assert r.status == 502, r
    finally:
        c.close()


BAD_RESPONSES = {
    "cl_and_te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nhello\r\n0\r\n\r\n",
    "two_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "cl_abc": b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\nhello",
    "te_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nhello",
    "status_2000": b"HTTP/1.1 2000 OK\r\nContent-Length: 2\r\n\r\nok",
    "nul_in_field": b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 2\r\n\r\nok",
    "garbage": b"garbage\r\n\r\n",
    "space_before_colon": b"HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    "bare_cr": b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok",
    "101_not_asked": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\n"
                     b"Connection: Upgrade\r\n\r\n",
}


@pytest.mark.parametrize("case", sorted(BAD_RESPONSES))
def test_f06_invalid_upstream_framing_502(cat, case):
    m = UpstreamServer(respond_behaviour(BAD_RESPONSES[case], wait_close=3), "M")
    try:
        cat.admin.add_api(name="bad", upstream_url=m.url, request_path="/bad", retries=0)
        r = one_request(cat.port, "GET", "/bad/x")
        assert r.status == 502, r
        quiet_error_body(r)
        assert wait_for(lambda: m.peer_closed, 3), "the upstream connection stayed open"
        r = one_request(cat.port, "GET", "/bad/y")
        assert r.status == 502
        assert m.accepts == 2, "a bad upstream connection was reused"
    finally:
        cat.admin.delete("/apis/bad")
        m.stop()


def test_extra_bytes_after_response_not_reused(torii, admin, upstream_factory):
    m = upstream_factory(respond_behaviour(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nextra", keepalive=True), "M")
    admin.add_api(name="m", upstream_url=m.url, request_path="/x")
    c = RawConn(torii.proxy_port)
    try:
        for _ in range(3):
            r = c.request("GET", "/x/1")
            assert r.status == 200 and r.body == b"ok", r
    finally:
        c.close()
    assert m.accepts == 3


def test_f11_stale_pooled_connection(torii, admin, upstream_factory):
    m = upstream_factory(close_idle_behaviour(1.0), "M")
    admin.add_api(name="m", upstream_url=m.url, request_path="/s")
    c = RawConn(torii.proxy_port)
    try:
        assert c.request("GET", "/s/1").status == 200
        time.sleep(1.0)
        r = c.request("GET", "/s/2")
        assert r.status == 200, r
        assert c.request("GET", "/s/3").status == 200
        time.sleep(1.0)
        r = c.request("POST", "/s/post", body=b"0123456789")
        assert r.status in (200, 502), r
    finally:
        c.close()
    time.sleep(0.2)
    posts = [x for x in m.requests if x.method == "POST"]
    assert len(posts) <= 1, [x.describe() for x in posts]
    if r.status == 200:
        assert len(posts) == 1


def test_keepalive_reuse_one_client_connection(torii, admin, echo):
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = RawConn(torii.proxy_port)
    try:
        for i in range(10):
            r = c.request("GET", "/e/%d" % i)
            assert r.status == 200
            d = r.json()
            assert d["request_index"] == i, d
    finally:
        c.close()
    assert echo.accepts == 1


def test_keepalive_reuse_across_client_connections(torii, admin, echo):
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    for i in range(10):
        assert one_request(torii.proxy_port, "GET", "/e/%d" % i).status == 200
    assert echo.accepts <= 2, echo.accepts    # one pool per worker thread


def test_upstream_keepalive_off(torii_factory, echo):
    t = torii_factory({"upstream_keepalive": "0"})
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = RawConn(t.proxy_port)
    try:
        for i in range(5):
            assert c.request("GET", "/e/%d" % i).status == 200
    finally:
        c.close()
    assert echo.accepts == 5


def test_upstream_keepalive_timeout(torii_factory, echo):
    t = torii_factory({"upstream_keepalive_timeout": "500ms"})
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    assert one_request(t.proxy_port, "GET", "/e/1").status == 200
    assert wait_for(lambda: echo.peer_closed, 3), "idle upstream connection kept"


def test_upstream_request_framing_is_gateways(torii, admin, echo):
    """P1.8: the upstream request has the gateway's own request line and framing."""
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    r = one_request(torii.proxy_port, "POST", "/e/x", body=b"abc",
                    headers=[("Content-Type", "text/plain")])
    assert r.status == 200
    req = echo.wait_requests(1)[0]
    assert req.version == "HTTP/1.1"
    assert req.header_all("content-length") == ["3"]
    assert req.header_all("transfer-encoding") == []
    assert req.header("content-type") == "text/plain"
    assert req.body == b"abc"


# ---- interim (1xx) answers ------------------------------------------------------------------

def interim_route(admin, upstream_factory, count, **kw):
    m = upstream_factory(interim_behaviour(count, **kw), "M")
    admin.add_api(name="i%d" % m.port, upstream_url=m.url, request_path="/i%d" % m.port,
                  retries=0)
    return m, "/i%d" % m.port


def raw_answer(port, target):
    """Everything the client receives for one GET, up to the end of the final response."""
    c = RawConn(port)
    try:
        c.send(b"GET %s HTTP/1.1\r\nHost: svc.test\r\n\r\n" % target.encode())
        r = c.read_response()
        return r, c
    except Exception:
        c.close()
        raise


@pytest.mark.parametrize("count", [1, 5, 32])
@pytest.mark.parametrize("piece", [0, 7], ids=["one-write", "7-byte-writes"])
def test_interim_answers_dropped_and_final_relayed(torii, admin, upstream_factory, count,
                                                   piece):
    """Up to the bound the interims are dropped (the client's first status line is the final
    200) and the upstream connection stays in the pool."""
    m, path = interim_route(admin, upstream_factory, count, piece=piece)
    r, c = raw_answer(torii.proxy_port, path + "/a")
    try:
        assert r.status == 200 and r.body == b"final", r
        assert r.header("Link") is None
        assert b"HTTP/1.1 1" not in r.raw_head
        # the same upstream connection serves the next request
        r = c.request("GET", path + "/b")
        assert r.status == 200 and r.body == b"final", r
    finally:
        c.close()
    assert m.accepts == 1
    assert len(m.requests) == 2


@pytest.mark.parametrize("count,piece", [(33, 0), (33, 7), (33, 1), (100, 0), (100, 7)],
                         ids=["33", "33-in-7-byte-writes", "33-in-1-byte-writes", "100",
                              "100-in-7-byte-writes"])
def test_interim_flood_is_502_and_closed(torii, admin, upstream_factory, count, piece):
    m, path = interim_route(admin, upstream_factory, count, piece=piece)
    r = one_request(torii.proxy_port, "GET", path + "/a")
    assert r.status == 502, r
    quiet_error_body(r)
    assert wait_for(lambda: m.peer_closed, 3), "the upstream connection stayed open"
    # not pooled: the next request needs a new upstream connection
    r = one_request(torii.proxy_port, "GET", path + "/b")
    assert r.status == 502
    assert m.accepts == 2


def test_interim_flood_slow_drip(torii, admin, upstream_factory):
    """Interims dripped one every few milliseconds still hit the bound."""
    m, path = interim_route(admin, upstream_factory, 40, piece=64, gap=0.005)
    r = one_request(torii.proxy_port, "GET", path + "/a")
    assert r.status == 502, r

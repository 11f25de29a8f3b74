# SPDX-License-Identifier: MIT
"""Bodies stream both ways with bounded memory (1 GiB up and down, Content-Length and chunked,
RSS sampled from /proc), bytes flow before a body is complete, HEAD, and WebSocket tunnelling
after 101."""

import functools
import hashlib
import os
import threading
import time

import pytest

from harness import ASAN, SLOW
from rawhttp import RawConn
from upstreams import (_pattern_block, big_body_behaviour, pattern_sha256, respond_behaviour,
                       websocket_echo_behaviour, ws_accept, ws_frame, ws_parse)

BIG = (256 if ASAN else 1024) << 20
RSS_LIMIT_KB = (250 if ASAN else 100) * 1024
BLOCK = 1 << 20


@functools.lru_cache(maxsize=4)
def expected_sha(size):
    return pattern_sha256(size, BLOCK)


class RssWatch:
    """Samples the node's RSS every 50 ms in a thread; .max in kB."""

    def __init__(self, torii):
        self.t = torii
        self.max = 0
        self.samples = 0
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                v = self.t.rss_kb()
            except Exception:  # noqa: BLE001 - the process may be gone
                v = 0
            self.max = max(self.max, v)
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self):
        self._th.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._th.join(2)


def send_body(c, size, chunked=False):
    blk = _pattern_block(BLOCK)
    left = size
    while left > 0:
        n = min(left, BLOCK)
        piece = blk if n == BLOCK else blk[:n]
        if chunked:
            c.send(b"%x\r\n" % n)
            c.send(piece)
            c.send(b"\r\n")
        else:
            c.send(piece)
        left -= n
    if chunked:
        c.send(b"0\r\n\r\n")


def upload(t, echo, chunked):
    t.admin.add_api(name="up", upstream_url=echo.url, request_path="/up")
    c = RawConn(t.proxy_port, timeout=120 * SLOW)
    try:
        with RssWatch(t) as w:
            if chunked:
                c.send(b"POST /up/x HTTP/1.1\r\nHost: svc.test\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n")
            else:
                c.send(b"POST /up/x HTTP/1.1\r\nHost: svc.test\r\nContent-Length: %d\r\n\r\n"
                       % BIG)
            err = None
            try:
                send_body(c, BIG, chunked)
            except OSError as e:
                err = e
            r = c.read_response(timeout=120 * SLOW)
        assert err is None, "send failed (%s); response %r" % (err, r)
        assert r.status == 200, r
        d = r.json()
        assert d["body_length"] == BIG
        assert d["body_sha256"] == expected_sha(BIG)
        assert w.samples > 3 and w.max > 0
        assert w.max < RSS_LIMIT_KB, "RSS reached %d kB" % w.max
    finally:
        c.close()


def download(t, m, chunked):
    t.admin.add_api(name="down", upstream_url=m.url, request_path="/down")
    c = RawConn(t.proxy_port, timeout=120 * SLOW)
    h = hashlib.sha256()
    try:
        with RssWatch(t) as w:
            c.send(b"GET /down/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
            r = c.read_response(timeout=120 * SLOW, sink=h.update)
        assert r.status == 200, r
        assert r.complete
        assert r.body_length == BIG
        if chunked:
            assert r.header("Content-Length") is None
        else:
            assert r.header("Content-Length") == str(BIG)
        assert h.hexdigest() == expected_sha(BIG)
        assert w.max > 0
        assert w.max < RSS_LIMIT_KB, "RSS reached %d kB" % w.max
        # the connection is still usable
        c.send(b"HEAD /down/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        assert c.read_response(method="HEAD").status == 200
    finally:
        c.close()


@pytest.mark.big
def test_upload_content_length_bounded_memory(torii, echo):
    upload(torii, echo, chunked=False)


@pytest.mark.big
def test_upload_chunked_bounded_memory(torii, echo):
    upload(torii, echo, chunked=True)


@pytest.mark.big
def test_download_content_length_bounded_memory(torii, upstream_factory):
    download(torii, upstream_factory(big_body_behaviour(BIG, block=BLOCK), "M"), False)


@pytest.mark.big
def test_download_chunked_bounded_memory(torii, upstream_factory):
    download(torii, upstream_factory(big_body_behaviour(BIG, chunked=True, block=BLOCK), "M"),
             True)


def test_response_streams_before_complete(torii, upstream_factory):
    def slow_chunks(conn):
        if conn.read_request() is None:
            return
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n")
        conn.sleep(1.5)
        conn.send(b"4\r\nlast\r\n0\r\n\r\n")
        conn.wait_peer_close(2)

    m = upstream_factory(slow_chunks, "M")
    torii.admin.add_api(name="s", upstream_url=m.url, request_path="/s")
    c = RawConn(torii.proxy_port)
    try:
        t0 = time.monotonic()
        c.send(b"GET /s/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        got = b""
        while b"first" not in got and time.monotonic() - t0 < 5 * SLOW:
            got += c.read_some(0.1)
        assert b"first" in got
        assert time.monotonic() - t0 < 1.2 * SLOW, "the first chunk waited for the whole body"
    finally:
        c.close()


def test_request_streams_before_complete(torii, echo):
    torii.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = RawConn(torii.proxy_port)
    try:
        c.send(b"POST /e/x HTTP/1.1\r\nHost: svc.test\r\nContent-Length: %d\r\n\r\n" % BLOCK)
        c.send(b"a" * 65536)
        deadline = time.monotonic() + 2 * SLOW
        while echo.raw_total < 65536 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert echo.raw_total >= 65536, "the upstream got nothing before the body completed"
        c.send(b"a" * (BLOCK - 65536))
        r = c.read_response()
        assert r.status == 200 and r.json()["body_length"] == BLOCK
    finally:
        c.close()


def test_head(torii, echo):
    torii.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = RawConn(torii.proxy_port)
    try:
        c.send(b"HEAD /e/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        r = c.read_response(method="HEAD")
        assert r.status == 200
        assert int(r.header("Content-Length")) > 0
        r = c.request("GET", "/e/y")
        assert r.status == 200 and r.json()["target"] == "/e/y"
    finally:
        c.close()
    assert [x.method for x in echo.requests] == ["HEAD", "GET"]


def test_head_with_upstream_body_not_forwarded(torii, upstream_factory):
    m = upstream_factory(respond_behaviour(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
                                           keepalive=True), "M")
    torii.admin.add_api(name="m", upstream_url=m.url, request_path="/m")
    c = RawConn(torii.proxy_port)
    try:
        c.send(b"HEAD /m/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        r = c.read_response(method="HEAD")
        assert r.status == 200
        r = c.request("GET", "/m/y")
        assert r.status == 200 and r.body == b"hello", r
    finally:
        c.close()
    assert m.accepts == 2, "the connection that carried a body after HEAD was reused"


def test_many_chunks_in_one_read_complete(torii, upstream_factory):
    """An upstream that sends a response of many small chunks (and its last chunk) in one
    write, then keeps the connection open: every chunk is relayed at once, not when the next
    read (which never comes) would have woken the relay."""
    chunks = b"".join(b"3\r\nabc\r\n" for _ in range(40)) + b"0\r\n\r\n"
    m = upstream_factory(respond_behaviour(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                                           b"\r\n" + chunks, keepalive=True), "K")
    torii.admin.add_api(name="k", upstream_url=m.url, request_path="/k")
    c = RawConn(torii.proxy_port, timeout=5.0)
    try:
        r = c.request("GET", "/k/x")
        assert r.status == 200 and r.body == b"abc" * 40, r
    finally:
        c.close()


def test_websocket_echo(torii, upstream_factory):
    ws = upstream_factory(websocket_echo_behaviour(), "WS")
    torii.admin.add_api(name="ws", upstream_url=ws.url, request_path="/ws")
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    c = RawConn(torii.proxy_port)
    try:
        c.send(b"GET /ws/chat HTTP/1.1\r\nHost: svc.test\r\nUpgrade: websocket\r\n"
               b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key.encode() + b"\r\n"
               b"Sec-WebSocket-Version: 13\r\n\r\n")
        r = c.read_response()
        assert r.status == 101, r
        assert r.header("Sec-WebSocket-Accept") == ws_accept(key)
        assert (r.header("Upgrade") or "").lower() == "websocket"
        msgs = [(1, b"hello"), (1, "h\xe9llo w\xf6rld".encode()), (2, os.urandom(70000)),
                (1, b"x" * 200)]
        for opcode, payload in msgs:
            c.send(ws_frame(opcode, payload, os.urandom(4)))
            deadline = time.monotonic() + 5 * SLOW
            while ws_parse(c.buf) is None and time.monotonic() < deadline:
                if not c._fill(deadline):
                    break
            fr = ws_parse(c.buf)
            assert fr is not None, "no echo frame"
            assert fr[:3] == (opcode, payload, False)
            del c.buf[:fr[3]]
        c.send(ws_frame(8, b"\x03\xe8", os.urandom(4)))
        deadline = time.monotonic() + 5 * SLOW
        while ws_parse(c.buf) is None and time.monotonic() < deadline:
            if not c._fill(deadline):
                break
        fr = ws_parse(c.buf)
        assert fr is not None and fr[0] == 8
        assert c.wait_closed(3 * SLOW)
    finally:
        c.close()
    assert ws.errors == []

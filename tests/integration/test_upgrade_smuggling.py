# SPDX-License-Identifier: MIT
"""h2c and upgrade smuggling (security issue, rule 2; security profile P7 and P9).

Only `Upgrade: websocket` with a valid Sec-WebSocket-Key and version 13 (RFC 6455 §4.1) is
forwarded as an upgrade; every other Upgrade (h2c above all, which would hand the client an
HTTP/2 connection to the upstream that bypasses every route and plugin) and HTTP2-Settings are
removed and the request goes on as an ordinary one. A 101 is accepted only in answer to a
forwarded WebSocket handshake and only with the right Sec-WebSocket-Accept; anything else is
502, the upstream connection is closed, and none of the bytes the upstream sent after its 101
reach the client."""

import base64
import os

import pytest

from harness import hvals, wait_for
from rawhttp import RawConn
from upstreams import respond_behaviour, websocket_echo_behaviour, ws_accept, ws_frame, ws_parse

KEY = "dGhlIHNhbXBsZSBub25jZQ=="

# Requests that carry an Upgrade but are not a WebSocket handshake: (label, extra header lines,
# method). Each goes upstream as an ordinary request without Upgrade or HTTP2-Settings.
NOT_WEBSOCKET = [
    ("h2c", "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n", "GET"),
    ("h2c-no-connection", "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n", "GET"),
    ("h2c-with-ws-headers", "Connection: Upgrade\r\nUpgrade: h2c\r\n"
                            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % KEY, "GET"),
    ("websocket-and-h2c", "Connection: Upgrade\r\nUpgrade: websocket, h2c\r\n"
                          "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % KEY, "GET"),
    ("two-upgrades", "Connection: Upgrade\r\nUpgrade: websocket\r\nUpgrade: h2c\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % KEY, "GET"),
    ("no-key", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
     "GET"),
    ("bad-key", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: abc\r\n"
                "Sec-WebSocket-Version: 13\r\n", "GET"),
    ("two-keys", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n" % (KEY, KEY), "GET"),
    ("version-8", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
                  "Sec-WebSocket-Version: 8\r\n" % KEY, "GET"),
    ("no-version", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
                   % KEY, "GET"),
    ("post", "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n" % KEY, "POST"),
    ("no-connection-upgrade", "Upgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
                              "Sec-WebSocket-Version: 13\r\n" % KEY, "GET"),
    ("tls", "Connection: Upgrade\r\nUpgrade: TLS/1.2\r\n", "GET"),
    ("made-up", "Connection: Upgrade, X-Up\r\nUpgrade: foo/2\r\nX-Up: 1\r\n", "GET"),
]


def request_bytes(method, path, extra):
    return ("%s %s HTTP/1.1\r\nHost: svc.test\r\n%s\r\n" % (method, path, extra)).encode()


@pytest.mark.parametrize("label,extra,method", NOT_WEBSOCKET, ids=[n for n, _, _ in NOT_WEBSOCKET])
def test_other_upgrades_go_as_ordinary_requests(torii, admin, echo, label, extra, method):
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = RawConn(torii.proxy_port)
    try:
        c.send(request_bytes(method, "/e/x", extra))
        r = c.read_response(method=method)
        assert r.status == 200, r
        d = r.json()
        for name in ("Upgrade", "HTTP2-Settings", "Connection", "X-Up"):
            assert hvals(d, name) == [], (name, d["headers"])
        # The connection stays an HTTP/1.1 connection: a second request is an ordinary one.
        c.send(b"GET /e/again HTTP/1.1\r\nHost: svc.test\r\n\r\n")
        r = c.read_response()
        assert r.status == 200 and r.json()["target"] == "/e/again", r
    finally:
        c.close()
    raw = echo.all_raw().lower()
    assert b"upgrade:" not in raw and b"http2-settings" not in raw, raw


SMUGGLED = (b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nX-Smuggled: 1\r\n\r\nsmuggled")


def unasked_101(upgrade="h2c", accept=None, extra=b""):
    head = b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + \
        upgrade.encode() + b"\r\n"
    if accept is not None:
        head += b"Sec-WebSocket-Accept: " + accept.encode() + b"\r\n"
    return head + extra + b"\r\n" + SMUGGLED


def expect_502_and_close(torii, up, request):
    c = RawConn(torii.proxy_port)
    try:
        c.send(request)
        r = c.read_response()
        assert r.status == 502, r
        assert "json" in (r.header("Content-Type") or ""), r
        rest = c.read_some(0.3)
        assert b"smuggled" not in rest and not r.has("X-Smuggled"), rest
    finally:
        c.close()
    assert wait_for(lambda: up.peer_closed, 3), "torii kept the upstream connection"


@pytest.mark.parametrize("label,extra,method", NOT_WEBSOCKET[:4] + NOT_WEBSOCKET[9:10],
                         ids=[n for n, _, _ in NOT_WEBSOCKET[:4] + NOT_WEBSOCKET[9:10]])
def test_unasked_101_is_502(torii, admin, upstream_factory, label, extra, method):
    """The upstream switches protocols although torii forwarded no upgrade: 502, closed."""
    up = upstream_factory(respond_behaviour(unasked_101()), "M")
    admin.add_api(name="m", upstream_url=up.url, request_path="/m")
    expect_502_and_close(torii, up, request_bytes(method, "/m", extra))


def test_101_to_a_plain_request_is_502(torii, admin, upstream_factory):
    up = upstream_factory(respond_behaviour(unasked_101("websocket", ws_accept(KEY))), "M")
    admin.add_api(name="m", upstream_url=up.url, request_path="/m")
    expect_502_and_close(torii, up, b"GET /m HTTP/1.1\r\nHost: svc.test\r\n\r\n")


WS_REQUEST = ("GET /m/chat HTTP/1.1\r\nHost: svc.test\r\nConnection: Upgrade\r\n"
              "Upgrade: websocket\r\nSec-WebSocket-Key: %s\r\n"
              "Sec-WebSocket-Version: 13\r\n\r\n" % KEY).encode()

BAD_101 = [
    ("wrong-accept", unasked_101("websocket", ws_accept("AAAAAAAAAAAAAAAAAAAAAA=="))),
    ("no-accept", unasked_101("websocket")),
    ("empty-accept", unasked_101("websocket", "")),
    ("accept-of-another-guid", unasked_101(
        "websocket", base64.b64encode(os.urandom(20)).decode())),
    ("two-accepts", unasked_101("websocket", ws_accept(KEY),
                                b"Sec-WebSocket-Accept: " + ws_accept(KEY).encode() + b"\r\n")),
    ("upgrade-h2c", unasked_101("h2c", ws_accept(KEY))),
    ("no-upgrade", b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                   b"Sec-WebSocket-Accept: " + ws_accept(KEY).encode() + b"\r\n\r\n" + SMUGGLED),
]


@pytest.mark.parametrize("label,raw", BAD_101, ids=[n for n, _ in BAD_101])
def test_websocket_101_must_carry_the_right_accept(torii, admin, upstream_factory, label, raw):
    up = upstream_factory(respond_behaviour(raw), "M")
    admin.add_api(name="m", upstream_url=up.url, request_path="/m")
    expect_502_and_close(torii, up, WS_REQUEST)
    # The handshake itself went upstream whole.
    reqs = up.wait_requests(1)
    assert reqs and reqs[0].header("Upgrade") == "websocket", reqs
    assert reqs[0].header("Sec-WebSocket-Key") == KEY


def test_valid_websocket_is_tunnelled(torii, admin, upstream_factory):
    """The one upgrade that is forwarded: Upgrade and the key reach the upstream, the 101 with
    the right accept comes back, frames flow both ways."""
    ws = upstream_factory(websocket_echo_behaviour(), "WS")
    admin.add_api(name="ws", upstream_url=ws.url, request_path="/ws")
    for key in (KEY, base64.b64encode(os.urandom(16)).decode()):
        c = RawConn(torii.proxy_port)
        try:
            c.send(("GET /ws/chat HTTP/1.1\r\nHost: svc.test\r\nConnection: keep-alive, Upgrade"
                    "\r\nUpgrade: WebSocket\r\nSec-WebSocket-Key: %s\r\n"
                    "Sec-WebSocket-Version: 13\r\nHTTP2-Settings: AAMA\r\n\r\n" % key).encode())
            r = c.read_response()
            assert r.status == 101, r
            assert r.header("Sec-WebSocket-Accept") == ws_accept(key)
            c.send(ws_frame(1, b"hello", b"\x01\x02\x03\x04"))
            buf = bytearray()
            while ws_parse(buf) is None:
                buf += c.read_some(1.0)
            assert ws_parse(buf)[:2] == (1, b"hello")
        finally:
            c.close()
    for req in ws.wait_requests(2):
        assert req.header("HTTP2-Settings") is None, req.headers
        assert (req.header("Upgrade") or "").lower() == "websocket"

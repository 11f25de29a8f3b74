# SPDX-License-Identifier: MIT
"""Headers the gateway adds, replaces and removes: X-Real-IP / X-Forwarded-* (P8, D-03,
D-05), Via and latency headers, Server on own answers, hop-by-hop removal both ways (P7,
D-01), and gateway-owned identity headers dropped from requests (P6)."""

import pytest

from harness import hvals
from rawhttp import build, one_request, send_and_read
from upstreams import UpstreamServer, respond_behaviour


def echoed(cat, target="/public/a", headers=(), host="svc.test"):
    r = one_request(cat.port, "GET", target, host=host, headers=headers)
    assert r.status == 200, r
    return r, r.json()


def test_forwarded_headers_added(cat):
    _, d = echoed(cat)
    assert hvals(d, "x-real-ip") == ["127.0.0.1"]
    assert hvals(d, "x-forwarded-for") == ["127.0.0.1"]
    assert hvals(d, "x-forwarded-proto") == ["http"]
    assert hvals(d, "x-forwarded-host") == ["svc.test"]
    assert hvals(d, "x-forwarded-port") == [str(cat.port)]
    assert hvals(d, "x-forwarded-prefix") == []


def test_forwarded_prefix_when_stripped(cat):
    _, d = echoed(cat, "/api/thing")
    assert d["target"] == "/v1/thing"
    assert hvals(d, "x-forwarded-prefix") == ["/api"]


def test_d03_untrusted_forwarding_headers_not_believed(cat):
    _, d = echoed(cat, headers=[("X-Forwarded-For", "203.0.113.9"),
                                ("X-Real-IP", "203.0.113.9"),
                                ("Forwarded", "for=203.0.113.9;proto=https")])
    assert hvals(d, "x-real-ip") == ["127.0.0.1"]
    assert hvals(d, "x-forwarded-for") == ["127.0.0.1"]
    assert hvals(d, "forwarded") == []
    assert "203.0.113.9" not in str(d["headers"])


def test_d05_other_forwarded_fields_replaced(cat):
    _, d = echoed(cat, headers=[("X-Forwarded-Proto", "https"),
                                ("X-Forwarded-Host", "evil.test"),
                                ("X-Forwarded-Port", "443"),
                                ("X-Forwarded-Prefix", "/evil"),
                                ("X-Forwarded-Path", "/evil")])
    assert hvals(d, "x-forwarded-proto") == ["http"]
    assert hvals(d, "x-forwarded-host") == ["svc.test"]
    assert hvals(d, "x-forwarded-port") == [str(cat.port)]
    assert hvals(d, "x-forwarded-prefix") == []
    assert hvals(d, "x-forwarded-path") == ["/public/a"]  # Kong 3: the path the client asked
    assert "evil" not in str(d["headers"])


def test_p6_identity_headers_dropped(cat):
    spoofed = [("X-Consumer-ID", "7c0a2b1e-0000-0000-0000-000000000000"),
               ("X-Consumer-Username", "alice"),
               ("X-Consumer-Custom-ID", "c1"),
               ("X-Consumer-Groups", "gold"),
               ("X-Credential-Identifier", "x"),
               ("X-Credential-Username", "alice"),
               ("X-Anonymous-Consumer", "false"),
               ("X-Authenticated-Userid", "admin"),
               ("X-Authenticated-Scope", "all"),
               ("X-Authenticated-Groups", "gold"),
               ("X_Consumer_Username", "alice2"),
               ("x-consumer_groups", "gold2"),
               ("X_Forwarded_For", "198.51.100.1"),
               ("X_Real_IP", "198.51.100.1"),
               # Every X-Consumer-* and X-Authenticated-* (docs/plugins.md), not a fixed list.
               ("X-Consumer-Foo", "alice"),
               ("X-Authenticated-Anything", "admin"),
               ("X_Custom_Thing", "kept")]
    _, d = echoed(cat, headers=spoofed)
    names = [k.lower().replace("_", "-") for k, _ in d["headers"]]
    for k, _ in spoofed[:-1]:
        n = k.lower().replace("_", "-")
        if n in ("x-forwarded-for", "x-real-ip"):
            continue
        assert n not in names, (k, d["headers"])
    for bad in ("alice", "gold", "admin", "198.51.100.1"):
        assert bad not in str(d["headers"]), d["headers"]
    assert hvals(d, "x_custom_thing") == ["kept"]
    assert hvals(d, "x-forwarded-for") == ["127.0.0.1"]
    assert hvals(d, "x-real-ip") == ["127.0.0.1"]


def test_via_and_latency_headers(cat):
    r, _ = echoed(cat)
    assert r.header("Via"), r.headers
    for h in ("X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency"):
        v = r.header(h)
        assert v is not None and v.isdigit(), (h, r.headers)
    assert r.header("Server") == "echo-upstream"   # the upstream's Server passes through


def test_own_answers_carry_server(cat):
    r = one_request(cat.port, "GET", "/nowhere")
    assert r.status == 404
    assert (r.header("Server") or "").startswith("torii/"), r.headers
    r, closed, _ = send_and_read(cat.port, b"GET /public/a HTTP/1.1\r\n\r\n")
    assert r.status == 400
    assert (r.header("Server") or "").startswith("torii/"), r.headers


def test_d01_hop_by_hop_request(cat):
    req = (b"GET /public/a HTTP/1.1\r\nHost: svc.test\r\n"
           b"Connection: keep-alive, X-Foo, X-Bar\r\nKeep-Alive: timeout=5\r\n"
           b"Proxy-Connection: close\r\nProxy: http://evil.test\r\n"
           b"TE: trailers, deflate;q=0.5\r\nUpgrade: example/1\r\nX-Foo: 1\r\nX-Bar: 2\r\n"
           b"X-Foo-Bar: keep\r\nClose: keep\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\n"
           b"HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
    r, _, _ = send_and_read(cat.port, req)
    assert r.status == 200, r
    d = r.json()
    for h in ("connection", "keep-alive", "proxy-connection", "proxy", "upgrade", "x-foo",
              "x-bar", "http2-settings"):
        assert hvals(d, h) == [], (h, d["headers"])
    # Proxy-Authorization goes upstream as Kong forwards it (no plugin used it here)
    assert hvals(d, "proxy-authorization") == ["Basic Zm9vOmJhcg=="]
    assert hvals(d, "te") == []  # hop-by-hop (RFC 9110 §10.1.4): never forwarded
    assert hvals(d, "x-foo-bar") == ["keep"]
    assert hvals(d, "close") == ["keep"]


def test_connection_naming_gateway_header_has_no_effect(cat):
    _, d = echoed(cat, headers=[("Connection", "X-Forwarded-For, X-Real-IP")])
    assert hvals(d, "x-forwarded-for") == ["127.0.0.1"]
    assert hvals(d, "x-real-ip") == ["127.0.0.1"]


@pytest.mark.parametrize("named", ["Content-Length", "Transfer-Encoding", "Host"])
def test_connection_naming_framing_header_is_400(cat, named):
    req = build("POST", "/public/a", headers=[("Connection", named)], body=b"abc")
    r, closed, _ = send_and_read(cat.port, req)
    assert r is not None and r.status == 400, r
    assert closed


def test_d01_hop_by_hop_response(cat):
    m = UpstreamServer(respond_behaviour(
        b"HTTP/1.1 200 OK\r\nConnection: X-Up, keep-alive\r\nX-Up: 1\r\nKeep-Alive: timeout=5\r\n"
        b"Upgrade: foo\r\nTrailer: X\r\nProxy-Connection: close\r\nProxy-Authenticate: Basic\r\n"
        b"X-Kept: yes\r\nContent-Length: 2\r\n\r\nok", keepalive=True), "M")
    try:
        cat.admin.add_api(name="hop", upstream_url=m.url, request_path="/hop")
        r = one_request(cat.port, "GET", "/hop/x")
        assert r.status == 200 and r.body == b"ok", r
        for h in ("X-Up", "Keep-Alive", "Upgrade", "Trailer", "Proxy-Connection",
                  "Proxy-Authenticate"):
            assert r.header(h) is None, (h, r.headers)
        assert r.header("X-Kept") == "yes"
        conn = [v.lower() for v in r.header_all("Connection")]
        assert all("x-up" not in v for v in conn), conn
    finally:
        cat.admin.delete("/apis/hop")
        m.stop()

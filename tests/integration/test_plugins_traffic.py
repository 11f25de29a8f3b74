# SPDX-License-Identifier: MIT
"""The request-size-limiting, ip-restriction, cors and request-termination plugins end to end:
success and failure paths checked at the client and at the echo upstream (catalogue E-03, E-04,
D-04 and the ip rules of P8), IPv6 clients on a [::1] listener, trusted_ips with the
right-to-left X-Forwarded-For walk, CORS preflights and actual requests with exact, wildcard
and regex origins and credentials, and request-termination with a message and with a body."""

import itertools
import socket
import time
import types

import pytest

from harness import SLOW, Torii, assert_silent, finish_torii, free_port, hvals
from rawhttp import RawConn, one_request
from upstreams import UpstreamServer, echo_behaviour

MIB = 1 << 20
TOO_LARGE = {"message": "Request size limit exceeded"}
NEED_LENGTH = {"message": "A valid Content-Length header is required"}
IP_DENIED = {"message": "Your IP address is not allowed"}

_seq = itertools.count()


def ok(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def new_api(node, *plugins):
    """A fresh api /tN on E with the given (name, config) plugins; returns its path."""
    name = "t%d" % next(_seq)
    node.admin.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
    for pname, conf in plugins:
        ok(node.admin.post("/apis/%s/plugins" % name, json={"name": pname, "config": conf}),
           "add plugin " + pname)
    return "/" + name


def get(port, target, headers=(), method="GET", body=None, host="svc.test", **kw):
    return one_request(port, method, target, host=host, headers=headers, body=body, **kw)


def start_node(tmp_path_factory, name, settings=None, v6_port=None):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp(name), settings)
    if v6_port:
        t.settings["proxy_listen"] = "127.0.0.1:%d, [::1]:%d" % (t.proxy_port, v6_port)
    try:
        t.start()
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    return types.SimpleNamespace(torii=t, admin=t.admin, echo=echo, port=t.proxy_port,
                                 v6_port=v6_port)


def stop_node(ns):
    problems = finish_torii(ns.torii)
    ns.echo.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    ns = start_node(tmp_path_factory, "traffic")
    yield ns
    stop_node(ns)


@pytest.fixture
def n(node):
    node.echo.reset()
    return node


def chunked(parts):
    out = b""
    for p in parts:
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    return out + b"0\r\n\r\n"


# ---- request-size-limiting ------------------------------------------------------------------

def big_api(n, **conf):
    conf.setdefault("allowed_payload_size", 1)
    return new_api(n, ("request-size-limiting", conf))


def test_e03_content_length_at_the_limit_passes(n):
    p = big_api(n)
    r = get(n.port, p + "/x", method="POST", body=b"a" * MIB)
    assert r.status == 200, r
    assert r.json()["body_length"] == MIB


def test_e03_content_length_over_the_limit_413_before_the_body(n):
    p = big_api(n)
    c = RawConn(n.port)
    try:
        c.send(b"POST %s/x HTTP/1.1\r\nHost: svc.test\r\nContent-Length: %d\r\n\r\n"
               % (p.encode(), MIB + 1))
        # The answer comes before any body byte is sent (E-03 waits 500 ms).
        r = c.read_response(timeout=0.5 * SLOW + 1)
        assert r.status == 413, r
        assert r.json() == TOO_LARGE
        assert r.conn_close()
        c.try_send(b"a" * 65536)
        assert c.wait_closed(2 * SLOW)
    finally:
        c.close()
    assert_silent(n.echo)


def test_e03_chunked_body_crossing_the_limit_mid_stream(n):
    p = big_api(n)
    c = RawConn(n.port)
    try:
        c.send(b"POST %s/x HTTP/1.1\r\nHost: svc.test\r\nTransfer-Encoding: chunked\r\n\r\n"
               % p.encode())
        block = b"b" * 65536
        sent = 0
        for _ in range(16):
            if not c.try_send(b"%x\r\n" % len(block) + block + b"\r\n"):
                break
            sent += len(block)
        c.try_send(b"1\r\nb\r\n0\r\n\r\n")  # 1 MiB + 1
        r = c.read_response(timeout=5 * SLOW)
        assert r.status == 413, r
        assert r.json() == TOO_LARGE
        assert r.conn_close()
        assert c.wait_closed(2 * SLOW)
    finally:
        c.close()
    time.sleep(0.3)
    # The upstream may have seen part of the body but never a complete request.
    assert n.echo.requests == []


def test_chunked_body_at_the_limit_passes(n):
    p = big_api(n)
    body = chunked([b"c" * 65536] * 16)
    r = get(n.port, p + "/x", method="POST", body=body,
            headers=[("Transfer-Encoding", "chunked")])
    assert r.status == 200, r
    assert r.json()["body_length"] == MIB


def test_e03_require_content_length_411(n):
    p = big_api(n, require_content_length=True)
    r = get(n.port, p + "/x", method="POST", body=chunked([b"abc"]),
            headers=[("Transfer-Encoding", "chunked")])
    assert r.status == 411, r
    assert r.json() == NEED_LENGTH
    assert r.conn_close()  # the unread body is never parsed as a request (P2)
    # As in Kong, a request without Content-Length is refused even without a body.
    r = get(n.port, p + "/x")
    assert r.status == 411
    r = get(n.port, p + "/x", method="POST", body=b"abc")
    assert r.status == 200
    assert_silent_requests(n, 1)


def assert_silent_requests(n, count):
    time.sleep(0.1)
    assert len(n.echo.requests) == count


def test_size_units(n):
    p = big_api(n, allowed_payload_size=10, size_unit="bytes")
    assert get(n.port, p, method="POST", body=b"x" * 10).status == 200
    r = get(n.port, p, method="POST", body=b"x" * 11)
    assert r.status == 413 and r.json() == TOO_LARGE
    p = big_api(n, allowed_payload_size=2, size_unit="kilobytes")
    assert get(n.port, p, method="POST", body=b"x" * 2048).status == 200
    assert get(n.port, p, method="POST", body=b"x" * 2049).status == 413
    r = get(n.port, p, method="POST", body=chunked([b"y" * 1024, b"y" * 1025]),
            headers=[("Transfer-Encoding", "chunked")])
    assert r.status == 413
    # GET without a body is not limited
    assert get(n.port, p).status == 200


def test_e04_expect_100_continue_small_body(n):
    p = big_api(n)
    c = RawConn(n.port)
    try:
        c.send(b"POST %s/x HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 5\r\n"
               b"Expect: 100-continue\r\n\r\n" % p.encode())
        r = c.read_response(timeout=3 * SLOW)
        assert r.status == 100, r
        c.send(b"hello")
        r = c.read_response()
        assert r.status == 200 and r.json()["body_length"] == 5
    finally:
        c.close()


def test_e04_expect_100_continue_too_large_is_413_without_100(n):
    p = big_api(n)
    c = RawConn(n.port)
    try:
        c.send(b"POST %s/x HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 2000000\r\n"
               b"Expect: 100-continue\r\n\r\n" % p.encode())
        r = c.read_response(timeout=3 * SLOW)
        assert r.status == 413, r
        assert r.json() == TOO_LARGE
        assert r.conn_close()
        assert c.wait_closed(2 * SLOW)
    finally:
        c.close()
    assert_silent(n.echo)


def test_size_limit_admin_validation(n):
    n.admin.add_api(name="szbad", upstream_url=n.echo.url, request_path="/szbad")
    r = n.admin.post("/apis/szbad/plugins", json={"name": "request-size-limiting",
                                                  "config": {"size_unit": "gigabytes"}})
    assert r.status_code == 400 and "config.size_unit" in r.json(), r.text
    r = n.admin.post("/apis/szbad/plugins", data={"name": "request-size-limiting",
                                                  "config.allowed_payload_size": "20",
                                                  "config.size_unit": "kilobytes"})
    got = ok(r)
    assert got["config"] == {"allowed_payload_size": 20, "size_unit": "kilobytes",
                             "require_content_length": False}


# ---- ip-restriction -------------------------------------------------------------------------

def test_ip_deny_and_allow(n):
    p = new_api(n, ("ip-restriction", {"blacklist": ["127.0.0.1"]}))
    r = get(n.port, p)
    assert r.status == 403 and r.json() == IP_DENIED
    p2 = new_api(n, ("ip-restriction", {"whitelist": ["10.0.0.0/8", "192.168.0.0/16"]}))
    r = get(n.port, p2)
    assert r.status == 403 and r.json() == IP_DENIED
    assert_silent(n.echo)
    p3 = new_api(n, ("ip-restriction", {"whitelist": ["127.0.0.0/8"]}))
    assert get(n.port, p3).status == 200
    p4 = new_api(n, ("ip-restriction", {"deny": ["10.0.0.1", "2001:db8::/32"]}))
    assert get(n.port, p4).status == 200


def test_ip_allow_and_deny_together_status_and_message(n):
    # Kong 3: deny is checked first, then allow.
    p = new_api(n, ("ip-restriction", {"allow": ["127.0.0.0/8"], "deny": ["127.0.0.1/32"],
                                       "status": 401, "message": "go away"}))
    r = get(n.port, p)
    assert r.status == 401 and r.json() == {"message": "go away"}
    p = new_api(n, ("ip-restriction", {"allow": ["127.0.0.0/8"], "deny": ["127.0.0.2"]}))
    assert get(n.port, p).status == 200


def test_ip_restriction_form_input_and_validation(n):
    n.admin.add_api(name="ipform", upstream_url=n.echo.url, request_path="/ipform")
    got = ok(n.admin.post("/apis/ipform/plugins",
                          data={"name": "ip-restriction",
                                "config.whitelist": "10.0.0.0/8, 127.0.0.1"}))
    assert got["config"]["whitelist"] == ["10.0.0.0/8", "127.0.0.1"]
    assert get(n.port, "/ipform").status == 200
    for conf, field in (({"allow": ["300.1.1.1"]}, "config.allow"),
                        ({"deny": ["::1/129"]}, "config.deny"),
                        ({"whitelist": ["1.2.3.4"], "blacklist": ["5.6.7.8"]}, "config"),
                        ({}, "config")):
        r = n.admin.post("/apis/ipform/plugins", json={"name": "ip-restriction",
                                                       "config": conf})
        # The config is checked before the api's existing instance counts (409): each is 400.
        assert r.status_code == 400, r.text
        assert field in r.json(), (conf, r.text)


@pytest.fixture(scope="module")
def v6node(tmp_path_factory):
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
        s.close()
    except OSError:
        pytest.skip("no IPv6 loopback here")
    ns = start_node(tmp_path_factory, "v6", v6_port=free_port())
    yield ns
    stop_node(ns)


def get6(ns, target):
    c = RawConn(ns.v6_port, host="::1")
    try:
        return c.request("GET", target, host="svc.test")
    finally:
        c.close()


def test_ipv6_clients_and_cidrs(v6node):
    ns = v6node
    p = new_api(ns, ("ip-restriction", {"allow": ["::1/128"]}))
    r = get6(ns, p)
    assert r.status == 200, r
    assert hvals(r.json(), "x-real-ip") == ["::1"]
    r = get(ns.port, p)
    assert r.status == 403 and r.json() == IP_DENIED
    p = new_api(ns, ("ip-restriction", {"deny": ["::/96"]}))  # ::1 is inside, 127.0.0.1 not
    assert get6(ns, p).status == 403
    assert get(ns.port, p).status == 200
    p = new_api(ns, ("ip-restriction", {"allow": ["2001:db8::/32", "127.0.0.1"]}))
    assert get6(ns, p).status == 403
    assert get(ns.port, p).status == 200


@pytest.fixture(scope="module")
def trusted(tmp_path_factory):
    ns = start_node(tmp_path_factory, "trusted", {"trusted_ips": "127.0.0.1/32"})
    yield ns
    stop_node(ns)


def test_d04_trusted_peer_right_to_left_walk(trusted):
    ns = trusted
    p = new_api(ns)
    d = get(ns.port, p, headers=[("X-Forwarded-For", "198.51.100.7, 127.0.0.1")]).json()
    assert hvals(d, "x-real-ip") == ["198.51.100.7"]
    assert hvals(d, "x-forwarded-for") == ["198.51.100.7, 127.0.0.1, 127.0.0.1"]
    d = get(ns.port, p, headers=[("X-Forwarded-For", "198.51.100.7"),
                                 ("X-Forwarded-For", "127.0.0.1")]).json()
    assert hvals(d, "x-real-ip") == ["198.51.100.7"]
    assert hvals(d, "x-forwarded-for") == ["198.51.100.7, 127.0.0.1, 127.0.0.1"]
    d = get(ns.port, p, headers=[("X-Forwarded-For", "198.51.100.7, junk")]).json()
    assert hvals(d, "x-real-ip") == ["127.0.0.1"]
    d = get(ns.port, p).json()
    assert hvals(d, "x-real-ip") == ["127.0.0.1"]
    assert hvals(d, "x-forwarded-for") == ["127.0.0.1"]


def test_ip_restriction_uses_the_computed_client(trusted):
    ns = trusted
    p = new_api(ns, ("ip-restriction", {"deny": ["198.51.100.0/24"]}))
    r = get(ns.port, p, headers=[("X-Forwarded-For", "198.51.100.7")])
    assert r.status == 403 and r.json() == IP_DENIED
    assert get(ns.port, p, headers=[("X-Forwarded-For", "203.0.113.1")]).status == 200
    # A forged address left of an untrusted one is not believed.
    r = get(ns.port, p, headers=[("X-Forwarded-For", "203.0.113.1, 198.51.100.9")])
    assert r.status == 403
    r = get(ns.port, p, headers=[("X-Forwarded-For", "198.51.100.9, 203.0.113.1")])
    assert r.status == 200


def test_untrusted_peer_forwarded_for_ignored_by_ip_rules(n):
    p = new_api(n, ("ip-restriction", {"allow": ["198.51.100.7"]}))
    r = get(n.port, p, headers=[("X-Forwarded-For", "198.51.100.7")])
    assert r.status == 403


# ---- cors -----------------------------------------------------------------------------------

def preflight(port, target, origin, method="POST", headers=()):
    return get(port, target, method="OPTIONS",
               headers=[("Origin", origin), ("Access-Control-Request-Method", method)] +
               list(headers))


def test_cors_preflight_exact_origin(n):
    p = new_api(n, ("cors", {"origins": ["https://a.test", "http://b.test:8080"],
                             "max_age": 3600, "credentials": True}))
    r = preflight(n.port, p, "https://a.test",
                  headers=[("Access-Control-Request-Headers", "X-One, X-Two")])
    assert r.status == 200, r
    assert r.header("access-control-allow-origin") == "https://a.test"
    assert r.header_all("vary") == ["Origin"]
    assert r.header("access-control-allow-methods") == \
        "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
    assert r.header("access-control-allow-headers") == "X-One, X-Two"
    assert r.header("access-control-max-age") == "3600"
    assert r.header("access-control-allow-credentials") == "true"
    # Default port and case do not matter for exact origins.
    r = preflight(n.port, p, "HTTPS://A.test:443")
    assert r.header("access-control-allow-origin") == "HTTPS://A.test:443"
    r = preflight(n.port, p, "http://b.test:8080")
    assert r.header("access-control-allow-origin") == "http://b.test:8080"
    # Refused origins get no Access-Control-Allow-Origin, still Vary.
    for bad in ("https://evil.test", "http://a.test", "http://b.test", "null"):
        r = preflight(n.port, p, bad)
        assert r.status == 200
        assert not r.has("access-control-allow-origin"), (bad, r)
        assert r.header_all("vary") == ["Origin"]
    assert_silent(n.echo)


def test_cors_private_network(n):
    """Kong 3.9 spec/03-plugins/13-cors/01-access_spec.lua "support private-network": with
    private_network, a preflight that asks (the value "true") gets
    Access-Control-Allow-Private-Network: true; without the option, or without the ask, none."""
    ask = [("Access-Control-Request-Private-Network", "true")]
    on = new_api(n, ("cors", {"origins": ["allowed-domain.test"], "private_network": True}))
    r = preflight(n.port, on, "allowed-domain.test", method="PUT", headers=ask)
    assert r.status == 200, r
    assert r.header_all("access-control-allow-private-network") == ["true"]
    for other in ([], [("Access-Control-Request-Private-Network", "false")],
                  [("Access-Control-Request-Private-Network", "yes")]):
        r = preflight(n.port, on, "allowed-domain.test", method="PUT", headers=other)
        assert r.status == 200 and not r.has("access-control-allow-private-network"), (other, r)
    # An actual request is not a preflight: never the header.
    r = get(n.port, on, headers=[("Origin", "allowed-domain.test")] + ask)
    assert r.status == 200 and not r.has("access-control-allow-private-network"), r
    off = new_api(n, ("cors", {"origins": ["allowed-domain.test"]}))
    r = preflight(n.port, off, "allowed-domain.test", method="PUT", headers=ask)
    assert r.status == 200 and not r.has("access-control-allow-private-network"), r


def test_cors_actual_requests(n):
    p = new_api(n, ("cors", {"origins": ["https://a.test"],
                             "exposed_headers": ["X-Total", "X-Page"]}))
    r = get(n.port, p, headers=[("Origin", "https://a.test")])
    assert r.status == 200
    assert r.header("access-control-allow-origin") == "https://a.test"
    assert r.header("access-control-expose-headers") == "X-Total,X-Page"
    assert r.header_all("vary") == ["Origin"]
    assert not r.has("access-control-allow-credentials")
    assert not r.has("access-control-allow-methods")
    r = get(n.port, p, headers=[("Origin", "https://other.test")])
    assert r.status == 200 and not r.has("access-control-allow-origin")
    assert r.header_all("vary") == ["Origin"]
    # OPTIONS without Access-Control-Request-Method is not a preflight: proxied.
    r = get(n.port, p, method="OPTIONS", headers=[("Origin", "https://a.test")])
    assert r.status == 200 and r.json()["method"] == "OPTIONS"
    assert r.header("access-control-allow-origin") == "https://a.test"


def test_cors_wildcard_and_credentials(n):
    p = new_api(n, ("cors", {}))
    r = preflight(n.port, p, "https://any.test", method="PUT")
    assert r.status == 200
    assert r.header("access-control-allow-origin") == "*"
    assert not r.has("vary")
    assert not r.has("access-control-allow-headers")
    r = get(n.port, p, headers=[("Origin", "https://any.test")])
    assert r.header("access-control-allow-origin") == "*" and not r.has("vary")
    r = get(n.port, p)
    assert r.header("access-control-allow-origin") == "*"
    # "*" with credentials: the origin itself, never "*" (browsers refuse that pair).
    p = new_api(n, ("cors", {"origins": ["*"], "credentials": True, "headers": ["X-A", "X-B"],
                             "methods": ["GET", "POST"]}))
    r = preflight(n.port, p, "https://any.test")
    assert r.header("access-control-allow-origin") == "https://any.test"
    assert r.header("access-control-allow-credentials") == "true"
    assert r.header_all("vary") == ["Origin"]
    assert r.header("access-control-allow-headers") == "X-A,X-B"
    assert r.header("access-control-allow-methods") == "GET,POST"
    assert not r.has("access-control-max-age")
    r = get(n.port, p, headers=[("Origin", "https://any.test")])
    assert r.header("access-control-allow-origin") == "https://any.test"
    assert r.header("access-control-allow-credentials") == "true"
    r = get(n.port, p)
    assert r.header("access-control-allow-origin") == "*"
    assert not r.has("access-control-allow-credentials")


def test_cors_regex_origins(n):
    p = new_api(n, ("cors", {"origins": [r"https://[a-z0-9-]+\.b\.test", "https://a.test"]}))
    for origin, allowed in (("https://x.b.test", True), ("https://x-1.b.test", True),
                            ("https://a.test", True), ("https://b.test", False),
                            ("https://x.b.test.evil.test", False),
                            ("http://x.b.test", False), ("https://x.b.testx", False),
                            ("evil https://x.b.test", False)):
        r = preflight(n.port, p, origin)
        assert r.status == 200
        got = r.header("access-control-allow-origin")
        assert got == (origin if allowed else None), (origin, r)
        r = get(n.port, p + "/y", headers=[("Origin", origin)])
        assert r.header("access-control-allow-origin") == (origin if allowed else None)
        assert r.header_all("vary") == ["Origin"]


def test_cors_preflight_continue(n):
    p = new_api(n, ("cors", {"origins": ["https://a.test"], "preflight_continue": True}))
    r = preflight(n.port, p, "https://a.test")
    assert r.status == 200
    assert r.json()["method"] == "OPTIONS"
    assert not r.has("access-control-allow-origin")
    assert not r.has("access-control-allow-methods")


def test_cors_runs_before_auth_and_decorates_its_answers(n):
    p = new_api(n, ("cors", {"origins": ["https://a.test"]}), ("key-auth", {}))
    r = preflight(n.port, p, "https://a.test")
    assert r.status == 200 and r.header("access-control-allow-origin") == "https://a.test"
    r = get(n.port, p, headers=[("Origin", "https://a.test")])
    assert r.status == 401
    assert r.header("access-control-allow-origin") == "https://a.test"


def test_cors_admin_validation(n):
    n.admin.add_api(name="corsbad", upstream_url=n.echo.url, request_path="/corsbad")
    for conf, field in (({"origins": ["https://(x"]}, "config.origins"),
                        ({"methods": ["GET", "FETCH"]}, "config.methods"),
                        ({"headers": ["X A"]}, "config.headers"),
                        ({"max_age": -1}, "config.max_age")):
        r = n.admin.post("/apis/corsbad/plugins", json={"name": "cors", "config": conf})
        assert r.status_code == 400 and field in r.json(), (conf, r.text)


# ---- request-termination --------------------------------------------------------------------

def test_termination_default_and_message(n):
    p = new_api(n, ("request-termination", {}))
    r = get(n.port, p + "/anything")
    assert r.status == 503 and r.json() == {"message": "Service unavailable"}
    assert r.header("content-type").startswith("application/json")
    p = new_api(n, ("request-termination", {"status_code": 418, "message": "I'm a teapot!"}))
    r = get(n.port, p, method="POST", body=b"ignored")
    assert r.status == 418 and r.json() == {"message": "I'm a teapot!"}
    p = new_api(n, ("request-termination", {"status_code": 404}))
    r = get(n.port, p)
    assert r.status == 404 and r.json() == {"message": "Not found"}
    assert_silent(n.echo)


def test_termination_with_body(n):
    p = new_api(n, ("request-termination", {"status_code": 200, "body": "<h1>maintenance</h1>",
                                            "content_type": "text/html; charset=utf-8"}))
    r = get(n.port, p)
    assert r.status == 200
    assert r.body == b"<h1>maintenance</h1>"
    assert r.header("content-type") == "text/html; charset=utf-8"
    # keep-alive survives a body-less request
    c = RawConn(n.port)
    try:
        for _ in range(3):
            r = c.request("GET", p, host="svc.test")
            assert r.status == 200 and r.body == b"<h1>maintenance</h1>"
    finally:
        c.close()
    p = new_api(n, ("request-termination", {"status_code": 410, "body": '{"gone":true}'}))
    r = get(n.port, p)
    assert r.status == 410 and r.json() == {"gone": True}
    assert_silent(n.echo)


def test_termination_trigger(n):
    p = new_api(n, ("request-termination", {"trigger": "X-Stop"}))
    assert get(n.port, p).status == 200
    assert get(n.port, p, headers=[("X-Stop", "1")]).status == 503
    assert get(n.port, p + "?X-Stop").status == 503


def test_termination_admin_validation(n):
    n.admin.add_api(name="termbad", upstream_url=n.echo.url, request_path="/termbad")
    for conf in ({"message": "m", "body": "b"}, {"message": "m", "content_type": "text/plain"},
                 {"content_type": "text/plain"}):
        r = n.admin.post("/apis/termbad/plugins", json={"name": "request-termination",
                                                        "config": conf})
        assert r.status_code == 400 and "config" in r.json(), (conf, r.text)
    r = n.admin.post("/apis/termbad/plugins", json={"name": "request-termination",
                                                    "config": {"status_code": 99}})
    assert r.status_code == 400 and "config.status_code" in r.json(), r.text


def test_termination_after_other_plugins(n):
    # Priority 2: ip-restriction (990) still refuses first.
    p = new_api(n, ("request-termination", {"status_code": 200, "message": "hi"}),
                ("ip-restriction", {"deny": ["127.0.0.1"]}))
    r = get(n.port, p)
    assert r.status == 403 and r.json() == IP_DENIED


def test_termination_204_has_no_length_nor_body(n):
    """RFC 9110 §8.6 and §6.4.1: a 204 carries no Content-Length and no body, and the
    connection stays usable for the next request."""
    p = new_api(n, ("request-termination", {"status_code": 204, "message": "ignored"}))
    c = RawConn(n.port)
    try:
        for _ in range(2):
            r = c.request("GET", p, host="svc.test")
            assert r.status == 204 and r.body == b""
            assert r.header("content-length") is None
    finally:
        c.close()
    assert_silent(n.echo)

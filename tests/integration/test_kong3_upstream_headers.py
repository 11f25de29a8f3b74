# SPDX-License-Identifier: MIT
"""Kong 3.9's spec/02-integration/05-proxy/03-upstream_headers_spec.lua (tag 3.9.1), ported
onto Kong 3 routes and the echo upstream: hop-by-hop headers both ways, Content-Type left alone,
and X-Real-IP / X-Forwarded-* with the default, trusted, non-trusted and recursive trusted_ips
settings. Each test names the spec's describe/it it comes from.

Where torii deliberately differs (docs/behaviour.md P7, P8; docs/test-catalogue.md D-03), the
test asserts torii's answer and says so:
- From a peer not in trusted_ips, X-Forwarded-For is the peer alone: Kong appends the peer to
  the client's list, which the client can fill with anything.
- torii reads the client address from X-Forwarded-For (nginx's real_ip_header X-Forwarded-For,
  real_ip_recursive on); it has no real_ip_header setting, so a trusted peer's X-Real-IP is
  not taken as the client (Kong's default real_ip_header is X-Real-IP).
- An Upgrade other than a complete WebSocket handshake goes upstream without Upgrade and
  Connection.
- X-Forwarded-Proto, -Host, -Port, -Path and -Prefix are torii's own also from a trusted peer
  (P8): Kong 3 forwards a trusted peer's values instead.

Not ported (skipped below):
- "keeps proxy-authorization header when a plugin specifies it" and "... if plugin specifies
  same value as in requests": request-transformer, which torii does not have.
- "(using trusted proxy protocol configuration values)", "(using non-trusted proxy protocol
  configuration values)": torii has no PROXY protocol listener.
- "(using port maps configuration)": torii has no port_maps setting.
- "host_header should be set correctly": Kong's upstreams/targets entities (host_header).
"""

import pytest

from harness import hvals
from rawhttp import one_request
from upstreams import respond_behaviour

SPEC = "spec/02-integration/05-proxy/03-upstream_headers_spec.lua"


def ok(r, status):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


def add_routes(admin, up):
    """The spec's start_kong fixture: five routes, each with its own service."""
    routes = [
        {"protocols": ["http"], "hosts": ["headers-inspect.test"]},
        {"protocols": ["http"], "hosts": ["preserved.test"], "preserve_host": True},
        {"protocols": ["http"], "paths": ["/foo"], "strip_path": True},
        {"protocols": ["http"], "paths": ["/status/200"], "strip_path": False},
        {"protocols": ["http"], "paths": ["/"], "strip_path": True},
    ]
    for i, fields in enumerate(routes):
        s = ok(admin.post("/services", json={"name": "s%d" % i, "url": up.url}), 201)
        fields["service"] = {"id": s["id"]}
        ok(admin.post("/routes", json=fields), 201)


@pytest.fixture
def node(torii_factory, echo, request):
    settings = getattr(request, "param", None)
    t = torii_factory(settings=settings)
    add_routes(t.admin, echo)
    return t


TRUSTED = {"trusted_ips": "127.0.0.1"}
NON_TRUSTED = {"trusted_ips": "10.0.0.1"}
RECURSIVE_TRUSTED = {"trusted_ips": "127.0.0.1,172.16.0.1,192.168.0.1"}
RECURSIVE_NON_TRUSTED = {"trusted_ips": "10.0.0.1,172.16.0.1,192.168.0.1"}


def request_headers(t, headers=(), path="/", host=None):
    """The spec's request_headers: the headers the upstream got, as {lower name: value}
    (each name once: the upstream got one field per name here), and the echo description."""
    hs = list(headers)
    if host is None:
        host = dict((k.lower(), v) for k, v in hs).get("host", "svc.test")
    hs = [(k, v) for k, v in hs if k.lower() != "host"]
    r = one_request(t.proxy_port, "GET", path, host=host, headers=hs)
    assert r.status == 200, (r.status, r.body)
    d = r.json()
    out = {}
    for k, v in d["headers"]:
        assert k.lower() not in out, ("twice", k, d["headers"])
        out[k.lower()] = v
    return out


INSPECT = [("Host", "headers-inspect.test")]


# ---- hop-by-hop headers --------------------------------------------------------------------

def test_hop_by_hop_removed_from_request(node):
    """spec: describe "hop-by-hop headers", it "are removed from request". Kong keeps
    Proxy-Authenticate and `TE: trailers`; torii drops both (docs/behaviour.md P7: RFC 9110's
    hop-by-hop list, and no trailers are relayed either way, so TE: trailers would be a
    promise torii cannot keep)."""
    h = request_headers(node, [
        ("Connection", "X-Foo, X-Bar"),
        ("Host", "headers-inspect.test"),
        ("Keep-Alive", "timeout=5, max=1000"),
        ("Proxy", "Remove-Me"),
        ("Proxy-Connection", "close"),
        ("Proxy-Authenticate", "Basic"),
        ("Proxy-Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"),
        ("TE", "trailers, deflate;q=0.5"),
        ("Upgrade", "example/1, foo/2"),
        ("X-Foo", "Remove-Me"),
        ("X-Bar", "Remove-Me"),
        ("X-Foo-Bar", "Keep-Me"),
        ("Close", "Keep-Me"),
    ])
    for name in ("keep-alive", "proxy", "proxy-connection", "upgrade", "x-foo", "x-bar"):
        assert name not in h, name
    assert "proxy-authenticate" not in h  # Kong: "Basic"
    assert h["proxy-authorization"] == "Basic YWxhZGRpbjpvcGVuc2VzYW1l"
    assert "te" not in h  # Kong: "trailers"
    assert h["x-foo-bar"] == "Keep-Me"
    assert h["close"] == "Keep-Me"


HOP_BY_HOP_RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/plain\r\n"
    b"Connection: keep-alive, X-Hop\r\n"
    b"Keep-Alive: timeout=5, max=1000\r\n"
    b"Proxy-Connection: keep-alive\r\n"
    b"X-Hop: Remove-Me\r\n"
    b"Trailer: Expires\r\n"
    b"Upgrade: example/1\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"\r\n"
    b"5\r\nhello\r\n0\r\nExpires: Thu, 01 Dec 1994 16:00:00 GMT\r\n\r\n")


@pytest.fixture
def hop_node(torii, admin, upstream_factory):
    up = upstream_factory(respond_behaviour(HOP_BY_HOP_RESPONSE, keepalive=True), "hop")
    s = ok(admin.post("/services", json={"url": up.url}), 201)
    ok(admin.post("/routes", json={"hosts": ["headers-inspect.test"],
                                   "service": {"id": s["id"]}}), 201)
    return torii


def test_hop_by_hop_removed_from_response(hop_node):
    """spec: describe "hop-by-hop headers", it "are removed from response"."""
    r = one_request(hop_node.proxy_port, "GET", "/hop-by-hop", host="headers-inspect.test")
    assert r.status == 200
    for name in ("Keep-Alive", "Trailer", "Upgrade", "X-Hop"):
        assert not r.has(name), name
    assert r.header("Transfer-Encoding") == "chunked"
    assert r.body == b"hello"


def test_hop_by_hop_trailer_kept_when_requested(hop_node):
    """spec: describe "hop-by-hop headers", it "keeps trailer when requested". Kong relays the
    upstream's Trailer field to a client that sent `TE: trailers`; torii relays no trailers
    (docs/behaviour.md P1.6 and P7), so it announces none."""
    r = one_request(hop_node.proxy_port, "GET", "/hop-by-hop", host="headers-inspect.test",
                    headers=[("TE", "trailers")])
    assert r.status == 200
    assert not r.has("Trailer")  # Kong: "Expires"
    assert r.body == b"hello"


def test_hop_by_hop_upgrade(node):
    """spec: describe "hop-by-hop headers", it "keeps upgrade when upgrading". Kong passes any
    Upgrade through; torii forwards only a complete WebSocket opening handshake (docs/
    architecture.md "Upgrades", P7/P9), and this request lacks Sec-WebSocket-Key and -Version,
    so it goes upstream as a plain GET."""
    h = request_headers(node, INSPECT + [("Connection", "keep-alive, Upgrade"),
                                         ("Upgrade", "websocket")], path="/get")
    assert "upgrade" not in h
    assert "websocket" not in h.get("connection", "").lower()


@pytest.mark.skip(reason="request-transformer: torii does not have the plugin")
def test_proxy_authorization_from_plugin():
    """spec: describe "hop-by-hop headers", its "keeps proxy-authorization header when a plugin
    specifies it", "keeps proxy-authorization header if plugin specifies same value as in
    requests"."""


# ---- (response from upstream) --------------------------------------------------------------

@pytest.mark.parametrize("ctype", ["text/plain", "text/plain; charset=utf-8"])
def test_content_type_unchanged(torii, admin, upstream_factory, ctype):
    """spec: describe "(response from upstream)", describe "Content-Type", its "does not add
    charset if the response from upstream contains no charset when charset is turned off" and
    "charset remain unchanged if the response from upstream contains charset when charset is
    turned off" (torii never adds a charset)."""
    raw = ("HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: 13\r\n\r\nHello World!\n"
           % ctype).encode()
    up = upstream_factory(respond_behaviour(raw, keepalive=True), "charset")
    s = ok(admin.post("/services", json={"url": up.url}), 201)
    ok(admin.post("/routes", json={"hosts": ["headers-charset.test"],
                                   "service": {"id": s["id"]}}), 201)
    r = one_request(torii.proxy_port, "GET", "/nocharset", host="headers-charset.test")
    assert r.status == 200
    assert r.header("Content-Type") == ctype


# ---- (using the default configuration values) ----------------------------------------------

def test_default_x_real_ip(node):
    """spec: describe "(using the default configuration values)", describe "X-Real-IP", its
    "should be added if not present in request", "should be replaced if present in request"."""
    assert request_headers(node, INSPECT)["x-real-ip"] == "127.0.0.1"
    assert request_headers(node, INSPECT + [("X-Real-IP", "10.0.0.1")])["x-real-ip"] == \
        "127.0.0.1"


def test_default_x_forwarded_for(node):
    """spec: describe "(using the default configuration values)", describe "X-Forwarded-For",
    its "should be added if not present in request", "should be appended if present in
    request". Kong appends the peer to the client's list ("10.0.0.1, 127.0.0.1"); torii sends
    the peer alone unless the peer is trusted (docs/behaviour.md P8, D-03)."""
    assert request_headers(node, INSPECT)["x-forwarded-for"] == "127.0.0.1"
    h = request_headers(node, INSPECT + [("X-Forwarded-For", "10.0.0.1")])
    assert h["x-forwarded-for"] == "127.0.0.1"


def test_default_x_forwarded_proto_host_port_path(node):
    """spec: describe "(using the default configuration values)", describes
    "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Path", each with
    "should be added if not present in request" and "should be replaced if present in
    request"."""
    h = request_headers(node, INSPECT)
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(node.proxy_port)
    assert h["x-forwarded-path"] == "/"
    h = request_headers(node, INSPECT + [("X-Forwarded-Proto", "https"),
                                         ("X-Forwarded-Host", "example.test"),
                                         ("X-Forwarded-Port", "80"),
                                         ("X-Forwarded-Path", "/replaced")])
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(node.proxy_port)
    assert h["x-forwarded-path"] == "/"


def prefix_cases(t):
    assert request_headers(t, path="/foo/status/200")["x-forwarded-prefix"] == "/foo"
    h = request_headers(t, [("X-Forwarded-Prefix", "/replaced")], path="/foo")
    assert h["x-forwarded-prefix"] == "/foo"
    assert "x-forwarded-prefix" not in request_headers(t, path="/status/200")
    assert "x-forwarded-prefix" not in request_headers(t, path="/")


def test_default_x_forwarded_prefix(node):
    """spec: describe "(using the default configuration values)", describe
    "X-Forwarded-Prefix", its "should be added if path was stripped", "should be replaced if
    present in request and path was stripped", "should not be added if path was not stripped",
    "should not be added if / was stripped"."""
    prefix_cases(node)


def test_default_downstream_host_preserved(node):
    """spec: describe "with the downstream host preserved", its "should be added if not present
    in request while preserving the downstream host", "should be added if present in request
    while preserving the downstream host" (X-Forwarded-For: the peer alone, see
    test_default_x_forwarded_for)."""
    for sent in ([], [("X-Real-IP", "10.0.0.1"), ("X-Forwarded-For", "10.0.0.1"),
                      ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "example.test"),
                      ("X-Forwarded-Port", "80")]):
        h = request_headers(node, [("Host", "preserved.test")] + sent)
        assert h["host"] == "preserved.test"
        assert h["x-real-ip"] == "127.0.0.1"
        assert h["x-forwarded-for"] == "127.0.0.1"
        assert h["x-forwarded-proto"] == "http"
        assert h["x-forwarded-host"] == "preserved.test"
        assert h["x-forwarded-path"] == "/"
        assert h["x-forwarded-port"] == str(node.proxy_port)


def test_default_downstream_host_discarded(node, echo):
    """spec: describe "with the downstream host discarded", its "should be added if not present
    in request while discarding the downstream host", "if present in request while discarding
    the downstream host"."""
    for sent in ([], [("X-Real-IP", "10.0.0.1"), ("X-Forwarded-For", "10.0.0.1"),
                      ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "example.test"),
                      ("X-Forwarded-Port", "80")]):
        h = request_headers(node, INSPECT + sent)
        assert h["host"] == "127.0.0.1:%d" % echo.port
        assert h["x-real-ip"] == "127.0.0.1"
        assert h["x-forwarded-for"] == "127.0.0.1"
        assert h["x-forwarded-proto"] == "http"
        assert h["x-forwarded-host"] == "headers-inspect.test"
        assert h["x-forwarded-port"] == str(node.proxy_port)
        assert h["x-forwarded-path"] == "/"


# ---- (using the trusted configuration values) ----------------------------------------------

@pytest.mark.parametrize("node", [TRUSTED], indirect=True)
def test_trusted_x_real_ip(node):
    """spec: describe "(using the trusted configuration values)", describe "X-Real-IP", its
    "should be added if not present in request" and "should be forwarded if present in
    request". Kong (real_ip_header X-Real-IP by default) forwards 10.0.0.1; torii takes the
    client from X-Forwarded-For only, so with none it is the trusted peer."""
    assert request_headers(node, INSPECT)["x-real-ip"] == "127.0.0.1"
    h = request_headers(node, INSPECT + [("X-Real-IP", "10.0.0.1")])
    assert h["x-real-ip"] == "127.0.0.1"
    # torii's way of saying the same: the trusted peer's X-Forwarded-For names the client.
    h = request_headers(node, INSPECT + [("X-Forwarded-For", "10.0.0.1")])
    assert h["x-real-ip"] == "10.0.0.1"


@pytest.mark.parametrize("node", [TRUSTED], indirect=True)
def test_trusted_x_forwarded_for(node):
    """spec: describe "(using the trusted configuration values)", describe "X-Forwarded-For",
    its "should be added if not present in request", "should be appended if present in
    request"."""
    assert request_headers(node, INSPECT)["x-forwarded-for"] == "127.0.0.1"
    h = request_headers(node, INSPECT + [("X-Forwarded-For", "10.0.0.1")])
    assert h["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"


@pytest.mark.parametrize("node", [TRUSTED], indirect=True)
def test_trusted_x_forwarded_proto_host_port_path(node):
    """spec: describe "(using the trusted configuration values)", describes
    "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Path", each with
    "should be added if not present in request" and "should be forwarded if present in
    request"."""
    h = request_headers(node, INSPECT)
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(node.proxy_port)
    assert h["x-forwarded-path"] == "/"
    h = request_headers(node, INSPECT + [("X-Forwarded-Proto", "https"),
                                         ("X-Forwarded-Host", "example.test"),
                                         ("X-Forwarded-Port", "80"),
                                         ("X-Forwarded-Path", "/original-path")])
    # Kong 3 forwards the trusted peer's values; torii sends its own (P8).
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(node.proxy_port)
    assert h["x-forwarded-path"] == "/"


@pytest.mark.parametrize("node", [TRUSTED], indirect=True)
def test_trusted_x_forwarded_prefix(node):
    """spec: describe "(using the trusted configuration values)", describe
    "X-Forwarded-Prefix", both "should be preserved even if path was stripped" (stripped and
    not stripped)."""
    sent = [("X-Forwarded-Prefix", "/preserved")]
    # Kong 3 keeps the trusted peer's prefix; torii sends its own (P8): the stripped prefix,
    # or none when nothing was stripped.
    assert request_headers(node, sent, path="/foo/status/200")["x-forwarded-prefix"] == "/foo"
    assert "x-forwarded-prefix" not in request_headers(node, sent, path="/status/200")


# ---- (using the non-trusted configuration values) ------------------------------------------

@pytest.mark.parametrize("node", [NON_TRUSTED], indirect=True)
def test_non_trusted(node):
    """spec: describe "(using the non-trusted configuration values)": describes "X-Real-IP",
    "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "X-Forwarded-Port",
    "X-Forwarded-Path", each with "should be added if not present in request" and "should be
    replaced (appended) if present in request" (X-Forwarded-For: the peer alone, see
    test_default_x_forwarded_for)."""
    h = request_headers(node, INSPECT)
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(node.proxy_port)
    assert h["x-forwarded-path"] == "/"
    h = request_headers(node, INSPECT + [("X-Real-IP", "10.0.0.1"),
                                         ("X-Forwarded-For", "10.0.0.1"),
                                         ("X-Forwarded-Proto", "https"),
                                         ("X-Forwarded-Host", "example.test"),
                                         ("X-Forwarded-Port", "80"),
                                         ("X-Forwarded-Path", "/replaced")])
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "127.0.0.1"
    assert h["x-forwarded-proto"] == "http"
    assert h["x-forwarded-host"] == "headers-inspect.test"
    assert h["x-forwarded-port"] == str(node.proxy_port)
    assert h["x-forwarded-path"] == "/"


@pytest.mark.parametrize("node", [NON_TRUSTED], indirect=True)
def test_non_trusted_x_forwarded_prefix(node):
    """spec: describe "(using the non-trusted configuration values)", describe
    "X-Forwarded-Prefix", its four cases as in the default configuration."""
    prefix_cases(node)


# ---- recursive --------------------------------------------------------------------------------

CHAIN = "127.0.0.1, 10.0.0.1, 192.168.0.1, 127.0.0.1, 172.16.0.1"
CHAIN_PORTS = "127.0.0.1:14, 10.0.0.1:15, 192.168.0.1:16, 127.0.0.1:17, 172.16.0.1:18"


@pytest.mark.parametrize("node", [RECURSIVE_TRUSTED], indirect=True)
def test_recursive_trusted(node):
    """spec: describe "(using the recursive trusted configuration values)", describe "X-Real-IP
    and X-Forwarded-For", its "should be added if not present in request", "should be changed
    according to rules if present in request"; describe "X-Forwarded-Port", it "should be
    forwarded even if X-Forwarded-For header has a port in it"."""
    h = request_headers(node, INSPECT)
    assert h["x-real-ip"] == "127.0.0.1" and h["x-forwarded-for"] == "127.0.0.1"
    h = request_headers(node, INSPECT + [("X-Forwarded-For", CHAIN), ("X-Real-IP", "10.0.0.2")])
    assert h["x-real-ip"] == "10.0.0.1"
    assert h["x-forwarded-for"] == CHAIN + ", 127.0.0.1"
    h = request_headers(node, INSPECT + [("X-Forwarded-For", CHAIN_PORTS),
                                         ("X-Real-IP", "10.0.0.2"),
                                         ("X-Forwarded-Port", "14")])
    assert h["x-real-ip"] == "10.0.0.1"
    assert h["x-forwarded-for"] == CHAIN_PORTS + ", 127.0.0.1"
    # Kong 3 forwards the trusted peer's X-Forwarded-Port; torii sends the listener's (P8).
    assert h["x-forwarded-port"] == str(node.proxy_port)


@pytest.mark.parametrize("node", [RECURSIVE_NON_TRUSTED], indirect=True)
def test_recursive_non_trusted(node):
    """spec: describe "(using the recursive non-trusted configuration values)", describe
    "X-Real-IP and X-Forwarded-For", its "should be added if not present in request", "should be
    changed according to rules if present in request"; describe "X-Forwarded-Port", its "should
    be replaced even if X-Forwarded-Port and X-Forwarded-For headers have a port in it", "should
    not take a port from X-Forwarded-For header if it has a port in it". X-Forwarded-For: the
    peer alone (Kong appends it to the client's list; see test_default_x_forwarded_for)."""
    h = request_headers(node, INSPECT)
    assert h["x-real-ip"] == "127.0.0.1" and h["x-forwarded-for"] == "127.0.0.1"
    h = request_headers(node, INSPECT + [
        ("X-Forwarded-For", "10.0.0.1, 127.0.0.2, 10.0.0.1, 192.168.0.1, 172.16.0.1"),
        ("X-Real-IP", "10.0.0.2")])
    assert h["x-real-ip"] == "127.0.0.1"
    assert h["x-forwarded-for"] == "127.0.0.1"
    for extra in ([("X-Forwarded-Port", "14")], []):
        h = request_headers(node, INSPECT + [("X-Forwarded-For", CHAIN_PORTS),
                                             ("X-Real-IP", "10.0.0.2")] + extra)
        assert h["x-real-ip"] == "127.0.0.1"
        assert h["x-forwarded-for"] == "127.0.0.1"
        assert h["x-forwarded-port"] == str(node.proxy_port)


@pytest.mark.skip(reason="PROXY protocol: torii has no proxy_protocol listener")
def test_proxy_protocol():
    """spec: describes "(using trusted proxy protocol configuration values)" and "(using
    non-trusted proxy protocol configuration values)" (four its)."""


@pytest.mark.skip(reason="port_maps: torii has no such setting")
def test_port_maps():
    """spec: describe "(using port maps configuration)", its "should be added if not present in
    request", "should be replaced if present in request"."""


@pytest.mark.skip(reason="upstreams/targets entities (host_header): torii has neither")
def test_host_header_on_retries():
    """spec: describe "host_header should be set correctly", it "when retries to upstream
    happen"."""

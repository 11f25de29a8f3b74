# SPDX-License-Identifier: MIT
"""Kong's proxy resolver spec ported: spec/integration/proxy/resolver_spec.lua at tag 0.7.0 and
spec/integration/05-proxy/resolver_spec.lua at 0.8.3 (which adds X-Forwarded-Host and
X-Forwarded-Prefix checks, deep paths, preserve_host with a path, a trailing slash kept after a
strip, and root request_path priority), one test per `it(...)` case. Kong's fixtures pointed at
mockbin.com and httpbin.org; here every api points at an echo upstream that describes what it
received ("mockbin", and a second one marked X-Upstream: httpbin for httpbin.org), so the port
asserts the upstream path, query and headers that those services reported back.

Kong's http_client sent Host: localhost:<port> unless a case set one; so does proxy_get. torii
differs from Kong as documented in docs/kong-reference.md ("Kong's own specs: where torii
differs"): X-Forwarded-Host is the client's Host without its port on every proxied request
(0.8 sent it only after a host match), the product name in Via and Server is torii's
(`Via: 1.1 torii/<version>`), and the default certificate is torii's own self-signed one for
localhost. Every case is ported; none is skipped."""

import socket
import ssl as sslmod

import pytest
import requests

from harness import Torii, finish_torii
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

NOT_FOUND = "API not found with these values"


def api(node, name, upstream, **fields):
    fields.update(name=name, upstream_url=upstream)
    r = node.admin.post("/apis/", data=fields)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    """setup: the spec's sixteen apis (0.8.3: nineteen) and key-auth on mockbin-auth.com."""
    mock = UpstreamServer(echo_behaviour(), "mockbin")
    httpbin = UpstreamServer(echo_behaviour(extra_headers=(("X-Upstream", "httpbin"),)),
                             "httpbin")
    t = Torii(tmp_path_factory.mktemp("k07resolver"), ssl_port=True)
    t.start()
    node = type("Node", (), {"torii": t, "admin": t.admin, "port": t.proxy_port,
                             "mock": mock, "httpbin": httpbin})
    m, h = mock.url, httpbin.url
    api(node, "tests-host-resolver-1", m, request_host="mockbin.com")
    api(node, "tests-host-resolver-2", m, request_host="mockbin-auth.com")
    api(node, "tests-request_path-resolver", m, request_path="/status")
    api(node, "tests-stripped-request_path-resolver", m, request_path="/mockbin",
        strip_request_path="true")
    api(node, "tests-stripped-request_path-resolver-with-pattern-characters", m,
        request_path="/mockbin-with-pattern/", strip_request_path="true")
    api(node, "tests-deep-request_path-resolver", m, request_path="/deep/request_path/",
        strip_request_path="true")
    api(node, "tests-dup-request_path-resolver", m, request_path="/har",
        strip_request_path="true")
    api(node, "tests-wildcard-subdomain", m + "/status/200", request_host="*.wildcard.com")
    api(node, "tests-wildcard-subdomain-2", m + "/status/201", request_host="wildcard.*")
    api(node, "tests-preserve-host", h, request_host="httpbin-nopreserve.com")
    api(node, "tests-preserve-host-2", h, request_host="httpbin-preserve.com",
        preserve_host="true")
    api(node, "tests-preserve-host-3", h, request_path="/hello", strip_request_path="true",
        preserve_host="true")
    api(node, "tests-uri", m, request_host="mockbin-uri.com")
    api(node, "tests-trailing-slash-path", m + "/request", request_path="/test-trailing-slash",
        strip_request_path="true")
    api(node, "tests-trailing-slash-path2", m + "/request", request_path="/test-trailing-slash2",
        strip_request_path="false")
    api(node, "tests-trailing-slash-path3", m, request_path="/test-trailing-slash3",
        strip_request_path="true")
    api(node, "tests-trailing-slash-path4", m + "/", request_path="/test-trailing-slash4",
        strip_request_path="true")
    api(node, "tests-deep-path", m, request_path="/hello/world", strip_request_path="true")
    api(node, "tests-deep-path-two", h, request_path="/hello/world/wot",
        strip_request_path="true")
    api(node, "tests-request_path-resolver2", m, request_path="/headers")
    r = node.admin.post("/apis/tests-host-resolver-2/plugins/",
                        data={"name": "key-auth", "config.key_names": "apikey"})
    assert r.status_code == 201, r.text
    yield node
    problems = finish_torii(t)
    mock.stop()
    httpbin.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def proxy_get(k, target="/request", host=None, headers=()):
    """GET through the proxy as Kong's http_client did: Host localhost:<port> unless given."""
    return one_request(k.port, "GET", target, host=host or "localhost:%d" % k.port,
                       headers=headers)


def upstream(r):
    """What the upstream received (the answer must be its 200)."""
    assert r.status == 200, (r.status, r.body[:300])
    return r.json()


def hdr(desc, name):
    return [v for n, v in desc["headers"] if n.lower() == name.lower()]


def is_httpbin(r):
    return r.header("X-Upstream") == "httpbin"


# ---- Inexistent API ------------------------------------------------------------------------

def test_not_found(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should return Not Found when the API is not in Kong":
    Kong's body, and none of the proxied answers' headers."""
    r = proxy_get(k, host="foo.com")
    assert r.status == 404
    assert r.json() == {"request_path": "/request", "message": NOT_FOUND,
                        "request_host": ["foo.com"]}
    for name in ("X-Kong-Proxy-Latency", "X-Kong-Upstream-Latency", "X-Forwarded-Host",
                 "X-Forwarded-Prefix", "Via"):
        assert not r.has(name), name


# ---- SSL -----------------------------------------------------------------------------------

def test_ssl_port(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should work when calling SSL port"."""
    r = requests.get("https://127.0.0.1:%d/request" % k.torii.ssl_port,
                     headers={"Host": "mockbin.com"}, verify=False, timeout=10)
    assert r.status_code == 200
    assert r.json()["method"] == "GET"


def test_ssl_handshake_default_route(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should work when manually triggering the handshake on
    default route": a handshake without SNI gets the default certificate (torii's own: O torii,
    CN localhost; Kong's was its shipped one, O Kong). Kong's client asked for TLS 1.0, which
    torii does not speak (TLS 1.2 and 1.3 only)."""
    ctx = sslmod.SSLContext(sslmod.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = sslmod.CERT_NONE
    with socket.create_connection(("127.0.0.1", k.torii.ssl_port), timeout=10) as raw:
        with ctx.wrap_socket(raw) as conn:
            der = conn.getpeercert(binary_form=True)
            assert der
    import subprocess
    pem = sslmod.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject", "-issuer",
                          "-nameopt", "sep_multiline"], input=pem.encode(),
                         capture_output=True, check=True).stdout.decode()
    assert "CN=localhost" in out and "O=torii" in out, out


# ---- Existing API: by Host -----------------------------------------------------------------

def test_by_host(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should proxy when the API is in Kong" (0.8.3:
    X-Forwarded-Host is the matched host, no X-Forwarded-Prefix)."""
    d = upstream(proxy_get(k, host="mockbin.com"))
    assert hdr(d, "X-Forwarded-Host") == ["mockbin.com"]
    assert hdr(d, "X-Forwarded-Prefix") == []


def test_by_host_not_trimmed(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should proxy when the Host header is not trimmed"."""
    upstream(proxy_get(k, host="   mockbin.com  "))


def test_by_x_host_override(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should proxy when the request has no Host header but
    the X-Host-Override header" (the Host is the client's localhost:<port>, known to no
    api)."""
    upstream(proxy_get(k, headers=(("X-Host-Override", "mockbin.com"),)))


def test_by_host_with_port(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should proxy when the Host header contains a port"
    (0.8.3: X-Forwarded-Host without the port)."""
    d = upstream(proxy_get(k, host="mockbin.com:80"))
    assert hdr(d, "X-Forwarded-Host") == ["mockbin.com"]
    assert hdr(d, "X-Forwarded-Prefix") == []


def test_by_wildcard_host(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should proxy when the request_host is a wildcard
    subdomain" (mockbin's /status/200 and /status/201 answered with those codes: the upstream
    paths)."""
    assert upstream(proxy_get(k, host="subdomain.wildcard.com"))["target"] == "/status/200/request"
    assert upstream(proxy_get(k, host="wildcard.org"))["target"] == "/status/201/request"


# ---- Existing API: by request_path ---------------------------------------------------------

def test_by_request_path(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should proxy when no Host is present but the
    request_uri matches the API's request_path" (0.8.3: X-Forwarded-Prefix when a prefix was
    stripped, not otherwise; X-Forwarded-Host is torii's client Host, see above)."""
    assert upstream(proxy_get(k, "/status/200"))["target"] == "/status/200"
    assert upstream(proxy_get(k, "/status/301"))["target"] == "/status/301"
    assert upstream(proxy_get(k, "/mockbin"))["target"] == "/"
    d = upstream(proxy_get(k, "/mockbin/request"))
    assert d["target"] == "/request"
    assert hdr(d, "X-Forwarded-Prefix") == ["/mockbin"]
    assert hdr(d, "X-Forwarded-Host") == ["localhost"]
    d = upstream(proxy_get(k, "/headers"))
    assert d["target"] == "/headers"
    assert hdr(d, "X-Forwarded-Prefix") == []
    assert hdr(d, "X-Forwarded-Host") == ["localhost"]


def test_request_path_not_at_start(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not proxy when the request_path does not match
    the start of the request_uri"."""
    r = proxy_get(k, "/somerequest_path/status/200")
    assert r.status == 404
    assert r.json()["message"] == NOT_FOUND
    assert r.json()["request_path"] == "/somerequest_path/status/200"


def test_deep_request_path(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should proxy when the request_path has a deep level"
    (0.8.3: X-Forwarded-Prefix /deep/request_path)."""
    assert upstream(proxy_get(k, "/deep/request_path/status/200"))["target"] == "/status/200"
    d = upstream(proxy_get(k, "/deep/request_path/request"))
    assert d["target"] == "/request"
    assert hdr(d, "X-Forwarded-Prefix") == ["/deep/request_path"]


def test_querystring_ignored(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not care about querystring parameters"."""
    d = upstream(proxy_get(k, "/mockbin?foo=bar"))
    assert d["target"] == "/?foo=bar"


def test_no_trailing_slash_without_strip(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not add a trailing slash when strip_path is
    disabled"."""
    d = upstream(proxy_get(k, "/test-trailing-slash2?hello=world"))
    assert d["target"] == "/request/test-trailing-slash2?hello=world"


def test_deep_paths(k):
    """resolver_spec.lua@0.8.3: "should properly handle deep paths": the longer request_path
    wins (httpbin), the shorter one takes the rest (mockbin)."""
    r = proxy_get(k, "/hello/world/wot/get")
    assert is_httpbin(r) and upstream(r)["target"] == "/get"
    r = proxy_get(k, "/hello/world/request")
    assert not is_httpbin(r) and upstream(r)["target"] == "/request"


# ---- Server, Via and latency headers -------------------------------------------------------

def test_server_and_via_when_proxied(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should return the correct Server and Via headers when
    the request was proxied": the upstream's Server, the gateway's Via."""
    r = proxy_get(k, host="mockbin.com")
    assert r.status == 200
    assert r.header("Server") == "echo-upstream"
    assert r.header("Via").startswith("1.1 torii/")


def test_server_without_via_when_not_proxied(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should return the correct Server and no Via header
    when the request was NOT proxied"."""
    r = proxy_get(k, host="mockbin-auth.com")
    assert r.status == 401
    assert r.header("Server").startswith("torii/")
    assert not r.has("Via")


def test_latency_headers(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should return correct timing headers when the request
    was proxied"."""
    r = proxy_get(k, host="mockbin.com")
    assert r.status == 200
    assert r.has("X-Kong-Proxy-Latency") and r.has("X-Kong-Upstream-Latency")


# ---- preserve_host -------------------------------------------------------------------------

def test_no_preserve_host(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not preserve the host (default behavior)": the
    upstream_url's host goes upstream."""
    d = upstream(proxy_get(k, "/get", host="httpbin-nopreserve.com"))
    assert hdr(d, "Host") == ["127.0.0.1:%d" % k.httpbin.port]


def test_preserve_host(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should preserve the host (default behavior)"."""
    d = upstream(proxy_get(k, "/get", host="httpbin-preserve.com"))
    assert hdr(d, "Host") == ["httpbin-preserve.com"]


def test_preserve_host_with_path(k):
    """resolver_spec.lua@0.8.3: "should preserve the host with a request path": the client's
    Host goes upstream after a path match too (sent as the client sent it; Kong's spec read
    "localhost" back from a client that sent localhost:<port>)."""
    r = proxy_get(k, "/hello/get", host="localhost")
    assert is_httpbin(r)
    assert hdr(upstream(r), "Host") == ["localhost"]
    r = proxy_get(k, "/hello/get")
    assert hdr(upstream(r), "Host") == ["localhost:%d" % k.port]


# ---- strip_path ----------------------------------------------------------------------------

def test_strip(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should strip the request_path if `strip_request_path`
    is true"."""
    assert upstream(proxy_get(k, "/mockbin/request"))["target"] == "/request"


def test_strip_pattern_characters(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should strip the request_path if `strip_request_path`
    is true if `request_path` has pattern characters"."""
    assert upstream(proxy_get(k, "/mockbin-with-pattern/request"))["target"] == "/request"


def test_strip_once(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not strip if the `request_path` pattern is
    repeated in the request_uri"."""
    assert upstream(proxy_get(k, "/har/har/of/request"))["target"] == "/har/of/request"


def test_strip_no_trailing_slash(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not add a trailing slash when strip_path is
    enabled"."""
    d = upstream(proxy_get(k, "/test-trailing-slash?hello=world"))
    assert d["target"] == "/request?hello=world"


def test_strip_no_trailing_slash_upstream_without_path(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not add a trailing slash when strip_path is
    enabled and upstream_url has no path"."""
    d = upstream(proxy_get(k, "/test-trailing-slash3/request?hello=world"))
    assert d["target"] == "/request?hello=world"


def test_strip_no_trailing_slash_upstream_single_path(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should not add a trailing slash when strip_path is
    enabled and upstream_url has single path"."""
    d = upstream(proxy_get(k, "/test-trailing-slash4/request?hello=world"))
    assert d["target"] == "/request?hello=world"


def test_strip_upstream_root_never_doubles_slash(k):
    """An upstream_url ending in "/" with strip_request_path: the stripped rest is appended
    after that one "/", never as "//" (which some upstreams read as another resource)."""
    for sent, want in (("/test-trailing-slash4", "/"), ("/test-trailing-slash4/", "/"),
                       ("/test-trailing-slash4/a/b", "/a/b"),
                       ("/test-trailing-slash4/a/?x=1", "/a/?x=1")):
        assert upstream(proxy_get(k, sent))["target"] == want, sent


def test_strip_keeps_final_slash(k):
    """resolver_spec.lua@0.8.3: "should add a trailing slash when strip_path is enabled and
    the request has a final slash"."""
    d = upstream(proxy_get(k, "/test-trailing-slash/?hello=world"))
    assert d["target"] == "/request/?hello=world"


# ---- Percent-encoding ----------------------------------------------------------------------

def test_percent_encoded_path(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should leave percent-encoded values in URI
    untouched"."""
    d = upstream(proxy_get(k, "/request/hello%2Fworld", host="mockbin-uri.com"))
    assert d["target"] == "/request/hello%2Fworld"


def test_percent_encoded_query_values(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should leave untouched percent-encoded values in
    querystring"."""
    d = upstream(proxy_get(k, "/request?foo=abc%7Cdef%2c%20world", host="mockbin-uri.com"))
    assert d["target"] == "/request?foo=abc%7Cdef%2c%20world"


def test_percent_encoded_query_keys(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should leave untouched percent-encoded keys in
    querystring"."""
    d = upstream(proxy_get(k, "/request?hello%20world=foo", host="mockbin-uri.com"))
    assert d["target"] == "/request?hello%20world=foo"


def test_percent_encoded_space_in_key(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should percent-encoded keys in querystring" (first case
    with this title: the client encoded a space in a key)."""
    d = upstream(proxy_get(k, "/request?hello%20world=foo", host="mockbin-uri.com"))
    assert d["target"] == "/request?hello%20world=foo"


def test_percent_encoded_value_characters(k):
    """resolver_spec.lua@0.7.0, 0.8.3: "should percent-encoded keys in querystring" (second case
    with this title: "abc|def, world" as the client encoded it)."""
    d = upstream(proxy_get(k, "/request?foo=abc%7Cdef%2C%20world", host="mockbin-uri.com"))
    assert d["target"] == "/request?foo=abc%7Cdef%2C%20world"


# ---- Priority in request_path resolutions (0.8.3) ------------------------------------------

@pytest.fixture
def root(k):
    """setup: tests-root-path (request_path /) and tests-root-path2 (/noroot, stripped);
    teardown: both deleted (204)."""
    api(k, "tests-root-path", k.httpbin.url, request_path="/")
    api(k, "tests-root-path2", k.mock.url, request_path="/noroot", strip_request_path="true")
    yield k
    assert k.admin.delete("/apis/tests-root-path").status_code == 204
    assert k.admin.delete("/apis/tests-root-path2").status_code == 204


def test_root_request_path(root):
    """resolver_spec.lua@0.8.3: "should work for root request_path"."""
    r = proxy_get(root, "/get")
    assert is_httpbin(r) and upstream(r)["target"] == "/get"


def test_non_root_request_path(root):
    """resolver_spec.lua@0.8.3: "should work for non root request_path"."""
    r = proxy_get(root, "/noroot/request")
    assert not is_httpbin(r) and upstream(r)["target"] == "/request"


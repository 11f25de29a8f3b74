# SPDX-License-Identifier: MIT
"""Kong 3 services and routes on the proxy: matching by every field, the upstream path
(strip_path, path_handling, the service's path), the 404 of a node with routes, routes and
legacy apis together, HTTPS-only routes (426 and redirects), a route without a service, a
disabled service, preserve_host and the Host sent, X-Forwarded-Prefix, SNI routes, plugin
precedence across route, service, consumer and global, and routes surviving a restart.

Cases marked "spec:" come from Kong 3.9's spec/02-integration/05-proxy/02-router_spec.lua and
spec/fixtures/router_path_handling_tests.lua."""

import json
import os
import sqlite3
import subprocess

import pytest

from harness import TORII_BIN, hvals, wait_for
from kong3_path_cases import PATH_HANDLING_CASES
from rawhttp import one_request, tls_get

NO_ROUTE = {"message": "no Route matched with those values"}


def ok(r, status):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


def service(admin, echo, name="s1", path="", **fields):
    return ok(admin.post("/services", json=dict(name=name, url=echo.url + path, **fields)), 201)


def route(admin, svc=None, **fields):
    if svc is not None:
        fields["service"] = {"id": svc["id"]}
    return ok(admin.post("/routes", json=fields), 201)


def call(t, target, host="svc.test", method="GET", headers=()):
    return one_request(t.proxy_port, method, target, host=host, headers=headers)


def upstream_target(t, target, host="svc.test", method="GET", headers=()):
    r = call(t, target, host, method, headers)
    assert r.status == 200, (target, r.status, r.body)
    return r.json()["target"]


# ---- matching ------------------------------------------------------------------------------

def test_prefix_is_a_plain_string_prefix(torii, admin, echo):
    """spec: Kong 3 prefixes have no segment boundary: /aa matches /aaaa (Kong #3483)."""
    s = service(admin, echo)
    route(admin, s, paths=["/aa"], strip_path=False)
    assert upstream_target(torii, "/aa") == "/aa"
    assert upstream_target(torii, "/aaaa/b") == "/aaaa/b"
    r = call(torii, "/a")
    assert r.status == 404 and r.json() == NO_ROUTE


def test_longest_prefix_wins(torii, admin, echo):
    s = service(admin, echo)
    route(admin, s, name="short", paths=["/a"], strip_path=False, headers=None)
    route(admin, s, name="long", paths=["/a/b"], strip_path=True)
    assert upstream_target(torii, "/a/b/c") == "/c"
    assert upstream_target(torii, "/a/x") == "/a/x"


def test_hosts_exact_wildcard_and_port(torii, admin, echo):
    s = service(admin, echo)
    route(admin, s, name="exact", hosts=["api.test"], strip_path=False)
    route(admin, s, name="lead", hosts=["*.wild.test"], paths=["/lead"], strip_path=False)
    route(admin, s, name="trail", hosts=["trail.*"], paths=["/trail"], strip_path=False)
    route(admin, s, name="port", hosts=["port.test:%d" % torii.proxy_port], paths=["/p"],
          strip_path=False)
    route(admin, s, name="other-port", hosts=["other.test:1"], strip_path=False)
    assert upstream_target(torii, "/x", host="API.test") == "/x"
    assert upstream_target(torii, "/x", host="api.test:%d" % torii.proxy_port) == "/x"
    assert upstream_target(torii, "/lead", host="a.wild.test") == "/lead"
    assert call(torii, "/lead", host="wild.test").status == 404
    assert upstream_target(torii, "/trail", host="trail.example.org") == "/trail"
    # A host with a port matches host:port; without a port in Host, the listener's port.
    assert upstream_target(torii, "/p", host="port.test:%d" % torii.proxy_port) == "/p"
    assert upstream_target(torii, "/p", host="port.test") == "/p"
    assert call(torii, "/x", host="other.test").status == 404


def test_methods_and_headers_all_must_match(torii, admin, echo):
    s = service(admin, echo)
    route(admin, s, name="both", paths=["/m"], methods=["POST"],
          headers={"x-version": ["v1", "V2"]}, strip_path=False)
    assert call(torii, "/m", method="POST", headers=[("X-Version", "v2")]).status == 200
    assert call(torii, "/m", method="POST", headers=[("X-Version", "v1")]).status == 200
    assert call(torii, "/m", method="GET", headers=[("X-Version", "v1")]).status == 404
    assert call(torii, "/m", method="POST", headers=[("X-Version", "v3")]).status == 404
    assert call(torii, "/m", method="POST").status == 404


def test_priority_by_number_of_fields(torii, admin, upstream_factory):
    """spec: a route setting more fields (host + path) beats one setting fewer (path)."""
    a = upstream_factory(name="a")
    b = upstream_factory(name="b")
    sa = service(admin, a, name="sa")
    sb = service(admin, b, name="sb")
    route(admin, sa, paths=["/p"], strip_path=False)
    route(admin, sb, paths=["/p"], hosts=["h.test"], strip_path=False)
    assert call(torii, "/p", host="h.test").status == 200
    assert len(b.requests) == 1 and len(a.requests) == 0
    assert call(torii, "/p", host="other.test").status == 200
    assert len(a.requests) == 1


def test_regex_paths_priority_and_anchoring(torii, admin, upstream_factory):
    """spec: regex paths are anchored at the start only; a regex route comes before a plain
    prefix of the same kind; among regexes the higher regex_priority wins."""
    plain = upstream_factory(name="plain")
    low = upstream_factory(name="low")
    high = upstream_factory(name="high")
    route(admin, service(admin, plain, name="plain"), paths=["/users"], strip_path=False)
    route(admin, service(admin, low, name="low"), paths=[r"~/users/\d+"], strip_path=False)
    route(admin, service(admin, high, name="high"), paths=[r"~/users/\d+/x"],
          regex_priority=5, strip_path=False)
    assert call(torii, "/users/12/x").status == 200 and len(high.requests) == 1
    assert call(torii, "/users/12").status == 200 and len(low.requests) == 1
    assert call(torii, "/users/ab").status == 200 and len(plain.requests) == 1
    # Anchored at the start: /v/users/12 is not matched by the regex (nor by the prefix).
    assert call(torii, "/v/users/12").status == 404


def test_route_wins_over_api(torii, admin, upstream_factory):
    """A route and an api that both match: the route (Kong 0.13-0.15 tried routes first); a
    request only the api matches still reaches it."""
    api_up = upstream_factory(name="api")
    route_up = upstream_factory(name="route")
    admin.add_api(name="legacy", upstream_url=api_up.url, request_path="/both")
    admin.add_api(name="legacy-only", upstream_url=api_up.url, request_path="/only-api")
    route(admin, service(admin, route_up, name="modern"), paths=["/both"])
    assert call(torii, "/both/x").status == 200
    assert len(route_up.requests) == 1 and len(api_up.requests) == 0
    assert call(torii, "/only-api").status == 200
    assert len(api_up.requests) == 1
    # With routes on the node, a request nothing matches gets Kong 3's 404.
    r = call(torii, "/neither")
    assert r.status == 404 and r.json() == NO_ROUTE


def test_404_stays_kong07_without_routes(torii, admin, echo):
    admin.add_api(name="go-api", upstream_url=echo.url, request_path="/go")
    r = call(torii, "/x", host="svc.test")
    assert r.json()["message"] == "API not found with these values"
    s = service(admin, echo)
    rt = route(admin, s, paths=["/r"])
    assert call(torii, "/x").json() == NO_ROUTE
    ok(admin.delete("/routes/%s" % rt["id"]), 204)
    assert call(torii, "/x").json()["message"] == "API not found with these values"


# ---- the upstream path ---------------------------------------------------------------------

def test_upstream_path_table(torii, admin, echo):
    """spec/fixtures/router_path_handling_tests.lua, every row, v0 and v1, strip on and off
    (202-router_spec.lua "path_handling"): one route at a time on one node."""
    failures = []
    for svc_path, route_path, strip, handling, req_path, expected in PATH_HANDLING_CASES:
        s = ok(admin.post("/services", json={"url": echo.url + svc_path}), 201)
        fields = {"strip_path": strip, "path_handling": handling, "service": {"id": s["id"]}}
        if route_path is None:
            fields["hosts"] = ["svc.test"]
        else:
            fields["paths"] = [route_path]
        rt = ok(admin.post("/routes", json=fields), 201)
        r = call(torii, req_path)
        got = r.json()["target"] if r.status == 200 else r.status
        if got != expected:
            failures.append((svc_path, route_path, strip, handling, req_path, expected, got))
        ok(admin.delete("/routes/%s" % rt["id"]), 204)
        ok(admin.delete("/services/%s" % s["id"]), 204)
    assert not failures, "\n".join(map(repr, failures))


def test_query_string_kept(torii, admin, echo):
    s = service(admin, echo, path="/s")
    route(admin, s, paths=["/r"])
    assert upstream_target(torii, "/r/x?a=1&b=%20") == "/s/x?a=1&b=%20"


def test_regex_strip_removes_the_whole_match(torii, admin, echo):
    s = service(admin, echo)
    route(admin, s, paths=[r"~/v\d+/users"], strip_path=True)
    d = call(torii, "/v2/users/7").json()
    assert d["target"] == "/7"
    assert hvals(d, "X-Forwarded-Prefix") == ["/v2/users"]


def test_x_forwarded_prefix_only_when_stripped(torii, admin, echo):
    s = service(admin, echo)
    route(admin, s, name="strip", paths=["/strip"])
    route(admin, s, name="keep", paths=["/keep"], strip_path=False)
    route(admin, s, name="root", paths=["/"], hosts=["root.test"])
    d = call(torii, "/strip/x").json()
    assert hvals(d, "X-Forwarded-Prefix") == ["/strip"]
    assert hvals(d, "X-Forwarded-Path") == ["/strip/x"]
    assert hvals(call(torii, "/keep/x").json(), "X-Forwarded-Prefix") == []
    # A client's own X-Forwarded-Prefix never reaches the upstream from an untrusted peer.
    d = call(torii, "/keep/x", headers=[("X-Forwarded-Prefix", "/evil")]).json()
    assert hvals(d, "X-Forwarded-Prefix") == []
    assert hvals(call(torii, "/x", host="root.test").json(), "X-Forwarded-Prefix") == []


# ---- Host sent upstream --------------------------------------------------------------------

def test_host_header_sent(torii, admin, echo):
    """The service's host:port (the port left out only when it is the scheme's default);
    preserve_host sends the client's Host."""
    s = service(admin, echo)
    route(admin, s, name="plain", paths=["/plain"])
    route(admin, s, name="keep", paths=["/keep"], preserve_host=True)
    assert hvals(call(torii, "/plain").json(), "Host") == ["127.0.0.1:%d" % echo.port]
    assert hvals(call(torii, "/keep", host="client.test:81").json(), "Host") == [
        "client.test:81"]


# ---- protocols -----------------------------------------------------------------------------

def test_https_only_route_426(torii, admin, echo):
    s = service(admin, echo)
    route(admin, s, paths=["/secure"], protocols=["https"])
    r = call(torii, "/secure")
    assert r.status == 426
    assert r.json() == {"message": "Please use HTTPS protocol"}
    assert r.header("Upgrade") == "TLS/1.2, HTTP/1.1"
    assert len(echo.requests) == 0


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_https_redirect_status_codes(torii, admin, echo, code):
    """spec: https_redirect_status_code sends Location: https://<host><request uri>."""
    s = service(admin, echo)
    route(admin, s, paths=["/secure"], protocols=["https"], https_redirect_status_code=code)
    r = call(torii, "/secure/a?b=c", host="Site.test:%d" % torii.proxy_port)
    assert r.status == code
    assert r.header("Location") == "https://Site.test/secure/a?b=c"
    assert len(echo.requests) == 0


def test_https_route_reached_over_tls(torii_factory, echo):
    t = torii_factory(ssl_port=True)
    s = service(t.admin, echo)
    route(t.admin, s, paths=["/secure"], protocols=["https"])
    status, hdrs, body = tls_get(t.ssl_port, "/secure/x", "svc.test")
    assert status == 200, body
    assert json.loads(body)["target"] == "/x"


def test_sni_route(torii_factory, echo):
    """spec: a route with snis matches the TLS server name of the connection, over https."""
    t = torii_factory(ssl_port=True)
    s = service(t.admin, echo)
    route(t.admin, s, snis=["sni.test"], protocols=["https"], strip_path=False)
    status, _, body = tls_get(t.ssl_port, "/x", "other.test", server_hostname="sni.test")
    assert status == 200, body
    status, _, body = tls_get(t.ssl_port, "/x", "sni.test", server_hostname="else.test")
    assert status == 404 and json.loads(body) == NO_ROUTE


# ---- services ------------------------------------------------------------------------------

def test_route_without_service_503(torii, admin, echo):
    route(admin, None, paths=["/orphan"])
    r = call(torii, "/orphan")
    assert r.status == 503
    assert r.json() == {"message": "no Service found with those values"}


def test_disabled_service_routes_404(torii, admin, echo):
    s = service(admin, echo)
    route(admin, s, paths=["/r"])
    assert call(torii, "/r").status == 200
    ok(admin.patch("/services/%s" % s["id"], json={"enabled": False}), 200)
    assert call(torii, "/r").status == 404
    ok(admin.patch("/services/%s" % s["id"], json={"enabled": True}), 200)
    assert call(torii, "/r").status == 200


def test_change_is_live_and_survives_restart(torii, admin, upstream_factory):
    a = upstream_factory(name="a")
    b = upstream_factory(name="b")
    s = service(admin, a)
    route(admin, s, name="r", paths=["/r"])
    assert call(torii, "/r").status == 200 and len(a.requests) == 1
    ok(admin.patch("/services/s1", json={"url": b.url}), 200)
    assert call(torii, "/r").status == 200 and len(b.requests) == 1
    torii.kill9()
    torii.start()
    assert call(torii, "/r").status == 200 and len(b.requests) == 2


def test_service_timeouts_and_retries_apply(torii, admin, upstream_factory):
    """A service aimed at a closed port: retries + 1 connection attempts, then 502."""
    s = ok(admin.post("/services", json={"name": "dead", "host": "127.0.0.1", "port": 1,
                                         "retries": 0, "connect_timeout": 2000}), 201)
    route(admin, s, paths=["/dead"])
    r = call(torii, "/dead")
    assert r.status == 502
    assert r.json() == {"message": "An invalid response was received from the upstream server"}


# ---- plugins -------------------------------------------------------------------------------

def termination(admin, message, **scope):
    body = {"name": "request-termination",
            "config": {"status_code": 418, "message": message}}
    for k, v in scope.items():
        body[k] = {"id": v}
    return ok(admin.post("/plugins", json=body), 201)


def test_plugin_precedence_without_consumer(torii, admin, echo):
    """Kong 3: route+service, then route, then service, then global."""
    s = service(admin, echo)
    r = route(admin, s, name="r", paths=["/r"])
    other = route(admin, s, name="other", paths=["/other"])
    instances = [
        termination(admin, "route+service", route=r["id"], service=s["id"]),
        termination(admin, "route", route=r["id"]),
        termination(admin, "service", service=s["id"]),
        termination(admin, "global"),
    ]
    expected = ["route+service", "route", "service", "global"]
    for inst, message in zip(instances, expected):
        got = call(torii, "/r")
        assert got.status == 418 and got.json()["message"] == message
        ok(admin.delete("/plugins/%s" % inst["id"]), 204)
    assert call(torii, "/r").status == 200
    assert call(torii, "/other").status == 200
    assert other


def test_plugin_precedence_with_consumer(torii, admin, echo):
    """Kong 3: route+service+consumer, route+consumer, service+consumer, route+service,
    consumer, route, service, global."""
    s = service(admin, echo)
    r = route(admin, s, name="r", paths=["/r"])
    c = admin.add_consumer(username="alice")
    ok(admin.post("/consumers/alice/key-auth", json={"key": "alice-key"}), 201)
    ok(admin.post("/plugins", json={"name": "key-auth"}), 201)
    instances = [
        termination(admin, "r+s+c", route=r["id"], service=s["id"], consumer=c["id"]),
        termination(admin, "r+c", route=r["id"], consumer=c["id"]),
        termination(admin, "s+c", service=s["id"], consumer=c["id"]),
        termination(admin, "r+s", route=r["id"], service=s["id"]),
        termination(admin, "c", consumer=c["id"]),
        termination(admin, "r", route=r["id"]),
        termination(admin, "s", service=s["id"]),
        termination(admin, "global"),
    ]
    key = [("apikey", "alice-key")]
    for inst in instances:
        got = call(torii, "/r", headers=key)
        assert got.status == 418 and got.json()["message"] == inst["config"]["message"]
        ok(admin.delete("/plugins/%s" % inst["id"]), 204)
    assert call(torii, "/r", headers=key).status == 200


def test_plugins_of_another_route_do_not_apply(torii, admin, echo):
    s = service(admin, echo)
    r1 = route(admin, s, name="r1", paths=["/one"])
    route(admin, s, name="r2", paths=["/two"])
    ok(admin.post("/routes/%s/plugins" % r1["id"], json={"name": "key-auth"}), 201)
    assert call(torii, "/one").status == 401
    assert call(torii, "/two").status == 200


def test_plugin_on_service_applies_to_its_routes_only(torii, admin, upstream_factory):
    a = upstream_factory(name="a")
    b = upstream_factory(name="b")
    sa = service(admin, a, name="sa")
    sb = service(admin, b, name="sb")
    route(admin, sa, paths=["/a"])
    route(admin, sb, paths=["/b"])
    ok(admin.post("/services/sa/plugins", json={"name": "key-auth"}), 201)
    assert call(torii, "/a").status == 401
    assert call(torii, "/b").status == 200


def test_consumer_plugins_endpoint(torii, admin, echo):
    """/consumers/{c}/plugins (Kong 3): lists and creates the consumer's instances; auth plugins
    cannot be bound to a consumer; an unknown consumer is 404."""
    s = service(admin, echo)
    route(admin, s, paths=["/r"])
    c = admin.add_consumer(username="carol")
    ok(admin.post("/consumers/carol/key-auth", json={"key": "carol-key"}), 201)
    ok(admin.post("/plugins", json={"name": "key-auth"}), 201)
    p = ok(admin.post("/consumers/carol/plugins",
                      json={"name": "request-termination",
                            "config": {"status_code": 403, "message": "carol"}}), 201)
    assert p["consumer_id"] == c["id"]
    r = admin.post("/consumers/carol/plugins", json={"name": "basic-auth"})
    assert r.status_code == 400, r.text
    listed = ok(admin.get("/consumers/%s/plugins" % c["id"]), 200)["data"]
    assert [x["id"] for x in listed] == [p["id"]]
    assert admin.get("/consumers/nobody/plugins").status_code == 404
    got = call(torii, "/r", headers=[("apikey", "carol-key")])
    assert got.status == 403 and got.json()["message"] == "carol"
    ok(admin.delete("/consumers/carol/plugins/%s" % p["id"]), 204)
    assert call(torii, "/r", headers=[("apikey", "carol-key")]).status == 200


# ---- request_buffering -----------------------------------------------------------------------

def chunked(data, size=1000):
    out = b""
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def test_request_buffering(torii_factory, echo):
    """request_buffering (Kong 3's default): a chunked body is read whole and sent upstream with
    a Content-Length; off, or past request_buffer_size, it streams chunked. Legacy apis stream."""
    t = torii_factory(settings={"request_buffer_size": "64k"})
    s = service(t.admin, echo)
    route(t.admin, s, name="buffered", paths=["/buf"])
    route(t.admin, s, name="streamed", paths=["/stream"], request_buffering=False)
    t.admin.add_api(name="legacy", upstream_url=echo.url, request_path="/legacy")
    body = bytes(range(256)) * 40  # 10,240 bytes
    te = [("Transfer-Encoding", "chunked")]
    for path, expect_chunked in (("/buf", False), ("/stream", True), ("/legacy", True)):
        r = one_request(t.proxy_port, "POST", path, headers=te, body=chunked(body))
        assert r.status == 200, (path, r.body)
        d = r.json()
        assert d["chunked"] == expect_chunked, path
        assert d["body_length"] == len(body), path
        if not expect_chunked:
            assert hvals(d, "Content-Length") == [str(len(body))]
    big = b"x" * (200 * 1024)
    r = one_request(t.proxy_port, "POST", "/buf", headers=te, body=chunked(big, 16384))
    assert r.status == 200
    assert r.json()["chunked"] is True and r.json()["body_length"] == len(big)


@pytest.mark.sqlite_file
def test_routes_changed_in_the_database_are_read_on_reload(torii, admin, echo):
    """Admin writes patch the routes the node keeps; a change made behind the Admin API (the
    database edited directly) is read on `torii reload`."""
    s = service(admin, echo)
    r = route(admin, s, name="r", paths=["/before"])
    assert call(torii, "/before").status == 200
    with sqlite3.connect(str(torii.db_path)) as db:
        doc = json.loads(db.execute("SELECT doc FROM routes WHERE id = ?",
                                    (r["id"],)).fetchone()[0])
        doc["paths"] = ["/after"]
        db.execute("UPDATE routes SET doc = ? WHERE id = ?", (json.dumps(doc), r["id"]))
    rc = subprocess.run([TORII_BIN, "reload"], env=dict(os.environ, **torii.env()),
                        capture_output=True, timeout=30)
    assert rc.returncode == 0, rc.stderr
    assert wait_for(lambda: call(torii, "/after").status == 200, timeout=10)
    assert call(torii, "/before").status == 404

# SPDX-License-Identifier: MIT
"""Kong's cors specs ported: spec/plugins/cors/access_spec.lua at tags 0.7.0 and 0.8.3 (0.8.3
adds the three preflight_continue cases, ported here). The fixtures use Kong 0.7's field name
config.origin, which torii accepts as an alias of origins.

torii differs from Kong 0.7 as documented in docs/plugins.md: a preflight is an OPTIONS with
Origin and Access-Control-Request-Method (0.7: any OPTIONS), so the ported preflights send
both; it is answered 200 (0.7: 204); the default methods are Kong 3's nine (0.7: six); and a
listed origin is echoed only to a request whose Origin matches it (0.7 sent config.origin to
every request), so the ported requests send Origin: example.com."""

import pytest

from kong07 import add_api, add_plugin, proxy, seen, start, stop

FULL = {"origin": "example.com", "methods": ["GET"], "headers": ["origin", "type", "accepts"],
        "exposed_headers": ["x-auth-token"], "max_age": 23, "credentials": True}
PREFLIGHT = (("Origin", "example.com"), ("Access-Control-Request-Method", "GET"))
ORIGIN = (("Origin", "example.com"),)


@pytest.fixture(scope="module")
def cors(tmp_path_factory):
    ns = start(tmp_path_factory, "cors")
    confs = [{}, FULL, dict(FULL, preflight_continue=True), dict(FULL, preflight_continue=False)]
    for i, conf in enumerate(confs, start=1):
        add_api(ns, "cors%d.com" % i, "tests-cors-%d" % i)
        ns.plugin = add_plugin(ns, "tests-cors-%d" % i, "cors", conf, mode="form" if i == 2 else
                               "json")
        if i == 2:
            ns.plugin2 = ns.plugin
    yield ns
    stop(ns)


def test_origin_alias_shown_as_sent(cors):
    """The 0.7 name is kept as a string (as Kong 0.7 showed it) and fills origins."""
    conf = cors.plugin2["config"]
    assert conf["origin"] == "example.com"
    assert conf["origins"] == ["example.com"]


def test_options_defaults(cors):
    """spec/plugins/cors/access_spec.lua@0.7.0: "should give appropriate defaults when no
    options are passed" (OPTIONS)."""
    r = proxy(cors, "cors1.com", "/", "OPTIONS", PREFLIGHT)
    assert r.status == 200
    assert r.header("access-control-allow-origin") == "*"
    assert r.header("access-control-allow-methods") == \
        "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
    for h in ("access-control-allow-headers", "access-control-expose-headers",
              "access-control-allow-credentials", "access-control-max-age"):
        assert r.header(h) is None, h


def test_options_reflects_options(cors):
    """spec/plugins/cors/access_spec.lua@0.7.0: "should reflect what is specified in
    options"."""
    r = proxy(cors, "cors2.com", "/", "OPTIONS", PREFLIGHT)
    assert r.status == 200
    assert r.header("access-control-allow-origin") == "example.com"
    assert r.header("access-control-allow-headers") == "origin,type,accepts"
    assert r.header("access-control-expose-headers") is None
    assert r.header("access-control-allow-methods") == "GET"
    assert r.header("access-control-max-age") == "23"
    assert r.header("access-control-allow-credentials") == "true"


def test_preflight_continue_true(cors):
    """spec/plugins/cors/access_spec.lua@0.8.3: "should work with preflight_continue=true and a
    duplicate header set by the API": the preflight reaches the upstream and its answer comes
    back without CORS headers; other requests get them."""
    cors.echo.reset()
    r = proxy(cors, "cors3.com", "/headers", "OPTIONS", PREFLIGHT)
    d = seen(r)
    assert d["method"] == "OPTIONS"
    assert r.header("access-control-allow-origin") is None
    r = proxy(cors, "cors3.com", "/get", headers=ORIGIN)
    seen(r)
    assert r.header("access-control-allow-origin") == "example.com"
    assert r.header("access-control-expose-headers") == "x-auth-token"
    assert r.header("access-control-allow-credentials") == "true"
    r = proxy(cors, "cors3.com", "/response-headers?access-control-allow-origin=*",
              headers=ORIGIN)
    seen(r)
    assert r.header("access-control-allow-origin") == "example.com"


def test_preflight_continue_false(cors):
    """spec/plugins/cors/access_spec.lua@0.8.3: "should work with preflight_continue=false":
    the preflight is answered by the gateway, never proxied."""
    cors.echo.reset()
    r = proxy(cors, "cors4.com", "/headers", "OPTIONS", PREFLIGHT)
    assert r.status == 200 and r.body == b""
    assert cors.echo.requests == []
    assert r.header("access-control-allow-origin") == "example.com"
    assert r.header("access-control-allow-methods") == "GET"
    assert r.header("access-control-allow-headers") == "origin,type,accepts"
    assert r.header("access-control-expose-headers") is None
    assert r.header("access-control-allow-credentials") == "true"
    assert r.header("access-control-max-age") == "23"
    r = proxy(cors, "cors4.com", "/get", headers=ORIGIN)
    seen(r)
    assert r.header("access-control-allow-origin") == "example.com"
    assert r.header("access-control-expose-headers") == "x-auth-token"
    assert r.header("access-control-allow-credentials") == "true"


def test_preflight_continue_false_duplicate_header(cors):
    """spec/plugins/cors/access_spec.lua@0.8.3: "should work with preflight_continue=false and
    a duplicate header set by the API"."""
    r = proxy(cors, "cors4.com", "/headers", "OPTIONS", PREFLIGHT)
    assert r.status == 200
    assert r.header("access-control-allow-origin") == "example.com"
    assert r.header("access-control-max-age") == "23"
    r = proxy(cors, "cors4.com", "/response-headers?access-control-allow-origin=*",
              headers=ORIGIN)
    seen(r)
    assert r.header_all("access-control-allow-origin") == ["example.com"]
    assert r.header("access-control-expose-headers") == "x-auth-token"
    assert r.header("access-control-allow-credentials") == "true"


def test_get_defaults(cors):
    """spec/plugins/cors/access_spec.lua@0.7.0: "should give appropriate defaults when no
    options are passed" (GET)."""
    r = proxy(cors, "cors1.com", "/")
    seen(r)
    assert r.header("access-control-allow-origin") == "*"
    for h in ("access-control-allow-methods", "access-control-allow-headers",
              "access-control-expose-headers", "access-control-allow-credentials",
              "access-control-max-age"):
        assert r.header(h) is None, h


def test_get_reflects_some_options(cors):
    """spec/plugins/cors/access_spec.lua@0.7.0: "should reflect some of what is specified in
    options"."""
    r = proxy(cors, "cors2.com", "/", headers=ORIGIN)
    seen(r)
    assert r.header("access-control-allow-origin") == "example.com"
    assert r.header("access-control-expose-headers") == "x-auth-token"
    for h in ("access-control-allow-headers", "access-control-allow-methods",
              "access-control-max-age"):
        assert r.header(h) is None, h
    assert r.header("access-control-allow-credentials") == "true"

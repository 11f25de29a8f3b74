# SPDX-License-Identifier: MIT
"""Kong's node Admin API specs ported: spec/integration/admin_api/kong_routes_spec.lua and
route_helpers_spec.lua at tag 0.7.0, spec/integration/04-admin_api/kong_routes_spec.lua at 0.8.3
(the same cases), one test per `it(...)` case. cache_routes_spec.lua and cluster_routes_spec.lua
(both tags) are listed as skipped: torii has no /cache and no /cluster.

torii differs from Kong as documented in docs/kong-reference.md ("Kong's own specs: where torii
differs"): it names itself (`Server: torii/<version>`, tagline "Welcome to torii", its own
version), /status counts torii's tables and adds `database.reachable` and
`server.password_hashes`, and the counters are kept by torii itself rather than parsed from
nginx's stub_status page."""

import pytest

from kong07 import created, proxy, seen, skip_table, start, stop

SKIPPED = [
    ("spec/integration/admin_api/cache_routes_spec.lua@0.7.0+0.8.3",
     "[FAILURE] should return an error when the key is invalid",
     "torii has no /cache: nothing is cached across the Admin API, the next request after an "
     "answer sees the change"),
    ("spec/integration/admin_api/cache_routes_spec.lua@0.7.0+0.8.3",
     "[SUCCESS] should get the value of a cache item", "torii has no /cache (as above)"),
    ("spec/integration/admin_api/cache_routes_spec.lua@0.7.0+0.8.3",
     "[SUCCESS] should invalidate an entity", "torii has no /cache (as above)"),
    ("spec/integration/admin_api/cache_routes_spec.lua@0.7.0+0.8.3",
     "[SUCCESS] should invalidate all entities", "torii has no /cache (as above)"),
    ("spec/integration/admin_api/cluster_routes_spec.lua@0.7.0+0.8.3",
     "[SUCCESS] should post a new event",
     "torii has no serf cluster and no /cluster: every node reads the one store"),
    ("spec/integration/admin_api/cluster_routes_spec.lua@0.7.0+0.8.3",
     "[SUCCESS] should get the list of members", "torii has no /cluster (as above)"),
    ("spec/integration/admin_api/cluster_routes_spec.lua@0.7.0+0.8.3",
     "[SUCCESS] should force-leave a node", "torii has no /cluster (as above)"),
]
test_skipped_spec_case = skip_table(SKIPPED)

COUNTERS = ("connections_accepted", "connections_active", "connections_handled",
            "connections_reading", "connections_writing", "connections_waiting",
            "total_requests")


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    ns = start(tmp_path_factory, "k07kong")
    yield ns
    stop(ns)


# ---- kong_routes_spec.lua ----------------------------------------------------------------------

def test_version_and_welcome(k):
    """kong_routes_spec.lua@0.7.0, 0.8.3: "should return Kong's version and a welcome message"
    (torii's own version and tagline)."""
    r = k.admin.get("/")
    assert r.status_code == 200
    body = r.json()
    assert body["version"] and body["tagline"]
    assert body["tagline"] == "Welcome to torii"


def test_server_header(k):
    """kong_routes_spec.lua@0.7.0, 0.8.3: "should have a Server header": <name>/<version>, and
    no Via (only proxied answers carry one)."""
    r = k.admin.get("/")
    assert r.status_code == 200
    assert r.headers["Server"] == "torii/" + r.json()["version"]
    assert "Via" not in r.headers


def test_method_not_allowed(k):
    """kong_routes_spec.lua@0.7.0, 0.8.3: "should return method not allowed"."""
    for method in ("POST", "DELETE", "PUT", "PATCH"):
        r = k.admin.request(method, "/")
        assert r.status_code == 405, method
        assert r.json()["message"] == "Method not allowed"


def test_status(k):
    """kong_routes_spec.lua@0.7.0, 0.8.3: "should return status information": two blocks; a
    count for every table (torii's tables, plus whether the database answers); the seven
    connection counters."""
    r = k.admin.get("/status")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"server", "database"}
    db = body["database"]
    for table in ("apis", "consumers", "plugins", "keyauth_credentials",
                  "basicauth_credentials", "acls", "oauth2_credentials", "oauth2_tokens",
                  "oauth2_authorization_codes"):
        assert isinstance(db[table], int), (table, db)
    assert db["reachable"] is True
    server = body["server"]
    assert set(server) - {"password_hashes"} == set(COUNTERS)
    for c in COUNTERS:
        assert isinstance(server[c], int) and server[c] >= 0, (c, server)


def test_big_body_under_10mb(k):
    """kong_routes_spec.lua@0.7.0, 0.8.3: "should properly hanlde big POST bodies < 10MB"."""
    api = created(k.admin.post("/apis", data={"request_host": "hello.com",
                                              "upstream_url": "http://mockbin.org"}))
    big = ",".join(["204.48.16.0"] * 1000)
    assert len(big) > 10000
    r = k.admin.post("/apis/%s/plugins/" % api["id"],
                     data={"name": "ip-restriction", "config.blacklist": big})
    assert r.status_code == 201, r.text


def test_body_over_10mb(k):
    """kong_routes_spec.lua@0.7.0, 0.8.3: "should fail with requests > 10MB"."""
    import requests
    api = created(k.admin.post("/apis", data={"request_host": "hello2.com",
                                              "upstream_url": "http://mockbin.org"}))
    big = ",".join(["204.48.16.0"] * 1024000)
    assert len(big) > 10000000
    try:
        r = k.admin.post("/apis/%s/plugins/" % api["id"],
                         data={"name": "ip-restriction", "config.blacklist": big})
        assert r.status_code == 413, r.status_code
    except requests.ConnectionError:
        pass  # the node may close while the rest of the body is still on its way
    assert k.admin.get("/apis/%s/plugins/" % api["id"]).json()["total"] == 0


# ---- route_helpers_spec.lua --------------------------------------------------------------------

def test_hostname(k):
    """route_helpers_spec.lua@0.7.0: "should return the hostname" (GET / names it)."""
    assert k.admin.get("/").json()["hostname"]


def test_status_counters(k):
    """route_helpers_spec.lua@0.7.0: "should return parse the nginx status": Kong parsed
    nginx's stub_status text into the seven counters; torii keeps them itself, so the port
    checks that they count: a proxied request adds to total_requests."""
    created(k.admin.post("/apis", data={"request_host": "counted.com",
                                        "upstream_url": k.echo.url}))
    before = k.admin.get("/status").json()["server"]
    seen(proxy(k, "counted.com"))
    after = k.admin.get("/status").json()["server"]
    assert after["total_requests"] >= before["total_requests"] + 1
    assert after["connections_accepted"] >= after["connections_handled"] >= 1
    for c in COUNTERS:
        assert isinstance(after[c], int) and after[c] >= 0

# SPDX-License-Identifier: MIT
"""Kong 3.x /services: cases of Kong 3.9's spec/02-integration/04-admin_api/
10-services_routes_spec.lua ported (the `it(...)` name is in each test's docstring; Kong's
it_content_types cases run once per body encoding: JSON, form, multipart), plus torii's own
cases for every bad-input rule, PUT, tags, pagination and durability.

Where torii differs on purpose: protocols other than http and https are refused (the proxy
speaks only those for now), and lists are bounded (docs/admin-api.md)."""

import urllib.parse
import uuid

import pytest

from kong3 import (BODY_MODES, PROTOCOLS, add_route, add_service, node_fixture, ok,
                   schema_error, send, wipe)

node = node_fixture("k3services")


@pytest.fixture
def admin(node):
    wipe(node.admin)
    return node.admin


# ---- POST /services -----------------------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_a_service(admin, mode):
    """POST: creates a service"""
    j = ok(send(admin, "POST", "/services", {"protocol": "http", "host": "service.test"}, mode),
           201)
    assert isinstance(j["id"], str) and isinstance(j["created_at"], int)
    assert isinstance(j["updated_at"], int)
    assert j["name"] is None and j["protocol"] == "http" and j["host"] == "service.test"
    assert j["port"] == 80 and j["retries"] == 5 and j["enabled"] is True
    for t in ("connect_timeout", "write_timeout", "read_timeout"):
        assert j[t] == 60000
    for f in ("path", "tags", "client_certificate", "tls_verify", "tls_verify_depth",
              "ca_certificates"):
        assert j[f] is None, f


@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_a_service_with_url(admin, mode):
    """POST: creates a service with url"""
    j = ok(send(admin, "POST", "/services", {"url": "http://service.test/"}, mode), 201)
    assert (j["protocol"], j["host"], j["port"], j["path"]) == ("http", "service.test", 80, "/")
    assert "url" not in j


@pytest.mark.parametrize("mode", BODY_MODES)
def test_port_defaults_to_443_when_url_scheme_is_https(admin, mode):
    """POST: 'port' defaults to 443 when 'url' scheme is https"""
    j = ok(send(admin, "POST", "/services", {"url": "https://service.test/"}, mode), 201)
    assert (j["protocol"], j["host"], j["port"], j["path"]) == ("https", "service.test", 443,
                                                                "/")


@pytest.mark.parametrize("mode", BODY_MODES)
def test_client_error_with_empty_url(admin, mode):
    """POST: client error with with empty url"""
    assert send(admin, "POST", "/services", {"url": ""}, mode).status_code == 400


@pytest.mark.parametrize("mode", BODY_MODES)
def test_client_error_with_invalid_url(admin, mode):
    """POST: client error with invalid url"""
    assert send(admin, "POST", "/services", {"url": " "}, mode).status_code == 400


def test_handles_malformed_json_body(admin):
    """errors: handles malformed JSON body"""
    r = admin.post("/services", data='{"hello": "world"',
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"message": "Cannot parse JSON body"}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_handles_invalid_input(admin, mode):
    """errors: handles invalid input"""
    r = send(admin, "POST", "/services", {}, mode)
    assert r.status_code == 400
    assert r.json() == schema_error({"host": "required field missing"},
                                    "schema violation (host: required field missing)")
    r = send(admin, "POST", "/services", {"host": "example.test", "protocol": "foo"}, mode)
    assert r.status_code == 400
    assert r.json()["fields"] == {"protocol": PROTOCOLS}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_handles_invalid_url(admin, mode):
    """errors: handles invalid url"""
    r = send(admin, "POST", "/services", {"url": "invalid url"}, mode)
    assert r.status_code == 400
    assert r.json() == schema_error(
        {"host": "required field missing", "path": "should start with: /"},
        "2 schema violations (host: required field missing; path: should start with: /)")


BAD_SERVICES = [
    ({"host": "a.test", "port": 70000}, {"port": "value should be between 0 and 65535"}),
    ({"host": "a.test", "port": "x"}, {"port": "expected an integer"}),
    ({"host": "a.test", "retries": 32768}, {"retries": "value should be between 0 and 32767"}),
    ({"host": "a.test", "read_timeout": 0},
     {"read_timeout": "value should be between 1 and 2147483646"}),
    ({"host": "a.test", "write_timeout": 2147483647},
     {"write_timeout": "value should be between 1 and 2147483646"}),
    ({"host": "a.test:80"}, {"host": "must not have a port"}),
    ({"host": "a b"}, {"host": "invalid value: a b"}),
    ({"host": "a.test", "path": "x"}, {"path": "should start with: /"}),
    ({"host": "a.test", "path": "/a//b"}, {"path": "must not have empty segments"}),
    ({"host": "a.test", "path": "/a%zz"}, {"path": "invalid url-encoded value: '%zz'"}),
    ({"host": "a.test", "enabled": "maybe"}, {"enabled": "expected a boolean"}),
    ({"host": "a.test", "name": "a b"},
     {"name": "invalid value 'a b': the only accepted ascii characters are alphanumerics or "
              "., -, _, and ~"}),
    ({"host": "a.test", "tags": ["a,b"]},
     {"tags": ["invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid "
               "utf-8 sequences"]}),
    ({"host": "a.test", "nope": 1}, {"nope": "unknown field"}),
    ({"url": "https://a.test", "tls_verify_depth": 65},
     {"tls_verify_depth": "value should be between 0 and 64"}),
    ({"url": "https://a.test", "ca_certificates": ["x"]},
     {"ca_certificates": ["expected a valid UUID"]}),
    ({"url": "https://a.test", "client_certificate": {"name": "x"}},
     {"client_certificate": {"id": "missing primary key"}}),
]


@pytest.mark.parametrize("body,fields", BAD_SERVICES)
def test_bad_service_fields(admin, body, fields):
    r = admin.post("/services", json=body)
    assert r.status_code == 400, r.text
    j = r.json()
    assert j["code"] == 2 and j["name"] == "schema violation"
    assert j["fields"] == fields


def test_several_errors_are_counted(admin):
    r = admin.post("/services", json={"port": -1, "retries": "x"})
    assert r.status_code == 400
    assert r.json()["message"] == ("3 schema violations (host: required field missing; port: "
                                   "value should be between 0 and 65535; retries: expected an "
                                   "integer)")


def test_tls_fields_only_with_https(admin):
    r = admin.post("/services", json={"host": "a.test", "tls_verify": True})
    assert r.status_code == 400
    assert r.json()["fields"] == {
        "@entity": ["failed conditional validation given value of field 'protocol'"],
        "tls_verify": "value must be null"}
    j = ok(admin.post("/services", json={"url": "https://a.test", "tls_verify": True,
                                         "tls_verify_depth": 3}), 201)
    assert j["tls_verify"] is True and j["tls_verify_depth"] == 3


@pytest.mark.parametrize("proto", ["grpc", "grpcs", "tcp", "tls", "tls_passthrough", "udp"])
def test_other_protocols_are_not_supported_yet(admin, proto):
    """torii: Kong 3 accepts these; torii proxies only http and https for now."""
    r = admin.post("/services", json={"host": "a.test", "protocol": proto})
    assert r.status_code == 400
    msg = ("protocol '%s' is not supported yet: torii proxies only http and https for now"
           % proto)
    assert r.json() == schema_error({"protocol": msg}, "schema violation (protocol: %s)" % msg)


def test_unique_name_is_409(admin):
    add_service(admin, name="dup")
    r = admin.post("/services", json={"name": "dup", "host": "b.test"})
    assert r.status_code == 409
    assert r.json() == {"code": 5, "name": "unique constraint violation",
                        "message": "UNIQUE violation detected on '{name=\"dup\"}'",
                        "fields": {"name": "dup"}}


def test_same_id_is_a_primary_key_violation(admin):
    s = add_service(admin)
    r = admin.post("/services", json={"id": s["id"], "host": "b.test"})
    assert r.status_code == 400
    assert r.json() == {"code": 3, "name": "primary key violation",
                        "message": "primary key violation on key '{id=\"%s\"}'" % s["id"],
                        "fields": {"id": s["id"]}}


def test_client_certificate_must_exist(admin):
    cid = str(uuid.uuid4())
    r = admin.post("/services", json={"url": "https://a.test", "client_certificate": {"id": cid}})
    assert r.status_code == 400
    assert r.json() == {
        "code": 4, "name": "foreign key violation",
        "message": "the foreign key '{id=\"%s\"}' does not reference an existing "
                   "'certificates' entity." % cid,
        "fields": {"client_certificate": {"id": cid}}}


# ---- GET /services ------------------------------------------------------------------------

def test_retrieves_the_first_page(admin):
    """GET with data: retrieves the first page"""
    for i in range(10):
        add_service(admin, name="s%d" % i)
    j = ok(admin.get("/services"))
    assert len(j["data"]) == 10 and j["next"] is None and "offset" not in j


def test_paginates_a_set(admin):
    """GET with data: paginates a set"""
    for i in range(10):
        add_service(admin, name="s%d" % i)
    seen, offset, pages = [], None, 0
    while True:
        params = {"size": 3}
        if offset:
            params["offset"] = offset
        j = ok(admin.get("/services", params=params))
        pages += 1
        seen += [s["name"] for s in j["data"]]
        offset = j.get("offset")
        if pages < 4:
            assert len(j["data"]) == 3 and offset
        else:
            assert len(j["data"]) == 1 and j["next"] is None
            break
    assert seen == ["s%d" % i for i in range(10)]


def test_propagate_in_next_a_page_size(admin):
    """GET with data: propagate in next a page size"""
    for i in range(4):
        add_service(admin, name="s%d" % i)
    j = ok(admin.get("/services", params={"size": 3}))
    assert j["next"] == "/services?offset=%s&size=3" % urllib.parse.quote(j["offset"])
    j2 = ok(admin.get(j["next"]))
    assert [s["name"] for s in j2["data"]] == ["s3"]


def test_data_property_is_an_empty_array(admin):
    """GET with no data: data property is an empty array and not an empty hash"""
    r = admin.get("/services")
    assert r.status_code == 200 and '"data":[]' in r.text
    assert r.json() == {"data": [], "next": None}


def test_handles_invalid_filters(admin):
    """GET errors: handles invalid filters"""
    assert ok(admin.get("/services", params={"foo": "bar"})) == {"data": [], "next": None}


def test_ignores_an_invalid_body(admin):
    """GET errors: ignores an invalid body"""
    r = admin.get("/services", data="this fails if decoded as json",
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def test_invalid_size_and_offset(admin):
    r = admin.get("/services", params={"size": "x"})
    assert r.status_code == 400
    assert r.json() == {"code": 9, "name": "invalid size", "message": "size must be a number"}
    r = admin.get("/services", params={"size": 1001})
    assert r.status_code == 400 and r.json()["code"] == 9
    r = admin.get("/services", params={"size": 0})
    assert r.status_code == 400 and r.json()["code"] == 9
    r = admin.get("/services", params={"offset": "x"})
    assert r.status_code == 400
    assert r.json() == {"code": 7, "name": "invalid offset",
                        "message": "'x' is not a valid offset: bad base64 encoding"}


def test_tags_filters(admin):
    a = add_service(admin, name="a", tags=["red", "big"])
    b = add_service(admin, name="b", tags=["red"])
    add_service(admin, name="c", tags=["blue"])
    add_service(admin, name="d")
    names = lambda q: [s["name"] for s in ok(admin.get("/services", params={"tags": q}))["data"]]
    assert names("red") == ["a", "b"]
    assert names("red,big") == ["a"]
    assert names("big/blue") == ["a", "c"]
    assert names("nothing") == []
    assert a["tags"] == ["red", "big"] and b["tags"] == ["red"]
    # pages through the filter
    j = ok(admin.get("/services", params={"tags": "red", "size": 1}))
    assert [s["name"] for s in j["data"]] == ["a"]
    assert j["next"] == "/services?offset=%s&tags=red&size=1" % j["offset"]
    j = ok(admin.get(j["next"]))
    assert [s["name"] for s in j["data"]] == ["b"]
    r = admin.get("/services", params={"tags": "a,b/c"})
    assert r.status_code == 400 and r.json()["code"] == 11


# ---- /services/{service} ------------------------------------------------------------------

def test_retrieves_by_id_and_by_name(admin):
    """GET: retrieves by id / retrieves by name"""
    s = add_service(admin, name="by-name")
    assert ok(admin.get("/services/" + s["id"])) == s
    assert ok(admin.get("/services/by-name")) == s


def test_retrieves_by_utf8_name_and_percent_escaped(admin):
    """GET: retrieves by utf-8 name and percent-escaped utf-8 name"""
    s = add_service(admin, name="\u00e9t\u00e9")
    assert ok(admin.get("/services/\u00e9t\u00e9")) == s
    assert ok(admin.get("/services/%C3%A9t%C3%A9")) == s


def test_returns_404_if_not_found(admin):
    """GET: returns 404 if not found / returns 404 if not found by name"""
    for key in (str(uuid.uuid4()), "not-found"):
        r = admin.get("/services/" + key)
        assert r.status_code == 404 and r.json() == {"message": "Not found"}


@pytest.mark.parametrize("mode", ["json", "form"])
def test_updates_if_found(admin, mode):
    """PATCH: updates if found"""
    s = add_service(admin, name="x")
    j = ok(send(admin, "PATCH", "/services/" + s["id"], {"name": None, "protocol": "https"},
                mode), 200)
    assert j["name"] is None and j["protocol"] == "https" and j["id"] == s["id"]
    assert ok(admin.get("/services/" + s["id"])) == j


@pytest.mark.parametrize("mode", BODY_MODES)
def test_updates_if_found_by_name(admin, mode):
    """PATCH: updates if found by name"""
    s = add_service(admin, name="named")
    j = ok(send(admin, "PATCH", "/services/named", {"protocol": "https"}, mode), 200)
    assert j["protocol"] == "https" and j["id"] == s["id"] and j["name"] == "named"
    assert j["created_at"] == s["created_at"]


@pytest.mark.parametrize("mode", ["json", "form"])
def test_updates_with_url(admin, mode):
    """PATCH: updates with url"""
    s = add_service(admin)
    path = "/services/" + s["id"]
    j = ok(send(admin, "PATCH", path, {"url": "http://example.test:443"}, mode))
    assert (j["protocol"], j["host"], j["port"], j["path"]) == ("http", "example.test", 443, None)
    j = ok(send(admin, "PATCH", path, {"url": "https://example2.test:80/"}, mode))
    assert (j["protocol"], j["host"], j["port"], j["path"]) == ("https", "example2.test", 80, "/")
    j = ok(send(admin, "PATCH", path, {"url": "http://example2.test"}, mode))
    assert (j["protocol"], j["host"], j["port"], j["path"]) == ("http", "example2.test", 80, None)
    assert ok(admin.get(path)) == j


def test_patch_errors(admin):
    s = add_service(admin)
    r = admin.patch("/services/" + s["id"], json={"host": None})
    assert r.status_code == 400
    assert r.json()["fields"] == {"host": "required field missing"}
    r = admin.patch("/services/nothing-here", json={"retries": 1})
    assert r.status_code == 404 and r.json() == {"message": "Not found"}


def test_put_creates_by_id_and_by_name_then_replaces(admin):
    sid = str(uuid.uuid4())
    j = ok(admin.put("/services/" + sid, json={"host": "a.test", "retries": 1}), 200)
    assert j["id"] == sid and j["retries"] == 1
    j2 = ok(admin.put("/services/" + sid, json={"host": "b.test"}), 200)
    assert j2["id"] == sid and j2["host"] == "b.test" and j2["retries"] == 5
    assert j2["created_at"] == j["created_at"]
    n = ok(admin.put("/services/by-put", json={"host": "c.test"}), 200)
    assert n["name"] == "by-put"
    n2 = ok(admin.put("/services/by-put", data={"host": "d.test", "port": "81"}), 200)
    assert n2["id"] == n["id"] and n2["host"] == "d.test" and n2["port"] == 81
    r = admin.put("/services/" + str(uuid.uuid4()), json={})
    assert r.status_code == 400 and r.json()["fields"] == {"host": "required field missing"}


def test_deletes_a_service(admin):
    """DELETE: deletes a service / deletes a service by name / returns HTTP 204 even if not
    found (by id and by name)"""
    s = add_service(admin, name="gone")
    assert admin.delete("/services/" + s["id"]).status_code == 204
    assert admin.get("/services/" + s["id"]).status_code == 404
    add_service(admin, name="gone")
    assert admin.delete("/services/gone").status_code == 204
    assert admin.get("/services/gone").status_code == 404
    assert admin.delete("/services/" + str(uuid.uuid4())).status_code == 204
    assert admin.delete("/services/not-found").status_code == 204


def test_delete_refused_while_routes_reference_it(admin):
    s = add_service(admin, name="held")
    rt = add_route(admin, service={"id": s["id"]})
    r = admin.delete("/services/held")
    assert r.status_code == 400
    assert r.json() == {"code": 4, "name": "foreign key violation",
                        "message": "an existing 'routes' entity references this 'services' "
                                   "entity",
                        "fields": {"@referenced_by": "routes"}}
    assert admin.get("/services/held").status_code == 200
    assert admin.delete("/routes/" + rt["id"]).status_code == 204
    assert admin.delete("/services/held").status_code == 204


def test_methods_not_allowed(admin):
    for m in ("DELETE", "PUT", "PATCH"):
        r = admin.request(m, "/services", json={})
        assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}


# ---- /services/{service}/routes -----------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_lists_all_routes_belonging_to_service(admin, mode):
    """/services/{service}/routes: lists all routes belonging to service"""
    s = add_service(admin)
    rt = add_route(admin, protocols=["http"], hosts=["service.test"], service={"id": s["id"]})
    add_route(admin, protocols=["http"], hosts=["service.test"])
    r = admin.get("/services/%s/routes" % s["id"])
    assert ok(r) == {"data": [rt], "next": None}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_nested_route_create_and_item(admin, mode):
    s = add_service(admin, name="parent")
    other = add_service(admin, name="other")
    j = ok(send(admin, "POST", "/services/parent/routes", {"paths": ["/n"], "name": "nested"},
                mode), 201)
    assert j["service"] == {"id": s["id"]}
    assert ok(admin.get("/services/parent/routes/nested")) == j
    assert admin.get("/services/other/routes/nested").status_code == 404
    j2 = ok(send(admin, "PATCH", "/services/parent/routes/nested", {"strip_path": False}, mode))
    assert j2["strip_path"] is False and j2["service"] == {"id": s["id"]}
    j3 = ok(admin.put("/services/parent/routes/put-nested", json={"hosts": ["p.test"]}), 200)
    assert j3["service"] == {"id": s["id"]} and j3["name"] == "put-nested"
    assert admin.delete("/services/other/routes/nested").status_code == 204
    assert admin.get("/routes/nested").status_code == 200
    assert admin.delete("/services/parent/routes/nested").status_code == 204
    assert admin.get("/routes/nested").status_code == 404
    assert admin.get("/services/nothing/routes").status_code == 404
    assert admin.post("/services/nothing/routes", json={"paths": ["/"]}).status_code == 404
    assert other["id"] != s["id"]


# ---- durability ---------------------------------------------------------------------------

def test_kill9_after_2xx_keeps_services_and_routes(torii_factory):
    t = torii_factory()
    made = []
    for i in range(3):
        s = add_service(t.admin, name="d%d" % i, tags=["t%d" % i])
        rt = add_route(t.admin, name="r%d" % i, service={"name": "d%d" % i})
        made.append((s, rt))
        t.kill9()
        t.restart()
        for s0, r0 in made:
            assert ok(t.admin.get("/services/" + s0["id"])) == s0
            assert ok(t.admin.get("/routes/" + r0["id"])) == r0
    p = ok(t.admin.patch("/services/d0", json={"retries": 2}))
    t.kill9()
    t.restart()
    assert ok(t.admin.get("/services/d0")) == p
    assert t.admin.delete("/routes/r0").status_code == 204
    t.kill9()
    t.restart()
    assert t.admin.get("/routes/r0").status_code == 404


# ---- security profile P11 -----------------------------------------------------------------

def test_service_aimed_at_the_admin_api_is_refused(node, admin):
    """torii (P11, as for /apis): a service may not point at the Admin API itself or at a
    link-local address unless allow_internal_upstreams is on."""
    port = node.torii.admin_port
    msg = "must not point at the Admin API or a link-local address"
    for body in ({"host": "127.0.0.1", "port": port}, {"url": "http://localhost:%d" % port},
                 {"host": "169.254.169.254"}, {"host": "fe80::1"}):
        r = admin.post("/services", json=body)
        assert r.status_code == 400, body
        assert r.json() == schema_error({"host": msg}, "schema violation (host: %s)" % msg)
    s = add_service(admin, host="127.0.0.1", port=port + 1)
    r = admin.patch("/services/" + s["id"], json={"port": port})
    assert r.status_code == 400 and r.json()["fields"] == {"host": msg}


def test_allow_internal_upstreams_lets_it_through(torii_factory):
    t = torii_factory(settings={"allow_internal_upstreams": "on"})
    ok(t.admin.post("/services", json={"host": "169.254.169.254"}), 201)


# ---- /services/{service}/plugins ----------------------------------------------------------

def test_plugins_of_a_service(admin):
    """/services/{service}/plugins: creates a plugin config for a Service / references a
    Service by name / retrieves the first page (10-services_routes_spec.lua), and the
    composite key (name, route, service, consumer)."""
    s = add_service(admin, name="plugged")
    j = ok(admin.post("/services/plugged/plugins", json={"name": "key-auth",
                                                          "config": {"key_names": ["apikey",
                                                                                   "key"]}}),
           201)
    assert j["service"] == {"id": s["id"]} and j["config"]["key_names"] == ["apikey", "key"]
    assert "service_id" not in j
    r = admin.post("/services/plugged/plugins", json={"name": "key-auth"})
    assert r.status_code == 409
    r = admin.post("/plugins", json={"name": "key-auth", "service": {"name": "plugged"}})
    assert r.status_code == 409
    g = ok(admin.post("/plugins", data={"name": "key-auth"}), 201)  # global: another key
    assert "service" not in g
    listed = ok(admin.get("/services/%s/plugins" % s["id"]))["data"]
    assert [p["id"] for p in listed] == [j["id"]]
    assert ok(admin.get("/services/plugged/plugins/" + j["id"])) == j
    assert admin.get("/services/plugged/plugins/" + g["id"]).status_code == 404
    p = ok(admin.patch("/services/plugged/plugins/" + j["id"], json={"enabled": False}))
    assert p["enabled"] is False and p["service"] == {"id": s["id"]}
    r = admin.post("/plugins", json={"name": "cors", "service": {"name": "nothing"}})
    assert r.status_code == 400 and r.json() == {"service": "service does not exist"}
    # deleting the service deletes its plugins (Kong 3: cascade)
    assert admin.delete("/services/plugged").status_code == 204
    assert admin.get("/plugins/" + j["id"]).status_code == 404
    assert admin.get("/plugins/" + g["id"]).status_code == 200
    assert admin.delete("/plugins/" + g["id"]).status_code == 204
    assert admin.get("/services/nothing/plugins").status_code == 404


def test_plugins_of_a_route(admin):
    """/routes/{route}/plugins: creates a plugin config on a Route / retrieves the first page
    / retrieves the first page by name / deletes a plugin by id (09-routes_routes_spec.lua)"""
    rt = add_route(admin, name="r-plug")
    j = ok(admin.post("/routes/r-plug/plugins", data={"name": "key-auth",
                                                      "config.key_names": "apikey"}), 201)
    assert j["route"] == {"id": rt["id"]}
    assert [p["id"] for p in ok(admin.get("/routes/r-plug/plugins"))["data"]] == [j["id"]]
    assert [p["id"] for p in ok(admin.get("/routes/%s/plugins" % rt["id"]))["data"]] == [j["id"]]
    assert admin.delete("/routes/r-plug/plugins/" + j["id"]).status_code == 204
    assert ok(admin.get("/routes/r-plug/plugins"))["data"] == []
    k = ok(admin.post("/plugins", json={"name": "key-auth", "route": {"id": rt["id"]}}), 201)
    assert k["route"] == {"id": rt["id"]}
    assert admin.delete("/routes/r-plug").status_code == 204
    assert admin.get("/plugins/" + k["id"]).status_code == 404

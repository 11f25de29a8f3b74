# SPDX-License-Identifier: MIT
"""Kong 3.x /upstreams: cases of Kong 3.9's spec/02-integration/04-admin_api/
07-upstreams_routes_spec.lua ported (the `describe`/`it` names are in each test's docstring;
Kong's it_content_types cases run once per body encoding: JSON, form, multipart), plus torii's
own cases for every field's default and range, the healthchecks record, the shorthands, tags,
pagination and durability across kill -9."""

import copy
import uuid

import pytest

from kong3 import BODY_MODES, add_service, node_fixture, ok, schema_error, send, wipe
from test_tls import make_cert

node = node_fixture("k3upstreams")

HASH_ON = "expected one of: none, consumer, ip, header, cookie, path, query_arg, uri_capture"
COND_HASH_ON = "failed conditional validation given value of field 'hash_on'"
COND_FALLBACK = "failed conditional validation given value of field 'hash_fallback'"
COOKIE_MSG = ("contains one or more invalid characters. ASCII control characters (0-31;127), "
              "space, tab and the characters ()<>@,;:\\\"/?={}[] are not allowed.")
HEADER_MSG = ("bad header name 'not a <> valid <> header name', allowed characters are A-Z, "
              "a-z, 0-9, '_', and '-'")

DEFAULT_HEALTHCHECKS = {
    "active": {
        "type": "http",
        "timeout": 1,
        "concurrency": 10,
        "http_path": "/",
        "https_sni": None,
        "https_verify_certificate": True,
        "headers": None,
        "healthy": {"interval": 0, "http_statuses": [200, 302], "successes": 0},
        "unhealthy": {"interval": 0,
                      "http_statuses": [429, 404, 500, 501, 502, 503, 504, 505],
                      "tcp_failures": 0, "timeouts": 0, "http_failures": 0},
    },
    "passive": {
        "type": "http",
        "healthy": {"http_statuses": [200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300,
                                      301, 302, 303, 304, 305, 306, 307, 308],
                    "successes": 0},
        "unhealthy": {"http_statuses": [429, 500, 503], "tcp_failures": 0, "timeouts": 0,
                      "http_failures": 0},
    },
    "threshold": 0,
}


@pytest.fixture
def admin(node):
    wipe(node.admin, ("upstreams",))
    return node.admin


def post(admin, fields, mode="json"):
    return send(admin, "POST", "/upstreams", fields, mode)


def bad(r, fields):
    assert r.status_code == 400, r.text
    j = r.json()
    assert j["code"] == 2 and j["name"] == "schema violation", j
    assert j["fields"] == fields, j
    return j


# ---- POST /upstreams ----------------------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_an_upstream_with_defaults(admin, mode):
    """/upstreams POST: creates an upstream with defaults"""
    j = ok(post(admin, {"name": "my.upstream"}, mode), 201)
    assert j["name"] == "my.upstream"
    assert isinstance(j["created_at"], int) and isinstance(j["updated_at"], int)
    assert isinstance(j["id"], str)
    assert j["slots"] == 10000 and j["algorithm"] == "round-robin"
    assert j["hash_on"] == "none" and j["hash_fallback"] == "none"
    assert j["hash_on_cookie_path"] == "/"
    for f in ("hash_on_header", "hash_fallback_header", "hash_on_cookie", "hash_on_query_arg",
              "hash_fallback_query_arg", "hash_on_uri_capture", "hash_fallback_uri_capture",
              "tags", "host_header", "client_certificate"):
        assert j[f] is None, f
    assert j["use_srv_name"] is False
    assert j["healthchecks"] == DEFAULT_HEALTHCHECKS


@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_an_upstream_without_defaults(admin, mode):
    """/upstreams POST: creates an upstream without defaults"""
    j = ok(post(admin, {"name": "my.upstream", "slots": 10, "hash_on": "consumer",
                        "hash_fallback": "ip", "hash_on_header": "HeaderName",
                        "hash_fallback_header": "HeaderFallback"}, mode), 201)
    assert j["slots"] == 10 and j["hash_on"] == "consumer" and j["hash_fallback"] == "ip"
    assert j["hash_on_header"] == "HeaderName"
    assert j["hash_fallback_header"] == "HeaderFallback"
    # Kong's hash_on shorthand: hashing on anything switches to consistent-hashing.
    assert j["algorithm"] == "consistent-hashing"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_an_upstream_with_hash_on_cookie_parameters(admin, mode):
    """/upstreams POST: creates an upstream with hash_on cookie parameters"""
    j = ok(post(admin, {"name": "my.upstream", "hash_on": "cookie",
                        "hash_on_cookie": "CookieName1", "hash_on_cookie_path": "/foo"}, mode),
           201)
    assert (j["hash_on"], j["hash_on_cookie"], j["hash_on_cookie_path"]) == \
        ("cookie", "CookieName1", "/foo")


@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_an_upstream_with_2_header_hashes(admin, mode):
    """/upstreams POST: creates an upstream with 2 header hashes"""
    j = ok(post(admin, {"name": "my.upstream", "slots": 10, "hash_on": "header",
                        "hash_fallback": "header", "hash_on_header": "HeaderName1",
                        "hash_fallback_header": "HeaderName2"}, mode), 201)
    assert (j["hash_on"], j["hash_fallback"]) == ("header", "header")
    assert (j["hash_on_header"], j["hash_fallback_header"]) == ("HeaderName1", "HeaderName2")


@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_an_upstream_with_65536_slots(admin, mode):
    """/upstreams POST: creates an upstream with 65536 slots"""
    assert ok(post(admin, {"name": "my.upstream", "slots": 65536}, mode), 201)["slots"] == 65536


@pytest.mark.parametrize("mode", BODY_MODES)
def test_creates_an_upstream_with_host_header(admin, mode):
    """/upstreams POST: creates an upstream with host header"""
    j = ok(post(admin, {"name": "my.upstream", "host_header": "localhost"}, mode), 201)
    assert j["host_header"] == "localhost" and j["slots"] == 10000


def test_handles_malformed_json_body(admin):
    """/upstreams POST errors: handles malformed JSON body"""
    r = admin.post("/upstreams", data='{"hello": "world"',
                   headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.text == '{"message":"Cannot parse JSON body"}'


@pytest.mark.parametrize("mode", BODY_MODES)
def test_handles_invalid_input(admin, mode):
    """/upstreams POST errors: handles invalid input"""
    bad(post(admin, {"slots": 50}, mode), {"name": "required field missing"})
    bad(post(admin, {"name": "some invalid host name"}, mode),
        {"name": "Invalid name ('some invalid host name'); must be a valid hostname"})
    bad(post(admin, {"name": "my.upstream", "slots": 2 ** 16 + 1}, mode),
        {"slots": "value should be between 10 and 65536"})
    bad(post(admin, {"name": "my.upstream", "hash_on": "something that is invalid"}, mode),
        {"hash_on": HASH_ON})
    fb = "expected one of: none, ip, header, cookie, path, query_arg, uri_capture"
    bad(post(admin, {"name": "my.upstream", "hash_on": "consumer",
                     "hash_fallback": "something that is invalid"}, mode),
        {"@entity": [COND_HASH_ON], "hash_fallback": fb})
    bad(post(admin, {"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "consumer"},
             mode),
        {"@entity": [COND_HASH_ON], "hash_fallback": fb})
    r = post(admin, {"name": "my.upstream", "hash_on": "header", "hash_fallback": "consumer",
                     "hash_on_header": "not a <> valid <> header name"}, mode)
    assert r.status_code == 400 and r.json()["fields"]["hash_on_header"] == HEADER_MSG
    r = post(admin, {"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "header",
                     "hash_fallback_header": "not a <> valid <> header name"}, mode)
    assert r.status_code == 400 and r.json()["fields"]["hash_fallback_header"] == HEADER_MSG
    bad(post(admin, {"name": "my.upstream", "hash_on": "header", "hash_fallback": "header",
                     "hash_on_header": "headername", "hash_fallback_header": "headername"},
             mode),
        {"@entity": ["values of these fields must be distinct: 'hash_on_header', "
                     "'hash_fallback_header'"]})
    bad(post(admin, {"name": "my.upstream", "hash_on": "cookie", "hash_on_cookie": "cookiename",
                     "hash_fallback": "header", "hash_fallback_header": "Cool-Header"}, mode),
        {"@entity": [COND_HASH_ON], "hash_fallback": "expected one of: none"})
    bad(post(admin, {"name": "my.upstream", "hash_on": "header", "hash_fallback": "header",
                     "hash_fallback_header": "HeaderName"}, mode),
        {"@entity": [COND_HASH_ON], "hash_on_header": "required field missing"})
    bad(post(admin, {"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "header"},
             mode),
        {"@entity": [COND_FALLBACK], "hash_fallback_header": "required field missing"})
    r = post(admin, {"name": "my.upstream", "hash_on": "cookie",
                     "hash_on_cookie": "not a <> valid <> cookie name"}, mode)
    assert r.status_code == 400 and r.json()["fields"]["hash_on_cookie"] == COOKIE_MSG
    bad(post(admin, {"name": "my.upstream", "hash_on": "cookie", "hash_on_cookie": "hashme",
                     "hash_on_cookie_path": "not a path"}, mode),
        {"hash_on_cookie_path": "should start with: /"})
    r = post(admin, {"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "cookie",
                     "hash_on_cookie": "not a <> valid <> cookie name"}, mode)
    assert r.status_code == 400 and r.json()["fields"]["hash_on_cookie"] == COOKIE_MSG
    bad(post(admin, {"name": "my.upstream", "hash_on": "consumer", "hash_fallback": "cookie",
                     "hash_on_cookie": "my-cookie", "hash_on_cookie_path": "not a path"}, mode),
        {"hash_on_cookie_path": "should start with: /"})
    assert ok(admin.get("/upstreams"))["data"] == []


def test_schema_violation_message(admin):
    """torii: the message of a single and of several violations, Kong's wording."""
    r = post(admin, {"slots": 50})
    assert r.json() == schema_error({"name": "required field missing"},
                                    "schema violation (name: required field missing)")
    r = post(admin, {"name": "1.2.3.4", "slots": 5})
    assert r.json()["message"] == (
        "2 schema violations (name: Invalid name ('1.2.3.4'); no ip addresses allowed; "
        "slots: value should be between 10 and 65536)")


def test_name_rules(admin):
    """torii: upstreams.lua's validate_name: a hostname, not an IP address, no port."""
    for name, why in (("1.2.3.4", "no ip addresses allowed"),
                      ("::1", "no ip addresses allowed"),
                      ("my.upstream:80", "no port allowed"),
                      ("bad_-.x-", "must be a valid hostname"),
                      ("a..b", "must be a valid hostname")):
        bad(post(admin, {"name": name}), {"name": "Invalid name ('%s'); %s" % (name, why)})
    for name in ("x", "my-upstream", "UPPER.case", "under_score", "trailing.dot."):
        ok(post(admin, {"name": name}), 201)


@pytest.mark.parametrize("mode", BODY_MODES)
def test_returns_409_on_conflict(admin, mode):
    """/upstreams POST errors: returns 409 on conflict"""
    ok(post(admin, {"name": "my.upstream"}, mode), 201)
    r = post(admin, {"name": "my.upstream"}, mode)
    assert r.status_code == 409
    assert r.json() == {"code": 5, "name": "unique constraint violation",
                        "message": "UNIQUE violation detected on '{name=\"my.upstream\"}'",
                        "fields": {"name": "my.upstream"}}


def test_primary_key_violation(admin):
    """torii: POST with the id of an existing upstream (Kong's code 3)."""
    u = ok(post(admin, {"name": "a"}), 201)
    r = post(admin, {"name": "b", "id": u["id"]})
    assert r.status_code == 400 and r.json()["code"] == 3


# ---- fields -------------------------------------------------------------------------------

def test_field_ranges_and_types(admin):
    """torii: every top-level field's check, in Kong's words."""
    cases = [
        ({"algorithm": "random"}, {"algorithm": "expected one of: consistent-hashing, "
                                                "least-connections, round-robin, latency"}),
        ({"slots": 9}, {"slots": "value should be between 10 and 65536"}),
        ({"slots": "x"}, {"slots": "expected an integer"}),
        # hash_on is none: Kong's conditional answers over the field's own check.
        ({"hash_fallback": "nope"}, {"@entity": [COND_HASH_ON],
                                     "hash_fallback": "expected one of: none"}),
        ({"hash_on": "ip", "hash_fallback": "nope"},
         {"@entity": [COND_HASH_ON], "hash_fallback": "expected one of: none, consumer, header, "
                                                      "cookie, path, query_arg, uri_capture"}),
        ({"host_header": "bad host"}, {"host_header": "invalid hostname: bad host"}),
        ({"host_header": "1.2.3.4:99999"}, {"host_header": "invalid port number"}),
        ({"use_srv_name": "maybe"}, {"use_srv_name": "expected a boolean"}),
        ({"tags": ["a,b"]}, {"tags": ["invalid tag 'a,b': expected printable ascii (except `,` "
                                      "and `/`) or valid utf-8 sequences"]}),
        ({"client_certificate": {"id": "nope"}},
         {"client_certificate": {"id": "expected a valid UUID"}}),
        ({"nope": 1}, {"nope": "unknown field"}),
    ]
    for extra, fields in cases:
        body = dict({"name": "u1"}, **extra)
        bad(post(admin, body), fields)
    j = ok(post(admin, {"name": "u1", "host_header": "example.test:8080", "use_srv_name": True,
                        "tags": ["a", "b", "a"], "algorithm": "latency"}), 201)
    assert j["host_header"] == "example.test:8080" and j["use_srv_name"] is True
    assert j["tags"] == ["a", "b"] and j["algorithm"] == "latency"


def test_client_certificate_must_exist(admin):
    """torii: client_certificate is a foreign key to /certificates (Kong's code 4)."""
    cid = str(uuid.uuid4())
    r = post(admin, {"name": "u1", "client_certificate": {"id": cid}})
    assert r.status_code == 400
    assert r.json() == {"code": 4, "name": "foreign key violation",
                        "message": "the foreign key '{id=\"%s\"}' does not reference an "
                                   "existing 'certificates' entity." % cid,
                        "fields": {"client_certificate": {"id": cid}}}


def test_shorthands(admin):
    """torii: upstreams.lua's shorthand_fields: least-connections and latency reset hash_on;
    hash_on none sets round-robin, anything else consistent-hashing."""
    j = ok(post(admin, {"name": "a", "algorithm": "least-connections", "hash_on": "ip"}), 201)
    assert (j["algorithm"], j["hash_on"]) == ("least-connections", "none")
    j = ok(post(admin, {"name": "b", "algorithm": "consistent-hashing", "hash_on": "none"}), 201)
    assert (j["algorithm"], j["hash_on"]) == ("round-robin", "none")
    j = ok(post(admin, {"name": "c", "algorithm": "consistent-hashing"}), 201)
    assert (j["algorithm"], j["hash_on"]) == ("consistent-hashing", "none")
    j = ok(admin.patch("/upstreams/c", json={"hash_on": "path"}))
    assert (j["algorithm"], j["hash_on"]) == ("consistent-hashing", "path")
    j = ok(admin.patch("/upstreams/c", json={"algorithm": "latency"}))
    assert (j["algorithm"], j["hash_on"]) == ("latency", "none")
    j = ok(post(admin, {"name": "d", "hash_on": "query_arg", "hash_on_query_arg": "q",
                        "hash_fallback": "uri_capture", "hash_fallback_uri_capture": "c"}), 201)
    assert j["algorithm"] == "consistent-hashing"


def test_query_arg_and_uri_capture_rules(admin):
    """torii: the query_arg and uri_capture conditionals and distinct checks."""
    bad(post(admin, {"name": "a", "hash_on": "query_arg"}),
        {"@entity": [COND_HASH_ON], "hash_on_query_arg": "required field missing"})
    bad(post(admin, {"name": "a", "hash_on": "ip", "hash_fallback": "query_arg"}),
        {"@entity": [COND_FALLBACK], "hash_fallback_query_arg": "required field missing"})
    bad(post(admin, {"name": "a", "hash_on": "query_arg", "hash_on_query_arg": "x",
                     "hash_fallback": "query_arg", "hash_fallback_query_arg": "x"}),
        {"@entity": ["values of these fields must be distinct: 'hash_on_query_arg', "
                     "'hash_fallback_query_arg'"]})
    bad(post(admin, {"name": "a", "hash_on": "uri_capture"}),
        {"@entity": [COND_HASH_ON], "hash_on_uri_capture": "required field missing"})
    bad(post(admin, {"name": "a", "hash_on": "path", "hash_fallback": "path"}),
        {"@entity": [COND_HASH_ON], "hash_fallback": "expected one of: none, consumer, header, "
                                                     "cookie, query_arg, ip, uri_capture"})
    bad(post(admin, {"name": "a", "hash_on": "ip", "hash_fallback": "ip"}),
        {"@entity": [COND_HASH_ON], "hash_fallback": "expected one of: none, consumer, header, "
                                                     "cookie, path, query_arg, uri_capture"})
    bad(post(admin, {"name": "a", "hash_fallback": "ip"}),
        {"@entity": [COND_HASH_ON], "hash_fallback": "expected one of: none"})


# ---- healthchecks -------------------------------------------------------------------------

def test_healthchecks_partial_input_gets_defaults(admin):
    """torii: a partial healthchecks record is completed with Kong's defaults."""
    j = ok(post(admin, {"name": "a", "healthchecks": {
        "active": {"timeout": 0.5, "healthy": {"interval": 5},
                   "headers": {"X-Probe": ["1", "2"]}, "https_sni": "probe.test"},
        "passive": {"unhealthy": {"tcp_failures": 3}}, "threshold": 33.5}}), 201)
    want = copy.deepcopy(DEFAULT_HEALTHCHECKS)
    want["active"]["timeout"] = 0.5
    want["active"]["healthy"]["interval"] = 5
    want["active"]["headers"] = {"X-Probe": ["1", "2"]}
    want["active"]["https_sni"] = "probe.test"
    want["passive"]["unhealthy"]["tcp_failures"] = 3
    want["threshold"] = 33.5
    assert j["healthchecks"] == want


@pytest.mark.parametrize("mode", ("form", "multipart"))
def test_healthchecks_from_forms(admin, mode):
    """torii: Kong's dotted form keys reach the nested record (coerced to numbers)."""
    pairs = [("name", "a"), ("healthchecks.active.healthy.successes", "2"),
             ("healthchecks.active.unhealthy.http_statuses[]", "500"),
             ("healthchecks.active.unhealthy.http_statuses[]", "502"),
             ("healthchecks.active.type", "tcp"), ("healthchecks.threshold", "50")]
    if mode == "form":
        r = admin.post("/upstreams", data=pairs)
    else:
        r = admin.post("/upstreams", files=[(k, (None, v)) for k, v in pairs])
    hc = ok(r, 201)["healthchecks"]
    assert hc["active"]["healthy"]["successes"] == 2
    assert hc["active"]["unhealthy"]["http_statuses"] == [500, 502]
    assert hc["active"]["type"] == "tcp" and hc["threshold"] == 50


def test_healthchecks_errors_are_nested(admin):
    """torii: errors of the healthchecks record follow its shape (Kong's fields)."""
    r = post(admin, {"name": "a", "healthchecks": {
        "active": {"type": "udp", "timeout": 70000, "concurrency": 0, "http_path": "x",
                   "https_verify_certificate": "maybe",
                   "healthy": {"successes": 256, "http_statuses": [200, 99, "x"]},
                   "unhealthy": {"interval": -1, "nope": 1}},
        "passive": {"healthy": "x", "unhealthy": {"timeouts": 1.5}},
        "threshold": 101}})
    j = bad(r, {"healthchecks": {
        "active": {"type": "expected one of: tcp, http, https, grpc, grpcs",
                   "timeout": "value should be between 0 and 65535",
                   "concurrency": "value should be between 1 and 2147483648",
                   "http_path": "should start with: /",
                   "https_verify_certificate": "expected a boolean",
                   "healthy": {"successes": "value should be between 0 and 255",
                               "http_statuses": [None, "value should be between 100 and 999",
                                                 "expected an integer"]},
                   "unhealthy": {"interval": "value should be between 0 and 65535",
                                 "nope": "unknown field"}},
        "passive": {"healthy": "expected a record",
                    "unhealthy": {"timeouts": "expected an integer"}},
        "threshold": "value should be between 0 and 100"}})
    assert j["message"].startswith("3 schema violations (healthchecks.active: ")
    bad(post(admin, {"name": "a", "healthchecks": 5}), {"healthchecks": "expected a record"})
    bad(post(admin, {"name": "a", "healthchecks": {"active": {"headers": {"bad name": ["x"]}}}}),
        {"healthchecks": {"active": {"headers": {"bad name": "bad header name 'bad name', "
                                                             "allowed characters are A-Z, a-z, "
                                                             "0-9, '_', and '-'"}}}})


def test_patch_merges_healthchecks(admin):
    """torii: PATCH merges the healthchecks record level by level (Kong's merge_values); PUT
    replaces it (the rest back to defaults)."""
    ok(post(admin, {"name": "a", "healthchecks": {"active": {"healthy": {"interval": 5}}}}),
       201)
    j = ok(admin.patch("/upstreams/a", json={"healthchecks": {"passive": {"unhealthy": {
        "http_failures": 2}}}}))
    assert j["healthchecks"]["active"]["healthy"]["interval"] == 5
    assert j["healthchecks"]["passive"]["unhealthy"]["http_failures"] == 2
    assert j["healthchecks"]["passive"]["unhealthy"]["http_statuses"] == [429, 500, 503]
    j = ok(admin.put("/upstreams/a", json={"slots": 20}))
    assert j["healthchecks"] == DEFAULT_HEALTHCHECKS and j["slots"] == 20


# ---- PUT ----------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_creates_if_not_exists(admin, mode):
    """/upstreams PUT: creates if not exists"""
    j = ok(send(admin, "PUT", "/upstreams/my-upstream", {"created_at": 1461276890000}, mode))
    assert j["name"] == "my-upstream" and isinstance(j["created_at"], int)
    assert isinstance(j["id"], str) and isinstance(j["slots"], int)


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_replaces_if_exists(admin, mode):
    """/upstreams PUT: replaces if exists"""
    j = ok(send(admin, "POST", "/upstreams", {"name": "my-upstream", "slots": 100}, mode), 201)
    u = ok(send(admin, "PUT", "/upstreams/" + j["id"],
                {"name": "my-new-upstream", "slots": 123, "created_at": j["created_at"]}, mode))
    assert (u["name"], u["slots"], u["id"]) == ("my-new-upstream", 123, j["id"])


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_handles_invalid_input(admin, mode):
    """/upstreams PUT errors: handles invalid input"""
    r = send(admin, "PUT", "/upstreams/00000000-0000-0000-0000-000000000001", {}, mode)
    assert r.status_code == 400
    assert r.json()["message"] == "schema violation (name: required field missing)"
    r = send(admin, "PUT", "/upstreams/1.2.3.4", {"created_at": 1461276890000}, mode)
    assert r.status_code == 400
    assert r.json() == {"code": 10, "name": "invalid unique name",
                        "message": "Invalid name ('1.2.3.4'); no ip addresses allowed"}


def test_item_paths_check_the_name(admin):
    """torii: GET, PATCH and DELETE by a name that cannot be one answer Kong's 400 too."""
    for method in ("GET", "PATCH", "DELETE"):
        r = admin.request(method, "/upstreams/1.2.3.4:80", json={})
        assert r.status_code == 400 and r.json()["code"] == 10, method
    assert admin.get("/upstreams/1.2.3.4/targets").status_code == 400


# ---- GET ----------------------------------------------------------------------------------

def test_get_by_id_and_name_and_patch(admin):
    """torii: GET by id or name; PATCH keeps the rest and bumps updated_at."""
    u = ok(post(admin, {"name": "u1", "slots": 20}), 201)
    assert ok(admin.get("/upstreams/u1")) == u
    assert ok(admin.get("/upstreams/" + u["id"].upper())) == u
    assert admin.get("/upstreams/nothing").json() == {"message": "Not found"}
    assert admin.get("/upstreams/" + str(uuid.uuid4())).status_code == 404
    p = ok(admin.patch("/upstreams/u1", json={"host_header": "h.test"}))
    assert p["slots"] == 20 and p["host_header"] == "h.test" and p["created_at"] == u["created_at"]
    r = admin.patch("/upstreams/u1", json={"slots": 1})
    assert r.status_code == 400
    assert admin.patch("/upstreams/nothing", json={}).status_code == 404


def test_retrieves_the_first_page_and_paginates(admin):
    """/upstreams GET: retrieves the first page; paginates a set"""
    for i in range(10):
        ok(post(admin, {"name": "upstream-%d" % i}), 201)
    j = ok(admin.get("/upstreams"))
    assert len(j["data"]) == 10 and j["next"] is None
    seen, url, pages = [], "/upstreams?size=3", 0
    while url:
        j = ok(admin.get(url))
        seen += [u["name"] for u in j["data"]]
        url, pages = j["next"], pages + 1
        if url:
            assert isinstance(j["offset"], str)
    assert pages == 4 and sorted(seen) == sorted("upstream-%d" % i for i in range(10))


def test_ignores_filters_and_an_invalid_body(admin):
    """/upstreams GET: ignores filters; ignores an invalid body"""
    assert admin.get("/upstreams?foo=bar").status_code == 200
    r = admin.request("GET", "/upstreams", data="this fails if decoded as json",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 200


def test_returns_bad_request_for_empty_tags(admin):
    """/upstreams GET: returns bad request for empty tags"""
    r = admin.get("/upstreams?tags=")
    assert r.status_code == 400
    assert r.json()["message"] == "invalid option (tags: cannot be null)"


def test_data_property_is_an_empty_array(admin):
    """/upstreams GET empty results: data property is an empty array"""
    r = admin.get("/upstreams")
    assert r.json() == {"data": [], "next": None} and '"data":[]' in r.text


def test_tags_filter_and_tags_endpoint(admin):
    """torii: ?tags= on /upstreams, and /tags lists upstreams and targets."""
    a = ok(post(admin, {"name": "a", "tags": ["x", "y"]}), 201)
    ok(post(admin, {"name": "b", "tags": ["y"]}), 201)
    assert [u["name"] for u in ok(admin.get("/upstreams?tags=x,y"))["data"]] == ["a"]
    assert sorted(u["name"] for u in ok(admin.get("/upstreams?tags=x/y"))["data"]) == ["a", "b"]
    t = ok(admin.post("/upstreams/a/targets", json={"target": "t.test", "tags": ["x"]}), 201)
    rows = ok(admin.get("/tags/x"))["data"]
    assert {"entity_name": "upstreams", "entity_id": a["id"], "tag": "x"} in rows
    assert {"entity_name": "targets", "entity_id": t["id"], "tag": "x"} in rows


# ---- DELETE -------------------------------------------------------------------------------

def test_delete_by_id_and_by_name(admin):
    """/upstreams DELETE: by id; by name"""
    a = ok(post(admin, {"name": "my-upstream"}), 201)
    assert admin.delete("/upstreams/" + a["id"]).status_code == 204
    assert admin.get("/upstreams/" + a["id"]).status_code == 404
    ok(post(admin, {"name": "my-upstream"}), 201)
    assert admin.delete("/upstreams/my-upstream").status_code == 204
    assert admin.get("/upstreams/my-upstream").status_code == 404
    assert admin.delete("/upstreams/my-upstream").status_code == 204


def test_can_delete_an_upstream_with_targets(admin):
    """/upstreams DELETE: can delete an upstream with targets; after deleting its targets
    (regression test for #4317)"""
    u = ok(post(admin, {"name": "my-upstream"}), 201)
    t1 = ok(admin.post("/upstreams/my-upstream/targets", json={"target": "127.0.0.1:8000"}),
            201)
    ok(admin.post("/upstreams/my-upstream/targets", json={"target": "127.0.0.2:8000"}), 201)
    assert admin.delete("/upstreams/my-upstream/targets/" + t1["id"]).status_code == 204
    assert admin.delete("/upstreams/my-upstream").status_code == 204
    assert admin.get("/upstreams/" + u["id"] + "/targets").status_code == 404
    # The targets went with it: a new upstream of that name has none.
    ok(post(admin, {"name": "my-upstream"}), 201)
    assert ok(admin.get("/upstreams/my-upstream/targets/all"))["data"] == []


def test_returns_405_on_invalid_method(admin):
    """/upstreams: returns 405 on invalid method"""
    r = admin.request("DELETE", "/upstreams")
    assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}


def test_page_size_1(admin):
    """#regression: page size 1"""
    ok(post(admin, {"name": "a"}), 201)
    ok(post(admin, {"name": "b"}), 201)
    j = ok(admin.get("/upstreams?size=1"))
    assert len(j["data"]) == 1 and j["next"]
    j2 = ok(admin.get(j["next"]))
    assert len(j2["data"]) == 1 and j2["data"][0]["id"] != j["data"][0]["id"]


def test_a_service_may_name_an_upstream(admin):
    """torii: a Kong 3 service whose host names an upstream is valid."""
    ok(post(admin, {"name": "backend.upstream"}), 201)
    s = add_service(admin, host="backend.upstream")
    assert s["host"] == "backend.upstream"
    assert admin.delete("/services/" + s["id"]).status_code == 204


def test_certificate_in_use_cannot_be_deleted(admin, tmp_path):
    """torii: a certificate an upstream presents stays until the upstream lets it go (as for
    services: Kong's foreign key violation)."""
    crt, key = make_cert(tmp_path, "client.test")
    cert = ok(admin.post("/certificates", json={"cert": crt.read_text(),
                                                "key": key.read_text()}), 201)
    u = ok(post(admin, {"name": "a", "client_certificate": {"id": cert["id"]}}), 201)
    assert u["client_certificate"] == {"id": cert["id"]}
    r = admin.delete("/certificates/" + cert["id"])
    assert r.status_code == 400 and r.json()["code"] == 4, r.text
    ok(admin.patch("/upstreams/a", json={"client_certificate": None}))
    assert admin.delete("/certificates/" + cert["id"]).status_code == 204


# ---- durability ---------------------------------------------------------------------------

def test_kill9_after_2xx_keeps_upstreams(torii_factory):
    """torii: every 2xx write survives kill -9 and a restart."""
    t = torii_factory()
    made = []
    for i in range(3):
        u = ok(t.admin.post("/upstreams", json={"name": "d%d" % i, "tags": ["t%d" % i],
                                                "healthchecks": {"threshold": i}}), 201)
        made.append(u)
        t.kill9()
        t.restart()
        for u0 in made:
            assert ok(t.admin.get("/upstreams/" + u0["id"])) == u0
    p = ok(t.admin.patch("/upstreams/d0", json={"slots": 77}))
    t.kill9()
    t.restart()
    assert ok(t.admin.get("/upstreams/d0")) == p
    assert t.admin.delete("/upstreams/d1").status_code == 204
    t.kill9()
    t.restart()
    assert t.admin.get("/upstreams/d1").status_code == 404

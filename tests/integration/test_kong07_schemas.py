# SPDX-License-Identifier: MIT
"""Kong's entity schema spec ported: spec/unit/dao/entities_schemas_spec.lua at tag 0.7.0, one
test per `it(...)` case. Kong validated Lua tables with validate_entity(); here each table goes
to the Admin API as a JSON body (JSON keeps the spec's types: `request_path = true` stays a
boolean), and the answer's field -> message object is what validate_entity returned. A table
that validates is created (201) and deleted again, so the next one starts clean.

torii differs from Kong 0.7 as documented in docs/kong-reference.md ("Kong's own specs: where
torii differs"): request_path "/" is accepted (as from Kong 0.8.2), and key-auth's config has
the later Kong fields beside key_names and hide_credentials. Cases that inspect Lua tables or
need a plugin torii does not bundle are listed as skipped."""

import pytest

from kong07 import add_api, skip_table, start, stop, write

HOST_OR_PATH = "At least a 'request_host' or a 'request_path' must be specified"
USER_OR_ID = "At least a 'custom_id' or a 'username' must be specified"
MOCKBIN = "http://mockbin.com"
SPEC = "spec/unit/dao/entities_schemas_spec.lua@0.7.0"

SKIPPED = [
    (SPEC, "%s schema should have some required properties" % kind,
     "inspects the Lua schema table (name, primary_key, fields); torii's schemas are C field "
     "tables, checked by tests/unit/test_schema.c")
    for kind in ("api", "consumer", "plugins")
] + [
    (SPEC, "should be valid if no value is specified for a subfield and if the config schema "
     "has default as empty array", "response-transformer is not a bundled plugin"),
]
test_skipped_spec_case = skip_table(SKIPPED)


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    ns = start(tmp_path_factory, "k07schemas")
    yield ns
    stop(ns)


def validate(k, path, table):
    """(status, body) of a POST of table to path as JSON; a created entity is deleted."""
    r = write(k.admin, "POST", path, table, "json")
    body = r.json()
    if r.status_code == 201:
        kind = path.strip("/").split("/")[0]
        assert k.admin.delete("/%s/%s" % (kind, body["id"])).status_code == 204
    return r.status_code, body


def api_errors(k, table):
    status, body = validate(k, "/apis/", table)
    return None if status == 201 else body


# ---- APIs ------------------------------------------------------------------------------------

def test_api_refuses_empty_object(k):
    """"should refuse an empty object"."""
    assert api_errors(k, {})


def test_api_name_reserved_characters(k):
    """"should not accept a name with reserved URI characters in it"."""
    for name in ("mockbin#2", "mockbin/com", 'mockbin"', "mockbin:2", "mockbin?", "[mockbin]"):
        errors = api_errors(k, {"name": name, "upstream_url": MOCKBIN,
                                "request_host": "mockbin.com"})
        assert errors["name"] == "name must only contain alphanumeric and '., -, _, ~' " \
                                 "characters", name


def test_api_wrong_upstream_url(k):
    """"should return error with wrong upstream_url"."""
    errors = api_errors(k, {"name": "mockbin", "request_host": "mockbin.com",
                            "upstream_url": "asdasd"})
    assert errors["upstream_url"] == "upstream_url is not a url"


def test_api_wrong_upstream_url_protocol(k):
    """"should return error with wrong upstream_url protocol"."""
    errors = api_errors(k, {"name": "mockbin", "request_host": "mockbin.com",
                            "upstream_url": "wot://mockbin.com/"})
    assert errors["upstream_url"] == "Supported protocols are HTTP and HTTPS"


def test_api_upper_case_protocol(k):
    """"should validate with upper case protocol"."""
    assert api_errors(k, {"name": "mockbin", "request_host": "mockbin.com",
                          "upstream_url": "HTTP://mockbin.com/world"}) is None


def test_api_request_host_empty(k):
    """"should complain if it is an empty string" (request_host)."""
    errors = api_errors(k, {"request_host": "", "upstream_url": MOCKBIN, "name": "mockbin"})
    assert errors["request_host"] == HOST_OR_PATH
    assert errors["request_path"] == HOST_OR_PATH


def test_api_invalid_request_host(k):
    """"should not accept an invalid request_host": "Invalid value: <v>", and request_path
    not named."""
    for v in ("/mockbin", ".mockbin", "mockbin.", "mockbin.f", "mock;bin", "mockbin.com-org",
              "mockbin.com/org", "mockbin.com_org", "-mockbin.org", "mockbin-.org",
              "mockbin.or-g", "mockbin.org-", "mockbin.-org", "hello.-mockbin.com",
              "hello..mockbin.com", "hello-.mockbin.com"):
        errors = api_errors(k, {"request_host": v, "upstream_url": MOCKBIN, "name": "mockbin"})
        assert errors == {"request_host": "Invalid value: " + v}, (v, errors)


def test_api_valid_request_host(k):
    """"should accept valid request_host"."""
    for v in ("hello.com", "hello.fr", "test.hello.com", "1991.io", "hello.COM", "HELLO.com",
              "123helloWORLD.com", "mockbin.123", "mockbin-api.com", "hello.abcd",
              "mockbin_api.com"):
        assert api_errors(k, {"request_host": v, "upstream_url": MOCKBIN,
                              "name": "mockbin"}) is None, v


def test_api_valid_wildcard_request_host(k):
    """"should accept valid wildcard request_host"."""
    for v in ("mockbin.*", "*.mockbin.org"):
        assert api_errors(k, {"request_host": v, "upstream_url": MOCKBIN,
                              "name": "mockbin"}) is None, v


def test_api_more_than_one_wildcard(k):
    """"should refuse request_host with more than one wildcard"."""
    errors = api_errors(k, {"name": "mockbin", "request_host": "*.mockbin.*",
                            "upstream_url": MOCKBIN})
    assert errors["request_host"] == "Only one wildcard is allowed: *.mockbin.*"


def test_api_invalid_wildcard_placement(k):
    """"should refuse invalid wildcard request_host"."""
    for v in ("*mockbin.com", "www.mockbin*", "mock*bin.com"):
        errors = api_errors(k, {"request_host": v, "upstream_url": MOCKBIN, "name": "mockbin"})
        assert errors["request_host"] == "Invalid wildcard placement: " + v


def test_api_request_path_empty(k):
    """"should complain if it is an empty string" (request_path)."""
    errors = api_errors(k, {"request_path": "", "upstream_url": MOCKBIN})
    assert errors["request_host"] == HOST_OR_PATH
    assert errors["request_path"] == HOST_OR_PATH


def test_api_request_path_reserved_characters(k):
    """"should not accept reserved characters from RFC 3986"."""
    errors = api_errors(k, {"request_path": "/[a-z]{3}", "upstream_url": MOCKBIN,
                            "name": "mockbin"})
    assert errors["request_path"] == "must only contain alphanumeric and '., -, _, ~, /' " \
                                     "characters"


def test_api_request_path_unreserved_characters(k):
    """"should accept unreserved characters from RFC 3986"."""
    assert api_errors(k, {"request_path": "/abcd~user-2", "upstream_url": MOCKBIN,
                          "name": "mockbin"}) is None


def test_api_request_path_without_slash(k):
    """"should not accept without prefix slash"."""
    for v in ("status", "status/123"):
        errors = api_errors(k, {"request_path": v, "upstream_url": MOCKBIN, "name": "mockbin"})
        assert errors["request_path"] == "must be prefixed with slash: '%s'" % v


def test_api_request_path_root(k):
    """"should not accept root (no prefix slash)" (0.7: "cannot be an empty path: '/'"). torii
    accepts "/", as Kong does from 0.8.2 (a catch-all api, the longest prefix losing to any
    other)."""
    status, body = validate(k, "/apis/", {"name": "mockbin", "request_path": "/",
                                          "upstream_url": MOCKBIN})
    assert status == 201, body
    assert body["request_path"] == "/"


def test_api_request_path_invalid_uri(k):
    """"should not accept invalid URI"."""
    for v in ("//status", "/status//123", "/status/123//"):
        errors = api_errors(k, {"request_path": v, "upstream_url": MOCKBIN, "name": "mockbin"})
        assert errors["request_path"] == "invalid: '%s'" % v


def test_api_request_path_trailing_slash(k):
    """"should remove trailing slash"."""
    for v in ("/status/", "/status/123/"):
        status, body = validate(k, "/apis/", {"request_path": v, "upstream_url": MOCKBIN,
                                              "name": "mockbin"})
        assert status == 201, body
        assert body["request_path"] == v[:-1]


def test_api_without_request_path(k):
    """"should validate without a request_path"."""
    assert api_errors(k, {"request_host": "mockbin.com", "upstream_url": MOCKBIN}) is None


def test_api_missing_host_and_path(k):
    """"should complain if missing request_host and request_path": both named; a request_path
    that is no string keeps its own message, request_host still gets the rule's."""
    errors = api_errors(k, {"name": "mockbin"})
    assert errors["request_path"] == HOST_OR_PATH
    assert errors["request_host"] == HOST_OR_PATH
    errors = api_errors(k, {"name": "mockbin", "request_path": True})
    assert errors["request_path"] == "request_path is not a string"
    assert errors["request_host"] == HOST_OR_PATH


def test_api_name_from_request_host(k):
    """"should set the name from request_host if not set"."""
    status, body = validate(k, "/apis/", {"request_host": "mockbin.com",
                                          "upstream_url": MOCKBIN})
    assert status == 201 and body["name"] == "mockbin.com"


def test_api_name_from_request_path(k):
    """"should set the name from request_path if not set"."""
    status, body = validate(k, "/apis/", {"request_path": "/mockbin", "upstream_url": MOCKBIN})
    assert status == 201 and body["name"] == "mockbin"


def test_api_name_normalized(k):
    """"should normalize a name for URI if coming from request_host or request_path"."""
    status, body = validate(k, "/apis/", {"upstream_url": MOCKBIN,
                                          "request_host": "mockbin.com"})
    assert status == 201 and body["name"] == "mockbin.com"
    status, body = validate(k, "/apis/", {"upstream_url": MOCKBIN,
                                          "request_path": "/mockbin/status"})
    assert status == 201 and body["name"] == "mockbin-status"


# ---- Consumers -------------------------------------------------------------------------------

def test_consumer_custom_id_or_username(k):
    """"should require a `custom_id` or `username`"."""
    for table, username_msg in (({}, USER_OR_ID), ({"username": ""}, USER_OR_ID),
                                ({"username": True}, "username is not a string")):
        status, errors = validate(k, "/consumers/", table)
        assert status == 400
        assert errors["username"] == username_msg, table
        assert errors["custom_id"] == USER_OR_ID, table


# ---- Plugins ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api_id(k):
    return add_api(k, "plugins-schema.com", "plugins-schema")["id"]


def test_plugin_not_installed(k, api_id):
    """"should not validate if the plugin doesn't exist (not installed)"."""
    status, errors = validate(k, "/plugins/", {"name": "world domination"})
    assert status == 400
    assert errors["config"] == 'Plugin "world domination" not found'


def test_plugin_config_validated(k, api_id):
    """"should validate a plugin configuration's `config` field"."""
    status, body = validate(k, "/plugins/", {"name": "key-auth", "api_id": api_id,
                                             "config": {"key_names": ["x-kong-key"]}})
    assert status == 201, body
    status, errors = validate(k, "/plugins/", {"name": "rate-limiting", "api_id": api_id,
                                               "config": {"second": "hello"}})
    assert status == 400
    assert errors["config.second"] == "second is not a number"


def test_plugin_default_config(k, api_id):
    """"should have an empty config if none is specified and if the config schema does not
    have default": key-auth's defaults filled in (torii's key-auth also has the later Kong
    fields)."""
    status, body = validate(k, "/plugins/", {"name": "key-auth", "api_id": api_id})
    assert status == 201, body
    assert body["config"]["key_names"] == ["apikey"]
    assert body["config"]["hide_credentials"] is False
    assert set(body["config"]) - {"key_names", "hide_credentials"} <= {
        "anonymous", "key_in_header", "key_in_query", "key_in_body", "run_on_preflight"}


def test_plugin_no_consumer(k, api_id):
    """"should refuse `consumer_id` if specified in the config schema" (Kong replaced the
    schema with a no_consumer stub; key-auth is such a plugin)."""
    consumer = k.admin.post("/consumers/", data={"username": "schema-bob"}).json()
    status, errors = validate(k, "/plugins/", {"name": "key-auth", "api_id": api_id,
                                               "consumer_id": consumer["id"]})
    assert status == 400
    assert errors == {"message": "No consumer can be configured for that plugin"}
    status, body = validate(k, "/plugins/", {"name": "key-auth", "api_id": api_id})
    assert status == 201, body


# ---- update ----------------------------------------------------------------------------------

def test_update_validates_updated_fields(k):
    """"should only validate updated fields": an update clearing request_host names it alone,
    not request_path."""
    api = add_api(k, "update-only.com", "update-only")
    r = write(k.admin, "PATCH", "/apis/" + api["id"],
              {"request_host": "", "upstream_url": MOCKBIN}, "json")
    assert r.status_code == 400
    assert r.json() == {"request_host": HOST_OR_PATH}

# SPDX-License-Identifier: MIT
"""Kong's /apis Admin API spec ported: spec/integration/admin_api/apis_routes_spec.lua at tag
0.7.0 and spec/integration/04-admin_api/apis_routes_spec.lua at 0.8.3, one test per `it(...)`
case. Kong's it_content_types ran a case twice, with a form ("application/www-form-urlencoded",
which Kong's http_client sent as application/x-www-form-urlencoded) and with JSON: here it is
one test per case and body encoding. Each case starts from an empty store with Kong's fixture
(before_each/after_each), as the spec did.

torii differs from Kong as documented in docs/kong-reference.md ("Kong's own specs: where torii
differs"): a PUT may leave created_at out and may not change it (0.7; 0.8.3 required it and
stored the one sent), a 409 keeps 0.7's words ("<f> already exists with value '<v>'"; 0.8.3
dropped the field name), and an unknown list filter is "<f> is an unknown field" (0.8.3:
"unknown field"). Every case is ported; none is skipped."""

import pytest

from kong07 import BODY_MODES, created, drop_db, next_offset, seed_db, start, stop, write

AT_LEAST = "At least a 'request_host' or a 'request_path' must be specified"
MOCKBIN = "http://mockbin.com"

@pytest.fixture(scope="module")
def node(tmp_path_factory):
    ns = start(tmp_path_factory, "k07apis")
    yield ns
    stop(ns)


@pytest.fixture
def k(node):
    """before_each: the api-test fixture; after_each: drop_db."""
    node.api = created(node.admin.post("/apis/", data={
        "name": "api-test", "request_host": "api-test.com", "upstream_url": MOCKBIN}), "api")
    yield node
    drop_db(node.admin)


def req(k, method, path, fields, mode):
    return write(k.admin, method, path, fields, mode)


# ---- /apis/ POST -----------------------------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_post_create(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should create an API" (with form and JSON)."""
    r = req(k, "POST", "/apis/", {"name": "new-api", "request_host": "new-api.com",
                                  "upstream_url": MOCKBIN}, mode)
    assert r.status_code == 201, r.text


def test_post_malformed_json(k):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should notify of malformed JSON body"."""
    r = k.admin.post("/apis/", data='{"hello":"world"',
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"message": "Cannot parse JSON body"}
    assert r.text == '{"message":"Cannot parse JSON body"}'


@pytest.mark.parametrize("mode", BODY_MODES)
def test_post_validation_errors(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "return proper validation errors": every failing
    field under its own name, in one answer."""
    r = req(k, "POST", "/apis/", {}, mode)
    assert r.status_code == 400
    assert r.json() == {"upstream_url": "upstream_url is required",
                        "request_path": AT_LEAST, "request_host": AT_LEAST}
    r = req(k, "POST", "/apis/", {"request_host": "/httpbin", "upstream_url": MOCKBIN}, mode)
    assert r.status_code == 400
    assert r.json() == {"request_host": "Invalid value: /httpbin"}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_post_409(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 409 if already exists" (0.7's
    message; 0.8.3's was "already exists with value 'api-test.com'")."""
    r = req(k, "POST", "/apis/", {"request_host": "api-test.com", "upstream_url": MOCKBIN}, mode)
    assert r.status_code == 409
    assert r.json() == {"request_host": "request_host already exists with value 'api-test.com'"}


# ---- /apis/ PUT ------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_create(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should create if not exists"."""
    r = req(k, "PUT", "/apis/", {"name": "new-api", "request_host": "new-api.com",
                                 "upstream_url": MOCKBIN}, mode)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_update(k, mode):
    """apis_routes_spec.lua@0.7.0: "should update if exists" (without created_at, which the
    stored entity keeps)."""
    r = req(k, "PUT", "/apis/", {"id": k.api["id"], "name": "api-PUT-tests-updated",
                                 "request_host": "updated-api.mockbin.com",
                                 "upstream_url": MOCKBIN}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "api-PUT-tests-updated"
    assert r.json()["created_at"] == k.api["created_at"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_update_without_created_at(k, mode):
    """apis_routes_spec.lua@0.8.3: "should not update if some required fields are missing"
    (0.8.3: 400 {"created_at": "created_at is required"}). torii follows 0.7's "should update
    if exists": a PUT without created_at replaces the entity and keeps the stored time."""
    r = req(k, "PUT", "/apis/", {"id": k.api["id"], "name": "api-PUT-tests-updated",
                                 "request_host": "updated-api.mockbin.com",
                                 "upstream_url": MOCKBIN}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["created_at"] == k.api["created_at"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_update_with_created_at(k, mode):
    """apis_routes_spec.lua@0.8.3: "should update if exists" (with created_at 1461276890000;
    0.8.3 stored it). torii keeps 0.7's rule: created_at cannot be changed, not even by a PUT;
    the stored value sent back is accepted."""
    fields = {"id": k.api["id"], "name": "api-PUT-tests-updated",
              "request_host": "updated-api.mockbin.com", "upstream_url": MOCKBIN,
              "created_at": 1461276890000}
    r = req(k, "PUT", "/apis/", fields, mode)
    assert r.status_code == 400
    assert r.json() == {"created_at": "created_at cannot be updated"}
    fields["created_at"] = k.api["created_at"]
    r = req(k, "PUT", "/apis/", fields, mode)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "api-PUT-tests-updated"
    assert r.json()["created_at"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_validation_errors(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors" (PUT)."""
    r = req(k, "PUT", "/apis/", {}, mode)
    assert r.status_code == 400
    assert r.json() == {"upstream_url": "upstream_url is required",
                        "request_path": AT_LEAST, "request_host": AT_LEAST}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_409(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 409 if already exists" (PUT
    without an id inserts; 0.7's message)."""
    r = req(k, "PUT", "/apis/", {"request_host": "api-test.com", "upstream_url": MOCKBIN}, mode)
    assert r.status_code == 409
    assert r.json() == {"request_host": "request_host already exists with value 'api-test.com'"}


# ---- /apis/ GET ------------------------------------------------------------------------------

@pytest.fixture
def seeded(k):
    """GET's before_each: drop_db, then seed_db(10)."""
    drop_db(k.admin)
    seed_db(k.admin, 10)
    return k


def test_get_first_page(seeded):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should retrieve the first page"."""
    r = seeded.admin.get("/apis/")
    assert r.status_code == 200
    body = r.json()
    assert len(body["data"]) == 10
    assert body["total"] == 10


def test_get_paginated(seeded):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should retrieve a paginated set": pages of 3, 3
    and 4 (0.7), and of 3, 3, 3 and 1 (0.8.3); "next" only while rows remain."""
    a = seeded.admin
    p1 = a.get("/apis/", params={"size": 3}).json()
    assert len(p1["data"]) == 3 and p1["next"] and p1["total"] == 10
    p2 = a.get("/apis/", params={"size": 3, "offset": next_offset(p1)}).json()
    assert len(p2["data"]) == 3 and p2["next"] and p2["total"] == 10
    assert p1 != p2
    p3 = a.get("/apis/", params={"size": 4, "offset": next_offset(p2)}).json()
    assert len(p3["data"]) == 4 and p3["total"] == 10
    assert "next" not in p3
    assert p2 != p3
    p3 = a.get("/apis/", params={"size": 3, "offset": next_offset(p2)}).json()
    assert len(p3["data"]) == 3 and p3["next"] and p3["total"] == 10
    p4 = a.get("/apis/", params={"size": 3, "offset": next_offset(p3)}).json()
    assert len(p4["data"]) == 1 and p4["total"] == 10
    assert "next" not in p4
    ids = [x["id"] for p in (p1, p2, p3, p4) for x in p["data"]]
    assert len(set(ids)) == 10


def test_get_refuses_invalid_filters(seeded):
    """apis_routes_spec.lua@0.8.3: "should refuse invalid filters" (0.8.3's message was
    "unknown field"; torii's names the field as for bodies)."""
    r = seeded.admin.get("/apis/", params={"foo": "bar"})
    assert r.status_code == 400
    assert r.json() == {"foo": "foo is an unknown field"}


# ---- /apis/:api ------------------------------------------------------------------------------

def test_get_by_id(k):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should retrieve by id"."""
    r = k.admin.get("/apis/" + k.api["id"])
    assert r.status_code == 200
    assert r.json() == k.api


def test_get_by_name(k):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should retrieve by name"."""
    r = k.admin.get("/apis/" + k.api["name"])
    assert r.status_code == 200
    assert r.json() == k.api


def test_get_404(k):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should reply with HTTP 404 if not found"."""
    assert k.admin.get("/apis/none").status_code == 404


def stored(k):
    """The api as the store holds it (Kong's specs read it back through the DAO)."""
    r = k.admin.get("/apis/" + k.api["id"])
    assert r.status_code == 200
    return r.json()


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_name(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update name if found"."""
    r = req(k, "PATCH", "/apis/" + k.api["id"], {"name": "patch-updated"}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "patch-updated"
    assert stored(k)["name"] == "patch-updated"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_name_by_old_name(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update name by its old name"."""
    r = req(k, "PATCH", "/apis/" + k.api["name"], {"name": "patch-updated"}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "patch-updated"
    assert stored(k)["name"] == "patch-updated"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_request_path(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update request_path"."""
    r = req(k, "PATCH", "/apis/" + k.api["id"], {"request_path": "/httpbin-updated"}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["request_path"] == "/httpbin-updated"
    assert stored(k)["request_path"] == "/httpbin-updated"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_strip_request_path(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update strip_request_path if it was not
    previously set"."""
    r = req(k, "PATCH", "/apis/" + k.api["id"], {"strip_request_path": True}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["strip_request_path"] is True
    assert stored(k)["strip_request_path"] is True


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_host_and_path(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update request_host and request_path at
    once"."""
    r = req(k, "PATCH", "/apis/" + k.api["id"], {"request_path": "/httpbin-updated-path",
                                                 "request_host": "httpbin-updated.org"}, mode)
    assert r.status_code == 200, r.text
    for doc in (r.json(), stored(k)):
        assert doc["request_path"] == "/httpbin-updated-path"
        assert doc["request_host"] == "httpbin-updated.org"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_404(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return 404 if not found"."""
    r = req(k, "PATCH", "/apis/hello", {"name": "patch-updated"}, mode)
    assert r.status_code == 404


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_validation_errors(k, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors" (PATCH):
    clearing the only one of request_host and request_path names the field sent, alone."""
    r = req(k, "PATCH", "/apis/" + k.api["id"], {"name": "api", "request_host": " "}, mode)
    assert r.status_code == 400
    assert r.json() == {"request_host": AT_LEAST}
    assert stored(k) == k.api


@pytest.fixture
def to_delete(k):
    """DELETE's before_each: a second api, to-delete."""
    created(k.admin.post("/apis/", data={"name": "to-delete", "request_host": "to-delete.com",
                                         "upstream_url": MOCKBIN}), "api")
    return k


def test_delete_by_id(to_delete):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "delete an API by id"."""
    r = to_delete.admin.delete("/apis/" + to_delete.api["id"])
    assert r.status_code == 204
    assert r.content == b""


def test_delete_by_name(to_delete):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "delete an API by name"."""
    r = to_delete.admin.delete("/apis/to-delete")
    assert r.status_code == 204
    assert r.content == b""


def test_delete_404(to_delete):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 404 if not found"."""
    assert to_delete.admin.delete("/apis/hello").status_code == 404


# ---- /apis/:api/plugins/ ---------------------------------------------------------------------

@pytest.fixture
def pk(k):
    """The plugins describe's before_each: an api plugin-put-tests with key-auth
    (hide_credentials) on it; PLUGIN_BASE_URL is api-test's collection."""
    k.base = "/apis/%s/plugins/" % k.api["id"]
    k.api_with_plugin = created(k.admin.post("/apis/", data={
        "name": "plugin-put-tests", "request_host": "plugin-put-tests.com",
        "upstream_url": MOCKBIN}), "api")
    k.plugin = created(write(k.admin, "POST", "/apis/plugin-put-tests/plugins/",
                             {"name": "key-auth", "config": {"hide_credentials": True}}, "json"),
                       "plugin")
    k.api_plugin_base = "/apis/%s/plugins/" % k.api_with_plugin["id"]
    return k


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_post_create(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should create a plugin configuration" (the JSON
    body names config.key_names as a dotted key, as Kong's spec did)."""
    r = req(pk, "POST", pk.base, {"name": "key-auth", "config.key_names": "apikey,key"}, mode)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["name"] == "key-auth"
    assert body["config"]["key_names"] == ["apikey", "key"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_post_default(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should create with default value"."""
    r = req(pk, "POST", pk.base, {"name": "key-auth"}, mode)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "key-auth"
    assert r.json()["config"]["key_names"] == ["apikey"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_post_validation_errors(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors" (POST)."""
    r = req(pk, "POST", pk.base, {}, mode)
    assert r.status_code == 400
    assert r.json() == {"name": "name is required"}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_create(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should create if not exists" (PUT)."""
    r = req(pk, "PUT", pk.base, {"name": "key-auth", "config.key_names": "apikey,key"}, mode)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "key-auth"
    assert r.json()["config"]["key_names"] == ["apikey", "key"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_default(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should create with default value" (PUT)."""
    r = req(pk, "PUT", pk.base, {"name": "key-auth"}, mode)
    assert r.status_code == 201, r.text
    assert r.json()["config"]["key_names"] == ["apikey"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_update(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update if exists" (0.8.3 also sent a
    created_at of its own, which torii does not take: test_put_update_with_created_at)."""
    r = req(pk, "PUT", pk.base, {"id": pk.plugin["id"], "name": "key-auth",
                                 "config.key_names": "updated_apikey"}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["key_names"][0] == "updated_apikey"


def plugin_stored(k, plugin_id):
    r = k.admin.get("/plugins/" + plugin_id)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_update_defaults(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update with default values": a PUT replaces
    the config, so what it leaves out takes its default again."""
    plugin = created(write(pk.admin, "POST", pk.base,
                           {"name": "key-auth", "config": {"hide_credentials": True}}, "json"))
    assert plugin["config"]["hide_credentials"] is True
    assert plugin["config"]["key_names"] == ["apikey"]
    r = req(pk, "PUT", pk.base, {"id": plugin["id"], "name": "key-auth"}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["hide_credentials"] is False
    doc = plugin_stored(pk, plugin["id"])
    assert doc["config"]["hide_credentials"] is False
    assert doc["config"]["key_names"] == ["apikey"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_update_defaults_bis(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update with default values bis": the hour a
    PUT leaves out is gone."""
    plugin = created(write(pk.admin, "POST", pk.base,
                           {"name": "rate-limiting", "config": {"hour": 2}}, "json"))
    assert plugin["config"]["hour"] == 2
    r = req(pk, "PUT", pk.base, {"id": plugin["id"], "api_id": pk.api["id"],
                                 "name": "rate-limiting", "config.minute": 3}, mode)
    assert r.status_code == 200, r.text
    for doc in (r.json(), plugin_stored(pk, plugin["id"])):
        assert not doc["config"].get("hour")
        assert doc["config"]["minute"] == 3


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_overrides_partial_config(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should override a plugin's `config` if partial"."""
    r = req(pk, "PUT", pk.base, {"id": pk.plugin["id"], "name": "key-auth",
                                 "config.key_names": "api_key_updated"}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["key_names"] == ["api_key_updated"]
    assert not r.json().get("hide_credentials")
    assert r.json()["config"]["hide_credentials"] is False


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_disable_enable(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should be possible to disable and re-enable it"
    (PUT)."""
    for enabled in (False, True):
        r = req(pk, "PUT", pk.base, {"id": pk.plugin["id"], "name": "key-auth",
                                     "enabled": enabled, "config.key_names": "apikey,key"}, mode)
        assert r.status_code == 200, r.text
        r = pk.admin.get(pk.base + pk.plugin["id"])
        assert r.json()["enabled"] is enabled


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_put_validation_errors(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors" (PUT)."""
    r = req(pk, "PUT", pk.base, {}, mode)
    assert r.status_code == 400
    assert r.json() == {"name": "name is required"}


def test_plugin_get_first_page(pk):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should retrieve the first page" (plugins)."""
    r = pk.admin.get(pk.api_plugin_base)
    assert r.status_code == 200
    assert len(r.json()["data"]) == 1


def test_plugin_get_by_id(pk):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should retrieve by id" (plugin)."""
    r = pk.admin.get(pk.api_plugin_base + pk.plugin["id"])
    assert r.status_code == 200
    assert r.json() == pk.plugin


def test_plugin_not_of_this_api(pk):
    """apis_routes_spec.lua@0.8.3: "[SUCCESS] should not retrieve a plugin that is not
    associated to the right API"."""
    body = pk.admin.get("/apis/").json()
    assert body["total"] == 2
    api_ids = [x["id"] for x in body["data"]]
    plugin = pk.admin.get("/plugins").json()["data"][0]
    mine = plugin["api_id"]
    other = api_ids[1] if api_ids[0] == mine else api_ids[0]
    assert pk.admin.get("/apis/%s/plugins/%s" % (mine, plugin["id"])).status_code == 200
    assert pk.admin.get("/apis/%s/plugins/%s" % (other, plugin["id"])).status_code == 404


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_patch(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should update if exists" (PATCH; the JSON body
    names config.key_names as a dotted key holding a list, as Kong's spec did)."""
    r = req(pk, "PATCH", pk.api_plugin_base + pk.plugin["id"],
            {"config.key_names": ["key_updated"]}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["key_names"][0] == "key_updated"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_patch_keeps_partial_config(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should not override a plugin's `config` if
    partial"."""
    assert pk.plugin["config"]["hide_credentials"] is True
    r = req(pk, "PATCH", pk.api_plugin_base + pk.plugin["id"],
            {"config.key_names": ["key_set_null_test_updated"]}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["key_names"] == ["key_set_null_test_updated"]
    assert r.json()["config"]["hide_credentials"] is True


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_patch_disable_enable(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should be possible to disable and re-enable it"
    (PATCH)."""
    for enabled in (False, True):
        r = req(pk, "PATCH", pk.api_plugin_base + pk.plugin["id"], {"enabled": enabled}, mode)
        assert r.status_code == 200, r.text
        assert plugin_stored(pk, pk.plugin["id"])["enabled"] is enabled


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_patch_404(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 404 if not found" (PATCH)."""
    r = req(pk, "PATCH", pk.api_plugin_base + "b6cca0aa-4537-11e5-af97-23a06d98af51", {}, mode)
    assert r.status_code == 404


@pytest.mark.parametrize("mode", BODY_MODES)
def test_plugin_patch_validation_errors(pk, mode):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors" (PATCH
    naming a plugin that does not exist)."""
    r = req(pk, "PATCH", pk.api_plugin_base + pk.plugin["id"], {"name": "foo"}, mode)
    assert r.status_code == 400
    assert r.json() == {"config": 'Plugin "foo" not found'}
    assert r.text == '{"config":"Plugin \\"foo\\" not found"}'


def test_plugin_delete(pk):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should delete a plugin configuration"."""
    r = pk.admin.delete(pk.api_plugin_base + pk.plugin["id"])
    assert r.status_code == 204
    assert r.content == b""


def test_plugin_delete_404(pk):
    """apis_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 404 if not found" (DELETE)."""
    r = pk.admin.delete(pk.api_plugin_base + "b6cca0aa-4537-11e5-af97-23a06d98af51")
    assert r.status_code == 404

# SPDX-License-Identifier: MIT
"""Kong's /plugins Admin API spec ported: spec/integration/admin_api/plugins_routes_spec.lua at
tag 0.7.0 and spec/integration/04-admin_api/plugins_routes_spec.lua at 0.8.3 (which adds a
re-read after a PATCH and "[SUCCESS] should update when an immutable field does not change"),
one test per `it(...)` case. The spec's fixtures were made once, in setup: three apis with a
key-auth plugin each, and the cases ran in order on them; so do these tests.

The 0.8.3 case that sends a plugin back as read (less created_at) sends it as JSON: Kong's
http_client could only have sent it as a form after flattening it. Every case is ported; none
is skipped."""

import pytest

from kong07 import created, start, stop, write

UNKNOWN = "2f49143e-caba-11e5-9d08-03a86066f7a4"


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    """setup: apis test-get.com, test-patch.com, test-delete.com with key-auth each."""
    ns = start(tmp_path_factory, "k07plugins")
    ns.apis, ns.plugins = [], []
    for host in ("test-get.com", "test-patch.com", "test-delete.com"):
        api = created(ns.admin.post("/apis/", data={"request_host": host,
                                                    "upstream_url": "http://mockbin.com"}))
        ns.apis.append(api)
        ns.plugins.append(created(ns.admin.post("/apis/%s/plugins/" % api["id"],
                                                data={"name": "key-auth"})))
    yield ns
    stop(ns)


def test_enabled(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "should return a list of enabled plugins on this
    node"."""
    r = k.admin.get("/plugins/enabled")
    assert r.status_code == 200
    assert isinstance(r.json()["enabled_plugins"], list)
    assert "key-auth" in r.json()["enabled_plugins"]


def test_get_all(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[SUCCESS] should retrieve all the plugins"."""
    r = k.admin.get("/plugins/")
    assert r.status_code == 200
    assert r.json()["total"] == 3


def test_get_one(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[SUCCESS] should GET a plugin"."""
    r = k.admin.get("/plugins/" + k.plugins[0]["id"])
    assert r.status_code == 200
    assert r.json()["name"] == "key-auth"
    assert r.json()["api_id"] == k.apis[0]["id"]


def test_get_404(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[FAILURE] should return 404 if not found"
    (GET)."""
    assert k.admin.get("/plugins/" + UNKNOWN).status_code == 404


def test_patch(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[SUCCESS] should PATCH a plugin" (0.8.3 reads it
    back too)."""
    r = k.admin.patch("/plugins/" + k.plugins[1]["id"], data={"enabled": "false"})
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is False
    r = k.admin.get("/plugins/" + k.plugins[1]["id"])
    assert r.status_code == 200 and r.json()["enabled"] is False


def test_patch_404(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[FAILURE] should return 404 if not found"
    (PATCH)."""
    assert k.admin.patch("/plugins/" + UNKNOWN).status_code == 404


def test_patch_unchanged_immutable_field(k):
    """plugins_routes_spec.lua@0.8.3: "[SUCCESS] should update when an immutable field does not
    change": the plugin as read, less created_at, with enabled turned back on."""
    r = k.admin.get("/plugins/" + k.plugins[1]["id"])
    assert r.status_code == 200
    body = r.json()
    assert body["enabled"] is False
    body["enabled"] = True
    del body["created_at"]
    r = write(k.admin, "PATCH", "/plugins/" + k.plugins[1]["id"], body, "json")
    assert r.status_code == 200, r.text
    assert r.json()["enabled"] is True
    r = k.admin.get("/plugins/" + k.plugins[1]["id"])
    assert r.status_code == 200 and r.json()["enabled"] is True


def test_delete(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[SUCCESS] should DELETE a plugin"."""
    assert k.admin.delete("/plugins/" + k.plugins[2]["id"]).status_code == 204


def test_delete_404(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[FAILURE] should return 404 if not found"
    (DELETE)."""
    assert k.admin.delete("/plugins/" + UNKNOWN).status_code == 404


def test_schema(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[SUCCESS] should return the schema of a
    plugin"."""
    r = k.admin.get("/plugins/schema/key-auth")
    assert r.status_code == 200
    assert isinstance(r.json()["fields"], dict)


def test_schema_404(k):
    """plugins_routes_spec.lua@0.7.0, 0.8.3: "[FAILURE] should return a descriptive error if
    schema is not found"."""
    r = k.admin.get("/plugins/schema/foo")
    assert r.status_code == 404
    assert r.json()["message"] == "No plugin named 'foo'"

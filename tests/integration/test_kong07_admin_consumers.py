# SPDX-License-Identifier: MIT
"""Kong's /consumers Admin API spec ported: spec/integration/admin_api/consumers_routes_spec.lua
at tag 0.7.0 and spec/integration/04-admin_api/consumers_routes_spec.lua at 0.8.3, one test per
`it(...)` case, and per body encoding where Kong's it_content_types ran the case with a form and
with JSON. Each case starts from an empty store with Kong's fixture (consumer api-test, custom_id
1234), as the spec's before_each/after_each did.

torii differs from Kong as documented in docs/kong-reference.md ("Kong's own specs: where torii
differs"): a PUT answers the whole stored entity, created_at included (0.7 answered only the
fields sent, 0.8.3 required created_at and stored the one sent); an unknown list filter is 400
(0.8.3; 0.7 ignored it) with "<f> is an unknown field"; an empty username and custom_id in a
form PATCH get the same answer as in JSON (0.7's form parser made them "is not a string"); a
409 keeps 0.7's words. Every case is ported; none is skipped."""

import pytest

from kong07 import BODY_MODES, created, drop_db, next_offset, seed_db, start, stop, write

AT_LEAST = "At least a 'custom_id' or a 'username' must be specified"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    ns = start(tmp_path_factory, "k07consumers")
    yield ns
    stop(ns)


@pytest.fixture
def k(node):
    """before_each: consumer api-test (custom_id 1234); after_each: drop_db."""
    node.consumer = created(node.admin.post("/consumers/", data={"username": "api-test",
                                                                 "custom_id": "1234"}))
    yield node
    drop_db(node.admin)


def req(k, method, path, fields, mode):
    return write(k.admin, method, path, fields, mode)


# ---- /consumers/ POST ------------------------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_post_create(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should create a Consumer"."""
    r = req(k, "POST", "/consumers/", {"username": "consumer POST tests"}, mode)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("mode", BODY_MODES)
def test_post_validation_errors(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors": both
    fields named."""
    r = req(k, "POST", "/consumers/", {}, mode)
    assert r.status_code == 400
    assert r.json() == {"custom_id": AT_LEAST, "username": AT_LEAST}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_post_409(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 409 if already exists"
    (0.7's message; 0.8.3's was "already exists with value 'api-test'")."""
    r = req(k, "POST", "/consumers/", {"username": "api-test"}, mode)
    assert r.status_code == 409
    assert r.json() == {"username": "username already exists with value 'api-test'"}


# ---- /consumers/ PUT -------------------------------------------------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_create(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should create if not exists"."""
    r = req(k, "PUT", "/consumers/", {"username": "consumer PUT tests"}, mode)
    assert r.status_code == 201, r.text


def without_created_at(doc):
    return {key: v for key, v in doc.items() if key != "created_at"}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_update(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should update if exists" (0.7's request,
    without created_at: the answer is the replaced entity, with the stored created_at)."""
    r = req(k, "PUT", "/consumers/", {"id": k.consumer["id"], "username": "updated",
                                      "custom_id": "5678"}, mode)
    assert r.status_code == 200, r.text
    body = r.json()
    assert without_created_at(body) == {"id": k.consumer["id"], "username": "updated",
                                        "custom_id": "5678"}
    assert body["created_at"] == k.consumer["created_at"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_update_removes_unspecified(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should update and remove unspecified
    fields"."""
    r = req(k, "PUT", "/consumers/", {"id": k.consumer["id"], "username": "updated"}, mode)
    assert r.status_code == 200, r.text
    body = r.json()
    assert without_created_at(body) == {"id": k.consumer["id"], "username": "updated"}
    assert body["created_at"] == k.consumer["created_at"]


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_validation_errors(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors" (under
    PUT; the spec POSTed)."""
    r = req(k, "POST", "/consumers/", {}, mode)
    assert r.status_code == 400
    assert r.json() == {"custom_id": AT_LEAST, "username": AT_LEAST}
    r = req(k, "PUT", "/consumers/", {}, mode)
    assert r.status_code == 400
    assert r.json() == {"custom_id": AT_LEAST, "username": AT_LEAST}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_put_409(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 409 if already exists"
    (under PUT; the spec POSTed)."""
    for method in ("POST", "PUT"):
        r = req(k, method, "/consumers/", {"username": "api-test"}, mode)
        assert r.status_code == 409
        assert r.json() == {"username": "username already exists with value 'api-test'"}


# ---- /consumers/ GET -------------------------------------------------------------------------

@pytest.fixture
def seeded(k):
    """GET's before_each: drop_db, then seed_db(10)."""
    drop_db(k.admin)
    seed_db(k.admin, 10)
    return k


def test_get_first_page(seeded):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should retrieve the first page"."""
    r = seeded.admin.get("/consumers/")
    assert r.status_code == 200
    assert len(r.json()["data"]) == 10
    assert r.json()["total"] == 10


def test_get_given_page(seeded):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should retrieve a given page": pages of 3, 3
    and 4 (0.7), and of 3, 3, 3 and 1 (0.8.3)."""
    a = seeded.admin
    p1 = a.get("/consumers/", params={"size": 3}).json()
    assert len(p1["data"]) == 3 and p1["next"] and p1["total"] == 10
    p2 = a.get("/consumers/", params={"size": 3, "offset": next_offset(p1)}).json()
    assert len(p2["data"]) == 3 and p2["next"] and p2["total"] == 10
    assert p1 != p2
    p3 = a.get("/consumers/", params={"size": 4, "offset": next_offset(p2)}).json()
    assert len(p3["data"]) == 4 and p3["total"] == 10 and "next" not in p3
    p3 = a.get("/consumers/", params={"size": 3, "offset": next_offset(p2)}).json()
    assert len(p3["data"]) == 3 and p3["next"] and p3["total"] == 10
    p4 = a.get("/consumers/", params={"size": 3, "offset": next_offset(p3)}).json()
    assert len(p4["data"]) == 1 and p4["total"] == 10 and "next" not in p4
    assert p2 != p4


def test_get_random_field(seeded):
    """consumers_routes_spec.lua@0.7.0: "should not throw an error when filtering with a random
    field" (0.7: 200, the filter ignored) and @0.8.3: "should refuse to filter with a random
    field" (400 {"hello": "unknown field"}). torii refuses, as 0.8.3, naming the field as for
    bodies."""
    r = seeded.admin.get("/consumers/", params={"hello": "world"})
    assert r.status_code == 400
    assert r.json() == {"hello": "hello is an unknown field"}


# ---- /consumers/:consumer --------------------------------------------------------------------

def test_get_by_id(k):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should retrieve by id"."""
    r = k.admin.get("/consumers/" + k.consumer["id"])
    assert r.status_code == 200
    assert r.json() == k.consumer


def test_get_by_username(k):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should retrieve by username"."""
    r = k.admin.get("/consumers/" + k.consumer["username"])
    assert r.status_code == 200
    assert r.json() == k.consumer


def test_get_404(k):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should reply with HTTP 404 if not found"."""
    assert k.admin.get("/consumers/none").status_code == 404


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should update if found"."""
    r = req(k, "PATCH", "/consumers/" + k.consumer["id"], {"username": "patch-updated"}, mode)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "patch-updated"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_by_username(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should update by username"."""
    r = req(k, "PATCH", "/consumers/" + k.consumer["username"], {"username": "patch-updated"},
            mode)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "patch-updated"


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_404(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should return 404 if not found"."""
    r = req(k, "PATCH", "/consumers/hello", {"username": "patch-updated"}, mode)
    assert r.status_code == 404


@pytest.mark.parametrize("mode", BODY_MODES)
def test_patch_validation_errors(k, mode):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should return proper validation errors" (PATCH
    clearing both): Kong's JSON answer, whatever the encoding (0.7 answered a form with
    "custom_id is not a string" and "username is not a string")."""
    r = req(k, "PATCH", "/consumers/" + k.consumer["id"], {"username": "", "custom_id": ""}, mode)
    assert r.status_code == 400
    assert r.json() == {"custom_id": AT_LEAST, "username": AT_LEAST}
    assert k.admin.get("/consumers/" + k.consumer["id"]).json() == k.consumer


@pytest.fixture
def to_delete(k):
    """DELETE's setup: a consumer to-delete."""
    created(k.admin.post("/consumers/", data={"username": "to-delete"}))
    return k


def test_delete_by_id(to_delete):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "delete a Consumer by id"."""
    r = to_delete.admin.delete("/consumers/" + to_delete.consumer["id"])
    assert r.status_code == 204
    assert r.content == b""


def test_delete_by_name(to_delete):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "delete a Consumer by name"."""
    r = to_delete.admin.delete("/consumers/" + to_delete.consumer["username"])
    assert r.status_code == 204
    assert r.content == b""


def test_delete_404(to_delete):
    """consumers_routes_spec.lua@0.7.0, 0.8.3: "should return HTTP 404 if not found"."""
    assert to_delete.admin.delete("/consumers/hello").status_code == 404

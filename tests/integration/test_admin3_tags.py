# SPDX-License-Identifier: MIT
"""Kong 3.x /tags and /tags/{tag} (Kong 3.9's spec/02-integration/04-admin_api/14-tags_spec.lua
in its shapes: {"data":[{entity_name, entity_id, tag}], "next", "offset"}), over the kinds torii
tags so far: services and routes."""

import pytest

from kong3 import add_route, add_service, node_fixture, ok, wipe

node = node_fixture("k3tags")


@pytest.fixture
def admin(node):
    wipe(node.admin)
    return node.admin


def test_lists_entities_by_tag(admin):
    s = add_service(admin, tags=["corp", "a"])
    r = add_route(admin, tags=["corp"])
    add_route(admin)
    j = ok(admin.get("/tags"))
    assert j["next"] is None
    assert j["data"] == [
        {"entity_name": "services", "entity_id": s["id"], "tag": "corp"},
        {"entity_name": "services", "entity_id": s["id"], "tag": "a"},
        {"entity_name": "routes", "entity_id": r["id"], "tag": "corp"},
    ]
    j = ok(admin.get("/tags/corp"))
    assert [(d["entity_name"], d["entity_id"]) for d in j["data"]] == [
        ("services", s["id"]), ("routes", r["id"])]
    assert ok(admin.get("/tags/none")) == {"data": [], "next": None}


def test_pages(admin):
    for i in range(5):
        add_service(admin, tags=["t"])
    j = ok(admin.get("/tags/t", params={"size": 2}))
    assert len(j["data"]) == 2 and j["next"] == "/tags/t?offset=%s" % j["offset"]
    seen = [d["entity_id"] for d in j["data"]]
    while j["next"]:
        j = ok(admin.get(j["next"], params={"size": 2}))
        seen += [d["entity_id"] for d in j["data"]]
    assert len(set(seen)) == 5
    r = admin.get("/tags", params={"size": "x"})
    assert r.status_code == 400 and r.json()["code"] == 9


def test_a_deleted_or_retagged_entity_leaves_the_list(admin):
    s = add_service(admin, name="s", tags=["old"])
    ok(admin.patch("/services/s", json={"tags": ["new"]}))
    assert ok(admin.get("/tags/old"))["data"] == []
    assert [d["entity_id"] for d in ok(admin.get("/tags/new"))["data"]] == [s["id"]]
    assert admin.delete("/services/s").status_code == 204
    assert ok(admin.get("/tags"))["data"] == []


def test_invalid_tag(admin):
    r = admin.get("/tags/a,b")
    assert r.status_code == 400
    assert r.json()["code"] == 10 and r.json()["name"] == "invalid unique tag"

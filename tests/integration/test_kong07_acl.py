# SPDX-License-Identifier: MIT
"""Kong's acl specs ported: spec/plugins/acl/{access,api,hooks}_spec.lua at tags 0.7.0 and
0.8.3 (0.8.3 adds the X-Consumer-Groups assertions, ported here).

torii differs from Kong 0.7 as documented in docs/plugins.md: key-auth refuses a deleted key
with 401 (0.7: 403)."""

import pytest

from kong07 import (BODY_MODES, add_api, add_consumer, add_cred, add_plugin, hdr, proxy, seen,
                    start, stop, write)

DENIED = {"message": "You cannot consume this service"}
NO_CONSUMER = {"message": "Cannot identify the consumer, add an authentication plugin to use "
                          "the ACL plugin"}


@pytest.fixture(scope="module")
def acl(tmp_path_factory):
    """access_spec's fixtures: acl1.com .. acl7.com, consumer1..4 with keys apikey123..126."""
    ns = start(tmp_path_factory, "acl")
    lists = [None, ("whitelist", ["admin"]), ("blacklist", ["admin"]),
             ("whitelist", ["admin", "pro"]), ("blacklist", ["admin", "pro"]),
             ("blacklist", ["admin", "pro", "hello"]), ("whitelist", ["admin", "pro", "hello"])]
    add_api(ns, "acl1.com", "ACL-1")
    add_plugin(ns, "ACL-1", "acl", {"whitelist": ["admin"]})
    for i, (kind, groups) in enumerate(lists[1:], start=2):
        add_api(ns, "acl%d.com" % i, "ACL-%d" % i)
        add_plugin(ns, "ACL-%d" % i, "key-auth", {"key_names": ["apikey"]})
        add_plugin(ns, "ACL-%d" % i, "acl", {kind: groups}, mode="form")
    for i in range(1, 5):
        add_consumer(ns, username="consumer%d" % i)
        add_cred(ns, "consumer%d" % i, "key-auth", key="apikey%d" % (122 + i))
    for group, c in (("admin", 2), ("pro", 3), ("hello", 3), ("free", 4), ("hello", 4)):
        add_cred(ns, "consumer%d" % c, "acls", group=group)
    yield ns
    stop(ns)


def denied(r, body=DENIED):
    assert r.status == 403, r
    assert r.json() == body


# ---- access_spec.lua -----------------------------------------------------------------------

def test_auth_plugin_missing(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should fail when an authentication plugin is
    missing"."""
    denied(proxy(acl, "acl1.com"), NO_CONSUMER)


def test_simple_not_in_whitelist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should fail when not in whitelist"."""
    denied(proxy(acl, "acl2.com", "/get?apikey=apikey123"))


def test_simple_in_whitelist(acl):
    """spec/plugins/acl/access_spec.lua@0.8.3: "should work when in whitelist" (0.8.3 also
    checks X-Consumer-Groups)."""
    d = seen(proxy(acl, "acl2.com", "/get?apikey=apikey124"))
    assert hdr(d, "x-consumer-groups") == ["admin"]


def test_simple_not_in_blacklist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should work when not in blacklist"."""
    seen(proxy(acl, "acl3.com", "/get?apikey=apikey123"))


def test_simple_in_blacklist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should fail when in blacklist"."""
    denied(proxy(acl, "acl3.com", "/get?apikey=apikey124"))


def test_multi_in_whitelist(acl):
    """spec/plugins/acl/access_spec.lua@0.8.3: "should work when in whitelist" (Multi lists;
    X-Consumer-Groups holds both groups)."""
    d = seen(proxy(acl, "acl4.com", "/get?apikey=apikey125"))
    # Kong accepted either order; torii's is the order the groups were added (docs/plugins.md)
    assert hdr(d, "x-consumer-groups") == ["pro, hello"]


def test_multi_not_in_whitelist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should fail when not in whitelist" (Multi)."""
    denied(proxy(acl, "acl4.com", "/get?apikey=apikey126"))


def test_multi_in_blacklist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should fail when in blacklist" (Multi)."""
    denied(proxy(acl, "acl5.com", "/get?apikey=apikey125"))


def test_multi_not_in_blacklist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should work when not in blacklist" (Multi)."""
    seen(proxy(acl, "acl5.com", "/get?apikey=apikey126"))


def test_one_acl_in_blacklist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should not work when one of the ACLs in the
    blacklist"."""
    denied(proxy(acl, "acl6.com", "/get?apikey=apikey126"))


def test_one_acl_in_whitelist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should work when one of the ACLs in the
    whitelist"."""
    seen(proxy(acl, "acl7.com", "/get?apikey=apikey126"))


def test_at_least_one_acl_in_blacklist(acl):
    """spec/plugins/acl/access_spec.lua@0.7.0: "should not work when at least one of the ACLs
    in the blacklist"."""
    denied(proxy(acl, "acl6.com", "/get?apikey=apikey125"))


def test_groups_compare_whole_names(acl):
    """A group matches only a listed name exactly: "administrators", "admi" and "Admin" are not
    "admin" (a prefix or case-blind compare would let them through a whitelist and past a
    blacklist)."""
    add_consumer(acl, username="near_admin")
    assert acl.admin.post("/consumers/near_admin/key-auth/",
                          data={"key": "near-admin-key"}).status_code == 201
    for group in ("administrators", "admi", "Admin"):
        assert acl.admin.post("/consumers/near_admin/acls/",
                              data={"group": group}).status_code == 201
    denied(proxy(acl, "acl2.com", "/get?apikey=near-admin-key"))  # whitelist admin
    d = seen(proxy(acl, "acl3.com", "/get?apikey=near-admin-key"))  # blacklist admin
    assert hdr(d, "x-consumer-groups") == ["administrators, admi, Admin"]


def test_real_world_usage(acl):
    """spec/plugins/acl/access_spec.lua@0.8.3: "#ci should not fail" (0.7.0: "should not
    fail"): ten apis, each with its own whitelisted group added to the consumer in turn, all
    through form bodies as the spec sent them; each works at once."""
    add_consumer(acl, username="acl_consumer")
    assert acl.admin.post("/consumers/acl_consumer/key-auth/",
                          data={"key": "secret123"}).status_code == 201
    for i in range(1, 11):
        r = acl.admin.post("/apis/", data={"name": "acl_test%d" % i,
                                           "request_host": "acl-test%d.com" % i,
                                           "upstream_url": acl.echo.url})
        assert r.status_code == 201, r.text
        r = acl.admin.post("/apis/acl_test%d/plugins/" % i,
                           data={"name": "acl", "config.whitelist": "admin%d" % i})
        assert r.status_code == 201, r.text
        r = acl.admin.post("/apis/acl_test%d/plugins/" % i, data={"name": "key-auth"})
        assert r.status_code == 201, r.text
        r = acl.admin.post("/consumers/acl_consumer/acls/", data={"group": "admin%d" % i})
        assert r.status_code == 201, r.text
        seen(proxy(acl, "acl-test%d.com" % i, "/get?apikey=secret123"))


# ---- api_spec.lua (stateful, in order, once per body encoding) ----------------------------

@pytest.fixture(scope="module", params=BODY_MODES)
def api(request, acl):
    m = request.param
    ns = type("Api", (), {})
    ns.mode = m
    ns.bob = add_consumer(acl, username="bob-" + m)
    ns.base = "/consumers/bob-%s/acls/" % m
    ns.acl = None
    return ns


def test_api_post_without_group(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "[FAILURE] should not create an ACL association
    without a group name"."""
    r = write(acl.admin, "POST", api.base, {}, api.mode)
    assert r.status_code == 400
    assert r.json()["group"] == "group is required"


def test_api_post_create(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "[SUCCESS] should create an ACL association"."""
    r = write(acl.admin, "POST", api.base, {"group": "admin"}, api.mode)
    assert r.status_code == 201, r.text
    api.acl = r.json()
    assert api.acl["consumer_id"] == api.bob["id"] and api.acl["group"] == "admin"


def test_api_put_create(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "[SUCCESS] should create and update"."""
    r = write(acl.admin, "PUT", api.base, {"group": "pro"}, api.mode)
    assert r.status_code == 201, r.text
    api.acl = r.json()
    assert api.acl["consumer_id"] == api.bob["id"] and api.acl["group"] == "pro"


def test_api_get_all(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "should retrieve all"."""
    r = acl.admin.get(api.base)
    assert r.status_code == 200 and len(r.json()["data"]) == 2


def test_api_get_by_id(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "should retrieve by id"."""
    r = acl.admin.get(api.base + api.acl["id"])
    assert r.status_code == 200 and r.json()["id"] == api.acl["id"]


def test_api_patch_update(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "[SUCCESS] should update an ACL association"."""
    r = write(acl.admin, "PATCH", api.base + api.acl["id"], {"group": "basic"}, api.mode)
    assert r.status_code == 200, r.text
    assert r.json()["group"] == "basic"


def test_api_patch_errors(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (PATCH with an empty group)."""
    r = write(acl.admin, "PATCH", api.base + api.acl["id"], {"group": ""}, api.mode)
    assert r.status_code == 400
    assert r.json() == {"group": "group is not a string"}


def test_api_delete_errors(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (DELETE)."""
    r = acl.admin.delete(api.base + "blah")
    assert r.status_code == 400 and r.json() == {"id": "blah is an invalid uuid"}, r.text
    assert acl.admin.delete(api.base + "00000000-0000-0000-0000-000000000000").status_code == 404


def test_api_delete(acl, api):
    """spec/plugins/acl/api_spec.lua@0.7.0: "[SUCCESS] should delete an ACL association"."""
    assert acl.admin.delete(api.base + api.acl["id"]).status_code == 204


# ---- hooks_spec.lua: changes apply to the next request (torii has no /cache) ---------------

@pytest.fixture
def hooks(acl):
    """hooks_spec's fixtures, fresh per case: hacl1 (whitelist admin), hacl2 (whitelist ya),
    a consumer with a key and the groups admin and pro."""
    n = hooks.seq = getattr(hooks, "seq", 0) + 1
    hosts = []
    for k, group in ((1, "admin"), (2, "ya")):
        name = "hooks-acl-%d-%d" % (n, k)
        add_api(acl, "%s.com" % name, name)
        add_plugin(acl, name, "key-auth", {"key_names": ["apikey"]})
        add_plugin(acl, name, "acl", {"whitelist": [group]})
        hosts.append("%s.com" % name)
    user = "hooks-acl-consumer-%d" % n
    add_consumer(acl, username=user)
    add_cred(acl, user, "key-auth", key="hooks-acl-key-%d" % n)
    ids = {g: add_cred(acl, user, "acls", group=g)["id"] for g in ("admin", "pro")}
    return hosts, user, "/get?apikey=hooks-acl-key-%d" % n, ids


def test_hooks_acl_deleted(acl, hooks):
    """spec/plugins/acl/hooks_spec.lua@0.7.0: "should invalidate when ACL entity is
    deleted"."""
    hosts, user, target, ids = hooks
    seen(proxy(acl, hosts[0], target))
    assert acl.admin.delete("/consumers/%s/acls/%s" % (user, ids["admin"])).status_code == 204
    denied(proxy(acl, hosts[0], target))


def test_hooks_acl_updated(acl, hooks):
    """spec/plugins/acl/hooks_spec.lua@0.7.0: "should invalidate when ACL entity is
    updated"."""
    hosts, user, target, ids = hooks
    seen(proxy(acl, hosts[0], target))
    denied(proxy(acl, hosts[1], target))
    r = acl.admin.patch("/consumers/%s/acls/%s" % (user, ids["admin"]), data={"group": "ya"})
    assert r.status_code == 200, r.text
    denied(proxy(acl, hosts[0], target))
    seen(proxy(acl, hosts[1], target))


def test_hooks_consumer_deleted(acl, hooks):
    """spec/plugins/acl/hooks_spec.lua@0.7.0: "should invalidate when Consumer entity is
    deleted" (its key goes with it: key-auth answers 401 in torii where 0.7 answered 403)."""
    hosts, user, target, ids = hooks
    seen(proxy(acl, hosts[0], target))
    assert acl.admin.delete("/consumers/" + user).status_code == 204
    r = proxy(acl, hosts[0], target)
    assert r.status == 401 and r.json() == {"message": "Invalid authentication credentials"}

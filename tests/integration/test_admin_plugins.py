# SPDX-License-Identifier: MIT
"""The plugin side of the Admin API with Kong 0.x shapes: /apis/{api}/plugins, /plugins (global
and per api), /plugins/enabled, /plugins/schema/{name}, the `plugins` setting, consumers'
credentials (key-auth, basic-auth, acls), hidden passwords, cascades and restarts."""

import re

import pytest

from harness import run_cli
from rawhttp import one_request

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
BUNDLED = {"key-auth", "basic-auth", "acl"}


def proxied(t, path, headers=()):
    return one_request(t.proxy_port, "GET", path, host="svc.test", headers=list(headers))


def add_plugin(admin, path, **data):
    r = admin.post(path, data=data)
    assert r.status_code == 201, (path, data, r.status_code, r.text)
    return r.json()


def test_walkthrough_steps_4_and_6(torii, echo):
    admin = torii.admin
    api = admin.add_api(name="go-api", upstream_url=echo.url, request_path="/go")
    r = admin.post("/apis/go-api/plugins", data={"name": "key-auth",
                                                 "config.hide_credentials": "true"})
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    p = r.json()
    assert p["api_id"] == api["id"]
    assert p["name"] == "key-auth"
    assert p["enabled"] is True
    assert UUID_RE.match(p["id"])
    assert isinstance(p["created_at"], int) and p["created_at"] % 1000 == 0
    assert "consumer_id" not in p
    assert p["config"]["hide_credentials"] is True
    assert p["config"]["key_names"] == ["apikey"]  # default filled
    assert proxied(torii, "/go").status == 401

    lst = admin.get("/apis/go-api/plugins")
    assert lst.status_code == 200
    assert lst.json()["total"] == 1
    assert lst.json()["data"][0]["id"] == p["id"]
    r = admin.delete("/plugins/" + p["id"])
    assert r.status_code == 204 and r.content == b""
    assert admin.get("/plugins/" + p["id"]).status_code == 404
    assert admin.get("/apis/go-api/plugins").json() == {"data": [], "total": 0}
    assert proxied(torii, "/go").status == 200


def test_fix_b_put_on_the_api_plugins_collection(admin):
    admin.add_api(name="for_host", upstream_url="http://127.0.0.1:5000",
                  request_host="localhost")
    r = admin.put("/apis/for_host/plugins", data={"name": "key-auth",
                                                  "config.key_names": "token, apikey"})
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["config"]["key_names"] == ["token", "apikey"]
    # PUT with the id replaces (200), unset config fields back to their defaults
    r = admin.put("/apis/for_host/plugins", json={"id": p["id"], "name": "key-auth"})
    assert r.status_code == 200, r.text
    assert r.json()["config"]["key_names"] == ["apikey"]
    assert r.json()["created_at"] == p["created_at"]
    assert admin.get("/plugins").json()["total"] == 1


def test_one_plugin_at_both_paths(admin):
    admin.add_api(name="a", upstream_url="http://127.0.0.1:5000", request_path="/a")
    admin.add_api(name="b", upstream_url="http://127.0.0.1:5000", request_path="/b")
    p = add_plugin(admin, "/apis/a/plugins", name="key-auth")
    for path in ("/plugins/" + p["id"], "/apis/a/plugins/" + p["id"],
                 "/apis/a/plugins/%s/" % p["id"]):
        r = admin.get(path)
        assert r.status_code == 200, path
        assert r.json() == p
    # not under another api
    assert admin.get("/apis/b/plugins/" + p["id"]).status_code == 404
    assert admin.patch("/apis/b/plugins/" + p["id"], data={"enabled": "false"}).status_code == 404
    assert admin.delete("/apis/b/plugins/" + p["id"]).status_code == 404
    assert admin.get("/apis/nope/plugins").status_code == 404
    # PATCH merges config and keeps the rest
    r = admin.patch("/apis/a/plugins/" + p["id"], data={"config.hide_credentials": "true"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["config"]["hide_credentials"] is True
    assert got["config"]["key_names"] == ["apikey"]
    assert got["api_id"] == p["api_id"] and got["created_at"] == p["created_at"]
    r = admin.patch("/plugins/" + p["id"], data={"name": "acl"})
    assert r.status_code == 400
    assert r.json() == {"name": "name cannot be updated"}
    assert admin.delete("/apis/a/plugins/" + p["id"]).status_code == 204
    assert admin.delete("/apis/a/plugins/" + p["id"]).status_code == 404


def test_global_plugin_and_enabled_false(torii, echo):
    admin = torii.admin
    admin.add_api(name="a", upstream_url=echo.url, request_path="/a")
    admin.add_api(name="b", upstream_url=echo.url, request_path="/b")
    g = add_plugin(admin, "/plugins", name="key-auth")
    assert "api_id" not in g
    assert proxied(torii, "/a").status == 401
    assert proxied(torii, "/b").status == 401
    # the same plugin on one api as well: a different (name, api, consumer)
    add_plugin(admin, "/apis/a/plugins", name="key-auth", **{"config.key_names": "token"})
    assert admin.get("/plugins?name=key-auth").json()["total"] == 2
    assert admin.get("/plugins?api_id=" + admin.get("/apis/a").json()["id"]).json()["total"] == 1

    r = admin.patch("/plugins/" + g["id"], data={"enabled": "false"})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert proxied(torii, "/b").status == 200
    assert proxied(torii, "/a").status == 401  # its own instance still runs
    assert admin.get("/plugins?enabled=false").json()["total"] == 1
    admin.patch("/plugins/" + g["id"], data={"enabled": "true"})
    assert proxied(torii, "/b").status == 401


def test_duplicate_is_409(admin):
    admin.add_api(name="a", upstream_url="http://127.0.0.1:5000", request_path="/a")
    add_plugin(admin, "/apis/a/plugins", name="key-auth")
    r = admin.post("/apis/a/plugins", data={"name": "key-auth"})
    assert r.status_code == 409
    assert r.json() == {"message": "Plugin configuration already exists"}
    add_plugin(admin, "/plugins", name="key-auth")
    r = admin.post("/plugins", json={"name": "key-auth"})
    assert r.status_code == 409
    assert r.json() == {"message": "Plugin configuration already exists"}


@pytest.mark.parametrize("data,want", [
    ({"name": "nope"}, {"config": "Plugin \"nope\" not found"}),
    ({}, {"name": "name is required"}),
    ({"name": "key-auth", "config.hide_credentials": "maybe"},
     {"config.hide_credentials": "hide_credentials is not a boolean"}),
    ({"name": "key-auth", "config.bogus": "1"}, {"config.bogus": "bogus is an unknown field"}),
    ({"name": "key-auth", "bogus": "1"}, {"bogus": "bogus is an unknown field"}),
    ({"name": "key-auth", "enabled": "yes"}, {"enabled": "enabled is not a boolean"}),
])
def test_bad_plugin_is_400(admin, data, want):
    admin.add_api(name="a", upstream_url="http://127.0.0.1:5000", request_path="/a")
    r = admin.post("/apis/a/plugins", data=data)
    assert r.status_code == 400, r.text
    assert r.json() == want
    assert admin.get("/plugins").json()["total"] == 0


def test_missing_parents_and_consumers_on_auth_plugins(admin):
    c = admin.add_consumer(username="bob")
    for name in ("key-auth", "basic-auth", "acl"):
        data = {"name": name, "consumer_id": c["id"], "config.whitelist": "x"}
        if name != "acl":
            del data["config.whitelist"]
        r = admin.post("/plugins", data=data)
        assert r.status_code == 400, (name, r.text)
        assert r.json() == {"message": "No consumer can be configured for that plugin"}
    r = admin.post("/plugins", data={"name": "key-auth",
                                     "api_id": "00000000-0000-4000-8000-000000000000"})
    assert r.status_code == 400
    assert list(r.json()) == ["api_id"]
    r = admin.post("/plugins", data={"name": "key-auth", "api_id": "not-a-uuid"})
    assert r.status_code == 400 and "api_id" in r.json()
    # a plugin's own self-check (acl: exactly one list) answers on config
    r = admin.post("/plugins", data={"name": "acl"})
    assert r.status_code == 400 and list(r.json()) == ["config"], r.text


def test_schema_and_enabled_endpoints(admin):
    r = admin.get("/plugins/enabled")
    assert r.status_code == 200
    assert set(r.json()["enabled_plugins"]) >= BUNDLED  # other bundled plugins come and go
    node = admin.get("/").json()
    assert set(node["plugins"]["available_on_server"]) == set(r.json()["enabled_plugins"])
    assert node["configuration"]["plugins"] == "bundled"

    r = admin.get("/plugins/schema/key-auth")
    assert r.status_code == 200
    s = r.json()
    assert s["fields"]["key_names"]["type"] == "array"
    assert s["fields"]["key_names"]["default"] == ["apikey"]
    assert s["fields"]["hide_credentials"]["default"] is False
    assert s["no_consumer"] is True
    assert "whitelist" in admin.get("/plugins/schema/acl/").json()["fields"]
    r = admin.get("/plugins/schema/nope")
    assert r.status_code == 404
    assert r.json() == {"message": "No plugin named 'nope'"}
    assert admin.post("/plugins/enabled").status_code == 405


def test_enabled_in_cluster(admin):
    admin.add_api(name="a", upstream_url="http://127.0.0.1:5000", request_path="/a")
    add_plugin(admin, "/apis/a/plugins", name="key-auth")
    add_plugin(admin, "/plugins", name="key-auth")
    assert admin.get("/").json()["plugins"]["enabled_in_cluster"] == ["key-auth"]


def test_plugins_setting_limits_the_node(torii_factory, echo):
    t = torii_factory()
    t.admin.add_api(name="a", upstream_url=echo.url, request_path="/a")
    add_plugin(t.admin, "/apis/a/plugins", name="acl", **{"config.whitelist": "admins"})
    assert proxied(t, "/a").status == 403  # acl without an authenticated consumer
    t.stop()

    t.settings["plugins"] = "key-auth, basic-auth"
    t.start()
    assert set(t.admin.get("/plugins/enabled").json()["enabled_plugins"]) == {"key-auth",
                                                                             "basic-auth"}
    assert set(t.admin.get("/").json()["plugins"]["available_on_server"]) == {"key-auth",
                                                                            "basic-auth"}
    # the stored acl instance is kept but not run; new ones are refused
    assert t.admin.get("/plugins?name=acl").json()["total"] == 1
    assert proxied(t, "/a").status == 200
    r = t.admin.post("/plugins", data={"name": "acl", "config.whitelist": "x"})
    assert r.status_code == 400 and "not enabled" in r.json()["name"], r.text
    assert t.admin.get("/plugins/schema/acl").status_code == 404
    t.admin.add_consumer(username="bob")
    assert t.admin.get("/consumers/bob/acls").status_code == 404
    assert t.admin.get("/consumers/bob/key-auth").status_code == 200
    t.stop()

    t.settings["plugins"] = "off"
    t.start()
    assert t.admin.get("/plugins/enabled").json() == {"enabled_plugins": []}
    assert t.admin.get("/consumers/bob/key-auth").status_code == 404


@pytest.mark.parametrize("value", ["nope", "key-auth, nope", ""])
def test_unknown_plugin_in_setting_is_a_startup_error(tmp_path, value):
    conf = tmp_path / "torii.conf"
    conf.write_text("plugins = %s\n" % value)
    p = run_cli(["check", str(conf)], env={"TORII_PREFIX": str(tmp_path)})
    assert p.returncode != 0, p.stdout + p.stderr
    assert "plugins" in (p.stdout + p.stderr), p.stdout + p.stderr


def test_key_auth_credentials(torii, echo):
    admin = torii.admin
    admin.add_api(name="a", upstream_url=echo.url, request_path="/a")
    add_plugin(admin, "/apis/a/plugins", name="key-auth")
    bob = admin.add_consumer(username="bob")
    alice = admin.add_consumer(username="alice")

    r = admin.post("/consumers/bob/key-auth")
    assert r.status_code == 201, r.text
    gen = r.json()
    assert gen["consumer_id"] == bob["id"]
    assert re.match(r"^[0-9a-f]{32}$", gen["key"]), gen["key"]
    assert UUID_RE.match(gen["id"])
    r = admin.post("/consumers/%s/keyauth" % bob["id"], data={"key": "k1"})
    assert r.status_code == 201, r.text
    k1 = r.json()
    r = admin.post("/consumers/alice/key-auth", data={"key": "k1"})
    assert r.status_code == 409
    assert r.json() == {"key": "key already exists with value 'k1'"}
    # consumer_id in the body cannot move a credential to another consumer
    r = admin.post("/consumers/alice/key-auth", data={"key": "k2", "consumer_id": bob["id"]})
    assert r.status_code == 201 and r.json()["consumer_id"] == alice["id"]

    lst = admin.get("/consumers/bob/key-auth").json()
    assert lst["total"] == 2
    assert {c["key"] for c in lst["data"]} == {gen["key"], "k1"}
    assert admin.get("/consumers/bob/keyauth?key=k1").json()["total"] == 1
    assert admin.get("/consumers/bob/key-auth/" + k1["id"]).json() == k1
    assert admin.get("/consumers/alice/key-auth/" + k1["id"]).status_code == 404
    assert admin.get("/consumers/nobody/key-auth").status_code == 404
    assert admin.get("/consumers/bob/no-such-kind").status_code == 404

    r = proxied(torii, "/a?apikey=k1")
    assert r.status == 200
    assert "x-consumer-username" in str(r.json()["headers"]).lower()
    r = admin.patch("/consumers/bob/key-auth/" + k1["id"], data={"key": "k3"})
    assert r.status_code == 200 and r.json()["key"] == "k3"
    # docs/plugins.md: a key that matches no credential is 401 "Invalid authentication
    # credentials".
    assert proxied(torii, "/a?apikey=k1").status == 401
    assert proxied(torii, "/a?apikey=k3").status == 200
    assert admin.delete("/consumers/bob/key-auth/" + k1["id"]).status_code == 204
    assert proxied(torii, "/a?apikey=k3").status == 401
    assert admin.get("/consumers/bob/key-auth/" + k1["id"]).status_code == 404


def test_basic_auth_password_never_returned(torii, echo):
    admin = torii.admin
    admin.add_api(name="a", upstream_url=echo.url, request_path="/a")
    add_plugin(admin, "/apis/a/plugins", name="basic-auth")
    admin.add_consumer(username="bob")
    r = admin.post("/consumers/bob/basic-auth", data={"username": "u1", "password": "s3cret!"})
    assert r.status_code == 201, r.text
    cred = r.json()
    assert "password" not in cred and cred["username"] == "u1"
    for path in ("/consumers/bob/basic-auth", "/consumers/bob/basicauth",
                 "/consumers/bob/basic-auth/" + cred["id"]):
        r = admin.get(path)
        assert r.status_code == 200
        assert "s3cret" not in r.text and "password" not in r.text, (path, r.text)
    assert admin.get("/consumers/bob/basic-auth?password=x").status_code == 400

    auth = ("Authorization", "Basic dTE6czNjcmV0IQ==")  # u1:s3cret!
    assert proxied(torii, "/a", [auth]).status == 200
    assert proxied(torii, "/a", [("Authorization", "Basic dTE6bm9wZQ==")]).status == 401
    # a PATCH without a password keeps the stored hash
    r = admin.patch("/consumers/bob/basic-auth/" + cred["id"], data={"username": "u2"})
    assert r.status_code == 200 and "password" not in r.json()
    assert proxied(torii, "/a", [("Authorization", "Basic dTI6czNjcmV0IQ==")]).status == 200
    r = admin.patch("/consumers/bob/basic-auth/" + cred["id"], data={"password": "other"})
    assert r.status_code == 200 and "password" not in r.json()
    assert proxied(torii, "/a", [("Authorization", "Basic dTI6b3RoZXI=")]).status == 200
    r = admin.post("/consumers/bob/basic-auth", data={"username": "u2", "password": "x"})
    assert r.status_code == 409 and r.json() == {"username": "username already exists with "
                                                             "value 'u2'"}
    # the password is optional, as in Kong 0.7, and a credential without one never
    # authenticates (no digest ever equalled the missing one)
    r = admin.post("/consumers/bob/basic-auth", data={"username": "u9"})
    assert r.status_code == 201 and "password" not in r.json(), r.text
    assert proxied(torii, "/a", [("Authorization", "Basic dTk6")]).status == 401  # u9:
    assert proxied(torii, "/a", [("Authorization", "Basic dTk6eA==")]).status == 401  # u9:x


def test_acls_unique_per_consumer(admin):
    admin.add_consumer(username="bob")
    admin.add_consumer(username="alice")
    r = admin.post("/consumers/bob/acls", data={"group": "admins"})
    assert r.status_code == 201, r.text
    assert r.json()["group"] == "admins"
    r = admin.post("/consumers/bob/acls", data={"group": "admins"})
    assert r.status_code == 409
    assert r.json() == {"group": "group already exists with value 'admins'"}
    assert admin.post("/consumers/alice/acls", data={"group": "admins"}).status_code == 201
    assert admin.post("/consumers/bob/acls", data={"group": "ops"}).status_code == 201
    assert admin.get("/consumers/bob/acls").json()["total"] == 2
    r = admin.post("/consumers/bob/acls")
    assert r.status_code == 400 and r.json() == {"group": "group is required"}


def test_deletes_cascade(admin):
    api = admin.add_api(name="a", upstream_url="http://127.0.0.1:5000", request_path="/a")
    p = add_plugin(admin, "/apis/a/plugins", name="key-auth")
    admin.add_consumer(username="bob")
    admin.post("/consumers/bob/key-auth", data={"key": "k1"})
    admin.post("/consumers/bob/basic-auth", data={"username": "u1", "password": "p"})
    admin.post("/consumers/bob/acls", data={"group": "g"})
    db = admin.get("/status").json()["database"]
    assert (db["keyauth_credentials"], db["basicauth_credentials"], db["acls"]) == (1, 1, 1)
    assert admin.delete("/consumers/bob").status_code == 204
    db = admin.get("/status").json()["database"]
    assert (db["keyauth_credentials"], db["basicauth_credentials"], db["acls"]) == (0, 0, 0)
    # the key is free again
    admin.add_consumer(username="alice")
    assert admin.post("/consumers/alice/key-auth", data={"key": "k1"}).status_code == 201
    assert admin.delete("/apis/" + api["id"]).status_code == 204
    assert admin.get("/plugins/" + p["id"]).status_code == 404
    assert admin.get("/status").json()["database"]["plugins"] == 0


def test_restart_keeps_plugins_and_credentials(torii_factory, echo):
    t = torii_factory()
    t.admin.add_api(name="a", upstream_url=echo.url, request_path="/a")
    p = add_plugin(t.admin, "/apis/a/plugins", name="key-auth")
    g = add_plugin(t.admin, "/plugins", name="basic-auth")
    t.admin.patch("/plugins/" + g["id"], data={"enabled": "false"})
    t.admin.add_consumer(username="bob")
    key = t.admin.post("/consumers/bob/key-auth", data={"key": "k1"}).json()
    basic = t.admin.post("/consumers/bob/basic-auth",
                         data={"username": "u1", "password": "pw"}).json()
    acl = t.admin.post("/consumers/bob/acls", data={"group": "g"}).json()
    before = t.admin.get("/plugins").json()
    t.kill9()
    t.restart()
    assert t.admin.get("/plugins").json() == before
    assert t.admin.get("/plugins/" + p["id"]).json() == p
    assert t.admin.get("/plugins/" + g["id"]).json()["enabled"] is False
    assert t.admin.get("/consumers/bob/key-auth/" + key["id"]).json() == key
    assert t.admin.get("/consumers/bob/basic-auth/" + basic["id"]).json() == basic
    assert t.admin.get("/consumers/bob/acls/" + acl["id"]).json() == acl
    assert proxied(t, "/a").status == 401
    assert proxied(t, "/a?apikey=k1").status == 200

# SPDX-License-Identifier: MIT
"""Kong's basic-auth specs ported: spec/plugins/basic-auth/{access,api,crypto,hooks}_spec.lua
at tags 0.7.0 and 0.8.3 (0.8.3 adds one api case, ported here).

torii differs from Kong 0.7 as documented in docs/plugins.md: wrong credentials are 401 (0.7:
403), the realm is "torii" (0.7: "kong"), passwords are stored as Argon2id and never returned
(0.7: salted SHA-1, returned by the Admin API)."""

import base64
import sqlite3

import pytest

from kong07 import (BODY_MODES, add_api, add_consumer, add_cred, add_plugin, hdr, proxy, seen,
                    skip_table, start, stop, write)

REALM = 'Basic realm="torii"'
GOOD = "Basic dXNlcm5hbWU6cGFzc3dvcmQ="  # username:password
BAD = {"message": "Invalid authentication credentials"}



@pytest.fixture(scope="module")
def ba(tmp_path_factory):
    """access_spec's fixtures: basicauth.com, basicauth2.com (hide_credentials), consumer
    basicauth_tests_consuser with username/password."""
    ns = start(tmp_path_factory, "basicauth")
    add_api(ns, "basicauth.com", "tests-basicauth")
    add_api(ns, "basicauth2.com", "tests-basicauth2")
    ns.consumer = add_consumer(ns, username="basicauth_tests_consuser")
    add_plugin(ns, "tests-basicauth", "basic-auth")
    add_plugin(ns, "tests-basicauth2", "basic-auth", {"hide_credentials": True})
    add_cred(ns, "basicauth_tests_consuser", "basic-auth", username="username",
             password="password")
    yield ns
    stop(ns)


def refused(r):
    """Kong 0.7: 403; torii: 401 with the same message (docs/plugins.md)."""
    assert r.status == 401, r
    assert r.json() == BAD
    assert r.header("www-authenticate") == REALM


# ---- access_spec.lua -----------------------------------------------------------------------

def test_credential_missing(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should return invalid credentials and
    www-authenticate header when the credential is missing"."""
    r = proxy(ba, "basicauth.com")
    assert r.status == 401
    assert r.header("www-authenticate") == REALM
    assert r.json() == {"message": "Unauthorized"}


def test_credential_value_wrong(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should return invalid credentials when
    the credential value is wrong"."""
    refused(proxy(ba, "basicauth.com", headers=(("Authorization", "asd"),)))


def test_credential_value_wrong_in_proxy_authorization(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should return invalid credentials when
    the credential value is wrong in proxy-authorization"."""
    refused(proxy(ba, "basicauth.com", headers=(("Proxy-Authorization", "asd"),)))


def test_only_the_password(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should not pass when passing only the
    password"."""
    refused(proxy(ba, "basicauth.com", headers=(("Authorization", "Basic OmFwaWtleTEyMw=="),)))


def test_only_the_username(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should not pass when passing only the
    username"."""
    refused(proxy(ba, "basicauth.com", headers=(("Authorization", "Basic dXNlcjEyMzo="),)))


def test_authorization_missing(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should reply 401 and www-authenticate
    header when authorization is missing"."""
    r = proxy(ba, "basicauth.com", headers=(("authorization123", GOOD),))
    assert r.status == 401
    assert r.header("www-authenticate") == REALM
    assert r.json() == {"message": "Unauthorized"}


def test_pass_with_get(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass with GET"."""
    d = seen(proxy(ba, "basicauth.com", headers=(("Authorization", GOOD),)))
    assert hdr(d, "authorization") == [GOOD]


def test_pass_with_get_and_proxy_authorization(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass with GET and
    proxy-authorization": the upstream still receives Proxy-Authorization."""
    d = seen(proxy(ba, "basicauth.com", headers=(("Proxy-Authorization", GOOD),)))
    assert hdr(d, "proxy-authorization") == [GOOD]


def test_pass_with_post(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass with POST"."""
    d = seen(proxy(ba, "basicauth.com", "/post", "POST", (("Authorization", GOOD),), b""))
    assert hdr(d, "authorization") == [GOOD]
    assert d["method"] == "POST"


def test_valid_authorization_wrong_proxy_authorization(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass with GET and valid
    authorization and wrong proxy-authorization"."""
    d = seen(proxy(ba, "basicauth.com", headers=(("Proxy-Authorization", "hello"),
                                                  ("Authorization", GOOD))))
    assert hdr(d, "proxy-authorization") == ["hello"]
    assert hdr(d, "authorization") == [GOOD]


def test_invalid_authorization_valid_proxy_authorization(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass with GET and invalid
    authorization and valid proxy-authorization"."""
    d = seen(proxy(ba, "basicauth.com", headers=(("Authorization", "hello"),
                                                  ("Proxy-Authorization", GOOD))))
    assert hdr(d, "proxy-authorization") == [GOOD]


def test_right_headers_upstream(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass the right headers to the
    upstream server"."""
    d = seen(proxy(ba, "basicauth.com", "/headers", headers=(("Authorization", GOOD),)))
    assert hdr(d, "x-consumer-id") == [ba.consumer["id"]]
    assert hdr(d, "x-consumer-username") == ["basicauth_tests_consuser"]
    assert hdr(d, "x-credential-username") == ["username"]


def test_hide_credentials_in_authorization(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass with POST and hide
    credentials in Authorization header"."""
    d = seen(proxy(ba, "basicauth2.com", "/headers", headers=(("Authorization", GOOD),)))
    assert hdr(d, "authorization") == []
    assert hdr(d, "x-credential-username") == ["username"]


def test_hide_credentials_in_proxy_authorization(ba):
    """spec/plugins/basic-auth/access_spec.lua@0.7.0: "should pass with POST and hide
    credentials in Proxy-Authorization header"."""
    d = seen(proxy(ba, "basicauth2.com", "/headers", headers=(("Proxy-Authorization", GOOD),)))
    assert hdr(d, "proxy-authorization") == []


# ---- api_spec.lua (stateful, in order, once per body encoding) ----------------------------

@pytest.fixture(scope="module", params=BODY_MODES)
def api(request, ba):
    """api_spec's fixtures: consumers bob and alice (fresh names per body encoding)."""
    m = request.param
    ns = type("Api", (), {})
    ns.mode = m
    ns.bob = add_consumer(ba, username="bob-" + m)
    ns.alice = add_consumer(ba, username="alice-" + m)
    ns.base = "/consumers/bob-%s/basic-auth/" % m
    ns.cred = None
    return ns


def test_api_post_create(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[SUCCESS] should create a basicauth
    credential" (then deleted, as the spec's teardown does)."""
    r = write(ba.admin, "POST", api.base, {"username": "bob-" + api.mode, "password": "1234"},
              api.mode)
    assert r.status_code == 201, r.text
    assert r.json()["consumer_id"] == api.bob["id"]
    assert ba.admin.delete(api.base + r.json()["id"]).status_code == 204


@pytest.mark.sqlite_file
def test_api_post_encrypts(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[SUCCESS] should encrypt a password": the
    password is stored hashed (Argon2id in torii, not 0.7's SHA-1) and never returned."""
    r = write(ba.admin, "POST", "/consumers/alice-%s/basic-auth/" % api.mode,
              {"username": "alice-" + api.mode, "password": "1234"}, api.mode)
    assert r.status_code == 201, r.text
    cred = r.json()
    assert cred["consumer_id"] == api.alice["id"]
    assert "password" not in cred
    db = sqlite3.connect(str(ba.torii.db_path))
    try:
        stored = db.execute("SELECT json_extract(doc, '$.password') FROM basicauth_credentials "
                            "WHERE id = ?", (cred["id"],)).fetchone()[0]
    finally:
        db.close()
    assert stored.startswith("$argon2id$") and "1234" not in stored
    ba.admin.delete("/consumers/alice-%s/basic-auth/%s" % (api.mode, cred["id"]))


def test_api_post_errors(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (POST)."""
    r = write(ba.admin, "POST", api.base, {}, api.mode)
    assert r.status_code == 400
    assert r.json() == {"username": "username is required"}


def test_api_put_create(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[SUCCESS] should create and update"."""
    r = write(ba.admin, "PUT", api.base, {"username": "alice-put-" + api.mode,
                                          "password": "1234"}, api.mode)
    assert r.status_code == 201, r.text
    api.cred = r.json()
    assert api.cred["consumer_id"] == api.bob["id"]


def test_api_put_errors(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (PUT)."""
    r = write(ba.admin, "PUT", api.base, {}, api.mode)
    assert r.status_code == 400
    assert r.json() == {"username": "username is required"}


def test_api_get_all(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "should retrieve all" (the spec counts 2
    because its POST teardown deletes only the last credential; here both POSTs cleaned up,
    so bob has the PUT one)."""
    r = ba.admin.get(api.base)
    assert r.status_code == 200
    assert [c["id"] for c in r.json()["data"]] == [api.cred["id"]]


def test_api_get_by_id(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "should retrieve by id"."""
    r = ba.admin.get(api.base + api.cred["id"])
    assert r.status_code == 200 and r.json()["id"] == api.cred["id"]


def test_api_get_by_id_matches_consumer(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.8.3: "should retrieve by id and match the
    consumer id"."""
    assert ba.admin.get(api.base + api.cred["id"]).status_code == 200
    assert ba.admin.get("/consumers/alice-%s/basic-auth/%s"
                        % (api.mode, api.cred["id"])).status_code == 404


def test_api_patch_update(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[SUCCESS] should update a credential"."""
    r = write(ba.admin, "PATCH", api.base + api.cred["id"], {"username": "alice2-" + api.mode},
              api.mode)
    assert r.status_code == 200, r.text
    assert r.json()["username"] == "alice2-" + api.mode


def test_api_patch_errors(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (PATCH with an empty username)."""
    r = write(ba.admin, "PATCH", api.base + api.cred["id"], {"username": ""}, api.mode)
    assert r.status_code == 400
    assert r.json() == {"username": "username is not a string"}


def test_api_delete_errors(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (DELETE of an id that is not a UUID, then of an unknown one)."""
    r = ba.admin.delete(api.base + "blah")
    assert r.status_code == 400 and r.json() == {"id": "blah is an invalid uuid"}, r.text
    assert ba.admin.delete(api.base + "00000000-0000-0000-0000-000000000000").status_code == 404


def test_api_delete(ba, api):
    """spec/plugins/basic-auth/api_spec.lua@0.7.0: "[SUCCESS] should delete a credential"."""
    assert ba.admin.delete(api.base + api.cred["id"]).status_code == 204


def test_credential_without_password(ba):
    """Kong 0.7's basic-auth api (kong/plugins/basic-auth/daos.lua: password not required): a
    credential can be created without a password, and then never authenticates (0.7 compared
    the digest of the given password with the missing stored one, which never matched)."""
    add_consumer(ba, username="nopw")
    cred = add_cred(ba, "nopw", "basic-auth", username="nopw-user")
    assert "password" not in cred
    for given in (b"nopw-user:", b"nopw-user:x", b"nopw-user"):
        refused(proxy(ba, "basicauth.com", headers=(
            ("Authorization", "Basic " + base64.b64encode(given).decode()),)))


# ---- crypto_spec.lua -------------------------------------------------------------------------

@pytest.mark.sqlite_file
def test_crypto_encrypt(ba):
    """spec/plugins/basic-auth/crypto_spec.lua@0.7.0: "should encrypt": torii's hash is
    Argon2id with a random salt (documented difference), so two credentials with one
    password store different hashes, neither being the password."""
    add_consumer(ba, username="crypto1")
    add_consumer(ba, username="crypto2")
    a = add_cred(ba, "crypto1", "basic-auth", username="crypto1", password="secret")
    b = add_cred(ba, "crypto2", "basic-auth", username="crypto2", password="secret")
    db = sqlite3.connect(str(ba.torii.db_path))
    try:
        rows = dict(db.execute("SELECT id, json_extract(doc, '$.password') "
                               "FROM basicauth_credentials").fetchall())
    finally:
        db.close()
    assert rows[a["id"]] != rows[b["id"]]
    assert all(rows[x["id"]].startswith("$argon2id$") for x in (a, b))


# ---- hooks_spec.lua: changes apply to the next request (torii has no /cache) ---------------

@pytest.fixture
def hooks(ba):
    n = hooks.seq = getattr(hooks, "seq", 0) + 1
    host = "hooks%d.basicauth.com" % n
    add_api(ba, host, "hooks-ba-%d" % n)
    add_plugin(ba, "hooks-ba-%d" % n, "basic-auth")
    user = "hooks-ba-%d" % n
    add_consumer(ba, username=user)
    cred = add_cred(ba, user, "basic-auth", username=user, password="pw")
    auth = "Basic " + base64.b64encode(("%s:pw" % user).encode()).decode()
    return host, user, cred, auth


def test_hooks_credential_deleted(ba, hooks):
    """spec/plugins/basic-auth/hooks_spec.lua@0.7.0: "should invalidate when Basic Auth
    Credential entity is deleted"."""
    host, user, cred, auth = hooks
    assert seen(proxy(ba, host, headers=(("Authorization", auth),)))
    assert ba.admin.delete("/consumers/%s/basic-auth/%s" % (user, cred["id"])).status_code == 204
    refused(proxy(ba, host, headers=(("Authorization", auth),)))


def test_hooks_credential_updated(ba, hooks):
    """spec/plugins/basic-auth/hooks_spec.lua@0.7.0: "should invalidate when Basic Auth
    Credential entity is updated" (a new username: the old one fails, the new one works)."""
    host, user, cred, auth = hooks
    assert seen(proxy(ba, host, headers=(("Authorization", auth),)))
    r = ba.admin.patch("/consumers/%s/basic-auth/%s" % (user, cred["id"]),
                       data={"username": user + "-new"})
    assert r.status_code == 200, r.text
    refused(proxy(ba, host, headers=(("Authorization", auth),)))
    new = "Basic " + base64.b64encode(("%s-new:pw" % user).encode()).decode()
    assert hdr(seen(proxy(ba, host, headers=(("Authorization", new),))),
               "x-credential-username") == [user + "-new"]


def test_hooks_consumer_deleted(ba, hooks):
    """spec/plugins/basic-auth/hooks_spec.lua@0.7.0: "should invalidate when Consumer entity
    is deleted"."""
    host, user, cred, auth = hooks
    assert seen(proxy(ba, host, headers=(("Authorization", auth),)))
    assert ba.admin.delete("/consumers/" + user).status_code == 204
    refused(proxy(ba, host, headers=(("Authorization", auth),)))

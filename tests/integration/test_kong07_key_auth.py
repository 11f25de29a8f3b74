# SPDX-License-Identifier: MIT
"""Kong's key-auth specs ported: spec/plugins/key-auth/{access,api,daos,hooks}_spec.lua at tags
0.7.0 and 0.8.3 (the two differ only in 0.8.3's added api case, ported here).

torii differs from Kong 0.7 as documented in docs/plugins.md: a wrong key is 401 (0.7: 403),
the missing-key message is Kong 3's "No API key found in request" (0.7: "No API Key found in
headers, body or querystring"), and the realm is "torii" (0.7: "kong")."""

import pytest

from kong07 import (BODY_MODES, add_api, add_consumer, add_cred, add_plugin, body_of, hdr,
                    proxy, query_of, random_uuid, seen, skip_table, start, stop, write)

NO_KEY = {"message": "No API key found in request"}
BAD_KEY = {"message": "Invalid authentication credentials"}
REALM = 'Key realm="torii"'

SKIPPED = [
    ("spec/plugins/key-auth/daos_spec.lua@0.7.0+0.8.3", "should not insert in DB if consumer "
     "does not exist (the half without a consumer_id)",
     "the Admin API takes consumer_id from the path, so a credential without one cannot be "
     "written; the half with an unknown consumer is ported"),
]
test_skipped_spec_case = skip_table(SKIPPED)


@pytest.fixture(scope="module")
def ka(tmp_path_factory):
    """access_spec's fixtures: keyauth1.com (key-auth), keyauth2.com (hide_credentials),
    consumer auth_tests_consumer with key apikey123."""
    ns = start(tmp_path_factory, "keyauth")
    add_api(ns, "keyauth1.com", "tests-auth1")
    add_api(ns, "keyauth2.com", "tests-auth2")
    ns.consumer = add_consumer(ns, username="auth_tests_consumer")
    add_plugin(ns, "tests-auth1", "key-auth", {"key_names": ["apikey"]})
    add_plugin(ns, "tests-auth2", "key-auth", {"key_names": ["apikey"], "hide_credentials": True})
    add_cred(ns, "auth_tests_consumer", "key-auth", key="apikey123")
    yield ns
    stop(ns)


def no_key(r):
    assert r.status == 401, r
    assert r.header("www-authenticate") == REALM
    assert r.json() == NO_KEY


def bad_key(r):
    """Kong 0.7: 403; torii: 401 with the same message (docs/plugins.md)."""
    assert r.status == 401, r
    assert r.json() == BAD_KEY


# ---- access_spec.lua ---------------------------------------------------------------------

def test_missing_credential(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should return invalid credentials and
    www-authenticate header when the credential is missing"."""
    no_key(proxy(ka, "keyauth1.com"))


def test_wrong_credential_value(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should return invalid credentials when
    the credential value is wrong" (401 in torii, 403 in 0.7)."""
    bad_key(proxy(ka, "keyauth1.com", "/get?apikey=asd"))


def test_credential_parameter_missing(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should reply with 401 and
    www-authenticate header when the credential parameter is missing"."""
    no_key(proxy(ka, "keyauth1.com", "/get?apikey123=apikey123"))


def test_parameter_name_wrong_in_get(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should reply 401 and www-authenticate
    header when the credential parameter name is wrong in GET"."""
    no_key(proxy(ka, "keyauth1.com", "/get?apikey123=apikey123"))


@pytest.mark.parametrize("mode", BODY_MODES)
def test_parameter_name_wrong_in_post(ka, mode):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should reply 401 and www-authenticate
    header when the credential parameter name is wrong in POST" (form and JSON bodies)."""
    body, headers = body_of(mode, {"apikey123": "apikey123"})
    no_key(proxy(ka, "keyauth1.com", "/post", "POST", headers, body))


def test_pass_with_get(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should pass with GET": the key stays in
    the query string the upstream receives."""
    d = seen(proxy(ka, "keyauth1.com", "/get?apikey=apikey123"))
    assert query_of(d)["apikey"] == ["apikey123"]


def test_parameter_name_wrong_in_get_header(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should reply 401 and www-authenticate
    header when the credential parameter name is wrong in GET header"."""
    no_key(proxy(ka, "keyauth1.com", headers=(("apikey123", "apikey123"),)))


def test_parameter_name_wrong_in_post_header(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should reply 401 and www-authenticate
    header when the credential parameter name is wrong in POST header"."""
    no_key(proxy(ka, "keyauth1.com", "/post", "POST", (("apikey123", "apikey123"),), b""))


def test_set_right_headers(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should set right headers"."""
    d = seen(proxy(ka, "keyauth1.com", "/post", "POST", (("apikey", "apikey123"),), b""))
    assert hdr(d, "x-consumer-id") == [ka.consumer["id"]]
    assert hdr(d, "x-consumer-username") == ["auth_tests_consumer"]


def test_post_multipart_hide_credentials(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should pass with POST multipart and hide
    credentials": a 5 MB multipart body goes upstream whole, the key header does not."""
    boundary = "k07boundary"
    big = b"." * (5 * 1024 * 1024)
    body = (b"--" + boundary.encode() + b"\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n"
            + big + b"\r\n--" + boundary.encode()
            + b"\r\nContent-Disposition: form-data; name=\"wot\"\r\n\r\nwat\r\n--"
            + boundary.encode() + b"--\r\n")
    r = proxy(ka, "keyauth2.com", "/post", "POST",
              (("apikey", "apikey123"),
               ("Content-Type", "multipart/form-data; boundary=" + boundary)), body,
              timeout=60)
    d = seen(r)
    assert hdr(d, "apikey") == []
    assert d["body_length"] == len(body)
    import hashlib
    assert d["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_get_hide_credentials(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should pass with GET and hide
    credentials"."""
    d = seen(proxy(ka, "keyauth2.com", headers=(("apikey", "apikey123"),)))
    assert hdr(d, "apikey") == []
    assert hdr(d, "x-consumer-username") == ["auth_tests_consumer"]


def test_get_hide_credentials_and_another_param(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should pass with GET and hide credentials
    and another param" (first of the two cases with this title: header foo)."""
    d = seen(proxy(ka, "keyauth2.com", headers=(("apikey", "apikey123"), ("foo", "bar"))))
    assert hdr(d, "apikey") == []
    assert hdr(d, "foo") == ["bar"]


def test_not_pass_with_get_and_hide_credentials(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should not pass with GET and hide
    credentials" (first of the two cases with this title; 401 in torii, 403 in 0.7)."""
    bad_key(proxy(ka, "keyauth2.com", headers=(("apikey", "apikey123123"),)))


def test_get_hide_credentials_and_another_param_2(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should pass with GET and hide credentials
    and another param" (second case with this title: header wot)."""
    d = seen(proxy(ka, "keyauth2.com", headers=(("apikey", "apikey123"), ("wot", "wat"))))
    assert hdr(d, "apikey") == []
    assert hdr(d, "wot") == ["wat"]


def test_not_pass_with_get_and_hide_credentials_2(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should not pass with GET and hide
    credentials" (second case with this title)."""
    bad_key(proxy(ka, "keyauth2.com", headers=(("apikey", "apikey123123"),)))


def test_get_hide_credentials_in_querystring(ka):
    """spec/plugins/key-auth/access_spec.lua@0.7.0: "should pass with GET and hide credentials
    in querystring"."""
    d = seen(proxy(ka, "keyauth2.com", "/get?apikey=apikey123"))
    assert "apikey" not in query_of(d)
    assert "apikey123" not in d["target"]


# ---- api_spec.lua (stateful, in order, once per body encoding) ----------------------------

@pytest.fixture(scope="module", params=BODY_MODES)
def api(request, ka):
    """api_spec's fixtures: consumers bob and bob2 (fresh names per body encoding)."""
    mode = request.param
    bob = add_consumer(ka, username="bob-" + mode)
    add_consumer(ka, username="bob2-" + mode)
    return type("Api", (), {"mode": mode, "bob": bob, "base": "/consumers/bob-%s/key-auth/" % mode,
                            "other": "/consumers/bob2-%s/key-auth/" % mode, "cred": None})


def test_api_post_create(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[SUCCESS] should create a key-auth
    credential" (then deleted, as the spec does)."""
    r = write(ka.admin, "POST", api.base, {"key": "1234-" + api.mode}, api.mode)
    assert r.status_code == 201, r.text
    cred = r.json()
    assert cred["consumer_id"] == api.bob["id"]
    assert cred["key"] == "1234-" + api.mode
    assert ka.admin.delete(api.base + cred["id"]).status_code == 204


def test_api_post_autogenerated(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[SUCCESS] should create a key-auth
    credential auto-generating the key" (POST)."""
    r = write(ka.admin, "POST", api.base, {}, api.mode)
    assert r.status_code == 201, r.text
    assert len(r.json()["key"]) == 32


def test_api_put_create(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[SUCCESS] should create and update" (PUT)."""
    r = write(ka.admin, "PUT", api.base, {"key": "1234-" + api.mode}, api.mode)
    assert r.status_code == 201, r.text
    api.cred = r.json()
    assert api.cred["consumer_id"] == api.bob["id"]
    assert api.cred["key"] == "1234-" + api.mode


def test_api_put_autogenerated(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[SUCCESS] should create a key-auth
    credential auto-generating the key" (PUT)."""
    r = write(ka.admin, "PUT", api.base, {}, api.mode)
    assert r.status_code == 201, r.text
    assert r.json()["key"]


def test_api_get_all(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "should retrieve all"."""
    r = ka.admin.get(api.base)
    assert r.status_code == 200
    assert len(r.json()["data"]) == 3


def test_api_get_by_id(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "should retrieve by id"."""
    r = ka.admin.get(api.base + api.cred["id"])
    assert r.status_code == 200
    assert r.json()["id"] == api.cred["id"]


def test_api_get_by_id_matches_consumer(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.8.3: "should retrieve by id and match the consumer
    id"."""
    assert ka.admin.get(api.base + api.cred["id"]).status_code == 200
    assert ka.admin.get(api.other + api.cred["id"]).status_code == 404


def test_api_patch_update(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[SUCCESS] should update a credential"."""
    r = write(ka.admin, "PATCH", api.base + api.cred["id"], {"key": "4321-" + api.mode}, api.mode)
    assert r.status_code == 200, r.text
    assert r.json()["key"] == "4321-" + api.mode


def test_api_patch_errors(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (PATCH with an empty key: 400, and the key is kept)."""
    r = write(ka.admin, "PATCH", api.base + api.cred["id"], {"key": ""}, api.mode)
    assert r.status_code == 400
    assert r.json() == {"key": "key is not a string"}
    assert ka.admin.get(api.base + api.cred["id"]).json()["key"] == "4321-" + api.mode


def test_api_delete_errors(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[FAILURE] should return proper errors"
    (DELETE): an id that is not a UUID, and an unknown one."""
    r = ka.admin.delete(api.base + "blah")
    assert r.status_code == 400 and r.json() == {"id": "blah is an invalid uuid"}, r.text
    assert ka.admin.delete(api.base + "00000000-0000-0000-0000-000000000000").status_code == 404


def test_api_delete(ka, api):
    """spec/plugins/key-auth/api_spec.lua@0.7.0: "[SUCCESS] should delete a credential"."""
    assert ka.admin.delete(api.base + api.cred["id"]).status_code == 204
    assert ka.admin.get(api.base + api.cred["id"]).status_code == 404


# ---- daos_spec.lua, as Admin API checks ----------------------------------------------------

def test_dao_not_inserted_without_consumer(ka):
    """spec/plugins/key-auth/daos_spec.lua@0.7.0: "should not insert in DB if consumer does
    not exist": a credential for an unknown consumer id is refused and nothing is stored."""
    cid = random_uuid()
    r = ka.admin.post("/consumers/%s/key-auth/" % cid, data={"key": "dao-apikey123"})
    assert r.status_code == 404
    assert ka.admin.get("/consumers/%s/key-auth/" % cid).status_code == 404


def test_dao_insert_generated_values(ka):
    """spec/plugins/key-auth/daos_spec.lua@0.7.0: "should insert in DB and add generated
    values"."""
    add_consumer(ka, username="dao1")
    c = add_cred(ka, "dao1", "key-auth", key="dao-apikey123")
    assert c["key"] == "dao-apikey123" and c["id"] and c["created_at"]


def test_dao_autogenerated_key(ka):
    """spec/plugins/key-auth/daos_spec.lua@0.7.0: "should insert an autogenerated key"."""
    add_consumer(ka, username="dao2")
    c = add_cred(ka, "dao2", "key-auth")
    assert c["key"] and c["id"] and c["created_at"]


def test_dao_find_by_key(ka):
    """spec/plugins/key-auth/daos_spec.lua@0.7.0: "should find a Credential by public_key"
    (a list filtered by key)."""
    add_consumer(ka, username="dao3")
    add_cred(ka, "dao3", "key-auth", key="dao3-key")
    rows = ka.admin.get("/consumers/dao3/key-auth/?key=dao3-key").json()["data"]
    assert [x["key"] for x in rows] == ["dao3-key"]


def test_dao_empty_strings(ka):
    """spec/plugins/key-auth/daos_spec.lua@0.7.0: "should handle empty strings": filtering by
    an empty key finds nothing (never every row)."""
    add_consumer(ka, username="dao4")
    add_cred(ka, "dao4", "key-auth", key="dao4-key")
    r = ka.admin.get("/consumers/dao4/key-auth/?key=")
    assert r.status_code == 200, r.text
    assert r.json()["data"] == []


# ---- hooks_spec.lua: changes apply to the next request (torii has no /cache) ---------------

@pytest.fixture
def hooks(ka):
    """hooks_spec's fixtures, fresh per case: an api with key-auth, a consumer with a key."""
    n = hooks.seq = getattr(hooks, "seq", 0) + 1
    host = "hooks%d.keyauth.com" % n
    add_api(ka, host, "hooks-ka-%d" % n)
    add_plugin(ka, "hooks-ka-%d" % n, "key-auth", {"key_names": ["apikey"]})
    user = "hooks-ka-consumer-%d" % n
    add_consumer(ka, username=user)
    cred = add_cred(ka, user, "key-auth", key="hooks-key-%d" % n)
    return host, user, cred


def test_hooks_credential_deleted(ka, hooks):
    """spec/plugins/key-auth/hooks_spec.lua@0.7.0: "should invalidate when Key Auth Credential
    entity is deleted"."""
    host, user, cred = hooks
    assert seen(proxy(ka, host, "/get?apikey=" + cred["key"]))
    assert ka.admin.delete("/consumers/%s/key-auth/%s" % (user, cred["id"])).status_code == 204
    bad_key(proxy(ka, host, "/get?apikey=" + cred["key"]))


def test_hooks_credential_updated(ka, hooks):
    """spec/plugins/key-auth/hooks_spec.lua@0.7.0: "should invalidate when Key Auth Credential
    entity is updated": the old key stops working, the new one works at once."""
    host, user, cred = hooks
    assert seen(proxy(ka, host, "/get?apikey=" + cred["key"]))
    r = ka.admin.patch("/consumers/%s/key-auth/%s" % (user, cred["id"]),
                       data={"key": cred["key"] + "-updated"})
    assert r.status_code == 200, r.text
    bad_key(proxy(ka, host, "/get?apikey=" + cred["key"]))
    d = seen(proxy(ka, host, "/get?apikey=" + cred["key"] + "-updated"))
    assert hdr(d, "x-consumer-username") == [user]


def test_hooks_consumer_deleted(ka, hooks):
    """spec/plugins/key-auth/hooks_spec.lua@0.7.0: "should invalidate when Consumer entity is
    deleted": its keys go with it."""
    host, user, cred = hooks
    assert seen(proxy(ka, host, "/get?apikey=" + cred["key"]))
    assert ka.admin.delete("/consumers/" + user).status_code == 204
    bad_key(proxy(ka, host, "/get?apikey=" + cred["key"]))

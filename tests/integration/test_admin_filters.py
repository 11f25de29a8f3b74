# SPDX-License-Identifier: MIT
"""Admin API list filters on write-only fields (P11, G-04). A field no answer shows (a private
key, a password, a Redis password, an access token) is no filter either: filtering a list by it
would confirm guesses one request at a time. Each such filter is 400, the same answer as for a
misspelt field, whether the guess is right or wrong; ordinary filters keep working beside
them."""

import sqlite3

import pytest

from test_tls import make_cert

BASIC_PW = "correct horse battery"
REDIS_PW = "redis-secret-7c1f"

UNKNOWN = "%s is an unknown field"


@pytest.fixture
def world(torii, echo, tmp_path):
    """A certificate, alice with a basic-auth password and a key, an api with the ssl plugin
    (its private key) and rate-limiting (its Redis password), an OAuth2 token."""
    a = torii.admin
    crt, key = make_cert(tmp_path, "filters.test")
    w = type("World", (), {})()
    w.admin = a
    w.key_pem = key.read_text()
    w.cert_pem = crt.read_text()
    r = a.post("/certificates", json={"cert": w.cert_pem, "key": w.key_pem})
    assert r.status_code == 201, r.text
    w.cert_id = r.json()["id"]
    w.alice = a.add_consumer(username="alice")
    r = a.post("/consumers/alice/basic-auth", data={"username": "alice", "password": BASIC_PW})
    assert r.status_code == 201, r.text
    a.add_api(name="secure", upstream_url=echo.url, request_host="filters.test")
    r = a.post("/apis/secure/plugins", data={"name": "ssl", "config.cert": w.cert_pem,
                                              "config.key": w.key_pem})
    assert r.status_code == 201, r.text
    r = a.post("/apis/secure/plugins", json={"name": "rate-limiting", "config": {
        "minute": 5, "policy": "redis", "redis_host": "127.0.0.1",
        "redis_password": REDIS_PW}})
    assert r.status_code == 201, r.text
    r = a.post("/apis/secure/plugins", json={"name": "oauth2", "config": {
        "enable_client_credentials": True}})
    assert r.status_code == 201, r.text
    r = a.post("/consumers/alice/oauth2", json={"name": "app",
                                                 "redirect_uri": "https://app.test/cb"})
    assert r.status_code == 201, r.text
    w.app = r.json()
    r = a.post("/oauth2_tokens", json={"credential_id": w.app["id"]})
    assert r.status_code == 201, r.text
    w.token = r.json()
    return w


def refused(r, field):
    assert r.status_code == 400, (r.status_code, r.text)
    assert r.json() == {field: UNKNOWN % field}, r.text
    return r.json()


# ---- certificates ---------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [{}, {"include_key": "true"}, {"size": "10"}])
def test_certificate_key_is_no_filter(world, extra):
    right = refused(world.admin.get("/certificates", params=dict(extra, key=world.key_pem)),
                    "key")
    wrong = refused(world.admin.get("/certificates", params=dict(extra, key="nope")), "key")
    assert right == wrong
    assert "PRIVATE KEY" not in str(right)


def test_certificate_ordinary_filters_still_work(world):
    r = world.admin.get("/certificates", params={"id": world.cert_id})
    assert r.status_code == 200 and [c["id"] for c in r.json()["data"]] == [world.cert_id]
    assert "key" not in r.json()["data"][0]
    r = world.admin.get("/certificates", params={"cert": world.cert_pem})
    assert r.status_code == 200 and r.json()["total"] == 1
    r = world.admin.get("/certificates", params={"nope": "1"})
    refused(r, "nope")


# ---- basic-auth passwords ----------------------------------------------------------------

@pytest.mark.parametrize("path", ["/basic-auths", "/consumers/alice/basic-auth",
                                  "/consumers/alice/basicauth"])
@pytest.mark.parametrize("guess", [BASIC_PW, "wrong", "", "$argon2id$"])
def test_basic_auth_password_is_no_filter(world, path, guess):
    refused(world.admin.get(path, params={"password": guess}), "password")


@pytest.mark.sqlite_file
def test_basic_auth_stored_hash_is_no_filter_either(world, torii):
    with sqlite3.connect(torii.db_path) as db:
        row = db.execute("SELECT json_extract(doc, '$.password') FROM basicauth_credentials")
        stored = row.fetchone()[0]
    assert stored != BASIC_PW
    refused(world.admin.get("/basic-auths", params={"password": stored}), "password")


def test_basic_auth_username_filter_works(world):
    r = world.admin.get("/basic-auths", params={"username": "alice"})
    assert r.status_code == 200 and r.json()["total"] == 1
    assert "password" not in r.json()["data"][0]


# ---- plugin config secrets -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/plugins", "/apis/secure/plugins"])
@pytest.mark.parametrize("arg", ["config.key", "config[key]", "config.redis_password",
                                 "config[redis_password]"])
def test_hidden_plugin_config_is_no_filter(world, path, arg):
    secret = REDIS_PW if "redis" in arg else world.key_pem
    for guess in (secret, "wrong"):
        r = world.admin.get(path, params={arg: guess})
        assert r.status_code == 400, r.text
        # "config cannot be used as a filter"; the bracketed name is an unknown field
        assert list(r.json()) == (["config"] if arg.startswith("config.") else [arg]), r.text
        assert secret not in r.text


def test_plugin_name_filter_works(world):
    r = world.admin.get("/plugins", params={"name": "ssl"})
    assert r.status_code == 200 and r.json()["total"] == 1
    assert "key" not in r.json()["data"][0]["config"]


# ---- OAuth2 tokens -------------------------------------------------------------------------

@pytest.mark.parametrize("field", ["access_token", "refresh_token", "credential_id", "nope"])
def test_oauth2_tokens_take_no_filter(world, field):
    value = world.token.get(field) or world.app["id"]
    for guess in (value, "wrong"):
        refused(world.admin.get("/oauth2_tokens", params={field: guess}), field)


def test_oauth2_tokens_paging_still_works(world):
    r = world.admin.get("/oauth2_tokens", params={"size": "1"})
    assert r.status_code == 200 and r.json()["total"] == 1
    assert world.token["access_token"] not in r.text


# ---- what /schemas says ----------------------------------------------------------------------

@pytest.mark.parametrize("plugin,field", [("ssl", "key"), ("rate-limiting", "redis_password")])
def test_plugin_schema_marks_write_only(world, plugin, field):
    r = world.admin.get("/plugins/schema/" + plugin)
    assert r.status_code == 200, r.text
    assert r.json()["fields"][field].get("write_only") is True

# SPDX-License-Identifier: MIT
"""The jwt plugin and its jwt_secrets credentials, ported from Kong 3.9's spec/03-plugins/16-jwt
(02-api_spec, 03-access_spec, 04-invalidations_spec): tokens minted here with PyJWT, keys made
by the openssl command; HS256/384/512, RS256, PS256, ES256 and EdDSA verified; tokens read
from the query, cookies and headers; Kong's 401 messages word for word (no token, several
tokens, a token that does not parse, alg none, a missing or empty key claim, an unknown key,
the classic algorithm confusion of an HS token against an RS credential, a wrong signature,
expired and not-yet-valid claims, maximum_expiration); the anonymous consumer, preflight,
secret_is_base64, key_claim_name, realm; and the Admin API's refusals naming the field."""

import base64
import hashlib
import hmac
import subprocess
import time
import types

import jwt as pyjwt
import pytest

from harness import Torii, finish_torii
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

SECRET = "tooshort-but-this-is-a-test-secret"


def ok(r, status=201):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


def keypair(tmp, name, genpkey_args):
    priv = tmp / (name + ".key")
    pub = tmp / (name + ".pub")
    subprocess.run(["openssl", "genpkey", "-out", str(priv)] + genpkey_args, check=True,
                   capture_output=True, timeout=60)
    subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)],
                   check=True, capture_output=True, timeout=60)
    return priv.read_text(), pub.read_text()


ROUTES = {
    "jwt1.test": {},
    "jwt2.test": {"uri_param_names": ["token", "jwt"]},
    "jwt3.test": {"claims_to_verify": ["nbf", "exp"]},
    "jwt4.test": {"cookie_names": ["silly", "crumble"]},
    "jwt5.test": {"secret_is_base64": True},
    "jwt7.test": {"key_claim_name": "aud"},
    "jwt8.test": {"run_on_preflight": False},
    "jwt9.test": {"maximum_expiration": 300, "claims_to_verify": ["exp"]},
    "jwt10.test": {"header_names": ["CustomAuthorization"]},
    "jwt11.test": {"realm": "test-realm"},
}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("jwt-keys")
    keys = {
        "rsa": keypair(tmp, "rsa", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"]),
        "ec": keypair(tmp, "ec", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]),
        "ed": keypair(tmp, "ed", ["-algorithm", "ED25519"]),
    }
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("jwt"), {"worker_threads": "1"})
    t.start()
    a = t.admin
    svc = ok(a.post("/services", json={"url": echo.url}))
    for host, config in ROUTES.items():
        r = ok(a.post("/routes", json={"hosts": [host], "service": {"id": svc["id"]}}))
        ok(a.post("/routes/%s/plugins" % r["id"], json={"name": "jwt", "config": config}))
    consumer = ok(a.post("/consumers", json={"username": "jwt_tests_consumer"}))
    anon = ok(a.post("/consumers", json={"username": "no-body"}))
    r = ok(a.post("/routes", json={"hosts": ["jwt6.test"], "service": {"id": svc["id"]}}))
    ok(a.post("/routes/%s/plugins" % r["id"],
              json={"name": "jwt", "config": {"anonymous": anon["id"]}}))
    creds = {}
    for alg in ("HS256", "HS384", "HS512"):
        creds[alg] = ok(a.post("/consumers/jwt_tests_consumer/jwt",
                               json={"key": "key-" + alg, "secret": SECRET, "algorithm": alg}))
    for alg, kind in (("RS256", "rsa"), ("PS256", "rsa"), ("ES256", "ec"), ("EdDSA", "ed")):
        creds[alg] = ok(a.post("/consumers/jwt_tests_consumer/jwt",
                               json={"key": "key-" + alg, "algorithm": alg,
                                     "rsa_public_key": keys[kind][1]}))
    b64 = ok(a.post("/consumers", json={"username": "jwt_b64"}))
    raw_secret = b"\x01\x02binary secret\xff"
    creds["b64"] = ok(a.post("/consumers/jwt_b64/jwt",
                             json={"key": "key-b64",
                                   "secret": base64.urlsafe_b64encode(raw_secret).decode()}))
    yield types.SimpleNamespace(torii=t, admin=a, echo=echo, keys=keys, creds=creds,
                                consumer=consumer, anon=anon, raw_secret=raw_secret, svc=svc)
    finish_torii(t)
    echo.stop()


def token(claims, key, alg="HS256", headers=None):
    return pyjwt.encode(claims, key, algorithm=alg, headers=headers)


def call(node, host, headers=(), target="/request", method="GET"):
    return one_request(node.torii.proxy_port, method, target, host=host, headers=list(headers))


def upstream(r):
    return {k.lower(): v for k, v in r.json()["headers"]}


def bearer(tok):
    return [("Authorization", "Bearer " + tok)]


def unauthorized(r, message, www='Bearer error="invalid_token"'):
    assert r.status == 401, r.body
    assert r.json() == {"message": message}, r.body
    if www is not None:
        assert r.header("WWW-Authenticate") == www


# ---- refusals (03-access_spec "refusals") ------------------------------------------------------

def test_no_token(node):
    unauthorized(call(node, "jwt1.test"), "Unauthorized", www="Bearer")


def test_realm(node):
    r = call(node, "jwt11.test")
    unauthorized(r, "Unauthorized", www='Bearer realm="test-realm"')
    r = call(node, "jwt11.test", bearer("a.b.c"))
    assert r.header("WWW-Authenticate") == 'Bearer realm="test-realm" error="invalid_token"'


def test_bad_tokens(node):
    for bad in ("not-a-token", "a.b", "e30.e30", "###.###.###",
                base64.urlsafe_b64encode(b"[1]").decode() + ".e30.sig"):
        unauthorized(call(node, "jwt1.test", bearer(bad)), "Bad token; invalid JSON")


def test_alg_none_is_refused(node):
    tok = token({"iss": "key-HS256"}, None, alg="none")
    unauthorized(call(node, "jwt1.test", bearer(tok)), "Bad token; invalid alg")


def test_missing_and_empty_key_claim(node):
    unauthorized(call(node, "jwt1.test", bearer(token({"name": "x"}, SECRET))),
                 "No mandatory 'iss' in claims")
    unauthorized(call(node, "jwt1.test", bearer(token({"iss": ""}, SECRET))),
                 "Invalid 'iss' in claims")


def test_unknown_key(node):
    unauthorized(call(node, "jwt1.test", bearer(token({"iss": "nobody"}, SECRET))),
                 "No credentials found for given 'iss'")


def test_algorithm_confusion_is_refused(node):
    """An HS256 token signed with the RS credential's public key as the HMAC secret."""
    tok = token({"iss": "key-RS256"}, "x", alg="HS256")
    unauthorized(call(node, "jwt1.test", bearer(tok)), "Invalid algorithm")
    # HMAC with the public key as the secret, but RS256 in the header
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').rstrip(b"=").decode()
    payload = base64.urlsafe_b64encode(b'{"iss":"key-RS256"}').rstrip(b"=").decode()
    sig = hmac.new(node.keys["rsa"][1].encode(), ("%s.%s" % (header, payload)).encode(),
                   hashlib.sha256).digest()
    tok = "%s.%s.%s" % (header, payload, base64.urlsafe_b64encode(sig).rstrip(b"=").decode())
    unauthorized(call(node, "jwt1.test", bearer(tok)), "Invalid signature")


def test_wrong_signature(node):
    unauthorized(call(node, "jwt1.test", bearer(token({"iss": "key-HS256"}, "wrong secret"))),
                 "Invalid signature")
    other_priv, _ = node.keys["ec"]
    unauthorized(call(node, "jwt1.test",
                      bearer(token({"iss": "key-RS256"}, other_priv, alg="ES256",
                                   headers={"alg": "ES256"}))),
                 "Invalid algorithm")


def test_multiple_tokens(node):
    a = token({"iss": "key-HS256"}, SECRET)
    b = token({"iss": "key-HS256", "n": 1}, SECRET)
    unauthorized(call(node, "jwt1.test", bearer(a), target="/request?jwt=" + b),
                 "Multiple tokens provided")
    # the same token twice is one token
    r = call(node, "jwt1.test", bearer(a), target="/request?jwt=" + a)
    assert r.status == 200


# ---- success ------------------------------------------------------------------------------------

@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA"])
def test_each_algorithm(node, alg):
    key = SECRET
    if alg in ("RS256", "PS256"):
        key = node.keys["rsa"][0]
    elif alg == "ES256":
        key = node.keys["ec"][0]
    elif alg == "EdDSA":
        key = node.keys["ed"][0]
    r = call(node, "jwt1.test", bearer(token({"iss": "key-" + alg}, key, alg=alg)))
    assert r.status == 200, r.body
    up = upstream(r)
    assert up["x-consumer-username"] == "jwt_tests_consumer"
    assert up["x-consumer-id"] == node.consumer["id"]
    assert up["x-credential-identifier"] == "key-" + alg
    assert "x-anonymous-consumer" not in up


def test_token_in_query_and_cookie_and_custom_header(node):
    tok = token({"iss": "key-HS256"}, SECRET)
    assert call(node, "jwt1.test", target="/request?jwt=" + tok).status == 200
    assert call(node, "jwt2.test", target="/request?token=" + tok).status == 200
    assert call(node, "jwt4.test", [("Cookie", "silly=" + tok)]).status == 200
    assert call(node, "jwt4.test", [("Cookie", "a=b; crumble=" + tok + "; c=d")]).status == 200
    unauthorized(call(node, "jwt4.test", [("Cookie", "other=" + tok)]), "Unauthorized",
                 www="Bearer")
    assert call(node, "jwt10.test", [("CustomAuthorization", "Bearer " + tok)]).status == 200
    unauthorized(call(node, "jwt10.test", bearer(tok)), "Unauthorized", www="Bearer")
    assert call(node, "jwt1.test", [("Authorization", "bearer   " + tok)]).status == 200


def test_key_in_header_claim(node):
    tok = token({"sub": "x"}, SECRET, headers={"iss": "key-HS256"})
    assert call(node, "jwt1.test", bearer(tok)).status == 200


def test_key_claim_name(node):
    assert call(node, "jwt7.test", bearer(token({"aud": "key-HS256"}, SECRET))).status == 200
    unauthorized(call(node, "jwt7.test", bearer(token({"iss": "key-HS256"}, SECRET))),
                 "No mandatory 'aud' in claims")


def test_secret_is_base64(node):
    tok = token({"iss": "key-b64"}, node.raw_secret)
    assert call(node, "jwt5.test", bearer(tok)).status == 200
    # on a route without the flag, the stored text itself is the secret
    unauthorized(call(node, "jwt1.test", bearer(tok)), "Invalid signature")


# ---- claims ------------------------------------------------------------------------------------

def test_claims_to_verify(node):
    now = int(time.time())
    r = call(node, "jwt3.test", bearer(token({"iss": "key-HS256", "exp": now - 10, "nbf": now - 10},
                                             SECRET)))
    assert r.status == 401 and r.json() == {"exp": "token expired"}
    r = call(node, "jwt3.test", bearer(token({"iss": "key-HS256", "exp": now + 100,
                                              "nbf": now + 100}, SECRET)))
    assert r.status == 401 and r.json() == {"nbf": "token not valid yet"}
    r = call(node, "jwt3.test", bearer(token({"iss": "key-HS256"}, SECRET)))
    assert r.status == 401 and r.json() == {"exp": "must be a number", "nbf": "must be a number"}
    r = call(node, "jwt3.test", bearer(token({"iss": "key-HS256", "exp": now + 100,
                                              "nbf": now - 100}, SECRET)))
    assert r.status == 200
    # without claims_to_verify an expired token passes (Kong's default)
    assert call(node, "jwt1.test",
                bearer(token({"iss": "key-HS256", "exp": now - 10}, SECRET))).status == 200


def test_maximum_expiration(node):
    now = int(time.time())
    assert call(node, "jwt9.test", bearer(token({"iss": "key-HS256", "exp": now + 100},
                                                SECRET))).status == 200
    r = call(node, "jwt9.test", bearer(token({"iss": "key-HS256", "exp": now + 1000}, SECRET)))
    assert r.status == 401 and r.json() == {"exp": "exceeds maximum allowed expiration"}


# ---- anonymous, preflight ----------------------------------------------------------------------

def test_anonymous(node):
    r = call(node, "jwt6.test")
    assert r.status == 200
    up = upstream(r)
    assert up["x-consumer-username"] == "no-body"
    assert up["x-anonymous-consumer"] == "true"
    r = call(node, "jwt6.test", bearer(token({"iss": "key-HS256"}, SECRET)))
    up = upstream(r)
    assert up["x-consumer-username"] == "jwt_tests_consumer"
    assert "x-anonymous-consumer" not in up


def test_preflight(node):
    assert call(node, "jwt8.test", method="OPTIONS").status == 200
    assert call(node, "jwt1.test", method="OPTIONS").status == 401


# ---- the Admin API (02-api_spec) ----------------------------------------------------------------

def test_credentials_api(node):
    a = node.admin
    c = ok(a.post("/consumers", json={"username": "jwt-api"}))
    made = ok(a.post("/consumers/jwt-api/jwt", json={}))
    assert made["algorithm"] == "HS256"
    assert len(made["key"]) == 32 and len(made["secret"]) == 32
    assert made.get("consumer", {}).get("id", made.get("consumer_id")) == c["id"]
    listed = ok(a.get("/consumers/jwt-api/jwt"), 200)
    assert [x["id"] for x in listed["data"]] == [made["id"]]
    got = ok(a.get("/consumers/jwt-api/jwt/" + made["id"]), 200)
    assert got["key"] == made["key"]
    ok(a.patch("/consumers/jwt-api/jwt/" + made["id"], json={"key": "renamed"}), 200)
    assert any(x["key"] == "renamed" for x in ok(a.get("/jwts"), 200)["data"])
    r = a.post("/consumers/jwt-api/jwt", json={"key": "renamed"})
    assert r.status_code == 409, r.text
    ok(a.delete("/consumers/jwt-api/jwt/" + made["id"]), 204)


def test_credential_refusals(node):
    a = node.admin
    r = a.post("/consumers/jwt_tests_consumer/jwt", json={"algorithm": "RS256"})
    assert r.status_code == 400 and r.json()["rsa_public_key"] == "required field missing"
    r = a.post("/consumers/jwt_tests_consumer/jwt",
               json={"algorithm": "RS256", "rsa_public_key": "-----BEGIN PUBLIC KEY-----\nxx\n"})
    assert r.status_code == 400 and r.json()["rsa_public_key"] == "invalid key"
    r = a.post("/consumers/jwt_tests_consumer/jwt", json={"algorithm": "none"})
    assert r.status_code == 400 and "algorithm" in r.json()


def test_config_refusals(node):
    a = node.admin
    r = a.post("/plugins", json={"name": "jwt", "config": {"maximum_expiration": 60}})
    assert r.status_code == 400, r.text
    assert r.json()["config.claims_to_verify"] == "expected to contain: exp"
    r = a.post("/plugins", json={"name": "jwt", "config": {"claims_to_verify": ["iat"]}})
    assert r.status_code == 400 and "config.claims_to_verify" in r.json()
    r = a.post("/plugins", json={"name": "jwt", "config": {"maximum_expiration": 31536001,
                                                           "claims_to_verify": ["exp"]}})
    assert r.status_code == 400 and "config.maximum_expiration" in r.json()


def test_config_defaults(node):
    p = ok(node.admin.post("/plugins", json={"name": "jwt", "enabled": False}))
    c = p["config"]
    assert c["uri_param_names"] == ["jwt"]
    assert c["header_names"] == ["authorization"]
    assert c["key_claim_name"] == "iss"
    assert c["secret_is_base64"] is False and c["run_on_preflight"] is True
    assert c["maximum_expiration"] == 0
    ok(node.admin.delete("/plugins/" + p["id"]), 204)


def test_deleted_credential_stops_working(node):
    """04-invalidations_spec: a deleted credential no longer authenticates."""
    a = node.admin
    ok(a.post("/consumers", json={"username": "jwt-gone"}))
    cred = ok(a.post("/consumers/jwt-gone/jwt", json={"key": "gone-key", "secret": SECRET}))
    tok = token({"iss": "gone-key"}, SECRET)
    assert call(node, "jwt1.test", bearer(tok)).status == 200
    ok(a.delete("/consumers/jwt-gone/jwt/" + cred["id"]), 204)
    unauthorized(call(node, "jwt1.test", bearer(tok)), "No credentials found for given 'iss'")

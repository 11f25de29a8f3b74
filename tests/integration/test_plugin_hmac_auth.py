# SPDX-License-Identifier: MIT
"""The hmac-auth plugin and its hmacauth_credentials, ported from Kong 3.9's
spec/03-plugins/19-hmac-auth (02-api_spec, 03-access_spec): signatures computed here from
Kong's documented signing string (each signed header as "name: value", request-line,
@request-target, joined by newlines) with hmac-sha1/256/384/512; Date and X-Date with
clock_skew; Authorization and Proxy-Authorization; enforce_headers; algorithms;
validate_request_body with Digest; hide_credentials; anonymous; realm; Kong's 401 messages
word for word; the Admin API's credentials."""

import base64
import email.utils
import hashlib
import hmac
import time
import types

import pytest

from harness import Torii, finish_torii
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

SECRET = "secret"
NOT_VALID = "HMAC signature cannot be verified"
NOT_SAME = "HMAC signature does not match"
NO_DATE = ("HMAC signature cannot be verified, a valid date or x-date header is required for "
           "HMAC Authentication")
HASHES = {"hmac-sha1": hashlib.sha1, "hmac-sha256": hashlib.sha256,
          "hmac-sha384": hashlib.sha384, "hmac-sha512": hashlib.sha512}


def ok(r, status=201):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


ROUTES = {
    "hmacauth.test": {},
    "hmacauth2.test": {"clock_skew": 3000},
    "hmacauth3.test": {"hide_credentials": True},
    "hmacauth4.test": {"enforce_headers": ["date", "request-line"]},
    "hmacauth5.test": {"algorithms": ["hmac-sha256"]},
    "hmacauth6.test": {"validate_request_body": True},
    "hmacauth7.test": {"realm": "test-realm"},
}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("hmac-auth"), {"worker_threads": "1"})
    t.start()
    a = t.admin
    svc = ok(a.post("/services", json={"url": echo.url}))
    for host, config in ROUTES.items():
        r = ok(a.post("/routes", json={"hosts": [host], "service": {"id": svc["id"]}}))
        ok(a.post("/routes/%s/plugins" % r["id"], json={"name": "hmac-auth", "config": config}))
    consumer = ok(a.post("/consumers", json={"username": "bob", "custom_id": "1234"}))
    anon = ok(a.post("/consumers", json={"username": "no-body"}))
    r = ok(a.post("/routes", json={"hosts": ["hmacauth-anon.test"], "service": {"id": svc["id"]}}))
    ok(a.post("/routes/%s/plugins" % r["id"],
              json={"name": "hmac-auth", "config": {"anonymous": anon["id"]}}))
    cred = ok(a.post("/consumers/bob/hmac-auth", json={"username": "bob", "secret": SECRET}))
    yield types.SimpleNamespace(torii=t, admin=a, echo=echo, consumer=consumer, anon=anon,
                                cred=cred)
    finish_torii(t)
    echo.stop()


def now_date(offset=0):
    return email.utils.formatdate(time.time() + offset, usegmt=True)


def sign(algorithm, names, headers, method="GET", target="/request", secret=SECRET):
    lines = []
    hmap = {k.lower(): v for k, v in headers}
    for n in names:
        if n.lower() in hmap:
            lines.append("%s: %s" % (n, hmap[n.lower()]))
        elif n == "request-line":
            lines.append("%s %s HTTP/1.1" % (method, target))
        elif n == "@request-target":
            lines.append("@request-target: %s %s" % (method.lower(), target))
        else:
            lines.append("%s:" % n)
    mac = hmac.new(secret.encode(), "\n".join(lines).encode(), HASHES[algorithm]).digest()
    return base64.b64encode(mac).decode()


def authz(algorithm, names, headers, username="bob", **kw):
    return 'hmac username="%s", algorithm="%s", headers="%s", signature="%s"' % (
        username, algorithm, " ".join(names), sign(algorithm, names, headers, **kw))


def call(node, host, headers, method="GET", target="/request", body=None):
    return one_request(node.torii.proxy_port, method, target, host=host, headers=list(headers),
                       body=body)


def signed(node, host, names=("date",), algorithm="hmac-sha256", extra=(), method="GET",
           target="/request", body=None, header="Authorization", **kw):
    headers = [("Date", now_date())] + list(extra)
    headers.append((header, authz(algorithm, names, headers, method=method, target=target, **kw)))
    return call(node, host, headers, method=method, target=target, body=body)


def unauthorized(r, message, www="hmac"):
    assert r.status == 401, r.body
    assert r.json() == {"message": message}
    assert r.header("WWW-Authenticate") == www


def upstream(r):
    return {k.lower(): v for k, v in r.json()["headers"]}


def test_no_authorization(node):
    unauthorized(call(node, "hmacauth.test", [("Date", now_date())]), "Unauthorized")


def test_date_required_and_bounded(node):
    h = [("Authorization", 'hmac username="bob", algorithm="hmac-sha1", headers="date", '
                           'signature="x"')]
    unauthorized(call(node, "hmacauth.test", h), NO_DATE)
    unauthorized(call(node, "hmacauth.test", h + [("Date", "not a date")]), NO_DATE)
    unauthorized(call(node, "hmacauth.test", h + [("Date", now_date(-400))]), NO_DATE)
    # clock_skew 3000 takes it
    d = [("Date", now_date(-400))]
    r = call(node, "hmacauth2.test", d + [("Authorization", authz("hmac-sha256", ["date"], d))])
    assert r.status == 200, r.body


def test_bad_params(node):
    d = [("Date", now_date())]
    for bad in ('hmac username="", algorithm="hmac-sha1", headers="date", signature="x"',
                "Basic Ym9iOnNlY3JldA==", 'hmac username="bob"'):
        unauthorized(call(node, "hmacauth.test", d + [("Authorization", bad)]), NOT_VALID)
    unauthorized(call(node, "hmacauth.test",
                      d + [("Authorization", authz("hmac-sha256", ["date"], d, username="nobody"))]),
                 NOT_VALID)
    unauthorized(call(node, "hmacauth.test",
                      d + [("Authorization", authz("hmac-sha256", ["date"], d).replace(
                          "hmac-sha256", "hmac-md5"))]), NOT_VALID)


@pytest.mark.parametrize("algorithm", sorted(HASHES))
def test_each_algorithm(node, algorithm):
    r = signed(node, "hmacauth.test", names=("date", "request-line"), algorithm=algorithm)
    assert r.status == 200, r.body
    up = upstream(r)
    assert up["x-consumer-username"] == "bob"
    assert up["x-consumer-custom-id"] == "1234"
    assert up["x-credential-identifier"] == "bob"
    assert "authorization" in up  # not hidden by default


def test_signature_does_not_match(node):
    unauthorized(signed(node, "hmacauth.test", secret="other"), NOT_SAME)
    # a signed header changed after signing
    d = [("Date", now_date()), ("X-Custom", "a")]
    h = authz("hmac-sha256", ["date", "x-custom"], d)
    unauthorized(call(node, "hmacauth.test", [d[0], ("X-Custom", "b"), ("Authorization", h)]),
                 NOT_SAME)
    # the request line is signed: another path does not match
    d = [("Date", now_date())]
    h = authz("hmac-sha256", ["date", "request-line"], d, target="/other")
    unauthorized(call(node, "hmacauth.test", d + [("Authorization", h)]), NOT_SAME)


def test_x_date_and_request_target_and_query(node):
    headers = [("X-Date", now_date())]
    target = "/request?a=1&b=two"
    names = ["x-date", "@request-target", "absent-header"]
    headers.append(("Authorization", authz("hmac-sha512", names, headers, method="POST",
                                           target=target)))
    r = call(node, "hmacauth.test", headers, method="POST", target=target)
    assert r.status == 200, r.body


def test_proxy_authorization(node):
    r = signed(node, "hmacauth.test", header="Proxy-Authorization")
    assert r.status == 200, r.body
    r = signed(node, "hmacauth3.test", header="Proxy-Authorization")
    assert r.status == 200
    assert "proxy-authorization" not in upstream(r)


def test_hide_credentials(node):
    r = signed(node, "hmacauth3.test")
    assert r.status == 200
    assert "authorization" not in upstream(r)


def test_enforce_headers(node):
    unauthorized(signed(node, "hmacauth4.test", names=("date",)), NOT_VALID)
    assert signed(node, "hmacauth4.test", names=("date", "request-line")).status == 200


def test_algorithms(node):
    unauthorized(signed(node, "hmacauth5.test", algorithm="hmac-sha1"), NOT_VALID)
    assert signed(node, "hmacauth5.test", algorithm="hmac-sha256").status == 200


def test_validate_request_body(node):
    body = b'{"a":"b"}'
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    r = signed(node, "hmacauth6.test", names=("date", "digest"), method="POST",
               extra=[("Digest", digest), ("Content-Type", "application/json")], body=body)
    assert r.status == 200, r.body
    bad = "SHA-256=" + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    unauthorized(signed(node, "hmacauth6.test", names=("date", "digest"), method="POST",
                        extra=[("Digest", bad)], body=body), NOT_SAME)
    # no Digest: only an empty body passes
    unauthorized(signed(node, "hmacauth6.test", method="POST", body=body), NOT_SAME)
    assert signed(node, "hmacauth6.test").status == 200


def test_realm(node):
    unauthorized(call(node, "hmacauth7.test", [("Date", now_date())]), "Unauthorized",
                 www='hmac realm="test-realm"')


def test_anonymous(node):
    r = call(node, "hmacauth-anon.test", [("Date", now_date())])
    assert r.status == 200
    up = upstream(r)
    assert up["x-consumer-username"] == "no-body" and up["x-anonymous-consumer"] == "true"
    r = signed(node, "hmacauth-anon.test")
    assert upstream(r)["x-consumer-username"] == "bob"


def test_credentials_api(node):
    a = node.admin
    ok(a.post("/consumers", json={"username": "hmac-api"}))
    made = ok(a.post("/consumers/hmac-api/hmac-auth", json={"username": "hmac-api-user"}))
    assert len(made["secret"]) == 32
    r = a.post("/consumers/hmac-api/hmac-auth", json={})
    assert r.status_code == 400 and "username" in r.json()
    r = a.post("/consumers/hmac-api/hmac-auth", json={"username": "hmac-api-user"})
    assert r.status_code == 409
    assert any(c["username"] == "hmac-api-user" for c in ok(a.get("/hmac-auths"), 200)["data"])
    ok(a.delete("/consumers/hmac-api/hmac-auth/" + made["id"]), 204)


def test_config_refusals_and_defaults(node):
    a = node.admin
    r = a.post("/plugins", json={"name": "hmac-auth", "config": {"algorithms": ["hmac-md5"]}})
    assert r.status_code == 400 and "config.algorithms" in r.json()
    r = a.post("/plugins", json={"name": "hmac-auth", "config": {"clock_skew": 0}})
    assert r.status_code == 400 and "config.clock_skew" in r.json()
    p = ok(a.post("/plugins", json={"name": "hmac-auth", "enabled": False}))
    c = p["config"]
    assert c["clock_skew"] == 300 and c["hide_credentials"] is False
    assert c["algorithms"] == ["hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"]
    assert c["enforce_headers"] == [] and c["validate_request_body"] is False
    ok(a.delete("/plugins/" + p["id"]), 204)

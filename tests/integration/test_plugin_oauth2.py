# SPDX-License-Identifier: MIT
"""The oauth2 plugin end to end (issue 5): the walkthrough's oauth2 steps as a user types them
(plugin, consumer, application, the 404 before request_host, Fix A and Fix B, "You must use
HTTPS", the token on the TLS port, the call with the token, removing the plugin); every grant
with Debian's python3-oauthlib / requests-oauthlib as the client; plugin config and
applications through the Admin API; /oauth2_tokens (never showing a token); protected requests
(what the upstream sees, spoofed identity headers, hide_credentials for header, query and form
body); scopes; expiry; revocation; tokens across a restart. The security catalogue's part I is
in test_plugin_oauth2_catalogue.py."""

import os
import re
import time

import pytest
from oauthlib.oauth2 import (BackendApplicationClient, LegacyApplicationClient,
                             MobileApplicationClient, WebApplicationClient)
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session

from harness import SLOW
from oauth2util import (HTTPS_ONLY, INVALID, INVALID_WWW, MISSING, SPA_CB, TIMEOUT, TOKEN_RE,
                        WEB_CB, Gateway, add_app, authorize, b64url_bytes, call, cc_token,
                        code_token, creds, err, fresh_calls, get_code, node, oauth_api,
                        oauth_factory, ok, one, query_of, seen, session, token, wait_status)

assert node and oauth_factory  # fixtures, imported for this module
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

WALK_DEFAULTS = {"mandatory_scope": False, "token_expiration": 7200,
                 "enable_implicit_grant": False, "hide_credentials": False,
                 "accept_http_if_already_terminated": False, "enable_authorization_code": True,
                 "enable_client_credentials": True, "enable_password_grant": False}
NOT_FOUND = {"request_path": "/oauth2/token", "message": "API not found with these values",
             "request_host": ["localhost"]}


def oauth_session(client, **kw):
    s = OAuth2Session(client=client, **kw)
    s.verify = False
    s.trust_env = False
    return s


# ---------------------------------------------------------------------------------------------
# The walkthrough, steps 4 to 6

@pytest.mark.parametrize("fix", ["A", "B"])
def test_walkthrough_steps_4_to_6(torii_factory, echo, fix):
    t = torii_factory(ssl_port=True)
    a = t.admin
    gw = Gateway(t, echo)
    local = {"Host": "localhost:%d" % t.proxy_port}
    local_tls = {"Host": "localhost:%d" % t.ssl_port}
    go = a.add_api(name="go-api", upstream_url=echo.url, request_path="/go")
    a.patch_api("go-api", strip_request_path=True)

    # 4. the plugin, client credentials on
    r = a.post("/apis/go-api/plugins",
               data={"name": "oauth2", "config.enable_client_credentials": "true"})
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["api_id"] == go["id"] and p["name"] == "oauth2" and p["enabled"] is True
    assert {"id", "created_at", "config"} <= set(p)
    assert {k: p["config"].get(k) for k in WALK_DEFAULTS} == WALK_DEFAULTS
    assert TOKEN_RE.match(p["config"]["provision_key"]), p["config"]
    r = gw.get(gw.http + "/go", headers=local)
    assert r.status_code == 401 and r.json() == MISSING
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="service"'
    assert echo.raw_total == 0

    # 5. consumer, application
    r = a.post("/consumers/", data={"username": "example_consumer"})
    assert r.status_code == 201, r.text
    consumer = r.json()
    assert consumer["username"] == "example_consumer" and {"id", "created_at"} <= set(consumer)
    r = a.post("/consumers/example_consumer/oauth2",
               data={"name": "Example Application",
                     "redirect_uri": "https://example.com/oauth2_callback"})
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["consumer_id"] == consumer["id"] and app["name"] == "Example Application"
    assert app["redirect_uri"] == "https://example.com/oauth2_callback", app
    assert re.fullmatch(r"[0-9a-f]{32}", app["client_id"]), app
    assert TOKEN_RE.match(app["client_secret"]), app
    assert {"id", "created_at"} <= set(app)
    form = {"grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"]}

    # trap 1: nothing routes /oauth2/token yet
    r = gw.post(gw.http + "/oauth2/token", data=form, headers=local)
    assert r.status_code == 404 and r.json() == NOT_FOUND

    if fix == "A":
        a.patch_api("go-api", request_host="localhost")
        expires = {"expires_in": 7200}
    else:
        a.add_api(name="for_host", upstream_url=echo.url, request_host="localhost")
        r = a.put("/apis/for_host/plugins",
                  data={"name": "oauth2", "config.enable_client_credentials": "true",
                        "config.token_expiration": "0"})
        assert r.status_code == 201, r.text
        assert r.json()["config"]["token_expiration"] == 0
        expires = {}

    # trap 2: plain HTTP, then the token on the TLS port
    r = gw.post(gw.http + "/oauth2/token", data=form, headers=local)
    assert r.status_code == 400 and r.json() == HTTPS_ONLY
    r = gw.post(gw.https + "/oauth2/token", data=form, headers=local_tls)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token_type", "access_token"} | set(expires), body
    assert body["token_type"] == "bearer" and TOKEN_RE.match(body["access_token"])
    assert body.get("expires_in") == expires.get("expires_in")
    assert r.headers.get("Cache-Control") == "no-store" and r.headers.get("Pragma") == "no-cache"
    tok = body["access_token"]

    # the api with the token, in the query and in the header (Host: localhost: in Fix B that
    # is for_host, matched by host first, whose plugin issued the token)
    echo.reset()
    d = seen(gw.get(gw.http + "/go?access_token=" + tok, headers=local))
    # matched by host, so the path is not stripped (Fix A) or for_host's (Fix B)
    assert d["target"] == "/go?access_token=" + tok
    assert one(d, "x-consumer-username") == "example_consumer"
    assert one(d, "x-consumer-id") == consumer["id"]
    assert one(d, "x-credential-identifier") == app["client_id"]
    d = seen(gw.get(gw.http + "/go", headers=dict(local, Authorization="Bearer " + tok)))
    assert one(d, "x-consumer-username") == "example_consumer"
    if fix == "B":
        # reached by path, /go is go-api, whose own plugin did not issue that token: as in Kong
        # 0.7, a token works on every api that carries oauth2 (docs/plugins.md)
        d = seen(gw.get(gw.http + "/go?access_token=" + tok))
        assert one(d, "x-consumer-username") == "example_consumer"

    # the token endpoint under the api's own path
    r = gw.post(gw.https + "/go/oauth2/token", data=form)
    body = ok(r, "/go/oauth2/token", (200,))
    assert set(body) == {"token_type", "access_token", "expires_in"} and \
        body["expires_in"] == 7200
    assert seen(gw.get(gw.http + "/go", params={"access_token": body["access_token"]}))

    # 6. remove the plugin: /go is open again
    r = a.get("/apis/go-api/plugins")
    pid = r.json()["data"][0]["id"]
    assert pid == p["id"]
    r = a.delete("/plugins/" + pid)
    assert r.status_code == 204, r.text
    d = seen(gw.get(gw.http + "/go"))
    assert one(d, "x-consumer-username") is None
    gw.close()


# ---------------------------------------------------------------------------------------------
# Plugin config and applications through the Admin API

def test_plugin_config_defaults_and_checks(node):
    api = oauth_api(node)
    c = api.plugin["config"]
    want = {"mandatory_scope": False, "token_expiration": 7200,
            "enable_authorization_code": True, "enable_implicit_grant": False,
            "enable_client_credentials": False, "enable_password_grant": False,
            "hide_credentials": False, "accept_http_if_already_terminated": False,
            "global_credentials": False, "reuse_refresh_token": False,
            "refresh_token_ttl": 1209600, "auth_header_name": "authorization", "pkce": "lax"}
    assert {k: c.get(k) for k in want} == want
    assert not c.get("scopes") and not c.get("anonymous")
    assert TOKEN_RE.match(c["provision_key"])
    other = oauth_api(node, provision_key="given-provision-key-123")
    assert other.pk == "given-provision-key-123" and api.pk != oauth_api(node).pk
    bad = ({"enable_authorization_code": False},
           {"pkce": "sometimes"},
           {"mandatory_scope": True},
           {"scopes": ["email"], "mandatory_scope": "maybe"})
    for conf in bad:
        r = node.admin.post("/apis/%s/plugins" % api.name, json={"name": "oauth2",
                                                                  "config": conf})
        assert r.status_code == 400, (conf, r.status_code, r.text)
    node.admin.add_api(name="oacfg", upstream_url=node.echo.url, request_path="/oacfg")
    r = node.admin.post("/apis/oacfg/plugins",
                        json={"name": "oauth2", "consumer_id": node.alice["id"], "config": {}})
    assert r.status_code == 400, r.text


def test_applications_crud_and_oauth2_list(node):
    a = node.admin
    c = a.add_consumer(username="appowner")
    app = add_app(a, "appowner", "one", ["https://one.example/cb"])
    assert app["consumer_id"] == c["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", app["client_id"]) and TOKEN_RE.match(
        app["client_secret"])
    assert app.get("client_type", "confidential") == "confidential"
    given = ok(a.post("/consumers/appowner/oauth2",
                      data={"name": "two", "redirect_uri": "https://two.example/cb",
                            "client_id": "two-client-id", "client_secret": "two-secret"}),
               "given", (201,))
    assert given["client_id"] == "two-client-id" and given["client_secret"] == "two-secret"
    r = a.post("/consumers/appowner/oauth2", json={"name": "three",
                                                   "redirect_uris": ["https://t.example/a",
                                                                     "https://t.example/b"]})
    three = ok(r, "redirect_uris", (201,))
    api = oauth_api(node)
    for uri in ("https://t.example/a", "https://t.example/b"):
        r = authorize(node, api, three, redirect_uri=uri, scope=None)
        assert ok(r, "authorize " + uri, (200,))["redirect_uri"].startswith(uri + "?code=")
    r = a.get("/consumers/appowner/oauth2/" + app["id"])
    assert ok(r, "get")["client_secret"] == app["client_secret"]
    r = a.patch("/consumers/appowner/oauth2/" + app["id"], data={"name": "renamed"})
    assert ok(r, "patch")["name"] == "renamed"
    assert ok(a.get("/consumers/appowner/oauth2/" + app["id"]))["name"] == "renamed"
    lst = ok(a.get("/consumers/appowner/oauth2"))
    assert lst["total"] == 3 and {x["id"] for x in lst["data"]} == {app["id"], given["id"],
                                                                   three["id"]}
    everyone = ok(a.get("/oauth2"))
    ids = {x["id"] for x in everyone["data"]}
    assert {app["id"], given["id"], three["id"], node.web["id"], node.spa["id"]} <= ids
    assert everyone["total"] == len(everyone["data"]) >= 6

    # a deleted application's tokens stop working
    api = oauth_api(node, enable_client_credentials=True)
    tok = cc_token(node, api, given)["access_token"]
    assert call(node, api, tok).status_code == 200
    assert a.delete("/consumers/appowner/oauth2/" + given["id"]).status_code == 204
    assert a.get("/consumers/appowner/oauth2/" + given["id"]).status_code == 404
    r = wait_status(lambda: call(node, api, tok), 401, 1.5 * SLOW)
    assert r.status_code == 401 and r.json() == INVALID
    r = token(node, api, {"grant_type": "client_credentials", "client_id": "two-client-id",
                          "client_secret": "two-secret"})
    err(r, 401, "invalid_client")
    # and a deleted consumer's
    a.add_consumer(username="leaving")
    gone = add_app(a, "leaving", "gone", ["https://gone.example/cb"])
    tok = cc_token(node, api, gone)["access_token"]
    assert call(node, api, tok).status_code == 200
    assert a.delete("/consumers/leaving").status_code == 204
    r = wait_status(lambda: call(node, api, tok), 401, 1.5 * SLOW)
    assert r.status_code == 401 and r.json() == INVALID


def test_application_checks(node):
    a = node.admin
    a.add_consumer(username="checker")
    add_app(a, "checker", "first", ["https://c.example/cb"], client_id="checker-client-id")
    wrong = []
    for body, status in (({"name": "dup", "redirect_uri": "https://d.example/cb",
                           "client_id": "checker-client-id"}, 409),
                         ({"redirect_uri": "https://x.example/cb"}, 400),
                         ({"name": "noredirect"}, 400),
                         ({"name": "frag", "redirect_uri": "https://x.example/cb#f"}, 400),
                         ({"name": "relative", "redirect_uri": "/cb"}, 400),
                         ({"name": "scheme", "redirect_uri": "ftp://x.example/cb"}, 400),
                         ({"name": "type", "redirect_uri": "https://x.example/cb",
                           "client_type": "secret"}, 400)):
        r = a.post("/consumers/checker/oauth2", json=body)
        if r.status_code != status:
            wrong.append((body, status, r.status_code, r.text[:200]))
    assert not wrong, wrong


def test_endpoint_methods_paths_and_parameters(node):
    api = oauth_api(node, enable_client_credentials=True)
    node.echo.reset()
    for method in ("GET", "PUT", "DELETE"):
        r = node.request(method, api.token)
        err(r, 405, "invalid_method")
        r = node.request(method, api.authorize)
        err(r, 405, "invalid_method")
    f = dict(creds(node.web), grant_type="client_credentials")
    # trailing slash, and parameters from the query merged with the form body
    ok(node.post(api.token + "/", data=f), "trailing slash", (200,))
    ok(node.post(api.token, params={"grant_type": "client_credentials"},
                 data=creds(node.web)), "query + body", (200,))
    # the body wins over the query
    r = node.post(api.token, params={"grant_type": "password"}, data=f)
    ok(r, "body wins", (200,))
    # errors and the authorize endpoint carry the no-cache headers too
    r = node.post(api.token, data=dict(f, grant_type="foo"))
    err(r, 400, "unsupported_grant_type")
    assert r.headers.get("Cache-Control") == "no-store" and r.headers.get("Pragma") == "no-cache"
    r = authorize(node, api, node.web, scope=None)
    assert ok(r, "authorize", (200,))["redirect_uri"].startswith(WEB_CB + "?code=")
    assert r.headers.get("Cache-Control") == "no-store" and r.headers.get("Pragma") == "no-cache"
    # the endpoints are the plugin's: nothing reaches the upstream
    assert node.echo.raw_total == 0


# ---------------------------------------------------------------------------------------------
# Every grant with oauthlib as the client (on the TLS port, no insecure-transport switch)

def test_client_credentials_with_oauthlib(node):
    api = oauth_api(node, enable_client_credentials=True, scopes=["email", "profile"])
    web = node.web
    # client authentication with HTTP Basic (requests-oauthlib's default)
    s = oauth_session(BackendApplicationClient(client_id=web["client_id"], scope=["email"]),
                      scope=["email"])
    tok = s.fetch_token(api.token, client_secret=web["client_secret"], verify=False,
                        timeout=TIMEOUT)
    assert TOKEN_RE.match(tok["access_token"]) and tok["expires_in"] == 7200
    assert "refresh_token" not in tok
    d = seen(s.get(api.url + "/res", timeout=TIMEOUT))
    assert d["target"] == api.path + "/res"
    assert one(d, "authorization") == "Bearer " + tok["access_token"]
    assert one(d, "x-consumer-id") == node.alice["id"]
    assert one(d, "x-consumer-username") == "alice"
    assert one(d, "x-consumer-custom-id") == "alice-cid"
    assert one(d, "x-credential-identifier") == web["client_id"]
    assert one(d, "x-authenticated-scope") == "email"
    assert one(d, "x-authenticated-userid") is None
    # client authentication with form fields
    s2 = oauth_session(BackendApplicationClient(client_id=web["client_id"]))
    tok2 = s2.fetch_token(api.token, client_secret=web["client_secret"], include_client_id=True,
                          verify=False, timeout=TIMEOUT)
    assert tok2["access_token"] != tok["access_token"]
    assert one(seen(s2.get(api.url, timeout=TIMEOUT)), "x-consumer-username") == "alice"
    s.close()
    s2.close()


def test_authorization_code_and_refresh_with_oauthlib(node):
    api = oauth_api(node, scopes=["email", "profile"])
    web = node.web
    s = oauth_session(WebApplicationClient(web["client_id"]), redirect_uri=WEB_CB,
                      scope=["email", "profile"])
    url, state = s.authorization_url(api.authorize)
    q = query_of(url)
    assert q["response_type"] == "code" and q["state"] == state
    # the login application adds the provision key and the user, then redirects the browser
    r = node.post(api.authorize, data=dict(q, provision_key=api.pk, authenticated_userid="u-77"))
    redirect = ok(r, "authorize", (200,))["redirect_uri"]
    assert redirect.startswith(WEB_CB + "?") and query_of(redirect)["state"] == state
    assert TOKEN_RE.match(query_of(redirect)["code"])
    tok = s.fetch_token(api.token, authorization_response=redirect,
                        client_secret=web["client_secret"], verify=False, timeout=TIMEOUT)
    assert TOKEN_RE.match(tok["access_token"]) and TOKEN_RE.match(tok["refresh_token"])
    assert tok["expires_in"] == 7200
    d = seen(s.get(api.url, timeout=TIMEOUT))
    assert one(d, "x-authenticated-userid") == "u-77"
    assert sorted(one(d, "x-authenticated-scope").split(" ")) == ["email", "profile"]
    assert one(d, "x-credential-identifier") == web["client_id"]
    new = s.refresh_token(api.token, auth=HTTPBasicAuth(web["client_id"], web["client_secret"]),
                          verify=False, timeout=TIMEOUT)
    assert new["access_token"] != tok["access_token"]
    assert new["refresh_token"] != tok["refresh_token"]
    d = seen(s.get(api.url, timeout=TIMEOUT))
    assert one(d, "authorization") == "Bearer " + new["access_token"]
    assert one(d, "x-authenticated-userid") == "u-77"
    s.close()


def test_authorization_code_with_pkce_public_client_with_oauthlib(node):
    api = oauth_api(node, scopes=["email"])
    spa = node.spa
    client = WebApplicationClient(spa["client_id"])
    verifier = client.create_code_verifier(64)
    challenge = client.create_code_challenge(verifier, "S256")
    s = oauth_session(client, redirect_uri=SPA_CB, scope=["email"])
    url, state = s.authorization_url(api.authorize, code_challenge=challenge,
                                     code_challenge_method="S256")
    r = node.post(api.authorize, data=dict(query_of(url), provision_key=api.pk,
                                           authenticated_userid="spa-user"))
    redirect = ok(r, "authorize", (200,))["redirect_uri"]
    tok = s.fetch_token(api.token, authorization_response=redirect, include_client_id=True,
                        code_verifier=verifier, verify=False, timeout=TIMEOUT)
    assert TOKEN_RE.match(tok["access_token"])
    d = seen(s.get(api.url, timeout=TIMEOUT))
    assert one(d, "x-authenticated-userid") == "spa-user"
    assert one(d, "x-credential-identifier") == spa["client_id"]
    s.close()


def test_implicit_grant_with_oauthlib(node):
    api = oauth_api(node, enable_implicit_grant=True, scopes=["email"])
    web = node.web
    s = oauth_session(MobileApplicationClient(web["client_id"]), redirect_uri=WEB_CB,
                      scope=["email"])
    url, state = s.authorization_url(api.authorize)
    assert query_of(url)["response_type"] == "token"
    r = node.post(api.authorize, data=dict(query_of(url), provision_key=api.pk,
                                           authenticated_userid="imp-user"))
    redirect = ok(r, "authorize", (200,))["redirect_uri"]
    assert redirect.startswith(WEB_CB + "#"), redirect
    frag = query_of(redirect, "fragment")
    assert frag["token_type"] == "bearer" and frag["state"] == state
    assert "refresh_token" not in frag
    tok = s.token_from_fragment(redirect)
    assert tok["access_token"] == frag["access_token"] and TOKEN_RE.match(frag["access_token"])
    d = seen(s.get(api.url, timeout=TIMEOUT))
    assert one(d, "x-authenticated-userid") == "imp-user"
    assert one(d, "x-authenticated-scope") == "email"
    s.close()


def test_password_grant_with_oauthlib(node):
    api = oauth_api(node, enable_password_grant=True)
    web = node.web
    s = oauth_session(LegacyApplicationClient(web["client_id"]))
    tok = s.fetch_token(api.token, username="ignored", password="ignored",
                        client_secret=web["client_secret"], provision_key=api.pk,
                        authenticated_userid="pw-user", verify=False, timeout=TIMEOUT)
    assert TOKEN_RE.match(tok["access_token"]) and TOKEN_RE.match(tok["refresh_token"])
    d = seen(s.get(api.url, timeout=TIMEOUT))
    assert one(d, "x-authenticated-userid") == "pw-user"
    new = s.refresh_token(api.token, auth=(web["client_id"], web["client_secret"]),
                          verify=False, timeout=TIMEOUT)
    assert new["access_token"] != tok["access_token"]
    assert one(seen(s.get(api.url, timeout=TIMEOUT)), "x-authenticated-userid") == "pw-user"
    s.close()


# ---------------------------------------------------------------------------------------------
# Protected requests

def test_missing_and_invalid_tokens(node):
    api = oauth_api(node, enable_client_credentials=True)
    node.echo.reset()
    for r in (call(node, api), call(node, api, https=True),
              call(node, api, headers={"Authorization": "Basic dTpw"})):
        assert r.status_code == 401 and r.json() == MISSING, r.text
        assert r.headers["WWW-Authenticate"] == 'Bearer realm="service"'
    tok = cc_token(node, api, node.web)["access_token"]
    for bad in ("x" * 43, tok[:-1], tok + "A", tok.lower() if tok.lower() != tok else "Q" + tok):
        for where in ("header", "query", "form"):
            r = call(node, api, bad, where)
            assert r.status_code == 401 and r.json() == INVALID, (where, r.text)
            assert r.headers["WWW-Authenticate"] == INVALID_WWW
    assert node.echo.raw_total == 0
    # the header named by auth_header_name
    api2 = oauth_api(node, enable_client_credentials=True, auth_header_name="x-my-auth")
    tok2 = cc_token(node, api2, node.web)["access_token"]
    assert seen(call(node, api2, headers={"X-My-Auth": "Bearer " + tok2}))
    r = call(node, api2, headers={"Authorization": "Bearer " + tok2})
    assert r.status_code == 401 and r.json() == MISSING
    api3 = oauth_api(node, enable_client_credentials=True, auth_header_name="x-my-auth",
                     hide_credentials=True)
    tok3 = cc_token(node, api3, node.web)["access_token"]
    d = seen(call(node, api3, headers={"X-My-Auth": "Bearer " + tok3, "Authorization": "kept"}))
    assert one(d, "x-my-auth") is None and one(d, "authorization") == "kept"


def test_spoofed_identity_headers_are_replaced(node):
    api = oauth_api(node, enable_client_credentials=True, scopes=["email", "profile"])
    tok = cc_token(node, api, node.web, scope="email")["access_token"]
    spoof = {"X-Authenticated-Scope": "admin", "X-Authenticated-Userid": "root",
             "X-Consumer-ID": "00000000-0000-0000-0000-000000000000",
             "X-Consumer-Username": "mallory", "X-Consumer-Custom-ID": "evil",
             "X-Credential-Identifier": "someone", "X-Anonymous-Consumer": "true"}
    d = seen(call(node, api, tok, headers=spoof))
    assert one(d, "x-authenticated-scope") == "email"
    assert one(d, "x-authenticated-userid") is None
    assert one(d, "x-consumer-id") == node.alice["id"]
    assert one(d, "x-consumer-username") == "alice"
    assert one(d, "x-consumer-custom-id") == "alice-cid"
    assert one(d, "x-credential-identifier") == node.web["client_id"]
    assert one(d, "x-anonymous-consumer") is None


@pytest.mark.parametrize("hide", [False, True])
def test_token_in_header_query_and_form_body(node, hide):
    api = oauth_api(node, enable_client_credentials=True, hide_credentials=hide)
    tok = cc_token(node, api, node.web)["access_token"]
    d = seen(call(node, api, tok, "header", path="/h", headers={"X-Other": "kept"}))
    assert one(d, "authorization") == (None if hide else "Bearer " + tok)
    assert one(d, "x-other") == "kept"
    assert (tok in str(d)) is not hide
    d = seen(call(node, api, tok, "query", path="/q", params={"a": "1", "b": "2"}))
    assert d["target"].startswith(api.path + "/q?") and "a=1" in d["target"] and \
        "b=2" in d["target"]
    assert (tok in str(d)) is not hide
    form = {"a": "1", "b": "x y"}
    d = seen(call(node, api, tok, "form", path="/f", data=form))
    assert d["method"] == "POST"
    got = dict(query_of("?" + d["body"]))
    assert got == (form if hide else dict(form, access_token=tok)), d["body"]
    assert one(d, "x-consumer-username") == "alice"
    assert (tok in str(d)) is not hide


MULTIPART_CT = "multipart/form-data; boundary=XyZ"


def multipart_body(*parts):
    out = ""
    for name, value in parts:
        out += ('--XyZ\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                % (name, value))
    return out + "--XyZ--\r\n"


@pytest.mark.parametrize("hide", [False, True])
def test_token_in_multipart_body(node, hide):
    """A multipart/form-data body carries the token as a form does (Kong 0.8); hide_credentials
    cuts every access_token part out with its delimiter, the other parts as sent."""
    api = oauth_api(node, enable_client_credentials=True, hide_credentials=hide)
    tok = cc_token(node, api, node.web)["access_token"]
    parts = [("a", "1"), ("access_token", tok), ("b", "x y\r\nz"), ("access_token", tok)]
    body = multipart_body(*parts)
    d = seen(node.post(api.http_url + "/m", data=body, headers={"Content-Type": MULTIPART_CT}))
    assert one(d, "x-consumer-username") == "alice"
    kept = [p for p in parts if p[0] != "access_token"] if hide else parts
    assert d["body"] == multipart_body(*kept) and d["body_length"] == len(d["body"])
    # two different tokens: refused, as for a form
    r = node.post(api.http_url + "/m", data=multipart_body(("access_token", tok)),
                  headers={"Content-Type": MULTIPART_CT, "Authorization": "Bearer other"})
    err(r, 401, "invalid_request")


def test_form_body_without_token_reaches_upstream_intact(node):
    api = oauth_api(node, enable_client_credentials=True)
    tok = cc_token(node, api, node.web)["access_token"]
    body = "z=" + "9" * 5000 + "&access_tokenx=1&y=%41"
    r = node.post(api.http_url + "/f", data=body, headers={
        "Authorization": "Bearer " + tok, "Content-Type": "application/x-www-form-urlencoded"})
    d = seen(r)
    assert d["body"] == body and d["body_length"] == len(body)
    # a JSON body is not a form: passed as is, the header token counts
    r = node.post(api.http_url + "/j", json={"access_token": "nope"},
                  headers={"Authorization": "Bearer " + tok})
    assert seen(r)["body"] == '{"access_token": "nope"}'


def test_scopes_mandatory_scope_and_the_scope_header(node):
    api = oauth_api(node, enable_client_credentials=True, scopes=["email", "profile", "admin"],
                    mandatory_scope=True)
    base = dict(creds(node.web), grant_type="client_credentials")
    err(token(node, api, base), 400, "invalid_scope", "You must specify a scope")
    err(token(node, api, dict(base, scope="x")), 400, "invalid_scope", '"x" is an invalid scope')
    err(token(node, api, dict(base, scope="email x")), 400, "invalid_scope",
        '"x" is an invalid scope')
    tok = cc_token(node, api, node.web, scope="profile email")["access_token"]
    d = seen(call(node, api, tok))
    assert sorted(one(d, "x-authenticated-scope").split(" ")) == ["email", "profile"]
    # without mandatory_scope, no scope is fine and no scope header is sent
    api2 = oauth_api(node, enable_client_credentials=True, scopes=["email"])
    tok = cc_token(node, api2, node.web)["access_token"]
    assert one(seen(call(node, api2, tok)), "x-authenticated-scope") is None


def test_token_expiration_zero(node):
    """token_expiration=0: no expires_in and no refresh token, whatever the grant."""
    api = oauth_api(node, enable_client_credentials=True, enable_password_grant=True,
                    token_expiration=0)
    bodies = [cc_token(node, api, node.web), code_token(node, api, node.web, scope=None),
              ok(token(node, api, dict(creds(node.web), grant_type="password",
                                       provision_key=api.pk, authenticated_userid="z")),
                 "password", (200,))]
    for body in bodies:
        assert set(body) == {"token_type", "access_token"}, body
        assert seen(call(node, api, body["access_token"]))


def test_short_token_expiration(node):
    life = 1 if SLOW == 1.0 else 3
    api = oauth_api(node, enable_client_credentials=True, token_expiration=life)
    body = cc_token(node, api, node.web)
    assert body["expires_in"] == life and "refresh_token" not in body
    tok = body["access_token"]
    assert call(node, api, tok).status_code == 200
    r = wait_status(lambda: call(node, api, tok), 401, life + 2.5)
    assert r.status_code == 401 and r.json() == INVALID
    assert r.headers["WWW-Authenticate"] == INVALID_WWW


def test_revocation_through_oauth2_tokens(node):
    api = oauth_api(node, enable_client_credentials=True)
    tok = cc_token(node, api, node.web)["access_token"]
    assert fresh_calls(api, tok) == [200] * 6          # cached on every worker now
    a = node.admin
    row = ok(a.get("/oauth2_tokens/" + tok), "get by token")
    assert tok not in str(row)
    # revoked "within one second on the node": every worker refuses it 1 s after the 204
    r = a.delete("/oauth2_tokens/" + row["id"])
    done = time.monotonic()
    assert r.status_code == 204, r.text
    r = wait_status(lambda: call(node, api, tok), 401, 1.0 * SLOW)
    assert r.status_code == 401 and r.json() == INVALID
    time.sleep(max(0.0, done + 1.0 * SLOW - time.monotonic()))
    assert fresh_calls(api, tok) == [401] * 6
    assert a.get("/oauth2_tokens/" + row["id"]).status_code == 404
    # DELETE by the token itself
    tok2 = cc_token(node, api, node.web)["access_token"]
    assert fresh_calls(api, tok2) == [200] * 6
    r = a.delete("/oauth2_tokens/" + tok2)
    done = time.monotonic()
    assert r.status_code == 204, r.text
    time.sleep(max(0.0, done + 1.0 * SLOW - time.monotonic()))
    assert fresh_calls(api, tok2) == [401] * 6


def test_oauth2_tokens_admin_never_shows_a_token(node):
    a = node.admin
    api = oauth_api(node, enable_client_credentials=True, scopes=["email"])
    issued = cc_token(node, api, node.web)["access_token"]
    r = a.post("/oauth2_tokens", data={"credential_id": node.web["id"], "api_id": api.api["id"],
                                       "scope": "email", "authenticated_userid": "adm-user"})
    made = ok(r, "create", (201,))
    assert TOKEN_RE.match(made["access_token"]) and made["expires_in"] == 7200
    assert made["credential_id"] == node.web["id"]
    d = seen(call(node, api, made["access_token"]))
    assert one(d, "x-authenticated-userid") == "adm-user"
    assert one(d, "x-authenticated-scope") == "email"
    given = ok(a.post("/oauth2_tokens", data={"credential_id": node.web["id"],
                                              "api_id": api.api["id"],
                                              "access_token": "admin-chosen-token-0001",
                                              "expires_in": 60}), "given", (201,))
    assert given["access_token"] == "admin-chosen-token-0001"
    assert seen(call(node, api, "admin-chosen-token-0001"))
    r = a.get("/oauth2_tokens")
    lst = ok(r, "list")
    for secret in (issued, made["access_token"], made.get("refresh_token") or issued,
                   "admin-chosen-token-0001"):
        assert secret not in r.text
    ids = {x["id"] for x in lst["data"]}
    assert {made["id"], given["id"]} <= ids and lst["total"] >= 3
    for x in lst["data"]:
        assert "access_token" not in x or x["access_token"] in (None, "")
    for ident in (made["id"], made["access_token"]):
        r = a.get("/oauth2_tokens/" + ident)
        got = ok(r, "get " + ident)
        assert got["id"] == made["id"] and made["access_token"] not in r.text
    r = a.patch("/oauth2_tokens/" + made["id"], data={"expires_in": 120})
    assert ok(r, "patch")["id"] == made["id"] and made["access_token"] not in r.text
    assert a.post("/oauth2_tokens", data={"api_id": api.api["id"]}).status_code == 400
    assert a.get("/oauth2_tokens/not-a-token").status_code == 404


def test_tokens_survive_a_restart(oauth_factory):
    gw = oauth_factory()
    api = oauth_api(gw, enable_client_credentials=True, scopes=["email"])
    cc = cc_token(gw, api, gw.web)["access_token"]
    pair = code_token(gw, api, gw.web)
    assert call(gw, api, cc).status_code == 200
    gw.torii.restart()
    gw.s.close()
    gw.s = session()
    d = seen(call(gw, api, cc))
    assert one(d, "x-consumer-username") == "alice"
    assert one(seen(call(gw, api, pair["access_token"])), "x-authenticated-userid") == "u1"
    r = token(gw, api, dict(creds(gw.web), grant_type="refresh_token",
                            refresh_token=pair["refresh_token"]))
    assert TOKEN_RE.match(ok(r, "refresh after restart", (200,))["access_token"])
    # the provision key and the applications too
    assert gw.admin.get("/consumers/alice/oauth2/" + gw.web["id"]).status_code == 200
    assert authorize(gw, api, gw.web, scope="email").status_code == 200


def test_anonymous(node):
    anon = node.admin.add_consumer(username="oauth-anon")
    api = oauth_api(node, enable_client_credentials=True, anonymous=anon["id"])
    for tok in (None, "x" * 43):
        d = seen(call(node, api, tok))
        assert one(d, "x-anonymous-consumer") == "true"
        assert one(d, "x-consumer-username") == "oauth-anon"
        assert one(d, "x-authenticated-userid") is None
    tok = cc_token(node, api, node.web)["access_token"]
    d = seen(call(node, api, tok))
    assert one(d, "x-consumer-username") == "alice"
    assert one(d, "x-anonymous-consumer") is None


def test_client_credentials_with_a_user_id_needs_the_provision_key(node):
    api = oauth_api(node, enable_client_credentials=True)
    base = dict(creds(node.web), grant_type="client_credentials", authenticated_userid="svc")
    err(token(node, api, dict(base, provision_key="wrong")), 400, "invalid_provision_key")
    err(token(node, api, base), 400, "invalid_provision_key")
    tok = ok(token(node, api, dict(base, provision_key=api.pk)), "cc user", (200,))
    assert one(seen(call(node, api, tok["access_token"])), "x-authenticated-userid") == "svc"


def test_authorize_needs_a_user_and_a_known_client(node):
    api = oauth_api(node, scopes=["email"])
    err(authorize(node, api, node.web, userid=False), 400, "invalid_authenticated_userid")
    err(authorize(node, api, node.web, userid=""), 400, "invalid_authenticated_userid")
    r = authorize(node, api, {"client_id": "nobody"}, redirect_uri=WEB_CB)
    assert "redirect_uri" not in err(r, 400, "invalid_client")
    r = authorize(node, api, node.web, response_type=False)
    assert err(r, 400, "unsupported_response_type")["redirect_uri"].startswith(WEB_CB + "?")


@pytest.mark.sqlite_file
def test_tokens_and_codes_are_stored_hashed(oauth_factory):
    """The database (and its write-ahead log) holds no usable token, refresh token or code:
    neither their text nor their raw bytes."""
    gw = oauth_factory()
    api = oauth_api(gw, enable_client_credentials=True, scopes=["email"])
    cc = cc_token(gw, api, gw.web)["access_token"]
    code = get_code(gw, api, gw.web)
    unused = get_code(gw, api, gw.web)
    pair = ok(token(gw, api, dict(creds(gw.web), grant_type="authorization_code", code=code)),
              "exchange", (200,))
    made = ok(gw.admin.post("/oauth2_tokens", data={"credential_id": gw.web["id"],
                                                    "api_id": api.api["id"]}), "admin", (201,))
    secrets = [cc, unused, pair["access_token"], pair["refresh_token"], made["access_token"]]
    db = b""
    for suffix in ("", "-wal", "-journal"):
        path = str(gw.torii.db_path) + suffix
        if os.path.exists(path):
            with open(path, "rb") as f:
                db += f.read()
    assert len(db) > 4096
    assert gw.web["client_id"].encode() in db        # the search does find stored text
    for s in secrets:
        assert s.encode() not in db and b64url_bytes(s) not in db, s
    assert seen(call(gw, api, cc))

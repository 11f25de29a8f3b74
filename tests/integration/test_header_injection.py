# SPDX-License-Identifier: MIT
"""Header injection through values torii writes into heads (security issue, rule 1).

(b) Every string field of every entity, credential and plugin config that can become a header
value refuses control bytes at write time with a 400 naming the field (form and JSON, raw and
percent-encoded, CR alone, LF alone, CRLF, NUL, other controls, DEL); acl groups also refuse
commas; multi-line text fields (PEM, answer bodies) keep their line breaks.
(c) OAuth2 scopes (RFC 6749 §3.3 scope-tokens) and authenticated_userid (printable, at most 255
bytes) are checked at the token and authorize endpoints and in /oauth2_tokens.
(a) Rows already in a database that hold such bytes never inject: the head writer refuses the
request with 500, logs the header's name, and the upstream receives nothing."""

import json
import sqlite3
import urllib.parse

import pytest

import oauth2util as o
from harness import Torii, assert_silent, finish_torii, hvals
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

# Each bad value on its own: (label, value). Sent as a form field (percent-encoded by requests)
# and as a JSON string.
BAD = [
    ("CR", "a\rX-Evil: 1"),
    ("LF", "a\nX-Evil: 1"),
    ("CRLF", "a\r\nX-Evil: 1"),
    ("CRLF-request", "a\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"),
    ("NUL", "a\x00b"),
    ("BEL", "a\x07b"),
    ("VT", "a\x0bb"),
    ("ESC", "a\x1bb"),
    ("DEL", "a\x7fb"),
    ("trailing-CR", "abc\r"),
]


def ok(r, what="", status=(200, 201)):
    assert r.status_code in status, "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def refused(r, field, what=""):
    """A 400 whose body names field."""
    assert r.status_code == 400, "%s: %d %s" % (what, r.status_code, r.text)
    body = r.json()
    text = json.dumps(body)
    assert field in body or ("config" in body and field in text) or field in text, \
        "%s: %s does not name %s" % (what, text, field)
    return body


def send(admin, method, path, fields, how):
    if how == "json":
        return admin.request(method, path, json=fields)
    return admin.request(method, path, data=fields)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("inject"))
    t.start()
    a = t.admin
    a.add_api(name="pub", upstream_url=echo.url, request_path="/pub")
    a.add_consumer(username="alice", custom_id="alice-cid")
    ns = type("Node", (), {})()
    ns.t, ns.admin, ns.echo = t, a, echo
    yield ns
    problems = finish_torii(t)
    echo.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def count(admin, path):
    r = admin.get(path)
    assert r.status_code == 200, r.text
    return len(r.json()["data"])


# (create path, base fields, field under test, path listing what would be created)
ENTITY_FIELDS = [
    ("/consumers", {}, "username", "/consumers"),
    ("/consumers", {"username": "cid-owner"}, "custom_id", "/consumers"),
    ("/apis", {"upstream_url": "http://127.0.0.1:9", "request_path": "/x"}, "name", "/apis"),
    ("/apis", {"name": "h", "upstream_url": "http://127.0.0.1:9"}, "request_host", "/apis"),
    ("/apis", {"name": "p", "upstream_url": "http://127.0.0.1:9"}, "request_path", "/apis"),
    ("/apis", {"name": "u", "request_path": "/u"}, "upstream_url", "/apis"),
    ("/consumers/alice/key-auth", {}, "key", "/consumers/alice/key-auth"),
    ("/consumers/alice/basic-auth", {"password": "pw"}, "username",
     "/consumers/alice/basic-auth"),
    ("/consumers/alice/acls", {}, "group", "/consumers/alice/acls"),
    ("/consumers/alice/oauth2", {"redirect_uri": "https://app.example/cb"}, "name",
     "/consumers/alice/oauth2"),
    ("/consumers/alice/oauth2", {"name": "app", "redirect_uri": "https://app.example/cb"},
     "client_id", "/consumers/alice/oauth2"),
    ("/consumers/alice/oauth2", {"name": "app", "redirect_uri": "https://app.example/cb"},
     "client_secret", "/consumers/alice/oauth2"),
    ("/consumers/alice/oauth2", {"name": "app"}, "redirect_uri", "/consumers/alice/oauth2"),
]


@pytest.mark.parametrize("how", ["form", "json"])
@pytest.mark.parametrize("path,base,field,listing", ENTITY_FIELDS,
                         ids=["%s:%s" % (p, f) for p, _, f, _ in ENTITY_FIELDS])
def test_entity_fields_refuse_control_bytes(node, path, base, field, listing, how):
    before = count(node.admin, listing)
    for label, bad in BAD:
        fields = dict(base)
        fields[field] = bad
        refused(send(node.admin, "POST", path, fields, how), field, "%s %s" % (field, label))
    assert count(node.admin, listing) == before, "a refused write created a row"


def test_updates_refuse_control_bytes(node):
    """PATCH and PUT run the same field rules as POST."""
    a = node.admin
    c = ok(a.post("/consumers", data={"username": "patchme"}))
    for label, bad in BAD:
        for how in ("form", "json"):
            refused(send(a, "PATCH", "/consumers/%s" % c["id"], {"username": bad}, how),
                    "username", label)
            refused(send(a, "PATCH", "/consumers/%s" % c["id"], {"custom_id": bad}, how),
                    "custom_id", label)
            refused(send(a, "PUT", "/consumers", {"id": c["id"], "username": bad}, how),
                    "username", label)
    assert ok(a.get("/consumers/%s" % c["id"]))["username"] == "patchme"
    # Percent-encoded by hand in a raw form body, and inside a multipart body.
    r = a.patch("/consumers/%s" % c["id"], data="username=x%0D%0AX-Evil:%201",
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    refused(r, "username")
    r = a.patch("/consumers/%s" % c["id"], files={"username": (None, "x\r\nX-Evil: 1")})
    refused(r, "username")
    r = a.patch("/consumers/%s" % c["id"], data=b'{"username":"x\\u000d\\u000aY: 1"}',
                headers={"Content-Type": "application/json"})
    refused(r, "username")


def test_acl_group_refuses_commas(node):
    a = node.admin
    for g in ("gold,silver", "gold, admin", ",", "a,"):
        for how in ("form", "json"):
            body = refused(send(a, "POST", "/consumers/alice/acls", {"group": g}, how), "group")
            assert "comma" in json.dumps(body)
    ok(a.post("/consumers/alice/acls", data={"group": "gold silver-tier_1"}))


# Plugin configs: (plugin, config field, other config, how the bad value goes in: "str" for a
# string field, "item" for one item of an array field)
PLUGIN_FIELDS = [
    ("key-auth", "key_names", {}, "item"),
    ("key-auth", "anonymous", {}, "str"),
    ("basic-auth", "anonymous", {}, "str"),
    ("request-termination", "content_type", {"body": "x"}, "str"),
    ("cors", "origins", {}, "item"),
    ("cors", "headers", {}, "item"),
    ("cors", "exposed_headers", {}, "item"),
    ("rate-limiting", "header_name", {"minute": 5, "limit_by": "header"}, "str"),
    ("rate-limiting", "redis_password", {"minute": 5}, "str"),
    ("oauth2", "scopes", {}, "item"),
    ("oauth2", "provision_key", {}, "str"),
    ("oauth2", "auth_header_name", {}, "str"),
    ("acl", "allow", {}, "item"),
]


@pytest.mark.parametrize("plugin,field,extra,kind", PLUGIN_FIELDS,
                         ids=["%s:%s" % (p, f) for p, f, _, _ in PLUGIN_FIELDS])
def test_plugin_config_fields_refuse_control_bytes(node, plugin, field, extra, kind):
    a = node.admin
    before = count(a, "/plugins")
    for label, bad in BAD:
        value = [bad] if kind == "item" else bad
        conf = dict(extra)
        conf[field] = value
        r = a.post("/apis/pub/plugins", json={"name": plugin, "config": conf})
        body = refused(r, "config." + field, "%s %s" % (field, label))
        assert "config." + field in body or "config" in body, body
        # The 0.x form shape, with the value percent-encoded.
        form = {"name": plugin}
        for k, v in extra.items():
            form["config." + k] = str(v)
        form["config." + field] = bad
        refused(a.post("/apis/pub/plugins", data=form), field, "form %s %s" % (field, label))
    assert count(a, "/plugins") == before


def test_text_fields_keep_line_breaks(node):
    """Multi-line text that never becomes a header (an answer body, a message) keeps its line
    breaks and tabs; a control byte other than those is still refused."""
    a = node.admin
    api = a.add_api(name="term", upstream_url=node.echo.url, request_path="/term")
    p = ok(a.post("/apis/term/plugins", json={"name": "request-termination", "config": {
        "status_code": 503, "body": "line one\r\nline\ttwo\n", "content_type": "text/plain"}}))
    r = one_request(node.t.proxy_port, "GET", "/term", host="svc.test")
    assert r.status == 503 and r.body == b"line one\r\nline\ttwo\n", r
    refused(a.patch("/plugins/%s" % p["id"], json={"config": {"body": "a\x00b"}}), "body")
    refused(a.patch("/plugins/%s" % p["id"], json={"config": {"body": "a\x01b"}}), "body")
    a.delete("/apis/%s" % api["id"])


def test_filters_refuse_nul(node):
    r = node.admin.get("/consumers", params={"username": "a\x00b"})
    refused(r, "username")


# ---------------------------------------------------------------------------------------------
# (c) OAuth2 values at the endpoints

@pytest.fixture(scope="module")
def gw(tmp_path_factory):
    g = o.start_oauth_node(tmp_path_factory.mktemp("inject-oauth"))
    yield g
    o.stop_oauth_node(g)


def no_evil(echo):
    """No request that reached the echo carries an injected field or a smuggled request."""
    for req in echo.requests:
        names = [k.lower() for k, _ in req.headers]
        assert "x-evil" not in names and names.count("host") == 1, req.headers
        assert "smuggled" not in req.target, req.target
    assert b"X-Evil" not in echo.all_raw() and b"smuggled" not in echo.all_raw()


BAD_SCOPES = ["email\r\nX-Evil: 1", "email\nX-Evil: 1", "email\rX", "email\tprofile",
              'em"ail', "em\\ail", "email\x7f", "caf\u00e9", "email\x0b"]


def test_scope_refused_at_token_endpoint(gw):
    """No scopes configured: only the RFC 6749 §3.3 syntax decides, for every grant."""
    api = o.oauth_api(gw, enable_client_credentials=True, enable_password_grant=True)
    for scope in BAD_SCOPES:
        data = dict(o.creds(gw.web), grant_type="client_credentials", scope=scope)
        o.err(o.token(gw, api, data), 400, "invalid_scope")
        data = dict(o.creds(gw.web), grant_type="password", scope=scope, provision_key=api.pk,
                    authenticated_userid="u1")
        o.err(o.token(gw, api, data), 400, "invalid_scope")
    # Runs of spaces are fine and normalised.
    tok = o.cc_token(gw, api, gw.web, scope="email   profile")
    d = o.seen(o.call(gw, api, tok["access_token"]))
    assert o.one(d, "X-Authenticated-Scope") == "email profile"
    no_evil(gw.echo)


def test_scope_refused_at_authorize_and_refresh(gw):
    api = o.oauth_api(gw, enable_implicit_grant=True, enable_password_grant=True)
    for scope in BAD_SCOPES:
        for rt in ("code", "token"):
            r = o.authorize(gw, api, gw.web, response_type=rt, scope=scope,
                            redirect_uri=o.WEB_CB, state="st")
            body = o.err(r, 400, "invalid_scope")
            uri = body["redirect_uri"]
            assert uri.startswith(o.WEB_CB + "?"), body
            assert o.query_of(uri)["error"] == "invalid_scope", body
            assert "X-Evil" not in uri and "\r" not in uri and "\n" not in uri
    # A refresh cannot bring a bad scope in either.
    data = dict(o.creds(gw.web), grant_type="password", scope="email", provision_key=api.pk,
                authenticated_userid="u1")
    pair = o.ok(o.token(gw, api, data))
    data = dict(o.creds(gw.web), grant_type="refresh_token",
                refresh_token=pair["refresh_token"], scope="email\r\nX-Evil: 1")
    o.err(o.token(gw, api, data), 400, "invalid_scope")
    no_evil(gw.echo)


BAD_USERIDS = ["u1\r\nX-Evil: 1", "u1\nX", "u1\rX", "u1\x00", "u1\x01", "u1\x7f", "u" * 256,
               "u1\tx"]


def test_userid_refused_at_token_and_authorize(gw):
    api = o.oauth_api(gw, enable_client_credentials=True, enable_password_grant=True,
                      enable_implicit_grant=True)
    for uid in BAD_USERIDS:
        data = dict(o.creds(gw.web), grant_type="password", provision_key=api.pk,
                    authenticated_userid=uid)
        o.err(o.token(gw, api, data), 400, "invalid_request")
        data = dict(o.creds(gw.web), grant_type="client_credentials", provision_key=api.pk,
                    authenticated_userid=uid)
        o.err(o.token(gw, api, data), 400, "invalid_request")
        for rt in ("code", "token"):
            r = o.authorize(gw, api, gw.web, response_type=rt, userid=uid, scope="email")
            o.err(r, 400, "invalid_request")
    # Not UTF-8: percent-encoded by hand.
    raw = "grant_type=password&provision_key=%s&authenticated_userid=%%FF%%FEu&client_id=%s" \
          "&client_secret=%s" % (urllib.parse.quote(api.pk), gw.web["client_id"],
                                 urllib.parse.quote(gw.web["client_secret"]))
    r = gw.post(api.token, data=raw,
                headers={"Content-Type": "application/x-www-form-urlencoded"})
    o.err(r, 400, "invalid_request")
    # At the bounds: 255 bytes, UTF-8 and spaces are fine and reach the upstream as they are.
    for uid in ("u" * 255, "Jos\u00e9 Garc\u00eda", "user with spaces"):
        data = dict(o.creds(gw.web), grant_type="password", provision_key=api.pk,
                    authenticated_userid=uid)
        tok = o.ok(o.token(gw, api, data))["access_token"]
        d = o.seen(o.call(gw, api, tok))
        got = o.one(d, "X-Authenticated-Userid")
        assert got.encode("latin-1").decode("utf-8") == uid
    no_evil(gw.echo)


def test_nul_in_any_parameter(gw):
    api = o.oauth_api(gw, enable_client_credentials=True)
    for extra in ("state=a%00b", "scope=email%00", "grant_type=client_credentials%00"):
        raw = "grant_type=client_credentials&client_id=%s&client_secret=%s&%s" % (
            gw.web["client_id"], urllib.parse.quote(gw.web["client_secret"]), extra)
        r = gw.post(api.token, data=raw,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 400, r.text
        assert r.json()["error"] == "invalid_request", r.text  # refused before scopes are read
    r = o.authorize(gw, api, gw.web, scope="email", state="x\x00y")
    o.err(r, 400, "invalid_request")


def test_configured_scopes_must_be_scope_tokens(gw):
    a = gw.admin
    api = o.oauth_api(gw)
    for bad in ("email profile", "a\"b", "a\\b", "caf\u00e9", "x\r\ny"):
        r = a.post("/apis/%s/plugins" % api.name,
                   json={"name": "oauth2", "config": {"scopes": ["ok", bad]}})
        assert r.status_code == 400, r.text
        assert "scopes" in r.text, r.text


def test_admin_tokens_refuse_bad_scope_and_userid(gw):
    a = gw.admin
    for field, bad in [("scope", s) for s in BAD_SCOPES] + \
                      [("authenticated_userid", u) for u in BAD_USERIDS]:
        r = a.post("/oauth2_tokens", json={"credential_id": gw.web["id"], field: bad})
        refused(r, field, repr(bad))
    t = o.ok(a.post("/oauth2_tokens", json={"credential_id": gw.web["id"], "scope": "email"}))
    for field, bad in (("scope", "email\r\nX-Evil: 1"), ("authenticated_userid", "u\nX")):
        refused(a.patch("/oauth2_tokens/%s" % t["id"], json={field: bad}), field)


# ---------------------------------------------------------------------------------------------
# (a) What is already in the database cannot inject either

def tamper(db_path, sql, *args):
    db = sqlite3.connect(str(db_path), timeout=10)
    try:
        db.execute(sql, args)
        db.commit()
    finally:
        db.close()


STORED = [("CR", "\r"), ("LF", "\n"), ("CRLF", "\r\n"), ("CRLFCRLF", "\r\n\r\n"),
          ("SOH", "\x01"), ("DEL", "\x7f")]


@pytest.fixture
def victim(tmp_path):
    """A node whose database the test edits while it is stopped: api /k (key-auth + acl),
    alice (key, group gold), an oauth2 api /oa with a token."""
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path / "n", ssl_port=True)
    t.start()
    a = t.admin
    a.add_api(name="k", upstream_url=echo.url, request_path="/k")
    ok(a.post("/apis/k/plugins", data={"name": "key-auth"}))
    ok(a.post("/apis/k/plugins", data={"name": "acl", "config.allow": "gold"}))
    alice = a.add_consumer(username="alice", custom_id="alice-cid")
    ok(a.post("/consumers/alice/key-auth", data={"key": "alice-key"}))
    ok(a.post("/consumers/alice/acls", data={"group": "gold"}))
    oa = a.add_api(name="oa", upstream_url=echo.url, request_path="/oa")
    ok(a.post("/apis/oa/plugins", json={"name": "oauth2", "config": {
        "enable_client_credentials": True}}))
    app = ok(a.post("/consumers/alice/oauth2",
                    json={"name": "web", "redirect_uri": "https://app.example/cb"}))
    tok = ok(a.post("/oauth2_tokens", json={"credential_id": app["id"], "scope": "email",
                                            "authenticated_userid": "u1", "api_id": oa["id"]}))
    ns = type("Victim", (), {})()
    ns.t, ns.echo, ns.alice, ns.app, ns.tok = t, echo, alice, app, tok
    yield ns
    problems = finish_torii(t)
    echo.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def set_doc_field(db, table, field, value, where_id):
    tamper(db, "UPDATE %s SET doc = json_set(doc, '$.%s', ?) WHERE id = ?" % (table, field),
           value, where_id)


def refused_upstream(v, send, header):
    """The request fails with 500 (JSON), nothing reaches the upstream, and the log names the
    header."""
    v.echo.reset()
    err_before = v.t.stderr_size()
    r = send()
    assert r.status == 500, r
    assert r.json()["message"] == "An unexpected error occurred", r.body
    assert_silent(v.echo)
    log = v.t.stderr_text()[err_before:]
    assert header in log, log[-2000:]
    assert "X-Evil" not in log


@pytest.mark.sqlite_file
@pytest.mark.parametrize("label,bad", STORED, ids=[s for s, _ in STORED])
def test_stored_consumer_fields_never_reach_the_upstream(victim, label, bad):
    v = victim
    evil = bad + "X-Evil: 1"
    keyed = lambda: one_request(v.t.proxy_port, "GET", "/k",  # noqa: E731
                                headers=[("apikey", "alice-key")])
    # (header, edits making the row bad, edits putting it back)
    cases = [
        ("X-Consumer-Username",
         [("consumers", "username", "alice" + evil)], [("consumers", "username", "alice")]),
        ("X-Consumer-Custom-ID",
         [("consumers", "custom_id", "cid" + evil)], [("consumers", "custom_id", "alice-cid")]),
    ]
    for header, bad_edits, good_edits in cases:
        v.t.stop()
        for table, field, value in bad_edits:
            set_doc_field(v.t.db_path, table, field, value, v.alice["id"])
        v.t.start()
        refused_upstream(v, keyed, header)
        v.t.stop()
        for table, field, value in good_edits:
            set_doc_field(v.t.db_path, table, field, value, v.alice["id"])
        v.t.start()
        assert keyed().status == 200
    v.t.stop()
    tamper(v.t.db_path, "UPDATE acls SET doc = json_set(doc, '$.group', 'gold' || ?)", evil)
    tamper(v.t.db_path, "UPDATE plugins SET doc = json_set(doc, '$.config.allow', "
                        "json_array('gold' || ?)) WHERE json_extract(doc, '$.name') = 'acl'",
           evil)
    v.t.start()
    refused_upstream(v, keyed, "X-Consumer-Groups")


@pytest.mark.sqlite_file
@pytest.mark.parametrize("label,bad", STORED[:3] + STORED[4:5], ids=["CR", "LF", "CRLF", "SOH"])
def test_stored_oauth2_values_never_reach_the_upstream(victim, label, bad):
    v = victim
    call = lambda: one_request(v.t.proxy_port, "GET", "/oa",  # noqa: E731
                               headers=[("Authorization", "Bearer " + v.tok["access_token"])])
    d = call()
    assert d.status == 200, d
    for column, header in (("scope", "X-Authenticated-Scope"),
                           ("authenticated_userid", "X-Authenticated-Userid")):
        v.t.stop()
        tamper(v.t.db_path, "UPDATE oauth2_tokens SET %s = 'x' || ? || 'X-Evil: 1'" % column,
               bad)
        v.t.start()
        refused_upstream(v, call, header)
        v.t.stop()
        tamper(v.t.db_path, "UPDATE oauth2_tokens SET %s = 'fine'" % column)
        v.t.start()
    v.t.stop()
    tamper(v.t.db_path, "UPDATE oauth2_credentials SET doc = json_set(doc, '$.client_id', "
                        "json_extract(doc, '$.client_id') || ? || 'X-Evil: 1'), "
                        "client_id = client_id || ? || 'X-Evil: 1'", bad, bad)
    v.t.start()
    refused_upstream(v, call, "X-Credential-Identifier")


@pytest.mark.sqlite_file
def test_stored_plugin_headers_never_reach_the_client(victim):
    """Response headers built from a stored plugin config (request-termination's content type,
    cors' allowed origin) are refused too: 500 instead of a split response."""
    v = victim
    a = v.t.admin
    a.add_api(name="term", upstream_url=v.echo.url, request_path="/term")
    ok(a.post("/apis/term/plugins", json={"name": "request-termination",
                                          "config": {"status_code": 403, "body": "no",
                                                     "content_type": "text/plain"}}))
    a.add_api(name="c", upstream_url=v.echo.url, request_path="/c")
    ok(a.post("/apis/c/plugins", json={"name": "cors",
                                       "config": {"origins": ["https://a.example"]}}))
    v.t.stop()
    tamper(v.t.db_path, "UPDATE plugins SET doc = json_set(doc, '$.config.content_type', "
                        "'text/plain' || char(13, 10) || 'X-Evil: 1') "
                        "WHERE json_extract(doc, '$.name') = 'request-termination'")
    tamper(v.t.db_path, "UPDATE plugins SET doc = json_set(doc, '$.config.headers', "
                        "json_array('X-A' || char(13, 10) || 'X-Evil: 1')) "
                        "WHERE json_extract(doc, '$.name') = 'cors'")
    v.t.start()
    err_before = v.t.stderr_size()
    r = one_request(v.t.proxy_port, "GET", "/term")
    assert r.status == 500 and not r.has("X-Evil"), r
    assert "Content-Type" in v.t.stderr_text()[err_before:]
    err_before = v.t.stderr_size()
    r = one_request(v.t.proxy_port, "OPTIONS", "/c", headers=[
        ("Origin", "https://a.example"), ("Access-Control-Request-Method", "GET")])
    assert r.status == 500 and not r.has("X-Evil"), r
    assert "Access-Control-Allow-Headers" in v.t.stderr_text()[err_before:]
    assert_silent(v.echo)


def test_clean_rows_still_pass(victim):
    """The check costs nothing to honest rows: the identity headers arrive as stored."""
    v = victim
    r = one_request(v.t.proxy_port, "GET", "/k", headers=[("apikey", "alice-key")])
    assert r.status == 200, r
    d = r.json()
    assert hvals(d, "X-Consumer-Username") == ["alice"]
    assert hvals(d, "X-Consumer-Custom-ID") == ["alice-cid"]
    assert hvals(d, "X-Consumer-Groups") == ["gold"]


@pytest.mark.sqlite_file
def test_stored_config_without_provision_key_accepts_none(tmp_path):
    """A stored oauth2 config that lost its provision_key (edited by hand, imported) never
    accepts a request that sends none: an empty secret matches nothing."""
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path / "n", ssl_port=True)
    try:
        t.start()
        a = t.admin
        a.add_api(name="oa", upstream_url=echo.url, request_path="/oa")
        ok(a.post("/apis/oa/plugins", json={"name": "oauth2", "config": {
            "enable_password_grant": True}}))
        a.add_consumer(username="alice")
        app = ok(a.post("/consumers/alice/oauth2",
                        json={"name": "web", "redirect_uri": "https://app.example/cb"}))
        t.stop()
        tamper(t.db_path, "UPDATE plugins SET doc = json_remove(doc, '$.config.provision_key') "
                          "WHERE json_extract(doc, '$.name') = 'oauth2'")
        t.start()
        gw = o.Gateway(t, echo)
        base = gw.https + "/oa/oauth2/"
        for extra in ({}, {"provision_key": ""}):
            data = dict(grant_type="password", client_id=app["client_id"],
                        client_secret=app["client_secret"], authenticated_userid="u1", **extra)
            o.err(gw.post(base + "token", data=data), 400, "invalid_provision_key")
            data = dict(response_type="code", client_id=app["client_id"],
                        authenticated_userid="u1", **extra)
            o.err(gw.post(base + "authorize", data=data), 400, "invalid_provision_key")
        gw.close()
        assert_silent(echo)
    finally:
        problems = finish_torii(t)
        echo.stop()
        assert not problems, problems

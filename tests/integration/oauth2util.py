# SPDX-License-Identifier: MIT
"""Helpers shared by the oauth2 integration tests: a node with a TLS port and the security
catalogue's consumers and applications, apis carrying the plugin, the Kong-style authorize
call a login application makes, token requests, and protected calls whose upstream view is
checked at the echo."""

import base64
import itertools
import re
import time
import types
import urllib.parse

import pytest
import requests
import urllib3

from harness import SLOW, Torii, finish_torii, hvals
from upstreams import UpstreamServer, echo_behaviour

# The TLS port serves a self-signed certificate: clients here do not verify it.
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")     # 256 bits, base64url without padding
WEB_CB = "https://app.example/cb"
WEB_CB2 = "https://app.example/cb2"
WEB2_CB = "https://other.example/cb"
SPA_CB = "https://spa.example/cb"
MISSING = {"error": "invalid_request", "error_description": "The access token is missing"}
INVALID = {"error": "invalid_token",
           "error_description": "The access token is invalid or has expired"}
INVALID_WWW = ('Bearer realm="service" error="invalid_token" '
               'error_description="The access token is invalid or has expired"')
HTTPS_ONLY = {"error": "access_denied", "error_description": "You must use HTTPS"}
TIMEOUT = 10 * SLOW

_seq = itertools.count()


def session():
    s = requests.Session()
    s.verify = False
    s.trust_env = False
    return s


def ok(r, what="", status=(200, 201)):
    assert r.status_code in status, "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def err(r, status, error, description=None):
    """r is an OAuth error answer with this status and error code; returns its body."""
    assert r.status_code == status, "want %d %s, got %d %s" % (status, error, r.status_code,
                                                               r.text)
    body = r.json()
    assert body.get("error") == error, body
    if description is not None:
        assert body.get("error_description") == description, body
    return body


def seen(r):
    """The echo's description of what a proxied request looked like upstream."""
    assert r.status_code == 200, "%d %s" % (r.status_code, r.text)
    d = r.json()
    assert "headers" in d, d
    return d


def one(d, name):
    """The single value of header name at the echo (None when absent); fails on duplicates."""
    v = hvals(d, name)
    assert len(v) <= 1, (name, v)
    return v[0] if v else None


def b64url_bytes(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Gateway:
    """One node seen from a client: plain and TLS base URLs, the admin client, the echo."""

    def __init__(self, torii, echo):
        self.torii = torii
        self.admin = torii.admin
        self.echo = echo
        self.http = "http://127.0.0.1:%d" % torii.proxy_port
        self.https = "https://127.0.0.1:%d" % torii.ssl_port if torii.ssl_port else None
        self.s = session()

    def request(self, method, url, **kw):
        kw.setdefault("timeout", TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.s.request(method, url, **kw)

    def post(self, url, **kw):
        return self.request("POST", url, **kw)

    def get(self, url, **kw):
        return self.request("GET", url, **kw)

    def close(self):
        self.s.close()


def add_plugin(admin, api, **config):
    r = admin.post("/apis/%s/plugins" % api, json={"name": "oauth2", "config": config})
    return ok(r, "add oauth2 to %s %r" % (api, config), (201,))


def oauth_api(gw, **config):
    """A fresh api /oaN on the echo carrying oauth2 with config. Returns a namespace: name,
    path, api, plugin, pk (provision key), token / authorize (https URLs), url (https) and
    http_url (plain) of the api."""
    n = next(_seq)
    name = "oa%d" % n
    api = gw.admin.add_api(name=name, upstream_url=gw.echo.url, request_path="/" + name)
    plugin = add_plugin(gw.admin, name, **config)
    ns = types.SimpleNamespace(name=name, path="/" + name, api=api, plugin=plugin,
                               pk=plugin["config"]["provision_key"])
    if gw.https:
        ns.token = gw.https + ns.path + "/oauth2/token"
        ns.authorize = gw.https + ns.path + "/oauth2/authorize"
        ns.url = gw.https + ns.path
    ns.http_url = gw.http + ns.path
    return ns


def add_app(admin, consumer, name, redirect_uris, **fields):
    body = {"name": name, "redirect_uri": list(redirect_uris)}
    body.update(fields)
    return ok(admin.post("/consumers/%s/oauth2" % consumer, json=body), "app " + name, (201,))


def authorize(gw, api, app, response_type="code", redirect_uri=None, scope=None, state=None,
              userid="u1", provision_key=None, **extra):
    """The login application's POST to the authorize endpoint (provision key + user id)."""
    data = {"response_type": response_type, "client_id": app["client_id"],
            "provision_key": api.pk if provision_key is None else provision_key,
            "authenticated_userid": userid}
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    if scope is not None:
        data["scope"] = scope
    if state is not None:
        data["state"] = state
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not False}
    return gw.post(api.authorize, data=data)


def query_of(uri, part="query"):
    u = urllib.parse.urlsplit(uri)
    return dict(urllib.parse.parse_qsl(u.query if part == "query" else u.fragment))


def get_code(gw, api, app, redirect_uri=None, scope="email", **kw):
    r = authorize(gw, api, app, redirect_uri=redirect_uri, scope=scope, **kw)
    body = ok(r, "authorize", (200,))
    uri = body["redirect_uri"]
    q = query_of(uri)
    assert "code" in q, body
    return q["code"]


def token(gw, api, data, auth=None, params=None, url=None):
    """POST to the token endpoint; app credentials go in the form unless auth is given."""
    return gw.post(url or api.token, data=data, auth=auth, params=params)


def creds(app):
    d = {"client_id": app["client_id"]}
    if app.get("client_type", "confidential") != "public":
        d["client_secret"] = app["client_secret"]
    return d


def cc_token(gw, api, app, scope=None):
    data = dict(creds(app), grant_type="client_credentials")
    if scope is not None:
        data["scope"] = scope
    return ok(token(gw, api, data), "client_credentials", (200,))


def code_token(gw, api, app, redirect_uri=None, scope="email", verifier=None, **kw):
    code = get_code(gw, api, app, redirect_uri=redirect_uri, scope=scope, **kw)
    data = dict(creds(app), grant_type="authorization_code", code=code)
    if redirect_uri is not None:
        data["redirect_uri"] = redirect_uri
    if verifier is not None:
        data["code_verifier"] = verifier
    return ok(token(gw, api, data), "authorization_code", (200,))


def call(gw, api, tok=None, where="header", path="", headers=None, https=False, **kw):
    """A protected request to the api with the token in the header, query or form body."""
    base = api.url if https else api.http_url
    headers = dict(headers or {})
    params = dict(kw.pop("params", {}))
    if tok is not None and where == "header":
        headers["Authorization"] = "Bearer " + tok
    elif tok is not None and where == "query":
        params["access_token"] = tok
    elif tok is not None and where == "form":
        data = dict(kw.pop("data", {}))
        data["access_token"] = tok
        return gw.post(base + path, data=data, params=params, headers=headers, **kw)
    return gw.request(kw.pop("method", "GET"), base + path, params=params, headers=headers, **kw)


def wait_status(fn, status, timeout):
    """Call fn() (a request) until its status is status or timeout (s) passed; the last
    response."""
    deadline = time.monotonic() + timeout
    while True:
        r = fn()
        if r.status_code == status or time.monotonic() > deadline:
            return r
        time.sleep(0.05)


def fresh_calls(api, tok, n=6):
    """n calls on fresh connections (so both worker threads are reached); their statuses."""
    out = []
    for _ in range(n):
        s = session()
        try:
            r = s.get(api.http_url, headers={"Authorization": "Bearer " + tok}, timeout=TIMEOUT)
            out.append(r.status_code)
        finally:
            s.close()
    return out


def start_oauth_node(workdir, settings=None, faketime=False):
    """A node with a TLS port, an echo upstream and the catalogue's identities: consumers
    alice (custom_id alice-cid) and bob; apps web (alice, confidential, cb and cb2), web2 (bob,
    confidential) and spa (alice, public)."""
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(workdir, settings, ssl_port=True, faketime=faketime)
    try:
        t.start()
        gw = Gateway(t, echo)
        a = t.admin
        gw.alice = a.add_consumer(username="alice", custom_id="alice-cid")
        gw.bob = a.add_consumer(username="bob")
        gw.web = add_app(a, "alice", "web", [WEB_CB, WEB_CB2])
        gw.web2 = add_app(a, "bob", "web2", [WEB2_CB])
        gw.spa = add_app(a, "alice", "spa", [SPA_CB], client_type="public")
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    return gw


def stop_oauth_node(gw):
    gw.close()
    problems = finish_torii(gw.torii)
    gw.echo.stop()
    return problems


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """start_oauth_node for one module."""
    gw = start_oauth_node(tmp_path_factory.mktemp("oauth2"))
    yield gw
    problems = stop_oauth_node(gw)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def oauth_factory(tmp_path):
    """make(settings=None, faketime=False) -> a Gateway of its own (stopped after)."""
    made = []

    def make(settings=None, faketime=False):
        gw = start_oauth_node(tmp_path / ("oauth%d" % len(made)), settings, faketime)
        made.append(gw)
        return gw

    yield make
    problems = []
    for gw in made:
        problems += stop_oauth_node(gw)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)

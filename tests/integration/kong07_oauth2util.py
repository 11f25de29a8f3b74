# SPDX-License-Identifier: MIT
"""Helpers of the ports of Kong's oauth2 Busted specs (tags 0.7.0 and 0.8.3,
spec/plugins/oauth2/*_spec.lua): a node set up like the specs' fixtures (apis by request_host,
the consumer auth_tests_consumer, the applications clientid123 and clientid789, provision key
provision123, tokens living 5 s), Kong's spec_helper calls (form posts to the TLS or plain
port with a Host header), multipart bodies as Kong's http_client.post_multipart sent them, and
the clock moved with libfaketime where a spec slept."""

import base64
import re

from harness import Torii, finish_torii
from oauth2util import Gateway, add_plugin, ok, session
from upstreams import UpstreamServer, echo_behaviour

PK = "provision123"
CB = "http://google.com/kong"
CB3 = "http://google.com/kong?foo=bar&code=123"
# Kong's tokens were 32 hex characters; torii's are 43 base64url characters (docs/architecture.md,
# "OAuth2 follows the RFCs where Kong does not").
TOK = r"[A-Za-z0-9_-]{43}"
BASIC_OK = "Basic " + base64.b64encode(b"clientid123:secret123").decode()
BASIC_BAD = "Basic " + base64.b64encode(b"clientid123:secret124").decode()
INVALID_07 = "The access token is invalid or has expired"  # Kong 0.8's words, torii's too
INVALID_WWW = 'Bearer realm="service" error="invalid_token" error_description="%s"' % INVALID_07

# The specs' api fixtures: name, request_host, request_path, oauth2 config.
BASE = {"mandatory_scope": True, "provision_key": PK, "token_expiration": 5}
APIS = [
    ("tests-oauth2", "oauth2.com", None,
     dict(BASE, scopes=["email", "profile", "user.email"], enable_implicit_grant=True)),
    ("tests-oauth2-with-path", "mockbin-path.com", "/somepath/",
     dict(BASE, scopes=["email", "profile"], enable_implicit_grant=True)),
    ("tests-oauth2-with-hide-credentials", "oauth2_3.com", None,
     dict(BASE, scopes=["email", "profile"], enable_implicit_grant=True, hide_credentials=True)),
    ("tests-oauth2-client-credentials", "oauth2_4.com", None,
     dict(BASE, scopes=["email", "profile"], enable_client_credentials=True,
          enable_authorization_code=False)),
    ("tests-oauth2-password-grant", "oauth2_5.com", None,
     dict(BASE, scopes=["email", "profile"], enable_password_grant=True,
          enable_authorization_code=False)),
    ("tests-oauth2-accept_http_if_already_terminated", "oauth2_6.com", None,
     dict(BASE, scopes=["email", "profile", "user.email"], enable_implicit_grant=True,
          accept_http_if_already_terminated=True)),
]


class Kong:
    """One node seen as Kong's spec_helper saw one: PROXY_SSL_URL and PROXY_URL with a Host."""

    def __init__(self, gw):
        self.gw = gw
        self.admin = gw.admin
        self.offset = 0

    def url(self, path, tls=True):
        return (self.gw.https if tls else self.gw.http) + path

    def post(self, path, data=None, host="oauth2.com", tls=True, headers=None, files=None,
             params=None):
        h = dict(headers or {}, Host=host)
        return self.gw.post(self.url(path, tls), data=data, headers=h, files=files,
                            params=params)

    def get(self, path, params=None, host="oauth2.com", tls=True, headers=None):
        h = dict(headers or {}, Host=host)
        return self.gw.get(self.url(path, tls), params=params, headers=h)

    def later(self, seconds):
        """Where a spec slept: move the node's clock (fresh connections after)."""
        self.offset += seconds
        self.gw.torii.shift_clock(self.offset)
        self.gw.s.close()
        self.gw.s = session()

    # The specs' provision_code and provision_token.
    def code(self, client_id="clientid123", host="oauth2.com"):
        r = self.post("/oauth2/authorize", {"provision_key": PK, "client_id": client_id,
                                            "scope": "email", "response_type": "code",
                                            "state": "hello",
                                            "authenticated_userid": "userid123"}, host=host)
        body = r.json()
        m = re.fullmatch(r"http://google\.com/kong\?code=(%s)&state=hello" % TOK,
                         body.get("redirect_uri", ""))
        return m.group(1) if m else None

    def token(self, host="oauth2.com"):
        r = self.post("/oauth2/token", {"code": self.code(host=host), "client_id": "clientid123",
                                        "client_secret": "secret123",
                                        "grant_type": "authorization_code"}, host=host)
        return ok(r, "provision_token", (200,))


def multipart(fields):
    """Kong's post_multipart: every field a form-data part (requests builds the body)."""
    return {k: (None, v) for k, v in fields.items()}


APPS = (("clientid123", "secret123", CB), ("clientid789", "secret789", CB3))


def start_kong_node(workdir, apis=APIS, apps=APPS):
    """A node with the specs' fixtures; trusted_ips covers the test client, so
    X-Forwarded-Proto counts where an api accepts it (docs/plugins.md)."""
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(workdir, {"trusted_ips": "127.0.0.1/32"}, ssl_port=True, faketime=True)
    try:
        t.start()
        gw = Gateway(t, echo)
        a = t.admin
        gw.apis = {}
        for name, host, path, config in apis:
            fields = {"name": name, "upstream_url": echo.url, "request_host": host}
            if path:
                fields["request_path"] = path
            gw.apis[name] = a.add_api(**fields)
            add_plugin(a, name, **config)
        gw.consumer = a.add_consumer(username="auth_tests_consumer")
        for cid, secret, uri in apps:
            r = a.post("/consumers/auth_tests_consumer/oauth2",
                       data={"client_id": cid, "client_secret": secret, "redirect_uri": uri,
                             "name": "testapp-" + cid})
            ok(r, "app " + cid, (201,))
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    return Kong(gw)


def stop_kong_node(k):
    k.gw.close()
    problems = finish_torii(k.gw.torii)
    k.gw.echo.stop()
    return problems


def headers_of(d):
    """The echo's view of the upstream request headers, as one lower-cased dict."""
    return {name.lower(): value for name, value in d["headers"]}

# SPDX-License-Identifier: MIT
"""Kong's own oauth2 access spec, ported: spec/plugins/oauth2/access_spec.lua at tag 0.7.0
(the walkthrough's version) with the cases 0.8.3 added, one test per `it(...)` case, each
docstring naming the spec file, the case's title and the tags. Bodies are sent as Kong's
http_client sent them: urlencoded forms, multipart where the spec used post_multipart. The
fixtures are the spec's (kong07_oauth2util.py); tokens live 5 s, and where the spec slept the
node's clock is moved instead.

Where a case meets a deliberate difference it asserts torii's documented behaviour and names
the document: tokens are 43 base64url characters (docs/architecture.md, "OAuth2 follows the
RFCs where Kong does not"), bad codes and refresh tokens are `invalid_grant` (same, and
docs/behaviour.md P14), a missing grant_type is `invalid_request` whatever else is missing
(docs/plugins.md, token endpoint table), an unknown client or a bad secret is `invalid_client`
(401) as in Kong 0.8, a redirect URI that was not registered is answered without a redirect,
the implicit grant's token travels in the fragment and expires (docs/architecture.md),
X-Forwarded-Proto counts only from trusted_ips (docs/plugins.md), and Kong 0.8's wording
replaced 0.7's where torii answers as 0.8 did ("Invalid client authentication", "The access
token is invalid or has expired"). Every case is ported; none is skipped."""

import re

import pytest

from kong07_oauth2util import (BASIC_BAD, BASIC_OK, INVALID_07, INVALID_WWW, PK, TOK,
                               headers_of, multipart, start_kong_node, stop_kong_node)
from oauth2util import ok, seen

pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

USERID_FORM = {"provision_key": PK, "authenticated_userid": "id123", "client_id": "clientid123"}


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    node = start_kong_node(tmp_path_factory.mktemp("kong07-oauth2"))
    yield node
    problems = stop_kong_node(node)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def no_cache(r):
    assert r.headers.get("Cache-Control") == "no-store", r.headers
    assert r.headers.get("Pragma") == "no-cache", r.headers


def redirect_error(r, uri):
    """A 400 whose redirect_uri is Kong's exactly. torii's body also carries the error fields
    (docs/plugins.md, authorize endpoint), where Kong's held only redirect_uri."""
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["redirect_uri"] == uri, body
    assert set(body) == {"redirect_uri", "error", "error_description"}, body
    return body


def code_uri(body, suffix=""):
    m = re.fullmatch(r"http://google\.com/kong\?code=(%s)%s" % (TOK, re.escape(suffix)),
                     body["redirect_uri"])
    assert m, body
    return m.group(1)


def implicit_token(body, suffix=""):
    """The implicit grant's token: in the fragment (RFC 6749 §4.2.2; Kong: the query), with
    expires_in as in Kong 0.8 (docs/architecture.md)."""
    m = re.fullmatch(r"http://google\.com/kong#access_token=(%s)&token_type=bearer"
                     r"&expires_in=5%s" % (TOK, re.escape(suffix)), body["redirect_uri"])
    assert m, body
    return m.group(1)


def token_row(k, text):
    """The /oauth2_tokens row of a token text (torii keeps digests only, so the text itself
    is never in it)."""
    return ok(k.admin.get("/oauth2_tokens/" + text), "token row", (200,))


# ---------------------------------------------------------------------------------------------
# OAuth2 Authorization: Code Grant

def test_authorize_no_provision_key(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when no provision_key is
    being sent" (0.7.0, 0.8.3). torii's words are Kong 3's, "Invalid provision_key"
    (docs/plugins.md, token endpoint table)."""
    r = k.post("/oauth2/authorize", {})
    assert r.json() == {"error": "invalid_provision_key",
                        "error_description": "Invalid provision_key"}
    assert r.status_code == 400
    no_cache(r)


def test_authorize_no_parameter(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when no parameter is being
    sent" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/authorize", {"provision_key": PK})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_authenticated_userid",
                        "error_description": "Missing authenticated_userid parameter"}


def test_authorize_only_provision_key_and_userid(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when only provision_key and
    authenticated_userid are sent" (0.7.0: invalid_request "Invalid client_id"; 0.8.3 and
    torii: invalid_client "Invalid client authentication")."""
    r = k.post("/oauth2/authorize", {"provision_key": PK, "authenticated_userid": "id123"})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_client",
                        "error_description": "Invalid client authentication"}
    no_cache(r)


def test_authorize_only_client_id(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when only the client_is
    being sent" (0.7.0, 0.8.3): with neither scope nor response_type, Kong reports the scope
    (its checks ran in that order)."""
    r = k.post("/oauth2/authorize", USERID_FORM)
    redirect_error(r, "http://google.com/kong?error=invalid_scope"
                      "&error_description=You%20must%20specify%20a%20scope")


def test_authorize_invalid_scope(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when an invalid scope is
    being sent" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="wot"))
    redirect_error(r, "http://google.com/kong?error=invalid_scope"
                      "&error_description=%22wot%22%20is%20an%20invalid%20scope")


def test_authorize_no_response_type(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when no response_type is
    being sent" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email"))
    redirect_error(r, "http://google.com/kong?error=unsupported_response_type"
                      "&error_description=Invalid%20response_type")


def test_authorize_no_response_type_with_state(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error with a state when no
    response_type is being sent" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", state="somestate"))
    redirect_error(r, "http://google.com/kong?error=unsupported_response_type"
                      "&error_description=Invalid%20response_type&state=somestate")


def test_authorize_redirect_uri_does_not_match(k):
    """spec/plugins/oauth2/access_spec.lua: "should return error when the redirect_uri does not
    match" (0.7.0, 0.8.3). Kong sent the browser to the registered URI with the error; torii
    answers without a redirect (RFC 6749 §4.1.2.1; docs/architecture.md, docs/plugins.md)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="code",
                                         redirect_uri="http://hello.com/"))
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request",
                        "error_description": "Invalid redirect_uri that does not match with "
                                             "any redirect_uri created with the application"}


def test_authorize_redirect_uri_with_fragment(k):
    """spec/plugins/oauth2/access_spec.lua: "should return error when the redirect_uri contains
    a fragment" (0.7.0; dropped in 0.8.3, whose API refuses such a URI). torii refuses it when
    the application is registered, as Kong 0.8 did, so the authorize call meets no such
    client."""
    r = k.admin.post("/consumers/auth_tests_consumer/oauth2",
                     data={"client_id": "clientid456", "client_secret": "secret456",
                           "redirect_uri": "http://google.com/kong#withfragment",
                           "name": "testapp2"})
    assert r.status_code == 400 and "redirect_uri" in r.text, r.text
    r = k.post("/oauth2/authorize", dict(USERID_FORM, client_id="clientid456", scope="email",
                                         response_type="code"))
    assert r.status_code == 400 and r.json()["error"] == "invalid_client", r.text


def test_authorize_redirect_uri_with_query_string(k):
    """spec/plugins/oauth2/access_spec.lua: "should work even if redirect_uri contains a query
    string" (0.7.0, 0.8.3): the registered "?foo=bar&code=123" keeps foo, loses its code to
    the new one, and the pairs come sorted, as Kong built them."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, client_id="clientid789", scope="email",
                                         response_type="code"),
               host="oauth2_6.com", tls=False, headers={"X-Forwarded-Proto": "https"})
    body = ok(r, "authorize", (200,))
    assert set(body) == {"redirect_uri"}
    assert re.fullmatch(r"http://google\.com/kong\?code=%s&foo=bar" % TOK, body["redirect_uri"])


def test_authorize_not_under_https(k):
    """spec/plugins/oauth2/access_spec.lua: "should fail when not under HTTPS" (0.7.0,
    0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="code"),
               tls=False)
    assert r.status_code == 400
    assert r.json() == {"error": "access_denied", "error_description": "You must use HTTPS"}


def test_authorize_http_accepted_if_already_terminated(k):
    """spec/plugins/oauth2/access_spec.lua: "should work when not under HTTPS but
    accept_http_if_already_terminated is true" (0.7.0, 0.8.3). The node trusts the test client
    (trusted_ips): torii believes X-Forwarded-Proto only from there (docs/plugins.md)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="code"),
               host="oauth2_6.com", tls=False, headers={"X-Forwarded-Proto": "https"})
    body = ok(r, "authorize", (200,))
    assert set(body) == {"redirect_uri"}
    code_uri(body)


def test_authorize_http_refused_if_not_accepted(k):
    """spec/plugins/oauth2/access_spec.lua: "should fail when not under HTTPS and
    accept_http_if_already_terminated is false" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="code"),
               tls=False, headers={"X-Forwarded-Proto": "https"})
    assert r.status_code == 400
    assert r.json() == {"error": "access_denied", "error_description": "You must use HTTPS"}


def test_authorize_success(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success" (0.7.0, 0.8.3; Code
    Grant)."""
    body = ok(k.post("/oauth2/authorize", dict(USERID_FORM, scope="email",
                                               response_type="code")), "authorize", (200,))
    assert set(body) == {"redirect_uri"}
    code_uri(body)


def test_authorize_path_api_by_host(k):
    """spec/plugins/oauth2/access_spec.lua: "should fail with a path when using the DNS"
    (0.7.0, 0.8.3). torii's words: "Invalid provision_key" (docs/plugins.md)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, provision_key="provision123a",
                                         scope="email", response_type="code"),
               host="mockbin-path.com")
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_provision_key",
                        "error_description": "Invalid provision_key"}


def test_authorize_success_with_a_path(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success with a path" (0.7.0,
    0.8.3)."""
    r = k.post("/somepath/oauth2/authorize", dict(USERID_FORM, scope="email",
                                                  response_type="code"),
               host="mockbin-path.com")
    code_uri(ok(r, "authorize", (200,)))


def test_authorize_success_with_final_slash(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success when requesting the url
    with final slash" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/authorize/", dict(USERID_FORM, scope="email", response_type="code"))
    code_uri(ok(r, "authorize", (200,)))


def test_authorize_success_with_state(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success with a state" (0.7.0,
    0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="code",
                                         state="hello"))
    body = ok(r, "authorize", (200,))
    assert set(body) == {"redirect_uri"}
    code_uri(body, "&state=hello")
    no_cache(r)


def exchanged_view(k, code):
    """What a code carries, seen through the token it gives: torii keeps codes as digests
    (P12), so the spec's read of the code row becomes the upstream view of its token."""
    r = k.post("/oauth2/token", {"code": code, "client_id": "clientid123",
                                 "client_secret": "secret123",
                                 "grant_type": "authorization_code"})
    tok = ok(r, "exchange", (200,))["access_token"]
    return headers_of(seen(k.get("/request", {"access_token": tok})))


def test_authorize_stores_user_properties(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success and store authenticated user
    properties" (0.7.0, 0.8.3; Code Grant)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="code",
                                         state="hello", authenticated_userid="userid123"))
    code = code_uri(ok(r, "authorize", (200,)), "&state=hello")
    h = exchanged_view(k, code)
    assert h["x-authenticated-userid"] == "userid123" and h["x-authenticated-scope"] == "email"


def test_authorize_dotted_scope(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success with a dotted scope and
    store authenticated user properties" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="user.email", response_type="code",
                                         state="hello", authenticated_userid="userid123"))
    code = code_uri(ok(r, "authorize", (200,)), "&state=hello")
    h = exchanged_view(k, code)
    assert h["x-authenticated-userid"] == "userid123"
    assert h["x-authenticated-scope"] == "user.email"


# ---------------------------------------------------------------------------------------------
# OAuth2 Authorization: Implicit Grant

def test_implicit_success(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success" (0.7.0, 0.8.3; Implicit
    Grant)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="token"))
    body = ok(r, "implicit", (200,))
    assert set(body) == {"redirect_uri"}
    implicit_token(body)
    no_cache(r)


def test_implicit_success_with_state(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success and the state" (0.7.0,
    0.8.3)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="token",
                                         state="wot"))
    implicit_token(ok(r, "implicit", (200,)), "&state=wot")


def test_implicit_token_expiration(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success and the token should have
    the right expiration" (0.8.3): the token lives token_expiration seconds and has no refresh
    token."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email", response_type="token"))
    body = ok(r, "implicit", (200,))
    tok = implicit_token(body)
    assert "refresh_token" not in body["redirect_uri"]
    assert token_row(k, tok)["expires_in"] == 5


def test_implicit_stores_user_properties(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success and store authenticated user
    properties" (0.7.0, 0.8.3; Implicit Grant). expires_in is 5 as in 0.8.3 (0.7.0: 0; docs/
    architecture.md: implicit tokens expire like the others)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email  profile",
                                         response_type="token", authenticated_userid="userid123"))
    body = ok(r, "implicit", (200,))
    tok = implicit_token(body)
    row = token_row(k, tok)
    assert row["authenticated_userid"] == "userid123" and row["scope"] == "email profile"
    assert row["expires_in"] == 5 and "refresh_token" not in body["redirect_uri"]


def test_implicit_upstream_headers(k):
    """spec/plugins/oauth2/access_spec.lua: "should return set the right upstream headers"
    (0.7.0, 0.8.3; Implicit Grant)."""
    r = k.post("/oauth2/authorize", dict(USERID_FORM, scope="email  profile",
                                         response_type="token", authenticated_userid="userid123"))
    tok = implicit_token(ok(r, "implicit", (200,)))
    h = headers_of(seen(k.get("/request", {"access_token": tok})))
    assert h.get("x-consumer-id") and h["x-consumer-username"] == "auth_tests_consumer"
    assert h["x-authenticated-scope"] == "email profile"
    assert h["x-authenticated-userid"] == "userid123"


# ---------------------------------------------------------------------------------------------
# OAuth2 Authorization: Client Credentials (oauth2_4.com)

CC = "oauth2_4.com"
MISSING_GRANT = {"error": "invalid_request", "error_description": "Missing grant_type parameter"}


def test_client_credentials_no_secret_1(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when client_secret is not
    sent" (0.7.0, 0.8.3; Client Credentials, the first case of that title: no secret and no
    grant_type). Kong checked the client last; torii refuses a request without grant_type
    first (docs/plugins.md, token endpoint table)."""
    r = k.post("/oauth2/token", {"client_id": "clientid123", "scope": "email",
                                 "response_type": "token"}, host=CC)
    assert r.status_code == 400 and r.json() == MISSING_GRANT


def test_client_credentials_no_secret_2(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when client_secret is not
    sent" (0.7.0, 0.8.3; Client Credentials, the second case of that title: a secret but no
    grant_type). 0.7.0: invalid_request "Invalid grant_type", 0.8.3: unsupported_grant_type;
    torii: invalid_request, the parameter is missing (docs/plugins.md)."""
    r = k.post("/oauth2/token", {"client_id": "clientid123", "client_secret": "secret123",
                                 "scope": "email", "response_type": "token"}, host=CC)
    assert r.status_code == 400 and r.json() == MISSING_GRANT


def test_client_credentials_not_under_https(k):
    """spec/plugins/oauth2/access_spec.lua: "should fail when not under HTTPS" (0.7.0, 0.8.3;
    Client Credentials)."""
    r = k.post("/oauth2/token", {"client_id": "clientid123", "client_secret": "secret123",
                                 "scope": "email", "grant_type": "client_credentials"},
               host=CC, tls=False)
    assert r.status_code == 400
    assert r.json() == {"error": "access_denied", "error_description": "You must use HTTPS"}


CC_FORM = {"client_id": "clientid123", "client_secret": "secret123", "scope": "email",
           "grant_type": "client_credentials"}


def test_client_credentials_userid_without_provision_key(k):
    """spec/plugins/oauth2/access_spec.lua: "should return fail when setting
    authenticated_userid and no provision_key" (0.7.0, 0.8.3). torii's words: "Invalid
    provision_key" (docs/plugins.md)."""
    r = k.post("/oauth2/token", dict(CC_FORM, authenticated_userid="user123"), host=CC)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_provision_key",
                        "error_description": "Invalid provision_key"}


def test_client_credentials_userid_with_invalid_provision_key(k):
    """spec/plugins/oauth2/access_spec.lua: "should return fail when setting
    authenticated_userid and invalid provision_key" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/token", dict(CC_FORM, authenticated_userid="user123",
                                     provision_key="hello"), host=CC)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_provision_key",
                        "error_description": "Invalid provision_key"}


def cc_success(body):
    assert set(body) == {"access_token", "token_type", "expires_in"}, body
    assert re.fullmatch(TOK, body["access_token"])
    assert body["token_type"] == "bearer" and body["expires_in"] == 5


def test_client_credentials_success(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success" (0.7.0, 0.8.3; Client
    Credentials)."""
    cc_success(ok(k.post("/oauth2/token", CC_FORM, host=CC), "cc", (200,)))


def test_client_credentials_success_with_userid(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success with authenticated_userid
    and valid provision_key" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/token", dict(CC_FORM, authenticated_userid="hello", provision_key=PK),
               host=CC)
    cc_success(ok(r, "cc", (200,)))


def test_client_credentials_authorization_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success with authorization header"
    (0.7.0, 0.8.3; Client Credentials)."""
    r = k.post("/oauth2/token", {"scope": "email", "grant_type": "client_credentials"},
               host=CC, headers={"Authorization": BASIC_OK})
    cc_success(ok(r, "cc", (200,)))


def test_client_credentials_wrong_authorization_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error with a wrong authorization
    header" (0.7.0: 400 "Invalid client_secret"; 0.8.3 and torii: 401 invalid_client with
    WWW-Authenticate; Client Credentials)."""
    r = k.post("/oauth2/token", {"scope": "email", "grant_type": "client_credentials"},
               host=CC, headers={"Authorization": BASIC_BAD})
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client",
                        "error_description": "Invalid client authentication"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="OAuth2.0"'


def test_client_credentials_upstream_headers(k):
    """spec/plugins/oauth2/access_spec.lua: "should return set the right upstream headers"
    (0.7.0, 0.8.3; Client Credentials)."""
    r = k.post("/oauth2/token", dict(CC_FORM, authenticated_userid="hello", provision_key=PK),
               host=CC)
    tok = ok(r, "cc", (200,))["access_token"]
    h = headers_of(seen(k.get("/request", {"access_token": tok}, host=CC)))
    assert h.get("x-consumer-id") and h["x-consumer-username"] == "auth_tests_consumer"
    assert h["x-authenticated-scope"] == "email" and h["x-authenticated-userid"] == "hello"


def test_client_credentials_multipart(k):
    """spec/plugins/oauth2/access_spec.lua: "should work in a multipart request" (0.8.3): the
    token request and the protected request both as multipart/form-data."""
    r = k.post("/oauth2/token", host=CC, files=multipart(
        dict(CC_FORM, authenticated_userid="hello", provision_key=PK)))
    assert r.request.headers["Content-Type"].startswith("multipart/form-data")
    tok = ok(r, "multipart token", (200,))["access_token"]
    r = k.post("/request", host=CC, files=multipart({"access_token": tok}))
    assert r.request.headers["Content-Type"].startswith("multipart/form-data")
    assert headers_of(seen(r))["x-authenticated-userid"] == "hello"


# ---------------------------------------------------------------------------------------------
# OAuth2 Authorization: Password Grant (oauth2_5.com)

PW = "oauth2_5.com"
PW_FORM = {"provision_key": PK, "authenticated_userid": "id123", "scope": "email",
           "grant_type": "password"}


def test_password_blocks_unauthorized_requests(k):
    """spec/plugins/oauth2/access_spec.lua: "should block unauthorized requests" (0.7.0,
    0.8.3)."""
    r = k.get("/request", host=PW)
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_request",
                        "error_description": "The access token is missing"}


def test_password_no_secret_1(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when client_secret is not
    sent" (0.7.0, 0.8.3; Password Grant, the first case of that title: no secret and no
    grant_type). torii refuses a request without grant_type first (docs/plugins.md)."""
    r = k.post("/oauth2/token", {"client_id": "clientid123", "scope": "email",
                                 "response_type": "token"}, host=PW)
    assert r.status_code == 400 and r.json() == MISSING_GRANT


def test_password_no_secret_2(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when client_secret is not
    sent" (0.7.0, 0.8.3; Password Grant, the second case of that title: a secret but no
    grant_type; 0.8.3: unsupported_grant_type; torii: invalid_request, docs/plugins.md)."""
    r = k.post("/oauth2/token", {"client_id": "clientid123", "client_secret": "secret123",
                                 "scope": "email", "response_type": "token"}, host=PW)
    assert r.status_code == 400 and r.json() == MISSING_GRANT


def no_provision_key(k):
    r = k.post("/oauth2/token", {"client_id": "clientid123", "client_secret": "secret123",
                                 "scope": "email", "grant_type": "password"}, host=PW)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_provision_key",
                        "error_description": "Invalid provision_key"}


def test_password_no_provision_key_1(k):
    """spec/plugins/oauth2/access_spec.lua: "should fail when no provision key is being sent"
    (0.7.0, 0.8.3; the first of two identical cases). torii's words: "Invalid provision_key"
    (docs/plugins.md)."""
    no_provision_key(k)


def test_password_no_provision_key_2(k):
    """spec/plugins/oauth2/access_spec.lua: "should fail when no provision key is being sent"
    (0.7.0, 0.8.3; the second of two identical cases)."""
    no_provision_key(k)


def test_password_no_userid(k):
    """spec/plugins/oauth2/access_spec.lua: "should fail when no authenticated user id is being
    sent" (0.7.0, 0.8.3)."""
    r = k.post("/oauth2/token", {"provision_key": PK, "client_id": "clientid123",
                                 "client_secret": "secret123", "scope": "email",
                                 "grant_type": "password"}, host=PW)
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_authenticated_userid",
                        "error_description": "Missing authenticated_userid parameter"}


def pair_success(body, state=None):
    want = {"access_token", "refresh_token", "token_type", "expires_in"}
    if state is not None:
        want.add("state")
        assert body["state"] == state
    assert set(body) == want, body
    assert re.fullmatch(TOK, body["access_token"]) and re.fullmatch(TOK, body["refresh_token"])
    assert body["token_type"] == "bearer" and body["expires_in"] == 5


def test_password_success(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success" (0.7.0, 0.8.3; Password
    Grant)."""
    r = k.post("/oauth2/token", dict(PW_FORM, client_id="clientid123",
                                     client_secret="secret123"), host=PW)
    pair_success(ok(r, "password", (200,)))


def test_password_authorization_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success with authorization header"
    (0.7.0, 0.8.3; Password Grant)."""
    r = k.post("/oauth2/token", PW_FORM, host=PW, headers={"Authorization": BASIC_OK})
    pair_success(ok(r, "password", (200,)))


def test_password_wrong_authorization_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error with a wrong authorization
    header" (0.7.0: 400 "Invalid client_secret"; 0.8.3 and torii: 401 invalid_client;
    Password Grant)."""
    r = k.post("/oauth2/token", PW_FORM, host=PW, headers={"Authorization": BASIC_BAD})
    assert r.status_code == 401
    assert r.json() == {"error": "invalid_client",
                        "error_description": "Invalid client authentication"}
    assert r.headers["WWW-Authenticate"] == 'Basic realm="OAuth2.0"'


def test_password_upstream_headers(k):
    """spec/plugins/oauth2/access_spec.lua: "should return set the right upstream headers"
    (0.7.0, 0.8.3; Password Grant)."""
    r = k.post("/oauth2/token", PW_FORM, host=PW, headers={"Authorization": BASIC_OK})
    tok = ok(r, "password", (200,))["access_token"]
    h = headers_of(seen(k.get("/request", {"access_token": tok}, host=PW)))
    assert h.get("x-consumer-id") and h["x-consumer-username"] == "auth_tests_consumer"
    assert h["x-authenticated-scope"] == "email" and h["x-authenticated-userid"] == "id123"


# ---------------------------------------------------------------------------------------------
# OAuth2 Access Token (the token endpoint of oauth2.com)

def test_token_nothing_sent(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when nothing is being sent"
    (0.7.0: invalid_request "Invalid client_id"; 0.8.3: invalid_client). torii refuses a
    request without grant_type first (docs/plugins.md)."""
    r = k.post("/oauth2/token", {})
    assert r.status_code == 400 and r.json() == MISSING_GRANT
    no_cache(r)


def test_token_only_code(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when only the code is being
    sent" (0.7.0, 0.8.3); no grant_type (docs/plugins.md)."""
    r = k.post("/oauth2/token", {"code": k.code()})
    assert r.status_code == 400 and r.json() == MISSING_GRANT
    no_cache(r)


def test_token_only_code_and_secret(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when only the code and
    client_secret are being sent" (0.7.0, 0.8.3); no grant_type (docs/plugins.md)."""
    r = k.post("/oauth2/token", {"code": k.code(), "client_secret": "secret123"})
    assert r.status_code == 400 and r.json() == MISSING_GRANT
    no_cache(r)


def test_token_only_code_secret_and_client_id(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error when only the code and
    client_secret and client_id are being sent" (0.7.0: invalid_request "Invalid grant_type";
    0.8.3: unsupported_grant_type; torii: invalid_request, the parameter is missing,
    docs/plugins.md)."""
    r = k.post("/oauth2/token", {"code": k.code(), "client_id": "clientid123",
                                 "client_secret": "secret123"})
    assert r.status_code == 400 and r.json() == MISSING_GRANT


CODE_FORM = {"client_id": "clientid123", "client_secret": "secret123",
             "grant_type": "authorization_code"}


def test_token_wrong_code(k):
    """spec/plugins/oauth2/access_spec.lua: "should return an error with a wrong code" (0.7.0,
    0.8.3). Kong: invalid_request; torii: invalid_grant (RFC 6749 §5.2; docs/behaviour.md P14,
    docs/architecture.md)."""
    r = k.post("/oauth2/token", dict(CODE_FORM, code=k.code() + "hello"))
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": "Invalid code"}


def test_token_success_without_state(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success without state" (0.7.0,
    0.8.3)."""
    pair_success(ok(k.post("/oauth2/token", dict(CODE_FORM, code=k.code())), "code", (200,)))


def test_token_success_with_state(k):
    """spec/plugins/oauth2/access_spec.lua: "should return success with state" (0.7.0,
    0.8.3)."""
    r = k.post("/oauth2/token", dict(CODE_FORM, code=k.code(), state="wot"))
    pair_success(ok(r, "code", (200,)), state="wot")


def test_token_upstream_headers(k):
    """spec/plugins/oauth2/access_spec.lua: "should return set the right upstream headers"
    (0.7.0, 0.8.3; OAuth2 Access Token)."""
    tok = ok(k.post("/oauth2/token", dict(CODE_FORM, code=k.code())), "code",
             (200,))["access_token"]
    h = headers_of(seen(k.get("/request", {"access_token": tok})))
    assert h.get("x-consumer-id") and h["x-consumer-username"] == "auth_tests_consumer"
    assert h["x-authenticated-scope"] == "email" and h["x-authenticated-userid"] == "userid123"


# ---------------------------------------------------------------------------------------------
# Making a request (Kong's STUB_GET_URL and STUB_POST_URL on the plain port)

def test_request_token_in_querystring(k):
    """spec/plugins/oauth2/access_spec.lua: "should work when a correct access_token is being
    sent in the querystring" (0.7.0, 0.8.3; the spec posts it as Kong's http_client did, a
    form, and a query string works as well)."""
    tok = k.token()["access_token"]
    assert seen(k.post("/request", {"access_token": tok}, tls=False))
    assert seen(k.get("/request", {"access_token": tok}, tls=False))


def test_request_token_in_form_body(k):
    """spec/plugins/oauth2/access_spec.lua: "should work when a correct access_token is being
    sent in a form body" (0.7.0, 0.8.3)."""
    tok = k.token()["access_token"]
    assert seen(k.post("/request", {"access_token": tok}, tls=False))


def test_request_token_in_bearer_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should work when a correct access_token is being
    sent in an authorization header (bearer)" (0.7.0, 0.8.3)."""
    tok = k.token()["access_token"]
    assert seen(k.post("/request", {}, tls=False, headers={"Authorization": "bearer " + tok}))


def test_request_token_in_token_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should work when a correct access_token is being
    sent in an authorization header (token)" (0.7.0, 0.8.3)."""
    tok = k.token()["access_token"]
    h = headers_of(seen(k.post("/request", {}, tls=False,
                               headers={"Authorization": "token " + tok})))
    assert h["x-consumer-id"] == k.gw.consumer["id"]
    assert h["x-consumer-username"] == "auth_tests_consumer"
    assert h["x-authenticated-userid"] == "userid123" and h["x-authenticated-scope"] == "email"


# ---------------------------------------------------------------------------------------------
# Authentication challenge

def test_challenge_no_credentials(k):
    """spec/plugins/oauth2/access_spec.lua: "should return 401 Unauthorized without error if it
    lacks any authentication information" (0.7.0, 0.8.3)."""
    r = k.post("/request", {}, tls=False)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="service"'
    assert r.json() == {"error": "invalid_request",
                        "error_description": "The access token is missing"}


def invalid_token(r):
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == INVALID_WWW
    assert r.json() == {"error": "invalid_token", "error_description": INVALID_07}


def test_challenge_invalid_token_in_url(k):
    """spec/plugins/oauth2/access_spec.lua: "should return 401 Unauthorized when an invalid
    access token is being sent via url parameter" (0.7.0: "The access token is invalid";
    0.8.3 and torii: "The access token is invalid or has expired")."""
    invalid_token(k.get("/request", {"access_token": "invalid"}, tls=False))


def test_challenge_invalid_token_in_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should return 401 Unauthorized when an invalid
    access token is being sent via the Authorization header" (0.7.0, 0.8.3: as above)."""
    invalid_token(k.post("/request", {}, tls=False, headers={"Authorization": "bearer invalid"}))


def test_challenge_expired_token(k):
    """spec/plugins/oauth2/access_spec.lua: "should return 401 Unauthorized when token has
    expired" (0.7.0: "The access token expired"; 0.8.3 and torii: "The access token is
    invalid or has expired"). The spec slept 6 s; the node's clock moves instead."""
    tok = k.token()["access_token"]
    k.later(6)
    invalid_token(k.post("/request", {}, tls=False, headers={"Authorization": "bearer " + tok}))


# ---------------------------------------------------------------------------------------------
# Refresh Token

REFRESH_FORM = {"client_id": "clientid123", "client_secret": "secret123",
                "grant_type": "refresh_token"}


def test_refresh_invalid(k):
    """spec/plugins/oauth2/access_spec.lua: "should not refresh an invalid access token"
    (0.7.0, 0.8.3). Kong: invalid_request; torii: invalid_grant (RFC 6749 §5.2; docs/
    behaviour.md P14, docs/architecture.md)."""
    r = k.post("/oauth2/token", dict(REFRESH_FORM, refresh_token="hello"))
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_grant", "error_description": "Invalid refresh_token"}


def test_refresh_valid(k):
    """spec/plugins/oauth2/access_spec.lua: "should refresh an valid access token" (0.7.0,
    0.8.3)."""
    pair = k.token()
    r = k.post("/oauth2/token", dict(REFRESH_FORM, refresh_token=pair["refresh_token"]))
    pair_success(ok(r, "refresh", (200,)))


def test_refresh_after_expiry(k):
    """spec/plugins/oauth2/access_spec.lua: "should expire after 5 seconds" (0.7.0, 0.8.3): the
    token works, expires (the clock moves 6 s where the spec slept), the refresh gives a new
    pair, and the old token is gone (torii: /oauth2_tokens no longer lists it and it no
    longer works)."""
    pair = k.token()
    assert seen(k.post("/request", {}, tls=False,
                       headers={"Authorization": "bearer " + pair["access_token"]}))
    row = token_row(k, pair["access_token"])
    assert k.admin.get("/oauth2_tokens/" + row["id"]).status_code == 200
    k.later(6)
    r = k.post("/request", {}, tls=False,
               headers={"Authorization": "bearer " + pair["access_token"]})
    assert r.status_code == 401 and r.json()["error_description"] == INVALID_07
    r = k.post("/oauth2/token", dict(REFRESH_FORM, refresh_token=pair["refresh_token"]))
    body = ok(r, "refresh", (200,))
    pair_success(body)
    assert body["access_token"] != pair["access_token"]
    assert body["refresh_token"] != pair["refresh_token"]
    listed = ok(k.admin.get("/oauth2_tokens", params={"size": "1000"}), "list")["data"]
    assert row["id"] not in {x["id"] for x in listed}
    assert k.admin.get("/oauth2_tokens/" + pair["access_token"]).status_code == 404


# ---------------------------------------------------------------------------------------------
# Hide Credentials (oauth2_3.com hides; its tokens come from oauth2.com, as in the spec: a token
# works on every Kong 0.7 api with the plugin, docs/plugins.md)

HIDE = "oauth2_3.com"


def test_hide_not_in_body(k):
    """spec/plugins/oauth2/access_spec.lua: "should not hide credentials in the body" (0.7.0,
    0.8.3)."""
    tok = k.token()["access_token"]
    d = seen(k.post("/request", {"access_token": tok}, tls=False))
    assert d["body"] == "access_token=" + tok


def test_hide_in_body(k):
    """spec/plugins/oauth2/access_spec.lua: "should hide credentials in the body" (0.7.0,
    0.8.3)."""
    tok = k.token()["access_token"]
    d = seen(k.post("/request", {"access_token": tok}, host=HIDE, tls=False))
    assert tok not in (d["body"] or "") and "access_token" not in (d["body"] or "")


def test_hide_not_in_querystring(k):
    """spec/plugins/oauth2/access_spec.lua: "should not hide credentials in the querystring"
    (0.7.0, 0.8.3)."""
    tok = k.token()["access_token"]
    d = seen(k.get("/request", {"access_token": tok}, tls=False))
    assert d["target"] == "/request?access_token=" + tok


def test_hide_in_querystring(k):
    """spec/plugins/oauth2/access_spec.lua: "should hide credentials in the querystring"
    (0.7.0, 0.8.3)."""
    tok = k.token()["access_token"]
    d = seen(k.get("/request", {"access_token": tok}, host=HIDE, tls=False))
    assert "access_token" not in d["target"] and tok not in d["target"]


def test_hide_not_in_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should not hide credentials in the header"
    (0.7.0, 0.8.3)."""
    tok = k.token()["access_token"]
    d = seen(k.get("/request", tls=False, headers={"Authorization": "bearer " + tok}))
    assert headers_of(d)["authorization"] == "bearer " + tok


def test_hide_in_header(k):
    """spec/plugins/oauth2/access_spec.lua: "should hide credentials in the header" (0.7.0,
    0.8.3)."""
    tok = k.token()["access_token"]
    d = seen(k.get("/request", host=HIDE, tls=False, headers={"Authorization": "bearer " + tok}))
    assert "authorization" not in headers_of(d)

# SPDX-License-Identifier: MIT
"""hide_credentials against every spelling of a credential's name. A name is found decoded
(`api%6Bey` is `apikey`), so it must be removed decoded too: in the query string, in a form
body and in a JSON body, for key-auth's key and oauth2's access_token, every copy of it
(repeated, spelled differently), while every other argument reaches the upstream byte for byte
as the client sent it. Checked at the echo upstream, from raw requests (no client library
re-encodes anything here)."""

import json
import urllib.parse

import pytest

from oauth2util import cc_token, node, oauth_api  # noqa: F401 (node is a fixture)
from rawhttp import one_request

ALICE_KEY = "hc-alice-key-3f9a1c"
FORM = "application/x-www-form-urlencoded"

assert node  # the module's node: TLS port, consumers alice and bob, apps web, web2, spa


def seen(r):
    assert r.status == 200, r
    d = r.json()
    assert "headers" in d, d
    return d


def hvals(d, name):
    return [v for k, v in d["headers"] if k.lower() == name.lower()]


@pytest.fixture(scope="module")
def keyed(node):
    """Apis on the echo: /hck (key-auth, hide), /hckb (key_in_body, hide), /hckn (key-auth
    without hide), /hcka and /hckba (those two with anonymous bob)."""
    a = node.admin
    r = a.post("/consumers/alice/key-auth", data={"key": ALICE_KEY})
    assert r.status_code == 201, r.text
    for name, conf in (("hck", {"hide_credentials": True}),
                       ("hckb", {"hide_credentials": True, "key_in_body": True}),
                       ("hckn", {}),
                       ("hcka", {"hide_credentials": True, "anonymous": node.bob["id"]}),
                       ("hckba", {"hide_credentials": True, "key_in_body": True,
                                  "anonymous": node.bob["id"]})):
        a.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
        r = a.post("/apis/%s/plugins" % name, json={"name": "key-auth", "config": conf})
        assert r.status_code == 201, r.text
    return node


def get(node, target, headers=()):
    return one_request(node.torii.proxy_port, "GET", target, headers=headers)


def post(node, target, body, ctype):
    return one_request(node.torii.proxy_port, "POST", target,
                       headers=[("Content-Type", ctype)], body=body)


def query_of(d):
    t = d["target"]
    return t.split("?", 1)[1] if "?" in t else None


# ---- key-auth, query string ----------------------------------------------------------------

SPELLINGS = ["apikey", "api%6bey", "api%6Bey", "%61pikey", "%61%70%69%6B%65%79", "ap%69key"]


@pytest.mark.parametrize("name", SPELLINGS)
def test_key_in_query_removed_whatever_its_spelling(keyed, name):
    d = seen(get(keyed, "/hck/x?a=1&%s=%s&b=%%41+c" % (name, ALICE_KEY)))
    assert hvals(d, "x-consumer-username") == ["alice"]
    assert d["target"] == "/hck/x?a=1&b=%41+c"
    assert ALICE_KEY not in json.dumps(d)


def test_key_in_query_only_argument(keyed):
    d = seen(get(keyed, "/hck/x?api%%6Bey=%s" % ALICE_KEY))
    assert d["target"] == "/hck/x"


@pytest.mark.parametrize("query", [
    "apikey={k}&api%6Bey={k}",
    "api%6bey={k}&%61pikey=other",
    "%61pikey={k}&x=1&apikey",
    "apikey={k}&apikey=",
])
def test_repeated_key_with_anonymous_never_reaches_upstream(keyed, query):
    """A repeated name is refused (Kong 3's duplicate rule); with anonymous set the request
    goes on as the anonymous consumer, and none of the copies may go with it."""
    r = get(keyed, "/hck/x?" + query.format(k=ALICE_KEY))
    assert r.status == 401 and r.json() == {"message": "Duplicate API key found"}
    d = seen(get(keyed, "/hcka/x?" + query.format(k=ALICE_KEY)))
    assert hvals(d, "x-consumer-username") == ["bob"]
    assert hvals(d, "x-anonymous-consumer") == ["true"]
    q = query_of(d) or ""
    assert "pikey" not in urllib.parse.unquote(q) and ALICE_KEY not in q, d["target"]
    if "x=1" in query:
        assert q == "x=1"


def test_other_arguments_keep_their_bytes(keyed):
    others = "q=%7e%7E+x&e=&flag&u=%C3%A9&p=a%2Bb&s=%zz&&t=%2"
    d = seen(get(keyed, "/hck/x?%s&api%%6Bey=%s&z=1" % (others, ALICE_KEY)))
    assert d["target"] == "/hck/x?" + others.replace("&&", "&") + "&z=1"


def test_plus_is_a_space_for_lookup_and_removal_alike(keyed):
    # "api+key" is "api key": not the key name, neither found nor removed
    r = get(keyed, "/hck/x?api+key=%s" % ALICE_KEY)
    assert r.status == 401
    d = seen(get(keyed, "/hck/x?api+key=1&apikey=%s" % ALICE_KEY))
    assert d["target"] == "/hck/x?api+key=1"
    # a '+' in the value is part of the value (decoded to a space) and goes with it
    d = seen(get(keyed, "/hckn/x?apikey=%s&v=a+b" % ALICE_KEY))
    assert d["target"] == "/hckn/x?apikey=%s&v=a+b" % ALICE_KEY


def test_without_hide_the_query_is_untouched(keyed):
    target = "/hckn/x?a=1&api%%6Bey=%s&b=2" % ALICE_KEY
    d = seen(get(keyed, target))
    assert d["target"] == target


def test_key_in_header_also_removes_every_query_copy(keyed):
    d = seen(get(keyed, "/hck/x?%%61pikey=%s&k=v" % ALICE_KEY, headers=[("apikey", ALICE_KEY)]))
    assert d["target"] == "/hck/x?k=v"
    assert hvals(d, "apikey") == []


# ---- key-auth, form and JSON bodies ------------------------------------------------------

@pytest.mark.parametrize("name", SPELLINGS)
def test_key_in_form_body_removed_whatever_its_spelling(keyed, name):
    body = "a=1&%s=%s&b=%%41+c" % (name, ALICE_KEY)
    d = seen(post(keyed, "/hckb/x", body.encode(), FORM))
    assert hvals(d, "x-consumer-username") == ["alice"]
    assert d["body"] == "a=1&b=%41+c"
    assert hvals(d, "content-length") == [str(len("a=1&b=%41+c"))]


def test_repeated_form_key_with_anonymous(keyed):
    body = "apikey=%s&x=1&api%%6Bey=%s" % (ALICE_KEY, ALICE_KEY)
    r = post(keyed, "/hckb/x", body.encode(), FORM)
    assert r.status == 401 and r.json() == {"message": "Duplicate API key found"}
    d = seen(post(keyed, "/hckba/x", body.encode(), FORM))
    assert hvals(d, "x-consumer-username") == ["bob"]
    assert d["body"] == "x=1"


@pytest.mark.parametrize("member", ['"apikey"', '"api\\u006bey"', '"\\u0061pikey"',
                                   '"api\\u006Bey"'])
def test_key_in_json_body_removed_whatever_its_spelling(keyed, member):
    body = '{"n": 1.0e2, "s": "\\u00e9 \\"q\\"",\n %s: "%s", "o": {"apikey": [1]}}' % (
        member, ALICE_KEY)
    d = seen(post(keyed, "/hckb/x", body.encode(), "application/json"))
    assert hvals(d, "x-consumer-username") == ["alice"]
    # every other byte as sent: the number, the escapes, the spacing, the nested "apikey"
    assert d["body"] == '{"n": 1.0e2, "s": "\\u00e9 \\"q\\"",\n "o": {"apikey": [1]}}'


@pytest.mark.parametrize("body", [
    '{"apikey": "%s", "x": 1}',
    '{"x": 1, "apikey": "%s"}',
    '{"apikey": "%s"}',
])
def test_json_body_positions(keyed, body):
    d = seen(post(keyed, "/hckb/x", (body % ALICE_KEY).encode(), "application/json"))
    want = json.loads(body % ALICE_KEY)
    del want["apikey"]
    assert json.loads(d["body"]) == want
    assert ALICE_KEY not in d["body"]


def test_repeated_json_key_is_a_duplicate_and_hidden(keyed):
    body = '{"apikey": "%s", "x": 1, "api\\u006bey": "%s"}' % (ALICE_KEY, ALICE_KEY)
    r = post(keyed, "/hckb/x", body.encode(), "application/json")
    assert r.status == 401 and r.json() == {"message": "Duplicate API key found"}
    d = seen(post(keyed, "/hckba/x", body.encode(), "application/json"))
    assert hvals(d, "x-consumer-username") == ["bob"]
    assert d["body"] == '{"x": 1}'



def test_json_body_without_the_key_is_untouched(keyed):
    body = b'{"apikeyx": "v", "n": 0.10}'
    r = post(keyed, "/hckb/x?apikey=" + ALICE_KEY, body, "application/json")
    d = seen(r)
    assert d["body"] == body.decode()
    assert d["target"] == "/hckb/x"


# ---- oauth2 access_token ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def bearer(node):
    api = oauth_api(node, enable_client_credentials=True, hide_credentials=True)
    api.tok = cc_token(node, api, node.web)["access_token"]
    return api


TOKEN_SPELLINGS = ["access_token", "access%5Ftoken", "access%5ftoken", "%61ccess_token",
                   "acc%65ss%5Ftok%65n"]


@pytest.mark.parametrize("name", TOKEN_SPELLINGS)
def test_access_token_in_query_removed_whatever_its_spelling(node, bearer, name):
    d = seen(get(node, "%s/x?a=1&%s=%s&b=%%2B" % (bearer.path, name, bearer.tok)))
    assert hvals(d, "x-consumer-username") == ["alice"]
    assert d["target"] == bearer.path + "/x?a=1&b=%2B"
    assert bearer.tok not in json.dumps(d)


def test_access_token_repeated_in_query(node, bearer):
    target = "%s/x?access_token=%s&k=v&access%%5Ftoken=%s" % (bearer.path, bearer.tok,
                                                              bearer.tok)
    d = seen(get(node, target))
    assert d["target"] == bearer.path + "/x?k=v"


def test_access_token_copies_removed_when_the_header_is_used(node, bearer):
    # the header authenticates; query and form copies of the same token go too
    d = seen(get(node, "%s/x?access%%5Ftoken=%s&k=v" % (bearer.path, bearer.tok),
                 headers=[("Authorization", "Bearer " + bearer.tok)]))
    assert d["target"] == bearer.path + "/x?k=v"
    assert hvals(d, "authorization") == []


@pytest.mark.parametrize("name", TOKEN_SPELLINGS)
def test_access_token_in_form_body_removed_whatever_its_spelling(node, bearer, name):
    body = "a=1&%s=%s&b=x+y" % (name, bearer.tok)
    d = seen(post(node, bearer.path + "/x", body.encode(), FORM))
    assert hvals(d, "x-consumer-username") == ["alice"]
    assert d["body"] == "a=1&b=x+y"


def test_empty_form_token_does_not_shield_a_second(node, bearer):
    body = "access_token=&k=v&access%%5Ftoken=%s" % bearer.tok
    r = one_request(node.torii.proxy_port, "POST", bearer.path + "/x",
                    headers=[("Content-Type", FORM),
                             ("Authorization", "Bearer " + bearer.tok)],
                    body=body.encode())
    d = seen(r)
    assert d["body"] == "k=v"


def test_raw_bytes_of_the_upstream_request(node, bearer):
    """The echo's raw log: no copy of the token, in any spelling, reached the upstream."""
    node.echo.reset()
    target = "%s/x?%%61ccess%%5Ftoken=%s" % (bearer.path, bearer.tok)
    seen(one_request(node.torii.proxy_port, "POST", target,
                     headers=[("Content-Type", FORM)],
                     body=("z=1&access%%5ftoken=%s" % bearer.tok).encode()))
    raw = node.echo.all_raw()
    assert bearer.tok.encode() not in raw
    assert b"z=1" in raw

# SPDX-License-Identifier: MIT
"""The key-auth, basic-auth and acl plugins end to end: success and every failure path,
hide_credentials (checked at the echo upstream), duplicate keys, anonymous, identity changes seen
by the next request, spoofed identity headers, global vs api instances, enabled=false,
credentials across a restart, ACL lists and X-Consumer-Groups
(catalogue H-01, H-03, H-04, H-13, H-14, J-01, C-01, C-06 as they apply to /apis)."""

import base64
import hashlib
import itertools
import sqlite3
import types

import pytest

from harness import Torii, finish_torii, hvals
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

UNAUTH_KEY = {"message": "No API key found in request"}
BAD_CREDS = {"message": "Invalid authentication credentials"}
NO_CONSUMER = {"message": "Cannot identify the consumer, add an authentication plugin to use "
                          "the ACL plugin"}
DENIED = {"message": "You cannot consume this service"}
ALICE_KEY = "alice-key-7f3a9c1e5b2d4086"
BOB_KEY = "bob-key-0c8e2f6a1d9b3e57"
ALICE_PW = "correct horse battery"

_seq = itertools.count()


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


def ok(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def add_plugin(admin, api, name, **config):
    path = "/apis/%s/plugins" % api if api else "/plugins"
    return ok(admin.post(path, json={"name": name, "config": config}), "add plugin " + name)


def get(port, target, headers=(), method="GET"):
    return one_request(port, method, target, host="svc.test", headers=headers)


def seen(r):
    """The echo's view of a proxied request."""
    assert r.status == 200, r
    return r.json()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """One node for the module: consumers alice (key, basic-auth, group gold), bob (key, no
    group), carol (basic-auth password with a colon), anon; echo upstream E."""
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("auth"))
    try:
        t.start()
        a = t.admin
        ns = types.SimpleNamespace(torii=t, admin=a, echo=echo, port=t.proxy_port)
        ns.alice = a.add_consumer(username="alice", custom_id="alice-cid")
        ns.bob = a.add_consumer(username="bob")
        ns.carol = a.add_consumer(username="carol")
        ns.anon = a.add_consumer(username="anon")
        ns.alice_key = ok(a.post("/consumers/alice/key-auth", data={"key": ALICE_KEY}))
        ns.bob_key = ok(a.post("/consumers/bob/key-auth", data={"key": BOB_KEY}))
        ns.alice_basic = ok(a.post("/consumers/alice/basic-auth",
                                   data={"username": "alice", "password": ALICE_PW}))
        ok(a.post("/consumers/carol/basic-auth", data={"username": "carol", "password": "pa:ss"}))
        ok(a.post("/consumers/alice/acls", data={"group": "gold"}))
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    yield ns
    problems = finish_torii(t)
    echo.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def new_api(node, *plugins):
    """A fresh api /pN on E with the given (name, config) plugins; returns its path."""
    n = next(_seq)
    name = "auth%d" % n
    node.admin.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
    for pname, conf in plugins:
        add_plugin(node.admin, name, pname, **conf)
    return "/" + name


# ---- key-auth --------------------------------------------------------------------------------

def test_h01_key_auth_failures(node):
    p = new_api(node, ("key-auth", {}))
    for headers, target, body in (((), p, UNAUTH_KEY),
                                  ((("apikey", ""),), p, UNAUTH_KEY),
                                  ((), p + "?apikey=", UNAUTH_KEY),
                                  ((("apikey", "wrong"),), p, BAD_CREDS),
                                  ((), p + "?apikey=wrong", BAD_CREDS),
                                  ((("apikey", ALICE_KEY + "x"),), p, BAD_CREDS),
                                  ((("apikey", ALICE_KEY.upper()),), p, BAD_CREDS)):
        r = get(node.port, target, headers)
        assert r.status == 401, (headers, target, r)
        assert r.json() == body
        assert r.header("www-authenticate") == 'Key realm="torii"'


def test_key_auth_success_header_and_query(node):
    p = new_api(node, ("key-auth", {}))
    for headers, target in (((("apikey", ALICE_KEY),), p + "/x"),
                            ((("ApiKey", ALICE_KEY),), p + "/x"),
                            ((), p + "/x?apikey=" + ALICE_KEY)):
        d = seen(get(node.port, target, headers))
        assert hvals(d, "x-consumer-id") == [node.alice["id"]]
        assert hvals(d, "x-consumer-username") == ["alice"]
        assert hvals(d, "x-consumer-custom-id") == ["alice-cid"]
        assert hvals(d, "x-credential-identifier") == [node.alice_key["id"]]
        assert hvals(d, "x-anonymous-consumer") == []
        # without hide_credentials the key goes upstream as sent
        assert ALICE_KEY in d["target"] or hvals(d, "apikey") == [ALICE_KEY]
    d = seen(get(node.port, p + "?apikey=" + BOB_KEY))
    assert hvals(d, "x-consumer-username") == ["bob"]
    assert hvals(d, "x-consumer-custom-id") == []


def test_key_auth_hide_credentials(node):
    p = new_api(node, ("key-auth", {"hide_credentials": True}))
    d = seen(get(node.port, p + "/x?a=1", (("apikey", ALICE_KEY), ("X-Other", "kept"))))
    assert hvals(d, "apikey") == []
    assert hvals(d, "x-other") == ["kept"]
    assert ALICE_KEY not in str(d)
    d = seen(get(node.port, p + "/x?a=1&apikey=" + ALICE_KEY + "&b=2"))
    assert ALICE_KEY not in d["target"]
    assert d["target"].startswith(p + "/x?") and "a=1" in d["target"] and "b=2" in d["target"]
    assert hvals(d, "x-consumer-username") == ["alice"]


def test_key_auth_key_names_and_places(node):
    p = new_api(node, ("key-auth", {"key_names": ["x-api-key", "token"],
                                    "key_in_query": False}))
    assert get(node.port, p, (("apikey", ALICE_KEY),)).status == 401
    assert seen(get(node.port, p, (("X-API-Key", ALICE_KEY),)))
    assert seen(get(node.port, p, (("token", BOB_KEY),)))
    r = get(node.port, p + "?token=" + ALICE_KEY)
    assert r.status == 401 and r.json() == UNAUTH_KEY
    q = new_api(node, ("key-auth", {"key_in_header": False}))
    assert get(node.port, q, (("apikey", ALICE_KEY),)).status == 401
    assert seen(get(node.port, q + "?apikey=" + ALICE_KEY))
    # the first name that is present decides
    r = get(node.port, p, (("x-api-key", "wrong"), ("token", ALICE_KEY)))
    assert r.status == 401 and r.json() == BAD_CREDS


def test_key_auth_duplicate_key(node):
    """Kong 3: a key name sent more than once where it is looked for is 401 "Duplicate API key
    found" (no WWW-Authenticate), whether the values differ or not; the upstream is not
    reached."""
    p = new_api(node, ("key-auth", {}))
    for headers, target in (((("apikey", ALICE_KEY), ("apikey", BOB_KEY)), p),
                            ((("apikey", ALICE_KEY), ("ApiKey", ALICE_KEY)), p),
                            ((("apikey", ALICE_KEY), ("apikey", "")), p),
                            ((), p + "?apikey=%s&apikey=%s" % (ALICE_KEY, BOB_KEY)),
                            ((), p + "?apikey=%s&apikey=%s" % (ALICE_KEY, ALICE_KEY)),
                            ((), p + "?apikey=%s&apikey" % ALICE_KEY),
                            ((), p + "?api%%6Bey=x&apikey=%s" % ALICE_KEY),
                            # an empty second occurrence counts too
                            ((("X-Other", "1"),), p + "?a=1&apikey=%s&b=2&apikey=" % ALICE_KEY)):
        r = get(node.port, target, headers)
        assert r.status == 401, (headers, target, r)
        assert r.json() == {"message": "Duplicate API key found"}, (headers, target)
        assert r.header("www-authenticate") is None
    # one header wins over a repeated query argument (the header is looked at first), and a
    # repeated name that is not looked at does not matter
    d = seen(get(node.port, p + "?apikey=x&apikey=y", (("apikey", ALICE_KEY),)))
    assert hvals(d, "x-consumer-username") == ["alice"]
    q = new_api(node, ("key-auth", {"key_in_header": False}))
    d = seen(get(node.port, q + "?apikey=" + BOB_KEY, (("apikey", "a"), ("apikey", "b"))))
    assert hvals(d, "x-consumer-username") == ["bob"]
    # a second key name repeated after a first one that is present once: the first decides
    m = new_api(node, ("key-auth", {"key_names": ["k1", "k2"]}))
    d = seen(get(node.port, m, (("k1", BOB_KEY), ("k2", "a"), ("k2", "b"))))
    assert hvals(d, "x-consumer-username") == ["bob"]
    r = get(node.port, m, (("k1", BOB_KEY), ("k1", BOB_KEY)))
    assert r.status == 401 and r.json() == {"message": "Duplicate API key found"}
    # with anonymous, a duplicate is one more failed authentication
    a = new_api(node, ("key-auth", {"anonymous": node.anon["id"]}))
    d = seen(get(node.port, a, (("apikey", ALICE_KEY), ("apikey", BOB_KEY))))
    assert hvals(d, "x-consumer-id") == [node.anon["id"]]
    assert hvals(d, "x-anonymous-consumer") == ["true"]


def test_identity_changes_apply_to_the_next_request(node):
    """Consumer and credential writes patch the snapshot's identity part: each one is seen by
    the very next request, and the parts they do not touch stay as they were."""
    a = node.admin
    p = new_api(node, ("key-auth", {}), ("acl", {"allow": ["g1"]}))
    n = next(_seq)
    c = a.add_consumer(username="dave%d" % n, custom_id="dave-cid%d" % n)
    key1 = "dave-key-1-%d" % n
    k = ok(a.post("/consumers/%s/key-auth" % c["id"], data={"key": key1}))
    r = get(node.port, p, (("apikey", key1),))
    assert r.status == 403 and r.json() == DENIED  # not in g1 yet
    ok(a.post("/consumers/%s/acls" % c["id"], data={"group": "g1"}))
    d = seen(get(node.port, p, (("apikey", key1),)))
    assert hvals(d, "x-consumer-username") == ["dave%d" % n]
    assert hvals(d, "x-consumer-groups") == ["g1"]
    # a renamed consumer: its key and its groups follow it
    r = a.patch("/consumers/" + c["id"], data={"username": "david%d" % n})
    assert r.status_code == 200, r.text
    d = seen(get(node.port, p, (("apikey", key1),)))
    assert hvals(d, "x-consumer-username") == ["david%d" % n]
    assert hvals(d, "x-consumer-id") == [c["id"]]
    assert hvals(d, "x-consumer-groups") == ["g1"]
    # the key changed in place: the old value no longer works, the new one does
    key2 = "dave-key-2-%d" % n
    r = a.patch("/consumers/%s/key-auth/%s" % (c["id"], k["id"]), data={"key": key2})
    assert r.status_code == 200, r.text
    assert get(node.port, p, (("apikey", key1),)).json() == BAD_CREDS
    d = seen(get(node.port, p, (("apikey", key2),)))
    assert hvals(d, "x-credential-identifier") == [k["id"]]
    # others are untouched throughout
    assert get(node.port, p, (("apikey", ALICE_KEY),)).status == 403
    # the consumer deleted: its key goes with it
    assert a.delete("/consumers/" + c["id"]).status_code == 204
    assert get(node.port, p, (("apikey", key2),)).json() == BAD_CREDS
    r = a.post("/consumers/", data={"username": "david%d" % n})
    assert r.status_code == 201, r.text
    assert get(node.port, p, (("apikey", key2),)).json() == BAD_CREDS


def test_key_auth_preflight(node):
    p = new_api(node, ("key-auth", {}))
    assert get(node.port, p, method="OPTIONS").status == 401
    q = new_api(node, ("key-auth", {"run_on_preflight": False}))
    assert get(node.port, q, method="OPTIONS").status == 200
    assert get(node.port, q).status == 401


def test_key_auth_config_errors(node):
    api = new_api(node).lstrip("/")
    for config in ({"key_names": ["api key"]}, {"key_names": []},
                   {"key_names": ["a:b"]}, {"hide_credentials": "maybe"}, {"nope": True}):
        r = node.admin.post("/apis/%s/plugins" % api, json={"name": "key-auth",
                                                             "config": config})
        assert r.status_code == 400, (config, r.text)
        assert any(k.startswith("config.") for k in r.json()), r.text


def test_key_credentials_admin(node):
    c = node.admin.add_consumer(username="kc%d" % next(_seq))
    gen = ok(node.admin.post("/consumers/%s/key-auth" % c["username"]))
    assert len(gen["key"]) == 32 and all(ch in "0123456789abcdef" for ch in gen["key"])
    gen2 = ok(node.admin.post("/consumers/%s/keyauth" % c["username"]))
    assert gen2["key"] != gen["key"]
    dup = node.admin.post("/consumers/%s/key-auth" % c["username"], data={"key": gen["key"]})
    assert dup.status_code == 409, dup.text
    p = new_api(node, ("key-auth", {}))
    # usable by the very next request, unusable right after its deletion
    d = seen(get(node.port, p, (("apikey", gen["key"]),)))
    assert hvals(d, "x-credential-identifier") == [gen["id"]]
    r = node.admin.delete("/consumers/%s/key-auth/%s" % (c["username"], gen["id"]))
    assert r.status_code == 204, r.text
    assert get(node.port, p, (("apikey", gen["key"]),)).status == 401
    # deleting the consumer takes its keys along
    assert seen(get(node.port, p, (("apikey", gen2["key"]),)))
    assert node.admin.delete("/consumers/" + c["id"]).status_code == 204
    assert get(node.port, p, (("apikey", gen2["key"]),)).status == 401


# ---- anonymous and identity headers ------------------------------------------------------------

def test_h13_anonymous(node):
    p = new_api(node, ("key-auth", {"anonymous": node.anon["id"]}))
    for headers in ((), (("apikey", "wrong"),)):
        d = seen(get(node.port, p, headers))
        assert hvals(d, "x-anonymous-consumer") == ["true"]
        assert hvals(d, "x-consumer-id") == [node.anon["id"]]
        assert hvals(d, "x-credential-identifier") == []
    d = seen(get(node.port, p, (("apikey", ALICE_KEY),)))
    assert hvals(d, "x-anonymous-consumer") == []
    assert hvals(d, "x-consumer-id") == [node.alice["id"]]
    # by username, as modern Kong
    q = new_api(node, ("key-auth", {"anonymous": "anon"}))
    assert hvals(seen(get(node.port, q)), "x-consumer-username") == ["anon"]
    # a consumer that does not exist: 500 JSON, never the upstream
    ghost = node.admin.add_consumer(username="ghost%d" % next(_seq))
    g = new_api(node, ("key-auth", {"anonymous": ghost["id"]}))
    assert seen(get(node.port, g))
    assert node.admin.delete("/consumers/" + ghost["id"]).status_code == 204
    r = get(node.port, g)
    assert r.status == 500, r
    assert "message" in r.json() and ghost["id"] not in r.body.decode()
    assert seen(get(node.port, g, (("apikey", ALICE_KEY),)))


def test_spoofed_identity_headers_replaced(node):
    spoof = (("X-Consumer-ID", node.bob["id"]), ("X-Consumer-Username", "bob"),
             ("X-Consumer-Custom-ID", "bob-cid"), ("X-Credential-Identifier", "x"),
             ("X-Anonymous-Consumer", "true"), ("X_Consumer_Username", "bob"),
             ("X-Consumer-Groups", "gold"), ("X-Credential-Username", "bob"))
    p = new_api(node, ("key-auth", {}))
    d = seen(get(node.port, p, spoof + (("apikey", ALICE_KEY),)))
    assert hvals(d, "x-consumer-id") == [node.alice["id"]]
    assert hvals(d, "x-consumer-username") == ["alice"]
    assert hvals(d, "x-consumer-custom-id") == ["alice-cid"]
    assert hvals(d, "x-anonymous-consumer") == []
    assert hvals(d, "x-consumer-groups") == []
    assert hvals(d, "x-credential-username") == []
    assert "bob" not in str(d["headers"])
    # spoofing alone never authenticates
    assert get(node.port, p, spoof).status == 401
    q = new_api(node, ("key-auth", {"anonymous": "anon"}))
    d = seen(get(node.port, q, spoof))
    assert hvals(d, "x-consumer-username") == ["anon"]
    assert hvals(d, "x-consumer-custom-id") == []


# ---- basic-auth ---------------------------------------------------------------------------------

def test_h03_basic_auth_parsing(node):
    p = new_api(node, ("basic-auth", {}))
    r = get(node.port, p)
    assert r.status == 401 and r.json() == {"message": "Unauthorized"}
    assert r.header("www-authenticate") == 'Basic realm="torii"'
    bodies = []
    for value in ("Basic !!!notbase64", "Basic " + base64.b64encode(b"alice").decode(),
                  "Bearer abc", "Basic", basic("alice", "x" * 6000), basic("nobody", ALICE_PW),
                  basic("alice", "wrong"), basic("alice", ALICE_PW + " "),
                  basic("ALICE", ALICE_PW)):
        r = get(node.port, p, (("Authorization", value),))
        assert r.status == 401, (value[:40], r)  # the 6000-byte one fits max_header_line
        assert r.header("www-authenticate") == 'Basic realm="torii"'
        bodies.append(r.body)
    # unknown user and wrong password answer alike
    assert bodies[-4] == bodies[-3] == bodies[-1] == b'{"message":"Invalid authentication credentials"}'
    for value, who in ((basic("alice", ALICE_PW), "alice"),
                       ("basic " + basic("alice", ALICE_PW)[6:], "alice"),
                       (basic("carol", "pa:ss"), "carol")):
        d = seen(get(node.port, p, (("Authorization", value),)))
        assert hvals(d, "x-consumer-username") == [who]
        assert hvals(d, "authorization") == [value]  # not hidden by default
    d = seen(get(node.port, p, (("Authorization", basic("alice", ALICE_PW)),)))
    assert hvals(d, "x-consumer-id") == [node.alice["id"]]
    assert hvals(d, "x-credential-identifier") == [node.alice_basic["id"]]
    assert hvals(d, "x-credential-username") == ["alice"]
    # Proxy-Authorization works too, and goes upstream unless hide_credentials
    d = seen(get(node.port, p, (("Proxy-Authorization", basic("carol", "pa:ss")),)))
    assert hvals(d, "x-consumer-username") == ["carol"]
    assert hvals(d, "x-credential-username") == ["carol"]
    assert hvals(d, "proxy-authorization") == [basic("carol", "pa:ss")]


def test_basic_auth_hide_credentials_and_cache(node):
    p = new_api(node, ("basic-auth", {"hide_credentials": True}))
    for _ in range(5):  # the later ones come from the worker cache
        d = seen(get(node.port, p, (("Authorization", basic("alice", ALICE_PW)),
                                    ("Proxy-Authorization", "Other x"))))
        assert hvals(d, "authorization") == []
        assert hvals(d, "proxy-authorization") == []
        assert hvals(d, "x-consumer-username") == ["alice"]
    # a successful verification never makes a wrong password pass
    r = get(node.port, p, (("Authorization", basic("alice", "nope")),))
    assert r.status == 401


def test_basic_auth_password_change_and_delete(node):
    user = "dave%d" % next(_seq)
    c = node.admin.add_consumer(username=user)
    cred = ok(node.admin.post("/consumers/%s/basic-auth" % user,
                              data={"username": user, "password": "first"}))
    p = new_api(node, ("basic-auth", {}))
    for _ in range(3):
        assert seen(get(node.port, p, (("Authorization", basic(user, "first")),)))
    r = node.admin.patch("/consumers/%s/basic-auth/%s" % (user, cred["id"]),
                         data={"password": "second"})
    assert r.status_code == 200, r.text
    assert "password" not in r.json()
    assert get(node.port, p, (("Authorization", basic(user, "first")),)).status == 401
    assert seen(get(node.port, p, (("Authorization", basic(user, "second")),)))
    # a PATCH that does not touch the password keeps it
    r = node.admin.patch("/consumers/%s/basic-auth/%s" % (user, cred["id"]),
                         data={"username": user + "x"})
    assert r.status_code == 200, r.text
    assert seen(get(node.port, p, (("Authorization", basic(user + "x", "second")),)))
    assert node.admin.delete("/consumers/" + c["id"]).status_code == 204
    assert get(node.port, p, (("Authorization", basic(user + "x", "second")),)).status == 401


@pytest.mark.sqlite_file
def test_h04_passwords_stored_hashed(node):
    users = []
    for _ in range(2):
        u = "hash%d" % next(_seq)
        c = node.admin.add_consumer(username=u)
        cred = ok(node.admin.post("/consumers/%s/basic-auth" % u,
                                  data={"username": u, "password": ALICE_PW}))
        assert "password" not in cred
        got = ok(node.admin.get("/consumers/%s/basic-auth/%s" % (u, cred["id"])))
        assert "password" not in got
        listed = ok(node.admin.get("/consumers/%s/basic-auth" % u))
        assert ALICE_PW not in str(listed) and "argon2" not in str(listed)
        users.append((c, cred))
    db = sqlite3.connect(str(node.torii.db_path))
    try:
        rows = dict(db.execute("SELECT id, json_extract(doc, '$.password') "
                               "FROM basicauth_credentials").fetchall())
    finally:
        db.close()
    stored = [rows[cred["id"]] for _, cred in users]
    assert stored[0] != stored[1]
    for (c, _), s in zip(users, stored):
        assert s.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), s
        assert ALICE_PW not in s
        assert hashlib.sha1((ALICE_PW + c["id"]).encode()).hexdigest() not in s
        assert hashlib.sha256(ALICE_PW.encode()).hexdigest() not in s


def test_basic_credentials_admin_errors(node):
    u = "err%d" % next(_seq)
    node.admin.add_consumer(username=u)
    r = node.admin.post("/consumers/%s/basic-auth" % u, data={"password": "x"})
    assert r.status_code == 400 and "username" in r.json(), r.text
    r = node.admin.post("/consumers/%s/basic-auth" % u, data={"username": "alice",
                                                              "password": "x"})
    assert r.status_code == 409, r.text


# ---- several auth plugins -------------------------------------------------------------------

def test_h14_and_without_anonymous_or_with_it(node):
    both = new_api(node, ("key-auth", {}), ("basic-auth", {}))
    key = (("apikey", ALICE_KEY),)
    bas = (("Authorization", basic("alice", ALICE_PW)),)
    assert get(node.port, both, key).status == 401
    assert get(node.port, both, bas).status == 401
    assert seen(get(node.port, both, key + bas))
    anyof = new_api(node, ("key-auth", {"anonymous": "anon"}),
                    ("basic-auth", {"anonymous": "anon"}))
    d = seen(get(node.port, anyof, (("apikey", BOB_KEY),)))
    assert hvals(d, "x-consumer-username") == ["bob"]
    assert hvals(d, "x-anonymous-consumer") == []
    d = seen(get(node.port, anyof, bas))
    assert hvals(d, "x-consumer-username") == ["alice"]
    d = seen(get(node.port, anyof))
    assert hvals(d, "x-consumer-username") == ["anon"]
    assert hvals(d, "x-anonymous-consumer") == ["true"]


# ---- acl ------------------------------------------------------------------------------------

def test_j01_acl(node):
    lone = new_api(node, ("acl", {"allow": ["gold"]}))
    r = get(node.port, lone)
    assert r.status == 403 and r.json() == NO_CONSUMER
    for lists in ({"allow": ["gold"]}, {"whitelist": ["gold"]}):
        p = new_api(node, ("key-auth", {}), ("acl", lists))
        d = seen(get(node.port, p, (("apikey", ALICE_KEY),)))
        assert hvals(d, "x-consumer-groups") == ["gold"]
        r = get(node.port, p, (("apikey", BOB_KEY),))
        assert r.status == 403 and r.json() == DENIED
        assert get(node.port, p).status == 401  # key-auth answers first
    for lists in ({"deny": ["gold"]}, {"blacklist": ["gold"]}):
        p = new_api(node, ("key-auth", {}), ("acl", lists))
        r = get(node.port, p, (("apikey", ALICE_KEY),))
        assert r.status == 403 and r.json() == DENIED
        d = seen(get(node.port, p, (("apikey", BOB_KEY), ("X-Consumer-Groups", "gold"))))
        assert hvals(d, "x-consumer-groups") == []


def test_acl_several_groups_and_hiding(node):
    u = "grp%d" % next(_seq)
    node.admin.add_consumer(username=u)
    key = ok(node.admin.post("/consumers/%s/key-auth" % u))["key"]
    for g in ("gold", "silver"):
        ok(node.admin.post("/consumers/%s/acls" % u, data={"group": g}))
    dup = node.admin.post("/consumers/%s/acls" % u, data={"group": "gold"})
    assert dup.status_code == 409, dup.text
    p = new_api(node, ("key-auth", {}), ("acl", {"deny": ["silver"]}))
    assert get(node.port, p, (("apikey", key),)).status == 403
    q = new_api(node, ("key-auth", {}), ("acl", {"allow": ["bronze", "silver"]}))
    d = seen(get(node.port, q, (("apikey", key),)))
    assert sorted(hvals(d, "x-consumer-groups")[0].split(", ")) == ["gold", "silver"]
    h = new_api(node, ("key-auth", {}), ("acl", {"allow": ["gold"],
                                                 "hide_groups_header": True}))
    d = seen(get(node.port, h, (("apikey", key), ("X-Consumer-Groups", "spoof"))))
    assert hvals(d, "x-consumer-groups") == []
    # a group removed through the admin API stops counting at once
    groups = ok(node.admin.get("/consumers/%s/acls" % u))["data"]
    silver = [g for g in groups if g["group"] == "silver"][0]
    assert node.admin.delete("/consumers/%s/acls/%s" % (u, silver["id"])).status_code == 204
    assert seen(get(node.port, p, (("apikey", key),)))
    assert get(node.port, q, (("apikey", key),)).status == 403


def test_acl_with_anonymous_consumer(node):
    p = new_api(node, ("key-auth", {"anonymous": "anon"}), ("acl", {"allow": ["gold"]}))
    r = get(node.port, p)
    assert r.status == 403 and r.json() == DENIED
    assert seen(get(node.port, p, (("apikey", ALICE_KEY),)))


def test_acl_config_errors(node):
    api = new_api(node).lstrip("/")
    for config in ({}, {"allow": []}, {"allow": ["a"], "deny": ["b"]},
                   {"whitelist": ["a"], "blacklist": ["b"]}, {"whitelist": ["a"],
                                                              "allow": ["a"]}):
        r = node.admin.post("/apis/%s/plugins" % api, json={"name": "acl", "config": config})
        assert r.status_code == 400, (config, r.text)


# ---- catalogue C: paths cannot skip the auth of another api -----------------------------------

def test_c01_c06_paths_do_not_skip_key_auth(node):
    pub = new_api(node)
    priv = new_api(node, ("key-auth", {}))
    for target in (pub + "/.." + priv + "/secret", "/" + priv + "/secret",
                   priv + "//secret", pub + "//..//" + priv + "/secret"):
        # Every spelling normalises to the private api's path (P5): key-auth runs on it.
        r = get(node.port, target)
        assert r.status == 401, (target, r)
        r = get(node.port, target, (("apikey", ALICE_KEY),))
        assert r.status == 200 and r.json()["target"] == priv + "/secret", (target, r)


# ---- instances: global vs api, enabled=false, consumer scope refused, restart -----------------

def test_global_and_api_instances(torii, echo):
    a = torii.admin
    for n in ("one", "two"):
        a.add_api(name=n, upstream_url=echo.url, request_path="/" + n)
    alice = a.add_consumer(username="alice")
    ok(a.post("/consumers/alice/key-auth", data={"key": "k-alice"}))
    glob = add_plugin(a, None, "key-auth", key_names=["global-key"])
    own = add_plugin(a, "two", "key-auth", key_names=["own-key"])
    port = torii.proxy_port
    # /one has only the global instance
    assert get(port, "/one").status == 401
    assert seen(get(port, "/one", (("global-key", "k-alice"),)))
    assert get(port, "/one", (("own-key", "k-alice"),)).status == 401
    # /two: its own instance wins over the global one
    assert seen(get(port, "/two", (("own-key", "k-alice"),)))
    assert get(port, "/two", (("global-key", "k-alice"),)).status == 401
    # enabled=false on the api's own instance: the global one applies again
    r = a.patch("/apis/two/plugins/" + own["id"], json={"enabled": False})
    assert r.status_code == 200, r.text
    assert seen(get(port, "/two", (("global-key", "k-alice"),)))
    # and with the global one disabled as well, nothing is asked
    r = a.patch("/plugins/" + glob["id"], json={"enabled": False})
    assert r.status_code == 200, r.text
    d = seen(get(port, "/two"))
    assert hvals(d, "x-consumer-id") == []
    # auth plugins and acl cannot be scoped to a consumer
    for name, conf in (("key-auth", {}), ("basic-auth", {}), ("acl", {"allow": ["g"]})):
        r = a.post("/apis/one/plugins", json={"name": name, "consumer_id": alice["id"],
                                              "config": conf})
        assert r.status_code == 400, (name, r.text)


def test_credentials_survive_restart(torii, echo):
    a = torii.admin
    a.add_api(name="r", upstream_url=echo.url, request_path="/r")
    a.add_consumer(username="alice")
    ok(a.post("/consumers/alice/key-auth", data={"key": ALICE_KEY}))
    ok(a.post("/consumers/alice/basic-auth", data={"username": "alice", "password": ALICE_PW}))
    ok(a.post("/consumers/alice/acls", data={"group": "gold"}))
    add_plugin(a, "r", "key-auth", anonymous="")
    add_plugin(a, "r", "acl", allow=["gold"])
    s = a.add_api(name="s", upstream_url=echo.url, request_path="/s")
    add_plugin(a, "s", "basic-auth")
    torii.restart()
    d = seen(get(torii.proxy_port, "/r", (("apikey", ALICE_KEY),)))
    assert hvals(d, "x-consumer-username") == ["alice"]
    assert hvals(d, "x-consumer-groups") == ["gold"]
    assert get(torii.proxy_port, "/r").status == 401
    d = seen(get(torii.proxy_port, "/s", (("Authorization", basic("alice", ALICE_PW)),)))
    assert hvals(d, "x-consumer-username") == ["alice"]
    assert get(torii.proxy_port, "/s", (("Authorization", basic("alice", "x")),)).status == 401
    # The api itself came back as it was written.
    assert torii.admin.get("/apis/s").json()["id"] == s["id"]

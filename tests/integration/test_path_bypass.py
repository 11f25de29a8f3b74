# SPDX-License-Identifier: MIT
"""Path tricks against prefix routes: dot segments (plain and percent-encoded), encoded slashes,
double encoding, repeated slashes and `/./` must not reach a protected prefix without
credentials, and the exact path that goes upstream is asserted for every variant (docs:
architecture.md, "What goes upstream").

Layout: /go is an open api on upstream O; /admin (key-auth) and /team (key-auth + acl, group
gold) are on upstream P. alice has a key and the group gold, bob has a key and no group."""

import time

import pytest

from harness import Torii, finish_torii
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

ALICE = "alice-key-0a1b2c"
BOB = "bob-key-3d4e5f"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    o = UpstreamServer(echo_behaviour(), "O")
    p = UpstreamServer(echo_behaviour(), "P")
    t = Torii(tmp_path_factory.mktemp("bypass"))
    try:
        t.start()
        a = t.admin
        a.add_api(name="go", upstream_url=o.url, request_path="/go")
        a.add_api(name="strip", upstream_url=o.url + "/base", request_path="/s",
                  strip_request_path=True)
        a.add_api(name="adm", upstream_url=p.url, request_path="/admin")
        a.add_api(name="team", upstream_url=p.url, request_path="/team")
        for api, name, fields in (("adm", "key-auth", {}), ("team", "key-auth", {}),
                                  ("team", "acl", {"config.whitelist": "gold"})):
            r = a.post("/apis/%s/plugins" % api, data=dict(name=name, **fields))
            assert r.status_code == 201, r.text
        for user, key, group in (("alice", ALICE, "gold"), ("bob", BOB, None)):
            a.add_consumer(username=user)
            assert a.post("/consumers/%s/key-auth" % user, data={"key": key}).status_code == 201
            if group:
                r = a.post("/consumers/%s/acls" % user, data={"group": group})
                assert r.status_code == 201, r.text
    except Exception:
        finish_torii(t)
        o.stop()
        p.stop()
        raise
    yield t, o, p
    problems = finish_torii(t)
    o.stop()
    p.stop()
    assert not problems, "\n".join(problems)


def send(node, target, key=None):
    """One request on a fresh connection; returns (status, targets seen by O, by P)."""
    t, o, p = node
    o.reset()
    p.reset()
    r = one_request(t.proxy_port, "GET", target, headers=[("apikey", key)] if key else [])
    # Let a request that went upstream be recorded before looking.
    time.sleep(0.05)
    return r.status, o.targets(), p.targets()


# Variants that normalize into the protected prefix: 401 without a key, P never reached;
# with alice's key P gets exactly the normalized path.
TO_ADMIN = [
    ("/go/../admin/x", "/admin/x"),
    ("/go/%2e%2e/admin/x", "/admin/x"),
    ("/go/%2E%2E/admin/x", "/admin/x"),
    ("/go/.%2e/admin/x", "/admin/x"),
    ("/go/../../admin/x", "/admin/x"),
    ("//admin/x", "/admin/x"),
    ("//admin//x", "/admin/x"),
    ("/./admin/x", "/admin/x"),
    ("/go/./../admin", "/admin"),
    ("/go/%2e/%2e%2e/admin/x", "/admin/x"),
    ("/%61dmin/x", "/admin/x"),
]


@pytest.mark.parametrize("target,upstream", TO_ADMIN)
def test_dot_and_slash_variants_reach_key_auth(node, target, upstream):
    status, o, p = send(node, target)
    assert status == 401, (target, status)
    assert o == [] and p == [], (target, o, p)
    status, o, p = send(node, target, ALICE)
    assert status == 200, (target, status)
    assert o == [] and p == [upstream], (target, o, p)


@pytest.mark.parametrize("target,upstream", [
    ("/go/../team/x", "/team/x"),
    ("/go/%2e%2e/team/x", "/team/x"),
    ("//team/./x", "/team/x"),
])
def test_dot_variants_reach_acl(node, target, upstream):
    status, o, p = send(node, target)
    assert status == 401 and o == [] and p == [], (target, status, o, p)
    status, o, p = send(node, target, BOB)
    assert status == 403 and o == [] and p == [], (target, status, o, p)
    status, o, p = send(node, target, ALICE)
    assert status == 200 and o == [] and p == [upstream], (target, status, o, p)


# Encoded separators and double encoding stay data: they never act as '/' or '..', so the
# request stays on the open api and O gets the path with the escapes (upper-case hex, %2e..
# decoded as unreserved, %25 kept) exactly.
@pytest.mark.parametrize("target,upstream", [
    ("/go/..%2Fadmin/x", "/go/..%2Fadmin/x"),
    ("/go/..%2fadmin/x", "/go/..%2Fadmin/x"),
    ("/go/%2e%2e%2fadmin/x", "/go/..%2Fadmin/x"),
    ("/go/%252e%252e/admin/x", "/go/%252e%252e/admin/x"),
    ("/go/%252e%252e%252fadmin/x", "/go/%252e%252e%252fadmin/x"),
    ("/go/%25252e/x", "/go/%25252e/x"),
    ("/go/%5C..%5Cadmin", "/go/%5C..%5Cadmin"),
    ("/admin/../go/x", "/go/x"),
    ("/go/x?a=/../admin&b=%2e%2e", "/go/x?a=/../admin&b=%2e%2e"),
    ("/s/../s/x", "/base/x"),
    ("/s/%2e%2e/s//x/./y", "/base/x/y"),
])
def test_encoded_separators_stay_on_the_open_api(node, target, upstream):
    for key in (None, ALICE):
        status, o, p = send(node, target, key)
        assert status == 200, (target, status)
        assert o == [upstream] and p == [], (target, o, p)


# An encoded slash does not make a segment boundary, so these match no prefix at all.
@pytest.mark.parametrize("target", ["/go%2F..%2Fadmin/x", "/admin%2Fx", "/admin%2fx",
                                    "/go/..", "/go/%2e%2e", "/admin;/x", "/Admin/x"])
def test_no_route(node, target):
    for key in (None, ALICE):
        status, o, p = send(node, target, key)
        assert status == 404, (target, status)
        assert o == [] and p == [], (target, o, p)


# Malformed escapes, NUL, a backslash and a dot segment with a parameter are refused outright.
@pytest.mark.parametrize("target", ["/go/..;/admin/x", "/go/.;x/../admin", "/go/%/admin",
                                    "/go/%2/admin", "/go/%zz", "/admin%00/x", "/go\\..\\admin",
                                    "/go/%2e%2e;/admin"])
def test_refused(node, target):
    for key in (None, ALICE):
        status, o, p = send(node, target, key)
        assert status == 400, (target, status)
        assert o == [] and p == [], (target, o, p)

# SPDX-License-Identifier: MIT
"""Kong 0.7 routing: the walkthrough's apis, the strip table, host matching (exact, wildcard,
port in Host), longest request_path on a segment boundary, OR semantics, the 404 body,
preserve_host, the upstream_url path, and admin changes visible to the very next request."""

import pytest

from harness import hvals
from rawhttp import RawConn, one_request


def call(t, target, host="svc.test", method="GET", headers=()):
    return one_request(t.proxy_port, method, target, host=host, headers=headers)


def echoed(t, target, host="svc.test"):
    r = call(t, target, host)
    assert r.status == 200, (target, host, r)
    return r.json()


def not_found(t, target, host="svc.test"):
    r = call(t, target, host)
    assert r.status == 404, (target, host, r)
    return r


def test_walkthrough_go_api(torii, admin, echo):
    admin.add_api(name="go-api", upstream_url=echo.url, request_path="/go")
    assert echoed(torii, "/go")["target"] == "/go"
    assert echoed(torii, "/go/users")["target"] == "/go/users"
    admin.patch_api("go-api", strip_request_path=True)
    assert echoed(torii, "/go")["target"] == "/"
    assert echoed(torii, "/go/users")["target"] == "/users"


def test_walkthrough_trap1_404_body(torii, admin, echo):
    admin.add_api(name="go-api", upstream_url=echo.url, request_path="/go")
    r = not_found(torii, "/oauth2/token", host="localhost:%d" % torii.proxy_port)
    assert r.json() == {"request_path": "/oauth2/token",
                        "message": "API not found with these values",
                        "request_host": ["localhost"]}
    assert r.header("Content-Type").startswith("application/json")
    assert (r.header("Server") or "").startswith("torii/"), r.headers
    assert echo.raw_total == 0


def test_404_body_without_query(torii, admin, echo):
    r = not_found(torii, "/nothing/here?a=1", host="svc.test")
    assert r.json() == {"request_path": "/nothing/here",
                        "message": "API not found with these values",
                        "request_host": ["svc.test"]}


def test_fix_a_or_semantics(torii, admin, echo):
    """With request_host added, go-api answers by host (path untouched: strip only applies
    to path matches) and still by path from any host."""
    admin.add_api(name="go-api", upstream_url=echo.url, request_path="/go",
                  strip_request_path=True)
    admin.patch_api("go-api", request_host="localhost")
    host = "localhost:%d" % torii.proxy_port
    assert echoed(torii, "/oauth2/token", host)["target"] == "/oauth2/token"
    assert echoed(torii, "/go/x", "other.test")["target"] == "/x"


def test_fix_b_host_first(torii, admin, upstream_factory):
    go = upstream_factory(name="go")
    other = upstream_factory(name="for_host")
    admin.add_api(name="go-api", upstream_url=go.url, request_path="/go")
    admin.add_api(name="for_host", upstream_url=other.url, request_host="localhost")
    host = "localhost:%d" % torii.proxy_port
    assert echoed(torii, "/oauth2/token", host)["target"] == "/oauth2/token"
    assert other.targets() == ["/oauth2/token"]
    # the host phase comes first: /go with Host localhost goes to for_host
    echoed(torii, "/go", host)
    assert other.targets()[-1] == "/go" and go.targets() == []
    echoed(torii, "/go", "elsewhere.test")
    assert go.targets() == ["/go"]


@pytest.mark.parametrize("strip,incoming,expected", [
    (False, "/mockbin", "/mockbin"),
    (False, "/mockbin/x", "/mockbin/x"),
    (True, "/mockbin", "/"),
    (True, "/mockbin/x", "/x"),
    (True, "/mockbin/x/y?q=1&r=%20", "/x/y?q=1&r=%20"),
    (False, "/other", None),
    (True, "/other", None),
    (True, "/mockbinx", None),
])
def test_strip_table(torii, admin, echo, strip, incoming, expected):
    admin.add_api(name="mockbin", upstream_url=echo.url, request_path="/mockbin",
                  strip_request_path=strip)
    if expected is None:
        not_found(torii, incoming)
        assert echo.raw_total == 0
    else:
        assert echoed(torii, incoming)["target"] == expected


def test_step8_rails(torii, admin, upstream_factory):
    go = upstream_factory(name="go")
    rails = upstream_factory(name="rails")
    admin.add_api(name="go-api", upstream_url=go.url, request_path="/go")
    admin.add_api(name="rails-api", upstream_url=rails.url, request_path="/rails",
                  strip_request_path=True)
    echoed(torii, "/rails")
    assert rails.targets() == ["/"]
    echoed(torii, "/go")
    assert go.targets() == ["/go"]


def test_step9_migration(torii, admin, upstream_factory):
    old = upstream_factory(name="old")
    new = upstream_factory(name="new")
    for p in ("user", "company", "job"):
        admin.add_api(name=p, upstream_url=old.url, request_path="/api/" + p)
    for p in ("user", "company", "job"):
        echoed(torii, "/api/%s/1" % p)
    assert len(old.requests) == 3
    c = RawConn(torii.proxy_port)        # a client on a kept-alive connection
    assert c.request("GET", "/api/user/1").status == 200
    admin.patch_api("user", upstream_url=new.url)
    for _ in range(3):
        assert c.request("GET", "/api/user/2").status == 200
        assert c.request("GET", "/api/job/2").status == 200
    c.close()
    assert new.targets() == ["/api/user/2"] * 3
    assert old.targets().count("/api/job/2") == 3
    assert "/api/user/2" not in old.targets()
    admin.patch_api("company", upstream_url=new.url)
    admin.patch_api("job", upstream_url=new.url)
    echoed(torii, "/api/company/9")
    echoed(torii, "/api/job/9")
    assert new.targets()[-2:] == ["/api/company/9", "/api/job/9"]


def test_host_matching(torii, admin, echo):
    admin.add_api(name="exact", upstream_url=echo.url + "/exact", request_host="example.com")
    admin.add_api(name="wild1", upstream_url=echo.url + "/w1", request_host="*.wild.test")
    admin.add_api(name="wild2", upstream_url=echo.url + "/w2", request_host="api.*")
    cases = [
        ("example.com", "/exact/p"),
        ("EXAMPLE.com", "/exact/p"),
        ("example.com:%d" % torii.proxy_port, "/exact/p"),
        ("example.com.", "/exact/p"),
        ("a.wild.test", "/w1/p"),
        ("a.b.wild.test:8000", "/w1/p"),
        ("api.example.org", "/w2/p"),
    ]
    for host, target in cases:
        assert echoed(torii, "/p", host)["target"] == target, host
    for host in ("wild.test", "example.org", "xexample.com", "notapi.example.org"):
        not_found(torii, "/p", host)


def test_exact_host_beats_wildcard(torii, admin, echo):
    admin.add_api(name="wild", upstream_url=echo.url + "/w", request_host="*.example.com")
    admin.add_api(name="exact", upstream_url=echo.url + "/e", request_host="a.example.com")
    assert echoed(torii, "/", "a.example.com")["target"].startswith("/e")
    assert echoed(torii, "/", "b.example.com")["target"].startswith("/w")


def test_longest_prefix_and_segment_boundary(torii, admin, echo):
    admin.add_api(name="a", upstream_url=echo.url + "/A", request_path="/a")
    admin.add_api(name="ab", upstream_url=echo.url + "/AB", request_path="/a/b")
    admin.add_api(name="go", upstream_url=echo.url + "/G", request_path="/go")
    assert echoed(torii, "/a/b/c")["target"] == "/AB/a/b/c"
    assert echoed(torii, "/a/b")["target"] == "/AB/a/b"
    assert echoed(torii, "/a/bc")["target"] == "/A/a/bc"
    assert echoed(torii, "/a")["target"] == "/A/a"
    assert echoed(torii, "/go/")["target"] == "/G/go/"
    assert echoed(torii, "/go?x=1")["target"] == "/G/go?x=1"
    not_found(torii, "/gopher")
    not_found(torii, "/ab")


def test_creation_order_does_not_matter(torii, admin, echo):
    admin.add_api(name="deep", upstream_url=echo.url + "/D", request_path="/x/y/z")
    admin.add_api(name="shallow", upstream_url=echo.url + "/S", request_path="/x")
    assert echoed(torii, "/x/y/z/1")["target"] == "/D/x/y/z/1"
    assert echoed(torii, "/x/y/1")["target"] == "/S/x/y/1"


def test_preserve_host(torii, admin, echo):
    admin.add_api(name="ph", upstream_url=echo.url, request_host="ph.test",
                  preserve_host=True)
    admin.add_api(name="nph", upstream_url=echo.url, request_host="nph.test")
    d = echoed(torii, "/", "ph.test")
    assert hvals(d, "host") == ["ph.test"]
    d = echoed(torii, "/", "nph.test")
    assert hvals(d, "host") == ["127.0.0.1:%d" % echo.port]


def test_upstream_url_path_join(torii, admin, echo):
    admin.add_api(name="j", upstream_url=echo.url + "/base", request_path="/j")
    admin.add_api(name="js", upstream_url=echo.url + "/base/", request_path="/js",
                  strip_request_path=True)
    assert echoed(torii, "/j/x?k=v")["target"] == "/base/j/x?k=v"
    assert echoed(torii, "/js/x")["target"] == "/base/x"
    assert echoed(torii, "/js")["target"] == "/base"  # Kong 0.7 drops the trailing "/"


def test_change_visible_on_next_request(torii, admin, echo):
    c = RawConn(torii.proxy_port)
    for i in range(10):
        name = "v%d" % i
        admin.add_api(name=name, upstream_url=echo.url, request_path="/" + name)
        assert c.request("GET", "/%s/x" % name).status == 200, i
        admin.patch_api(name, request_path="/w%d" % i)
        assert c.request("GET", "/%s/x" % name).status == 404, i
        assert c.request("GET", "/w%d/x" % i).status == 200, i
        assert admin.delete("/apis/" + name).status_code == 204
        assert c.request("GET", "/w%d/x" % i).status == 404, i
    c.close()

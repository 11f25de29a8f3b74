# SPDX-License-Identifier: MIT
"""Kong's hash value for consistent-hashing, case by case: spec/02-integration/05-proxy/
10-balancer/03-consistent-hashing_spec.lua at Kong 3.9.1 ("hashing on #path", "#uri_capture",
"a #query string arg", "multiple headers", "missing header"). Kong reads the value through a
test plugin header; here an oracle tells it: a second upstream with the same eight targets,
hashing on a header, lands the expected value on the same target, since the ring depends only
on the targets (and a wrong value lands elsewhere seven times in eight). The spec's "uses the
normalized path" case is left out on purpose: torii keeps %2F encoded (security profile P5)."""

import json
import socket
import urllib.parse

import pytest
import requests

from lbutil import named_behaviour, target, upstream

ROUTE_PATHS = ["/", "~/(?<namespace>[^/]+)/(?<id>[0-9]+)/?"]  # balancer_utils.add_api's


@pytest.fixture
def farm(upstream_factory):
    state = {}
    return [upstream_factory(named_behaviour("s%d" % i, state), "s%d" % i) for i in range(8)]


def get(node, host, uri, headers=None):
    s = requests.Session()
    s.trust_env = False
    try:
        r = s.get("http://127.0.0.1:%d%s" % (node.proxy_port, uri),
                  headers=dict(headers or {}, Host=host), timeout=10)
    finally:
        s.close()
    assert r.status_code == 200, (uri, r.status_code, r.text)
    return r.json()["server"]


def balanced(admin, farm, host, **fields):
    up = upstream(admin, algorithm="consistent-hashing", **fields)
    for s in farm:
        target(admin, up, s.port)
    svc = admin.post("/services", json={"host": up["name"]})
    assert svc.status_code == 201, svc.text
    r = admin.post("/routes", json={"hosts": [host], "paths": ROUTE_PATHS,
                                    "service": {"id": svc.json()["id"]}})
    assert r.status_code == 201, r.text


@pytest.fixture
def oracle(torii, farm):
    balanced(torii.admin, farm, "oracle.test", hash_on="header", hash_on_header="x-hash")

    def server_for(value):
        """Where the value lands (None: no value, hashed as "" as Kong does)."""
        return get(torii, "oracle.test", "/", {} if value is None else {"X-Hash": value})
    return server_for


def check(torii, farm, oracle, uri, expect, headers=None, **fields):
    balanced(torii.admin, farm, "subject.test", **fields)
    got = [get(torii, "subject.test", uri, headers) for _ in range(3)]
    assert got == [oracle(expect)] * 3, (uri, expect)


def test_oracle_tells_values_apart(torii, farm, oracle):
    """Sanity: the values used below do not all land on one target."""
    assert len({oracle(v) for v in ("a", "b", "c", "d", "e", "f", "123", "foo")}) > 2


@pytest.mark.parametrize("uri,expect,fields", [
    ("/my-path", "/my-path", {"hash_on": "path"}),
    ("/my-path?a=1&b=2", "/my-path", {"hash_on": "path"}),
    ("/my-path?a=1&b=2", "/my-path", {"hash_on": "header", "hash_on_header": "my-nonexistent",
                                      "hash_fallback": "path"}),
], ids=["simple", "path-only", "as-fallback"])
def test_hashing_on_path(torii, farm, oracle, uri, expect, fields):
    check(torii, farm, oracle, uri, expect, **fields)


@pytest.mark.parametrize("uri,expect,fields", [
    ("/foo/123", "foo", {"hash_on": "uri_capture", "hash_on_uri_capture": "namespace"}),
    ("/foo/123", "123", {"hash_on": "uri_capture", "hash_on_uri_capture": "id"}),
    ("/", None, {"hash_on": "uri_capture", "hash_on_uri_capture": "namespace"}),
    ("/?test=1", "1", {"hash_on": "uri_capture", "hash_on_uri_capture": "namespace",
                       "hash_fallback": "query_arg", "hash_fallback_query_arg": "test"}),
    ("/my-namespace/123?a=1&b=2", "my-namespace",
     {"hash_on": "query_arg", "hash_on_query_arg": "hashme", "hash_fallback": "uri_capture",
      "hash_fallback_uri_capture": "namespace"}),
], ids=["namespace", "id", "missing", "missing-with-fallback", "as-fallback"])
def test_hashing_on_uri_capture(torii, farm, oracle, uri, expect, fields):
    check(torii, farm, oracle, uri, expect, **fields)


@pytest.mark.parametrize("uri,expect,arg", [
    ("/?hashme=123", "123", "hashme"),
    ("/", None, "hashme"),
    ("/?hashme", "true", "hashme"),
    ("/?foo=", None, "foo"),
    ("/?foo=b&foo=a&foo=c", "a,b,c", "foo"),
    ("/?foo=s&foo&foo=1&foo=", ",1,s,true", "foo"),
    ("/?foo&foo&", "true,true", "foo"),
], ids=["present", "absent", "boolean", "empty", "sorted", "mixed", "booleans"])
def test_hashing_on_query_arg(torii, farm, oracle, uri, expect, arg):
    check(torii, farm, oracle, uri, expect, hash_on="query_arg", hash_on_query_arg=arg)


def test_hashing_on_query_arg_as_fallback(torii, farm, oracle):
    check(torii, farm, oracle, "/?fallback=123", "123", hash_on="query_arg",
          hash_on_query_arg="absent", hash_fallback="query_arg",
          hash_fallback_query_arg="fallback")


@pytest.mark.parametrize("arg", ["{}", ".", "-----", "-1", "()", "&", "=", "//", "[]", "$",
                                 "@", "++", ";", "'", '"', "*", ",", "#", " ", "%", "???"])
def test_escaped_query_arg_names(torii, farm, oracle, arg):
    """The spec's "escaped arg names": the name is matched decoded."""
    uri = "/?%s=7" % urllib.parse.quote(arg, safe="")
    check(torii, farm, oracle, uri, "7", hash_on="query_arg", hash_on_query_arg=arg)


def test_hashing_on_multiple_headers(torii, farm, oracle):
    """Every value of the header, joined with ", " (nginx's $http_ since 1.23)."""
    balanced(torii.admin, farm, "subject.test", hash_on="header", hash_on_header="hashme")
    raw = (b"GET / HTTP/1.1\r\nHost: subject.test\r\nhashme: 1st value\r\n"
           b"hashme: 2nd value\r\nConnection: close\r\n\r\n")
    data = b""
    with socket.create_connection(("127.0.0.1", torii.proxy_port), timeout=10) as c:
        c.sendall(raw)
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    body = data.split(b"\r\n\r\n", 1)[1]
    assert json.loads(body)["server"] == oracle("1st value, 2nd value")


def test_hashing_on_missing_header(torii, farm, oracle):
    check(torii, farm, oracle, "/", None, headers={"nothashme": "just a value"},
          hash_on="header", hash_on_header="hashme")

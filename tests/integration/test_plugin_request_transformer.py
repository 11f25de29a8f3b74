# SPDX-License-Identifier: MIT
"""The request-transformer plugin, ported from Kong 3.9's
spec/03-plugins/36-request-transformer (01-schema_spec.lua, 02-access_spec.lua, 03-api_spec.lua):
what the upstream (the echo upstream) receives after remove, rename, replace, add and append of
headers, query arguments and bodies (form-urlencoded, JSON, multipart), replace.uri, http_method
(a form body of a request turned into GET joins the query), templates reading headers, query
arguments and the captures of a regex route, the order of the operations, Host, header name
case, values holding colons, the query string torii writes after a query transform (Kong's
encoding and order), and the config refusals of the Admin API naming the field.

Not ported: the cases whose templates need Lua run inside them, beyond looking a value up:
- route13 `$(10 * uri_captures.user1)`, route19 `$(ERROR())`, route24 `$(foo(...))` (its log
  line), route28 `$(shared.written = true)`, route18 (a template
  escaped through a Lua string literal), route21 (`shared.*` filled by pre-function), and the
  untrusted_lua on/off/sandbox/sandbox_requires/sandbox_environment sections. What torii must do
  instead with an expression it cannot evaluate is checked once: it is refused when the plugin is
  configured, or the request fails with 500 and nothing reaches the upstream; it is never sent
  on as literal text.
- 03-api_spec "it does not allow null value for arrays": torii's plugin endpoints read a JSON
  null as "not given" (every plugin), so the list takes its default [] (checked below).
"""

import json
import re
import time
import types
import urllib.parse

import pytest

from harness import Torii, finish_torii, hvals, wait_for
from rawhttp import RawConn, build, one_request
from upstreams import UpstreamServer, echo_behaviour

PLUGIN = "request-transformer"
REGEX_P = r"~/requests/user1/(?P<user1>\w+)/user2/(?P<user2>\S+)"
REGEX = r"~/requests/user1/(?<user1>\w+)/user2/(?<user2>\S+)"
BOUNDARY = "torii-rt-boundary"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY


def ok(r, status=201):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


# Routes of the module: host -> (plugin config, more route fields). The hosts keep the numbers
# of Kong's spec (test<N>.test is its route<N>).
ROUTES = {
    "test1.test": ({"add": {"headers": ["h1:v1", "h2:value:2"], "querystring": ["q1:v1"],
                            "body": ["p1:v1"]}}, {}),
    "test2.test": ({"add": {"headers": ["host:mark"]}}, {"preserve_host": True}),
    "test3.test": ({"add": {"headers": ["x-added:a1", "x-added2:b1", "x-added3:c2"],
                            "querystring": ["query-added:newvalue", "p1:anything:1"],
                            "body": ["newformparam:newvalue"]},
                    "remove": {"headers": ["x-to-remove"], "querystring": ["toremovequery"]},
                    "append": {"headers": ["x-added:a2", "x-added:a3"],
                               "querystring": ["p1:a2", "p2:b1"]},
                    "replace": {"headers": ["x-to-replace:false"],
                                "querystring": ["toreplacequery:no"]}}, {}),
    "test4.test": ({"remove": {"headers": ["x-to-remove"], "querystring": ["q1"],
                               "body": ["toremoveform"]}}, {}),
    "test5.test": ({"replace": {"headers": ["h1:v1"], "querystring": ["q1:v1"],
                                "body": ["p1:v1"]}}, {}),
    "test6.test": ({"append": {"headers": ["h1:v1", "h1:v2", "h2:v1"],
                               "querystring": ["q1:v1", "q1:v2", "q2:v1"],
                               "body": ["p1:v1", "p1:v2", "p2:value:1"]}}, {}),
    "test7.test": ({"http_method": "POST"}, {}),
    "test8.test": ({"http_method": "GET"}, {}),
    "test9.test": ({"rename": {"headers": ["x-to-rename:x-is-renamed"],
                               "querystring": ["originalparam:renamedparam"],
                               "body": ["originalparam:renamedparam"]}}, {}),
    "test10.test": ({"add": {"querystring": ["uri_param1:$(uri_captures.user1)",
                                             "uri_param2[some_index][1]:$(uri_captures.user2)"]}},
                    {"paths": [REGEX_P], "strip_path": False}),
    "test11.test": ({"replace": {"uri": "/requests/user2/$(uri_captures.user2)"
                                        "/user1/$(uri_captures.user1)"}},
                    {"paths": [REGEX_P]}),
    "test12.test": ({"add": {"querystring": ["uri_param1:$(uri_captures.user1 or 'default1')",
                                             "uri_param2:$(uri_captures.user2 or 'default2')"]}},
                    {"paths": ["/requests/"], "strip_path": False}),
    "test12b.test": ({"add": {"querystring": ["uri_param1:$(uri_captures.user1)",
                                              "uri_param2:$(uri_captures.user2)"]}},
                     {"paths": ["/requests/"], "strip_path": False}),
    "test25.test": ({"add": {"headers": ['X-Foo-Transformed:$(type(headers["X-Foo"]) == "table" '
                                         'and headers["X-Foo"][1] .. "-first" '
                                         'or headers["X-Foo"])']}}, {}),
    "test14.test": ({"replace": {"uri": "/requests$(uri_captures[0])"}},
                    {"paths": [r"~/user1/(?P<user1>\w+)/user2/(?P<user2>\S+)"]}),
    "test15.test": ({"add": {"querystring": ["uri_param1:$(uri_captures.user1)",
                                             "uri_param2:$(headers.host)"],
                             "headers": ["x-test-header:$(query_params.q1)"]},
                     "remove": {"querystring": ["q1"]}},
                    {"paths": [REGEX], "strip_path": False}),
    "test16.test": ({"replace": {"querystring": ["q2:$(headers['x-remove-header'])"]},
                     "add": {"querystring": ["q1:$(uri_captures.user1)"],
                             "headers": ["x-test-header:$(headers['x-remove-header'])"]},
                     "remove": {"headers": ["x-remove-header"]}},
                    {"paths": [REGEX], "strip_path": False}),
    "test17.test": ({"replace": {"querystring": ["q2:$(headers['x-replace-header'])"],
                                 "headers": ["x-replace-header:the new value"]},
                     "add": {"querystring": ["q1:$(uri_captures.user1)"],
                             "headers": ["x-test-header:$(headers['x-replace-header'])"]}},
                    {"paths": [REGEX], "strip_path": False}),
    "test20.test": ({"http_method": "POST",
                     "add": {"headers": ["Content-Type:application/json"],
                             "body": ["body:somecontent"]}}, {}),
    "test22.test": ({"http_method": "POST", "remove": {"headers": ["Authorization"]},
                     "add": {"headers": ["Authorization:Basic test"]}}, {}),
    "test23.test": ({}, {"paths": ["/request"]}),
    "test26.test": ({"add": {"headers": ["X-aDDed:a1", "x-aDDed2:b1", "x-Added3:c2"]},
                     "remove": {"headers": ["X-To-Remove"]},
                     "append": {"headers": ["X-aDDed:a2", "X-aDDed:a3"]},
                     "replace": {"headers": ["x-to-Replace:false"]}}, {}),
    "test27.test": ({"replace": {"uri": "/requests/t\u00e9st"}}, {}),
    "test29.test": ({"replace": {"uri": '/api/v2/$(uri_captures["subpath"])'}},
                    {"paths": [r"~/(gw/)?api/(?<subpath>htest)$"], "strip_path": False}),
    "rename.mock": ({"rename": {"headers": ["rename:Rename", "identical:identical"],
                                "querystring": ["inexist:exist"]}}, {}),
    "thread.test": ({"add": {"querystring": ["added_q:yes_q"], "headers": ["added_h:yes_h"],
                             "body": ["added_b:yes_b"]}}, {}),
    # Beyond Kong's spec: what its code does, checked here.
    "colons.test": ({"add": {"headers": ["x-lead::v", "x-mid:a::b", "x-url:http://e.test:8080/p",
                                         "x-dollar:cost $5"],
                             "querystring": ["qlead:::x"]}}, {}),
    "qsenc.test": ({"add": {"querystring": ["new:a b/c"]}}, {}),
    "tmiss.test": ({"add": {"headers": ["x-missing:$(headers.nope)",
                                        "x-under:$(headers.x_client_tag)",
                                        'x-brackets:$(headers["X-Client-Tag"])',
                                        "x-combo:pre-$(headers.x_client_tag)-post"],
                            "querystring": ["qmiss:$(query_params.nope)",
                                            "qcap:$(uri_captures.nope)",
                                            'qdash:$(query_params["a-b"])',
                                            "qflag:$(query_params.flag)"],
                            "body": ["fromquery:$(query_params.q)"]}}, {}),
    "order.test": ({"remove": {"headers": ["x-a"], "querystring": ["qa"], "body": ["pa"]},
                    "rename": {"headers": ["x-b:x-a"], "querystring": ["qb:qa"],
                               "body": ["pb:pa"]},
                    "replace": {"headers": ["x-a:replaced"], "querystring": ["qa:replaced"],
                                "body": ["pa:replaced"]},
                    "add": {"headers": ["x-a:added"], "querystring": ["qa:added"],
                            "body": ["pa:added"]},
                    "append": {"headers": ["x-a:appended"], "querystring": ["qa:appended"],
                               "body": ["pa:appended"]}}, {}),
    "hostrep.test": ({"replace": {"headers": ["host:changed.test"]}}, {}),
    "hostrm.test": ({"remove": {"headers": ["host"]}}, {"preserve_host": True}),
    "togetq.test": ({"http_method": "GET", "add": {"querystring": ["extra:1"]}}, {}),
}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("request-transformer"), {"worker_threads": "1"})
    t.start()
    a = t.admin
    try:
        svc = ok(a.post("/services", json={"name": "echo", "url": echo.url}))
        base = ok(a.post("/services", json={"name": "echo-base", "url": echo.url + "/base"}))
        for host, (config, fields) in ROUTES.items():
            route = dict(fields, hosts=[host], service={"id": svc["id"]})
            r = ok(a.post("/routes", json=route))
            ok(a.post("/routes/%s/plugins" % r["id"], json={"name": PLUGIN, "config": config}))
        r = ok(a.post("/routes", json={"hosts": ["uri-base.test"], "service": {"id": base["id"]}}))
        ok(a.post("/routes/%s/plugins" % r["id"],
                  json={"name": PLUGIN, "config": {"replace": {"uri": "/new/path"}}}))
        # a route for the Admin API checks (plugins are created on it and deleted at once)
        schema_route = ok(a.post("/routes", json={"hosts": ["schema.test"],
                                                  "service": {"id": svc["id"]}}))
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    yield types.SimpleNamespace(torii=t, admin=a, echo=echo, svc=svc,
                                schema_route=schema_route["id"])
    finish_torii(t)
    echo.stop()


# ---- what the upstream received -------------------------------------------------------------

class Upstream:
    """The request as the echo upstream received it (from the echo's JSON answer)."""

    def __init__(self, resp):
        assert resp.status == 200, resp
        self.desc = resp.json()
        self.method = self.desc["method"]
        self.target = self.desc["target"]
        self.path, _, self.query = self.target.partition("?")
        self.body = (self.desc["body"] or "").encode("latin-1")

    def h(self, name):
        """Values of header name (case-insensitive), in order."""
        return hvals(self.desc, name)

    def h1(self, name):
        """The only value of header name (fails when sent several times), or None."""
        v = self.h(name)
        assert len(v) <= 1, "%s sent %d times: %r" % (name, len(v), v)
        return v[0] if v else None

    def lines(self, name):
        """(name as sent, value) of header name."""
        return [(k, v) for k, v in self.desc["headers"] if k.lower() == name.lower()]

    def args(self):
        return urllib.parse.parse_qs(self.query, keep_blank_values=True)

    def form(self):
        return urllib.parse.parse_qs(self.body.decode(), keep_blank_values=True)

    def json(self):
        return json.loads(self.body.decode())

    def multipart(self):
        """{name: [values]} of a multipart body, split on the boundary of the Content-Type the
        upstream got."""
        ctype = self.h1("content-type") or ""
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        assert m, ctype
        sep = ("--" + m.group(1)).encode()
        out = {}
        for part in self.body.split(sep)[1:]:
            if part.startswith(b"--"):
                break
            head, _, value = part.lstrip(b"\r\n").partition(b"\r\n\r\n")
            if value.endswith(b"\r\n"):
                value = value[:-2]
            name = re.search(rb'name="([^"]*)"', head)
            assert name, head
            out.setdefault(name.group(1).decode(), []).append(value.decode())
        return out


def send(node, host, method="GET", target="/request", headers=(), body=None, **kw):
    r = one_request(node.torii.proxy_port, method, target, host=host, headers=list(headers),
                    body=body, **kw)
    return Upstream(r)


def form_body(pairs):
    return urllib.parse.urlencode(pairs).encode()


def json_body(obj):
    return json.dumps(obj).encode()


def multipart_body(pairs):
    out = ""
    for k, v in pairs:
        out += '--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (BOUNDARY, k, v)
    return (out + "--%s--\r\n" % BOUNDARY).encode()


def post_form(node, host, pairs, target="/request", headers=()):
    return send(node, host, "POST", target, [("Content-Type", FORM)] + list(headers),
                form_body(pairs))


def post_json(node, host, body, target="/request"):
    raw = body if isinstance(body, bytes) else json_body(body)
    return send(node, host, "POST", target, [("Content-Type", "application/json")], raw)


def post_multipart(node, host, pairs, target="/request"):
    return send(node, host, "POST", target, [("Content-Type", MULTIPART)],
                multipart_body(pairs))


def length_matches(up):
    """The body the upstream got has the Content-Length it was sent with."""
    assert up.h1("content-length") == str(len(up.body)), (up.h("content-length"), up.body)
    assert not up.desc["chunked"]


# ---- 01-schema_spec.lua and 03-api_spec.lua ----------------------------------------------------

def refused(node, config, field, message=None, prefix=None):
    r = node.admin.post("/routes/%s/plugins" % node.schema_route,
                        json={"name": PLUGIN, "config": config})
    assert r.status_code == 400, r.text
    body = r.json()
    assert field in body, body
    if message is not None:
        assert body[field] == message, body
    if prefix is not None:
        assert body[field].startswith(prefix), body
    return body


def accepted(node, config):
    """The config is accepted (201); returns the stored plugin, deleted again."""
    p = ok(node.admin.post("/routes/%s/plugins" % node.schema_route,
                           json={"name": PLUGIN, "config": config}))
    ok(node.admin.delete("/plugins/" + p["id"]), 204)
    return p


def test_schema_validates_http_method(node):
    assert accepted(node, {"http_method": "GET"})["config"]["http_method"] == "GET"


@pytest.mark.parametrize("method", ["HELLO!", "get"])
def test_schema_errors_invalid_http_method(node, method):
    """01-schema_spec "errors invalid http_method" (typedefs.http_method: ^%u+$)."""
    refused(node, {"http_method": method}, "config.http_method", "invalid value: " + method)


@pytest.mark.parametrize("qs", [
    ["uri_param1:$(uri_captures.user1)", "uri_param2:$(uri_captures.user2)"],
    ["uri_param1:$(uri_captures.user1)", "uri_param2:value"],
], ids=["regex pattern as value", "string as value"])
def test_schema_accepts_template_values(node, qs):
    assert accepted(node, {"add": {"querystring": qs}})["config"]["add"]["querystring"] == qs


def test_schema_error_for_missing_value(node):
    refused(node, {"add": {"querystring": ["uri_param2:"]}}, "config.add.querystring",
            "key 'uri_param2' has no value")


def test_schema_error_for_malformed_template(node):
    refused(node, {"add": {"querystring": ["uri_param2:$(uri_captures user2)"]}},
            "config.add.querystring",
            prefix="value '$(uri_captures user2)' is not in supported format")


def test_api_remove_succeeds_without_colons(node):
    c = accepted(node, {"remove": {"headers": ["just_a_key"], "body": ["just_a_key"],
                                   "querystring": ["just_a_key"]}})["config"]
    assert c["remove"] == {"body": ["just_a_key"], "headers": ["just_a_key"],
                           "querystring": ["just_a_key"]}


@pytest.mark.parametrize("op", ["add", "replace", "append"])
def test_api_header_without_colon_is_refused(node, op):
    """03-api_spec "add/replace/append fails with missing colons for key/value separation"."""
    refused(node, {op: {"headers": ["just_a_key"]}}, "config.%s.headers" % op,
            "invalid value: just_a_key")


@pytest.mark.parametrize("config,field,message", [
    ({"add": {"headers": ["bad header:v"]}}, "config.add.headers",
     "'bad header' is not a valid header"),
    ({"remove": {"headers": ["bad header"]}}, "config.remove.headers",
     "'bad header' is not a valid header"),
    # rename's new name must be a header name too
    ({"rename": {"headers": ["x-a:bad header"]}}, "config.rename.headers",
     "'bad header' is not a valid header"),
    ({"rename": {"headers": ["x-a:"]}}, "config.rename.headers", "'' is not a valid header"),
    ({"rename": {"headers": ["x-a"]}}, "config.rename.headers", "invalid value: x-a"),
    ({"rename": {"querystring": ["a:"]}}, "config.rename.querystring", "key 'a' has no value"),
    ({"add": {"body": ["p1:"]}}, "config.add.body", "key 'p1' has no value"),
    ({"append": {"querystring": ["just_a_key"]}}, "config.append.querystring",
     "key 'just_a_key' has no value"),
    ({"replace": {"body": ["p1"]}}, "config.replace.body", "key 'p1' has no value"),
])
def test_schema_refuses_bad_entries(node, config, field, message):
    """The checks of Kong's plugin schema (validate_headers, check_for_value, the colon match)."""
    refused(node, config, field, message)


def test_schema_defaults(node):
    c = accepted(node, {})["config"]
    for op in ("remove", "rename", "replace", "add", "append"):
        for part in ("body", "headers", "querystring"):
            assert c[op][part] == [], (op, part, c)
    assert c.get("http_method") is None and c["replace"].get("uri") is None


def test_null_lists_take_their_default(node):
    """03-api_spec "it does not allow null value for arrays" answers 400 in Kong 3; torii's
    plugin endpoints read null as "not given" for every plugin, so the lists are []."""
    config = {op: {part: None for part in ("body", "headers", "querystring")}
              for op in ("remove", "rename", "replace", "add", "append")}
    c = accepted(node, config)["config"]
    for op in config:
        for part in ("body", "headers", "querystring"):
            assert c[op][part] == []


def test_an_expression_torii_cannot_evaluate_is_never_passed_on(node):
    """Kong renders `$(...)` as Lua (in its sandbox); torii evaluates lookups. An expression
    Kong fails on at run time is refused when configured, or fails the request with 500 before
    anything reaches the upstream; it is never sent on as literal text (or as an empty
    value)."""
    a = node.admin
    svc = node.svc["id"]
    # Kong answers 500 for each (a runtime error, or a name its sandbox does not give)
    for i, value in enumerate(["x-lua:$(10 * uri_captures.user1)",
                               "x-lua:$(shared.written = true)", "x-lua:$(foo(headers.x))",
                               "x-lua:$(string.sub(headers.x, 1, 1))"]):
        host = "lua%d.test" % i
        # the route gets its host once the plugin is on it: no request sees it without
        r = ok(a.post("/routes", json={"hosts": ["pending-" + host], "service": {"id": svc}}))
        p = a.post("/routes/%s/plugins" % r["id"],
                   json={"name": PLUGIN, "config": {"add": {"headers": [value]}}})
        if p.status_code == 400:
            assert "config.add.headers" in p.json(), p.text
            continue
        assert p.status_code == 201, p.text
        ok(a.patch("/routes/" + r["id"], json={"hosts": [host]}), 200)
        node.echo.reset()

        def answer():
            resp = one_request(node.torii.proxy_port, "GET", "/request", host=host,
                               headers=[("x", "1")])
            return resp if resp.status != 404 else None

        resp = wait_for(answer, timeout=5)
        assert resp is not None and resp.status == 500, (value, resp)
        time.sleep(0.1)
        assert not node.echo.requests, value


# ---- http method -----------------------------------------------------------------------------

def test_changes_the_method_from_get_to_post(node):
    up = send(node, "test7.test", "GET", "/request?hello=world&name=marco")
    assert up.method == "POST"
    # no query transform configured: the query goes as the client sent it
    assert up.target == "/request?hello=world&name=marco"


def test_changes_the_method_from_post_to_get(node):
    """The form body joins the query (Kong's transform_method), which is then written anew."""
    up = post_form(node, "test8.test", [("name", "marco")], target="/request?hello=world")
    assert up.method == "GET"
    assert up.args() == {"hello": ["world"], "name": ["marco"]}
    assert up.query == "hello=world&name=marco"


def test_post_to_get_merges_a_name_in_both(node):
    up = post_form(node, "test8.test", [("name", "b"), ("a b", "c/d")],
                   target="/request?name=a&z=1")
    assert up.method == "GET"
    # the query's value first, then the body's; "a b" and "c/d" percent-encoded
    assert up.query == "a%20b=c%2Fd&name=a&name=b&z=1"


def test_get_without_a_form_body_keeps_its_query_bytes(node):
    up = send(node, "test8.test", "POST", "/request?b=2&a=1",
              [("Content-Type", "application/json")], b'{"x":1}')
    assert up.method == "GET"
    assert up.target == "/request?b=2&a=1"


def test_method_change_then_query_transform(node):
    up = post_form(node, "togetq.test", [("f", "1")], target="/request?q=0")
    assert up.method == "GET"
    assert up.query == "extra=1&f=1&q=0"


def test_get_to_post_and_adds_a_json_body(node):
    """The Content-Type header the plugin adds decides the body's format (headers before body):
    an empty body becomes the JSON object of the added parameters."""
    up = send(node, "test20.test", "GET", "/request")
    assert up.method == "POST"
    assert up.h1("content-type") == "application/json"
    assert up.json() == {"body": "somecontent"}
    length_matches(up)


# ---- remove ----------------------------------------------------------------------------------

def test_remove_header(node):
    up = send(node, "test4.test", headers=[("x-to-remove", "true"), ("x-another-header", "true")])
    assert up.h("x-to-remove") == []
    assert up.h("x-another-header") == ["true"]


def test_remove_header_sent_twice(node):
    up = send(node, "test4.test", headers=[("X-To-Remove", "1"), ("x-to-remove", "2")])
    assert up.h("x-to-remove") == []


def test_remove_form_parameter(node):
    up = post_form(node, "test4.test", [("toremoveform", "yes"), ("nottoremove", "yes")])
    assert up.form() == {"nottoremove": ["yes"]}
    length_matches(up)


def test_remove_json_parameter(node):
    up = post_json(node, "test4.test", {"toremoveform": "yes", "nottoremove": "yes"})
    assert up.json() == {"nottoremove": "yes"}
    length_matches(up)


def test_remove_malformed_json_goes_untouched(node):
    up = post_json(node, "test4.test", b"malformed json body")
    assert up.body == b"malformed json body"
    length_matches(up)


def test_remove_empty_json_object(node):
    up = post_json(node, "test4.test", b"{}")
    assert up.body == b"{}"
    assert up.h1("content-length") == "2"


def test_remove_empty_body_without_content_type(node):
    up = send(node, "test4.test", "POST", "/request", body=b"")
    assert up.body == b""
    assert up.h1("content-length") == "0"


def test_remove_multipart_parameter(node):
    up = post_multipart(node, "test4.test", [("toremoveform", "yes"), ("nottoremove", "yes")])
    assert up.multipart() == {"nottoremove": ["yes"]}
    length_matches(up)


def test_remove_query_argument(node):
    up = send(node, "test4.test", "GET", "/request?q1=v1&q2=v2",
              [("Content-Type", FORM)], form_body([("hello", "world")]))
    assert up.query == "q2=v2"


def test_remove_query_argument_sent_twice(node):
    up = send(node, "test4.test", "GET", "/request?q1=a&q2=v2&q1=b")
    assert up.query == "q2=v2"


def test_remove_the_only_query_argument_leaves_no_question_mark(node):
    up = send(node, "test4.test", "GET", "/request?q1=v1")
    assert up.target == "/request"


def test_remove_preserves_an_empty_json_array(node):
    up = post_json(node, "test4.test", b'{"emptyarray":[]}')
    assert up.body == b'{"emptyarray":[]}'


def test_remove_from_a_chunked_form_body(node):
    """A chunked body is read whole, transformed and sent with its Content-Length."""
    pieces = [b"toremoveform", b"=yes&nottoremove=yes"]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    up = send(node, "test4.test", "POST", "/request",
              [("Content-Type", FORM), ("Transfer-Encoding", "chunked")], chunked)
    assert up.form() == {"nottoremove": ["yes"]}
    length_matches(up)


# ---- rename ----------------------------------------------------------------------------------

def test_rename_header(node):
    up = send(node, "test9.test", headers=[("x-to-rename", "true"), ("x-another-header", "true")])
    assert up.h("x-to-rename") == []
    assert up.h("x-is-renamed") == ["true"]
    assert up.h("x-another-header") == ["true"]


def test_rename_does_not_add_a_missing_header(node):
    up = send(node, "test9.test", headers=[("x-a-header", "true")])
    assert up.h("x-is-renamed") == [] and up.h("renamedparam") == []
    assert up.h("x-a-header") == ["true"]


@pytest.mark.parametrize("target_name", ["x-is-renamed", "X-Is-Renamed"])
def test_rename_overrides_an_existing_target(node, target_name):
    up = send(node, "test9.test", headers=[("x-to-rename", "new-result"),
                                           (target_name, "old-result")])
    assert up.h("x-to-rename") == []
    assert up.h("x-is-renamed") == ["new-result"]


def test_rename_header_sent_twice_moves_every_value(node):
    up = send(node, "test9.test", headers=[("x-to-rename", "a"), ("x-to-rename", "b")])
    assert up.h("x-to-rename") == []
    assert up.h("x-is-renamed") == ["a", "b"]


def test_rename_form_parameter(node):
    up = post_form(node, "test9.test", [("originalparam", "yes")])
    assert up.form() == {"renamedparam": ["yes"]}
    length_matches(up)


def test_rename_does_not_add_a_missing_form_parameter(node):
    up = post_form(node, "test9.test", [("x-a-header", "true")])
    assert up.form() == {"x-a-header": ["true"]}


def test_rename_json_parameter(node):
    up = post_json(node, "test9.test", {"originalparam": "yes", "nottorename": "yes"})
    assert up.json() == {"renamedparam": "yes", "nottorename": "yes"}
    length_matches(up)


def test_rename_malformed_json_goes_untouched(node):
    up = post_json(node, "test9.test", b"malformed json body")
    assert up.body == b"malformed json body"


def test_rename_multipart_parameter(node):
    up = post_multipart(node, "test9.test", [("originalparam", "yes"), ("nottorename", "yes")])
    assert up.multipart() == {"renamedparam": ["yes"], "nottorename": ["yes"]}
    length_matches(up)


def test_rename_query_argument(node):
    up = send(node, "test9.test", "GET", "/request?originalparam=true&nottorename=true",
              [("Content-Type", FORM)])
    assert up.args() == {"renamedparam": ["true"], "nottorename": ["true"]}
    assert up.query == "nottorename=true&renamedparam=true"


def test_rename_preserves_an_empty_json_array(node):
    up = post_json(node, "test9.test", b'{"emptyarray":[]}')
    assert up.body == b'{"emptyarray":[]}'


def test_rename_only_changing_capitalization(node):
    """"rename correctly when only changing capitalization": the upstream gets the header
    spelled "Rename", and no "rename"."""
    up = send(node, "rename.mock", headers=[("rename", "true")])
    assert up.lines("rename") == [("Rename", "true")]


def test_rename_does_not_override_an_existing_value_with_nothing(node):
    up = send(node, "rename.mock", "GET", "/request?exist=true")
    assert up.target == "/request?exist=true"


def test_rename_to_the_identical_name_keeps_the_header(node):
    up = send(node, "rename.mock", headers=[("identical", "true")])
    assert up.h("identical") == ["true"]


# ---- replace ---------------------------------------------------------------------------------

def test_replace_header_if_it_exists(node):
    up = send(node, "test5.test", headers=[("h1", "V"), ("h2", "v2")])
    assert up.h("h1") == ["v1"]
    assert up.h("h2") == ["v2"]


def test_replace_header_sent_twice_leaves_one_value(node):
    up = send(node, "test5.test", headers=[("h1", "a"), ("h1", "b")])
    assert up.h("h1") == ["v1"]


def test_replace_does_not_add_a_missing_header(node):
    up = send(node, "test5.test", headers=[("h2", "v2")])
    assert up.h("h1") == []
    assert up.h("h2") == ["v2"]


def test_replace_form_parameter(node):
    up = post_form(node, "test5.test", [("p1", "v"), ("p2", "v1")])
    assert up.form() == {"p1": ["v1"], "p2": ["v1"]}
    length_matches(up)


def test_replace_form_parameter_sent_twice(node):
    up = post_form(node, "test5.test", [("p1", "a"), ("p1", "b")])
    assert up.form() == {"p1": ["v1"]}


def test_replace_does_not_add_a_missing_form_parameter(node):
    up = post_form(node, "test5.test", [("p2", "v1")])
    assert up.form() == {"p2": ["v1"]}


def test_replace_json_parameter(node):
    up = post_json(node, "test5.test", {"p1": "v", "p2": "v1"})
    assert up.json() == {"p1": "v1", "p2": "v1"}
    length_matches(up)


def test_replace_malformed_json_goes_untouched(node):
    up = post_json(node, "test5.test", b"malformed json body")
    assert up.body == b"malformed json body"


def test_replace_does_not_add_a_missing_json_parameter(node):
    up = post_json(node, "test5.test", {"p2": "v1"})
    assert up.json() == {"p2": "v1"}


def test_replace_multipart_parameter(node):
    up = post_multipart(node, "test5.test", [("p1", "v"), ("p2", "v1")])
    assert up.multipart() == {"p1": ["v1"], "p2": ["v1"]}
    length_matches(up)


def test_replace_does_not_add_a_missing_multipart_parameter(node):
    up = post_multipart(node, "test5.test", [("p2", "v1")])
    assert up.multipart() == {"p2": ["v1"]}


def test_replace_query_argument_on_post(node):
    up = post_form(node, "test5.test", [("hello", "world")], target="/request?q1=v&q2=v2")
    assert up.query == "q1=v1&q2=v2"


def test_replace_query_argument_sent_twice(node):
    up = send(node, "test5.test", "GET", "/request?q1=a&q1=b")
    assert up.query == "q1=v1"


def test_replace_does_not_add_a_missing_query_argument(node):
    up = post_form(node, "test5.test", [("hello", "world")], target="/request?q2=v2")
    assert up.query == "q2=v2"


def test_replace_preserves_an_empty_json_array(node):
    up = post_json(node, "test5.test", b'{"emptyarray":[], "p1":"v"}')
    assert up.json() == {"emptyarray": [], "p1": "v1"}
    assert b'"emptyarray":[]' in up.body


@pytest.mark.parametrize("path", ["/api/htest", "/gw/api/htest"])
def test_replace_uri_with_an_optional_capture_prefix(node, path):
    """"replaces request uri with optional capture prefix" / "... with the capature prefix"
    (Kong's mock upstream answers 404 there; the echo answers 200)."""
    up = send(node, "test29.test", "GET", path)
    assert up.target == "/api/v2/htest"


def test_replace_uri_escapes_utf8(node):
    """Kong 3.9 marks this one pending ("enable after Kong 2.4"); the expected URL is its."""
    up = send(node, "test27.test", "GET", "/requests/wrong_path")
    assert up.target == "/requests/t%C3%A9st"


def test_replace_uri_replaces_the_service_path_and_keeps_the_query(node):
    up = send(node, "uri-base.test", "GET", "/some/where?a=1&b=2")
    assert up.target == "/new/path?a=1&b=2"


# ---- add -------------------------------------------------------------------------------------

def test_add_new_headers(node):
    up = send(node, "test1.test")
    assert up.h("h1") == ["v1"]
    assert up.h("h2") == ["value:2"]  # a value holding a colon


def test_add_does_not_change_an_existing_header(node):
    up = send(node, "test1.test", headers=[("h1", "v3")])
    assert up.h("h1") == ["v3"]
    assert up.h("h2") == ["value:2"]


def test_other_headers_sent_twice_are_kept(node):
    up = send(node, "test1.test", headers=[("X-Dup", "1"), ("X-Dup", "2")])
    assert up.h("x-dup") == ["1", "2"]


def test_add_form_parameter(node):
    up = post_form(node, "test1.test", [("hello", "world")])
    assert up.form() == {"hello": ["world"], "p1": ["v1"]}
    length_matches(up)


def test_add_does_not_change_an_existing_form_parameter(node):
    up = post_form(node, "test1.test", [("p1", "should not change"), ("hello", "world")])
    assert up.form() == {"p1": ["should not change"], "hello": ["world"]}


def test_add_json_parameter(node):
    up = post_json(node, "test1.test", {"hello": "world"})
    assert up.json() == {"hello": "world", "p1": "v1"}
    length_matches(up)


def test_add_does_not_change_an_existing_json_parameter(node):
    up = post_json(node, "test1.test", {"p1": "this should not change", "hello": "world"})
    assert up.json() == {"p1": "this should not change", "hello": "world"}


def test_add_malformed_json_goes_untouched(node):
    up = post_json(node, "test1.test", b"malformed json body")
    assert up.body == b"malformed json body"


def test_add_to_an_empty_json_body(node):
    """An empty body of a JSON request is the empty object: add still applies."""
    up = send(node, "test1.test", "POST", "/request", [("Content-Type", "application/json")],
              b"")
    assert up.json() == {"p1": "v1"}
    length_matches(up)


@pytest.mark.parametrize("ctype,changed", [
    ("APPLICATION/JSON; charset=utf-8", True),
    ("application/json-patch+json", True),
    ("application/vnd.api+json", False),
    ("text/plain", False),
])
def test_json_is_told_by_the_content_type(node, ctype, changed):
    """Kong's get_content_type: the lower-cased Content-Type contains "application/json"
    (anywhere; a "+json" suffix alone is not enough)."""
    up = send(node, "test1.test", "POST", "/request", [("Content-Type", ctype)], b'{"a": 1}')
    if changed:
        assert up.json() == {"a": 1, "p1": "v1"}
        length_matches(up)
    else:
        assert up.body == b'{"a": 1}'


def test_a_body_past_kongs_buffer_is_whole(node):
    """Kong reads a body past its client_body_buffer_size (8 KiB) as nothing, and would send
    the added parameters alone; torii never loses the client's body: it arrives transformed,
    or untouched when the plugin does not read that much."""
    doc = {"big": "x" * 60000, "n": 1}
    raw = json_body(doc)
    up = post_json(node, "test1.test", raw)
    length_matches(up)
    if up.body != raw:
        assert up.json() == dict(doc, p1="v1")


def test_add_multipart_parameter(node):
    up = post_multipart(node, "test1.test", [])
    assert up.multipart() == {"p1": ["v1"]}
    length_matches(up)


def test_add_does_not_change_an_existing_multipart_parameter(node):
    up = post_multipart(node, "test1.test", [("p1", "this should not change"),
                                             ("hello", "world")])
    assert up.multipart() == {"p1": ["this should not change"], "hello": ["world"]}


def test_add_query_argument(node):
    up = send(node, "test1.test", "GET", "/request?q2=v2", [("Content-Type", FORM)])
    assert up.query == "q1=v1&q2=v2"


def test_add_does_not_change_an_existing_query_argument(node):
    up = send(node, "test1.test", "GET", "/request?q1=v2", [("Content-Type", FORM)])
    assert up.query == "q1=v2"


def test_add_does_not_change_the_host_header(node):
    up = send(node, "test2.test", "GET", "/get", [("Content-Type", "application/json")])
    assert up.h("host") == ["test2.test"]


def test_add_preserves_an_empty_json_array(node):
    up = post_json(node, "test1.test", b'{"emptyarray":[]}')
    assert up.json() == {"emptyarray": [], "p1": "v1"}
    assert b'"emptyarray":[]' in up.body


def test_values_holding_colons(node):
    """An entry is split by ^([^:]+):*(.-)$: the name runs to the first colon, every colon
    right after it is dropped, the rest is the value; '$' not followed by '(' is a plain
    character."""
    up = send(node, "colons.test", "GET", "/request")
    assert up.h("x-lead") == ["v"]
    assert up.h("x-mid") == ["a::b"]
    assert up.h("x-url") == ["http://e.test:8080/p"]
    assert up.h("x-dollar") == ["cost $5"]
    assert up.query == "qlead=x"


def test_add_header_with_an_empty_value_is_accepted_and_adds_nothing(node):
    """Kong's add.headers only checks the colon and the name (no "has no value" check, unlike
    querystring and body): "x-empty:" is accepted, and adds nothing."""
    a = node.admin
    r = ok(a.post("/routes", json={"hosts": ["pending-empty.test"],
                                   "service": {"id": node.svc["id"]}}))
    ok(a.post("/routes/%s/plugins" % r["id"], json={"name": PLUGIN, "config": {
        "add": {"headers": ["x-empty:", "x-other:1"]}}}))
    ok(a.patch("/routes/" + r["id"], json={"hosts": ["empty.test"]}), 200)
    resp = wait_for(lambda: (lambda x: x if x.status != 404 else None)(
        one_request(node.torii.proxy_port, "GET", "/request", host="empty.test")), timeout=5)
    assert resp is not None
    up = Upstream(resp)
    assert up.h("x-other") == ["1"]
    assert up.h("x-empty") == []


# ---- append ----------------------------------------------------------------------------------

def test_append_new_header(node):
    up = send(node, "test6.test")
    assert up.h("h2") == ["v1"]


def test_append_values_to_headers(node):
    up = send(node, "test6.test")
    assert up.h("h1") == ["v1", "v2"]


def test_append_after_the_clients_values(node):
    up = send(node, "test6.test", headers=[("h1", "c1"), ("h1", "c2")])
    assert up.h("h1") == ["c1", "c2", "v1", "v2"]


def test_append_a_value_with_a_hash(node):
    """"can append a value with '#' (regression test for #29)": the plugin is added while the
    node runs."""
    a = node.admin
    r = ok(a.post("/routes", json={"hosts": ["test_append_hash.test"],
                                   "service": {"id": node.svc["id"]}}))
    ok(a.post("/routes/%s/plugins" % r["id"], json={"name": PLUGIN, "config": {"append": {
        "headers": ["h1:v1", "h1:v2", "h1:#value_with_hash", "h2:v1"],
        "querystring": ["q1:v1", "q1:v2", "q2:v1"],
        "body": ["p1:v1", "p1:v2", "p2:value:1"]}}}))

    def seen():
        resp = one_request(node.torii.proxy_port, "GET", "/request",
                           host="test_append_hash.test")
        return resp if resp.status == 200 and b"h1" in resp.body else None

    resp = wait_for(seen, timeout=10)
    assert resp, "the new plugin never applied"
    assert Upstream(resp).h("h1") == ["v1", "v2", "#value_with_hash"]


def test_append_new_query_argument(node):
    up = post_form(node, "test6.test", [("hello", "world")])
    assert up.args()["q2"] == ["v1"]


def test_append_values_to_query(node):
    up = send(node, "test6.test", "POST", "/request", [("Content-Type", FORM)])
    assert up.query == "q1=v1&q1=v2&q2=v1"


@pytest.mark.parametrize("body", [None, b""], ids=["no body", "empty body"])
def test_append_new_form_parameter(node, body):
    """"new parameter in url encoded body on POST if it does not exist": add and append apply
    to a form request without a body (remove, rename and replace need one)."""
    up = send(node, "test6.test", "POST", "/request", [("Content-Type", FORM)], body)
    assert up.form() == {"p1": ["v1", "v2"], "p2": ["value:1"]}
    length_matches(up)


def test_append_values_to_a_form_parameter(node):
    up = post_form(node, "test6.test", [("p1", "v0")])
    assert up.form() == {"p1": ["v0", "v1", "v2"], "p2": ["value:1"]}


def test_append_malformed_json_goes_untouched(node):
    up = post_json(node, "test6.test", b"malformed json body")
    assert up.body == b"malformed json body"


def test_append_to_json(node):
    """Kong's append_value: a string becomes an array of the old and new values, a missing key
    an array of the new value alone."""
    up = post_json(node, "test6.test", {"p1": "v0"})
    assert up.json() == {"p1": ["v0", "v1", "v2"], "p2": ["value:1"]}
    length_matches(up)


def test_append_does_not_apply_to_multipart(node):
    """"does not change or append value to parameter on multipart POST": Kong's multipart
    transform knows no append."""
    up = post_multipart(node, "test6.test", [("p1", "This should not change")])
    assert up.multipart() == {"p1": ["This should not change"]}


def test_append_preserves_an_empty_json_array(node):
    up = post_json(node, "test6.test", b'{"emptyarray":[]}')
    assert up.json()["emptyarray"] == []
    assert b'"emptyarray":[]' in up.body


# ---- remove, replace, add and append (route3) -------------------------------------------------

def test_combined_removes_a_header(node):
    up = send(node, "test3.test", headers=[("x-to-remove", "true")])
    assert up.h("x-to-remove") == []


def test_combined_replaces_a_header(node):
    up = send(node, "test3.test", headers=[("x-to-replace", "true")])
    assert up.h("x-to-replace") == ["false"]


def test_combined_does_not_add_a_header_to_replace(node):
    assert send(node, "test3.test").h("x-to-replace") == []


def test_combined_adds_a_missing_header(node):
    assert send(node, "test3.test").h("x-added2") == ["b1"]


def test_combined_does_not_add_an_existing_header(node):
    assert send(node, "test3.test", headers=[("x-added3", "c1")]).h("x-added3") == ["c1"]


def test_combined_appends_to_an_added_header(node):
    assert send(node, "test3.test").h("x-added") == ["a1", "a2", "a3"]


def test_combined_query_on_post(node):
    """Added and appended arguments, encoded (':' as %3A) and ordered as Kong writes them."""
    up = post_form(node, "test3.test", [("hello", "world")])
    assert up.args()["p2"] == ["b1"]
    assert up.query == "p1=anything%3A1&p1=a2&p2=b1&query-added=newvalue"
    # the body has no body transform but add: newformparam joins it
    assert up.form() == {"hello": ["world"], "newformparam": ["newvalue"]}


def test_combined_removes_query_arguments(node):
    up = send(node, "test3.test", "GET", "/request?toremovequery=yes&nottoremove=yes",
              [("Content-Type", FORM)], form_body([("hello", "world")]))
    args = up.args()
    assert "toremovequery" not in args and args["nottoremove"] == ["yes"]


def test_combined_replaces_query_arguments(node):
    up = send(node, "test3.test", "GET", "/request?toreplacequery=yes",
              [("Content-Type", FORM)], form_body([("hello", "world")]))
    assert up.args()["toreplacequery"] == ["no"]


def test_combined_does_not_add_a_query_argument_to_replace(node):
    up = send(node, "test3.test", "GET", "/request", [("Content-Type", FORM)])
    assert "toreplacequery" not in up.args() and "toreplacequery" not in up.form()


def test_combined_adds_and_keeps_query_arguments(node):
    assert send(node, "test3.test").args()["query-added"] == ["newvalue"]
    up = send(node, "test3.test", "GET", "/request?query-added=oldvalue")
    assert up.args()["query-added"] == ["oldvalue"]


def test_combined_appends_query_arguments(node):
    up = send(node, "test3.test", "GET", "/request?q1=20",
              [("Content-Type", FORM)], form_body([("hello", "world")]))
    args = up.args()
    assert args["p1"] == ["anything:1", "a2"]
    assert args["q1"] == ["20"]


def test_combined_preserves_an_empty_json_array(node):
    up = post_json(node, "test3.test", b'{"emptyarray":[]}')
    assert up.json() == {"emptyarray": [], "newformparam": "newvalue"}


# ---- header name case (route26) ---------------------------------------------------------------

def test_case_remove_ignores_case(node):
    up = send(node, "test26.test", headers=[("x-to-remove", "true")])
    assert up.h("x-to-remove") == []


def test_case_replace(node):
    up = send(node, "test26.test", headers=[("x-to-replace", "true")])
    assert up.h("x-to-replace") == ["false"]


def test_case_add_keeps_the_configured_case(node):
    up = send(node, "test26.test")
    assert up.lines("x-added2") == [("x-aDDed2", "b1")]


def test_case_add_keeps_the_clients_header(node):
    up = send(node, "test26.test", headers=[("x-added3", "c1")])
    assert up.lines("x-added3") == [("x-added3", "c1")]


def test_case_append_uses_the_configured_case(node):
    up = send(node, "test26.test", headers=[("X-addeD", "a0")])
    lines = up.lines("x-added")
    assert [v for _, v in lines] == ["a0", "a2", "a3"]
    assert [k for k, _ in lines[1:]] == ["X-aDDed", "X-aDDed"]


def test_case_append_to_an_added_header(node):
    up = send(node, "test26.test")
    assert up.lines("x-added") == [("X-aDDed", "a1"), ("X-aDDed", "a2"), ("X-aDDed", "a3")]


# ---- templates ---------------------------------------------------------------------------------

def test_template_query_from_uri_captures(node):
    """"template as querystring parameters on GET": Kong's exact upstream URI (sorted
    arguments, '[' and ']' percent-encoded)."""
    up = send(node, "test10.test", "GET", "/requests/user1/foo/user2/bar?q1=20",
              [("Content-Type", FORM)], form_body([("hello", "world")]))
    assert up.args()["uri_param1"] == ["foo"]
    assert up.target == ("/requests/user1/foo/user2/bar"
                         "?q1=20&uri_param1=foo&uri_param2%5Bsome_index%5D%5B1%5D=bar")


def test_template_updates_the_path(node):
    up = send(node, "test11.test", "GET", "/requests/user1/foo/user2/bar")
    assert up.target == "/requests/user2/bar/user1/foo"


def test_template_missing_capture_takes_the_default(node):
    """Kong's route12 "should not add querystring if hash missing": a prefix route has no
    captures, `uri_captures.user1 or 'default1'` renders the default."""
    up = send(node, "test12.test", "GET", "/requests/?q1=20")
    assert up.args() == {"q1": ["20"], "uri_param1": ["default1"], "uri_param2": ["default2"]}


def test_template_missing_capture_renders_empty(node):
    """Without the `or`, a capture that is missing renders as the empty string."""
    up = send(node, "test12b.test", "GET", "/requests/?q1=20")
    assert up.target == "/requests/?q1=20&uri_param1=&uri_param2="


def test_template_type_function(node):
    """Kong's route25 "type function is available in template environment": a header sent
    twice is a table, its first value is headers["X-Foo"][1]; sent once, it is a string."""
    up = send(node, "test25.test", headers=[("X-Foo", "1"), ("X-Foo", "2")])
    assert up.h("x-foo-transformed") == ["1-first"]
    up = send(node, "test25.test", headers=[("X-Foo", "solo")])
    assert up.h("x-foo-transformed") == ["solo"]


def test_template_whole_match_by_index(node):
    up = send(node, "test14.test", "GET", "/user1/foo/user2/bar")
    assert up.target == "/requests/user1/foo/user2/bar"


def test_template_headers_and_query_params(node):
    """"validate using headers/req_querystring for rendering templates": the template sees the
    query as the client sent it although q1 is removed; headers.host is the client's Host."""
    up = send(node, "test15.test", "GET", "/requests/user1/foo/user2/bar?q1=20",
              [("Content-Type", FORM)])
    args = up.args()
    assert "q1" not in args
    assert args["uri_param1"] == ["foo"]
    assert args["uri_param2"] == ["test15.test"]
    assert up.h("x-test-header") == ["20"]


def test_template_reads_a_removed_header(node):
    up = send(node, "test16.test", "GET", "/requests/user1/foo/user2/bar?q2=20",
              [("x-remove-header", "its a test"), ("Content-Type", FORM)])
    assert up.h("x-remove-header") == []
    args = up.args()
    assert args["q1"] == ["foo"]
    assert args["q2"] == ["its a test"]
    assert up.h("x-test-header") == ["its a test"]
    assert up.query == "q1=foo&q2=its%20a%20test"


def test_template_reads_the_old_value_of_a_replaced_header(node):
    up = send(node, "test17.test", "GET", "/requests/user1/foo/user2/bar?q2=20",
              [("x-replace-header", "the old value"), ("Content-Type", FORM)])
    args = up.args()
    assert args["q1"] == ["foo"]
    assert args["q2"] == ["the old value"]
    assert up.h("x-test-header") == ["the old value"]
    assert up.h("x-replace-header") == ["the new value"]


def test_template_lookups(node):
    """A header or argument that is missing renders as "" (the header is still sent, empty;
    the argument is "name="); headers.x_client_tag finds X-Client-Tag (ngx's header table:
    any case, '_' for '-'); headers["X-Client-Tag"] too; an argument without '=' is the text
    "true"; a template inside a longer value; a template in a body value."""
    up = send(node, "tmiss.test", "POST", "/request?a-b=1&flag&q=from%20q",
              [("X-Client-Tag", "t1"), ("Content-Type", "application/json")], b"{}")
    assert up.h("x-missing") == [""]
    assert up.h("x-under") == ["t1"]
    assert up.h("x-brackets") == ["t1"]
    assert up.h("x-combo") == ["pre-t1-post"]
    assert up.query == "a-b=1&flag&q=from%20q&qcap=&qdash=1&qflag=true&qmiss="
    assert up.json() == {"fromquery": "from q"}


# ---- order of operations --------------------------------------------------------------------

def test_order_remove_rename_replace_add_append(node):
    """Each of headers, query and body: remove, then rename, replace, add, append."""
    up = send(node, "order.test", "POST", "/request?qa=orig&qb=bval",
              [("x-a", "orig"), ("x-b", "bval"), ("Content-Type", FORM)],
              form_body([("pa", "orig"), ("pb", "bval")]))
    assert up.h("x-a") == ["replaced", "appended"]
    assert up.h("x-b") == []
    assert up.query == "qa=replaced&qa=appended"
    assert up.form() == {"pa": ["replaced", "appended"]}


def test_order_on_a_missing_name(node):
    up = send(node, "order.test", "POST", "/request", [("Content-Type", FORM)], b"")
    assert up.h("x-a") == ["added", "appended"]
    assert up.query == "qa=added&qa=appended"
    assert up.form() == {"pa": ["added", "appended"]}


def test_remove_then_add_header(node):
    """"remove then add header (regression test)"."""
    for extra in ([("Authorization", "Basic dGVzdDp0ZXN0")], []):
        up = send(node, "test22.test", "GET", "/",
                  extra + [("Content-Type", "application/json")])
        assert up.h("authorization") == ["Basic test"]
        assert up.method == "POST"


# ---- Host ------------------------------------------------------------------------------------

def test_replace_host(node):
    """replace.headers applies to Host although the client always sends one (Kong sets the
    upstream Host)."""
    up = send(node, "hostrep.test")
    assert up.h("host") == ["changed.test"]


def test_remove_host_does_nothing(node):
    up = send(node, "hostrm.test")
    assert up.h("host") == ["hostrm.test"]


# ---- query string encoding --------------------------------------------------------------------

def test_query_is_rewritten_sorted_and_reencoded(node):
    """Once any query transform is configured the whole query is decoded and written anew:
    one "name=value" piece per name (values of a repeated name in the client's order, joined by
    '&'), pieces sorted bytewise (so "q10=..." sorts before "q1=..."), values and names
    percent-encoded except letters, digits and "-._~" ('+' in the client's query was a space),
    a name without '=' stays bare, "name=" stays."""
    up = send(node, "qsenc.test", "GET",
              "/request?b=hello+world&a=x%2Fy&flag&empty=&dup=2&dup=1&q1=y&q10=x&c=%7E%41")
    assert up.query == ("a=x%2Fy&b=hello%20world&c=~A&dup=2&dup=1&empty=&flag&new=a%20b%2Fc"
                        "&q10=x&q1=y")


def test_query_untouched_without_a_query_transform(node):
    """"query parameters are not #urlencoded to upstream URL ... when plugin is not
    configured"."""
    expected = "$&+,/:;?@"
    up = send(node, "test23.test", "GET", "/request?expected=" + expected)
    assert up.target == "/?expected=" + expected


# ---- concurrency ------------------------------------------------------------------------------

def test_concurrent_requests_keep_their_own_values(node):
    """Kong's "(thread safety)" spec, without its pre-function: one request waits for its body
    while another goes through; each upstream request has its own header, body and query
    values and the added ones."""
    port = node.torii.proxy_port

    def request(h, k, q):
        body = json_body({"k": k})
        return build("POST", "/request?q=" + q, "thread.test",
                     [("Content-Type", "application/json"), ("h", h)], body)

    slow_bytes = request("vh1", "b1", "vq1")
    head, _, body = slow_bytes.partition(b"\r\n\r\n")
    slow = RawConn(port)
    fast = RawConn(port)
    try:
        slow.send(head + b"\r\n\r\n")
        time.sleep(0.3)
        fast.send(request("vh2", "b2", "vq2"))
        r2 = fast.read_response()
        time.sleep(0.3)
        slow.send(body)
        r1 = slow.read_response()
    finally:
        slow.close()
        fast.close()
    for r, h, k, q in ((r1, "vh1", "b1", "vq1"), (r2, "vh2", "b2", "vq2")):
        up = Upstream(r)
        assert up.h("h") == [h]
        assert up.h("added_h") == ["yes_h"]
        assert up.json() == {"k": k, "added_b": "yes_b"}
        assert up.args() == {"q": [q], "added_q": ["yes_q"]}


def test_http_method_head_answers_the_client_without_waiting(node):
    """A GET sent upstream as HEAD: the upstream's answer has no body, so the client gets the
    head with Content-Length: 0 at once (not the HEAD's length of a body that never comes)."""
    a = node.admin
    r = ok(a.post("/routes", json={"hosts": ["to-head.test"], "service": {"id": node.svc["id"]}}))
    ok(a.post("/routes/%s/plugins" % r["id"],
              json={"name": PLUGIN, "config": {"http_method": "HEAD"}}))
    res = one_request(node.torii.proxy_port, "GET", "/request", host="to-head.test", timeout=5)
    assert res.status == 200 and res.body == b""
    assert res.header("Content-Length") == "0"
    assert node.echo.requests[-1].method == "HEAD"

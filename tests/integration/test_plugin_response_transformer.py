# SPDX-License-Identifier: MIT
"""The response-transformer plugin, ported from Kong 3.9's spec/03-plugins/15-response-transformer
(01-header_transformer_spec.lua, 02-body_transformer_spec.lua, 03-api_spec.lua,
04-filter_spec.lua, 05-big_response_body_spec.lua). Kong's first two are Lua unit tests: here
each of their configs is a route and each header table or JSON body an upstream's answer (a
canned upstream written here), checked on what the client receives: response headers removed,
renamed, replaced, added and appended; JSON bodies transformed with json_types (string, number,
boolean) only when the Content-Type is JSON by Kong's media-type rules; Content-Length right
after a change; a body that is not JSON, or invalid JSON, passed on untouched; big, chunked,
close-delimited and compressed bodies, HEAD and 204; an answer without a JSON transform
streamed, never held; a plugin's own answer (basic-auth's 401) still transformed; the Admin API
refusals naming the field.

Not ported: 03-api_spec "it does not allow null value for arrays" answers 400 in Kong 3; torii's
plugin endpoints read a JSON null as "not given" (every plugin), so the lists take their default
[] (checked below).
"""

import gzip
import hashlib
import json
import re
import threading
import time
import types

import pytest

from harness import Torii, finish_torii, wait_for
from rawhttp import RawConn, build, one_request
from upstreams import UpstreamServer, echo_behaviour

PLUGIN = "response-transformer"
JSON = "application/json"
JSON_UTF8 = "application/json; charset=utf-8"
FORM = "application/x-www-form-urlencoded; charset=utf-8"


def ok(r, status=201):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


# ---- the canned upstream ----------------------------------------------------------------------

REASONS = {200: "OK", 204: "No Content", 401: "Unauthorized", 404: "Not Found"}


class Canned:
    """Answers GET/POST/HEAD /c/<key> with CANNED[key]: status, headers (list of pairs, sent as
    given), body (bytes) and framing: "length" (Content-Length), "chunked" (in the pieces given
    by chunks, else the body as one chunk), "close" (no length, the connection closes after the
    body) or "none" (no body, no length: 204). gate (a threading.Event) with gate_at: the first
    gate_at bytes of the body go with the head, the rest once the gate opens (10 s at most)."""

    def __init__(self):
        self.responses = {}
        self.server = UpstreamServer(self.behaviour(), "canned")
        self.url = self.server.url

    def put(self, key, body=b"", headers=(), status=200, framing="length", chunks=None,
            gate=None, gate_at=0):
        self.responses[key] = dict(body=body, headers=list(headers), status=status,
                                   framing=framing, chunks=chunks, gate=gate, gate_at=gate_at)
        return "/c/" + key

    def behaviour(self):
        def run(conn):
            while not conn.stopped():
                req = conn.read_request()
                if req is None:
                    return
                key = req.target.split("?", 1)[0].rsplit("/", 1)[-1]
                spec = self.responses.get(key)
                if spec is None:
                    spec = dict(body=b"no such canned answer", headers=[("Content-Type",
                                                                         "text/plain")],
                                status=404, framing="length", chunks=None, gate=None, gate_at=0)
                body = spec["body"]
                head = "HTTP/1.1 %d %s\r\n" % (spec["status"], REASONS.get(spec["status"], "X"))
                for k, v in spec["headers"]:
                    head += "%s: %s\r\n" % (k, v)
                framing = spec["framing"]
                if framing == "length":
                    head += "Content-Length: %d\r\n" % len(body)
                elif framing == "chunked":
                    head += "Transfer-Encoding: chunked\r\n"
                elif framing == "close":
                    head += "Connection: close\r\n"
                out = head.encode("latin-1") + b"\r\n"
                if req.method == "HEAD" or framing == "none":
                    if not conn.send(out):
                        return
                    continue
                if framing == "chunked":
                    pieces = spec["chunks"] or [body]
                    payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces if p)
                    payload += b"0\r\n\r\n"
                else:
                    payload = body
                gate = spec["gate"]
                if gate is not None:
                    at = spec["gate_at"]
                    if not conn.send(out + payload[:at]):
                        return
                    gate.wait(10)
                    if not conn.send(payload[at:]):
                        return
                elif not conn.send(out + payload):
                    return
                if framing == "close":
                    conn.close()
                    return
        return run

    def stop(self):
        self.server.stop()


# ---- routes -----------------------------------------------------------------------------------

# host -> (plugin config, more route fields, upstream: "canned" or "echo")
ROUTES = {
    # 01-header_transformer_spec.lua
    "remove.test": ({"remove": {"headers": ["h1", "h2", "h3"]}, "add": {"json": ["p1:v1"]}},),
    "rename.test": ({"rename": {"headers": ["h1:h2", "h3:h4"]}},),
    "replace.test": ({"replace": {"headers": ["h1:v1", "h2:value:2"]},
                      "add": {"json": ["p1:v1"]}},),
    "add.test": ({"add": {"json": ["p1:v1"], "headers": ["h2:v2"]}},),
    "append.test": ({"add": {"json": ["p1:v1"]}, "append": {"headers": ["h1:v2"]}},),
    "together.test": ({"remove": {"headers": ["h1:v1"]}, "replace": {"headers": ["h2:v3"]},
                       "add": {"json": ["p1:v1"], "headers": ["h3:v3"]},
                       "append": {"headers": ["h3:v4"]}},),
    "json-remove.test": ({"remove": {"json": ["p1"], "headers": ["h1", "h2"]}},),
    "json-replace.test": ({"replace": {"json": ["p1:v1", "p2:v1"],
                                       "headers": ["h1:v1", "h2:v2"]}},),
    "json-add.test": ({"add": {"json": ["p1:v1", "p2:v1"], "headers": ["h1:v1", "h2:v2"]}},),
    "json-append.test": ({"append": {"json": ["p1:v1", "p2:v1"],
                                     "headers": ["h1:v1", "h2:v2"]}},),
    "headers-only.test": ({"remove": {"headers": ["h1", "h2", "h3"]}},),
    # 02-body_transformer_spec.lua
    "body-add.test": ({"add": {"json": ["p1:v1", "p3:value:3", 'p4:"v1"', "p5:-1", "p6:false",
                                        "p7:true"],
                               "json_types": ["string", "string", "string", "number", "boolean",
                                              "boolean"]}},),
    "body-append.test": ({"append": {"json": ["p1:v1", 'p3:"v1"', "p4:-1", "p5:false",
                                              "p6:true"],
                                     "json_types": ["string", "string", "number", "boolean",
                                                    "boolean"]}},),
    "body-remove.test": ({"remove": {"json": ["p1", "p2"]}},),
    "body-rename.test": ({"rename": {"json": ["p1:k1", "p2:k2", "p3:k3", "p4:k4", "p5:k5"]}},),
    "body-replace.test": ({"replace": {"json": ["p1:v2", 'p2:"v2"', "p3:-1", "p4:false",
                                                "p5:true"],
                                       "json_types": ["string", "string", "number", "boolean",
                                                      "boolean"]}},),
    "body-combo.test": ({"remove": {"json": ["p1"]}, "rename": {"json": ["p4:p2"]},
                         "replace": {"json": ["p2:v2"]}, "add": {"json": ["p3:v1"]},
                         "append": {"json": ["p3:v2"]}},),
    "body-invalid.test": ({"remove": {"json": ["foo"]}},),
    # beyond Kong's spec: what its body_transformer does with json_types
    "body-types.test": ({"add": {"json": ["n1:1e3", "n2:1.50", "n3:abc", "b1:TRUE", "b2:yes",
                                          "s1:2"],
                                 "json_types": ["number", "number", "number", "boolean",
                                                "boolean"]}},),
    # 04-filter_spec.lua (Kong's mock upstream's "url" and "uri_args" are the echo's "target"
    # and "method")
    "response.test": ({"remove": {"headers": ["Access-Control-Allow-Origin"],
                                  "json": ["target"]}}, {}, "echo"),
    "response2.test": ({"replace": {"json": ["headers:/hello/world", "method:this is a / test",
                                             'target:"wot"']}}, {}, "echo"),
    "response3.test": ({"remove": {"json": ["ip"]}}, {}, "echo", "basic-auth"),
    "response4.test": ({"add": {"headers": ["x-added:yes"], "json": ["p1:v1"]}}, {}, "echo",
                       "basic-auth"),
    # 05-big_response_body_spec.lua
    "big.test": ({"add": {"json": ["p1:v1"]}, "remove": {"json": ["params"]}},
                 {"methods": ["POST"]}),
}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    canned = Canned()
    echo = UpstreamServer(echo_behaviour(extra_headers=[("Access-Control-Allow-Origin", "*")]),
                          "E")
    t = Torii(tmp_path_factory.mktemp("response-transformer"), {"worker_threads": "1"})
    t.start()
    a = t.admin
    try:
        services = {
            "canned": ok(a.post("/services", json={"name": "canned", "url": canned.url})),
            "echo": ok(a.post("/services", json={"name": "echo", "url": echo.url})),
        }
        for host, spec in ROUTES.items():
            config = spec[0]
            fields = spec[1] if len(spec) > 1 else {}
            upstream = spec[2] if len(spec) > 2 else "canned"
            route = dict(fields, hosts=[host], service={"id": services[upstream]["id"]})
            r = ok(a.post("/routes", json=route))
            ok(a.post("/routes/%s/plugins" % r["id"], json={"name": PLUGIN, "config": config}))
            for extra in spec[3:]:
                ok(a.post("/routes/%s/plugins" % r["id"], json={"name": extra}))
        schema_route = ok(a.post("/routes", json={"hosts": ["schema.test"],
                                                  "service": {"id": services["canned"]["id"]}}))
    except Exception:
        finish_torii(t)
        canned.stop()
        echo.stop()
        raise
    yield types.SimpleNamespace(torii=t, admin=a, canned=canned, echo=echo, services=services,
                                schema_route=schema_route["id"])
    finish_torii(t)
    canned.stop()
    echo.stop()


_keys = iter(range(1, 1 << 30))


def answer(node, host, body=b"", headers=(), method="GET", request_headers=(),
           request_body=None, conn=None, **spec):
    """Have the canned upstream answer body and headers (and spec) to a request for host;
    returns the client's response."""
    target = node.canned.put("k%d" % next(_keys), body, headers, **spec)
    if conn is not None:
        return conn.request(method, target, host, list(request_headers), request_body)
    return one_request(node.torii.proxy_port, method, target, host=host,
                       headers=list(request_headers), body=request_body)


def framed(r):
    """The response arrived whole with framing that matches its body: a Content-Length equal to
    the body's length (never the upstream's stale one), or chunked."""
    assert r.complete, r
    cl = r.header_all("content-length")
    if cl:
        assert cl == [str(len(r.body))], (cl, len(r.body))
        assert r.header("transfer-encoding") is None, r
    else:
        assert "chunked" in (r.header("transfer-encoding") or "").lower(), r
    return r


def body_json(r):
    framed(r)
    return json.loads(r.body)


# ---- 01-header_transformer_spec.lua: is_json_body() -------------------------------------------

@pytest.mark.parametrize("ctype", [
    JSON, JSON_UTF8, "application/problem+json", "application/problem+json; charset=utf-8",
    "application/x-www-form-urlencoded, application/json",
    # Kong's mime_type rules: type and subtype compared lower-cased, a "+json" suffix counts
    "Application/JSON", "application/vnd.api+json",
])
def test_json_content_types_are_transformed(node, ctype):
    r = answer(node, "json-add.test", b'{"p2":"v2"}', [("Content-Type", ctype)])
    assert r.status == 200
    assert body_json(r) == {"p1": "v1", "p2": "v2"}


@pytest.mark.parametrize("ctype", [
    "application/x-www-form-urlencoded", FORM, "text/plain", "text/json", "application/jsonp",
    "application/x-json", None,
])
def test_other_content_types_go_untouched(node, ctype):
    """"is falsy when content-type not application/json", and "does not set content-length nil
    if content-type not json": the body and its Content-Length are the upstream's."""
    body = b'{"p2" : "v2"}'
    r = answer(node, "json-add.test", body, [("Content-Type", ctype)] if ctype else [])
    assert r.status == 200
    assert r.body == body
    assert r.header_all("content-length") == [str(len(body))]


# ---- 01-header_transformer_spec.lua: execute_headers() -----------------------------------------

def test_remove_all_the_headers(node):
    r = answer(node, "remove.test", b"x", [("h1", "value1"), ("h2", "value2a"),
                                           ("h2", "value2b")])
    assert r.status == 200
    assert r.header_all("h1") == [] and r.header_all("h2") == []


def test_remove_json_response_gets_a_right_content_length(node):
    """"sets content-length nil": the body changed (p1 added), its length follows."""
    r = answer(node, "remove.test", b'{"a":1}', [("h1", "value1"), ("h2", "value2a"),
                                                 ("Content-Type", JSON)])
    assert body_json(r) == {"a": 1, "p1": "v1"}
    assert r.header("h1") is None


def test_rename_header_if_it_exists(node):
    r = answer(node, "rename.test", b"x", [("H1", "v1"), ("h3", "v3")])
    assert r.header_all("h2") == ["v1"] and r.header_all("h4") == ["v3"]
    assert r.header("h1") is None and r.header("h3") is None


def test_rename_an_empty_header(node):
    """"header if the header exists and is empty" (Kong sends the empty value as " ")."""
    r = answer(node, "rename.test", b"x", [("h1", "")])
    assert r.header("h1") is None
    assert r.header_all("h2") == [""]


def test_rename_does_not_add_a_missing_header(node):
    r = answer(node, "rename.test", b"x", [("x-other", "1")])
    assert r.header("h1") is None and r.header("h2") is None and r.header("h4") is None
    assert r.header("x-other") == "1"


def test_rename_a_header_set_twice(node):
    r = answer(node, "rename.test", b"x", [("h1", "v1"), ("h1", "v2")])
    assert r.header_all("h2") == ["v1", "v2"]
    assert r.header("h1") is None


def test_rename_replaces_the_target(node):
    r = answer(node, "rename.test", b"x", [("h1", "v1"), ("h2", "old")])
    assert r.header_all("h2") == ["v1"]


def test_replace_header_if_it_exists(node):
    r = answer(node, "replace.test", b"x", [("h1", "value1"), ("h2", "value2a"),
                                            ("h2", "value2b")])
    assert r.header_all("h1") == ["v1"]
    assert r.header_all("h2") == ["value:2"]


def test_replace_does_not_add_a_missing_header(node):
    r = answer(node, "replace.test", b"x", [("h2", "value2a"), ("h2", "value2b")])
    assert r.header("h1") is None
    assert r.header_all("h2") == ["value:2"]


def test_replace_json_response_gets_a_right_content_length(node):
    r = answer(node, "replace.test", b'{"a" : 1}', [("h1", "value1"), ("Content-Type", JSON)])
    assert body_json(r) == {"a": 1, "p1": "v1"}


def test_add_header_if_it_does_not_exist(node):
    r = answer(node, "add.test", b"x", [("h1", "v1")])
    assert r.header_all("h1") == ["v1"] and r.header_all("h2") == ["v2"]


def test_add_does_not_change_an_existing_header(node):
    r = answer(node, "add.test", b"x", [("h1", "v1"), ("H2", "v3")])
    assert r.header_all("h2") == ["v3"]


def test_append_header_if_it_does_not_exist(node):
    r = answer(node, "append.test", b"x")
    assert r.header_all("h1") == ["v2"]


def test_append_header_if_it_exists(node):
    r = answer(node, "append.test", b"x", [("h1", "v1")])
    assert r.header_all("h1") == ["v1", "v2"]


def test_remove_replace_add_append_together(node):
    r = answer(node, "together.test", b"x", [("h1", "v1"), ("h2", "v2")])
    assert r.header("h1") is None
    assert r.header_all("h2") == ["v3"]
    assert r.header_all("h3") == ["v3", "v4"]


@pytest.mark.parametrize("host", ["json-remove.test", "json-replace.test", "json-add.test",
                                  "json-append.test"])
@pytest.mark.parametrize("ctype", [JSON, JSON_UTF8])
def test_json_transform_sets_the_length_of_the_new_body(node, host, ctype):
    """"sets content-length nil if application/json (and charset) passed": Kong drops the
    upstream's length; torii sends the new body with its own length (or chunked)."""
    body = b'{"p1" : "v0", "padding": "' + b"x" * 100 + b'"}'  # each config changes it
    r = answer(node, host, body, [("Content-Type", ctype)])
    assert r.status == 200
    doc = body_json(r)
    assert r.body != body
    assert doc["padding"] == "x" * 100


@pytest.mark.parametrize("host", ["json-remove.test", "json-replace.test", "json-add.test",
                                  "json-append.test"])
def test_json_transform_leaves_a_form_body_alone(node, host):
    """"does not set content-length nil if content-type not json"."""
    body = b"p1=v0&p2=v0"
    r = answer(node, host, body, [("Content-Type", FORM)])
    assert r.body == body
    assert r.header_all("content-length") == [str(len(body))]


def test_header_transform_alone_leaves_a_json_body_alone(node):
    """"does not set content-length nil if any of json not set", and 02's "body remains
    unaltered if no transforms have been set": the bytes (whitespace included) and the
    length are the upstream's."""
    body = b"""

    {
      "id": 1,
      "name": "Some One",
      "address": {
        "street": "Down Town street",
        "suite": "Apt. 23"
      },
      "phone": "1-783-729-8531 x56442"
    }

  """
    r = answer(node, "headers-only.test", body, [("Content-Type", JSON), ("h1", "x")])
    assert r.body == body
    assert r.header_all("content-length") == [str(len(body))]
    assert r.header("h1") is None


# ---- 02-body_transformer_spec.lua --------------------------------------------------------------

def transformed(node, host, body, ctype=JSON):
    r = answer(node, host, body, [("Content-Type", ctype)])
    assert r.status == 200, r
    return body_json(r)


ADDED = {"p1": "v1", "p3": "value:3", "p4": '"v1"', "p5": -1, "p6": False, "p7": True}


@pytest.mark.parametrize("body,kept", [
    (b'{"p2":"v1"}', {"p2": "v1"}),
    (b'{"p2":-1}', {"p2": -1}),
    (b'{"p2":false}', {"p2": False}),
    (b'{"p2":"v1", "a":[]}', {"p2": "v1", "a": []}),
], ids=["parameter", "number", "boolean", "preserves empty arrays"])
def test_body_add(node, body, kept):
    doc = transformed(node, "body-add.test", body)
    assert doc == dict(ADDED, **kept)
    assert type(doc["p5"]) is int


def test_body_add_keeps_an_empty_array_an_array(node):
    r = answer(node, "body-add.test", b'{"p2":"v1", "a":[]}', [("Content-Type", JSON)])
    framed(r)
    assert re.search(rb'"a"\s*:\s*\[\s*\]', r.body), r.body


APPENDED = {"p1": ["v1"], "p3": ['"v1"'], "p4": [-1], "p5": [False], "p6": [True]}


@pytest.mark.parametrize("body,expected", [
    (b'{"p2":"v1"}', dict(APPENDED, p2="v1")),
    (b'{"p1":"v2"}', dict(APPENDED, p1=["v2", "v1"])),
    (b'{"p3":"v2"}', dict(APPENDED, p3=["v2", '"v1"'])),
    (b'{"p4":"v2"}', dict(APPENDED, p4=["v2", -1])),
    (b'{"p5":"v5", "p6":"v6"}', dict(APPENDED, p5=["v5", False], p6=["v6", True])),
    (b'{"p2":"v1", "a":[]}', dict(APPENDED, p2="v1", a=[])),
], ids=["new key", "value if key exists", "value in double quotes", "number", "boolean",
        "preserves empty arrays"])
def test_body_append(node, body, expected):
    assert transformed(node, "body-append.test", body) == expected


def test_body_append_to_an_array(node):
    assert transformed(node, "body-append.test", b'{"p1":["a","b"]}')["p1"] == ["a", "b", "v1"]


def test_body_remove(node):
    """"parameter": Kong's exact answer, the empty object."""
    r = answer(node, "body-remove.test", b'{"p1" : "v1", "p2" : "v1"}',
               [("Content-Type", JSON)])
    framed(r)
    assert r.body == b"{}"


def test_body_remove_preserves_empty_arrays(node):
    assert transformed(node, "body-remove.test", b'{"p1" : "v1", "p2" : "v1", "a": []}') == \
        {"a": []}


def test_body_remove_only_top_level_keys(node):
    assert transformed(node, "body-remove.test", b'{"p1":1,"n":{"p1":"x","p2":[1,2]}}') == \
        {"n": {"p1": "x", "p2": [1, 2]}}


@pytest.mark.parametrize("body,expected", [
    (b'{"p1" : "v1", "p2" : "v2"}', {"k1": "v1", "k2": "v2"}),
    (b'{"p1" : "v1", "p2" : "v2", "p3": []}', {"k1": "v1", "k2": "v2", "k3": []}),
    (b'{"p3" : -1}', {"k3": -1}),
    (b'{"p4" : false, "p5" : true}', {"k4": False, "k5": True}),
    (b'{"p1" : {"x": [1, {"y": null}]}}', {"k1": {"x": [1, {"y": None}]}}),
], ids=["parameter", "preserves empty arrays", "number", "boolean", "nested value"])
def test_body_rename(node, body, expected):
    assert transformed(node, "body-rename.test", body) == expected


@pytest.mark.parametrize("body,expected", [
    (b'{"p1" : "v1", "p2" : "v1"}', {"p1": "v2", "p2": '"v2"'}),
    (b'{"p1" : "v1"}', {"p1": "v2"}),
    (b'{"p2" : "v1"}', {"p2": '"v2"'}),
    (b'{"p1" : "v1", "p2" : "v1", "a": []}', {"p1": "v2", "p2": '"v2"', "a": []}),
    (b'{"p3" : "v1"}', {"p3": -1}),
    (b'{"p4" : "v4", "p5" : "v5"}', {"p4": False, "p5": True}),
], ids=["parameter if it exists", "does not add a missing parameter", "double quoted value",
        "preserves empty arrays", "number", "boolean"])
def test_body_replace(node, body, expected):
    assert transformed(node, "body-replace.test", body) == expected


@pytest.mark.parametrize("body,expected", [
    (b'{"p1" : "v1", "p4" : "v1"}', {"p2": "v2", "p3": ["v1", "v2"]}),
    (b'{"p1" : "v1", "p4" : "v1", "a" : []}', {"p2": "v2", "p3": ["v1", "v2"], "a": []}),
], ids=["combination", "preserves empty array"])
def test_body_remove_rename_replace_add_append(node, body, expected):
    assert transformed(node, "body-combo.test", body) == expected


def test_json_types_casts(node):
    """Kong's cast_value: "number" is Lua's tonumber (a value that is not a number is left out),
    written as JSON numbers are (1e3 is the integer 1000, 1.50 is 1.5); "boolean" is true only
    for the text "true"; an entry past the end of json_types is a string."""
    r = answer(node, "body-types.test", b'{"x":0}', [("Content-Type", JSON)])
    doc = body_json(r)
    assert doc == {"x": 0, "n1": 1000, "n2": 1.5, "b1": False, "b2": False, "s1": "2"}
    assert type(doc["n1"]) is int and type(doc["x"]) is int
    assert re.search(rb'"n1"\s*:\s*1000\s*[,}]', r.body), r.body


def test_invalid_json_goes_untouched(node):
    """"gracefully fails transforming invalid json body": the body as the upstream sent it."""
    r = answer(node, "body-invalid.test", b"not a json value", [("Content-Type", JSON)])
    assert r.status == 200
    framed(r)
    assert r.body == b"not a json value"


@pytest.mark.parametrize("body", [b"", b"   ", b'{"foo": 1', b"[1, 2"])
def test_empty_or_truncated_json_goes_untouched(node, body):
    r = answer(node, "body-invalid.test", body, [("Content-Type", JSON)])
    assert r.status == 200
    framed(r)
    assert r.body == body


# ---- framing ----------------------------------------------------------------------------------

@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
def test_transform_of_every_framing(node, framing):
    """The upstream's body with a length, chunked (the JSON cut across chunks) or up to its
    close: the client gets the transformed body, framed anew."""
    body = b'{"p2" : "v2", "list": [1, 2, 3]}'
    chunks = [body[:5], body[5:6], body[6:20], body[20:]] if framing == "chunked" else None
    r = answer(node, "json-add.test", body, [("Content-Type", JSON)], framing=framing,
               chunks=chunks)
    assert r.status == 200
    assert body_json(r) == {"p1": "v1", "p2": "v2", "list": [1, 2, 3]}


@pytest.mark.parametrize("framing", ["chunked", "close"])
def test_untouched_body_of_every_framing(node, framing):
    body = b"plain text, " * 100
    r = answer(node, "json-add.test", body, [("Content-Type", "text/plain")], framing=framing,
               chunks=[body[:7], body[7:]] if framing == "chunked" else None)
    assert r.status == 200 and r.complete
    assert r.body == body


def test_compressed_json_goes_untouched(node):
    """A gzip-encoded body is not JSON text: Kong fails to parse it and sends it on as it is."""
    body = gzip.compress(b'{"p2":"v2"}')
    r = answer(node, "json-add.test", body, [("Content-Type", JSON),
                                             ("Content-Encoding", "gzip")])
    assert r.status == 200
    framed(r)
    assert r.body == body
    assert r.header("content-encoding") == "gzip"


def test_any_status_is_transformed(node):
    r = answer(node, "json-add.test", b'{"message":"nope"}', [("Content-Type", JSON)],
               status=404)
    assert r.status == 404
    assert body_json(r) == {"message": "nope", "p1": "v1", "p2": "v1"}


def test_head_and_204_keep_the_connection_usable(node):
    """No body to transform: headers are still transformed, and the connection is framed right
    for the next request."""
    c = RawConn(node.torii.proxy_port)
    try:
        r = answer(node, "add.test", b'{"p2":"v2"}', [("Content-Type", JSON)], method="HEAD",
                   conn=c)
        assert r.status == 200 and r.body == b""
        assert r.header_all("h2") == ["v2"]
        r = answer(node, "add.test", b"", [("Content-Type", JSON)], status=204,
                   framing="none", conn=c)
        assert r.status == 204 and r.body == b""
        assert r.header_all("h2") == ["v2"]
        r = answer(node, "add.test", b'{"p2":"v2"}', [("Content-Type", JSON)], conn=c)
        assert body_json(r) == {"p1": "v1", "p2": "v2"}
    finally:
        c.close()


def test_keep_alive_after_transformed_bodies(node):
    c = RawConn(node.torii.proxy_port)
    try:
        for i in range(5):
            r = answer(node, "json-add.test", json.dumps({"i": i}).encode(),
                       [("Content-Type", JSON)], conn=c, framing="chunked" if i % 2 else "length")
            assert body_json(r) == {"i": i, "p1": "v1", "p2": "v1"}
    finally:
        c.close()


@pytest.mark.parametrize("host,ctype", [("headers-only.test", JSON),
                                        ("json-add.test", "text/plain")],
                         ids=["no json transform", "not json"])
def test_an_untransformed_body_streams(node, host, ctype):
    """Without a JSON transform to make, the body is never held: the client gets the head and
    the first part while the upstream still holds back the rest."""
    first, rest = b'{"part": "one", ', b'"more": "' + b"z" * 5000 + b'"}'
    gate = threading.Event()
    target = node.canned.put("stream-%s" % host, first + rest, [("Content-Type", ctype)],
                             gate=gate, gate_at=len(first))
    c = RawConn(node.torii.proxy_port)
    try:
        c.send(build("GET", target, host))
        got = b""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            got += c.read_some(0.2)
            head, sep, body = got.partition(b"\r\n\r\n")
            if sep and first in body:
                break
        assert b"\r\n\r\n" in got and first in got.partition(b"\r\n\r\n")[2], got
        gate.set()
        c.buf[:0] = got
        r = c.read_response()
        assert r.status == 200 and r.body == first + rest
    finally:
        gate.set()
        c.close()


def test_big_json_body(node):
    """05-big_response_body_spec: "add new parameters on large POST" and "remove parameters on
    large POST" (the big JSON request echoed in a big JSON answer)."""
    big = {"mock_json": {"big_field": "*" * (1024 * 1024)}}
    answer_doc = {"params": big, "json": big, "keep": 1}
    raw = json.dumps(answer_doc).encode()
    r = answer(node, "big.test", raw, [("Content-Type", JSON)], method="POST",
               request_headers=[("Content-Type", JSON)], request_body=json.dumps(big).encode())
    assert r.status == 200
    doc = body_json(r)
    assert doc["p1"] == "v1"
    assert "params" not in doc
    assert doc["json"] == big and doc["keep"] == 1


def test_json_body_past_the_buffer_limit_arrives_whole(node):
    """torii holds a response body for a plugin up to the plugin API's limit (8 MiB); past it
    the body goes on as it comes (untransformed). Either way the client gets all of it, framed
    right."""
    raw = json.dumps({"big": "#" * (9 * 1024 * 1024)}).encode()
    r = answer(node, "json-add.test", raw, [("Content-Type", JSON)], framing="chunked",
               chunks=[raw[i:i + 65536] for i in range(0, len(raw), 65536)])
    assert r.status == 200
    framed(r)
    if r.body != raw:
        assert hashlib.sha256(json.loads(r.body)["big"].encode()).hexdigest() == \
            hashlib.sha256(b"#" * (9 * 1024 * 1024)).hexdigest()


# ---- 04-filter_spec.lua ----------------------------------------------------------------------

def proxied(node, host, path="/get"):
    return one_request(node.torii.proxy_port, "GET", path, host=host)


def test_filter_remove_a_parameter(node):
    r = proxied(node, "response.test")
    assert r.status == 200
    doc = body_json(r)
    assert "target" not in doc and doc["method"] == "GET"


def test_filter_remove_a_header(node):
    r = proxied(node, "response.test", "/response-headers")
    assert r.status == 200
    body_json(r)
    assert r.header("access-control-allow-origin") is None


def test_filter_replace_body_parameters(node):
    r = proxied(node, "response2.test")
    assert r.status == 200
    doc = body_json(r)
    assert doc["headers"] == "/hello/world"
    assert doc["target"] == '"wot"'
    assert doc["method"] == "this is a / test"


def test_filter_short_circuited_request(node):
    """"does not throw an error when request was short-circuited in access phase": basic-auth
    answers 401 before response-transformer's access would have run."""
    r = proxied(node, "response3.test")
    assert r.status == 401
    body_json(r)


def test_a_plugins_answer_is_transformed(node):
    """Kong runs the header and body filters of every plugin of the route on another plugin's
    answer too."""
    r = proxied(node, "response4.test")
    assert r.status == 401
    assert r.header("x-added") == "yes"
    doc = body_json(r)
    assert doc["p1"] == "v1" and "message" in doc


# ---- 03-api_spec.lua ---------------------------------------------------------------------------

def refused(node, config, field, message):
    r = node.admin.post("/routes/%s/plugins" % node.schema_route,
                        json={"name": PLUGIN, "config": config})
    assert r.status_code == 400, r.text
    assert r.json().get(field) == message, r.json()


def accepted(node, config):
    p = ok(node.admin.post("/routes/%s/plugins" % node.schema_route,
                           json={"name": PLUGIN, "config": config}))
    ok(node.admin.delete("/plugins/" + p["id"]), 204)
    return p["config"]


def test_api_remove_succeeds_without_colons(node):
    c = accepted(node, {"remove": {"headers": ["just_a_key"], "json": ["just_a_key"]}})
    assert c["remove"] == {"headers": ["just_a_key"], "json": ["just_a_key"]}


def test_api_rename_succeeds_with_colons(node):
    c = accepted(node, {"rename": {"headers": ["x-request-id:x-custom-request-id"],
                                   "json": ["old_key:new_key"]}})
    assert c["rename"] == {"headers": ["x-request-id:x-custom-request-id"],
                           "json": ["old_key:new_key"]}


def test_api_rename_fails_without_a_colon(node):
    refused(node, {"rename": {"headers": ["x-request-idx-custom-request-id"]}},
            "config.rename.headers", "invalid value: x-request-idx-custom-request-id")


def test_api_rename_fails_with_an_invalid_header_name(node):
    refused(node, {"rename": {"headers": ["x-requ,est-id:x-custom-request-id"]}},
            "config.rename.headers", "'x-requ,est-id' is not a valid header")


def test_api_rename_fails_with_an_invalid_new_name(node):
    refused(node, {"rename": {"headers": ["x-request-id:x custom"]}},
            "config.rename.headers", "'x custom' is not a valid header")


@pytest.mark.parametrize("op", ["add", "replace", "append"])
@pytest.mark.parametrize("part", ["headers", "json"])
def test_api_fails_without_a_colon(node, op, part):
    """"add/replace/append fails with missing colons for key/value separation" (json entries
    need the colon too)."""
    refused(node, {op: {part: ["just_a_key"]}}, "config.%s.%s" % (op, part),
            "invalid value: just_a_key")


def test_api_json_types_one_of(node):
    refused(node, {"add": {"json": ["a:1"], "json_types": ["integer"]}},
            "config.add.json_types", "expected one of: boolean, number, string")


def test_api_defaults(node):
    c = accepted(node, {})
    assert c["remove"] == {"headers": [], "json": []}
    assert c["rename"] == {"headers": [], "json": []}
    for op in ("replace", "add", "append"):
        assert c[op] == {"headers": [], "json": [], "json_types": []}


def test_api_null_lists_take_their_default(node):
    """03-api_spec "it does not allow null value for arrays" answers 400 in Kong 3; torii's
    plugin endpoints read null as "not given" for every plugin: the lists are []."""
    config = {"remove": {"headers": None, "json": None},
              "rename": {"headers": None, "json": None}}
    for op in ("replace", "add", "append"):
        config[op] = {"headers": None, "json": None, "json_types": None}
    c = accepted(node, config)
    assert c["remove"] == {"headers": [], "json": []}
    assert c["add"] == {"headers": [], "json": [], "json_types": []}


def test_a_changed_config_applies(node):
    """A PATCHed config is what the next requests get."""
    a = node.admin
    r = ok(a.post("/routes", json={"hosts": ["changing.test"],
                                   "service": {"id": node.services["canned"]["id"]}}))
    p = ok(a.post("/routes/%s/plugins" % r["id"], json={"name": PLUGIN, "config": {
        "add": {"headers": ["x-v:1"]}}}))

    def header_is(v):
        return lambda: answer(node, "changing.test", b"x").header("x-v") == v

    assert wait_for(header_is("1"), timeout=5)
    ok(a.patch("/plugins/" + p["id"], json={"config": {"add": {"headers": ["x-v:2"]}}}), 200)
    assert wait_for(header_is("2"), timeout=5)


def test_held_answer_that_fails_gets_the_error_once(node):
    """A JSON answer held for its body times out before the body is complete: the client gets
    the 504, which the plugin edits as any answer (its JSON body too, as Kong's error pages go
    through the plugins), once: not on top of the edits made for the answer that failed."""
    a = node.admin
    svc = ok(a.post("/services", json={"url": node.canned.url, "read_timeout": 500}))
    r = ok(a.post("/routes", json={"hosts": ["held-fails.test"], "service": {"id": svc["id"]}}))
    ok(a.post("/routes/%s/plugins" % r["id"],
              json={"name": PLUGIN, "config": {"add": {"headers": ["x-added:yes"],
                                                        "json": ["extra:1"]}}}))
    target = node.canned.put("held-fails", b"", [("Content-Type", "application/json"),
                                                 ("Content-Length", "100")], framing="none")
    res = one_request(node.torii.proxy_port, "GET", target, host="held-fails.test")
    assert res.status == 504, res
    assert res.header_all("x-added") == ["yes"]
    assert res.json() == {"message": "The upstream server is timing out", "extra": "1"}

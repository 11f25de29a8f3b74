# SPDX-License-Identifier: MIT
"""Request bodies a plugin reads before the request goes upstream (proxy/body.c), seen through
the plugins that read them (oauth2, and key-auth with key_in_body): an access_token in a form body, with Content-Length or
chunked, split across packets, behind Expect: 100-continue, rewritten by hide_credentials, and
bodies bigger than what a plugin reads, whose start is sent first and the rest streamed. The
upstream must get exactly the body the client sent (or the rewritten one) with correct framing,
and the connection must carry the next request."""

import hashlib
import time
import types
import urllib.parse

import pytest

from harness import Torii, finish_torii
from rawhttp import RawConn, build
from upstreams import UpstreamServer, echo_behaviour

FORM = ("Content-Type", "application/x-www-form-urlencoded")


def ok(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("body"))
    try:
        t.start()
        a = t.admin
        ns = types.SimpleNamespace(torii=t, admin=a, echo=echo, port=t.proxy_port)
        consumer = a.add_consumer(username="bodyuser")
        app = ok(a.post("/consumers/bodyuser/oauth2",
                        data={"name": "app", "redirect_uri": "https://app.example/cb"}))
        ns.apis = {}
        for name, hide in (("keep", False), ("hide", True)):
            api = a.add_api(name=name, upstream_url=echo.url, request_path="/" + name)
            ok(a.post("/apis/%s/plugins" % name,
                      json={"name": "oauth2", "config": {"enable_client_credentials": True,
                                                         "hide_credentials": hide}}))
            tok = ok(a.post("/oauth2_tokens", data={"credential_id": app["id"],
                                                    "api_id": api["id"]}))
            ns.apis[name] = tok["access_token"]
        ns.consumer = consumer
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    yield ns
    problems = finish_torii(t)
    echo.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def chunked(body, piece=7):
    out = b""
    for i in range(0, len(body), piece):
        part = body[i:i + piece]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    return out + b"0\r\n\r\n"


def seen(r):
    assert r.status == 200, r
    return r.json()


def header(view, name):
    vals = [v for k, v in view["headers"] if k.lower() == name.lower()]
    return vals[0] if len(vals) == 1 else vals


def send(node, data, pieces=1, pause=0.05):
    c = RawConn(node.port)
    try:
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            c.send(data[i:i + step])
            if pieces > 1:
                time.sleep(pause)
        r = c.read_response(method="POST")
        return r, c
    except Exception:
        c.close()
        raise


def test_token_in_form_body_content_length(node):
    body = ("a=1&access_token=%s&b=two+words" % node.apis["keep"]).encode()
    r, c = send(node, build("POST", "/keep/x", headers=[FORM], body=body))
    c.close()
    v = seen(r)
    assert v["body"] == body.decode()
    assert header(v, "Content-Length") == str(len(body))
    assert header(v, "X-Consumer-Username") == "bodyuser"


def test_token_in_chunked_form_body_split_across_packets(node):
    body = ("access_token=%s&z=%s" % (node.apis["keep"], "q" * 300)).encode()
    data = build("POST", "/keep/x", headers=[FORM, ("Transfer-Encoding", "chunked")],
                 body=chunked(body))
    r, c = send(node, data, pieces=6)
    try:
        v = seen(r)
        assert v["body"] == body.decode()
        assert not v["chunked"]
        assert header(v, "Content-Length") == str(len(body))
        # The same connection carries the next request.
        c.send(build("GET", "/keep/next?access_token=" + node.apis["keep"]))
        assert c.read_response().status == 200
    finally:
        c.close()


def test_hide_credentials_rewrites_the_form(node):
    tok = node.apis["hide"]
    body = ("x=1&access_token=%s&y=%%26amp" % tok).encode()
    r, c = send(node, build("POST", "/hide/x", headers=[FORM], body=body))
    c.close()
    v = seen(r)
    assert v["body"] == "x=1&y=%26amp"
    assert header(v, "Content-Length") == str(len("x=1&y=%26amp"))
    assert tok not in str(v)


def test_expect_100_continue(node):
    body = ("access_token=%s" % node.apis["keep"]).encode()
    c = RawConn(node.port)
    try:
        c.send(build("POST", "/keep/x", headers=[FORM, ("Expect", "100-continue"),
                                                 ("Content-Length", str(len(body)))]))
        r = c.read_response(method="POST")
        assert r.status == 100
        c.send(body)
        r = c.read_response(method="POST")
        assert seen(r)["body"] == body.decode()
    finally:
        c.close()


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_body_bigger_than_a_plugin_reads_streams_whole(node, framing):
    tok = node.apis["keep"]
    body = b"pad=" + b"p" * (200 * 1024) + b"&tail=end"
    headers = [FORM, ("Authorization", "Bearer " + tok)]
    if framing == "chunked":
        data = build("POST", "/keep/big", headers=headers + [("Transfer-Encoding", "chunked")],
                     body=chunked(body, 5000))
    else:
        data = build("POST", "/keep/big", headers=headers, body=body)
    r, c = send(node, data, pieces=20, pause=0.01)
    c.close()
    v = seen(r)
    assert v["body_length"] == len(body)
    assert v["body_sha256"] == hashlib.sha256(body).hexdigest()


def test_token_only_in_a_body_too_big_to_read_is_missing(node):
    body = b"pad=" + b"p" * (100 * 1024) + ("&access_token=%s" % node.apis["keep"]).encode()
    r, c = send(node, build("POST", "/keep/big", headers=[FORM], body=body))
    c.close()
    assert r.status == 401
    assert r.json()["error"] == "invalid_request"


def test_client_leaving_while_its_body_is_read(node):
    c = RawConn(node.port)
    c.send(build("POST", "/keep/x", headers=[FORM, ("Content-Length", "1000")]) + b"access")
    time.sleep(0.2)
    c.close()
    # The node still serves.
    r, c2 = send(node, build("GET", "/keep/ok?access_token=" + node.apis["keep"]))
    c2.close()
    assert r.status == 200


def test_bad_chunked_framing_while_reading(node):
    data = build("POST", "/keep/x", headers=[FORM, ("Transfer-Encoding", "chunked")]) + \
        b"zz\r\nabc\r\n"
    r, c = send(node, data)
    try:
        assert r.status == 400
        assert c.wait_closed(2.0)
    finally:
        c.close()


def test_token_endpoint_form_over_tls_with_chunked_body(tmp_path):
    t = Torii(tmp_path / "tls", ssl_port=True)
    echo = UpstreamServer(echo_behaviour(), "E2")
    try:
        t.start()
        a = t.admin
        a.add_api(name="t", upstream_url=echo.url, request_path="/t")
        ok(a.post("/apis/t/plugins", json={"name": "oauth2",
                                           "config": {"enable_client_credentials": True}}))
        a.add_consumer(username="c")
        app = ok(a.post("/consumers/c/oauth2", data={"name": "a",
                                                     "redirect_uri": "https://a.example/"}))
        import requests
        import urllib3
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        form = urllib.parse.urlencode({"grant_type": "client_credentials",
                                       "client_id": app["client_id"],
                                       "client_secret": app["client_secret"]}).encode()

        def gen():
            for i in range(0, len(form), 10):
                yield form[i:i + 10]
        r = requests.post("https://127.0.0.1:%d/t/oauth2/token" % t.ssl_port, data=gen(),
                          headers={"Content-Type": FORM[1]}, verify=False, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json()["token_type"] == "bearer"
    finally:
        problems = finish_torii(t)
        echo.stop()
        assert not problems, problems


# ---- key-auth key_in_body --------------------------------------------------------------------

@pytest.fixture(scope="module")
def keyed(node):
    a = node.admin
    ok(a.post("/consumers/bodyuser/key-auth", data={"key": "body-key-1"}))
    for name, conf in (("kb", {"key_in_body": True}),
                       ("kbhide", {"key_in_body": True, "hide_credentials": True}),
                       ("knobody", {})):
        a.add_api(name=name, upstream_url=node.echo.url, request_path="/" + name)
        ok(a.post("/apis/%s/plugins" % name, json={"name": "key-auth", "config": conf}))
    return node


def post(node, path, body, ctype):
    r, c = send(node, build("POST", path, headers=[("Content-Type", ctype)], body=body))
    c.close()
    return r


def test_key_in_form_body(keyed):
    body = b"a=1&apikey=body-key-1&b=2"
    v = seen(post(keyed, "/kb/x", body, FORM[1]))
    assert header(v, "X-Consumer-Username") == "bodyuser"
    assert v["body"] == body.decode()


def test_key_in_json_body(keyed):
    body = b'{"apikey": "body-key-1", "n": 1}'
    v = seen(post(keyed, "/kb/x", body, "application/json; charset=utf-8"))
    assert header(v, "X-Consumer-Username") == "bodyuser"
    assert v["body"] == body.decode()


def test_key_in_body_hidden(keyed):
    v = seen(post(keyed, "/kbhide/x", b"a=1&apikey=body-key-1", FORM[1]))
    assert v["body"] == "a=1"
    v = seen(post(keyed, "/kbhide/x", b'{"apikey":"body-key-1","n":1}', "application/json"))
    assert v["body"] == '{"n":1}'


def test_key_in_body_failures(keyed):
    r = post(keyed, "/kb/x", b"apikey=body-key-1&apikey=body-key-1", FORM[1])
    assert r.status == 401 and r.json() == {"message": "Duplicate API key found"}
    r = post(keyed, "/kb/x", b"apikey=wrong", FORM[1])
    assert r.status == 401 and r.json() == {"message": "Invalid authentication credentials"}
    r = post(keyed, "/kb/x", b"other=1", FORM[1])
    assert r.status == 401 and r.json() == {"message": "No API key found in request"}
    r = post(keyed, "/kb/x", b"apikey=body-key-1", "text/plain")
    assert r.status == 401
    # Without key_in_body the body is not searched.
    r = post(keyed, "/knobody/x", b"apikey=body-key-1", FORM[1])
    assert r.status == 401 and r.json() == {"message": "No API key found in request"}

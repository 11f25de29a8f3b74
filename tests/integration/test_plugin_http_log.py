# SPDX-License-Identifier: MIT
"""The http-log plugin, ported from Kong 3.9's spec/03-plugins/03-http-log (01-log_spec.lua,
02-schema_spec.lua, 04-legacy_queue_sharing_spec.lua) against a log receiver written here: one
JSON object per request with max_batch_size 1, arrays in batches, Basic authorization from the
URL's user info, configured headers, the Host the client adds, a changed config in effect at
once, shared queues, retries after a failure, a receiver that is down or slow never failing a
proxied request, a full queue dropping the oldest entries (logged and counted)."""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from harness import Torii, finish_torii, free_port, wait_for
from upstreams import UpstreamServer, echo_behaviour

NO_PROXY = {"http": None, "https": None}


class Receiver:
    """POST /post_log/<name>: stores the entries (a single object or an array) with the
    request's headers. /status/<code>/<name>: answers code (and stores nothing). /hold/<name>:
    waits while `held` is set, then stores."""

    def __init__(self):
        self.lock = threading.Lock()
        self.logs = {}      # name -> [(entry, headers)]
        self.requests = {}  # name -> number of requests
        self.held = threading.Event()
        self.fail_first = {}  # name -> failures left to answer with 500
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                parts = self.path.split("/")
                name = parts[-1]
                with outer.lock:
                    outer.requests[name] = outer.requests.get(name, 0) + 1
                    left = outer.fail_first.get(name, 0)
                    if left:
                        outer.fail_first[name] = left - 1
                if parts[1] == "hold":
                    outer.held.wait(10)
                if left or parts[1] == "status":
                    code = int(parts[2]) if parts[1] == "status" else 500
                    self.send_response(code)
                    self.send_header("Content-Length", "4")
                    self.end_headers()
                    self.wfile.write(b"nope")
                    return
                doc = json.loads(body)
                entries = doc if isinstance(doc, list) else [doc]
                hdrs = {k.lower(): v for k, v in self.headers.items()}
                with outer.lock:
                    for e in entries:
                        outer.logs.setdefault(name, []).append((e, hdrs, isinstance(doc, list)))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_PUT = do_POST
            do_PATCH = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def entries(self, name):
        with self.lock:
            return list(self.logs.get(name, []))

    def wait(self, name, n, timeout=10):
        assert wait_for(lambda: len(self.entries(name)) >= n, timeout=timeout), \
            "%s: %d entries" % (name, len(self.entries(name)))
        time.sleep(0.05)
        got = self.entries(name)
        assert len(got) == n, "%s: %d entries, wanted %d" % (name, len(got), n)
        return got

    def stop(self):
        self.held.set()
        self.server.shutdown()
        self.server.server_close()


def ok(r, status=201):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory, receiver):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("http-log"), {"worker_threads": "1", "log_level": "debug"})
    t.start()
    a = t.admin
    ok(a.post("/services", json={"name": "mock", "url": echo.url}))

    def route(host, config):
        r = ok(a.post("/services/mock/routes", json={"hosts": [host], "name": host}))
        return ok(a.post("/routes/%s/plugins" % r["id"],
                         json={"name": "http-log", "config": config}))

    route("http_logging.test", {"http_endpoint": receiver.url("/post_log/http")})
    route("ct.test", {"http_endpoint": receiver.url("/post_log/http2"),
                      "content_type": "application/json; charset=utf-8", "method": "PUT"})
    route("basic.test", {"http_endpoint": "http://testuser:testpassword@127.0.0.1:%d"
                                          "/post_log/basic?dropped=1" % receiver.port,
                         "headers": {"Hello-World": "hi there"}})
    route("queue.test", {"http_endpoint": receiver.url("/post_log/http_queue"),
                         "queue": {"max_batch_size": 5, "max_coalescing_delay": 0.1}})
    route("no_queue.test", {"http_endpoint": receiver.url("/post_log/no_queue"),
                            "queue": {"concurrency_limit": -1}})
    route("retry.test", {"http_endpoint": receiver.url("/post_log/retry"),
                         "queue": {"initial_retry_delay": 0.05}})
    dead = free_port()
    route("down.test", {"http_endpoint": "http://127.0.0.1:%d/post_log/down" % dead,
                        "queue": {"max_retry_time": 0.5}})
    route("slow.test", {"http_endpoint": receiver.url("/hold/slow"), "timeout": 300,
                        "queue": {"max_retry_time": 0.2}})
    route("full.test", {"http_endpoint": receiver.url("/hold/full"), "timeout": 5000,
                        "queue": {"max_entries": 3}})
    for n in (1, 2):
        route("sharing.test.route%d" % n,
              {"http_endpoint": receiver.url("/post_log/shared"),
               "queue": {"max_coalescing_delay": 1000, "max_batch_size": 2}})
    ok(a.post("/plugins", json={"name": "prometheus"}))
    t.dead_port = dead
    yield t
    finish_torii(t)
    echo.stop()


def get(node, host, path="/request", headers=None):
    h = {"Host": host}
    h.update(headers or {})
    return requests.get("http://127.0.0.1:%d%s" % (node.proxy_port, path), headers=h,
                        timeout=10, proxies=NO_PROXY)


def test_logs_to_http(node, receiver):
    assert get(node, "http_logging.test", "/status/200").status_code == 200
    (e, hdrs, batched), = receiver.wait("http", 1)
    assert e["client_ip"] == "127.0.0.1" and not batched
    assert e["request"]["uri"] == "/status/200" and e["response"]["status"] == 200
    assert hdrs["content-type"] == "application/json"
    assert hdrs["host"] == "127.0.0.1:%d" % receiver.port  # the client adds Host


def test_content_type_and_method(node, receiver):
    assert get(node, "ct.test").status_code == 200
    (e, hdrs, _), = receiver.wait("http2", 1)
    assert hdrs["content-type"] == "application/json; charset=utf-8"


def test_basic_auth_from_userinfo_and_headers(node, receiver):
    assert get(node, "basic.test").status_code == 200
    (e, hdrs, _), = receiver.wait("basic", 1)
    assert hdrs["authorization"] == "Basic dGVzdHVzZXI6dGVzdHBhc3N3b3Jk"
    assert hdrs["hello-world"] == "hi there"


def test_logs_with_a_buffer(node, receiver):
    for i in range(20):
        assert get(node, "queue.test", "/status/%d" % (200 + i % 10)).status_code == 200
    got = receiver.wait("http_queue", 20)
    assert all(batched for _, _, batched in got)  # max_batch_size 5: arrays
    assert sorted(e["request"]["uri"] for e, _, _ in got) == \
        sorted("/status/%d" % (200 + i % 10) for i in range(20))
    assert receiver.requests["http_queue"] <= 20


def test_no_queue_with_concurrency_limit_minus_one(node, receiver):
    before = node.stderr_size()
    assert get(node, "no_queue.test").status_code == 200
    (e, _, _), = receiver.wait("no_queue", 1)
    assert e["client_ip"] == "127.0.0.1"


def test_changed_configuration_takes_effect_at_once(node, receiver):
    a = node.admin
    r = ok(a.post("/services/mock/routes", json={"hosts": ["config_change.test"]}))
    p = ok(a.post("/routes/%s/plugins" % r["id"],
                  json={"name": "http-log",
                        "config": {"http_endpoint": receiver.url("/post_log/config_change"),
                                   "headers": {"key1": "value1"}}}))
    assert wait_for(lambda: get(node, "config_change.test").status_code == 200, timeout=5)
    (_, hdrs, _), = receiver.wait("config_change", 1)
    assert hdrs["key1"] == "value1"
    ok(a.patch("/plugins/" + p["id"], json={"config": {"headers": {"key1": "value2"}}}), 200)
    time.sleep(0.2)
    assert get(node, "config_change.test").status_code == 200
    got = receiver.wait("config_change", 2)
    assert got[1][1]["key1"] == "value2"


def test_queues_are_shared_by_their_parameters(node, receiver):
    """04-legacy_queue_sharing_spec: two instances with the same endpoint share one queue: a
    batch of 2 fills at once although the delay is 1000 s."""
    assert get(node, "sharing.test.route1").status_code == 200
    assert get(node, "sharing.test.route2").status_code == 200
    got = receiver.wait("shared", 2)
    assert receiver.requests["shared"] == 1 and got[0][2]


def test_failed_batches_are_retried(node, receiver):
    with receiver.lock:
        receiver.fail_first["retry"] = 2
    before = node.stderr_size()
    assert get(node, "retry.test").status_code == 200
    (e, _, _), = receiver.wait("retry", 1)
    assert receiver.requests["retry"] == 3
    assert "handler could not process entries: request to 127.0.0.1:%d returned status code " \
           "500 and body nope" % receiver.port in node.stderr_text()[before:]


def test_a_receiver_that_is_down_never_fails_a_request(node):
    before = node.stderr_size()
    t0 = time.monotonic()
    for _ in range(5):
        assert get(node, "down.test").status_code == 200
    assert time.monotonic() - t0 < 5
    want = "handler could not process entries: failed request to 127.0.0.1:%d: " \
           "connection refused" % node.dead_port
    assert wait_for(lambda: want in node.stderr_text()[before:], timeout=10)
    assert wait_for(lambda: "could not send entries due to max_retry_time exceeded"
                    in node.stderr_text()[before:], timeout=10)


def test_a_slow_receiver_times_out(node, receiver):
    receiver.held.clear()
    before = node.stderr_size()
    assert get(node, "slow.test").status_code == 200
    assert wait_for(lambda: "failed request to 127.0.0.1:%d: timeout" % receiver.port
                    in node.stderr_text()[before:], timeout=10)
    receiver.held.set()


def test_a_full_queue_drops_the_oldest_and_says_so(node, receiver):
    receiver.held.clear()
    before = node.stderr_size()
    for i in range(8):
        assert get(node, "full.test", "/n/%d" % i).status_code == 200
    assert wait_for(lambda: "queue full, dropping old entries until processing is successful "
                    "again" in node.stderr_text()[before:], timeout=5)
    receiver.held.set()
    got = receiver.wait("full", 4, timeout=15)  # the one in flight and the 3 newest
    uris = [e["request"]["uri"] for e, _, _ in got]
    assert uris[0] == "/n/0" and uris[1:] == ["/n/5", "/n/6", "/n/7"]
    m = node.admin.get("/metrics").text
    assert re.search(r'torii_log_entries_dropped_total\{plugin="http-log"\} [1-9]', m), m


# ---- 02-schema_spec.lua -------------------------------------------------------------------

@pytest.mark.parametrize("config,field,message", [
    ({"http_endpoint": "http://myservice.test/path", "headers": {"X-My-Header": ""}},
     "config.headers", "length must be at least 1"),
    ({"http_endpoint": "http://myservice.test/path",
      "headers": {"X-My-Header": "123", "Host": "MyHost"}},
     "config.headers", "cannot contain 'Host' header"),
    ({"http_endpoint": "http://myservice.test/path", "headers": {"coNTEnt-Length": "123"}},
     "config.headers", "cannot contain 'Content-Length' header"),
    ({"http_endpoint": "http://myservice.test/path", "headers": {"coNTEnt-Type": "bad"}},
     "config.headers", "cannot contain 'Content-Type' header"),
    ({"http_endpoint": "http://myservice.test/path", "headers": {"bad name": "x"}},
     "config.headers", None),
    ({"http_endpoint": "myservice.test/path"}, "config.http_endpoint", "missing scheme in url"),
    ({"http_endpoint": "http:///path"}, "config.http_endpoint", "missing host in url"),
    ({"http_endpoint": "http://myservice.test/", "method": "GET"}, "config.method", None),
    ({"http_endpoint": "http://myservice.test/", "queue": {"max_batch_size": 0}},
     "config.queue.max_batch_size", None),
    ({"http_endpoint": "http://myservice.test/", "queue": {"concurrency_limit": 2}},
     "config.queue.concurrency_limit", "expected one of: -1, 1"),
    ({"http_endpoint": "http://myservice.test/",
      "custom_fields_by_lua": {"foo": "return 'bar'"}}, "config.custom_fields_by_lua", None),
    ({}, "config.http_endpoint", None),
])
def test_schema_refuses(node, config, field, message):
    r = node.admin.post("/plugins", json={"name": "http-log", "config": config})
    assert r.status_code == 400, r.text
    body = r.json()
    flat = json.dumps(body)
    assert field in flat or field.replace("config.", "") in flat, body
    if message:
        assert message in flat


def test_schema_refuses_userinfo_and_authorization_together(node):
    r = node.admin.post("/plugins", json={"name": "http-log", "config": {
        "http_endpoint": "http://hi:there@myservice.test/path",
        "headers": {"AuthoRIZATion": "bad"}}})
    assert r.status_code == 400
    assert "specifying both an 'Authorization' header and user info in 'http_endpoint' is " \
           "not allowed" in json.dumps(r.json())


def test_schema_accepts_and_fills_defaults(node):
    r = node.admin.post("/plugins", json={"name": "http-log", "config": {
        "http_endpoint": "http://bob:password@myservice.test/path",
        "headers": {"X-My-Header": "123", "X-Your-Header": "abc"}}})
    assert r.status_code == 201, r.text
    c = r.json()["config"]
    assert c["method"] == "POST" and c["content_type"] == "application/json"
    assert c["timeout"] == 10000 and c["keepalive"] == 60000
    q = c["queue"]
    assert q["max_batch_size"] == 1 and q["max_coalescing_delay"] == 1
    assert q["max_entries"] == 10000 and q["max_retry_time"] == 60
    assert q["initial_retry_delay"] == 0.01 and q["max_retry_delay"] == 60
    assert q["concurrency_limit"] == 1
    assert node.admin.delete("/plugins/" + r.json()["id"]).status_code == 204


def test_executes_successfully_when_route_does_not_exist(torii_factory, receiver):
    """01-log_spec: a global http-log logs the 404 of a request no route matched, without an
    error in the log; prometheus records nothing for it."""
    t = torii_factory()
    ok(t.admin.post("/plugins", json={"name": "http-log", "config": {
        "http_endpoint": receiver.url("/post_log/no_route")}}))
    ok(t.admin.post("/plugins", json={"name": "prometheus",
                                      "config": {"status_code_metrics": True}}))
    before = t.stderr_size()
    r = requests.get("http://127.0.0.1:%d/nonexistant/proxy/path" % t.proxy_port,
                     headers={"Host": "http_no_exist.test"}, timeout=10, proxies=NO_PROXY)
    assert r.status_code == 404
    (e, _, _), = receiver.wait("no_route", 1)
    assert e["client_ip"] == "127.0.0.1" and e["response"]["status"] == 404
    assert "route" not in e and "service" not in e and "tries" not in e
    assert e["upstream_uri"] == "" and e["source"] == "kong"
    assert "[error]" not in t.stderr_text()[before:]
    assert "kong_http_requests_total" not in t.admin.get("/metrics").text

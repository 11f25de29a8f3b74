# SPDX-License-Identifier: MIT
"""The opentelemetry plugin and the spans torii records, ported from Kong 3.9's
spec/03-plugins/37-opentelemetry (02-schema_spec, 03-propagation_spec, 04-exporter_spec,
06-regression_spec) and spec/02-integration/14-observability/01-instrumentations_spec: trace
headers read and written in each format (w3c, b3, b3-single, jaeger, ot, datadog, aws, gcp),
preserve, clear and the legacy header_type; spans sent to a real OTLP/HTTP receiver written in
the tests (protobuf decoded from the wire), with their parents, kinds and attributes; the
sampling decision (the trace-id ratio, a parent's "not sampled"); tracing off (headers still
propagated, unsampled, nothing exported); http_response_header_for_traceid; the config
refusals."""

import re
import time
import types

import pytest

from harness import Torii, finish_torii, free_port
from otlp import OtlpReceiver
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

T = "0af7651916cd43dd8448eb211c80319c"
P = "b7ad6b7169203331"
SAMPLED_AT_HALF = "92a54b3e1a7c4f2da9e44b8a6f3e1dab"
UNSAMPLED_AT_HALF = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$")


def ok(r, status=201):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


def start(tmp_path_factory, name, settings, routes):
    echo = UpstreamServer(echo_behaviour(), "E")
    otlp = OtlpReceiver()
    t = Torii(tmp_path_factory.mktemp(name), dict({"worker_threads": "1"}, **settings))
    t.start()
    a = t.admin
    svc = ok(a.post("/services", json={"url": echo.url}))
    for host, config in routes.items():
        r = ok(a.post("/routes", json={"hosts": [host], "paths": ["/"],
                                       "service": {"id": svc["id"]}}))
        conf = dict(config)
        conf.setdefault("traces_endpoint", otlp.url)
        ok(a.post("/routes/%s/plugins" % r["id"], json={"name": "opentelemetry", "config": conf}))
    return types.SimpleNamespace(torii=t, admin=a, echo=echo, otlp=otlp, svc=svc)


def stop(n):
    finish_torii(n.torii)
    n.echo.stop()
    n.otlp.stop()


ROUTES = {
    "http-route.test": {},
    "ignore.test": {"header_type": "ignore"},
    "w3c.test": {"header_type": "w3c"},
    "dd.test": {"header_type": "datadog"},
    "b3-single.test": {"header_type": "b3-single"},
    "no-preserve.test": {"header_type": "preserve",
                         "propagation": {"extract": ["b3"], "inject": ["w3c"]}},
    "clear.test": {"propagation": {"extract": ["w3c", "ot"], "inject": ["preserve"],
                                   "clear": ["ot-tracer-traceid", "ot-tracer-spanid",
                                             "ot-tracer-sampled"],
                                   "default_format": "b3"}},
    "aws.test": {"propagation": {"extract": ["aws"], "inject": ["preserve"]}},
    "gcp.test": {"propagation": {"extract": ["gcp"], "inject": ["preserve"]}},
    "export.test": {"headers": {"X-Access-Token": "token"},
                    "resource_attributes": {"service.name": "kong_oss", "os.version": "debian"},
                    "http_response_header_for_traceid": "x-trace-id"},
    "half.test": {"sampling_rate": 0.5},
}


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    n = start(tmp_path_factory, "otel-all",
              {"tracing_instrumentations": "all", "tracing_sampling_rate": "1"}, ROUTES)
    yield n
    stop(n)


@pytest.fixture(scope="module")
def off_node(tmp_path_factory):
    n = start(tmp_path_factory, "otel-off",
              {"tracing_instrumentations": "off", "tracing_sampling_rate": "1"},
              {"http-route.test": {}, "w3c.test": {"header_type": "w3c"}})
    yield n
    stop(n)


def send(n, host, headers=(), target="/"):
    r = one_request(n.torii.proxy_port, "GET", target, host=host, headers=list(headers))
    assert r.status == 200, r.body
    return r, {k.lower(): v for k, v in r.json()["headers"]}


def spans_of(n, trace_hex, count=1, timeout=10.0):
    tid = bytes.fromhex(trace_hex)
    return [s for s in n.otlp.wait_spans(
        lambda ss: sum(1 for s in ss if s["trace_id"] == tid and s["name"] == "kong") >= count,
        timeout) if s["trace_id"] == tid]


# ---- propagation (03-propagation_spec), instrumentations all, rate 1 -------------------------

def test_no_headers_starts_a_sampled_w3c_trace(node):
    _, up = send(node, "http-route.test")
    m = TRACEPARENT.match(up["traceparent"])
    assert m and m.group(3) == "01"


def test_w3c_trace_is_continued(node):
    _, up = send(node, "http-route.test", [("traceparent", "00-%s-%s-01" % (T, P))])
    m = TRACEPARENT.match(up["traceparent"])
    assert m and m.group(1) == T and m.group(2) != P and m.group(3) == "01"


def test_w3c_uppercase_is_read(node):
    _, up = send(node, "http-route.test", [("traceparent", "00-%s-%s-01" % (T.upper(), P))])
    assert TRACEPARENT.match(up["traceparent"]).group(1) == T


def test_invalid_traceparent_starts_a_new_trace(node):
    for bad in ("01-%s-%s-01" % (T, P), "00-%s-%s-01" % ("0" * 32, P), "00-%s-%s-01" % (T, "0" * 16),
                "00-%s-%s" % (T, P), "00-%s-%s-01" % (T[:30], P)):
        _, up = send(node, "http-route.test", [("traceparent", bad)])
        assert TRACEPARENT.match(up["traceparent"]).group(1) != T, bad


def test_b3_multi_headers_are_preserved(node):
    _, up = send(node, "http-route.test", [("x-b3-sampled", "1"), ("x-b3-traceid", T)])
    assert up["x-b3-traceid"] == T
    assert up["x-b3-sampled"] == "1"
    assert re.match(r"^[0-9a-f]{16}$", up["x-b3-spanid"])


def test_b3_single_header_is_preserved(node):
    _, up = send(node, "http-route.test", [("b3", "%s-%s-1-%s" % (T, P, "0" * 15 + "1"))])
    assert re.match(r"^%s-[0-9a-f]{16}-1-[0-9a-f]{16}$" % T, up["b3"])
    _, up = send(node, "http-route.test", [("b3", "%s-%s-1" % (T, P))])
    assert re.match(r"^%s-[0-9a-f]{16}-1" % T, up["b3"])
    _, up = send(node, "http-route.test", [("b3", "%s-%s-0" % (T, P))])
    assert re.match(r"^%s-[0-9a-f]{16}-0" % T, up["b3"])  # a parent's "no" wins


def test_jaeger_is_preserved(node):
    _, up = send(node, "http-route.test", [("uber-trace-id", "%s:%s:%s:1" % (T, P, P))])
    assert re.match(r"^%s:[0-9a-f]{16}:[0-9a-f]{16}:01$" % T, up["uber-trace-id"])


def test_ot_is_preserved(node):
    _, up = send(node, "http-route.test", [("ot-tracer-traceid", T[16:]), ("ot-tracer-spanid", P),
                                           ("ot-tracer-sampled", "1")])
    assert up["ot-tracer-traceid"] == T[16:]
    assert up["ot-tracer-sampled"] == "1"


def test_datadog_is_preserved(node):
    _, up = send(node, "http-route.test", [("x-datadog-trace-id", "1234567890"),
                                           ("x-datadog-parent-id", "5678")])
    assert up["x-datadog-trace-id"] == "1234567890"
    assert up["x-datadog-parent-id"].isdigit() and up["x-datadog-parent-id"] != "5678"
    _, up = send(node, "dd.test")
    assert up["x-datadog-trace-id"].isdigit() and up["x-datadog-parent-id"].isdigit()
    _, up = send(node, "http-route.test", [("x-datadog-trace-id", "7532726115487256575")])
    assert up["x-datadog-trace-id"] == "7532726115487256575"


def test_aws_and_gcp_are_preserved(node):
    root = "1-%s-%s" % (T[:8], T[8:])
    _, up = send(node, "aws.test", [("x-amzn-trace-id", "Root=%s;Parent=%s;Sampled=1" % (root, P))])
    assert re.match(r"^Root=%s;Parent=[0-9a-f]{16};Sampled=1$" % root, up["x-amzn-trace-id"])
    _, up = send(node, "gcp.test", [("x-cloud-trace-context", "%s/13235353014750950193;o=1" % T)])
    assert re.match(r"^%s/\d+;o=1$" % T, up["x-cloud-trace-context"])


def test_ignore_starts_a_new_trace(node):
    _, up = send(node, "ignore.test", [("traceparent", "00-%s-%s-01" % (T, P))])
    assert T not in up["traceparent"]
    _, up = send(node, "ignore.test", [("b3", "%s-%s-1" % (T, P))])
    assert T not in up["traceparent"]


def test_header_type_w3c_adds_w3c_to_what_is_preserved(node):
    _, up = send(node, "w3c.test", [("traceparent", "00-%s-%s-01" % (T, P))])
    assert TRACEPARENT.match(up["traceparent"]).group(1) == T
    sent = "%s-%s-1-%s" % (T, P, "0" * 15 + "1")
    _, up = send(node, "w3c.test", [("b3", sent)])
    assert TRACEPARENT.match(up["traceparent"]).group(1) == T
    assert up["b3"] != sent and re.match(r"^%s-[0-9a-f]{16}-1-[0-9a-f]{16}$" % T, up["b3"])


def test_header_type_b3_single(node):
    sent = "%s-%s-1-%s" % (T, P, "0" * 15 + "1")
    _, up = send(node, "b3-single.test", [("b3", sent)])
    assert up["b3"] != sent and re.match(r"^%s-[0-9a-f]{16}-1-[0-9a-f]{16}$" % T, up["b3"])


def test_clear_removes_headers(node):
    _, up = send(node, "clear.test", [("traceparent", "00-%s-%s-01" % (T, P)),
                                      ("ot-tracer-traceid", T[16:]), ("ot-tracer-spanid", P),
                                      ("ot-tracer-sampled", "1")])
    assert TRACEPARENT.match(up["traceparent"]).group(1) == T
    for h in ("ot-tracer-traceid", "ot-tracer-spanid", "ot-tracer-sampled"):
        assert h not in up


def test_inject_without_preserve(node):
    sent = "%s-%s-1-%s" % (T, P, "0" * 15 + "1")
    _, up = send(node, "no-preserve.test", [("b3", sent)])
    assert up["b3"] == sent  # not written: the client's passes
    assert TRACEPARENT.match(up["traceparent"]).group(1) == T


# ---- export (04-exporter_spec, 01-instrumentations_spec) --------------------------------------

def test_export_of_a_request(node):
    trace = "a1" * 16  # a trace of its own: other tests send T on other routes
    r, up = send(node, "export.test", [("traceparent", "00-%s-%s-01" % (trace, P))],
                 target="/get?x=1")
    assert r.header("x-trace-id") == trace
    spans = spans_of(node, trace)
    names = sorted(s["name"] for s in spans)
    for name in ("kong", "kong.router", "kong.balancer", "kong.access.plugin.opentelemetry",
                 "kong.header_filter.plugin.opentelemetry"):
        assert name in names, names
    root = [s for s in spans if s["name"] == "kong"][0]
    assert root["parent_span_id"] == bytes.fromhex(P)
    assert root["kind"] == 2
    attrs = root["attributes"]
    assert attrs["http.method"] == "GET"
    assert attrs["http.url"] == "http://export.test/get?x=1"
    assert attrs["http.host"] == "export.test"
    assert attrs["http.scheme"] == "http"
    assert attrs["http.flavor"] == "1.1"
    assert attrs["http.client_ip"] == "127.0.0.1"
    assert attrs["net.peer.ip"] == "127.0.0.1"
    assert attrs["http.status_code"] == ("int", 200)
    assert attrs["http.route"] == "/"
    assert attrs["kong.request.id"] == r.header("X-Kong-Request-Id")
    for s in spans:
        if s["name"] != "kong":
            assert s["parent_span_id"] == root["span_id"], s["name"]
        assert s["end"] >= s["start"] > 0
    balancer = [s for s in spans if s["name"] == "kong.balancer"][0]
    assert balancer["kind"] == 3
    assert balancer["attributes"]["net.peer.ip"] == "127.0.0.1"
    assert balancer["attributes"]["net.peer.port"] == float(node.echo.port)
    assert balancer["attributes"]["try_count"] == 1.0
    # the upstream call belongs to the balancer span
    assert TRACEPARENT.match(up["traceparent"]).group(2) == balancer["span_id"].hex()


def test_export_request_and_resource(node):
    send(node, "export.test", [("traceparent", "00-%s-%s-01" % (SAMPLED_AT_HALF, P))])
    spans_of(node, SAMPLED_AT_HALF)
    reqs = [req for req in node.otlp.requests
            if bytes.fromhex(SAMPLED_AT_HALF) in req[2]]
    path, headers, body = reqs[0]
    assert path == "/v1/traces"
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["X-Access-Token"] == "token"
    from otlp import decode_traces
    rs = decode_traces(body)[0]
    assert rs["scope"] == ("kong-internal", "0.1.0")
    node_id = ok(node.admin.get("/"), 200)["node_id"]
    assert rs["resource"]["service.name"] == "kong_oss"
    assert rs["resource"]["os.version"] == "debian"
    assert rs["resource"]["service.instance.id"] == node_id
    assert rs["resource"]["service.version"]


def test_sampling_rate_of_the_plugin(node):
    send(node, "half.test", [("traceparent", "00-%s-%s-01" % (UNSAMPLED_AT_HALF, P))])
    send(node, "half.test", [("traceparent", "00-%s-%s-01" % (SAMPLED_AT_HALF, "1" * 16))])
    assert spans_of(node, SAMPLED_AT_HALF, count=2)
    time.sleep(1.5)
    assert not [s for s in node.otlp.spans() if s["trace_id"] == bytes.fromhex(UNSAMPLED_AT_HALF)]


def test_parent_not_sampled_is_not_exported(node):
    trace = "1" * 32
    _, up = send(node, "http-route.test", [("traceparent", "00-%s-%s-00" % (trace, P))])
    assert TRACEPARENT.match(up["traceparent"]).group(3) == "00"
    time.sleep(1.5)
    assert not [s for s in node.otlp.spans() if s["trace_id"] == bytes.fromhex(trace)]


def test_failed_tries_get_balancer_spans(node):
    a = node.admin
    gone = ok(a.post("/services", json={"url": "http://127.0.0.1:%d" % free_port(),
                                        "retries": 1}))
    r = ok(a.post("/routes", json={"hosts": ["gone.test"], "service": {"id": gone["id"]}}))
    ok(a.post("/routes/%s/plugins" % r["id"],
              json={"name": "opentelemetry", "config": {"traces_endpoint": node.otlp.url}}))
    trace = "2" * 32
    deadline = time.monotonic() + 5
    while True:
        res = one_request(node.torii.proxy_port, "GET", "/", host="gone.test",
                          headers=[("traceparent", "00-%s-%s-01" % (trace, P))])
        if res.status == 502 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert res.status == 502
    spans = spans_of(node, trace)
    tries = [s for s in spans if s["name"] == "kong.balancer"]
    assert len(tries) == 2
    for s in tries:
        assert s["status"] == {3: 2}
        assert s["attributes"]["http.status_code"][0] == "int"
    assert sorted(s["attributes"]["try_count"] for s in tries) == [1.0, 2.0]


# ---- tracing off: propagation only -------------------------------------------------------------

def test_tracing_off_propagates_unsampled_and_exports_nothing(off_node):
    _, up = send(off_node, "http-route.test")
    assert TRACEPARENT.match(up["traceparent"]).group(3) == "00"
    _, up = send(off_node, "http-route.test", [("traceparent", "00-%s-%s-01" % (T, P))])
    m = TRACEPARENT.match(up["traceparent"])
    assert m.group(1) == T and m.group(3) == "00"
    _, up = send(off_node, "w3c.test", [("b3", "%s-%s-1-%s" % (T, P, "0" * 15 + "1"))])
    assert re.match(r"^%s-[0-9a-f]{16}-0-%s$" % (T, P), up["b3"])
    time.sleep(1.5)
    assert off_node.otlp.requests == []


# ---- config (02-schema_spec, 06-regression_spec) ----------------------------------------------

def test_config_refusals(node):
    a = node.admin

    def refused(config):
        r = a.post("/plugins", json={"name": "opentelemetry", "config": config})
        assert r.status_code == 400, r.text
        return r.json()

    assert "at least one of these fields must be non-empty: 'traces_endpoint', " \
        "'logs_endpoint'" in str(refused({}))
    body = refused({"endpoint": "http://example.dev", "resource_attributes": {"foo": ""}})
    assert body["config.resource_attributes"] == "length must be at least 1"
    body = refused({"endpoint": "http://example.dev", "resource_attributes": {"foo": 1}})
    assert body["config.resource_attributes"] == "expected a string"
    assert "config.traces_endpoint" in refused({"traces_endpoint": "example.dev/v1"})
    assert "config.logs_endpoint" in refused({"logs_endpoint": "http://example.dev/v1/logs"})
    assert "config.header_type" in refused({"traces_endpoint": "http://e.dev",
                                            "header_type": "zipkin"})
    assert "config.propagation.extract" in refused(
        {"traces_endpoint": "http://e.dev", "propagation": {"extract": ["b3-single"]}})
    assert "config.sampling_rate" in refused({"traces_endpoint": "http://e.dev",
                                              "sampling_rate": 1.5})
    # a header value never splits the export request
    assert "config.headers" in refused({"traces_endpoint": "http://e.dev",
                                        "headers": {"X-Token": "a\r\nX-Evil: 1"}})
    assert "config.headers" in refused({"traces_endpoint": "http://e.dev",
                                        "headers": {"Host": "other.example"}})


def test_defaults(node):
    r = ok(node.admin.post("/plugins", json={"name": "opentelemetry", "enabled": False,
                                             "config": {"endpoint": "http://e.dev/v1/traces"}}))
    c = r["config"]
    assert c["queue"]["max_batch_size"] == 200
    assert (c["connect_timeout"], c["send_timeout"], c["read_timeout"]) == (1000, 5000, 5000)
    assert c["header_type"] == "preserve"
    assert c["propagation"]["default_format"] == "w3c"
    ok(node.admin.delete("/plugins/" + r["id"]), 204)


def test_changed_endpoint_takes_effect(node, tmp_path):
    """06-regression_spec (KAG-1061): after the endpoint changes, traces go to the new one."""
    a = node.admin
    other = OtlpReceiver()
    try:
        r = ok(a.post("/routes", json={"hosts": ["moved.test"], "service": {"id": node.svc["id"]}}))
        p = ok(a.post("/routes/%s/plugins" % r["id"],
                      json={"name": "opentelemetry", "config": {"endpoint": node.otlp.url}}))
        trace = "3" * 32
        send(node, "moved.test", [("traceparent", "00-%s-%s-01" % (trace, P))])
        assert spans_of(node, trace)
        ok(a.patch("/plugins/" + p["id"], json={"config": {"endpoint": other.url}}), 200)
        trace2 = "4" * 32
        deadline = time.monotonic() + 10
        while not [s for s in other.spans() if s["trace_id"] == bytes.fromhex(trace2)]:
            assert time.monotonic() < deadline, "no trace at the new endpoint"
            send(node, "moved.test", [("traceparent", "00-%s-%s-01" % (trace2, P))])
            time.sleep(0.3)
    finally:
        other.stop()

# SPDX-License-Identifier: MIT
"""The headers torii adds as Kong 3 does, and the `headers` / `headers_upstream` settings that
choose them, ported from Kong 3.9's spec/02-integration/05-proxy/14-server_tokens_spec.lua,
15-upstream-status-header_spec.lua and 33-request-id-header_spec.lua: Via on proxied answers and
Server on torii's own (server_tokens); X-Kong-Upstream-Latency and X-Kong-Proxy-Latency once a
request went upstream (also on a 502 when the upstream is gone), X-Kong-Response-Latency on an
answer torii made before that (a 404 no route matched, a plugin's answer) (latency_tokens);
X-Kong-Request-Id both ways, replacing one the client, the upstream or a plugin sent, and the
same id the access log carries; each turned off or picked by name."""

import re
import types

import pytest

from harness import Torii, finish_torii, free_port, wait_for
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

HEX32 = re.compile(r"^[0-9a-f]{32}$")
LATENCY = ("X-Kong-Upstream-Latency", "X-Kong-Proxy-Latency")


def start(tmp_path_factory, name, settings):
    echo = UpstreamServer(echo_behaviour(extra_headers=[("Server", "echo-upstream"),
                                                        ("X-Kong-Request-Id", "from-upstream")]),
                          "E")
    t = Torii(tmp_path_factory.mktemp(name), dict({"worker_threads": "1"}, **settings))
    t.start()
    a = t.admin
    s = a.post("/services", json={"url": echo.url})
    assert s.status_code == 201, s.text
    r = a.post("/routes", json={"hosts": ["headers-inspect.test"],
                                "service": {"id": s.json()["id"]}})
    assert r.status_code == 201, r.text
    term = a.post("/routes", json={"hosts": ["request-termination.test"],
                                   "service": {"id": s.json()["id"]}})
    assert term.status_code == 201, term.text
    p = a.post("/routes/%s/plugins" % term.json()["id"],
               json={"name": "request-termination", "config": {"status_code": 503}})
    assert p.status_code == 201, p.text
    # a plugin that sets X-Kong-Request-Id both ways: torii's own id wins
    rt = a.post("/routes", json={"hosts": ["overwrite.test"], "service": {"id": s.json()["id"]}})
    assert rt.status_code == 201, rt.text
    for name, conf in (("request-transformer", {"add": {"headers": ["X-Kong-Request-Id:overwritten"]}}),
                       ("response-transformer",
                        {"add": {"headers": ["X-Kong-Request-Id:overwritten"]}})):
        p = a.post("/routes/%s/plugins" % rt.json()["id"], json={"name": name, "config": conf})
        assert p.status_code == 201, p.text
    gone = a.post("/services", json={"url": "http://127.0.0.1:%d" % free_port()})
    r502 = a.post("/routes", json={"hosts": ["502.test"], "service": {"id": gone.json()["id"]}})
    assert r502.status_code == 201, r502.text
    return types.SimpleNamespace(torii=t, echo=echo)


def stop(n):
    finish_torii(n.torii)
    n.echo.stop()


@pytest.fixture(scope="module")
def default_node(tmp_path_factory):
    n = start(tmp_path_factory, "headers-default", {})
    yield n
    stop(n)


@pytest.fixture(scope="module")
def off_node(tmp_path_factory):
    n = start(tmp_path_factory, "headers-off", {"headers": "off", "headers_upstream": "off"})
    yield n
    stop(n)


@pytest.fixture(scope="module")
def picked_node(tmp_path_factory):
    n = start(tmp_path_factory, "headers-picked",
              {"headers": "Via, X-Kong-Upstream-Latency, X-Kong-Upstream-Status"})
    yield n
    stop(n)


def get(node, host, headers=()):
    return one_request(node.torii.proxy_port, "GET", "/get", host=host, headers=list(headers))


def upstream_saw(resp):
    return {k.lower(): v for k, v in resp.json()["headers"]}


# ---- defaults: server_tokens, latency_tokens, X-Kong-Request-Id ------------------------------

def test_proxied_answer_has_via_latencies_and_request_id(default_node):
    r = get(default_node, "headers-inspect.test")
    assert r.status == 200
    assert r.header("Via").startswith("1.1 torii/")
    assert r.header("Server") == "echo-upstream"  # the upstream's, untouched
    for h in LATENCY:
        assert r.header(h) is not None and r.header(h).isdigit()
    assert r.header("X-Kong-Response-Latency") is None
    rid = r.header("X-Kong-Request-Id")
    assert HEX32.match(rid)
    assert r.header_all("X-Kong-Request-Id") == [rid]  # the upstream's one is replaced
    assert upstream_saw(r)["x-kong-request-id"] == rid


def test_request_id_is_new_per_request(default_node):
    ids = {get(default_node, "headers-inspect.test").header("X-Kong-Request-Id") for _ in range(5)}
    assert len(ids) == 5


def test_client_request_id_is_replaced_upstream(default_node):
    r = get(default_node, "headers-inspect.test", [("X-Kong-Request-Id", "client-value")])
    seen = [v for k, v in r.json()["headers"] if k.lower() == "x-kong-request-id"]
    assert seen == [r.header("X-Kong-Request-Id")]
    assert "client-value" not in seen


def test_plugin_value_is_overwritten_both_ways(default_node):
    r = get(default_node, "overwrite.test")
    assert r.status == 200
    assert HEX32.match(r.header("X-Kong-Request-Id"))
    assert r.header_all("X-Kong-Request-Id") == [r.header("X-Kong-Request-Id")]
    assert upstream_saw(r)["x-kong-request-id"] == r.header("X-Kong-Request-Id")


def test_no_route_answer_has_server_and_response_latency(default_node):
    r = get(default_node, "404.test")
    assert r.status == 404
    assert r.json()["message"] == "no Route matched with those values"
    assert r.header("Server").startswith("torii/")
    assert r.header("Via") is None
    for h in LATENCY:
        assert r.header(h) is None
    assert r.header("X-Kong-Response-Latency").isdigit()
    assert HEX32.match(r.header("X-Kong-Request-Id"))


def test_short_circuited_answer_has_response_latency_only(default_node):
    r = get(default_node, "request-termination.test")
    assert r.status == 503
    assert r.header("Server").startswith("torii/")
    for h in LATENCY:
        assert r.header(h) is None
    assert r.header("X-Kong-Response-Latency").isdigit()
    assert HEX32.match(r.header("X-Kong-Request-Id"))


def test_502_when_the_upstream_is_gone_has_upstream_latencies(default_node):
    r = get(default_node, "502.test")
    assert r.status == 502
    for h in LATENCY:
        assert r.header(h) is not None
    assert r.header("X-Kong-Response-Latency") is None
    assert HEX32.match(r.header("X-Kong-Request-Id"))


def test_access_log_carries_the_same_id(default_node):
    r = get(default_node, "headers-inspect.test")
    rid = r.header("X-Kong-Request-Id")
    t = default_node.torii
    assert wait_for(lambda: any(rid in line for line in t.access_log_lines()), timeout=5)


def test_upstream_status_is_off_by_default(default_node):
    assert get(default_node, "headers-inspect.test").header("X-Kong-Upstream-Status") is None


# ---- headers = off, headers_upstream = off ---------------------------------------------------

def test_off_adds_nothing(off_node):
    r = get(off_node, "headers-inspect.test", [("X-Kong-Request-Id", "client-value")])
    assert r.status == 200
    for h in ("Via", "X-Kong-Response-Latency") + LATENCY:
        assert r.header(h) is None, h
    # the upstream's own header passes when torii adds none
    assert r.header_all("X-Kong-Request-Id") == ["from-upstream"]
    assert r.header("Server") == "echo-upstream"
    # the client's header goes upstream as sent
    assert [v for k, v in r.json()["headers"] if k.lower() == "x-kong-request-id"] == \
        ["client-value"]


def test_off_own_answers_carry_no_server(off_node):
    for host, status in (("404.test", 404), ("request-termination.test", 503)):
        r = get(off_node, host)
        assert r.status == status
        for h in ("Server", "Via", "X-Kong-Request-Id", "X-Kong-Response-Latency") + LATENCY:
            assert r.header(h) is None, h


# ---- headers picked by name ------------------------------------------------------------------

def test_picked_headers_only(picked_node):
    r = get(picked_node, "headers-inspect.test")
    assert r.header("Via").startswith("1.1 torii/")
    assert r.header("X-Kong-Upstream-Latency") is not None
    assert r.header("X-Kong-Proxy-Latency") is None
    assert r.header("X-Kong-Upstream-Status") == "200"
    assert r.header("X-Kong-Request-Id") == "from-upstream"
    # headers_upstream keeps its default
    assert HEX32.match(upstream_saw(r)["x-kong-request-id"])
    r = get(picked_node, "404.test")
    assert r.header("Server") is None
    assert r.header("X-Kong-Response-Latency") is None

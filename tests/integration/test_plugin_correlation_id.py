# SPDX-License-Identifier: MIT
"""The correlation-id plugin, from Kong 3.9's spec/03-plugins/11-correlation-id/01-access_spec.lua
and 02-schema_spec.lua: the upstream receives an id in Kong-Request-ID (or the configured
header) from the uuid, uuid#counter and tracker generators; a client's non-empty id is kept, an
empty or blank one replaced; echo_downstream sends the id back, also on torii's own answers (a
502 from an upstream that is gone, a plugin's answer before correlation-id's access ran);
a bad generator or header name is refused naming the field."""

import re
import types

import pytest

from harness import Torii, finish_torii, free_port
from rawhttp import RawConn, one_request
from upstreams import UpstreamServer, echo_behaviour

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
UUID_COUNTER = UUID + r"#(\d+)"
# Kong's TRACKER_PATTERN: address-port-pid-connection-requests-seconds.milliseconds
TRACKER = r"\d+\.\d+\.\d+\.\d+-\d+-\d+-\d+-\d+-\d{10}\.\d{3}"


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("correlation"), {"worker_threads": "1"})
    t.start()
    a = t.admin

    def route(host, config=None, service_url=None, more=()):
        s = a.post("/services", json={"url": service_url or echo.url})
        assert s.status_code == 201, s.text
        r = a.post("/routes", json={"hosts": [host], "service": {"id": s.json()["id"]}})
        assert r.status_code == 201, r.text
        if config is not None:
            p = a.post("/routes/%s/plugins" % r.json()["id"],
                       json={"name": "correlation-id", "config": config})
            assert p.status_code == 201, p.text
        for name, conf in more:
            p = a.post("/routes/%s/plugins" % r.json()["id"], json={"name": name, "config": conf})
            assert p.status_code == 201, p.text

    route("correlation1.test", {})
    route("correlation2.test", {"header_name": "Foo-Bar-Id"})
    route("correlation3.test", {"generator": "uuid", "echo_downstream": True})
    route("correlation4.test", {"generator": "tracker"})
    route("correlation-timeout.test", {"generator": "uuid", "echo_downstream": True},
          service_url="http://127.0.0.1:%d" % free_port())
    route("correlation-no-echo.test", {"generator": "uuid"})
    # a plugin's own answer: Kong's spec uses a test plugin that answers 418 before
    # correlation-id's access runs; no bundled plugin runs before it (priority 100001), so here
    # request-termination answers after it
    route("correlation5.test", {"generator": "uuid", "echo_downstream": True},
          more=[("request-termination", {"status_code": 418, "message": "teapot"})])
    yield types.SimpleNamespace(torii=t, echo=echo)
    finish_torii(t)
    echo.stop()


def get(node, host, headers=()):
    return one_request(node.torii.proxy_port, "GET", "/request", host=host, headers=headers)


def upstream_header(node, name):
    return node.echo.requests[-1].header(name)


def test_uuid_counter_increments(node):
    """uuid#counter (the default): one UUID per worker, the counter after '#' goes up by one."""
    c = RawConn(node.torii.proxy_port)
    try:
        ids = []
        for _ in range(2):
            r = c.request("GET", "/request", "correlation1.test")
            assert r.status == 200
            ids.append(upstream_header(node, "kong-request-id"))
    finally:
        c.close()
    m1, m2 = (re.fullmatch(UUID_COUNTER, i) for i in ids)
    assert m1 and m2, ids
    assert ids[0].split("#")[0] == ids[1].split("#")[0]
    assert int(m2.group(1)) == int(m1.group(1)) + 1


def test_uuid_is_new_for_every_request(node):
    ids = []
    for _ in range(2):
        assert get(node, "correlation3.test").status == 200
        ids.append(upstream_header(node, "kong-request-id"))
    assert all(re.fullmatch(UUID, i) for i in ids), ids
    assert ids[0] != ids[1]


def test_tracker_is_new_for_every_request(node):
    ids = []
    for _ in range(2):
        assert get(node, "correlation4.test").status == 200
        ids.append(upstream_header(node, "kong-request-id"))
    assert all(re.fullmatch(TRACKER, i) for i in ids), ids
    assert ids[0] != ids[1]
    assert ids[0].startswith("127.0.0.1-%d-" % node.torii.proxy_port)


def test_echo_downstream_sends_the_upstreams_id_back(node):
    r = get(node, "correlation3.test")
    assert r.status == 200
    assert re.fullmatch(UUID, r.header("kong-request-id"))
    assert r.header("kong-request-id") == upstream_header(node, "kong-request-id")


def test_echo_downstream_on_torii_own_error_answer(node):
    """Kong's "echo_downstream sends uuid back to client even when upstream timeouts": here the
    upstream is gone, the answer torii's 502."""
    r = get(node, "correlation-timeout.test")
    assert r.status == 502
    assert re.fullmatch(UUID, r.header("kong-request-id") or "")


def test_no_echo_unless_asked(node):
    r = get(node, "correlation-no-echo.test")
    assert r.status == 200
    assert r.header("kong-request-id") is None
    assert re.fullmatch(UUID, upstream_header(node, "kong-request-id"))


def test_custom_header_name(node):
    assert get(node, "correlation2.test").status == 200
    assert re.fullmatch(UUID_COUNTER, upstream_header(node, "foo-bar-id"))
    assert upstream_header(node, "kong-request-id") is None


@pytest.mark.parametrize("sent, kept", [("foobar", True), ("", False), (" ", False)])
def test_a_client_id_is_kept_unless_empty(node, sent, kept):
    r = get(node, "correlation1.test", headers=[("Kong-Request-ID", sent)])
    assert r.status == 200
    got = upstream_header(node, "kong-request-id")
    if kept:
        assert got == sent
    else:
        assert re.fullmatch(UUID_COUNTER, got), got


def test_echo_with_an_answer_from_another_plugin(node):
    """Kong's "executes with echo_downstream when access did not execute" and "echoes incoming
    with echo_downstream ...": the answer is a plugin's, the id still goes back, the client's
    when it sent one."""
    r = get(node, "correlation5.test")
    assert r.status == 418
    assert re.fullmatch(UUID, r.header("kong-request-id") or "")
    r = get(node, "correlation5.test", headers=[("kong-request-id", "my very personal id")])
    assert r.status == 418
    assert r.header("kong-request-id") == "my very personal id"


def test_bad_configs_are_refused_naming_the_field(node):
    """The plugins endpoints answer in the shape of torii's other plugin errors (Kong 0.7's
    "config.<field>" keys)."""
    a = node.torii.admin
    r = a.post("/plugins", json={"name": "correlation-id", "config": {"generator": "random"}})
    assert r.status_code == 400, r.text
    assert "uuid#counter" in r.json()["config.generator"]
    r = a.post("/plugins", json={"name": "correlation-id",
                                 "config": {"header_name": "bad name"}})
    assert r.status_code == 400, r.text
    assert "bad header name" in r.json()["config.header_name"]

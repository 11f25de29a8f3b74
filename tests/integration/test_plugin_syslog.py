# SPDX-License-Identifier: MIT
"""The syslog plugin, ported from Kong 3.9's spec/03-plugins/05-syslog/01-log_spec.lua against a
system log of the test's own (a Unix datagram socket named by `syslog_socket`): a line is
written when the answer's severity is at least as severe as log_level, in syslog(3)'s format
with the ident "kong" and its pid, the JSON keeps a header's underscores; a system log that is
gone costs the request nothing."""

import json
import os
import re
import socket
import time
import types
import uuid

import pytest
import requests

from harness import Torii, finish_torii, wait_for
from upstreams import UpstreamServer, echo_behaviour

NO_PROXY = {"http": None, "https": None}
LINE = re.compile(rb"^<(\d+)>([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) kong\[(\d+)\]: (\{.*\})$")


def ok(r, status=201):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def syslogd(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("syslog") / "log.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(0.1)
    yield types.SimpleNamespace(sock=s, path=path)
    s.close()
    if os.path.exists(path):
        os.remove(path)


@pytest.fixture(scope="module")
def node(tmp_path_factory, syslogd):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("syslog-node"),
              {"worker_threads": "1", "syslog_socket": syslogd.path})
    t.start()
    a = t.admin
    ok(a.post("/services", json={"name": "mock", "url": echo.url}))
    warn = {"successful_severity": "warning", "client_errors_severity": "warning",
            "server_errors_severity": "warning"}
    for host, level in (("logging.test", "info"), ("logging2.test", "err"),
                        ("logging3.test", "warning")):
        r = ok(a.post("/services/mock/routes", json={"hosts": [host], "name": host}))
        ok(a.post("/routes/%s/plugins" % r["id"],
                  json={"name": "syslog", "config": dict(warn, log_level=level)}))
    r = ok(a.post("/services/mock/routes", json={"hosts": ["facility.test"],
                                                 "name": "facility.test"}))
    ok(a.post("/routes/%s/plugins" % r["id"],
              json={"name": "syslog", "config": {"facility": "local3",
                                                 "client_errors_severity": "crit"}}))
    yield t
    finish_torii(t)
    echo.stop()


def read_lines(sock, marker, timeout=3):
    found = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            d = sock.sock.recv(1 << 20)
        except socket.timeout:
            continue
        if marker.encode() in d:
            found.append(d)
            break
    return found


def do_test(node, syslogd, host, expecting, path="/request"):
    mark = str(uuid.uuid4())
    r = requests.get("http://127.0.0.1:%d%s" % (node.proxy_port, path),
                     headers={"Host": host, "sys_log_uuid": mark}, timeout=10,
                     proxies=NO_PROXY)
    lines = read_lines(syslogd, mark, timeout=3 if expecting else 0.5)
    assert bool(lines) == expecting
    return r, (lines[0] if lines else None)


def test_logs_to_syslog_if_log_level_is_lower(node, syslogd):
    _, line = do_test(node, syslogd, "logging.test", True)
    m = LINE.match(line)
    assert m, line
    assert int(m.group(1)) == 8 * 1 + 4  # facility user, severity warning
    doc = json.loads(m.group(4))
    assert doc["request"]["headers"]["sys_log_uuid"]  # the underscore is kept
    assert b'"sys_log_uuid":"' in line


def test_does_not_log_if_log_level_is_higher(node, syslogd):
    do_test(node, syslogd, "logging2.test", False)


def test_logs_if_log_level_is_the_same(node, syslogd):
    do_test(node, syslogd, "logging3.test", True)


def test_facility_and_severity_per_status_class(node, syslogd):
    _, line = do_test(node, syslogd, "facility.test", True)
    assert int(LINE.match(line).group(1)) == 8 * 19 + 6  # local3, info (a 200)


def test_schema_refuses_unknown_severity_and_lua(node):
    for cfg, field in (({"log_level": "loud"}, "config.log_level"),
                       ({"facility": "nowhere"}, "config.facility"),
                       ({"custom_fields_by_lua": {"a": "return 1"}},
                        "config.custom_fields_by_lua")):
        r = node.admin.post("/plugins", json={"name": "syslog", "config": cfg})
        assert r.status_code == 400 and field in r.json(), r.text


def test_a_system_log_that_is_gone_costs_nothing(tmp_path, torii_factory):
    t = torii_factory(settings={"syslog_socket": str(tmp_path / "missing.sock"),
                                "worker_threads": "1"})
    echo = UpstreamServer(echo_behaviour(), "E2")
    try:
        s = ok(t.admin.post("/services", json={"url": echo.url}))
        ok(t.admin.post("/services/%s/routes" % s["id"], json={"paths": ["/"]}))
        ok(t.admin.post("/plugins", json={"name": "syslog"}))
        before = t.stderr_size()
        for _ in range(3):
            r = requests.get("http://127.0.0.1:%d/x" % t.proxy_port, timeout=10,
                             proxies=NO_PROXY)
            assert r.status_code == 200
        assert wait_for(lambda: "[syslog] cannot write to" in t.stderr_text()[before:],
                        timeout=5)
        # said once a minute per worker thread, not once per request
        assert t.stderr_text()[before:].count("[syslog] cannot write to") == 1
    finally:
        echo.stop()

# SPDX-License-Identifier: MIT
"""The proxy's access log: Kong's kong_log_format fields (nginx/kong_defaults' log_format:
remote address, time, request line, status, body bytes, referer, user agent, kong_request_id)
followed by torii's timings; client bytes escaped so no field can be forged; the request id is
the one the log serializer writes; proxy_access_log_format = json gives one object per line."""

import json
import re

import requests

from harness import wait_for

NO_PROXY = {"http": None, "https": None}
KONG_LINE = re.compile(
    r'^(\S+) - - \[(\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000)\] "([^"]*)" (\d{3}) (\d+) '
    r'"([^"]*)" "([^"]*)" kong_request_id: "([0-9a-f]{32})" route=(\S+) upstream=(\S+).* '
    r'proxy_latency=\d+ upstream_latency=\d+ request_time=\d+$')


def line_with(t, marker):
    return wait_for(lambda: next((ln for ln in t.access_log_lines() if marker in ln), None),
                    timeout=5)


def setup_route(t, echo, name="logged"):
    s = t.admin.post("/services", json={"url": echo.url}).json()
    r = t.admin.post("/services/%s/routes" % s["id"], json={"name": name, "paths": ["/a"]})
    assert r.status_code == 201, r.text


def test_kong_format(torii_factory, echo, tmp_path):
    t = torii_factory()
    setup_route(t, echo)
    logf = tmp_path / "f.log"
    assert t.admin.post("/plugins", json={"name": "file-log",
                                          "config": {"path": str(logf)}}).status_code == 201
    r = requests.get("http://127.0.0.1:%d/a/kong-fmt?x=1" % t.proxy_port, timeout=10,
                     proxies=NO_PROXY, headers={"Referer": "http://ref.test/p",
                                                "User-Agent": 'agent "quoted"\\x'})
    assert r.status_code == 200
    ln = line_with(t, "kong-fmt")
    m = KONG_LINE.match(ln)
    assert m, ln
    assert m.group(1) == "127.0.0.1"
    assert m.group(3) == "GET /a/kong-fmt?x=1 HTTP/1.1"
    assert m.group(4) == "200" and int(m.group(5)) > 0
    assert m.group(6) == "http://ref.test/p"
    assert m.group(7) == "agent \\x22quoted\\x22\\x5Cx"  # nginx's escaping: no forged field
    assert m.group(9) == "logged"
    # the same id as the log serializer's request.id
    entry = wait_for(lambda: next((json.loads(x) for x in logf.read_text().splitlines()
                                   if "kong-fmt" in x), None) if logf.exists() else None, 5)
    assert entry["request"]["id"] == m.group(8)


def test_missing_headers_are_dashes(torii_factory, echo):
    t = torii_factory()
    setup_route(t, echo)
    from rawhttp import one_request
    assert one_request(t.proxy_port, "GET", "/a/dashes").status == 200
    m = KONG_LINE.match(line_with(t, "dashes"))
    assert m and m.group(6) == "-" and m.group(7) == "-"


def test_json_format(torii_factory, echo):
    t = torii_factory({"proxy_access_log_format": "json"})
    setup_route(t, echo, "jroute")
    r = requests.get("http://127.0.0.1:%d/a/json-fmt" % t.proxy_port, timeout=10,
                     proxies=NO_PROXY, headers={"User-Agent": 'ua "x"'})
    assert r.status_code == 200
    doc = json.loads(line_with(t, "json-fmt"))
    assert doc["client_ip"] == "127.0.0.1" and doc["method"] == "GET"
    assert doc["uri"] == "/a/json-fmt" and doc["status"] == 200
    assert doc["user_agent"] == 'ua "x"' and doc["referer"] == ""
    assert re.fullmatch(r"[0-9a-f]{32}", doc["kong_request_id"])
    assert doc["route"] == "jroute" and set(doc["latencies"]) == {"proxy", "upstream", "request"}


def test_unknown_format_is_refused(tmp_path):
    from harness import start_must_fail
    err = start_must_fail(tmp_path, {"TORII_PROXY_ACCESS_LOG_FORMAT": "apache"})
    assert "proxy_access_log_format" in err

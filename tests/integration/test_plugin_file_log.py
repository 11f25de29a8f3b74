# SPDX-License-Identifier: MIT
"""The file-log plugin and Kong's log serializer, ported from Kong 3.9's
spec/03-plugins/04-file-log/01-log_spec.lua and 02-schema_spec.lua, and the serializer's fields
from kong/pdk/log.lua (spec/01-unit/10-log_serializer_spec.lua): one JSON line per request;
`reopen` opens the file per request; without it the file stays open until `torii reopen`
(SIGUSR1, logrotate); a path that cannot be opened is named in the error log and the request is
served; custom_fields_by_lua is refused (torii runs no Lua)."""

import json
import os
import time
import uuid

import pytest
import requests

from harness import Torii, finish_torii, run_cli, wait_for
from upstreams import UpstreamServer, echo_behaviour

NO_PROXY = {"http": None, "https": None}


def ok(r, status=201):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def echo():
    s = UpstreamServer(echo_behaviour(), "E")
    yield s
    s.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory, echo):
    work = tmp_path_factory.mktemp("file-log")
    t = Torii(work, {"worker_threads": "1"}, ssl_port=True)
    t.start()
    t.log_path = str(work / "file.log")
    a = t.admin
    ok(a.post("/services", json={"name": "mock-service", "url": echo.url}))

    def route(host, config, name=None, **fields):
        r = ok(a.post("/services/mock-service/routes",
                      json=dict({"hosts": [host], "name": name or host}, **fields)))
        ok(a.post("/routes/%s/plugins" % r["id"], json={"name": "file-log", "config": config}))
        return r

    route("file_logging.test", {"path": t.log_path, "reopen": True})
    route("file_logging2.test", {"path": str(work / "dir" / "file"), "reopen": True})
    route("file_logging3.test", {"path": str(work) + "/", "reopen": True})
    route("file_logging4.test", {"path": str(work / "file4.log"), "reopen": False})
    route("file_logging6.test", {"path": "/dev/null", "reopen": True})
    auth = route("auth.test", {"path": t.log_path, "reopen": True},
                 paths=["/strip"], strip_path=True)
    ok(a.post("/routes/%s/plugins" % auth["id"], json={"name": "key-auth"}))
    ok(a.post("/consumers", json={"username": "alice", "custom_id": "c-1"}))
    t.cred = ok(a.post("/consumers/alice/key-auth", json={"key": "alice-key"}))
    t.auth_route = auth
    corr = route("corr.test", {"path": t.log_path, "reopen": True})
    ok(a.post("/routes/%s/plugins" % corr["id"],
              json={"name": "correlation-id", "config": {"generator": "uuid"}}))
    yield t
    finish_torii(t)


@pytest.fixture(autouse=True)
def clean_log(node):
    for p in (node.log_path,):
        if os.path.exists(p):
            os.remove(p)
    yield


def get(node, host, path="/request", headers=None, https=False):
    h = {"Host": host}
    h.update(headers or {})
    if https:
        url = "https://127.0.0.1:%d%s" % (node.ssl_port, path)
    else:
        url = "http://127.0.0.1:%d%s" % (node.proxy_port, path)
    return requests.get(url, headers=h, timeout=10, proxies=NO_PROXY, verify=False)


def log_entry(path, marker, timeout=10):
    """The logged object whose request carries marker (waits for it)."""
    found = []

    def seen():
        if not os.path.exists(path):
            return False
        for line in open(path).read().splitlines():
            if marker in line:
                found.append(json.loads(line))
                return True
        return False
    assert wait_for(seen, timeout=timeout), "no line with %s in %s" % (marker, path)
    return found[0]


def test_logs_to_file(node):
    mark = str(uuid.uuid4())
    assert get(node, "file_logging.test", headers={"file-log-uuid": mark}).status_code == 200
    e = log_entry(node.log_path, mark)
    assert e["client_ip"] == "127.0.0.1"
    assert e["request"]["headers"]["file-log-uuid"] == mark
    assert isinstance(e["request"]["size"], int) and e["request"]["size"] > 0
    assert isinstance(e["response"]["size"], int) and e["response"]["size"] > 0
    # one JSON object per line, "/" escaped as Kong's cjson does
    raw = open(node.log_path).read()
    assert raw.endswith("\n") and "\\/request" in raw
    assert oct(os.stat(node.log_path).st_mode & 0o777) == "0o644"


def test_serializer_fields(node, echo):
    mark = str(uuid.uuid4())
    r = get(node, "file_logging.test",
            "/request/x?foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar",
            headers={"file-log-uuid": mark, "Authorization": "Basic c2VjcmV0",
                     "Proxy-Authorization": "Basic c2VjcmV0", "X-Multi": "a"})
    assert r.status_code == 200
    e = log_entry(node.log_path, mark)
    req = e["request"]
    assert req["method"] == "GET"
    assert req["uri"] == "/request/x?foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar"
    assert req["url"] == "http://file_logging.test:%d%s" % (node.proxy_port, req["uri"])
    assert req["querystring"] == {"foo": "hello world", "bar": ["baz", "bla", True],
                                  "zzz": True, "blo": ""}
    assert req["headers"]["authorization"] == "REDACTED"
    assert req["headers"]["proxy-authorization"] == "REDACTED"
    assert req["headers"]["x-multi"] == "a"
    assert len(req["id"]) == 32 and int(req["id"], 16) >= 0
    assert "tls" not in req
    assert e["upstream_uri"] == "/request/x?foo=hello%20world&bar=baz&zzz&blo=&bar=bla&bar"
    assert e["upstream_status"] == "200"
    assert e["response"]["status"] == 200
    assert e["response"]["headers"]["server"] == "echo-upstream"
    assert e["response"]["headers"]["content-type"] == "application/json"
    lat = e["latencies"]
    assert lat["proxy"] >= 0 and lat["proxy"] < 3000
    assert 1 + lat["request"] >= lat["kong"] + lat["proxy"]
    assert e["tries"][0]["ip"] == "127.0.0.1" and e["tries"][0]["port"] == echo.port
    assert e["route"]["name"] == "file_logging.test"
    assert e["route"]["hosts"] == ["file_logging.test"]
    assert e["route"]["service"] == {"id": e["service"]["id"]}
    assert "service_id" not in e["route"] and None not in e["route"].values()
    assert e["service"]["name"] == "mock-service" and e["service"]["port"] == echo.port
    assert "consumer" not in e and "authenticated_entity" not in e
    assert e["source"] == "upstream" and e["workspace_name"] == "default"
    assert abs(e["started_at"] / 1000.0 - time.time()) < 60


def test_authenticated_request_and_plugin_answer(node):
    """A consumer's request: consumer and authenticated_entity (the credential's id, never its
    key); key-auth's 401 is logged too (Kong's delayed response), source kong, no tries."""
    mark = str(uuid.uuid4())
    r = get(node, "auth.test", "/strip/more", headers={"apikey": "alice-key", "x-mark": mark})
    assert r.status_code == 200
    e = log_entry(node.log_path, mark)
    assert e["consumer"]["username"] == "alice" and e["consumer"]["custom_id"] == "c-1"
    assert e["authenticated_entity"] == {"id": node.cred["id"],
                                         "consumer_id": e["consumer"]["id"]}
    assert "alice-key" not in json.dumps(e["authenticated_entity"])
    assert e["upstream_uri"] == "/more"
    assert e["request"]["headers"]["x-consumer-username"] == "alice"
    mark = str(uuid.uuid4())
    assert get(node, "auth.test", "/strip", headers={"x-mark": mark}).status_code == 401
    e = log_entry(node.log_path, mark)
    assert e["response"]["status"] == 401 and e["source"] == "kong"
    assert e["tries"] == [] and e["upstream_status"] == "" and e["upstream_uri"] == ""
    assert e["latencies"]["proxy"] == -1
    assert "consumer" not in e


def test_correlation_id_is_logged(node, echo):
    """correlation-id's id is in the log line (Kong: set_serialize_value), the one the
    upstream got."""
    mark = str(uuid.uuid4())
    assert get(node, "corr.test", headers={"x-mark": mark}).status_code == 200
    e = log_entry(node.log_path, mark)
    assert e["correlation_id"] == e["request"]["headers"]["kong-request-id"]
    assert len(e["correlation_id"]) == 36


def test_logs_tls_info(node):
    mark = str(uuid.uuid4())
    assert get(node, "file_logging.test", headers={"file-log-uuid": mark},
               https=True).status_code == 200
    e = log_entry(node.log_path, mark)
    tls = e["request"]["tls"]
    assert tls["version"] in ("TLSv1.2", "TLSv1.3") and isinstance(tls["cipher"], str)
    assert tls["client_verify"] == "NONE"
    assert e["request"]["url"].startswith("https://file_logging.test:%d/" % node.ssl_port)


def test_reopens_file_on_each_request(node):
    marks = [str(uuid.uuid4()) for _ in range(3)]
    assert get(node, "file_logging.test", headers={"file-log-uuid": marks[0]}).status_code == 200
    log_entry(node.log_path, marks[0])
    os.remove(node.log_path)
    for m in marks[1:]:
        assert get(node, "file_logging.test", headers={"file-log-uuid": m}).status_code == 200
    log_entry(node.log_path, marks[2])
    text = open(node.log_path).read()
    assert marks[1] in text and marks[0] not in text


@pytest.mark.parametrize("host,why", [("file_logging2.test", "No such file or directory"),
                                      ("file_logging3.test", "Is a directory")])
def test_unusable_path_is_logged_and_the_request_served(node, host, why):
    before = node.stderr_size()
    assert get(node, host).status_code == 200
    assert wait_for(lambda: "[file-log] failed to open the file: " + why
                    in node.stderr_text()[before:], timeout=10)


def test_logs_are_lost_if_reopen_is_false_and_the_file_is_gone(node, tmp_path):
    path = node.log_path.replace("file.log", "file4.log")
    mark = str(uuid.uuid4())
    assert get(node, "file_logging4.test", headers={"x-mark": mark}).status_code == 200
    log_entry(path, mark)
    os.remove(path)
    assert get(node, "file_logging4.test").status_code == 200
    time.sleep(0.3)
    assert not os.path.exists(path)
    # `torii reopen` (SIGUSR1, what logrotate runs): the path is opened again
    p = run_cli(["reopen"], env=node.env())
    assert p.returncode == 0, p.stderr
    mark = str(uuid.uuid4())
    assert wait_for(lambda: get(node, "file_logging4.test",
                                headers={"x-mark": mark}).status_code == 200
                    and os.path.exists(path), timeout=10)
    log_entry(path, mark)


def test_character_device_is_fine(node):
    before = node.stderr_size()
    assert get(node, "file_logging6.test").status_code == 200
    time.sleep(0.3)
    assert "[file-log] failed to open the file" not in node.stderr_text()[before:]


# ---- 02-schema_spec.lua -------------------------------------------------------------------

@pytest.mark.parametrize("config,field,message", [
    ({"reopen": True}, "config.path", None),
    ({"path": "/ovo*", "reopen": True}, "config.path", "not a valid filename"),
    ({"path": "/tmp/a`b"}, "config.path", "not a valid filename"),
    ({"path": ""}, "config.path", None),
    ({"path": "/tmp/log.txt", "custom_fields_by_lua": {"foo": "return 'bar'"}},
     "config.custom_fields_by_lua", "torii runs no Lua code: custom_fields_by_lua is not supported"),
])
def test_schema_refuses(node, config, field, message):
    r = node.admin.post("/plugins", json={"name": "file-log", "config": config})
    assert r.status_code == 400, r.text
    body = r.json()
    assert field in body, body
    if message:
        assert body[field] == message


def test_schema_accepts_a_valid_filename(node):
    r = node.admin.post("/plugins", json={"name": "file-log",
                                         "config": {"path": "/tmp/log.txt", "reopen": True,
                                                    "custom_fields_by_lua": {}}})
    assert r.status_code == 201, r.text
    assert r.json()["config"]["path"] == "/tmp/log.txt"
    assert node.admin.delete("/plugins/" + r.json()["id"]).status_code == 204

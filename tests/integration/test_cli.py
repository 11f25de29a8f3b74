# SPDX-License-Identifier: MIT
"""The command line: version, check, start-up refusals, settings from file and environment,
health, daemon mode with its pid file, TLS-flagged listeners, the default database and access
log, and the admin listener's exposure (G-01, G-02)."""

import os
import re
import signal
import subprocess
import time

import pytest

from harness import (SLOW, TORII_BIN, child_env, free_port, pid_alive, run_cli, start_must_fail,
                     wait_for)
from rawhttp import RawConn, one_request


def write_conf(path, text):
    path.write_text(text)
    return path


def test_version():
    p = run_cli(["version"])
    assert p.returncode == 0, p.stderr
    assert re.search(r"\d+\.\d+", p.stdout + p.stderr), p.stdout


def test_check_good_file(tmp_path):
    conf = write_conf(tmp_path / "torii.conf",
                      "# a comment\n"
                      "proxy_listen = 127.0.0.1:18000, 127.0.0.1:18443 ssl\n"
                      "admin_listen = 127.0.0.1:18001\n"
                      "worker_threads = 2\n"
                      "client_header_timeout = 2s\n"
                      "keepalive_timeout = 500ms\n"
                      "keepalive_requests = 10\n"
                      "escaped_slashes = reject\n"
                      "proxy_access_log = off\n")
    p = run_cli(["check", str(conf)], env={"TORII_PREFIX": str(tmp_path)})
    assert p.returncode == 0, p.stdout + p.stderr


@pytest.mark.parametrize("line,key", [
    ("no_such_key = 1", "no_such_key"),
    ("keepalive_requests = lots", "keepalive_requests"),
    ("client_header_timeout = soon", "client_header_timeout"),
    ("proxy_listen = nowhere", "proxy_listen"),
    ("escaped_slashes = maybe", "escaped_slashes"),
])
def test_check_bad_file_names_the_key(tmp_path, line, key):
    conf = write_conf(tmp_path / "torii.conf", "worker_threads = 2\n" + line + "\n")
    p = run_cli(["check", str(conf)], env={"TORII_PREFIX": str(tmp_path)})
    assert p.returncode != 0, p.stdout + p.stderr
    assert key in (p.stdout + p.stderr).lower(), p.stdout + p.stderr


def test_start_refuses_unknown_key_in_file(tmp_path):
    conf = write_conf(tmp_path / "torii.conf", "frobnicate_level = 3\n")
    out = start_must_fail(tmp_path, conf=conf)
    assert "frobnicate_level" in out.lower(), out


def test_start_refuses_bad_value_in_file(tmp_path):
    conf = write_conf(tmp_path / "torii.conf", "max_headers = -5\n")
    out = start_must_fail(tmp_path, conf=conf)
    assert "max_headers" in out.lower(), out


def test_start_refuses_bad_value_in_env(tmp_path):
    out = start_must_fail(tmp_path, env_extra={"TORII_KEEPALIVE_TIMEOUT": "forever"})
    assert "keepalive_timeout" in out.lower(), out


def test_admin_on_public_address_is_refused(tmp_path):
    """G-01: a non-loopback admin listener without admin_allow_remote stops start-up."""
    out = start_must_fail(tmp_path,
                          env_extra={"TORII_ADMIN_LISTEN": "0.0.0.0:%d" % free_port()})
    assert "admin_listen" in out.lower() or "admin_allow_remote" in out.lower(), out


def test_env_overrides_file(torii_factory, tmp_path, echo):
    """The file is read (keepalive_requests = 3 takes effect) and TORII_ADMIN_LISTEN wins over
    the file's admin_listen."""
    file_admin = free_port()
    conf = write_conf(tmp_path / "torii.conf",
                      "admin_listen = 127.0.0.1:%d\nkeepalive_requests = 3\n" % file_admin)
    t = torii_factory(config_file=conf)
    assert t.admin.get("/status").status_code == 200
    with pytest.raises(OSError):
        RawConn(file_admin, timeout=1).close()
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = t.raw()
    for i in range(3):
        r = c.request("GET", "/e/%d" % i)
        assert r.status == 200, r
    assert r.conn_close(), "the third response should close (keepalive_requests = 3)"
    assert c.wait_closed(2 * SLOW)
    c.close()


@pytest.mark.sqlite_file
def test_database_in_prefix(torii):
    assert torii.db_path.exists()


def test_health(torii):
    env = torii.env()
    p = run_cli(["health"], env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert torii.stop() == 0
    p = run_cli(["health"], env=env)
    assert p.returncode != 0, p.stdout + p.stderr


def test_daemon_pid_file_and_stop(tmp_path):
    prefix = tmp_path / "prefix"
    prefix.mkdir()
    admin = free_port()
    env = {"TORII_PREFIX": str(prefix),
           "TORII_PROXY_LISTEN": "127.0.0.1:%d" % free_port(),
           "TORII_ADMIN_LISTEN": "127.0.0.1:%d" % admin,
           "TORII_WORKER_THREADS": "2"}
    p = subprocess.run([TORII_BIN, "start", "-d"], env=child_env(env), stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=20 * SLOW)
    pid = None
    try:
        assert p.returncode == 0, p.stderr
        pidfile = prefix / "torii.pid"
        assert wait_for(pidfile.exists, 10), "no pid file"
        pid = int(wait_for(lambda: pidfile.read_text().strip(), 5))
        assert pid_alive(pid)
        import requests
        r = wait_for(lambda: _status_ok(requests, admin), 10)
        assert r, "daemon does not answer /status"
        os.kill(pid, signal.SIGTERM)
        assert wait_for(lambda: not pid_alive(pid), 20), "daemon did not stop"
        pid = None
    finally:
        if pid is not None and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def _status_ok(requests, port):
    try:
        return requests.get("http://127.0.0.1:%d/status" % port, timeout=0.5,
                            proxies={"http": None, "https": None}).status_code == 200
    except requests.RequestException:
        return False


def test_ssl_flagged_listener_starts(torii_factory, echo):
    """A listener flagged ssl is opened; plain proxying keeps working on the plain one."""
    t = torii_factory(ssl_port=True)
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    c = RawConn(t.ssl_port, timeout=2)   # the port is open
    c.close()
    r = one_request(t.proxy_port, "GET", "/e/x")
    assert r.status == 200


def test_access_log_default_and_off(torii_factory, echo):
    t = torii_factory()
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    for i in range(3):
        assert one_request(t.proxy_port, "GET", "/e/logged-%d" % i).status == 200
    lines = wait_for(lambda: [ln for ln in t.access_log_lines() if "logged-" in ln]
                     if len([ln for ln in t.access_log_lines() if "logged-" in ln]) >= 3
                     else None, 5)
    assert lines and len(lines) == 3, t.access_log_lines()
    t2 = torii_factory({"proxy_access_log": "off"})
    t2.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    assert one_request(t2.proxy_port, "GET", "/e/quiet").status == 200
    time.sleep(0.5)
    assert not any("quiet" in ln for ln in t2.access_log_lines())


def test_admin_access_log(torii_factory):
    """admin_access_log (off by default) gets one line per Admin API answer in nginx's combined
    format, the query left out, client-sent quotes escaped; the proxy's log gets none."""
    t = torii_factory({"admin_access_log": "logs/admin.log"})
    log = t.prefix / "logs" / "admin.log"
    assert one_request(t.admin_port, "GET", "/apis?size=1&name=x", host="localhost",
                       headers=[("User-Agent", 'ua "quoted"'),
                                ("Referer", "http://r/")]).status == 200
    assert one_request(t.admin_port, "POST", "/apis", host="localhost", body=b"name=a",
                       headers=[("Content-Type", "application/x-www-form-urlencoded")]).status == 400
    c = RawConn(t.admin_port, timeout=2 * SLOW)
    c.send(b"GET /apis HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n")
    assert c.read_response().status == 400
    c.close()

    def logged():  # the harness's own readiness probes (GET /status) aside
        lines = log.read_text().splitlines() if log.exists() else []
        lines = [ln for ln in lines if "/status" not in ln]
        return lines if len(lines) >= 3 else None
    lines = wait_for(logged, 5)
    assert lines and len(lines) == 3, lines
    pat = re.compile(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                     r'"([^"]*)" (\d{3}) (\d+) "([^"]*)" "([^"]*)"$')
    m = [pat.match(ln) for ln in lines]
    assert all(m), lines
    assert m[0].groups()[:2] == ("GET /apis HTTP/1.1", "200")
    assert int(m[0].group(3)) > 0
    assert m[0].group(4) == "http://r/" and m[0].group(5) == "ua \\x22quoted\\x22"
    assert m[1].groups()[:2] == ("POST /apis HTTP/1.1", "400")
    assert m[2].groups()[:2] == ("-", "400")
    assert not any("/apis" in ln for ln in t.access_log_lines())
    # off (the default): no file, and still no line in the proxy's log
    t2 = torii_factory()
    assert one_request(t2.admin_port, "GET", "/apis", host="localhost").status == 200
    assert not (t2.prefix / "logs" / "admin.log").exists()
    assert not any("/apis" in ln for ln in t2.access_log_lines())


def test_admin_routes_not_on_proxy_port(torii):
    """G-02: the proxy answers admin paths with its own 404."""
    for path in ("/apis", "/status", "/consumers"):
        r = one_request(torii.proxy_port, "GET", path, host="127.0.0.1")
        assert r.status == 404, r
        assert r.json().get("message") == "API not found with these values", r

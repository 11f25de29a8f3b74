# SPDX-License-Identifier: MIT
"""tcp-log and udp-log, ported from Kong 3.9's spec/03-plugins/01-tcp-log/01-tcp-log_spec.lua
and 02-udp-log/01-udp-log_spec.lua against receivers written here: one JSON line per request
over TCP (a kept connection, TLS with the configured SNI), one datagram per request over UDP;
proper latencies; "tries":[] when a plugin answered; a receiver that is down named in the error
log while the proxied request is served; bad configs refused naming the field."""

import json
import socket
import ssl
import subprocess
import threading
import time

import pytest
import requests

from harness import Torii, finish_torii, free_port, wait_for
from upstreams import UpstreamServer, echo_behaviour

NO_PROXY = {"http": None, "https": None}


class TcpReceiver:
    """Accepts connections (TLS with a context), reads lines, keeps them (raw and parsed)."""

    def __init__(self, context=None):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.context = context
        self.lines = []
        self.connections = 0
        self.snis = []
        self.lock = threading.Lock()
        self.stopped = False
        if context is not None:
            context.sni_callback = lambda s, name, c: self.snis.append(name)
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        try:
            if self.context is not None:
                c = self.context.wrap_socket(c, server_side=True)
            buf = b""
            while True:
                data = c.recv(65536)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    with self.lock:
                        self.lines.append(line)
        except (OSError, ssl.SSLError):
            return
        finally:
            c.close()

    def wait(self, marker, timeout=10):
        found = []

        def seen():
            with self.lock:
                for ln in self.lines:
                    if marker.encode() in ln:
                        found.append(ln)
                        return True
            return False
        assert wait_for(seen, timeout=timeout), "no line with %s" % marker
        return found[0], json.loads(found[0])

    def stop(self):
        self.stopped = True
        self.sock.close()


class UdpReceiver:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.datagrams = []
        self.stopped = False
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while not self.stopped:
            try:
                d, _ = self.sock.recvfrom(1 << 20)
                self.datagrams.append(d)
            except socket.timeout:
                continue
            except OSError:
                return

    def wait(self, marker, timeout=10):
        found = []

        def seen():
            for d in list(self.datagrams):
                if marker.encode() in d:
                    found.append(d)
                    return True
            return False
        assert wait_for(seen, timeout=timeout), "no datagram with %s" % marker
        return found[0], json.loads(found[0])

    def stop(self):
        self.stopped = True
        self.sock.close()


def ok(r, status=201):
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def receivers(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls-recv")
    crt, key = d / "r.crt", d / "r.key"
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "30", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-keyout", str(key), "-out",
                    str(crt), "-subj", "/CN=log.test"], check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(crt), str(key))
    r = {"tcp": TcpReceiver(), "tls": TcpReceiver(ctx), "udp": UdpReceiver()}
    yield r
    for v in r.values():
        v.stop()


@pytest.fixture(scope="module")
def node(tmp_path_factory, receivers):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("tcp-udp-log"), {"worker_threads": "1"})
    t.start()
    a = t.admin
    ok(a.post("/services", json={"name": "mock", "url": echo.url}))

    def route(host, plugins):
        r = ok(a.post("/services/mock/routes", json={"hosts": [host], "name": host}))
        for name, conf in plugins:
            ok(a.post("/routes/%s/plugins" % r["id"], json={"name": name, "config": conf}))

    tcp = {"host": "127.0.0.1", "port": receivers["tcp"].port}
    route("tcp_logging.test", [("tcp-log", tcp)])
    route("tcp_logging_tls.test", [("tcp-log", {"host": "127.0.0.1",
                                                "port": receivers["tls"].port, "tls": True,
                                                "tls_sni": "log.test"})])
    route("early_termination.example.test",
          [("tcp-log", tcp), ("request-termination", {"status_code": 200,
                                                      "content_type": "text/plain",
                                                      "body": "hello!"})])
    t.dead = free_port()
    route("tcp_down.test", [("tcp-log", {"host": "127.0.0.1", "port": t.dead})])
    route("udp_logging.test", [("udp-log", {"host": "127.0.0.1",
                                            "port": receivers["udp"].port})])
    route("udp_name.test", [("udp-log", {"host": "localhost", "port": receivers["udp"].port})])
    yield t
    finish_torii(t)
    echo.stop()


def get(node, host, path="/request", headers=None):
    h = {"Host": host}
    h.update(headers or {})
    return requests.get("http://127.0.0.1:%d%s" % (node.proxy_port, path), headers=h,
                        timeout=10, proxies=NO_PROXY)


def test_logs_to_tcp_on_one_kept_connection(node, receivers):
    r = receivers["tcp"]
    marks = ["tcp-%d-%f" % (i, time.time()) for i in range(3)]
    for m in marks:
        assert get(node, "tcp_logging.test", headers={"x-mark": m}).status_code == 200
    for m in marks:
        raw, e = r.wait(m)
        assert e["client_ip"] == "127.0.0.1" and "tls" not in e["request"]
    assert r.connections == 1


def test_logs_proper_latencies(node, receivers):
    m = "lat-%f" % time.time()
    assert get(node, "tcp_logging.test", headers={"x-mark": m}).status_code == 200
    _, e = receivers["tcp"].wait(m)
    lat = e["latencies"]
    assert lat["proxy"] < 3000
    assert 1 + lat["request"] >= lat["kong"] + lat["proxy"]


def test_performs_a_tls_handshake_with_the_sni(node, receivers):
    m = "tls-%f" % time.time()
    assert get(node, "tcp_logging_tls.test", headers={"x-mark": m}).status_code == 200
    _, e = receivers["tls"].wait(m)
    assert e["client_ip"] == "127.0.0.1"
    assert "log.test" in receivers["tls"].snis


def test_tries_is_an_array_when_a_plugin_answered(node, receivers):
    """#6390: "tries":[] rather than {} when request-termination answered."""
    m = "early-%f" % time.time()
    assert get(node, "early_termination.example.test",
               headers={"x-mark": m}).text == "hello!"
    raw, e = receivers["tcp"].wait(m)
    assert b'"tries":[]' in raw and e["source"] == "kong"


def test_a_receiver_that_is_down_is_logged(node):
    before = node.stderr_size()
    assert get(node, "tcp_down.test").status_code == 200
    want = "[tcp-log] failed to connect to 127.0.0.1:%d: connection refused" % node.dead
    assert wait_for(lambda: want in node.stderr_text()[before:], timeout=10)


def test_logs_to_udp(node, receivers):
    m = "udp-%f" % time.time()
    assert get(node, "udp_logging.test", headers={"x-mark": m}).status_code == 200
    raw, e = receivers["udp"].wait(m)
    assert e["client_ip"] == "127.0.0.1" and not raw.endswith(b"\n")
    lat = e["latencies"]
    assert 1 + lat["request"] >= lat["kong"] + lat["proxy"]


def test_udp_to_a_name(node, receivers):
    m = "udpname-%f" % time.time()
    assert get(node, "udp_name.test", headers={"x-mark": m}).status_code == 200
    receivers["udp"].wait(m)


@pytest.mark.parametrize("name,config,field", [
    ("tcp-log", {"host": "127.0.0.1:99", "port": 1}, "config.host"),
    ("tcp-log", {"host": "127.0.0.1", "port": 70000}, "config.port"),
    ("tcp-log", {"port": 1}, "config.host"),
    ("udp-log", {"host": "127.0.0.1"}, "config.port"),
    ("udp-log", {"host": "127.0.0.1", "port": 1,
                 "custom_fields_by_lua": {"a": "return 1"}}, "config.custom_fields_by_lua"),
])
def test_schema_refuses(node, name, config, field):
    r = node.admin.post("/plugins", json={"name": name, "config": config})
    assert r.status_code == 400, r.text
    assert field in r.json(), r.json()

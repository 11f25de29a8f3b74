# SPDX-License-Identifier: MIT
"""HTTPS on the proxy (security profile L, issue 3): the default certificate, protocol floor,
SNI choice from /certificates and /snis, session resumption, plain HTTP on the TLS port,
handshake timeout, https_only / http_if_terminated with trusted_ips, HTTPS upstreams, and the
write-only private key. Certificates are made by the tests with the openssl command."""

import json
import os
import socket
import ssl
import stat
import subprocess
import time

import pytest

from harness import SLOW, free_port, hvals, run_cli
from upstreams import UpstreamServer, echo_behaviour


# ---------------------------------------------------------------------------------------------
# helpers

def make_cert(tmp_path, cn, sans=None, kind="ec"):
    """A self-signed certificate for cn: returns (cert_path, key_path)."""
    crt = tmp_path / ("%s.crt" % cn.replace("*", "star"))
    key = tmp_path / ("%s.key" % cn.replace("*", "star"))
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ec" \
        else ["-newkey", "rsa:2048"]
    san = ",".join(sans or ["DNS:%s" % cn])
    subprocess.run(["openssl", "req", "-x509", "-nodes", "-days", "30", *newkey,
                    "-keyout", str(key), "-out", str(crt), "-subj", "/CN=%s" % cn,
                    "-addext", "subjectAltName=%s" % san],
                   check=True, capture_output=True)
    return crt, key


def s_client(port, *args, stdin=b""):
    p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, *args],
                       input=stdin, capture_output=True, timeout=20)
    return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")


def served_cn(port, servername=None):
    args = ["-servername", servername] if servername else ["-noservername"]
    _, out = s_client(port, *args)
    for line in out.splitlines():
        if line.startswith("subject="):
            return line.split("CN", 1)[1].lstrip(" =").split(",")[0].strip()
    raise AssertionError("no certificate shown:\n" + out)


def curl(*args):
    p = subprocess.run(["curl", "-s", "-S", "--max-time", "10", "-w", "\n%{http_code}", *args],
                       capture_output=True, timeout=20)
    body, _, code = p.stdout.decode(errors="replace").rpartition("\n")
    return int(code or 0), body, p.stderr.decode(errors="replace")


def tls_conn(port, server_hostname="localhost"):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname=server_hostname)


def read_response(s):
    """Read one Content-Length framed response from s: (status, headers dict, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise AssertionError("closed before a head: %r" % buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    n = int(hdrs.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, hdrs, rest[:n], rest[n:]


class TLSUpstream(UpstreamServer):
    """The echo upstream wrapped in TLS (Python's ssl module)."""

    def __init__(self, cert, key, name="tls-upstream"):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.handshakes = []
        super().__init__(echo_behaviour(), name)
        self.url = "https://127.0.0.1:%d" % self.port

    def _run(self, s, cid):
        try:
            ts = self.ctx.wrap_socket(s, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self._error(cid, "handshake: %r" % (e,))
            s.close()
            return
        self.handshakes.append((ts.version(), ts.session_reused))
        with self.lock:
            self._open[cid] = ts
        super()._run(ts, cid)


@pytest.fixture
def tls_node(torii_factory, echo):
    t = torii_factory(ssl_port=True)
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    return t


# ---------------------------------------------------------------------------------------------
# default certificate, protocols, framing over TLS

def test_default_cert_generated_0600_and_reused(torii_factory):
    t = torii_factory(ssl_port=True)
    crt = t.prefix / "ssl" / "default.crt"
    key = t.prefix / "ssl" / "default.key"
    assert crt.exists() and key.exists()
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    code, body, err = curl("--cacert", str(crt), "https://localhost:%d/none" % t.ssl_port)
    assert code == 404, err
    before = (crt.read_bytes(), key.read_bytes())
    t.restart()
    assert (crt.read_bytes(), key.read_bytes()) == before
    assert served_cn(t.ssl_port) == "localhost"
    code, _, err = curl("--cacert", str(crt), "https://127.0.0.1:%d/none" % t.ssl_port)
    assert code == 404, err


def test_configured_ssl_cert_replaces_default(torii_factory, tmp_path):
    crt, key = make_cert(tmp_path, "configured.test")
    t = torii_factory(settings={"ssl_cert": str(crt), "ssl_cert_key": str(key)}, ssl_port=True)
    assert served_cn(t.ssl_port) == "configured.test"
    assert not (t.prefix / "ssl" / "default.key").exists()


def test_forwarded_headers_and_keepalive_pipelining_over_tls(tls_node, echo):
    s = tls_conn(tls_node.ssl_port)
    assert s.selected_alpn_protocol() is None  # no ALPN offered here
    req = b"GET /e/one HTTP/1.1\r\nHost: svc.test\r\n\r\nGET /e/two HTTP/1.1\r\nHost: svc.test\r\n\r\n"
    s.sendall(req)
    st, _, body, rest = read_response(s)
    assert st == 200
    d = json.loads(body)
    assert hvals(d, "x-forwarded-proto") == ["https"]
    assert hvals(d, "x-forwarded-port") == [str(tls_node.ssl_port)]
    # the second, pipelined answer on the same connection
    s2 = rest
    while b"\r\n\r\n" not in s2:
        s2 += s.recv(65536)

    class Buf:
        def __init__(self, data, sock):
            self.data, self.sock = data, sock

        def recv(self, n):
            if self.data:
                d, self.data = self.data, b""
                return d
            return self.sock.recv(n)
    st2, _, body2, _ = read_response(Buf(s2, s))
    assert st2 == 200 and json.loads(body2)["target"].endswith("/two")
    # a third request after a pause, still the same connection
    s.sendall(b"POST /e/three HTTP/1.1\r\nHost: svc.test\r\nContent-Length: 5\r\n\r\nhello")
    st3, _, body3, _ = read_response(s)
    assert st3 == 200
    s.close()


def test_alpn_http11(tls_node):
    _, out = s_client(tls_node.ssl_port, "-alpn", "h2,http/1.1")
    assert "ALPN protocol: http/1.1" in out


def test_protocol_floor(tls_node):
    rc, out = s_client(tls_node.ssl_port, "-tls1_1")
    assert rc != 0 or "Cipher is (NONE)" in out
    for v in ("-tls1_2", "-tls1_3"):
        rc, out = s_client(tls_node.ssl_port, v)
        assert rc == 0 and "Cipher is (NONE)" not in out, out
    _, out = s_client(tls_node.ssl_port, "-tls1_2")
    assert "GCM" in out or "CHACHA20" in out


def test_session_resumption(tls_node, tmp_path):
    sess = tmp_path / "sess.pem"
    req = b"GET /e/x HTTP/1.0\r\nHost: svc.test\r\n\r\n"
    rc, out = s_client(tls_node.ssl_port, "-sess_out", str(sess), "-ign_eof", stdin=req)
    assert rc == 0 and sess.exists(), out
    rc, out = s_client(tls_node.ssl_port, "-sess_in", str(sess), "-ign_eof", "-msg", stdin=req)
    assert "Reused" in out, out
    # TLS 1.3 clients use a ticket once: a resumed handshake must bring a fresh one, or the
    # client's next connection is a full handshake
    assert "TLSv1.3" in out and "NewSessionTicket" in out, out


def test_plain_http_on_tls_port_is_400(tls_node):
    s = socket.create_connection(("127.0.0.1", tls_node.ssl_port), timeout=5)
    s.sendall(b"GET /e/a HTTP/1.1\r\nHost: svc.test\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 400 ")
    assert b"The plain HTTP request was sent to HTTPS port" in data
    assert b"Connection: close" in data
    code, _, err = curl("-k", "https://127.0.0.1:%d/e/b" % tls_node.ssl_port)
    assert code == 200, err


@pytest.mark.slow
def test_stalled_handshake_times_out_others_served(torii_factory, echo):
    t = torii_factory(settings={"ssl_handshake_timeout": "1s"}, ssl_port=True)
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    stalled = socket.create_connection(("127.0.0.1", t.ssl_port), timeout=5)
    stalled.sendall(b"\x16\x03\x01\x02\x00\x01")  # the start of a ClientHello, then nothing
    garbage = socket.create_connection(("127.0.0.1", t.ssl_port), timeout=5)
    garbage.sendall(b"\x16\x03\x01\x00\x05\xff\xff\xff\xff\xff")  # a broken handshake
    start = time.monotonic()
    for _ in range(3):
        code, _, err = curl("-k", "https://127.0.0.1:%d/e/ok" % t.ssl_port)
        assert code == 200, err
    # The broken handshake ends with an alert record (type 21) or nothing, then a close.
    got = garbage.recv(100)
    if got:
        assert got[0] == 0x15, got
        assert garbage.recv(100) == b""
    assert stalled.recv(100) == b""       # closed by the handshake timeout
    elapsed = time.monotonic() - start
    assert 0.5 < elapsed < 4.0 * SLOW
    code, _, err = curl("-k", "https://127.0.0.1:%d/e/after" % t.ssl_port)
    assert code == 200, err


# ---------------------------------------------------------------------------------------------
# certificates and snis

def test_sni_choice_exact_wildcard_default(tls_node, tmp_path):
    a_crt, a_key = make_cert(tmp_path, "a.test")
    w_crt, w_key = make_cert(tmp_path, "wild.test", ["DNS:*.wild.test"], kind="rsa")
    adm = tls_node.admin
    r = adm.post("/certificates", json={"cert": a_crt.read_text(), "key": a_key.read_text(),
                                        "snis": ["a.test"]})
    assert r.status_code == 201, r.text
    a_id = r.json()["id"]
    r = adm.post("/certificates", json={"cert": w_crt.read_text(), "key": w_key.read_text()})
    assert r.status_code == 201, r.text
    r = adm.post("/snis", json={"name": "*.wild.test", "certificate": {"id": r.json()["id"]}})
    assert r.status_code == 201, r.text
    port = tls_node.ssl_port
    assert served_cn(port, "a.test") == "a.test"
    assert served_cn(port, "A.TEST") == "a.test"
    assert served_cn(port, "x.wild.test") == "wild.test"
    assert served_cn(port, "other.test") == "localhost"
    assert served_cn(port) == "localhost"
    code, _, err = curl("--cacert", str(a_crt), "--resolve", "a.test:%d:127.0.0.1" % port,
                        "https://a.test:%d/e/x" % port)
    assert code == 200, err
    # changes apply to the next handshake
    assert adm.delete("/certificates/" + a_id).status_code == 204
    assert adm.get("/snis/a.test").status_code == 404
    assert served_cn(port, "a.test") == "localhost"


def test_certificates_crud_and_errors(tls_node, tmp_path):
    adm = tls_node.admin
    a_crt, a_key = make_cert(tmp_path, "one.test")
    b_crt, b_key = make_cert(tmp_path, "two.test")
    r = adm.post("/certificates", json={"cert": "not a pem", "key": a_key.read_text()})
    assert r.status_code == 400 and "cert" in r.json()
    r = adm.post("/certificates", json={"cert": a_crt.read_text(), "key": "junk"})
    assert r.status_code == 400 and "key" in r.json()
    r = adm.post("/certificates", json={"cert": a_crt.read_text(), "key": b_key.read_text()})
    assert r.status_code == 400 and "key" in r.json() and "PRIVATE" not in r.text
    r = adm.post("/certificates", json={"cert": a_crt.read_text()})
    assert r.status_code == 400 and "key" in r.json()
    r = adm.post("/certificates", json={"cert": a_crt.read_text(), "key": a_key.read_text(),
                                        "snis": ["one.test", "x.one.test"]})
    assert r.status_code == 201, r.text
    one = r.json()
    assert "key" not in one and "PRIVATE KEY" not in r.text
    assert one["snis"] == ["one.test", "x.one.test"]
    assert isinstance(one["created_at"], int)
    r = adm.get("/certificates/" + one["id"])
    assert r.status_code == 200 and "key" not in r.json() and "PRIVATE KEY" not in r.text
    r = adm.get("/certificates")
    assert r.status_code == 200 and r.json()["total"] == 1 and "PRIVATE KEY" not in r.text
    r = adm.get("/certificates/" + one["id"], params={"include_key": "true"})
    assert r.json()["key"] == a_key.read_text()
    # a duplicate SNI names the field
    r = adm.post("/certificates", json={"cert": b_crt.read_text(), "key": b_key.read_text(),
                                        "snis": ["one.test"]})
    assert r.status_code == 409 and "snis" in r.json(), r.text
    assert adm.get("/certificates").json()["total"] == 1
    r = adm.post("/snis", json={"name": "one.test", "certificate": {"id": one["id"]}})
    assert r.status_code == 409 and "name" in r.json()
    r = adm.post("/snis", json={"name": "bad name!", "certificate": {"id": one["id"]}})
    assert r.status_code == 400 and "name" in r.json()
    r = adm.post("/snis", json={"name": "z.test",
                                "certificate": {"id": "00000000-0000-4000-8000-000000000000"}})
    assert r.status_code == 400 and "certificate" in r.json()
    r = adm.post("/snis", data={"name": "form.test", "certificate.id": one["id"]})
    assert r.status_code == 201, r.text
    assert r.json()["certificate"] == {"id": one["id"]}
    r = adm.get("/snis/form.test")
    assert r.status_code == 200 and r.json()["certificate"]["id"] == one["id"]
    assert adm.get("/snis").json()["total"] == 3
    # PATCH replaces the snis set
    r = adm.patch("/certificates/" + one["id"], json={"snis": ["one.test"]})
    assert r.status_code == 200, r.text
    assert r.json()["snis"] == ["one.test"] and "key" not in r.json()
    assert adm.get("/snis").json()["total"] == 1
    assert adm.delete("/snis/one.test").status_code == 204
    assert adm.delete("/certificates/" + one["id"]).status_code == 204
    assert adm.get("/certificates").json()["total"] == 0
    log = tls_node.stderr_text()
    assert "PRIVATE KEY" not in log and a_key.read_text().splitlines()[1] not in log


# ---------------------------------------------------------------------------------------------
# https_only, http_if_terminated, trusted_ips

def test_https_only_426(tls_node, echo):
    tls_node.admin.add_api(name="sec", upstream_url=echo.url, request_path="/sec",
                           https_only=True)
    code, body, _ = curl("-i", "http://127.0.0.1:%d/sec/a" % tls_node.proxy_port)
    assert code == 426
    assert '{"message":"Please use HTTPS protocol"}' in body
    assert "Connection: Upgrade" in body and "Upgrade: TLS/1.2, HTTP/1.1" in body
    code, _, err = curl("-k", "https://127.0.0.1:%d/sec/a" % tls_node.ssl_port)
    assert code == 200, err


@pytest.mark.parametrize("trusted,expect", [("", 426), ("10.0.0.0/8", 426),
                                            ("10.0.0.0/8, 127.0.0.1", 200)])
def test_http_if_terminated_needs_trusted_peer(torii_factory, echo, trusted, expect):
    t = torii_factory(settings={"trusted_ips": trusted})
    t.admin.add_api(name="sec", upstream_url=echo.url, request_path="/sec", https_only=True,
                    http_if_terminated=True)
    code, _, _ = curl("-H", "X-Forwarded-Proto: https", "http://127.0.0.1:%d/sec/a" % t.proxy_port)
    assert code == expect
    code, _, _ = curl("http://127.0.0.1:%d/sec/a" % t.proxy_port)
    assert code == 426


def test_bad_settings_refused(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("trusted_ips = 10.0.0.0/99\n")
    p = run_cli(["check", str(conf)], env={"TORII_PREFIX": str(tmp_path)})
    assert p.returncode != 0 and "trusted_ips" in p.stderr
    conf.write_text("ssl_cert = /nonexistent.crt\n")
    p = run_cli(["start", "-c", str(conf)],
                env={"TORII_PREFIX": str(tmp_path), "TORII_ADMIN_LISTEN": "off",
                     "TORII_PROXY_LISTEN": "127.0.0.1:%d ssl" % free_port()})
    assert p.returncode != 0 and "ssl_cert" in p.stderr, p.stderr


# ---------------------------------------------------------------------------------------------
# HTTPS upstreams

def test_https_upstream_reuse_and_sni(torii_factory, tmp_path):
    crt, key = make_cert(tmp_path, "localhost", ["DNS:localhost", "IP:127.0.0.1"])
    up = TLSUpstream(crt, key)
    try:
        t = torii_factory(settings={"worker_threads": "1"})
        t.admin.add_api(name="u", upstream_url=up.url, request_path="/u")
        for i in range(5):
            code, body, err = curl("http://127.0.0.1:%d/u/%d" % (t.proxy_port, i))
            assert code == 200, (body, err)
        assert up.wait_accepts(1) == 1          # one connection, reused from the pool
        assert json.loads(body)["target"] == "/u/4"
        assert not up.errors
    finally:
        up.stop()


def test_https_upstream_session_resumed_on_new_connection(torii_factory, tmp_path):
    crt, key = make_cert(tmp_path, "localhost", ["DNS:localhost", "IP:127.0.0.1"])
    up = TLSUpstream(crt, key)
    try:
        t = torii_factory(settings={"upstream_keepalive": "0", "worker_threads": "1"})
        t.admin.add_api(name="u", upstream_url=up.url, request_path="/u")
        for i in range(3):
            code, body, err = curl("http://127.0.0.1:%d/u/%d" % (t.proxy_port, i))
            assert code == 200, (body, err)
        assert up.wait_accepts(3) == 3
        assert any(reused for _, reused in up.handshakes[1:]), up.handshakes
    finally:
        up.stop()


@pytest.mark.parametrize("ca_is_upstream,expect", [(True, 200), (False, 502)])
def test_https_upstream_verification(torii_factory, tmp_path, ca_is_upstream, expect):
    crt, key = make_cert(tmp_path, "localhost", ["DNS:localhost", "IP:127.0.0.1"])
    other, _ = make_cert(tmp_path, "other.test")
    up = TLSUpstream(crt, key)
    try:
        t = torii_factory(settings={"upstream_tls_verify": "on",
                                    "upstream_ca_bundle": str(crt if ca_is_upstream else other)})
        t.admin.add_api(name="u", upstream_url=up.url, request_path="/u", retries=0)
        code, body, err = curl("http://127.0.0.1:%d/u/x" % t.proxy_port)
        assert code == expect, (body, err)
    finally:
        up.stop()

# SPDX-License-Identifier: MIT
"""Drains no client notices: a stop, a reload (a new worker replaces the old) and a binary
upgrade under keep-alive load against a slow upstream cost no client an error. During a drain
an answer whose head is still to be sent says Connection: close and the connection closes
after it; a request pipelined before the drain is still answered; an idle keep-alive
connection gets drain_idle_grace to send one more request (a client that half-closed is
closed at once); past drain_timeout what is still in flight is cut and counted in the log,
and a WebSocket tunnel ends with a close frame 1001 "going away" each way. HTTPS connections
end with close_notify. Security profile K-10; nginx's keepalive and worker shutdown tests
(`worker_shutdown_timeout*.t`) for the shape of the cases."""

import os
import re
import socket
import ssl
import struct
import threading
import time

from harness import SLOW, run_cli, wait_for
from rawhttp import RawConn, build
from upstreams import delay_behaviour, websocket_echo_behaviour, ws_frame, ws_parse

SLOW_MS = 0.05  # the upstream's answer time: requests are in flight when a drain starts


class LoadClient(threading.Thread):
    """One keep-alive client asking GET path in a loop. A request sent on an open connection
    must get its whole answer: anything else (a reset, an EOF, a timeout) is an error. After an
    answer with Connection: close it opens a new connection; once the node stops taking new
    ones (refused), it ends. make_sock() -> a connected socket (plain or TLS)."""

    def __init__(self, make_sock, path, stop):
        super().__init__(daemon=True)
        self.make_sock, self.path, self.stop_ev = make_sock, path, stop
        self.ok = 0
        self.closes = 0
        self.errors = []

    def run(self):
        deadline = time.monotonic() + 60 * SLOW
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            try:
                s = self.make_sock()
            except OSError:
                return  # no new connection: the node stopped taking them
            try:
                self.serve(s, deadline)
            finally:
                s.close()

    def serve(self, s, deadline):
        req = ("GET %s HTTP/1.1\r\nHost: svc.test\r\n\r\n" % self.path).encode()
        while not self.stop_ev.is_set() and time.monotonic() < deadline:
            try:
                s.sendall(req)
                head, body = read_answer(s)
            except (OSError, ValueError) as e:
                self.errors.append(repr(e))
                return
            if not head.startswith(b"HTTP/1.1 200"):
                self.errors.append(head[:80])
                return
            self.ok += 1
            if b"\r\nconnection: close" in head.lower():
                self.closes += 1
                return


def read_answer(s):
    """(head, body) of one Content-Length answer read from socket s; ValueError on EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise ValueError("connection closed before an answer (%r)" % buf[:60])
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            raise ValueError("connection closed inside an answer")
        rest += chunk
    return head, rest[:n]


def plain_sock(port):
    def make():
        s = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s
    return make


def tls_sock(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    # An EOF without close_notify must show (OpenSSL 3 would otherwise read it as one).
    ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)

    def make():
        raw = socket.create_connection(("127.0.0.1", port), timeout=10 * SLOW)
        # An EOF without close_notify raises instead of reading as b"".
        return ctx.wrap_socket(raw, server_hostname="svc.test", suppress_ragged_eofs=False)
    return make


def slow_api(t, upstream_factory, delay=SLOW_MS, body=b"slow-ok"):
    m = upstream_factory(delay_behaviour(delay, body), "slow")
    t.admin.add_api(name="slow", upstream_url=m.url, request_path="/slow")
    return m


def load(make_sock, n=8):
    stop = threading.Event()
    clients = [LoadClient(make_sock, "/slow/x", stop) for _ in range(n)]
    for c in clients:
        c.start()
    return stop, clients


def finish_load(stop, clients):
    stop.set()
    for c in clients:
        c.join(30 * SLOW)
    errors = [e for c in clients for e in c.errors]
    return sum(c.ok for c in clients), sum(c.closes for c in clients), errors


def served(clients):
    return sum(c.ok for c in clients)


def events_under_load(clients, n, fire, took):
    """fire() n times under the clients' load; after each, wait until took(i) says the i-th
    took effect and the clients were served again (the new worker serves) before the next."""
    assert wait_for(lambda: served(clients) >= 40, 10)
    for i in range(n):
        before = served(clients)
        fire()
        assert wait_for(lambda: took(i), 20)
        assert wait_for(lambda: served(clients) >= before + 40, 10)


def log_text(t):
    return t.stderr_path.read_text(errors="replace")


# ---- under load: stop, reload, upgrade -----------------------------------------------------

def test_stop_under_keepalive_load_costs_no_client_an_error(torii_factory, upstream_factory):
    t = torii_factory()
    slow_api(t, upstream_factory)
    stop, clients = load(plain_sock(t.proxy_port))
    assert wait_for(lambda: served(clients) >= 40, 10)
    assert t.stop() == 0
    ok, closes, errors = finish_load(stop, clients)
    assert errors == [], errors[:5]
    # every client was told: its last answer said Connection: close
    assert closes >= len(clients), (ok, closes)
    assert re.search(r"worker \d+: drained in \d+ ms, \d+ requests answered", log_text(t))


def test_reloads_under_keepalive_load_cost_no_client_an_error(torii_factory, upstream_factory):
    t = torii_factory()
    slow_api(t, upstream_factory)
    stop, clients = load(plain_sock(t.proxy_port))
    try:
        events_under_load(clients, 3, t.reload,
                          lambda i: log_text(t).count("reload: worker process") == i + 1)
    finally:
        ok, closes, errors = finish_load(stop, clients)
    assert errors == [], errors[:5]
    assert closes >= len(clients)  # the old workers said Connection: close to each
    assert log_text(t).count("reload: worker process") == 3


def test_upgrades_under_keepalive_load_cost_no_client_an_error(torii_factory, upstream_factory):
    t = torii_factory()
    slow_api(t, upstream_factory)
    stop, clients = load(plain_sock(t.proxy_port))
    def upgrade():
        p = run_cli(["upgrade"], env=t.env())
        assert p.returncode == 0, p.stderr

    try:
        events_under_load(clients, 2, upgrade,
                          lambda i: log_text(t).count("binary upgrade: master") == i + 1)
    finally:
        ok, closes, errors = finish_load(stop, clients)
        # the first master exited once replaced; `torii stop` stops the last one
        assert t.proc.wait(20 * SLOW) == 0
        t.exits.append((0, "replaced by a binary upgrade"))
        p = run_cli(["stop"], env=t.env())
        assert p.returncode == 0, p.stderr
        assert wait_for(lambda: not (t.prefix / "torii.pid").exists(), 20)
    assert errors == [], errors[:5]
    assert closes >= len(clients)


def test_https_stop_under_load_ends_each_connection_with_close_notify(torii_factory,
                                                                      upstream_factory):
    t = torii_factory(ssl_port=True)
    slow_api(t, upstream_factory)
    stop, clients = load(tls_sock(t.ssl_port), n=4)
    assert wait_for(lambda: served(clients) >= 20, 10)
    # A connection kept open, idle: after the drain's grace it ends with close_notify (a
    # clean TLS EOF), not a bare TCP close.
    idle = tls_sock(t.ssl_port)()
    idle.sendall(b"GET /slow/x HTTP/1.1\r\nHost: svc.test\r\n\r\n")
    head, _ = read_answer(idle)
    assert head.startswith(b"HTTP/1.1 200")
    assert t.stop() == 0
    ok, closes, errors = finish_load(stop, clients)
    assert errors == [], errors[:5]
    assert closes >= len(clients)
    idle.settimeout(5 * SLOW)
    assert idle.recv(100) == b""  # close_notify read: SSLEOFError otherwise
    idle.close()


# ---- what the drain owes each request ------------------------------------------------------

def test_k10_in_flight_requests_complete_and_new_connections_are_refused(torii_factory,
                                                                        upstream_factory):
    """Security profile K-10: 200 requests in flight to an upstream that waits 2 s, then
    SIGTERM (drain 10 s): all 200 complete, and a new connection is refused meanwhile."""
    t = torii_factory({"drain_timeout": "10s"})
    m = slow_api(t, upstream_factory, delay=2.0)
    conns = [RawConn(t.proxy_port, timeout=30 * SLOW) for _ in range(200)]
    try:
        for i, c in enumerate(conns):
            c.send(build("GET", "/slow/%d" % i))
        assert m.wait_requests(200, 20 * SLOW)
        stopper = threading.Thread(target=t.stop, kwargs={"timeout": 40 * SLOW})
        stopper.start()
        assert wait_for(lambda: "stopping: draining" in log_text(t), 10)
        time.sleep(0.2)
        try:
            socket.create_connection(("127.0.0.1", t.proxy_port), timeout=2).close()
            refused = False
        except OSError:
            refused = True
        assert refused, "a new connection was taken during the drain"
        answers = [c.read_response() for c in conns]
        assert [r.status for r in answers] == [200] * 200
        assert all(r.conn_close() for r in answers)
        stopper.join(40 * SLOW)
        assert t.exits[-1][0] == 0
    finally:
        for c in conns:
            c.close()


def test_post_in_flight_during_stop_gets_its_whole_answer(torii_factory, upstream_factory):
    t = torii_factory()
    m = slow_api(t, upstream_factory, delay=1.0, body=b"x" * 100000)
    c = RawConn(t.proxy_port, timeout=20 * SLOW)
    try:
        c.send(build("POST", "/slow/in", body=b"p" * 200000))
        assert m.wait_requests(1, 5 * SLOW)
        assert t.stop() == 0
        r = c.read_response()
        assert r.status == 200 and r.body == b"x" * 100000
        assert r.conn_close()
        assert c.wait_closed(5 * SLOW)
        assert m.requests[0].body_length == 200000
    finally:
        c.close()


def test_requests_pipelined_before_a_stop_are_all_answered(torii_factory, upstream_factory):
    t = torii_factory()
    m = slow_api(t, upstream_factory, delay=0.3)
    c = RawConn(t.proxy_port, timeout=20 * SLOW)
    try:
        c.send(b"".join(build("GET", "/slow/%d" % i) for i in range(3)))
        assert m.wait_requests(1, 5 * SLOW)
        stopper = threading.Thread(target=t.stop)
        stopper.start()
        answers = [c.read_response() for _ in range(3)]
        stopper.join(30 * SLOW)
        assert [r.status for r in answers] == [200, 200, 200]
        # the last one received says close; those with a request behind them keep alive
        assert [r.conn_close() for r in answers] == [False, False, True]
        assert c.wait_closed(5 * SLOW)
        assert [r.target for r in m.requests] == ["/slow/0", "/slow/1", "/slow/2"]
    finally:
        c.close()


def test_answer_whose_head_went_out_before_the_drain_leaves_the_grace(torii_factory,
                                                                      upstream_factory):
    """A response already being answered with keep-alive when the drain began: the client
    still gets the grace to send its next request, which is answered with close."""
    t = torii_factory({"drain_idle_grace": "3s", "drain_timeout": "20s"})
    slow_api(t, upstream_factory)
    busy = RawConn(t.proxy_port, timeout=20 * SLOW)  # keeps the worker draining
    idle = RawConn(t.proxy_port, timeout=20 * SLOW)
    silent = RawConn(t.proxy_port, timeout=20 * SLOW)
    halfclosed = RawConn(t.proxy_port, timeout=20 * SLOW)
    m2 = slow_api_named(t, upstream_factory, "hold", delay=6.0)
    try:
        for conn in (idle, silent, halfclosed):
            r = conn.request("GET", "/slow/a")
            assert r.status == 200 and not r.conn_close()
        busy.send(build("GET", "/hold/x"))
        assert m2.wait_requests(1, 5 * SLOW)
        halfclosed.shutdown_write()
        stopper = threading.Thread(target=t.stop, kwargs={"timeout": 40 * SLOW})
        stopper.start()
        assert wait_for(lambda: "stopping: draining" in log_text(t), 10)
        # a client that half-closed is closed at once, not after the grace
        assert halfclosed.wait_closed(1.5 * SLOW)
        # a request inside the grace is answered, with Connection: close
        time.sleep(0.3)
        r = idle.request("GET", "/slow/b")
        assert r.status == 200 and r.conn_close()
        assert idle.wait_closed(5 * SLOW)
        # a silent one is closed after the grace, cleanly (EOF, not a reset)
        assert not silent.closed(1.0)
        assert silent.wait_closed(6 * SLOW) and not silent.reset
        r = busy.read_response()
        assert r.status == 200 and r.conn_close()
        stopper.join(40 * SLOW)
    finally:
        for conn in (busy, idle, silent, halfclosed):
            conn.close()


def slow_api_named(t, upstream_factory, name, delay):
    m = upstream_factory(delay_behaviour(delay), name)
    t.admin.add_api(name=name, upstream_url=m.url, request_path="/" + name)
    return m


def test_drain_timeout_cuts_what_is_left_and_counts_it(torii_factory, upstream_factory):
    t = torii_factory({"drain_timeout": "1s"})
    slow_api(t, upstream_factory, delay=0.2)
    hold = slow_api_named(t, upstream_factory, "hold", delay=8.0)
    quick = RawConn(t.proxy_port, timeout=20 * SLOW)
    stuck = RawConn(t.proxy_port, timeout=20 * SLOW)
    try:
        stuck.send(build("GET", "/hold/x"))
        assert hold.wait_requests(1, 5 * SLOW)
        quick.send(build("GET", "/slow/x"))
        time.sleep(0.05)
        assert t.stop(timeout=20 * SLOW) == 0
        r = quick.read_response()
        assert r.status == 200 and r.conn_close()
        assert stuck.wait_closed(5 * SLOW)
        text = log_text(t)
        m = re.search(r"drain timeout \(1000 ms\): (\d+) requests answered meanwhile, (\d+) cut "
                      r"in flight, (\d+) WebSocket tunnels", text)
        assert m, text[-2000:]
        answered = sum(int(x) for x in re.findall(
            r"drain timeout \(1000 ms\): (\d+) requests answered", text))
        answered += sum(int(x) for x in re.findall(r"drained in \d+ ms, (\d+) requests", text))
        cut = sum(int(x) for x in re.findall(r"(\d+) cut in flight", text))
        assert (answered, cut) == (1, 1), text[-2000:]
    finally:
        quick.close()
        stuck.close()


# ---- WebSocket tunnels ---------------------------------------------------------------------

def upgrade_ws(c):
    key = "dGhlIHNhbXBsZSBub25jZQ=="
    c.send(b"GET /ws/chat HTTP/1.1\r\nHost: svc.test\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key.encode() + b"\r\n"
           b"Sec-WebSocket-Version: 13\r\n\r\n")
    r = c.read_response()
    assert r.status == 101, r


def next_frame(c, timeout):
    deadline = time.monotonic() + timeout
    while ws_parse(c.buf) is None and time.monotonic() < deadline:
        if not c._fill(deadline):
            break
    fr = ws_parse(c.buf)
    if fr is not None:
        del c.buf[:fr[3]]
    return fr


def frames_after_head(raw):
    """The frames in what the upstream received after the handshake's head."""
    data = bytearray(raw[raw.index(b"\r\n\r\n") + 4:])
    out = []
    while True:
        fr = ws_parse(data)
        if fr is None:
            return out
        out.append(fr[:3])
        del data[:fr[3]]


def ws_tunnel(torii_factory, upstream_factory):
    """A node (drain_timeout 1 s), a WebSocket echo upstream behind /ws, and a client
    connection with its tunnel open."""
    t = torii_factory({"drain_timeout": "1s"})
    ws = upstream_factory(websocket_echo_behaviour(), "WS")
    t.admin.add_api(name="ws", upstream_url=ws.url, request_path="/ws")
    c = RawConn(t.proxy_port, timeout=20 * SLOW)
    upgrade_ws(c)
    return t, ws, c


def test_websocket_tunnel_ends_with_1001_going_away(torii_factory, upstream_factory):
    t, ws, c = ws_tunnel(torii_factory, upstream_factory)
    try:
        c.send(ws_frame(1, b"hello", os.urandom(4)))
        assert next_frame(c, 5 * SLOW)[:2] == (1, b"hello")
        stopper = threading.Thread(target=t.stop, kwargs={"timeout": 30 * SLOW})
        stopper.start()
        # the tunnel stays through the drain ...
        time.sleep(0.3)
        c.send(ws_frame(1, b"still here", os.urandom(4)))
        assert next_frame(c, 5 * SLOW)[:2] == (1, b"still here")
        # ... and ends with a close frame: 1001, "going away"
        fr = next_frame(c, 10 * SLOW)
        assert fr is not None and fr[0] == 8, fr
        code, = struct.unpack("!H", fr[1][:2])
        assert (code, fr[1][2:], fr[2]) == (1001, b"going away", False)
        c.send(ws_frame(8, fr[1][:2], os.urandom(4)))  # the client's answer, then EOF
        assert c.wait_closed(5 * SLOW)
        stopper.join(30 * SLOW)
        # the upstream was told the same, in a masked (client) frame
        assert wait_for(lambda: any(f[0] == 8 for f in frames_after_head(
            bytes(next(iter(ws.raw.values()))))), 5)
        closes = [f for f in frames_after_head(bytes(next(iter(ws.raw.values())))) if f[0] == 8]
        assert closes[0] == (8, b"\x03\xe9going away", True)
        assert re.search(r"0 cut in flight, 1 WebSocket tunnels ended", log_text(t))
    finally:
        c.close()


def test_websocket_half_sent_frame_is_not_cut_by_a_close_frame(torii_factory,
                                                               upstream_factory):
    """A close frame may only go between two frames: a tunnel whose client stopped inside a
    frame gets none upstream (the upstream sees the connection end), while the client, whose
    direction is between frames, still gets its 1001."""
    t, ws, c = ws_tunnel(torii_factory, upstream_factory)
    try:
        whole = ws_frame(2, b"z" * 1000, os.urandom(4))
        c.send(whole[:500])  # half a frame, never finished
        assert wait_for(lambda: ws.raw_total >= 500, 5)
        assert t.stop(timeout=30 * SLOW) == 0
        fr = next_frame(c, 5 * SLOW)
        assert fr is not None and fr[:2] == (8, b"\x03\xe9going away")
        raw = bytes(next(iter(ws.raw.values())))
        tail = raw[raw.index(b"\r\n\r\n") + 4:]
        assert tail == whole[:500]  # nothing was put inside the half-sent frame
    finally:
        c.close()

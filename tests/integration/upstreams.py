# SPDX-License-Identifier: MIT
"""Test upstream servers for the integration suite.

UpstreamServer listens on 127.0.0.1 (port 0) and runs a *behaviour* for every accepted
connection on its own thread. The echo behaviour answers every request with a JSON description
of what it received; scripted behaviours (reset, stall, raw responses, big or chunked bodies,
idle close) are built by the factory functions below. WebSocket echo is a behaviour too.

Every server records, for assertions: the number of accepted connections, the raw bytes each
connection received (capped per connection), every complete request it parsed, framing errors,
and whether the peer closed a connection. Every loop is bounded by timeouts and by stop().
"""

import base64
import hashlib
import json
import socket
import struct
import threading
import time

RAW_CAP = 1 << 20          # raw bytes kept per connection
BODY_KEEP = 1 << 20        # request bodies up to this size are kept in memory
RECV_TIMEOUT = 0.25        # granularity of stop checks
DEFAULT_IDLE = 30.0        # a connection idle this long is closed by the upstream

TOKEN_CHARS = set(b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                  b"ABCDEFGHIJKLMNOPQRSTUVWXYZ")


class ParseError(Exception):
    pass


class Request:
    """One complete request as the upstream parsed it."""

    def __init__(self):
        self.method = ""
        self.target = ""
        self.version = ""
        self.headers = []          # list of (name, value) as str (latin-1), in order
        self.body = b""            # kept when the body is at most BODY_KEEP bytes, else None
        self.body_length = 0
        self.body_sha256 = ""
        self.chunked = False
        self.trailers = []
        self.conn_id = 0
        self.index = 0             # request index on its connection (0-based)
        self.raw_head = b""

    def header(self, name):
        """First value of header name (case-insensitive), or None."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def describe(self):
        body = None
        if self.body is not None and len(self.body) <= 65536:
            body = self.body.decode("latin-1")
        return {
            "method": self.method,
            "target": self.target,
            "version": self.version,
            "headers": [[k, v] for k, v in self.headers],
            "body_length": self.body_length,
            "body_sha256": self.body_sha256,
            "body": body,
            "chunked": self.chunked,
            "trailers": [[k, v] for k, v in self.trailers],
            "conn_id": self.conn_id,
            "request_index": self.index,
        }


class UpConn:
    """The upstream side of one accepted connection, handed to a behaviour."""

    def __init__(self, server, sock, cid):
        self.server = server
        self.sock = sock
        self.id = cid
        self.buf = bytearray()
        self.eof = False
        self.nreq = 0
        self.closed = False

    # -- low level -------------------------------------------------------------------------
    def stopped(self):
        return self.server.stopping.is_set()

    def _recv(self, deadline):
        """Receive some bytes into buf. Returns False on EOF; raises TimeoutError at deadline."""
        while True:
            if self.stopped():
                raise TimeoutError("server stopping")
            if time.monotonic() > deadline:
                raise TimeoutError("upstream read timeout")
            try:
                data = self.sock.recv(262144)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError, OSError):
                self.eof = True
                self.server._peer_closed(self.id, reset=True)
                return False
            if not data:
                self.eof = True
                self.server._peer_closed(self.id, reset=False)
                return False
            self.server._record(self.id, data)
            self.buf += data
            return True

    def read_line(self, deadline, limit=65536):
        """A line ending in CRLF, without the CRLF. A bare LF is a ParseError. None on EOF
        before any byte of the line."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                if i == 0 or self.buf[i - 1] != 0x0D:
                    raise ParseError("bare LF")
                line = bytes(self.buf[:i - 1])
                del self.buf[:i + 1]
                if b"\r" in line:
                    raise ParseError("bare CR")
                return line
            if len(self.buf) > limit:
                raise ParseError("line too long")
            if not self._recv(deadline):
                if self.buf:
                    raise ParseError("EOF inside a line")
                return None

    def read_exact_into(self, n, deadline, consume):
        """Read exactly n bytes, handing each piece to consume(memoryview). False on EOF."""
        if self.buf:
            take = min(n, len(self.buf))
            consume(memoryview(bytes(self.buf[:take])))
            del self.buf[:take]
            n -= take
        if n == 0:
            return True
        scratch = bytearray(min(n, 1 << 20))
        mv = memoryview(scratch)
        while n > 0:
            if self.stopped():
                raise TimeoutError("server stopping")
            if time.monotonic() > deadline:
                raise TimeoutError("upstream body timeout")
            try:
                got = self.sock.recv_into(mv[:min(n, len(scratch))])
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError, OSError):
                self.eof = True
                self.server._peer_closed(self.id, reset=True)
                return False
            if got == 0:
                self.eof = True
                self.server._peer_closed(self.id, reset=False)
                return False
            self.server._record(self.id, mv[:got])
            consume(mv[:got])
            n -= got
        return True

    def read_exact(self, n, deadline):
        out = bytearray()
        ok = self.read_exact_into(n, deadline, out.extend)
        return bytes(out) if ok else None

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def reset(self):
        """Close with RST (SO_LINGER 0)."""
        if self.closed:
            return
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    def sleep(self, seconds):
        """Sleep, returning early when the server stops."""
        self.server.stopping.wait(seconds)

    def wait_peer_close(self, timeout):
        """True if the peer closed (EOF or RST) within timeout; data that arrives is kept."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopped():
            if self.eof:
                return True
            try:
                if not self._recv(deadline):
                    return True
            except TimeoutError:
                return False
        return self.eof

    # -- HTTP ------------------------------------------------------------------------------
    def read_request(self, idle=DEFAULT_IDLE, body_timeout=60.0, on_head=None):
        """Parse one request (strictly). Returns a Request, or None on a clean EOF before the
        request. On a framing error records it, and returns None after closing."""
        deadline = time.monotonic() + idle
        try:
            line = self.read_line(deadline)
            if line is None:
                return None
            head_start = line
            req = Request()
            parts = line.split(b" ")
            if len(parts) != 3 or not parts[0] or not parts[1]:
                raise ParseError("bad request line %r" % line[:200])
            if not all(c in TOKEN_CHARS for c in parts[0]):
                raise ParseError("bad method %r" % parts[0])
            if parts[2] not in (b"HTTP/1.1", b"HTTP/1.0"):
                raise ParseError("bad version %r" % parts[2])
            req.method = parts[0].decode("latin-1")
            req.target = parts[1].decode("latin-1")
            req.version = parts[2].decode("latin-1")
            raw_head = [head_start]
            deadline = time.monotonic() + body_timeout
            req.headers = self._read_fields(deadline, raw_head)
            req.raw_head = b"\r\n".join(raw_head) + b"\r\n\r\n"
            req.conn_id = self.id
            req.index = self.nreq
            if on_head is not None:
                on_head(req)
            te = req.header_all("transfer-encoding")
            cl = req.header_all("content-length")
            if te and cl:
                raise ParseError("both Content-Length and Transfer-Encoding")
            h = hashlib.sha256()
            keep = bytearray()
            total = [0]

            def consume(mv):
                h.update(mv)
                total[0] += len(mv)
                if total[0] <= BODY_KEEP:
                    keep.extend(mv)

            if te:
                if len(te) != 1 or te[0].strip().lower() != "chunked":
                    raise ParseError("bad Transfer-Encoding %r" % te)
                req.chunked = True
                req.trailers = self._read_chunked(deadline, consume)
            elif cl:
                if len(cl) != 1 or not cl[0].isdigit():
                    raise ParseError("bad Content-Length %r" % cl)
                n = int(cl[0])
                if n and not self.read_exact_into(n, deadline, consume):
                    raise ParseError("EOF inside the body (%d of %d)" % (total[0], n))
            req.body_length = total[0]
            req.body_sha256 = h.hexdigest()
            req.body = bytes(keep) if total[0] <= BODY_KEEP else None
            self.nreq += 1
            self.server._add_request(req)
            return req
        except ParseError as e:
            self.server._error(self.id, str(e))
            self.close()
            return None
        except TimeoutError:
            self.close()
            return None

    def _read_fields(self, deadline, raw=None):
        fields = []
        while True:
            line = self.read_line(deadline)
            if line is None:
                raise ParseError("EOF inside the head")
            if raw is not None:
                raw.append(line)
            if line == b"":
                return fields
            if line[:1] in (b" ", b"\t"):
                raise ParseError("obs-fold")
            i = line.find(b":")
            if i <= 0:
                raise ParseError("field without colon %r" % line[:100])
            name = line[:i]
            if not all(c in TOKEN_CHARS for c in name):
                raise ParseError("bad field name %r" % name)
            value = line[i + 1:].strip(b" \t")
            if b"\x00" in value:
                raise ParseError("NUL in a field value")
            fields.append((name.decode("latin-1"), value.decode("latin-1")))

    def _read_chunked(self, deadline, consume):
        while True:
            line = self.read_line(deadline)
            if line is None:
                raise ParseError("EOF inside the chunked body")
            size_s = line.split(b";", 1)[0]
            if not size_s or len(size_s) > 16 or \
                    not all(c in b"0123456789abcdefABCDEF" for c in size_s):
                raise ParseError("bad chunk size %r" % line[:100])
            size = int(size_s, 16)
            if size == 0:
                return self._read_fields(deadline)
            if not self.read_exact_into(size, deadline, consume):
                raise ParseError("EOF inside a chunk")
            crlf = self.read_exact(2, deadline)
            if crlf != b"\r\n":
                raise ParseError("chunk data not followed by CRLF")

    def wants_close(self, req):
        conn = ",".join(req.header_all("connection")).lower()
        if req.version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in conn


class UpstreamServer:
    """A threaded TCP server on 127.0.0.1:<ephemeral> running behaviour(conn) per connection."""

    def __init__(self, behaviour=None, name="upstream"):
        self.name = name
        self.behaviour = behaviour or echo_behaviour()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.sock.settimeout(RECV_TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self._next_id = 0
        self._threads = []
        self._open = {}
        self.reset()
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True,
                                          name="%s-accept" % name)
        self._acceptor.start()

    # -- records ---------------------------------------------------------------------------
    def reset(self):
        """Forget what was recorded so far (connections stay open)."""
        with self.lock:
            self.accepts = 0
            self.requests = []
            self.raw = {}
            self.raw_total = 0
            self.errors = []
            self.peer_closed = {}

    def _record(self, cid, data):
        with self.lock:
            self.raw_total += len(data)
            buf = self.raw.setdefault(cid, bytearray())
            if len(buf) < RAW_CAP:
                buf += bytes(data[:RAW_CAP - len(buf)])

    def _add_request(self, req):
        with self.lock:
            self.requests.append(req)

    def _error(self, cid, msg):
        with self.lock:
            self.errors.append((cid, msg))

    def _peer_closed(self, cid, reset):
        with self.lock:
            self.peer_closed.setdefault(cid, "reset" if reset else "eof")

    def all_raw(self):
        with self.lock:
            return b"".join(bytes(v) for v in self.raw.values())

    def targets(self):
        with self.lock:
            return [r.target for r in self.requests]

    def wait_requests(self, n, timeout=5.0):
        """Wait until at least n complete requests were recorded; returns the list."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= n:
                    return list(self.requests)
            time.sleep(0.01)
        with self.lock:
            return list(self.requests)

    def wait_accepts(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.accepts >= n:
                break
            time.sleep(0.01)
        return self.accepts

    # -- server ----------------------------------------------------------------------------
    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                s, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(RECV_TIMEOUT)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self._next_id += 1
                cid = self._next_id
                self.accepts += 1
                self._open[cid] = s
            t = threading.Thread(target=self._run, args=(s, cid), daemon=True,
                                 name="%s-conn-%d" % (self.name, cid))
            self._threads.append(t)
            t.start()

    def _run(self, s, cid):
        conn = UpConn(self, s, cid)
        try:
            self.behaviour(conn)
        except Exception as e:  # noqa: BLE001 - recorded for the test to see
            if not self.stopping.is_set():
                self._error(cid, "behaviour raised %r" % (e,))
        finally:
            conn.close()
            with self.lock:
                self._open.pop(cid, None)

    def stop(self):
        self.stopping.set()
        try:
            self.sock.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._open.values())
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._acceptor.join(2)
        for t in self._threads:
            t.join(2)

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


# ---------------------------------------------------------------------------------------------
# Behaviours. Each factory returns a function(conn) run once per accepted connection.

def _response(status, reason, headers, body):
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    for k, v in headers:
        head += "%s: %s\r\n" % (k, v)
    return head.encode("latin-1") + b"\r\n" + body


def echo_behaviour(idle=DEFAULT_IDLE, extra_headers=(), send_100=True):
    """Keep-alive echo: 200 with a JSON description of every request."""

    def run(conn):
        while not conn.stopped():
            def head_seen(req):
                exp = (req.header("expect") or "").lower()
                if send_100 and exp == "100-continue" and req.version == "HTTP/1.1":
                    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")

            req = conn.read_request(idle=idle, on_head=head_seen)
            if req is None:
                return
            body = json.dumps(req.describe()).encode()
            close = conn.wants_close(req)
            hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                    ("Server", "echo-upstream")]
            hdrs += list(extra_headers)
            if close:
                hdrs.append(("Connection", "close"))
            elif req.version == "HTTP/1.0":
                hdrs.append(("Connection", "keep-alive"))
            if req.method == "HEAD":
                body = b""
            if not conn.send(_response(200, "OK", hdrs, body)):
                return
            if close:
                return
    return run


def respond_behaviour(raw, keepalive=False, then=None, wait_close=2.0):
    """Read a request, send the given raw bytes. Then: keep serving (keepalive), or
    then='reset' / 'close', or by default wait up to wait_close s for the peer to close
    (recorded in server.peer_closed) and close."""

    def run(conn):
        while not conn.stopped():
            req = conn.read_request()
            if req is None:
                return
            if not conn.send(raw):
                return
            if keepalive:
                continue
            if then == "reset":
                conn.reset()
            elif then == "close":
                conn.close()
            else:
                conn.wait_peer_close(wait_close)
            return
    return run


INTERIMS = (b"HTTP/1.1 100 Continue\r\n\r\n",
            b"HTTP/1.1 102 Processing\r\n\r\n",
            b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n")


def interim_behaviour(count, body=b"final", piece=0, gap=0.0):
    """Keep-alive: answer each request with count interim responses (100, 102 and 103 in
    turn) and then 200 with body. piece > 0 sends it all in writes of piece bytes, gap seconds
    apart, so the gateway reads it in many small parts."""

    def run(conn):
        while not conn.stopped():
            req = conn.read_request()
            if req is None:
                return
            out = b"".join(INTERIMS[i % len(INTERIMS)] for i in range(count))
            out += _response(200, "OK", [("Content-Length", str(len(body)))], body)
            step = piece or len(out)
            for i in range(0, len(out), step):
                if not conn.send(out[i:i + step]):
                    break  # the gateway gave up: the next read records how it closed
                if gap:
                    time.sleep(gap)
    return run


def reset_behaviour(read_request=True):
    """Read the request (or nothing), then reset the connection."""

    def run(conn):
        if read_request:
            conn.read_request(idle=10)
        conn.reset()
    return run


def stall_behaviour(seconds=30.0):
    """Read the request and never answer; record whether the peer closed first."""

    def run(conn):
        req = conn.read_request(idle=10)
        if req is None:
            return
        conn.wait_peer_close(seconds)
    return run


def delay_behaviour(delay, body=b"slow-ok"):
    """Read a request, wait delay seconds, answer 200 (keep-alive)."""

    def run(conn):
        while not conn.stopped():
            req = conn.read_request()
            if req is None:
                return
            conn.sleep(delay)
            if not conn.send(_response(200, "OK", [("Content-Length", str(len(body)))], body)):
                return
    return run


def close_idle_behaviour(idle_close, body=b"ok"):
    """Keep-alive 200s; a connection idle for idle_close seconds after a response is closed."""

    def run(conn):
        while not conn.stopped():
            req = conn.read_request(idle=idle_close)
            if req is None:
                return
            hdrs = [("Content-Length", str(len(body))), ("X-Method", req.method)]
            if not conn.send(_response(200, "OK", hdrs, body)):
                return
    return run


def _pattern_block(size=1 << 20):
    base = bytes(range(256))
    return (base * (size // 256 + 1))[:size]


def pattern_sha256(total, block=1 << 20):
    """SHA-256 of the bytes big_body_behaviour sends for a body of `total` bytes."""
    blk = _pattern_block(block)
    h = hashlib.sha256()
    left = total
    while left > 0:
        n = min(left, len(blk))
        h.update(blk[:n])
        left -= n
    return h.hexdigest()


def big_body_behaviour(size, chunked=False, block=1 << 20):
    """200 with a generated body of size bytes (never held in memory whole); keep-alive."""
    blk = _pattern_block(block)

    def run(conn):
        while not conn.stopped():
            req = conn.read_request()
            if req is None:
                return
            if chunked:
                hdrs = [("Transfer-Encoding", "chunked")]
            else:
                hdrs = [("Content-Length", str(size))]
            if not conn.send(_response(200, "OK", hdrs, b"")):
                return
            if req.method == "HEAD":
                continue
            left = size
            while left > 0:
                n = min(left, len(blk))
                piece = blk if n == len(blk) else blk[:n]
                if chunked:
                    piece = b"%x\r\n" % n + piece + b"\r\n"
                if not conn.send(piece):
                    return
                left -= n
            if chunked and not conn.send(b"0\r\n\r\n"):
                return
    return run


def chunked_behaviour(chunks, trailers=b""):
    """200 with a chunked body made of the given chunks (keep-alive)."""

    def run(conn):
        while not conn.stopped():
            req = conn.read_request()
            if req is None:
                return
            out = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            for c in chunks:
                out += b"%x\r\n" % len(c) + c + b"\r\n"
            out += b"0\r\n" + trailers + b"\r\n"
            if not conn.send(out):
                return
    return run


def truncated_behaviour(head, body, then="reset"):
    """Read the request, send head + body, then reset (or close) the connection."""

    def run(conn):
        req = conn.read_request(idle=10)
        if req is None:
            return
        conn.send(head + body)
        conn.sleep(0.05)
        if then == "reset":
            conn.reset()
        else:
            conn.close()
    return run


# ---------------------------------------------------------------------------------------------
# WebSocket

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_frame(opcode, payload, mask):
    """Build one final frame; mask is None (server) or 4 bytes (client)."""
    b0 = 0x80 | opcode
    n = len(payload)
    mbit = 0x80 if mask is not None else 0
    if n < 126:
        head = struct.pack("!BB", b0, mbit | n)
    elif n < 65536:
        head = struct.pack("!BBH", b0, mbit | 126, n)
    else:
        head = struct.pack("!BBQ", b0, mbit | 127, n)
    if mask is None:
        return head + payload
    masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return head + mask + masked


def ws_parse(buf):
    """Parse one frame from the start of buf. Returns (opcode, payload, masked, used) or None
    when buf holds no complete frame."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7F
    pos = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack("!H", bytes(buf[2:4]))[0]
        pos = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack("!Q", bytes(buf[2:10]))[0]
        pos = 10
    masked = bool(b1 & 0x80)
    mask = None
    if masked:
        if len(buf) < pos + 4:
            return None
        mask = bytes(buf[pos:pos + 4])
        pos += 4
    if len(buf) < pos + n:
        return None
    payload = bytes(buf[pos:pos + n])
    if masked:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return (b0 & 0x0F, payload, masked, pos + n)


def websocket_echo_behaviour():
    """Accept a WebSocket upgrade (101 with Sec-WebSocket-Accept), echo text and binary
    frames, answer ping with pong and close with close. Unmasked client frames are errors."""

    def run(conn):
        req = conn.read_request(idle=10)
        if req is None:
            return
        key = req.header("sec-websocket-key")
        upgrade = (req.header("upgrade") or "").lower()
        if not key or upgrade != "websocket":
            body = b'{"message":"not a websocket upgrade"}'
            conn.send(_response(400, "Bad Request", [("Content-Length", str(len(body))),
                                                      ("Connection", "close")], body))
            return
        conn.send(_response(101, "Switching Protocols",
                            [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                             ("Sec-WebSocket-Accept", ws_accept(key))], b""))
        deadline = time.monotonic() + 30
        while not conn.stopped() and time.monotonic() < deadline:
            fr = ws_parse(conn.buf)
            if fr is None:
                try:
                    if not conn._recv(deadline):
                        return
                except TimeoutError:
                    return
                continue
            opcode, payload, masked, used = fr
            del conn.buf[:used]
            if not masked:
                conn.server._error(conn.id, "unmasked client frame")
                return
            if opcode in (1, 2):
                conn.send(ws_frame(opcode, payload, None))
            elif opcode == 9:
                conn.send(ws_frame(10, payload, None))
            elif opcode == 8:
                conn.send(ws_frame(8, payload[:2], None))
                return
    return run


# ---------------------------------------------------------------------------------------------

def _selftest():
    """Quick check of the echo upstream with plain sockets (run this file directly)."""
    with UpstreamServer(echo_behaviour(), "selftest") as up:
        s = socket.create_connection(("127.0.0.1", up.port), timeout=3)
        s.sendall(b"POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
                  b"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-T: 1\r\n\r\n"
                  b"GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        s.close()
        assert data.count(b"HTTP/1.1 200 OK") == 3, data
        reqs = up.wait_requests(3)
        assert [r.target for r in reqs] == ["/a?x=1", "/b", "/c"], reqs
        assert reqs[0].body == b"hello" and reqs[1].body == b"abcde"
        assert reqs[1].trailers == [("X-T", "1")]
        assert [r.index for r in reqs] == [0, 1, 2] and up.accepts == 1
        assert up.all_raw().startswith(b"POST /a?x=1 HTTP/1.1\r\n")
        # a framing error is recorded, never turned into a request
        s = socket.create_connection(("127.0.0.1", up.port), timeout=3)
        s.sendall(b"GET /bad HTTP/1.1\nHost: h\n\n")
        assert s.recv(10) == b""
        s.close()
        time.sleep(0.1)
        assert len(up.requests) == 3 and up.errors, up.errors
    with UpstreamServer(big_body_behaviour(3 << 20, chunked=True), "big") as up:
        s = socket.create_connection(("127.0.0.1", up.port), timeout=3)
        s.sendall(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        data = b""
        while not data.endswith(b"0\r\n\r\n"):
            data += s.recv(1 << 20)
        s.close()
        assert data.startswith(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with UpstreamServer(websocket_echo_behaviour(), "ws") as up:
        s = socket.create_connection(("127.0.0.1", up.port), timeout=3)
        s.sendall(b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1)
        assert b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head, head
        s.sendall(ws_frame(1, b"hi there", b"\x01\x02\x03\x04"))
        buf = b""
        while ws_parse(buf) is None:
            buf += s.recv(100)
        assert ws_parse(buf)[:3] == (1, b"hi there", False)
        s.close()
    print("upstreams self-test ok")


if __name__ == "__main__":
    _selftest()

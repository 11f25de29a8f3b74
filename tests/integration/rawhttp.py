# SPDX-License-Identifier: MIT
"""A raw-socket HTTP/1.1 client for the integration suite: send exact bytes, read complete
responses (Content-Length, chunked, until close, HEAD, 1xx), detect a closed connection, and
stream big bodies to a sink without keeping them."""

import json
import socket
import ssl
import time


class ConnClosed(Exception):
    """The peer closed the connection before a status line arrived."""


class Response:
    def __init__(self):
        self.version = ""
        self.status = 0
        self.reason = ""
        self.headers = []        # list of (name, value) str, in order
        self.body = b""
        self.body_length = 0
        self.complete = True     # False when the body ended early (close before its end)
        self.raw_head = b""

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def has(self, name):
        return self.header(name) is not None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def conn_close(self):
        return "close" in (self.header("connection") or "").lower()

    def __repr__(self):
        return "<Response %d %s %r>" % (self.status, self.headers, self.body[:300])


def build(method="GET", target="/", host="svc.test", headers=(), body=None, version="HTTP/1.1",
          content_length=True):
    """Build request bytes. headers: list of (name, value); body bytes gets a Content-Length
    unless content_length is False or one is given."""
    out = "%s %s %s\r\n" % (method, target, version)
    if host is not None:
        out += "Host: %s\r\n" % host
    names = set()
    for k, v in headers:
        out += "%s: %s\r\n" % (k, v)
        names.add(k.lower())
    if body is not None and content_length and "content-length" not in names and \
            "transfer-encoding" not in names:
        out += "Content-Length: %d\r\n" % len(body)
    data = out.encode("latin-1") + b"\r\n"
    if body is not None:
        data += body
    return data


class RawConn:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    # -- bytes -----------------------------------------------------------------------------
    def send(self, data):
        self.sock.sendall(data)

    def try_send(self, data):
        """Send; False when the peer already closed or reset."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def shutdown_write(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self, deadline, size=262144):
        """Read more bytes into buf; False on EOF/RST. Raises socket.timeout at deadline."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("read timed out")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(size)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        except socket.timeout:
            raise
        except OSError:
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_some(self, timeout=1.0):
        """Whatever arrives within timeout (b'' on EOF or timeout)."""
        try:
            self._fill(time.monotonic() + timeout)
        except socket.timeout:
            pass
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def read_until_close(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self._fill(deadline):
                    break
            except socket.timeout:
                break
        out = bytes(self.buf)
        self.buf.clear()
        return out

    def closed(self, timeout=1.0):
        """True when the peer closes (EOF or RST) within timeout and sends nothing first.
        Bytes that arrive instead are kept for the next read and False is returned."""
        if self.buf:
            return False
        deadline = time.monotonic() + timeout
        try:
            return not self._fill(deadline)
        except socket.timeout:
            return False

    def wait_closed(self, timeout=5.0):
        """Like closed() but discards bytes that arrive; True if EOF/RST within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self._fill(deadline):
                    return True
            except socket.timeout:
                return False
            self.buf.clear()

    def _line(self, deadline, limit=1 << 20):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise ValueError("response line too long")
            if not self._fill(deadline):
                return None

    # -- responses -------------------------------------------------------------------------
    def read_response(self, method="GET", timeout=None, sink=None, keep_body=True):
        """Read one response. 1xx responses are returned on their own. sink(memoryview) gets
        the body in pieces when given (then body stays empty). Raises ConnClosed when the
        connection ends before a status line."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        r = Response()
        line = self._line(deadline)
        if line is None:
            raise ConnClosed("connection closed before a response (reset=%s)" % self.reset)
        head = [line]
        parts = line.rstrip(b"\r\n").split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ValueError("bad status line %r" % line)
        r.version = parts[0].decode()
        r.status = int(parts[1])
        r.reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        while True:
            line = self._line(deadline)
            if line is None:
                raise ConnClosed("connection closed inside the response head")
            head.append(line)
            if line in (b"\r\n", b"\n"):
                break
            k, _, v = line.decode("latin-1").partition(":")
            r.headers.append((k, v.strip()))
        r.raw_head = b"".join(head)
        if 100 <= r.status < 200 or r.status in (204, 304) or method == "HEAD":
            return r
        body = bytearray()

        def take(mv):
            r.body_length += len(mv)
            if sink is not None:
                sink(mv)
            elif keep_body:
                body.extend(mv)

        te = (r.header("transfer-encoding") or "").lower()
        cl = r.header("content-length")
        if "chunked" in te:
            r.complete = self._read_chunked(deadline, take)
        elif cl is not None:
            r.complete = self._read_n(int(cl), deadline, take)
        else:
            while True:
                if self.buf:
                    take(memoryview(bytes(self.buf)))
                    self.buf.clear()
                if not self._fill(deadline):
                    break
        r.body = bytes(body)
        return r

    def _read_n(self, n, deadline, take):
        while n > 0:
            if not self.buf and not self._fill(deadline, size=min(n, 1 << 20)):
                return False
            k = min(n, len(self.buf))
            with memoryview(self.buf) as mv:
                take(mv[:k])
            del self.buf[:k]
            n -= k
        return True

    def _read_chunked(self, deadline, take):
        while True:
            line = self._line(deadline)
            if line is None:
                return False
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while True:
                    t = self._line(deadline)
                    if t is None:
                        return False
                    if t in (b"\r\n", b"\n"):
                        return True
            if not self._read_n(size, deadline, take):
                return False
            while len(self.buf) < 2:
                if not self._fill(deadline):
                    return False
            del self.buf[:2]

    def request(self, method="GET", target="/", host="svc.test", headers=(), body=None,
                timeout=None, **kw):
        """Send one request and read its final response (skipping 1xx)."""
        self.send(build(method, target, host, headers, body, **kw))
        while True:
            r = self.read_response(method=method, timeout=timeout)
            if r.status >= 200 or r.status == 101:
                return r


def one_request(port, method="GET", target="/", host="svc.test", headers=(), body=None,
                timeout=10.0, **kw):
    """Open a connection, send one request, read the response, close."""
    c = RawConn(port, timeout=timeout)
    try:
        return c.request(method, target, host, headers, body, **kw)
    finally:
        c.close()


def send_and_read(port, data, timeout=5.0, method="GET", close_wait=1.5):
    """Send raw bytes on a fresh connection. Returns (response, closed, extra): the first
    final response (None when the connection closed before any), whether the connection was
    closed within close_wait s after it, and any bytes that arrived after it."""
    c = RawConn(port, timeout=timeout)
    try:
        c.try_send(data)
        try:
            r = c.read_response(method=method, timeout=timeout)
            while 100 <= r.status < 200:
                r = c.read_response(method=method, timeout=timeout)
        except ConnClosed:
            return None, True, b""
        extra = bytearray(c.buf)
        c.buf.clear()
        deadline = time.monotonic() + close_wait
        closed = False
        while True:
            try:
                if not c._fill(deadline):
                    closed = True
                    break
            except socket.timeout:
                break
            extra += c.buf
            c.buf.clear()
        return r, closed, bytes(extra)
    finally:
        c.close()


def tls_get(port, target, host, server_hostname=None):
    """GET target over TLS (certificate not checked; server_hostname is the SNI, None for
    none) on a connection closed after it. Returns (status, {lower name: value}, body)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=server_hostname)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                   % (target, host)).encode())
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    finally:
        s.close()
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = {k.strip().lower(): v.strip() for k, _, v in
            (ln.partition(":") for ln in lines[1:])}
    return int(lines[0].split()[1]), hdrs, body

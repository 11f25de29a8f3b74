# SPDX-License-Identifier: MIT
"""An OTLP/HTTP traces receiver for the tests: a real HTTP server on 127.0.0.1 that keeps every
POST it gets, and a decoder of the protobuf wire format that turns an ExportTraceServiceRequest
(opentelemetry/proto/collector/trace/v1) into plain dicts, written from the .proto field
numbers: no generated code."""

import http.server
import struct
import threading
import time


def _varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    """[(field number, wire type, value)]: ints for varint and fixed types, bytes otherwise."""
    out, i = [], 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v = struct.unpack_from("<Q", buf, i)[0]
            i += 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v = bytes(buf[i:i + n])
            if len(v) != n:
                raise ValueError("truncated field")
            i += n
        elif wt == 5:
            v = struct.unpack_from("<I", buf, i)[0]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
        out.append((num, wt, v))
    return out


def _any_value(buf):
    for num, wt, v in fields(buf):
        if num == 1:
            return v.decode()
        if num == 2:
            return bool(v)
        if num == 3:
            return ("int", v - (1 << 64) if v >= 1 << 63 else v)
        if num == 4:
            return struct.unpack("<d", struct.pack("<Q", v))[0]
    return None


def _key_values(items):
    out = {}
    for kv in items:
        key = value = None
        for num, wt, v in fields(kv):
            if num == 1:
                key = v.decode()
            elif num == 2:
                value = _any_value(v)
        out[key] = value
    return out


def _span(buf):
    s = {"attributes": {}, "events": [], "parent_span_id": b"", "status": None}
    attrs = []
    for num, wt, v in fields(buf):
        if num == 1:
            s["trace_id"] = v
        elif num == 2:
            s["span_id"] = v
        elif num == 4:
            s["parent_span_id"] = v
        elif num == 5:
            s["name"] = v.decode()
        elif num == 6:
            s["kind"] = v
        elif num == 7:
            s["start"] = v
        elif num == 8:
            s["end"] = v
        elif num == 9:
            attrs.append(v)
        elif num == 11:
            ev = {"attributes": {}}
            ev_attrs = []
            for n2, _, v2 in fields(v):
                if n2 == 1:
                    ev["time"] = v2
                elif n2 == 2:
                    ev["name"] = v2.decode()
                elif n2 == 3:
                    ev_attrs.append(v2)
            ev["attributes"] = _key_values(ev_attrs)
            s["events"].append(ev)
        elif num == 15:
            s["status"] = {n2: v2 for n2, _, v2 in fields(v)}
    s["attributes"] = _key_values(attrs)
    return s


def decode_traces(body):
    """ExportTraceServiceRequest -> [{"resource": {attrs}, "scope": (name, version),
    "spans": [span dicts]}] (one entry per ScopeSpans)."""
    out = []
    for num, _, rs in fields(body):
        assert num == 1, "ExportTraceServiceRequest holds resource_spans only"
        resource = {}
        for n2, _, v in fields(rs):
            if n2 == 1:
                resource = _key_values([kv for n3, _, kv in fields(v) if n3 == 1])
            elif n2 == 2:
                scope, spans = None, []
                for n3, _, v3 in fields(v):
                    if n3 == 1:
                        f = {n4: v4.decode() for n4, _, v4 in fields(v3) if n4 in (1, 2)}
                        scope = (f.get(1), f.get(2))
                    elif n3 == 2:
                        spans.append(_span(v3))
                out.append({"resource": resource, "scope": scope, "spans": spans})
    return out


class OtlpReceiver:
    """Keeps (path, headers, body) of every request; answers status (200 by default)."""

    def __init__(self, status=200):
        self.requests = []
        self.status = status
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    outer.requests.append((self.path, dict(self.headers), body))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d/v1/traces" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def spans(self):
        with self.lock:
            reqs = list(self.requests)
        out = []
        for _, _, body in reqs:
            for rs in decode_traces(body):
                out.extend(rs["spans"])
        return out

    def wait_spans(self, pred, timeout=10.0):
        """The spans once pred(spans) holds (or the last seen after timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            spans = self.spans()
            if pred(spans) or time.monotonic() > deadline:
                return spans
            time.sleep(0.05)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

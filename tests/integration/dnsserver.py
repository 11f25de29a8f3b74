# SPDX-License-Identifier: MIT
"""A tiny authoritative DNS server for the tests: UDP on 127.0.0.1 (ephemeral port), answering
A, AAAA and SRV questions from a zone the test edits while it runs. A name missing from the
zone is NXDOMAIN; a name without records of the asked type is an empty answer (NODATA).
`servfail = True` answers SERVFAIL to everything, `silent = True` nothing at all; `stop()`
closes the socket (queries then meet a closed port). Every question is counted, for TTL assertions."""

import socket
import struct
import threading

TYPES = {"A": 1, "AAAA": 28, "SRV": 33}


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


class DNSServer:
    def __init__(self):
        self.zone = {}          # name -> list of (type, ttl, value); SRV value (weight, port, target)
        self.servfail = False
        self.silent = False     # read questions, answer none (a server that never replies)
        self.questions = []     # (name, type name)
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.address = "127.0.0.1:%d" % self.port
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="dns")
        self.thread.start()

    def set(self, name, *records):
        """Replace name's records: ("A", ttl, "1.2.3.4"), ("SRV", ttl, (weight, port, target)),
        or ("SRV", ttl, (weight, port, target, priority)) (priority 0 otherwise)."""
        with self.lock:
            self.zone[name.lower()] = list(records)

    def remove(self, name):
        with self.lock:
            self.zone.pop(name.lower(), None)

    def asked(self, name, qtype=None):
        with self.lock:
            return sum(1 for n, t in self.questions
                       if n == name.lower() and (qtype is None or t == qtype))

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()

    def _loop(self):
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            reply = self._answer(data)
            if reply and not self.silent:
                try:
                    self.sock.sendto(reply, peer)
                except OSError:
                    pass

    def _answer(self, q):
        if len(q) < 12:
            return None
        qid, flags, qd = struct.unpack("!HHH", q[:6])
        if qd != 1:
            return None
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode(errors="replace"))
            i += 1 + n
        i += 1
        if i + 4 > len(q):
            return None
        qtype, qclass = struct.unpack("!HH", q[i:i + 4])
        question = q[12:i + 4]
        name = ".".join(labels).lower()
        tname = {v: k for k, v in TYPES.items()}.get(qtype, str(qtype))
        with self.lock:
            self.questions.append((name, tname))
            records = self.zone.get(name)
            servfail = self.servfail
        rd = flags & 0x0100
        if servfail:
            return struct.pack("!HHHHHH", qid, 0x8080 | rd | 2, 1, 0, 0, 0) + question
        if records is None:
            return struct.pack("!HHHHHH", qid, 0x8480 | rd | 3, 1, 0, 0, 0) + question
        answers = b""
        count = 0
        for rtype, ttl, value in records:
            if TYPES[rtype] != qtype:
                continue
            if rtype == "A":
                rdata = socket.inet_pton(socket.AF_INET, value)
            elif rtype == "AAAA":
                rdata = socket.inet_pton(socket.AF_INET6, value)
            else:
                weight, port, target = value[:3]
                priority = value[3] if len(value) > 3 else 0
                rdata = struct.pack("!HHH", priority, weight, port) + encode_name(target)
            answers += struct.pack("!HHHIH", 0xC00C, qtype, 1, ttl, len(rdata)) + rdata
            count += 1
        return struct.pack("!HHHHHH", qid, 0x8480 | rd, 1, count, 0, 0) + question + answers

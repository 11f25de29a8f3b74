# SPDX-License-Identifier: MIT
"""Security profile K-05, write contention: 16 concurrent Admin API writers under proxy load
(whose rate-limiting `cluster` counters write to the same database) get no "database is
locked" and no 500: every write is a 2xx or a clean 400/404/409, the WAL stays under its
64 MiB bound, and every proxied request is answered. The profile's case runs 60 s; here
K05_SECONDS (default 8) bounds it. Latencies are printed for the reader, never asserted
(speed is the benchmarks' business)."""

import os
import threading
import time

import requests

from harness import SLOW

SECONDS = float(os.environ.get("K05_SECONDS", "8"))
WRITERS = 16
CLEAN = {200, 201, 204, 400, 404, 409}


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else 0.0


class Writer(threading.Thread):
    """Creates consumers with a key each, patches them, deletes every other one, and now and
    then asks for a name another writer holds (a clean 409)."""

    def __init__(self, base, n, deadline):
        super().__init__(daemon=True)
        self.base, self.n, self.deadline = base, n, deadline
        self.statuses = []
        self.bad = []
        self.latencies = []

    def call(self, s, method, path, **kw):
        t0 = time.monotonic()
        r = s.request(method, self.base + path, timeout=30 * SLOW, **kw)
        self.latencies.append(time.monotonic() - t0)
        self.statuses.append(r.status_code)
        if r.status_code not in CLEAN or "locked" in r.text:
            self.bad.append((method, path, r.status_code, r.text[:200]))
        return r

    def run(self):
        s = requests.Session()
        i = 0
        while time.monotonic() < self.deadline:
            name = "w%d-c%d" % (self.n, i)
            self.call(s, "POST", "/consumers", data={"username": name})
            self.call(s, "POST", "/consumers/%s/key-auth" % name, data={"key": name + "-key"})
            self.call(s, "PATCH", "/consumers/%s" % name, data={"custom_id": name + "-cid"})
            # another writer's first consumer: a 409, never a lock error
            self.call(s, "POST", "/consumers", data={"username": "w%d-c0" % ((self.n + 1) %
                                                                              WRITERS)})
            if i % 2:
                self.call(s, "DELETE", "/consumers/%s" % name)
            i += 1
        s.close()


class Asker(threading.Thread):
    def __init__(self, url, deadline):
        super().__init__(daemon=True)
        self.url, self.deadline = url, deadline
        self.statuses = []

    def run(self):
        s = requests.Session()
        while time.monotonic() < self.deadline:
            try:
                self.statuses.append(s.get(self.url, headers={"apikey": "proxy-key"},
                                           timeout=30 * SLOW).status_code)
            except requests.RequestException as e:
                self.statuses.append(repr(e))
        s.close()


def test_k05_concurrent_admin_writers_under_proxy_load(torii_factory, echo):
    t = torii_factory()
    a = t.admin
    a.add_api(name="k05", upstream_url=echo.url, request_path="/k05")
    for name, config in (("key-auth", {}),
                         ("rate-limiting", {"config.second": "100000",
                                            "config.policy": "cluster"})):
        r = a.post("/apis/k05/plugins", data=dict({"name": name}, **config))
        assert r.status_code == 201, r.text
    a.add_consumer(username="proxy-user")
    assert a.post("/consumers/proxy-user/key-auth", data={"key": "proxy-key"}).status_code == 201

    deadline = time.monotonic() + SECONDS
    writers = [Writer(a.url(""), n, deadline) for n in range(WRITERS)]
    askers = [Asker("http://127.0.0.1:%d/k05/x" % t.proxy_port, deadline) for _ in range(4)]
    for th in writers + askers:
        th.start()
    for th in writers + askers:
        th.join(SECONDS + 120 * SLOW)
        assert not th.is_alive()

    bad = [b for w in writers for b in w.bad]
    assert bad == [], bad[:5]
    statuses = [s for w in writers for s in w.statuses]
    assert statuses.count(201) >= WRITERS * 2 and statuses.count(409) >= WRITERS
    asked = [s for k in askers for s in k.statuses]
    assert asked and set(asked) == {200}, sorted(set(map(str, asked)))[:5]
    assert "database is locked" not in t.stderr_text()
    wal = t.prefix / "torii.db-wal"
    assert not wal.exists() or wal.stat().st_size < 64 << 20
    lat = [x for w in writers for x in w.latencies]
    print("K-05: %d admin writes, p50 %.1f ms, p99 %.1f ms; %d proxied requests"
          % (len(lat), 1000 * pct(lat, 50), 1000 * pct(lat, 99), len(asked)))

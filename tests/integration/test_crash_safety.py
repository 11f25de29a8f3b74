# SPDX-License-Identifier: MIT
"""Crash safety: kill -9 in the middle of a burst of admin writes, many times in a row. Odd
rounds kill only the worker process (the master replaces it), even rounds kill the whole
process group, master included (the node is started again on the same prefix). After every
round each write that got a 2xx is there (and each acknowledged delete is gone), and the
database file passes PRAGMA integrity_check whenever no process holds it."""

import os
import random
import signal
import sqlite3
import threading
import time

import requests

from harness import ASAN, SLOW, descendants, wait_for

ROUNDS = 10
WRITERS = 4


def worker_pids(t):
    return [p for p in descendants(t.proc.pid) if p != t.proc.pid]


def integrity(db_path):
    db = sqlite3.connect(str(db_path))
    try:
        check = db.execute("PRAGMA integrity_check").fetchall()
        fk = db.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        db.close()
    return check, fk


class Burst:
    """WRITERS threads creating consumers (and an api every few writes) and deleting some of
    what they created, until stopped. Records what was acknowledged."""

    def __init__(self, base, tag):
        self.base = base
        self.tag = tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.created = {}      # path -> acknowledged body (must be present)
        self.deleted = set()   # paths whose DELETE got 204 (must be absent)
        self.uncertain = set()  # paths with a DELETE that got no answer
        self.acked = 0
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(WRITERS)]

    def run(self, n):
        s = requests.Session()
        s.trust_env = False
        i = 0
        mine = []
        while not self.stop.is_set():
            i += 1
            name = "%s-w%d-%d" % (self.tag, n, i)
            try:
                if i % 5 == 0:
                    r = s.post(self.base + "/apis/", timeout=5 * SLOW,
                               data={"name": name, "request_path": "/" + name,
                                     "upstream_url": "http://127.0.0.1:9/"})
                    path = "/apis/" + name
                elif i % 3 == 0 and mine:
                    path = mine.pop(0)
                    with self.lock:
                        self.uncertain.add(path)
                    r = s.delete(self.base + path, timeout=5 * SLOW)
                    if r.status_code == 204:
                        with self.lock:
                            self.uncertain.discard(path)
                            self.deleted.add(path)
                            self.acked += 1
                    continue
                else:
                    r = s.post(self.base + "/consumers/", timeout=5 * SLOW,
                               data={"username": name, "custom_id": "c-" + name})
                    path = "/consumers/" + name
            except requests.RequestException:
                # The node went away mid-request: nothing is known about this write.
                time.sleep(0.01)
                continue
            if 200 <= r.status_code < 300:
                with self.lock:
                    self.created[path] = r.json()
                    self.acked += 1
                mine.append(path)
        s.close()

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)


def check_acknowledged(admin, burst, rnd):
    for path, body in burst.created.items():
        if path in burst.deleted or path in burst.uncertain:
            continue
        r = admin.get(path)
        assert r.status_code == 200, "round %d: acknowledged %s lost: %d %s" % (
            rnd, path, r.status_code, r.text)
        assert r.json() == body, "round %d: %s changed" % (rnd, path)
    for path in burst.deleted:
        r = admin.get(path)
        assert r.status_code == 404, "round %d: deleted %s is back" % (rnd, path)


def serving(admin):
    try:
        return admin.get("/status", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def test_kill9_during_write_burst(torii_factory):
    t = torii_factory()
    rng = random.Random(8)
    acked_total = 0
    everything = Burst(t.admin.base, "all")  # only its records are used
    rounds_done = 0
    for rnd in range(ROUNDS):
        whole_group = rnd % 2 == 1
        with Burst(t.admin.base, "r%d" % rnd) as burst:
            # Let the burst get going, then kill while writes are in flight.
            assert wait_for(lambda: burst.acked >= 3, timeout=10), \
                "round %d: no write was acknowledged" % rnd
            time.sleep(rng.uniform(0.05, 0.3) * SLOW)
            if whole_group:
                t.kill9()
            else:
                workers = worker_pids(t)
                assert len(workers) == 1, workers
                os.kill(workers[0], signal.SIGKILL)
            burst.stop.set()
        if whole_group:
            # No process holds the file now: it must be sound before anything reopens it.
            check, fk = integrity(t.db_path)
            assert check == [("ok",)], "round %d: %r" % (rnd, check)
            assert fk == [], "round %d: %r" % (rnd, fk)
            t.restart()
        else:
            assert t.alive(), "the master died with its worker"
            assert wait_for(lambda: serving(t.admin), timeout=10), \
                "round %d: the node did not come back" % rnd
        check_acknowledged(t.admin, burst, rnd)
        everything.created.update(burst.created)
        everything.deleted |= burst.deleted
        everything.uncertain |= burst.uncertain
        acked_total += burst.acked
        rounds_done += 1
    # What earlier rounds acknowledged survived the later kills too.
    check_acknowledged(t.admin, everything, ROUNDS)
    t.stop()
    check, fk = integrity(t.db_path)
    assert check == [("ok",)], check
    assert fk == []
    print("crash safety: %d rounds, %d acknowledged writes checked%s"
          % (rounds_done, acked_total, " (ASan build)" if ASAN else ""))

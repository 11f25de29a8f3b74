# SPDX-License-Identifier: MIT
"""Helpers of the balancing tests (test_balancer.py, test_dns.py): named upstream servers that
fail on command, upstreams, targets, services, and counting which server answered."""

import json
import uuid

import requests

from upstreams import _response

NOPEER = {"message": "failure to get a peer from the ring-balancer"}


def named_behaviour(name, state):
    """Keep-alive server answering {"server": name} with state[name] as status (200 unless
    told otherwise), so a test can make one fail on command."""

    def run(conn):
        while not conn.stopped():
            req = conn.read_request(idle=30.0)
            if req is None:
                return
            body = json.dumps({"server": name, "host": req.header("host"),
                               "target": req.target}).encode()
            status = state.get(name, 200)
            hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if not conn.send(_response(status, "X", hdrs, body)):
                return
    return run


def held_behaviour(name, hold):
    """Like named_behaviour, but each request is held by hold() before its answer."""

    def run(conn):
        while not conn.stopped():
            if conn.read_request(idle=30.0) is None:
                return
            hold()
            body = json.dumps({"server": name}).encode()
            conn.send(_response(200, "OK", [("Content-Length", str(len(body)))], body))
    return run


def upstream(admin, **fields):
    fields.setdefault("name", "u-" + uuid.uuid4().hex[:10])
    r = admin.post("/upstreams", json=fields)
    assert r.status_code == 201, r.text
    return r.json()


def target(admin, up, port, weight=100, host="127.0.0.1"):
    r = admin.post("/upstreams/%s/targets" % up["name"],
                   json={"target": "%s:%d" % (host, port), "weight": weight})
    assert r.status_code == 201, r.text
    return r.json()


def service_to(admin, up, path="/lb", retries=5, **route):
    s = admin.post("/services", json={"name": "s-" + uuid.uuid4().hex[:8], "host": up["name"],
                                      "retries": retries})
    assert s.status_code == 201, s.text
    r = admin.post("/routes", json=dict(paths=[path], service={"id": s.json()["id"]}, **route))
    assert r.status_code == 201, r.text
    return s.json()


def hit(t, path="/lb", headers=None, timeout=10):
    s = requests.Session()
    s.trust_env = False
    try:
        return s.get("http://127.0.0.1:%d%s" % (t.proxy_port, path), headers=headers or {},
                     timeout=timeout)
    finally:
        s.close()


def tally(t, n, path="/lb", headers=None):
    counts = {}
    for _ in range(n):
        r = hit(t, path, headers)
        assert r.status_code == 200, r.text
        s = r.json()["server"]
        counts[s] = counts.get(s, 0) + 1
    return counts


def target_health(admin, up):
    data = admin.get("/upstreams/%s/health" % up["name"]).json()["data"]
    return {d["target"]: d["health"] for d in data}

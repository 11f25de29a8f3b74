# SPDX-License-Identifier: MIT
"""Names through the node's resolver, against the tests' own DNS server (dnsserver.py) set as
`dns_resolver`: target names and service hosts resolve asynchronously on the control thread,
SRV records give ports and weights, an answer expires with its TTL, a failing server leaves the
last answer in use (dns_stale_ttl), a name that does not exist is 503 "name resolution failed"
for a service and DNS_ERROR for a target. Counts, never timings."""

import threading

import pytest

from dnsserver import DNSServer
from harness import SLOW, wait_for
from lbutil import hit, named_behaviour, service_to, tally, target_health, upstream

NAME_FAILED = {"message": "name resolution failed"}


@pytest.fixture
def dns():
    s = DNSServer()
    yield s
    s.stop()


@pytest.fixture
def node(torii_factory, dns):
    return torii_factory(settings={"dns_resolver": dns.address, "dns_hostsfile": "",
                                   "dns_error_ttl": "1", "dns_not_found_ttl": "1"})


@pytest.fixture
def servers(upstream_factory):
    state = {}
    return {n: upstream_factory(named_behaviour(n, state), n) for n in "ab"}


def name_target(admin, up, name, port=80, weight=100):
    r = admin.post("/upstreams/%s/targets" % up["name"],
                   json={"target": "%s:%d" % (name, port), "weight": weight})
    assert r.status_code == 201, r.text
    return r.json()


def test_target_name_resolves_through_the_server(node, dns, servers):
    dns.set("app.test", ("A", 60, "127.0.0.1"))
    admin = node.admin
    up = upstream(admin)
    t = name_target(admin, up, "app.test", servers["a"].port)
    service_to(admin, up)
    assert wait_for(lambda: hit(node).status_code == 200, timeout=10)
    assert tally(node, 4) == {"a": 4}
    assert target_health(admin, up)[t["target"]] == "HEALTHCHECKS_OFF"
    addrs = admin.get("/upstreams/%s/health" % up["name"]).json()["data"][0]["data"]
    assert addrs["addresses"] == [{"ip": "127.0.0.1", "port": servers["a"].port,
                                   "weight": 100, "health": "HEALTHCHECKS_OFF"}]


def test_srv_records_give_ports_and_weights(node, dns, servers):
    """SRV answers: each record's port and weight (Kong's SRV targets), the record's target
    name resolved in turn."""
    dns.set("node.test", ("A", 60, "127.0.0.1"))
    dns.set("_http.svc.test", ("SRV", 60, (10, servers["a"].port, "node.test")),
            ("SRV", 60, (30, servers["b"].port, "node.test")))
    admin = node.admin
    up = upstream(admin)
    name_target(admin, up, "_http.svc.test")
    service_to(admin, up)
    assert wait_for(lambda: hit(node).status_code == 200, timeout=10)
    assert tally(node, 80) == {"a": 20, "b": 60}


def plain_service(admin, name, port):
    """A service whose host is <name>.test (no upstream of that name), routed at /<name>."""
    s = admin.post("/services", json={"name": name, "host": name + ".test", "port": port})
    assert s.status_code == 201, s.text
    r = admin.post("/routes", json={"paths": ["/" + name], "service": {"name": name}})
    assert r.status_code == 201, r.text


def balanced_by_srv(node, dns, name, port):
    """An upstream whose one target is name, an SRV record (TTL 1) to port on node.test; its
    service answers once the resolver has the answer."""
    dns.set("node.test", ("A", 60, "127.0.0.1"))
    dns.set(name, ("SRV", 1, (1, port, "node.test")))
    up = upstream(node.admin)
    name_target(node.admin, up, name)
    service_to(node.admin, up)
    assert wait_for(lambda: hit(node).status_code == 200, timeout=10)


def test_an_answer_expires_with_its_ttl(node, dns, servers):
    """TTL 1: when the record changes, traffic follows it once the answer expired, and the
    name is asked again (not on every request)."""
    balanced_by_srv(node, dns, "_http.moving.test", servers["a"].port)
    assert tally(node, 3) == {"a": 3}
    dns.set("_http.moving.test", ("SRV", 1, (1, servers["b"].port, "node.test")))
    assert wait_for(lambda: hit(node).json()["server"] == "b", timeout=10)
    asked = dns.asked("_http.moving.test", "SRV")
    assert 2 <= asked < 30 * SLOW  # about one a second (TTL 1), not one per request


def test_a_failing_server_keeps_the_stale_answer(node, dns, servers):
    balanced_by_srv(node, dns, "_http.stale.test", servers["a"].port)
    before = dns.asked("_http.stale.test")
    dns.servfail = True
    # The TTL runs out and the refresh fails, more than once: the answer stays in use.
    assert wait_for(lambda: dns.asked("_http.stale.test") >= before + 2, timeout=10)
    assert tally(node, 5) == {"a": 5}
    dns.stop()
    assert tally(node, 5) == {"a": 5}


def test_a_name_that_does_not_exist(node, dns, servers):
    """A service host that does not resolve: 503 with Kong's message; a target name that does
    not: DNS_ERROR, its traffic goes to the other targets."""
    admin = node.admin
    plain_service(admin, "gone", servers["a"].port)
    r = hit(node, "/gone")  # at once: the request waits for the resolver's NXDOMAIN
    assert r.status_code == 503 and r.json() == NAME_FAILED
    up = upstream(admin)
    missing = name_target(admin, up, "missing.test")
    r = admin.post("/upstreams/%s/targets" % up["name"],
                   json={"target": "127.0.0.1:%d" % servers["b"].port})
    assert r.status_code == 201
    service_to(admin, up)
    assert wait_for(lambda: target_health(admin, up)[missing["target"]] == "DNS_ERROR",
                    timeout=10)
    assert tally(node, 4) == {"b": 4}
    # The name appears: after not_found_ttl it is asked again and gets traffic.
    dns.set("missing.test", ("A", 60, "127.0.0.1"))
    r = admin.patch("/upstreams/%s/targets/%s" % (up["name"], missing["id"]),
                    json={"target": "missing.test:%d" % servers["a"].port})
    assert r.status_code == 200, r.text
    assert wait_for(lambda: hit(node).json()["server"] == "a", timeout=10)


def test_service_host_resolves_through_the_server(node, dns, servers):
    """A service host name (no upstream of that name) is dialled at the address the resolver
    gave, with the service's port."""
    dns.set("plain.test", ("A", 60, "127.0.0.1"))
    plain_service(node.admin, "plain", servers["a"].port)
    # The first request, right after the write, waits for the answer rather than failing.
    r = hit(node, "/plain")
    assert r.status_code == 200 and r.json()["server"] == "a"
    assert dns.asked("plain.test", "A") >= 1


def test_a_server_that_never_answers(node, dns, servers):
    """Security profile F-09: a name the resolver never answers is 503 once its queries time
    out (two tries of 1 s), and the node keeps serving other routes meanwhile."""
    dns.set("fine.test", ("A", 60, "127.0.0.1"))
    plain_service(node.admin, "fine", servers["a"].port)
    assert hit(node, "/fine").status_code == 200
    dns.silent = True
    plain_service(node.admin, "mute", servers["a"].port)
    results = []
    t = threading.Thread(target=lambda: results.append(hit(node, "/mute", timeout=20)))
    t.start()
    assert hit(node, "/fine").json()["server"] == "a"  # served while the other waits
    t.join(20)
    assert results and results[0].status_code == 503 and results[0].json() == NAME_FAILED


def test_srv_lowest_priority_only(node, dns, servers):
    """Only the SRV records of the lowest priority value are used (Kong)."""
    dns.set("node.test", ("A", 60, "127.0.0.1"))
    dns.set("_http.prio.test", ("SRV", 60, (10, servers["a"].port, "node.test", 1)),
            ("SRV", 60, (90, servers["b"].port, "node.test", 2)))
    up = upstream(node.admin)
    name_target(node.admin, up, "_http.prio.test")
    service_to(node.admin, up)
    assert wait_for(lambda: hit(node).status_code == 200, timeout=10)
    assert tally(node, 10) == {"a": 10}


def test_service_host_srv_weights(node, dns, servers):
    """DNS-only balancing: a service host with SRV records spreads requests by their weights
    (and ports), with no upstream entity."""
    dns.set("node.test", ("A", 60, "127.0.0.1"))
    dns.set("weighted.test", ("SRV", 60, (1, servers["a"].port, "node.test")),
            ("SRV", 60, (3, servers["b"].port, "node.test")))
    plain_service(node.admin, "weighted", 1)
    counts = {}
    for _ in range(40):
        r = hit(node, "/weighted")
        assert r.status_code == 200, r.text
        counts[r.json()["server"]] = counts.get(r.json()["server"], 0) + 1
    assert counts == {"a": 10, "b": 30}


def test_ttl_zero_is_asked_again_at_once(node, dns, servers):
    """TTL 0: the name is asked again all the time (Kong: on every request), so a change
    shows within moments, with no expiry to wait for."""
    dns.set("node.test", ("A", 60, "127.0.0.1"))
    dns.set("_http.zero.test", ("SRV", 0, (1, servers["a"].port, "node.test")))
    up = upstream(node.admin)
    name_target(node.admin, up, "_http.zero.test")
    service_to(node.admin, up)
    assert wait_for(lambda: hit(node).status_code == 200, timeout=10)
    assert tally(node, 3) == {"a": 3}
    dns.set("_http.zero.test", ("SRV", 0, (1, servers["b"].port, "node.test")))
    assert wait_for(lambda: hit(node).json()["server"] == "b", timeout=5)
    assert dns.asked("_http.zero.test", "SRV") >= 2

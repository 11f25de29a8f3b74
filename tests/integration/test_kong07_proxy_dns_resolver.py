# SPDX-License-Identifier: MIT
"""Kong's DNS spec ported: spec/integration/proxy/dns_resolver_spec.lua at tag 0.7.0 and
spec/integration/05-proxy/dns_resolver_spec.lua at 0.8.3 (the same cases; 0.8.3 drops the #ci
tag), one test per `it(...)` case: an upstream named by a local IP and by a local host name.
Kong started a one-shot TCP server per case; the echo upstream serves both. Every case is
ported; none is skipped."""

import pytest

from kong07 import proxy, seen, start, stop


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    """setup: dns1.com to 127.0.0.1:<port>, dns2.com to localhost:<port>."""
    ns = start(tmp_path_factory, "k07dns")
    for name, host, base in (("tests-dns-1", "dns1.com", "http://127.0.0.1:%d"),
                             ("tests-dns-2", "dns2.com", "http://localhost:%d")):
        r = ns.admin.post("/apis/", data={"name": name, "request_host": host,
                                          "upstream_url": base % ns.echo.port})
        assert r.status_code == 201, r.text
    yield ns
    stop(ns)


def test_local_ip(k):
    """dns_resolver_spec.lua@0.7.0, 0.8.3: "should work when calling local IP"."""
    assert seen(proxy(k, "dns1.com", "/request"))["method"] == "GET"


def test_local_hostname(k):
    """dns_resolver_spec.lua@0.7.0: "should work when calling local hostname #ci" (0.8.3:
    "should work when calling local hostname")."""
    assert seen(proxy(k, "dns2.com", "/request"))["method"] == "GET"

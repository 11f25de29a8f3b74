# SPDX-License-Identifier: MIT
"""A Kong 3 service's TLS options towards an https upstream: tls_verify overriding the node's
upstream_tls_verify either way, and client_certificate (a /certificates row) presented to an
upstream that requires one. Connections of services asking different things are never shared."""

import ssl

import pytest

from harness import wait_for
from rawhttp import one_request
from test_tls import TLSUpstream, make_cert


def add_service_route(admin, up, path, **fields):
    s = admin.post("/services", json=dict(url=up.url, retries=0, **fields))
    assert s.status_code == 201, s.text
    r = admin.post("/routes", json={"paths": [path], "service": {"id": s.json()["id"]}})
    assert r.status_code == 201, r.text
    return s.json()


@pytest.fixture
def certs(tmp_path):
    crt, key = make_cert(tmp_path, "localhost", ["DNS:localhost", "IP:127.0.0.1"])
    other, _ = make_cert(tmp_path, "other.test")
    return crt, key, other


@pytest.mark.parametrize("node_verify", ["off", "on"])
def test_tls_verify_per_service(torii_factory, certs, node_verify):
    """The node trusts a CA that did not sign the upstream's certificate: a service that
    verifies gets 502, one that does not gets through; unset follows the node."""
    crt, key, other = certs
    up = TLSUpstream(crt, key)
    try:
        t = torii_factory(settings={"upstream_tls_verify": node_verify,
                                    "upstream_ca_bundle": str(other)})
        add_service_route(t.admin, up, "/on", tls_verify=True)
        add_service_route(t.admin, up, "/off", tls_verify=False)
        add_service_route(t.admin, up, "/default")
        assert one_request(t.proxy_port, "GET", "/on").status == 502
        assert one_request(t.proxy_port, "GET", "/off").status == 200
        # The /off connection is kept alive; /on must not be handed it.
        assert one_request(t.proxy_port, "GET", "/on").status == 502
        expect = 502 if node_verify == "on" else 200
        assert one_request(t.proxy_port, "GET", "/default").status == expect
    finally:
        up.stop()


def test_tls_verify_with_the_right_ca(torii_factory, certs):
    crt, key, _ = certs
    up = TLSUpstream(crt, key)
    try:
        t = torii_factory(settings={"upstream_ca_bundle": str(crt)})
        add_service_route(t.admin, up, "/on", tls_verify=True, tls_verify_depth=1)
        assert one_request(t.proxy_port, "GET", "/on").status == 200
    finally:
        up.stop()


def mtls_upstream(certs, tmp_path):
    """A TLS upstream that requires a client certificate, and that certificate's /certificates
    body."""
    crt, key, _ = certs
    client_crt, client_key = make_cert(tmp_path, "client.test")
    up = TLSUpstream(crt, key)
    up.ctx.verify_mode = ssl.CERT_REQUIRED
    up.ctx.load_verify_locations(str(client_crt))
    return up, {"cert": client_crt.read_text(), "key": client_key.read_text()}


def test_client_certificate(torii_factory, certs, tmp_path):
    """An upstream requiring a client certificate: the service's client_certificate is
    presented; a service without one is refused by the upstream (502)."""
    up, client = mtls_upstream(certs, tmp_path)
    try:
        t = torii_factory()
        cert = t.admin.post("/certificates", json=client)
        assert cert.status_code == 201, cert.text
        add_service_route(t.admin, up, "/with", client_certificate={"id": cert.json()["id"]})
        add_service_route(t.admin, up, "/without")
        r = one_request(t.proxy_port, "GET", "/with/x")
        assert r.status == 200, r.body
        assert r.json()["target"] == "/x"
        assert one_request(t.proxy_port, "GET", "/without").status == 502
        assert one_request(t.proxy_port, "GET", "/with").status == 200
    finally:
        up.stop()


def test_upstream_client_certificate_and_https_probes(torii_factory, certs, tmp_path):
    """A service balanced over an upstream presents the upstream's client_certificate when it
    has none of its own (Kong's fallback_upstream_client_cert); active https probes reach the
    same upstream over TLS (https_verify_certificate off: the node does not trust its CA)."""
    up, client = mtls_upstream(certs, tmp_path)
    try:
        t = torii_factory()
        cert = t.admin.post("/certificates", json=client)
        assert cert.status_code == 201, cert.text
        u = t.admin.post("/upstreams", json={
            "name": "tls-up", "client_certificate": {"id": cert.json()["id"]},
            # timeout: a probe's handshake is slow under the sanitizers on a loaded machine,
            # and a slow probe must not count as the only target's failure
            "healthchecks": {"active": {"type": "https", "https_verify_certificate": False,
                                        "http_path": "/probe", "timeout": 10,
                                        "healthy": {"interval": 1, "successes": 1},
                                        "unhealthy": {"interval": 1, "tcp_failures": 1}}}})
        assert u.status_code == 201, u.text
        r = t.admin.post("/upstreams/tls-up/targets", json={"target": "127.0.0.1:%d" % up.port})
        assert r.status_code == 201, r.text
        s = t.admin.post("/services", json={"protocol": "https", "host": "tls-up", "retries": 0})
        assert s.status_code == 201, s.text
        r = t.admin.post("/routes", json={"paths": ["/lb"], "service": {"id": s.json()["id"]}})
        assert r.status_code == 201, r.text
        # A probe that fails under load (tcp_failures 1) makes the only target unhealthy until
        # the next one succeeds (interval 1 s): the request is asked for until that is over.
        got = []
        assert wait_for(lambda: got.append(one_request(t.proxy_port, "GET", "/lb/x")) or
                        got[-1].status == 200, timeout=15), got[-1].body
        assert wait_for(lambda: any(q.target == "/probe" for q in up.requests), timeout=10)
        health = t.admin.get("/upstreams/tls-up/health").json()["data"][0]["health"]
        assert health == "HEALTHY"
    finally:
        up.stop()

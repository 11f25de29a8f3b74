# SPDX-License-Identifier: MIT
"""Kong's ssl specs ported: spec/plugins/ssl/{access,api,hooks}_spec.lua at tags 0.7.0 and 0.8.3
(identical). Certificates are made per run (Kong's spec shipped fixtures.lua); the plugin is
written as a multipart form, as the spec did.

torii differs from Kong 0.7 as documented in docs/plugins.md: the 426 carries
"Connection: Upgrade" and "Upgrade: TLS/1.2, HTTP/1.1" (0.7: "close, Upgrade" and TLS/1.0);
X-Forwarded-Proto counts only from a peer in trusted_ips (0.7: any peer); config.key is never
returned; the cert/key error messages are torii's own, on config.cert / config.key."""

import pytest

from kong07 import add_api, proxy, seen, start, stop
from test_tls import curl, make_cert, served_cn


@pytest.fixture(scope="module")
def ssl(tmp_path_factory):
    ns = start(tmp_path_factory, "ssl", settings={"trusted_ips": "127.0.0.1"}, ssl_port=True)
    d = tmp_path_factory.mktemp("certs")
    ns.crt, ns.key = make_cert(d, "ssl1.com", ["DNS:ssl1.com", "DNS:ssl2.com", "DNS:ssl4.com"])
    for i in range(1, 5):
        add_api(ns, "ssl%d.com" % i, "ssl%d.com" % i)
    for api, extra in (("ssl1.com", {}), ("ssl2.com", {"config.only_https": "true"}),
                       ("ssl4.com", {"config.only_https": "true",
                                     "config.accept_http_if_already_terminated": "true"})):
        files = {"name": (None, "ssl"), "config.cert": (None, ns.crt.read_text()),
                 "config.key": (None, ns.key.read_text())}
        files.update({k: (None, v) for k, v in extra.items()})
        r = ns.admin.post("/apis/%s/plugins/" % api, files=files)
        assert r.status_code == 201, r.text
    yield ns
    stop(ns)


def multipart(ssl, api, **fields):
    return ssl.admin.post("/apis/%s/plugins/" % api,
                          files={k: (None, v) for k, v in fields.items()})


def test_invalid_cert(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should not convert an invalid cert to DER"."""
    r = multipart(ssl, "ssl3.com", **{"name": "ssl", "config.cert": "asd",
                                       "config.key": ssl.key.read_text()})
    assert r.status_code == 400
    assert list(r.json()) == ["config.cert"]


def test_invalid_key(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should not convert an invalid key to DER"."""
    r = multipart(ssl, "ssl3.com", **{"name": "ssl", "config.cert": ssl.crt.read_text(),
                                       "config.key": "hello"})
    assert r.status_code == 400
    assert list(r.json()) == ["config.key"]


def test_default_certificate_for_other_apis(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should return default CERTIFICATE when
    requesting other APIs"."""
    assert served_cn(ssl.torii.ssl_port, "test4.com") == "localhost"


def test_certificate_of_a_specific_api(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should work when requesting a specific API"."""
    assert served_cn(ssl.torii.ssl_port, "ssl1.com") == "ssl1.com"


def test_only_https_blocks_http(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should block request without https"."""
    r = proxy(ssl, "ssl2.com")
    assert r.status == 426
    assert "upgrade" in r.header("connection").lower()
    assert r.header("upgrade") == "TLS/1.2, HTTP/1.1"
    assert r.json() == {"message": "Please use HTTPS protocol"}


def test_only_https_passes_https(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should not block request with https" (first
    case with this title: a TLS request to ssl2.com)."""
    code, _, err = curl("--cacert", str(ssl.crt), "--resolve",
                        "ssl2.com:%d:127.0.0.1" % ssl.torii.ssl_port,
                        "https://ssl2.com:%d/get" % ssl.torii.ssl_port)
    assert code == 200, err


def test_forwarded_proto_without_accept(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should block request with https in
    x-forwarded-proto but no accept_if_already_terminated"."""
    assert proxy(ssl, "ssl2.com", headers=(("X-Forwarded-Proto", "https"),)).status == 426


def test_forwarded_proto_with_accept(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should not block request with https" (second
    case with this title: X-Forwarded-Proto to ssl4.com, from a trusted peer)."""
    seen(proxy(ssl, "ssl4.com", headers=(("X-Forwarded-Proto", "https"),)))


def test_forwarded_proto_accept_if_already_terminated(ssl):
    """spec/plugins/ssl/access_spec.lua@0.7.0: "should not block request with https in
    x-forwarded-proto but accept_if_already_terminated"."""
    seen(proxy(ssl, "ssl4.com", headers=(("X-Forwarded-Proto", "https"),)))


def test_works_with_curl(ssl, tmp_path):
    """spec/plugins/ssl/access_spec.lua@0.7.0: describe "should work with curl" (code in the
    describe block, not an it): curl --form with the certificate and key files gives 201."""
    crt, key = make_cert(tmp_path, "ssl3.com")
    code, body, err = curl("--form", "name=ssl", "--form", "config.cert=<%s" % crt,
                           "--form", "config.key=<%s" % key,
                           "http://127.0.0.1:%d/apis/ssl3.com/plugins/" % ssl.torii.admin_port)
    assert code == 201, (body, err)


def test_api_refuses_consumer_id(ssl):
    """spec/plugins/ssl/api_spec.lua@0.7.0: "should refuse to set a `consumer_id` if asked
    to"."""
    add_api(ssl, "sslapi.com", "sslapi")
    r = multipart(ssl, "sslapi", **{"name": "ssl", "consumer_id": "504b535e-dc1c-11e5-8554-"
                                    "b3852c1ec156", "config.cert": ssl.crt.read_text(),
                                    "config.key": ssl.key.read_text()})
    assert r.status_code == 400
    assert r.json() == {"message": "No consumer can be configured for that plugin"}


# ---- hooks_spec.lua: changes apply to the next handshake (torii has no /cache) -------------

@pytest.fixture
def hooked(ssl, tmp_path):
    n = hooked.seq = getattr(hooked, "seq", 0) + 1
    host = "hooks%d.ssl.com" % n
    add_api(ssl, host, "hooks-ssl-%d" % n)
    crt, key = make_cert(tmp_path, host)
    r = multipart(ssl, "hooks-ssl-%d" % n, **{"name": "ssl", "config.cert": crt.read_text(),
                                               "config.key": key.read_text()})
    assert r.status_code == 201, r.text
    assert served_cn(ssl.torii.ssl_port, host) == host
    return host, "hooks-ssl-%d" % n, r.json(), tmp_path


def test_hooks_plugin_deleted(ssl, hooked):
    """spec/plugins/ssl/hooks_spec.lua@0.7.0: "should invalidate when SSL plugin is
    deleted"."""
    host, api, plugin, _ = hooked
    assert ssl.admin.delete("/apis/%s/plugins/%s" % (api, plugin["id"])).status_code == 204
    assert served_cn(ssl.torii.ssl_port, host) == "localhost"


def test_hooks_plugin_updated(ssl, hooked):
    """spec/plugins/ssl/hooks_spec.lua@0.7.0: "should invalidate when Basic Auth Credential
    entity is updated" (the title is Kong's; the case PATCHes the ssl plugin's cert)."""
    host, api, plugin, tmp = hooked
    crt, key = make_cert(tmp, "other-" + host, ["DNS:" + host])
    r = ssl.admin.patch("/apis/%s/plugins/%s" % (api, plugin["id"]),
                        files={"config.cert": (None, crt.read_text()),
                               "config.key": (None, key.read_text())})
    assert r.status_code == 200, r.text
    assert served_cn(ssl.torii.ssl_port, host) == "other-" + host


def test_hooks_api_deleted(ssl, hooked):
    """spec/plugins/ssl/hooks_spec.lua@0.7.0: "should invalidate when API entity is
    deleted"."""
    host, api, _, _ = hooked
    assert ssl.admin.delete("/apis/" + api).status_code == 204
    assert served_cn(ssl.torii.ssl_port, host) == "localhost"

# SPDX-License-Identifier: MIT
"""Kong 0.7's ssl plugin (issue 3): the api's certificate served for SNI equal to its
request_host (exact and wildcard, /snis wins), only_https with 426, the trusted
X-Forwarded-Proto of accept_http_if_already_terminated, config checks naming config.cert /
config.key, and a private key that no answer and no log line contains."""

import subprocess

import pytest

from test_tls import curl, make_cert, served_cn


def add_ssl(adm, api, crt, key, **config):
    data = {"name": "ssl", "config.cert": crt.read_text(), "config.key": key.read_text()}
    for k, v in config.items():
        data["config." + k] = v
    return adm.post("/apis/%s/plugins" % api, data=data)


def key_leaks(text, key):
    lines = [ln for ln in key.read_text().splitlines() if ln and not ln.startswith("-----")]
    return "PRIVATE KEY" in text or any(ln in text for ln in lines)


def expired_cert(tmp_path, cn):
    """A self-signed certificate valid only during two days of 2020: (cert_path, key_path)."""
    d = tmp_path / "ca"
    d.mkdir()
    (d / "index.txt").write_text("")
    (d / "serial").write_text("01\n")
    (d / "ca.cnf").write_text("[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\n"
                              "new_certs_dir = %s\nserial = %s/serial\ndefault_md = sha256\n"
                              "policy = p\n[p]\ncommonName = supplied\n" % (d, d, d))
    key, csr, crt = d / "old.key", d / "old.csr", d / "old.crt"
    subprocess.run(["openssl", "req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-keyout", str(key), "-out", str(csr),
                    "-subj", "/CN=%s" % cn], check=True, capture_output=True)
    subprocess.run(["openssl", "ca", "-batch", "-config", str(d / "ca.cnf"), "-selfsign",
                    "-keyfile", str(key), "-in", str(csr), "-out", str(crt), "-notext",
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z"],
                   check=True, capture_output=True)
    return crt, key


@pytest.fixture
def node(torii_factory, echo):
    t = torii_factory(ssl_port=True)
    return t


def test_sni_serves_plugin_cert_exact_and_wildcard(node, echo, tmp_path):
    adm = node.admin
    crt, key = make_cert(tmp_path, "ssl.test")
    w_crt, w_key = make_cert(tmp_path, "wild.ssl", ["DNS:*.wild.ssl"], kind="rsa")
    adm.add_api(name="one", upstream_url=echo.url, request_host="ssl.test")
    adm.add_api(name="wild", upstream_url=echo.url, request_host="*.wild.ssl")
    t_crt, t_key = make_cert(tmp_path, "trail.ssl")
    adm.add_api(name="trail", upstream_url=echo.url, request_host="trail.*")
    adm.add_api(name="path", upstream_url=echo.url, request_path="/p")
    port = node.ssl_port
    assert served_cn(port, "ssl.test") == "localhost"
    r = add_ssl(adm, "one", crt, key)
    assert r.status_code == 201, r.text
    one = r.json()
    assert add_ssl(adm, "wild", w_crt, w_key).status_code == 201
    assert add_ssl(adm, "trail", t_crt, t_key).status_code == 201
    # a plugin on an api without request_host only has only_https
    assert add_ssl(adm, "path", crt, key).status_code == 201
    assert served_cn(port, "ssl.test") == "ssl.test"
    assert served_cn(port, "SSL.TEST") == "ssl.test"
    assert served_cn(port, "a.wild.ssl") == "wild.ssl"
    assert served_cn(port, "wild.ssl") == "localhost"  # "*." needs a label before it
    # a trailing wildcard, as routing reads it: one last label
    assert served_cn(port, "trail.example") == "trail.ssl"
    assert served_cn(port, "TRAIL.io") == "trail.ssl"
    assert served_cn(port, "xtrail.example") == "localhost"
    assert served_cn(port, "other.test") == "localhost"
    assert served_cn(port) == "localhost"
    code, body, err = curl("--cacert", str(crt), "--resolve", "ssl.test:%d:127.0.0.1" % port,
                           "https://ssl.test:%d/x" % port)
    assert code == 200, (body, err)
    code, body, err = curl("--cacert", str(w_crt), "--resolve", "b.wild.ssl:%d:127.0.0.1" % port,
                           "https://b.wild.ssl:%d/y" % port)
    assert code == 200, (body, err)
    # disabling the instance applies to the next handshake
    r = adm.patch("/apis/one/plugins/" + one["id"], data={"enabled": "false"})
    assert r.status_code == 200, r.text
    assert served_cn(port, "ssl.test") == "localhost"
    r = adm.patch("/apis/one/plugins/" + one["id"], data={"enabled": "true"})
    assert r.status_code == 200, r.text
    assert served_cn(port, "ssl.test") == "ssl.test"
    # so does a changed request_host
    r = adm.patch("/apis/one", data={"request_host": "moved.test"})
    assert r.status_code == 200, r.text
    assert served_cn(port, "ssl.test") == "localhost"
    assert served_cn(port, "moved.test") == "ssl.test"
    # deleting the instance removes the certificate
    assert adm.delete("/plugins/" + one["id"]).status_code == 204
    assert served_cn(port, "moved.test") == "localhost"


def test_explicit_sni_wins_over_plugin(node, echo, tmp_path):
    adm = node.admin
    crt, key = make_cert(tmp_path, "ssl.test")
    other, other_key = make_cert(tmp_path, "explicit.test", ["DNS:ssl.test"])
    adm.add_api(name="one", upstream_url=echo.url, request_host="ssl.test")
    assert add_ssl(adm, "one", crt, key).status_code == 201
    assert served_cn(node.ssl_port, "ssl.test") == "ssl.test"
    r = adm.post("/certificates", json={"cert": other.read_text(), "key": other_key.read_text(),
                                        "snis": ["ssl.test"]})
    assert r.status_code == 201, r.text
    assert served_cn(node.ssl_port, "ssl.test") == "explicit.test"
    assert adm.delete("/certificates/" + r.json()["id"]).status_code == 204
    assert served_cn(node.ssl_port, "ssl.test") == "ssl.test"


def test_only_https_426(node, echo, tmp_path):
    adm = node.admin
    crt, key = make_cert(tmp_path, "ssl.test")
    adm.add_api(name="sec", upstream_url=echo.url, request_path="/sec")
    adm.add_api(name="open", upstream_url=echo.url, request_path="/open")
    assert add_ssl(adm, "sec", crt, key, only_https="true").status_code == 201
    assert add_ssl(adm, "open", crt, key).status_code == 201
    code, body, _ = curl("-i", "http://127.0.0.1:%d/sec/a" % node.proxy_port)
    assert code == 426
    assert '{"message":"Please use HTTPS protocol"}' in body
    assert "Connection: Upgrade" in body and "Upgrade: TLS/1.2, HTTP/1.1" in body
    code, _, err = curl("-k", "https://127.0.0.1:%d/sec/a" % node.ssl_port)
    assert code == 200, err
    # X-Forwarded-Proto from an untrusted peer does not count, nor without the option
    code, _, _ = curl("-H", "X-Forwarded-Proto: https", "http://127.0.0.1:%d/sec/a"
                      % node.proxy_port)
    assert code == 426
    # only_https off: plain HTTP passes
    code, _, _ = curl("http://127.0.0.1:%d/open/a" % node.proxy_port)
    assert code == 200


@pytest.mark.parametrize("trusted,expect", [("", 426), ("10.0.0.0/8", 426),
                                            ("10.0.0.0/8, 127.0.0.1", 200)])
def test_accept_http_if_already_terminated(torii_factory, echo, tmp_path, trusted, expect):
    t = torii_factory(settings={"trusted_ips": trusted})
    crt, key = make_cert(tmp_path, "ssl.test")
    t.admin.add_api(name="sec", upstream_url=echo.url, request_path="/sec")
    r = add_ssl(t.admin, "sec", crt, key, only_https="true",
                accept_http_if_already_terminated="true")
    assert r.status_code == 201, r.text
    code, _, _ = curl("-H", "X-Forwarded-Proto: https", "http://127.0.0.1:%d/sec/a" % t.proxy_port)
    assert code == expect
    code, _, _ = curl("-H", "X-Forwarded-Proto: http", "http://127.0.0.1:%d/sec/a" % t.proxy_port)
    assert code == 426
    code, _, _ = curl("http://127.0.0.1:%d/sec/a" % t.proxy_port)
    assert code == 426


def test_config_checks(node, echo, tmp_path):
    adm = node.admin
    crt, key = make_cert(tmp_path, "ssl.test")
    _, other_key = make_cert(tmp_path, "other.test")
    adm.add_api(name="one", upstream_url=echo.url, request_host="ssl.test")
    r = adm.post("/apis/one/plugins", data={"name": "ssl", "config.cert": "not a pem",
                                            "config.key": key.read_text()})
    assert r.status_code == 400 and "config.cert" in r.json(), r.text
    assert "config.key" not in r.json()
    r = adm.post("/apis/one/plugins", data={"name": "ssl", "config.cert": crt.read_text(),
                                            "config.key": "junk"})
    assert r.status_code == 400 and "config.key" in r.json(), r.text
    r = adm.post("/apis/one/plugins", data={"name": "ssl", "config.cert": crt.read_text(),
                                            "config.key": other_key.read_text()})
    assert r.status_code == 400 and "config.key" in r.json(), r.text
    assert not key_leaks(r.text, other_key)
    r = adm.post("/apis/one/plugins", data={"name": "ssl", "config.cert": crt.read_text()})
    assert r.status_code == 400 and "config.key" in r.json(), r.text
    r = adm.post("/apis/one/plugins", data={"name": "ssl"})
    assert r.status_code == 400 and "config.cert" in r.json(), r.text
    consumer = adm.add_consumer(username="bob")
    r = adm.post("/plugins", data={"name": "ssl", "consumer_id": consumer["id"],
                                   "config.cert": crt.read_text(),
                                   "config.key": key.read_text()})
    assert r.status_code == 400, r.text
    assert adm.get("/plugins").json()["total"] == 0
    assert not key_leaks(node.stderr_text(), other_key)


def test_expired_cert_accepted_with_warning(node, echo, tmp_path):
    crt, key = expired_cert(tmp_path, "old.test")
    node.admin.add_api(name="old", upstream_url=echo.url, request_host="old.test")
    r = add_ssl(node.admin, "old", crt, key)
    assert r.status_code == 201, r.text
    assert "expired" in node.stderr_text()
    assert served_cn(node.ssl_port, "old.test") == "old.test"


def test_private_key_never_returned_or_logged(node, echo, tmp_path):
    adm = node.admin
    crt, key = make_cert(tmp_path, "ssl.test")
    adm.add_api(name="one", upstream_url=echo.url, request_host="ssl.test")
    r = add_ssl(adm, "one", crt, key, only_https="true")
    assert r.status_code == 201, r.text
    p = r.json()
    assert "key" not in p["config"] and not key_leaks(r.text, key)
    assert p["config"]["cert"] == crt.read_text()
    assert p["config"]["only_https"] is True
    assert p["config"]["accept_http_if_already_terminated"] is False
    for path in ("/plugins", "/plugins/" + p["id"], "/apis/one/plugins",
                 "/apis/one/plugins/" + p["id"], "/plugins?name=ssl"):
        r = adm.get(path)
        assert r.status_code == 200, (path, r.text)
        assert not key_leaks(r.text, key), path
    # a PATCH without cert/key keeps the stored pair, and its answer hides the key too
    r = adm.patch("/plugins/" + p["id"], data={"config.only_https": "false"})
    assert r.status_code == 200, r.text
    assert r.json()["config"]["only_https"] is False and not key_leaks(r.text, key)
    assert served_cn(node.ssl_port, "ssl.test") == "ssl.test"
    # PUT replaces: the key is needed again, and not returned
    r = adm.put("/plugins", json={"id": p["id"], "name": "ssl", "api_id": p["api_id"],
                                  "config": {"cert": crt.read_text(), "key": key.read_text()}})
    assert r.status_code == 200, r.text
    assert not key_leaks(r.text, key)
    assert served_cn(node.ssl_port, "ssl.test") == "ssl.test"
    r = adm.get("/plugins/schema/ssl")
    assert r.status_code == 200 and "key" in r.json()["fields"]
    assert not key_leaks(node.stderr_text(), key)

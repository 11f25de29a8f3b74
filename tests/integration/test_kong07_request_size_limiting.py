# SPDX-License-Identifier: MIT
"""Kong's request-size-limiting specs ported: spec/plugins/request-size-limiting/access_spec.lua
at tags 0.7.0 and 0.8.3 (identical). The limit is allowed_payload_size = 10 (MB).

torii differs from Kong 0.7 as documented in docs/plugins.md: an over-size request with
Expect: 100-continue gets 413 (0.7: 417)."""

import pytest

from kong07 import add_api, add_plugin, proxy, seen, start, stop

FORM = ("Content-Type", "application/x-www-form-urlencoded")


@pytest.fixture(scope="module")
def rsl(tmp_path_factory):
    ns = start(tmp_path_factory, "rsl")
    add_api(ns, "test3.com", "tests-request-size-limiting")
    add_plugin(ns, "tests-request-size-limiting", "request-size-limiting",
               {"allowed_payload_size": 10})
    yield ns
    stop(ns)


def test_less_than_limit(rsl):
    """spec/plugins/request-size-limiting/access_spec.lua@0.7.0: "should be allowed" (With
    request size less than allowed limit, Expect: 100-continue)."""
    body = b"key=This+is+a+test+string"
    d = seen(proxy(rsl, "test3.com", "/post", "POST", (FORM, ("Expect", "100-continue")), body))
    assert d["body"] == body.decode()


def test_greater_than_limit(rsl):
    """spec/plugins/request-size-limiting/access_spec.lua@0.7.0: "should get blocked" (With
    request size greater than allowed limit, Expect: 100-continue: 413 in torii, 417 in
    0.7); no body byte is read and the upstream is not reached."""
    rsl.echo.reset()
    r = proxy(rsl, "test3.com", "/post", "POST",
              (FORM, ("Expect", "100-continue"), ("Content-Length", "12000000")), b"")
    assert r.status == 413
    assert r.json() == {"message": "Request size limit exceeded"}
    assert rsl.echo.requests == []


def test_greater_than_limit_no_expect(rsl):
    """spec/plugins/request-size-limiting/access_spec.lua@0.7.0: "should get blocked" (With
    request size greater than allowed limit but no expect header)."""
    rsl.echo.reset()
    r = proxy(rsl, "test3.com", "/post", "POST", (FORM, ("Content-Length", "12000000")), b"")
    assert r.status == 413
    assert r.json() == {"message": "Request size limit exceeded"}
    assert rsl.echo.requests == []


def test_less_than_limit_no_expect(rsl):
    """spec/plugins/request-size-limiting/access_spec.lua@0.7.0: "should be allowed" (With
    request size less than allowed limit but no expect header)."""
    body = b"key=This+is+a+test+string"
    d = seen(proxy(rsl, "test3.com", "/post", "POST", (FORM,), body))
    assert d["body"] == body.decode()


def test_no_content_length_post(rsl):
    """spec/plugins/request-size-limiting/access_spec.lua@0.7.0: "should be allowed" (With no
    content-length header post request: a chunked body under the limit)."""
    body = b"key=This+is+a+test+string"
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    d = seen(proxy(rsl, "test3.com", "/post", "POST", (FORM, ("Transfer-Encoding", "chunked")),
                   chunked))
    assert d["body"] == body.decode()


def test_no_content_length_get(rsl):
    """spec/plugins/request-size-limiting/access_spec.lua@0.7.0: "should be allowed" (With no
    content-length header get request)."""
    d = seen(proxy(rsl, "test3.com", "/post"))
    assert d["method"] == "GET"

# SPDX-License-Identifier: MIT
"""Kong's real IP spec ported: spec/integration/proxy/realip_spec.lua at tag 0.7.0 and
spec/integration/05-proxy/realip_spec.lua at 0.8.3 (the same case). Kong read the client
address back from a file-log plugin's entry; torii has no file-log, so the port reads it where
torii reports it: the X-Real-IP the upstream received and the access log line.

Kong 0.7 believed X-Forwarded-For from every peer (set_real_ip_from 0.0.0.0/0, recursive), so a
client could name any address (#1661). torii believes it only from a peer in trusted_ips (P8,
docs/kong-reference.md): with the default settings the client is the socket peer; with every
address trusted, as Kong was configured, torii finds Kong's answer. Every case is ported; none
is skipped."""

import uuid

import pytest

from harness import wait_for
from kong07 import add_api, hdr, proxy, seen, start, stop

XFF = "4.4.4.4, 1.1.1.1, 5.5.5.5"


@pytest.fixture(scope="module", params=["default", "trust-all"])
def k(request, tmp_path_factory):
    """The realip.com api, on a node with the default trusted_ips (none) or with every address
    trusted (Kong 0.7's nginx configuration)."""
    settings = {"trusted_ips": "0.0.0.0/0,::/0"} if request.param == "trust-all" else None
    ns = start(tmp_path_factory, "k07realip", settings=settings)
    ns.mode = request.param
    add_api(ns, "realip.com", "tests-realip")
    yield ns
    stop(ns)


def test_parse_the_correct_ip(k):
    """realip_spec.lua@0.7.0, 0.8.3: "should parse the correct IP" (4.4.4.4 when every peer is
    trusted, as in Kong; the socket peer otherwise, P8)."""
    want = "4.4.4.4" if k.mode == "trust-all" else "127.0.0.1"
    marker = uuid.uuid4().hex
    d = seen(proxy(k, "realip.com", "/request?file_log_uuid=" + marker,
                   headers=(("X-Forwarded-For", XFF), ("file_log_uuid", marker))))
    assert hdr(d, "X-Real-IP") == [want]
    assert hdr(d, "file_log_uuid") == [marker]
    line = wait_for(lambda: next((ln for ln in k.torii.access_log_lines() if marker in ln), None),
                    5)
    assert line and line.split()[0] == want, line

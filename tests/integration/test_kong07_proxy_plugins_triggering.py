# SPDX-License-Identifier: MIT
"""Kong's plugins triggering spec ported: spec/integration/05-proxy/plugins_triggering_spec.lua
at tag 0.8.3 (new in 0.8): with a rate-limiting instance on an api and another for the api and
a consumer, an anonymous request gets the api's instance, never the consumer's. Every case is
ported; none is skipped."""

import pytest

from kong07 import add_consumer, add_plugin, proxy, seen, start, stop


@pytest.fixture(scope="module")
def k(tmp_path_factory):
    """setup: api mockbin (/mockbin, stripped), consumer bob, rate-limiting hour 1 on the api
    and hour 10 on the api for bob."""
    ns = start(tmp_path_factory, "k07triggering")
    r = ns.admin.post("/apis/", data={"name": "mockbin", "request_path": "/mockbin",
                                      "strip_request_path": "true",
                                      "upstream_url": ns.echo.url})
    assert r.status_code == 201, r.text
    bob = add_consumer(ns, username="bob")
    add_plugin(ns, "mockbin", "rate-limiting", {"hour": 1})
    add_plugin(ns, "mockbin", "rate-limiting", {"hour": 10}, consumer_id=bob["id"])
    yield ns
    stop(ns)


def test_correct_plugin_for_a_consumer(k):
    """plugins_triggering_spec.lua@0.8.3: "applies the correct plugin for a consumer" (an
    anonymous call: the api's instance, limit 1)."""
    r = proxy(k, "localhost", "/mockbin/status/200")
    assert seen(r)["target"] == "/status/200"
    assert r.header("X-RateLimit-Limit-hour") == "1"

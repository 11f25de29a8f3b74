# SPDX-License-Identifier: MIT
"""X-Forwarded-For sent as several fields, from a trusted peer (P8): the list is the fields in
order, walked from the right, so fields `203.0.113.9` then `198.51.100.7` give 198.51.100.7.
A walk of the fields in the wrong order would give 203.0.113.9; it is checked where the client
address is used: X-Real-IP upstream, ip-restriction, and rate-limiting's per-ip counter."""

import pytest

from harness import SLOW, away_from_boundary
from rawhttp import one_request

FIELDS = (("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "198.51.100.7"))


@pytest.fixture
def node(torii_factory, echo):
    t = torii_factory(settings={"trusted_ips": "127.0.0.1"})
    for name in ("plain", "blocked", "limited"):
        t.admin.add_api(name=name, request_host=name + ".test", upstream_url=echo.url)
    r = t.admin.post("/apis/blocked/plugins",
                     data={"name": "ip-restriction", "config.blacklist": "198.51.100.7"})
    assert r.status_code == 201, r.text
    r = t.admin.post("/apis/limited/plugins",
                     data={"name": "rate-limiting", "config.hour": "1"})
    assert r.status_code == 201, r.text
    return t


def get(node, host, fields):
    return one_request(node.proxy_port, "GET", "/", host=host, headers=fields)


def test_x_real_ip_is_the_last_fields_address(node):
    r = get(node, "plain.test", FIELDS)
    assert r.status == 200
    real = [v for k, v in r.json()["headers"] if k.lower() == "x-real-ip"]
    assert real == ["198.51.100.7"]


def test_ip_restriction_sees_the_last_fields_address(node):
    assert get(node, "blocked.test", FIELDS).status == 403
    assert get(node, "blocked.test", tuple(reversed(FIELDS))).status == 200


def test_rate_limiting_counts_the_last_fields_address(node):
    away_from_boundary(3600, 5 * SLOW)  # not across the hour: the counter would start again
    assert get(node, "limited.test", FIELDS).status == 200
    # Another first field, the same last one: the same client, over its limit.
    other = (("X-Forwarded-For", "192.0.2.44"), ("X-Forwarded-For", "198.51.100.7"))
    assert get(node, "limited.test", other).status == 429
    # The first field's address has its own counter.
    assert get(node, "limited.test", (("X-Forwarded-For", "203.0.113.9"),)).status == 200

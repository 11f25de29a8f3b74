# SPDX-License-Identifier: MIT
"""Which plugin instance applies once key-auth has identified the consumer, shown with real
requests: api+consumer, then consumer, then api, then global (Kong's order), for
request-termination (a different answer per scope) and rate-limiting (a different limit per
scope, read from the X-RateLimit-Limit-Minute header), including what applies after an instance
is deleted or disabled, and for an anonymous consumer."""

import pytest

from harness import SLOW, away_from_boundary
from rawhttp import one_request

KEYS = {"alice": "alice-scope-key", "bob": "bob-scope-key", "carol": "carol-scope-key",
        "anon": None}


def ok(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def add(admin, name, api=None, consumer=None, **config):
    body = {"name": name, "config": config}
    if consumer:
        body["consumer_id"] = consumer["id"]
    path = "/apis/%s/plugins" % api if api else "/plugins"
    return ok(admin.post(path, json=body), "add %s api=%s consumer=%s" % (name, api, consumer))


def get(port, path, who):
    headers = (("apikey", KEYS[who]),) if KEYS.get(who) else ()
    return one_request(port, "GET", path, host="svc.test", headers=headers)


def answer(port, path, who):
    """The request-termination answer (status, message), or the upstream's 200."""
    r = get(port, path, who)
    if r.status == 200:
        return 200, "upstream"
    return r.status, r.json().get("message")


@pytest.fixture
def scoped(torii, echo):
    """apis /a and /b behind key-auth (anonymous: the consumer anon); consumers alice, bob,
    carol with keys."""
    a = torii.admin
    people = {}
    for who in KEYS:
        people[who] = a.add_consumer(username=who)
        if KEYS[who]:
            ok(a.post("/consumers/%s/key-auth" % who, data={"key": KEYS[who]}))
    for api in ("a", "b"):
        a.add_api(name=api, upstream_url=echo.url, request_path="/" + api)
        add(a, "key-auth", api=api, anonymous=people["anon"]["id"])
    return a, people, torii.proxy_port


def test_request_termination_precedence(scoped):
    a, people, port = scoped
    # no instance anywhere: every request reaches the upstream
    assert answer(port, "/a", "alice") == (200, "upstream")
    glob = add(a, "request-termination", status_code=503, message="global")
    api_a = add(a, "request-termination", api="a", status_code=418, message="api a")
    cons_alice = add(a, "request-termination", consumer=people["alice"], status_code=451,
                     message="consumer alice")
    cons_bob = add(a, "request-termination", consumer=people["bob"], status_code=429,
                   message="consumer bob")
    a_bob = add(a, "request-termination", api="a", consumer=people["bob"], status_code=409,
                message="api a + consumer bob")
    expected = {
        ("/a", "bob"): (409, "api a + consumer bob"),  # api+consumer beats consumer and api
        ("/b", "bob"): (429, "consumer bob"),          # that instance is only for /a
        ("/a", "alice"): (451, "consumer alice"),      # consumer beats api
        ("/b", "alice"): (451, "consumer alice"),      # consumer beats global
        ("/a", "carol"): (418, "api a"),               # api beats global
        ("/b", "carol"): (503, "global"),              # nothing more specific
        ("/b", "anon"): (503, "global"),               # anonymous: no instance of its own
    }
    for (path, who), want in expected.items():
        assert answer(port, path, who) == want, (path, who)

    # without the api+consumer instance, bob on /a falls back to his consumer instance
    assert a.delete("/apis/a/plugins/" + a_bob["id"]).status_code == 204
    assert answer(port, "/a", "bob") == (429, "consumer bob")
    # a disabled consumer instance does not apply: the api's instance does
    r = a.patch("/plugins/" + cons_bob["id"], json={"enabled": False})
    assert r.status_code == 200, r.text
    assert answer(port, "/a", "bob") == (418, "api a")
    assert answer(port, "/b", "bob") == (503, "global")
    # without the api instance, the global one
    assert a.delete("/apis/a/plugins/" + api_a["id"]).status_code == 204
    assert answer(port, "/a", "carol") == (503, "global")
    assert answer(port, "/a", "alice") == (451, "consumer alice")
    # without the global one, only alice is still stopped
    assert a.delete("/plugins/" + glob["id"]).status_code == 204
    assert answer(port, "/a", "carol") == (200, "upstream")
    assert answer(port, "/b", "bob") == (200, "upstream")
    assert answer(port, "/b", "alice") == (451, "consumer alice")
    # an anonymous consumer's own instance applies to requests without a key
    add(a, "request-termination", consumer=people["anon"], status_code=401,
        message="anonymous")
    assert answer(port, "/a", "anon") == (401, "anonymous")
    assert answer(port, "/a", "carol") == (200, "upstream")
    assert cons_alice["consumer_id"] == people["alice"]["id"]


def test_rate_limiting_precedence(scoped):
    a, people, port = scoped
    away_from_boundary(60, 5 * SLOW)
    add(a, "rate-limiting", minute=100)
    add(a, "rate-limiting", api="a", minute=50)
    add(a, "rate-limiting", consumer=people["alice"], minute=20)
    add(a, "rate-limiting", api="a", consumer=people["bob"], minute=10)
    expected = {("/a", "bob"): "10", ("/a", "alice"): "20", ("/b", "alice"): "20",
                ("/a", "carol"): "50", ("/b", "carol"): "100", ("/b", "bob"): "100"}
    for (path, who), limit in expected.items():
        r = get(port, path, who)
        assert r.status == 200, (path, who, r)
        assert r.header("x-ratelimit-limit-minute") == limit, (path, who)
    # the api+consumer limit is really enforced on bob at /a, and only there
    for _ in range(9):
        assert get(port, "/a", "bob").status == 200
    r = get(port, "/a", "bob")
    assert r.status == 429, r
    assert get(port, "/a", "carol").status == 200
    assert get(port, "/b", "bob").status == 200

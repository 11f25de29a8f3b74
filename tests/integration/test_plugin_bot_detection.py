# SPDX-License-Identifier: MIT
"""The bot-detection plugin, ported from Kong 3.9's spec/03-plugins/21-bot-detection
(01-access_spec, 02-invalidations_spec, 03-api_spec): regular browsers and curl pass, Kong's
list of known bots (Googlebot, facebookexternalhit, ...) gets 403, the config's deny list
refuses and its allow list lets a listed bot through, on a route or globally; a changed config
takes effect at once; a bad regex is refused naming the field; a request with two User-Agent
headers is 400."""

import types

import pytest

from harness import Torii, finish_torii
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

HELLOWORLD = "HelloWorld"
FACEBOOK = "facebookexternalhit/1.1"
CHROME = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_5) AppleWebKit/537.36 (KHTML, like "
          "Gecko) Chrome/50.0.2661.102 Safari/537.36")
GOOGLEBOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"
BAD_REGEX = r"(https?:\/\/.*"


def ok(r, status=201):
    assert r.status_code == status, "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp("bot-detection"), {"worker_threads": "1"})
    t.start()
    a = t.admin
    svc = ok(a.post("/services", json={"url": echo.url}))
    routes = {}
    for host, config in (("bot.test", {}), ("bot2.test", {"deny": [HELLOWORLD]}),
                         ("bot3.test", {"allow": [FACEBOOK]}), ("plain.test", None)):
        r = ok(a.post("/routes", json={"hosts": [host], "service": {"id": svc["id"]}}))
        routes[host] = r["id"]
        if config is not None:
            ok(a.post("/routes/%s/plugins" % r["id"],
                      json={"name": "bot-detection", "config": config}))
    yield types.SimpleNamespace(torii=t, admin=a, echo=echo, routes=routes, svc=svc)
    finish_torii(t)
    echo.stop()


def status(node, host, agents=None):
    headers = [("User-Agent", ua) for ua in (agents or [])]
    return one_request(node.torii.proxy_port, "GET", "/request", host=host, headers=headers)


def test_allows_regular_requests(node):
    assert status(node, "bot.test").status == 200
    for ua in (CHROME, HELLOWORLD, "curl/7.43.0", "python-requests/2.28.1"):
        assert status(node, "bot.test", [ua]).status == 200, ua


def test_blocks_bots(node):
    for ua in (GOOGLEBOT, FACEBOOK, "Mozilla/5.0 (compatible; bingbot/2.0)",
               "Go-http-client/1.1", "Scrapy/2.11 (+https://scrapy.org)", "my web crawler"):
        r = status(node, "bot.test", [ua])
        assert r.status == 403, ua
        assert r.json() == {"message": "Forbidden"}


def test_blocks_denied_user_agents(node):
    assert status(node, "bot2.test", [HELLOWORLD]).status == 403
    assert status(node, "bot2.test", ["curl/7.43.0"]).status == 200


def test_allows_allowed_user_agents(node):
    assert status(node, "bot3.test", [FACEBOOK]).status == 200
    assert status(node, "bot3.test", [GOOGLEBOT]).status == 403


def test_two_user_agents_are_refused(node):
    r = status(node, "bot.test", [CHROME, CHROME])
    assert r.status == 400
    assert r.json() == {"message": "Only one User-Agent header allowed"}


def test_surrounding_spaces_do_not_hide_a_bot(node):
    assert status(node, "bot.test", ["  " + GOOGLEBOT + "  "]).status == 403


def test_global_instance(node):
    a = node.admin
    p = ok(a.post("/plugins", json={"name": "bot-detection"}))
    try:
        assert status(node, "plain.test", [CHROME]).status == 200
        assert status(node, "plain.test", [GOOGLEBOT]).status == 403
    finally:
        ok(a.delete("/plugins/" + p["id"]), 204)
    assert status(node, "plain.test", [GOOGLEBOT]).status == 200


def test_a_changed_config_takes_effect(node):
    """02-invalidations_spec: a newly denied agent is refused, a newly allowed bot passes, even
    after their first verdict was remembered."""
    a = node.admin
    r = ok(a.post("/routes", json={"hosts": ["inval.test"], "service": {"id": node.svc["id"]}}))
    p = ok(a.post("/routes/%s/plugins" % r["id"], json={"name": "bot-detection"}))
    assert status(node, "inval.test", ["helloworld"]).status == 200
    ok(a.patch("/plugins/" + p["id"], json={"config": {"deny": ["helloworld"]}}), 200)
    assert status(node, "inval.test", ["helloworld"]).status == 403
    assert status(node, "inval.test", [FACEBOOK]).status == 403
    ok(a.patch("/plugins/" + p["id"], json={"config": {"allow": ["facebookexternalhit/1.1"]}}),
       200)
    assert status(node, "inval.test", [FACEBOOK]).status == 200


def test_bad_regex_is_refused(node):
    """03-api_spec: {"config": {"allow": ["not a valid regex: ..."]}} in Kong's nested shape."""
    a = node.admin
    for field in ("allow", "deny"):
        r = a.post("/routes/%s/plugins" % node.routes["plain.test"],
                   json={"name": "bot-detection", "config": {field: [BAD_REGEX]}})
        assert r.status_code == 400, r.text
        assert r.json()["config." + field] == "not a valid regex: " + BAD_REGEX


def test_defaults(node):
    r = ok(node.admin.post("/plugins", json={"name": "bot-detection", "enabled": False}))
    assert r["config"] == {"allow": [], "deny": []}
    ok(node.admin.delete("/plugins/" + r["id"]), 204)


def test_cannot_be_scoped_to_a_consumer(node):
    c = ok(node.admin.post("/consumers", json={"username": "bot-user"}))
    r = node.admin.post("/consumers/%s/plugins" % c["id"], json={"name": "bot-detection"})
    assert r.status_code == 400, r.text

# SPDX-License-Identifier: MIT
"""Kong's rate-limiting specs ported: spec/plugins/rate-limiting/{access,api,schema,daos}_spec.lua
at tags 0.7.0 and 0.8.3. The fixtures use Kong 0.7's config names async and continue_on_error,
which torii accepts (continue_on_error is an alias of fault_tolerant; async has no effect).

torii differs from Kong 0.7 as documented in docs/plugins.md: config errors are Kong 3's
messages ({"config": "at least one of these fields must be non-empty: ..."}, "The limit for
hour(10.0) cannot be lower than the limit for second(20.0)"); a counter store that fails is a
Redis server that cannot be reached (0.7 dropped its Cassandra table)."""

import pytest

from harness import SLOW, away_from_boundary
from kong07 import (BODY_MODES, add_api, add_consumer, add_cred, add_plugin, free_port_rl,
                    proxy, seen, skip_table, start, stop, write)

EXCEEDED = {"message": "API rate limit exceeded"}
PERIODS = ("second", "minute", "hour", "day", "month", "year")

SKIPPED = [
    ("spec/plugins/rate-limiting/daos_spec.lua@0.7.0",
     "should throw errors for non supported methods of the base_dao",
     "Kong's DAO internals (dropped in 0.8.3); torii's counters have no Admin API"),
]
test_skipped_spec_case = skip_table(SKIPPED)


@pytest.fixture(autouse=True)
def same_minute():
    """Each test counts against minute (and hour) limits: none may cross a minute's end."""
    away_from_boundary(60, 5 * SLOW)


@pytest.fixture(scope="module")
def rl(tmp_path_factory):
    """access_spec's fixtures (test3.com .. test10.com)."""
    ns = start(tmp_path_factory, "ratelimiting")
    for i in range(3, 11):
        add_api(ns, "test%d.com" % i, "rl%d" % i)
    c1 = add_consumer(ns, custom_id="provider_123")
    c2 = add_consumer(ns, custom_id="provider_124")
    add_cred(ns, c1["id"], "key-auth", key="apikey122")
    add_cred(ns, c2["id"], "key-auth", key="apikey123")
    dead = "127.0.0.1"
    port = free_port_rl()
    add_plugin(ns, "rl3", "key-auth", {"key_names": ["apikey"], "hide_credentials": True})
    add_plugin(ns, "rl3", "rate-limiting", {"minute": 6})
    add_plugin(ns, "rl3", "rate-limiting", {"minute": 8}, consumer_id=c1["id"])
    add_plugin(ns, "rl4", "rate-limiting", {"minute": 6})
    add_plugin(ns, "rl5", "rate-limiting", {"minute": 3, "hour": 5})
    add_plugin(ns, "rl6", "rate-limiting", {"minute": 33})
    ns.async_plugin = add_plugin(ns, "rl7", "rate-limiting", {"minute": 6, "async": True},
                                 mode="form")
    redis = {"policy": "redis", "redis_host": dead, "redis_port": port, "redis_timeout": 200}
    ns.no_continue = add_plugin(ns, "rl8", "rate-limiting",
                                dict(redis, minute=6, continue_on_error=False), mode="form")
    add_plugin(ns, "rl9", "rate-limiting", dict(redis, minute=6, continue_on_error=True))
    add_plugin(ns, "rl10", "key-auth")
    add_plugin(ns, "rl10", "rate-limiting", {"minute": 6, "continue_on_error": True},
               consumer_id=c1["id"])
    yield ns
    stop(ns)


def run_to_limit(rl, host, limit, target="/get", periods=("minute",)):
    for i in range(1, limit + 1):
        r = proxy(rl, host, target)
        seen(r)
        for p in periods:
            assert r.header("x-ratelimit-limit-" + p) == str(limit), (i, r.headers)
            assert r.header("x-ratelimit-remaining-" + p) == str(limit - i), (i, r.headers)
    r = proxy(rl, host, target)
    assert r.status == 429 and r.json() == EXCEEDED


def test_ip_blocked_when_exceeding(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should get blocked if exceeding
    limit" (Without authentication (IP address))."""
    run_to_limit(rl, "test4.com", 6)


def test_ip_multiple_limits(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should handle multiple limits"."""
    for i in range(1, 4):
        r = proxy(rl, "test5.com")
        seen(r)
        assert r.header("x-ratelimit-limit-minute") == "3"
        assert r.header("x-ratelimit-remaining-minute") == str(3 - i)
        assert r.header("x-ratelimit-limit-hour") == "5"
        assert r.header("x-ratelimit-remaining-hour") == str(5 - i)
    r = proxy(rl, "test5.com")
    assert r.header("x-ratelimit-remaining-hour") == "2"
    assert r.header("x-ratelimit-remaining-minute") == "0"
    assert r.status == 429 and r.json() == EXCEEDED


def test_auth_default_plugin(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should get blocked if exceeding
    limit" (With authentication, Default plugin); hide_credentials removes the key."""
    run_to_limit(rl, "test3.com", 6, "/get?apikey=apikey123")


def test_auth_consumer_plugin(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should get blocked if exceeding
    limit" (Plugin customized for specific consumer: 8, not the api's 6)."""
    run_to_limit(rl, "test3.com", 8, "/get?apikey=apikey122")


def test_auth_only_consumer_plugin(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should get blocked if the only
    rate-limiting plugin existing is per consumer and not per API"."""
    run_to_limit(rl, "test10.com", 6, "/get?apikey=apikey122")


def test_async_increment(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should increment asynchronously"
    (config.async is accepted, shown as sent, and the count is exact; the spec's 3 s waits
    for Kong's timers are not needed)."""
    assert rl.async_plugin["config"]["async"] is True
    run_to_limit(rl, "test7.com", 6)


def test_not_continue_on_error(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should not continue if an error
    occurs" (continue_on_error=false: the counters cannot be reached, 500)."""
    conf = rl.no_continue["config"]
    assert conf["continue_on_error"] is False and conf["fault_tolerant"] is False
    r = proxy(rl, "test8.com")
    assert r.status == 500
    assert r.json() == {"message": "An unexpected error occurred"}


def test_continue_on_error(rl):
    """spec/plugins/rate-limiting/access_spec.lua@0.7.0: "should continue if an error occurs"
    (continue_on_error=true: proxied, without rate-limit headers)."""
    for _ in range(2):
        r = proxy(rl, "test9.com")
        seen(r)
        assert r.header("x-ratelimit-limit-minute") is None
        assert r.header("x-ratelimit-remaining-minute") is None


# ---- api_spec.lua and schema_spec.lua, through the Admin API ---------------------------------

@pytest.mark.parametrize("mode", BODY_MODES)
def test_api_empty_config(rl, mode):
    """spec/plugins/rate-limiting/api_spec.lua@0.7.0: "should not save with empty config"
    (Kong 3's message)."""
    r = write(rl.admin, "POST", "/apis/rl6/plugins/", {"name": "rate-limiting"}, mode)
    assert r.status_code == 400
    assert r.json()["config"].startswith("at least one of these fields must be non-empty")


@pytest.mark.parametrize("mode", BODY_MODES)
def test_api_proper_config(rl, mode):
    """spec/plugins/rate-limiting/api_spec.lua@0.7.0: "should save with proper config"."""
    add_api(rl, "rlapi-%s.com" % mode, "rlapi-" + mode)
    r = write(rl.admin, "POST", "/apis/rlapi-%s/plugins/" % mode,
              {"name": "rate-limiting", "config": {"second": 10}}, mode)
    assert r.status_code == 201, r.text
    assert r.json()["config"]["second"] == 10


def check(rl, config):
    """Add (then remove) a rate-limiting instance on an api that has none, so that the answer
    is the schema's: 201 or 400, never a 409 for a second instance."""
    if rl.admin.get("/apis/rlschema").status_code == 404:
        add_api(rl, "rlschema.test", "rlschema")
    r = rl.admin.post("/apis/rlschema/plugins/", json={"name": "rate-limiting", "config": config,
                                                        "enabled": False})
    if r.status_code == 201:
        assert rl.admin.delete("/apis/rlschema/plugins/" + r.json()["id"]).status_code == 204
    return r


def test_schema_no_config(rl):
    """spec/plugins/rate-limiting/schema_spec.lua@0.7.0: "should be invalid when no config is
    being set"."""
    r = check(rl, {})
    assert r.status_code == 400 and "at least one of these fields" in r.json()["config"]


def test_schema_proper_config(rl):
    """spec/plugins/rate-limiting/schema_spec.lua@0.7.0: "should work when the proper config is
    being set"."""
    r = check(rl, {"second": 10})
    assert r.status_code == 201, r.text


def test_schema_proper_configs(rl):
    """spec/plugins/rate-limiting/schema_spec.lua@0.7.0: "should work when the proper config
    are being set"."""
    r = check(rl, {"second": 10, "hour": 20})
    assert r.status_code == 201, r.text


def test_schema_invalid_data(rl):
    """spec/plugins/rate-limiting/schema_spec.lua@0.7.0: "should not work when invalid data is
    being set" (Kong 3's message)."""
    r = check(rl, {"second": 20, "hour": 10})
    assert r.status_code == 400
    assert r.json() == {"config": "The limit for hour(10.0) cannot be lower than the limit for "
                                  "second(20.0)"}


# ---- daos_spec.lua, through the headers the counters produce -------------------------------

def test_dao_no_metrics_yet(rl):
    """spec/plugins/rate-limiting/daos_spec.lua@0.7.0: "should return nil when rate-limiting
    metrics are not existing": a client never seen has its whole quota in every period."""
    add_api(rl, "rldao1.com", "rldao1")
    add_plugin(rl, "rldao1", "rate-limiting", {p: 100 for p in PERIODS})
    r = proxy(rl, "rldao1.com")
    seen(r)
    for p in PERIODS:
        assert r.header("x-ratelimit-remaining-" + p) == "99", p


def test_dao_increment_every_period(rl):
    """spec/plugins/rate-limiting/daos_spec.lua@0.7.0: "should increment rate-limiting metrics
    with the given period": one request counts once in every period, twice after two."""
    add_api(rl, "rldao2.com", "rldao2")
    add_plugin(rl, "rldao2", "rate-limiting", {p: 100 for p in PERIODS})
    for n in (1, 2):
        r = proxy(rl, "rldao2.com")
        seen(r)
        for p in PERIODS:
            assert r.header("x-ratelimit-remaining-" + p) == str(100 - n), (n, p)

# SPDX-License-Identifier: MIT
"""Kong's ip-restriction specs ported: spec/plugins/ip-restriction/{access,api}_spec.lua at
tags 0.7.0 and 0.8.3. api_spec validates the schema directly; here each case is the same
config written through the Admin API (form and JSON bodies).

torii differs from Kong 0.7 as documented in docs/plugins.md: a bad item is "invalid ip or cidr
range: '<item>'" (0.7: "cannot parse '<item>': Invalid IP"), on config.<field>; no list at all
is Kong 3's "at least one of these fields must be non-empty: 'allow', 'deny'" (0.7: "you must
set at least a whitelist or blacklist")."""

import pytest

from kong07 import (BODY_MODES, add_api, add_plugin, proxy, seen, skip_table, start, stop,
                    write)

REFUSED = {"message": "Your IP address is not allowed"}

SKIPPED = [
    ("spec/plugins/ip-restriction/api_spec.lua@0.7.0", "should build _whitelist_cache",
     "Kong's internal cache field (dropped in 0.8.3); torii compiles the lists per snapshot "
     "and stores no derived field"),
    ("spec/plugins/ip-restriction/api_spec.lua@0.7.0", "should build _blacklist_cache",
     "as above"),
]
test_skipped_spec_case = skip_table(SKIPPED)


@pytest.fixture(scope="module")
def ipr(tmp_path_factory):
    ns = start(tmp_path_factory, "iprestriction")
    confs = [{"blacklist": ["127.0.0.1"]}, {"blacklist": ["127.0.0.2"]},
             {"whitelist": ["127.0.0.2"]}, {"whitelist": ["127.0.0.1"]},
             {"blacklist": ["127.0.0.0/24"]}, {"whitelist": ["127.0.0.1", "127.0.0.2"]}]
    for i, conf in enumerate(confs, start=1):
        add_api(ns, "test%d.com" % i, "iprestriction%d" % i)
        add_plugin(ns, "iprestriction%d" % i, "ip-restriction", conf)
    add_api(ns, "test7.com", "iprestriction7")
    yield ns
    stop(ns)


def blocked(r):
    assert r.status == 403, r
    assert r.json() == REFUSED


def allowed(r):
    d = seen(r)
    assert d["headers"] and ["X-Real-IP", "127.0.0.1"] in d["headers"]


def test_blocked_in_blacklist(ipr):
    """spec/plugins/ip-restriction/access_spec.lua@0.7.0: "should block request when IP is in
    blacklist"."""
    blocked(proxy(ipr, "test1.com"))


def test_allowed_not_in_blacklist(ipr):
    """spec/plugins/ip-restriction/access_spec.lua@0.7.0: "should allow request when IP is not
    in blacklist" (the client address reaches the upstream as X-Real-IP)."""
    allowed(proxy(ipr, "test2.com"))


def test_blocked_not_in_whitelist(ipr):
    """spec/plugins/ip-restriction/access_spec.lua@0.7.0: "should block request when IP is not
    in whitelist"."""
    blocked(proxy(ipr, "test3.com"))


def test_allowed_in_whitelist(ipr):
    """spec/plugins/ip-restriction/access_spec.lua@0.7.0: "should allow request when IP is in
    whitelist"."""
    allowed(proxy(ipr, "test4.com"))


def test_blocked_cidr(ipr):
    """spec/plugins/ip-restriction/access_spec.lua@0.7.0: "should block request when IP is
    blacklisted with CIDR"."""
    blocked(proxy(ipr, "test5.com"))


def test_allowed_in_whitelist_with_another_ip(ipr):
    """spec/plugins/ip-restriction/access_spec.lua@0.7.0: "should allow request when IP is in
    whitelist with another IP"."""
    allowed(proxy(ipr, "test6.com"))


def test_config_change_without_restart(ipr):
    """spec/plugins/ip-restriction/access_spec.lua@0.7.0: "should keep working when
    configuration changes without needing a restart" (a form PATCH of config.blacklist)."""
    allowed(proxy(ipr, "test2.com"))
    r = ipr.admin.get("/apis/iprestriction2/plugins/")
    assert r.status_code == 200
    plugin = r.json()["data"][0]
    r = ipr.admin.patch("/apis/iprestriction2/plugins/" + plugin["id"],
                        data={"config.blacklist": "127.0.0.1, 127.0.0.2"})
    assert r.status_code == 200, r.text
    blocked(proxy(ipr, "test2.com"))


# ---- api_spec.lua, through the Admin API -----------------------------------------------------

def write_conf(ipr, mode, config):
    return write(ipr.admin, "POST", "/apis/iprestriction7/plugins/",
                 {"name": "ip-restriction", "config": config}, mode)


@pytest.mark.parametrize("field", ["whitelist", "blacklist"])
def test_api_invalid_types(ipr, field):
    """spec/plugins/ip-restriction/api_spec.lua@0.7.0: "whitelist should not accept invalid
    types" and "blacklist should not accept invalid types" (a number, in a JSON body: a form
    cannot send one)."""
    r = write_conf(ipr, "json", {field: 12})
    assert r.status_code == 400
    # Kong 0.7 said "is not a array"; torii's grammar differs by one letter
    assert r.json() == {"config." + field: "%s is not an array" % field}


@pytest.mark.parametrize("mode", BODY_MODES)
@pytest.mark.parametrize("field", ["whitelist", "blacklist"])
def test_api_invalid_ips(ipr, mode, field):
    """spec/plugins/ip-restriction/api_spec.lua@0.7.0: "whitelist should not accept invalid
    IPs" and "blacklist should not accept invalid IPs" (alone and after good items)."""
    for value in ("hello", ["127.0.0.1", "127.0.0.2", "hello"]):
        r = write_conf(ipr, mode, {field: value})
        assert r.status_code == 400
        assert r.json() == {"config." + field: "invalid ip or cidr range: 'hello'"}


@pytest.mark.parametrize("mode", BODY_MODES)
def test_api_both_lists(ipr, mode):
    """spec/plugins/ip-restriction/api_spec.lua@0.7.0: "should not accept both a whitelist and
    a blacklist"."""
    r = write_conf(ipr, mode, {"blacklist": ["127.0.0.1"], "whitelist": ["127.0.0.2"]})
    assert r.status_code == 400
    assert r.json() == {"config": "you cannot set both a whitelist and a blacklist"}


def test_api_both_empty(ipr):
    """spec/plugins/ip-restriction/api_spec.lua@0.7.0: "should not accept both empty whitelist
    and blacklist" (Kong 3's message, documented)."""
    r = write_conf(ipr, "json", {"blacklist": [], "whitelist": []})
    assert r.status_code == 400
    assert r.json() == {"config": "at least one of these fields must be non-empty: 'allow', "
                                  "'deny'"}


@pytest.mark.parametrize("mode", BODY_MODES)
@pytest.mark.parametrize("field", ["whitelist", "blacklist"])
def test_api_valid_list(ipr, mode, field):
    """spec/plugins/ip-restriction/api_spec.lua@0.7.0: "should accept a valid whitelist" and
    "should accept a valid blacklist" (then removed, so the next write is not a duplicate)."""
    r = write_conf(ipr, mode, {field: ["127.0.0.1", "127.0.0.2"]})
    assert r.status_code == 201, r.text
    assert r.json()["config"][field] == ["127.0.0.1", "127.0.0.2"]
    assert ipr.admin.delete("/apis/iprestriction7/plugins/" + r.json()["id"]).status_code == 204

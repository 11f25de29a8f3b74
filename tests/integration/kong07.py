# SPDX-License-Identifier: MIT
"""Shared parts of the ports of Kong's own plugin specs (tags 0.7.0 and 0.8.3,
`spec/plugins/<name>/*_spec.lua`) to torii's black-box suite: a node per module with an echo
upstream that records what it received, apis reached by `request_host` as in Kong's fixtures,
and Admin API writes sent as a form (what Kong's specs sent) or as JSON.

Each ported case is one test whose docstring cites the spec file, the tag and the `it` title.
Where torii deliberately differs from Kong 0.7 (documented in docs/plugins.md, "Kong 0.7
specs: where torii differs"), the test asserts torii's documented answer and says so. Cases
that need something torii does not have are listed in the module's SKIPPED table with the
reason, and reported as skipped tests."""

import json
import types
import uuid

import pytest

from harness import Torii, finish_torii
from rawhttp import one_request
from upstreams import UpstreamServer, echo_behaviour

BODY_MODES = ("form", "json")


def start(tmp_path_factory, name, settings=None, ssl_port=False):
    """A started node and an echo upstream, as a namespace (torii, admin, echo, port)."""
    echo = UpstreamServer(echo_behaviour(), "E")
    t = Torii(tmp_path_factory.mktemp(name), settings=settings, ssl_port=ssl_port)
    try:
        t.start()
    except Exception:
        finish_torii(t)
        echo.stop()
        raise
    return types.SimpleNamespace(torii=t, admin=t.admin, echo=echo, port=t.proxy_port)


def stop(ns):
    problems = finish_torii(ns.torii)
    ns.echo.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def flatten(fields):
    """fields as Kong's specs sent them in a form: config.<k> keys, lists joined by commas,
    booleans as true/false."""
    out = {}
    for k, v in fields.items():
        if isinstance(v, dict):
            for ck, cv in flatten(v).items():
                out["%s.%s" % (k, ck)] = cv
        elif isinstance(v, bool):
            out[k] = "true" if v else "false"
        elif isinstance(v, (list, tuple)):
            out[k] = ",".join(str(x) for x in v)
        else:
            out[k] = str(v)
    return out


def write(admin, method, path, fields, mode="form"):
    """An Admin API write with fields as a form or as a JSON body."""
    if mode == "json":
        return admin.request(method, path, json=fields)
    return admin.request(method, path, data=flatten(fields))


def created(r, what=""):
    assert r.status_code in (200, 201), "%s: %d %s" % (what, r.status_code, r.text)
    return r.json()


def add_api(ns, host, name=None):
    """An api reached by request_host (Kong's fixtures), to the echo upstream."""
    fields = {"request_host": host, "upstream_url": ns.echo.url}
    if name:
        fields["name"] = name
    return created(ns.admin.post("/apis/", data=fields), "api " + host)


def add_plugin(ns, api, name, config=None, consumer_id=None, mode="json"):
    fields = {"name": name}
    if config:
        fields["config"] = config
    if consumer_id:
        fields["consumer_id"] = consumer_id
    return created(write(ns.admin, "POST", "/apis/%s/plugins/" % api, fields, mode),
                   "plugin %s on %s" % (name, api))


def add_consumer(ns, **fields):
    return created(ns.admin.post("/consumers/", data=fields), "consumer")


def add_cred(ns, consumer, kind, **fields):
    return created(ns.admin.post("/consumers/%s/%s/" % (consumer, kind), data=fields),
                   "%s of %s" % (kind, consumer))


def proxy(ns, host, target="/get", method="GET", headers=(), body=None, **kw):
    """One request through the proxy with Host: host."""
    return one_request(ns.port, method, target, host=host, headers=headers, body=body, **kw)


def form_body(fields):
    from urllib.parse import urlencode
    return (urlencode(fields).encode(),
            (("Content-Type", "application/x-www-form-urlencoded"),))


def json_body(fields):
    return json.dumps(fields).encode(), (("Content-Type", "application/json"),)


def body_of(mode, fields):
    return form_body(fields) if mode == "form" else json_body(fields)


def seen(r):
    """The echo's description of what the upstream received (the answer must be a 200)."""
    assert r.status == 200, (r.status, r.body[:300])
    return r.json()


def hdr(desc, name):
    """Values of a header the upstream received."""
    name = name.lower()
    return [v for k, v in desc["headers"] if k.lower() == name]


def query_of(desc):
    """The upstream's query arguments as a dict of lists."""
    from urllib.parse import parse_qs
    target = desc["target"]
    return parse_qs(target.split("?", 1)[1], keep_blank_values=True) if "?" in target else {}


def random_uuid():
    return str(uuid.uuid4())


def skip_table(skipped):
    """One skipped test per (spec, title, reason) row, so the report lists them."""
    @pytest.mark.parametrize("spec,title,reason", skipped,
                             ids=["%s: %s" % (s, t) for s, t, _ in skipped])
    def test_skipped_spec_case(spec, title, reason):
        pytest.skip("%s: %r not ported: %s" % (spec, title, reason))
    return test_skipped_spec_case


def free_port_rl():
    """A local TCP port with nothing listening (a counter store that cannot be reached)."""
    from harness import free_port
    return free_port()


def drop_db(admin):
    """Kong's spec_helper.drop_db() through the Admin API: every plugin, api and consumer
    (credentials go with their consumer) deleted, so the next case starts from an empty
    store."""
    for kind in ("plugins", "apis", "consumers"):
        for _ in range(100):
            rows = admin.get("/%s" % kind, params={"size": 1000}).json()["data"]
            if not rows:
                break
            for row in rows:
                r = admin.delete("/%s/%s" % (kind, row["id"]))
                assert r.status_code in (204, 404), (kind, r.status_code, r.text)


def seed_db(admin, amount):
    """Kong's spec_helper.seed_db(amount): that many random apis (name, request_host and
    upstream_url randomN) and consumers (custom_id random_custom_id_N)."""
    for _ in range(amount):
        n = uuid.uuid4().int % 1000000000
        created(admin.post("/apis/", data={"name": "random%d" % n,
                                           "request_host": "random%d.com" % n,
                                           "upstream_url": "http://random%d.com" % n}), "api")
        created(admin.post("/consumers/", data={"custom_id": "random_custom_id_%d" % n}),
                "consumer")


def next_offset(body):
    """The offset token of a list answer's "next" URL. Kong's specs passed the whole "next"
    back as `offset`; the token in it is what they meant (a client follows "next")."""
    from urllib.parse import parse_qs, urlparse
    return parse_qs(urlparse(body["next"]).query)["offset"][0]

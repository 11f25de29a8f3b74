# SPDX-License-Identifier: MIT
"""Declarative configuration (issue 17): DB-less mode (database = off) started from a kong.yml,
its Admin API (reads work, writes answer 405), POST /config (201, 400 with Kong's error body,
304 with check_hash, the old configuration kept on any error), GET /config and the
configuration hash in /status. Cases ported from Kong 3.9's
spec/02-integration/04-admin_api/15-off_spec.lua are named after their `it(...)`."""

import json

import pytest

from harness import start_must_fail, wait_for
from rawhttp import one_request

# Kong's stable ids (uuid5 of the name in the kind's namespace), as Kong's specs show them.
MY_SERVICE_ID = "0855b320-0dd2-547d-891d-601e9b38647f"
MY_ROUTE_ID = "481a9539-f49c-51b6-b2e2-fe99ee68866c"
MY_USER_ID = "4b1b701d-de2b-5588-9aa2-3b97061d9f52"
EMPTY_HASH = "0" * 32

FILE = """\
_format_version: "3.0"
_comment: the walkthrough's gateway, in git
services:
- name: my-service
  url: %(echo)s
  routes:
  - name: my-route
    paths: [/my]
  plugins:
  - name: key-auth
consumers:
- username: my-user
  keyauth_credentials:
  - key: my-key
apis:
- name: legacy
  upstream_url: %(echo)s
  request_path: /legacy
  strip_request_path: true
"""


def dbless(torii_factory, tmp_path, text=None, **settings):
    s = {"database": "off"}
    if text is not None:
        f = tmp_path / "kong.yml"
        f.write_text(text)
        s["declarative_config"] = str(f)
    s.update(settings)
    return torii_factory(s)


def get(t, path, headers=()):
    return one_request(t.proxy_port, "GET", path, host="svc.test", headers=headers)


def test_starts_from_the_file_and_serves_it(torii_factory, tmp_path, echo):
    t = dbless(torii_factory, tmp_path, FILE % {"echo": echo.url})
    assert get(t, "/my/x").status == 401  # key-auth nested in the service
    r = get(t, "/my/x", headers=[("apikey", "my-key")])
    assert r.status == 200, r
    assert r.json()["target"] == "/x"
    assert get(t, "/legacy/y").json()["target"] == "/y"
    # Kong's stable ids: the same file gives the same ids on every node
    assert t.admin.get("/services/my-service").json()["id"] == MY_SERVICE_ID
    assert t.admin.get("/routes/my-route").json()["id"] == MY_ROUTE_ID
    assert t.admin.get("/consumers/my-user").json()["id"] == MY_USER_ID
    st = t.admin.get("/status").json()
    assert len(st["configuration_hash"]) == 32 and st["configuration_hash"] != EMPTY_HASH
    assert "database" not in st


def test_reads_work_writes_answer_405(torii_factory, tmp_path, echo):
    """15-off_spec.lua: "doesn't allow to creates a route", "returns HTTP 405 on invalid
    method" (both /routes and /routes/{route})."""
    t = dbless(torii_factory, tmp_path, FILE % {"echo": echo.url})
    a = t.admin
    for path in ("/services", "/routes", "/consumers", "/plugins", "/apis", "/upstreams",
                 "/consumers/my-user/key-auth", "/services/my-service/routes", "/tags"):
        assert a.get(path).status_code == 200, path
    assert [s["name"] for s in a.get("/services?size=1").json()["data"]] == ["my-service"]
    r = a.post("/routes", json={"protocols": ["http"], "hosts": ["my.route.test"],
                                "service": {"id": MY_SERVICE_ID}})
    assert r.status_code == 405
    assert r.json() == {"code": 12, "name": "operation unsupported",
                        "message": "cannot create 'routes' entities when not using a database"}
    for method in ("DELETE", "PUT", "PATCH"):
        r = a.request(method, "/routes", json={"paths": ["/"]})
        assert r.status_code == 405 and r.json() == {"message": "Method not allowed"}, method
    r = a.put("/routes/" + MY_ROUTE_ID, json={"paths": ["/"]})
    assert r.status_code == 405
    assert r.json()["message"] == \
        "cannot create or update 'routes' entities when not using a database"
    r = a.patch("/services/my-service", json={"retries": 1})
    assert r.status_code == 405 and r.json()["message"] == \
        "cannot update 'services' entities by 'name' when not using a database"
    r = a.delete("/consumers/" + MY_USER_ID)
    assert r.status_code == 405 and r.json()["message"] == \
        "cannot remove 'consumers' entities when not using a database"
    r = a.post("/consumers/my-user/key-auth", json={"key": "other"})
    assert r.status_code == 405 and r.json()["message"] == \
        "cannot create 'keyauth_credentials' entities when not using a database"
    # nothing changed
    assert a.get("/consumers/my-user/key-auth").json()["data"][0]["key"] == "my-key"


def test_empty_node_then_post_config(torii_factory, tmp_path, echo):
    """15-off_spec.lua: "accepts configuration as a YAML string under `config` JSON key" and
    "returns 304 if checking hash and configuration is identical"; an empty node has the zero
    hash."""
    t = dbless(torii_factory, tmp_path)
    assert t.admin.get("/status").json()["configuration_hash"] == EMPTY_HASH
    assert get(t, "/my/x").status == 404
    text = FILE % {"echo": echo.url}
    r = t.admin.post("/config?check_hash=1", json={"config": text})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["services"][MY_SERVICE_ID]["name"] == "my-service"
    assert body["routes"][MY_ROUTE_ID]["service"] == {"id": MY_SERVICE_ID}
    h = t.admin.get("/status").json()["configuration_hash"]
    assert h != EMPTY_HASH
    assert get(t, "/my/x", headers=[("apikey", "my-key")]).status == 200
    r = t.admin.post("/config?check_hash=1", json={"config": text})
    assert r.status_code == 304 and r.content == b""
    # the raw YAML body and a JSON document are taken too
    r = t.admin.post("/config", data=text, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    doc = {"_format_version": "3.0", "services": [{"name": "only", "url": echo.url,
                                                    "routes": [{"paths": ["/only"]}]}]}
    r = t.admin.post("/config", json=doc)
    assert r.status_code == 201, r.text
    assert get(t, "/only/z").json()["target"] == "/z"
    assert get(t, "/my/x", headers=[("apikey", "my-key")]).status == 404  # replaced
    assert [s["name"] for s in t.admin.get("/services").json()["data"]] == ["only"]


def test_post_config_errors_keep_the_old_configuration(torii_factory, tmp_path, echo):
    """15-off_spec.lua: "returns 400 on an invalid config string", "returns 400 on a
    validation error", "... endpoint key uniqueness error", "returns 400 when given no
    input"."""
    t = dbless(torii_factory, tmp_path, FILE % {"echo": echo.url})
    before = t.admin.get("/status").json()["configuration_hash"]
    r = t.admin.post("/config", json={"config": "bobby tables"})
    assert r.status_code == 400
    assert r.json() == {
        "code": 14, "name": "invalid declarative configuration",
        "fields": {"error": "failed parsing declarative configuration: expected an object"},
        "message": "declarative config is invalid: {error=\"failed parsing declarative "
                   "configuration: expected an object\"}"}
    r = t.admin.post("/config", json={"config": '_format_version: "1.1"\nservices:\n- port: -12\n'})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 14
    assert body["fields"]["services"][0]["port"] == "value should be between 0 and 65535"
    assert body["message"].startswith("declarative config is invalid: {services={{")
    dup = '_format_version: "3.0"\nservices:\n- name: foo\n  host: a.test\n' \
          '- name: foo\n  host: b.test\n'
    r = t.admin.post("/config", json={"config": dup})
    assert r.status_code == 400
    assert r.json()["fields"] == {"services": [None, "uniqueness violation: 'services' entity "
                                               "with name set to 'foo' already declared"]}
    assert r.json()["message"] == (
        "declarative config is invalid: {services={[2]=\"uniqueness violation: 'services' "
        "entity with name set to 'foo' already declared\"}}")
    r = t.admin.post("/config")
    assert r.status_code == 400 and r.json() == {"message": "expected a declarative configuration"}
    # a nested error, a dangling reference and an unknown key, all in one answer
    bad = {"_format_version": "3.0", "abnormal_extra_field": 1,
           "services": [{"name": "a", "url": echo.url},
                        {"name": "b", "url": echo.url,
                         "routes": [{"name": "r", "paths": ["/ok", "bad"]}]}],
           "plugins": [{"name": "cors", "service": "nowhere"}]}
    r = t.admin.post("/config", json=bad)
    assert r.status_code == 400
    f = r.json()["fields"]
    assert f["abnormal_extra_field"] == "unknown field"
    assert f["services"][0] is None
    assert f["services"][1]["routes"][0]["paths"][0] is None
    assert f["services"][1]["routes"][0]["paths"][1]
    assert f["plugins"] == [["invalid reference 'service: nowhere' (no such entry in "
                             "'services')"]]
    # flatten_errors: one item per entity; what no entity owns stays in fields
    r = t.admin.post("/config?flatten_errors=1", json=bad)
    assert r.status_code == 400
    body = r.json()
    assert body["fields"] == {"abnormal_extra_field": "unknown field"}
    items = {i["entity_type"]: i for i in body["flattened_errors"]}
    assert set(items) == {"route", "plugin"}
    assert items["route"]["entity_name"] == "r"
    assert items["route"]["errors"][0]["field"] == "paths.2"
    assert items["plugin"]["errors"] == [{"type": "entity", "message": "invalid reference "
                                          "'service: nowhere' (no such entry in 'services')"}]
    # every refusal left the running configuration alone
    assert t.admin.get("/status").json()["configuration_hash"] == before
    assert get(t, "/my/x", headers=[("apikey", "my-key")]).status == 200


def test_get_config_returns_the_running_configuration(torii_factory, tmp_path, echo):
    """15-off_spec.lua: "returns back the configuration"; secrets stay out (P11, G-04)."""
    t = dbless(torii_factory, tmp_path, FILE % {"echo": echo.url})
    r = t.admin.get("/config")
    assert r.status_code == 200
    text = r.json()["config"]
    assert text.startswith('_format_version: "3.0"\n_transform: false\n')
    # what GET /config returns can be posted back as it is
    r = t.admin.post("/config", json={"config": text})
    assert r.status_code == 201, r.text
    assert t.admin.get("/services/my-service").json()["id"] == MY_SERVICE_ID
    assert get(t, "/my/x", headers=[("apikey", "my-key")]).status == 200


def test_config_endpoint_needs_dbless(torii):
    for method in ("GET", "POST"):
        r = torii.admin.request(method, "/config")
        assert r.status_code == 400
        assert r.json() == {"message": "this endpoint is only available when Kong is "
                                       "configured to not use a database"}


def test_config_survives_restart_and_reload(torii_factory, tmp_path, echo):
    """Without a file, what POST /config applied is served again after a restart; with a
    file, `torii reload` re-reads it."""
    t = dbless(torii_factory, tmp_path)
    r = t.admin.post("/config", json={"config": FILE % {"echo": echo.url}})
    assert r.status_code == 201
    h = t.admin.get("/status").json()["configuration_hash"]
    t.restart()
    assert t.admin.get("/status").json()["configuration_hash"] == h
    assert get(t, "/my/x", headers=[("apikey", "my-key")]).status == 200

    f = tmp_path / "reload.yml"
    f.write_text(FILE % {"echo": echo.url})
    t2 = torii_factory({"database": "off", "declarative_config": str(f)})
    assert get(t2, "/legacy/a").status == 200
    f.write_text('_format_version: "3.0"\napis:\n- name: moved\n  upstream_url: %s\n'
                 '  request_path: /moved\n' % echo.url)
    t2.reload()
    assert wait_for(lambda: get(t2, "/moved/a").status == 200, 5)
    assert get(t2, "/legacy/a").status == 404


def test_bad_file_stops_the_start(tmp_path):
    f = tmp_path / "bad.yml"
    f.write_text('_format_version: "3.0"\nservices:\n- name: x\n  port: 99999\n')
    out = start_must_fail(tmp_path, {"TORII_DATABASE": "off",
                                     "TORII_DECLARATIVE_CONFIG": str(f)})
    assert "error parsing declarative config file %s:" % f in out
    assert "in 'port': value should be between 0 and 65535" in out
    f.write_text('_format_version: "3.0"\nservices: [\n')
    out = start_must_fail(tmp_path, {"TORII_DATABASE": "off",
                                     "TORII_DECLARATIVE_CONFIG": str(f)})
    assert "failed parsing declarative configuration: line 3" in out


def versioned(v, echo_url):
    """A configuration whose /stable answers its version (from the gateway itself), plus a
    route only this version has."""
    return ('_format_version: "3.0"\nservices:\n- name: s\n  url: %s\n  routes:\n'
            '  - name: stable\n    paths: [/stable]\n    plugins:\n'
            '    - name: request-termination\n      config: {status_code: 200, message: "%s"}\n'
            '  - name: only-%s\n    paths: [/only-%s]\n' % (echo_url, v, v, v))


def test_post_config_under_load_loses_nothing(torii_factory, tmp_path, echo):
    """Clients hammering the proxy while POST /config swaps the whole configuration ten times:
    no error, every answer is one version's, and an answer after a 201 is the new version."""
    import threading
    t = dbless(torii_factory, tmp_path, versioned("A", echo.url))
    stop = threading.Event()
    seen, bad = [], []

    def hammer():
        from rawhttp import RawConn
        c = RawConn(t.proxy_port, timeout=10)
        try:
            while not stop.is_set():
                r = c.request("GET", "/stable", host="svc.test")
                if r.status != 200:
                    bad.append(r.status)
                else:
                    seen.append(r.json()["message"])
        except OSError as e:
            bad.append(repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for th in threads:
        th.start()
    try:
        for i in range(10):
            v = "B" if i % 2 == 0 else "A"
            r = t.admin.post("/config", json={"config": versioned(v, echo.url)})
            assert r.status_code == 201, r.text
            assert get(t, "/stable").json()["message"] == v
            assert get(t, "/only-%s/x" % v).status == 200
            assert get(t, "/only-%s/x" % ("A" if v == "B" else "B")).status == 404
    finally:
        stop.set()
        for th in threads:
            th.join(10)
    assert bad == []
    assert set(seen) == {"A", "B"} and len(seen) > 10


def test_tags_on_every_kind(torii_factory, tmp_path, echo):
    """decK selects by tags: they are kept on every kind and listed by /tags."""
    text = ('_format_version: "3.0"\nservices:\n- name: s\n  url: %s\n  tags: [team-a]\n'
            '  plugins:\n  - name: cors\n    tags: [team-a]\nconsumers:\n- username: u\n'
            '  tags: [team-a, vip]\n  keyauth_credentials:\n  - key: k\n    tags: [team-a]\n'
            '  acls:\n  - group: g\n    tags: [team-a]\n' % echo.url)
    t = dbless(torii_factory, tmp_path, text)
    rows = t.admin.get("/tags/team-a").json()["data"]
    assert sorted(r["entity_name"] for r in rows) == [
        "acls", "consumers", "keyauth_credentials", "plugins", "services"]
    assert t.admin.get("/consumers/u").json()["tags"] == ["team-a", "vip"]
    bad = '_format_version: "3.0"\nconsumers:\n- username: w\n  tags: ["a,b"]\n'
    r = t.admin.post("/config", json={"config": bad})
    assert r.status_code == 400
    assert "invalid tag 'a,b'" in json.dumps(r.json()["fields"])


def test_format_11_route_paths_are_migrated(torii_factory, tmp_path, echo):
    """A "1.1" / "2.1" file's route paths, as Kong 3 migrates them: a path of plain characters
    stays a prefix, any other was a regex and gets "~"."""
    text = ('_format_version: "1.1"\nservices:\n- name: s\n  url: %s\n  routes:\n'
            '  - name: r\n    paths: [/plain, "/v\\\\d+/items"]\n' % echo.url)
    t = dbless(torii_factory, tmp_path, text)
    assert t.admin.get("/routes/r").json()["paths"] == ["/plain", "~/v\\d+/items"]
    assert get(t, "/v2/items").status == 200
    assert get(t, "/plain/x").status == 200
    r = t.admin.post("/config", json={"config": '_format_version: "4.0"\n'})
    assert r.status_code == 400
    assert r.json()["fields"] == {"_format_version": "expected one of: 1.1, 2.1, 3.0"}
    r = t.admin.post("/config", json={"config": 'services: []\n'})
    assert r.json()["fields"] == {"_format_version": "required field missing"}


def test_tags_filter_every_list(torii_factory, tmp_path, echo):
    """decK reads with ?tags=: the Kong 0.7-shaped lists (consumers, plugins, credentials) filter
    by tags as Kong 3's do, all of them (a,b) or any (a/b), across store pages."""
    lines = ['_format_version: "3.0"', "consumers:"]
    for i in range(30):
        tags = "[team-a, even]" if i % 2 == 0 else "[team-b]"
        lines.append("- username: c%02d\n  tags: %s\n  keyauth_credentials:\n  - key: k%02d\n"
                     "    tags: %s" % (i, tags, i, tags))
    t = dbless(torii_factory, tmp_path, "\n".join(lines) + "\n")
    a = t.admin
    got = a.get("/consumers?tags=team-a").json()
    assert sorted(c["username"] for c in got["data"]) == ["c%02d" % i for i in range(0, 30, 2)]
    assert a.get("/consumers?tags=team-a,team-b").json()["data"] == []
    assert len(a.get("/consumers?tags=team-a/team-b").json()["data"]) == 30
    # pages of 4: every row once, in order, following next
    seen, url = [], "/consumers?tags=even&size=4"
    for _ in range(10):
        body = a.get(url).json()
        seen += [c["username"] for c in body["data"]]
        if not body.get("next"):
            break
        url = body["next"].split("localhost", 1)[-1].split(":%d" % t.admin_port, 1)[-1]
    assert seen == ["c%02d" % i for i in range(0, 30, 2)]
    assert len(a.get("/consumers/c00/key-auth?tags=even").json()["data"]) == 1
    r = a.get("/consumers?tags=a,b/c")
    assert r.status_code == 400


# ---- more of 15-off_spec.lua ------------------------------------------------------------------

def test_null_reference_in_yaml(torii_factory, tmp_path):
    """15-off_spec.lua: "accepts configuration containing null as a YAML string" (the text is
    indented as a whole, as the spec sends it)."""
    t = dbless(torii_factory, tmp_path)
    text = ('            _format_version: "1.1"\n            routes:\n            - paths:\n'
            '              - "/"\n              service: null\n')
    r = t.admin.post("/config", json={"config": text})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("form", ["attached", "separate"])
def test_certificates_and_snis_related(torii_factory, tmp_path, form):
    """15-off_spec.lua: "certificates should be auto-related with attach snis" / "... with
    separate snis from /config response"."""
    from test_tls import make_cert
    crt, key = make_cert(tmp_path, "foo.example")
    cert_id, sni_id = "d83994d2-c24c-4315-b431-ee76b6611dcb", "1c6e83b7-c9ad-40ac-94e8-52f5ee7bde44"
    cert = {"cert": crt.read_text(), "id": cert_id, "key": key.read_text()}
    sni = {"name": "foo.example", "id": sni_id}
    doc = {"_format_version": "1.1", "certificates": [cert]}
    if form == "attached":
        cert["snis"] = [sni]
    else:
        doc["snis"] = [dict(sni, certificate={"id": cert_id})]
    t = dbless(torii_factory, tmp_path)
    r = t.admin.post("/config", json=doc)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["snis"][sni_id]["certificate"]["id"] == body["certificates"][cert_id]["id"]
    assert "PRIVATE KEY" not in r.text


def test_reload_upstreams_twice(torii_factory, tmp_path):
    """15-off_spec.lua: "can reload upstreams (regression test)"."""
    config = ('_format_version: "1.1"\nservices:\n- host: foo\n  routes:\n  - paths:\n'
              '    - "/"\nupstreams:\n- name: "foo"\n  targets:\n  - target: 10.20.30.40\n')
    t = dbless(torii_factory, tmp_path)
    for _ in range(2):
        r = t.admin.post("/config", json={"config": config})
        assert r.status_code == 201, r.text


def test_returns_back_the_configuration(torii_factory, tmp_path):
    """15-off_spec.lua: "returns back the configuration": a 1.1 file comes back as 3.0, with
    _transform false and the consumer's unset fields as null."""
    t = dbless(torii_factory, tmp_path)
    r = t.admin.post("/config", json={
        "_format_version": "1.1",
        "consumers": [{"username": "bobo", "id": "d885e256-1abe-5e24-80b6-8f68fe59ea8e",
                       "created_at": 1566863706}]})
    assert r.status_code == 201, r.text
    text = t.admin.get("/config").json()["config"]
    assert text.startswith('_format_version: "3.0"\n_transform: false\nconsumers:\n')
    body = text.split("consumers:\n", 1)[1]
    assert "- id: d885e256-1abe-5e24-80b6-8f68fe59ea8e\n" in body
    assert "  created_at: 1566863706\n" in body
    assert "  username: bobo\n" in body
    assert "  custom_id: null\n" in body and "  tags: null\n" in body


def test_one_flattened_item_per_entity(torii_factory, tmp_path, echo):
    """A nested route that sets its service (Kong: "value must be null") and has a bad path:
    one flattened item holding both errors."""
    t = dbless(torii_factory, tmp_path)
    doc = {"_format_version": "3.0", "services": [{"name": "s", "url": echo.url, "routes": [
        {"name": "r", "service": {"id": MY_SERVICE_ID}, "paths": ["bad"]}]}]}
    r = t.admin.post("/config?flatten_errors=1", json=doc)
    assert r.status_code == 400, r.text
    items = r.json()["flattened_errors"]
    assert [i["entity_name"] for i in items] == ["r"]
    fields = sorted(e.get("field", "") for e in items[0]["errors"])
    assert fields == ["paths.1", "service"], items


def test_target_health_stays_open(torii_factory, tmp_path):
    """Marking a target healthy or unhealthy is node state, not configuration: open in DB-less
    mode, as in Kong."""
    t = dbless(torii_factory, tmp_path, '_format_version: "3.0"\nupstreams:\n- name: up\n'
                                        '  targets:\n  - target: 127.0.0.1:9\n')
    for what in ("unhealthy", "healthy"):
        r = t.admin.put("/upstreams/up/targets/127.0.0.1:9/" + what)
        assert r.status_code == 204, (what, r.text)
    r = t.admin.delete("/upstreams/up/targets/127.0.0.1:9")
    assert r.status_code == 405


def test_jwt_secrets_in_a_file(torii_factory, tmp_path, echo):
    """A consumer's jwt_secrets (the jwt plugin's credentials) load from a file and
    authenticate; GET /consumers/{c}/jwt and /jwts read them."""
    import jwt as pyjwt

    text = ("_format_version: \"3.0\"\nservices:\n- name: s\n  url: %s\n  routes:\n"
            "  - name: r\n    paths: [/j]\n  plugins:\n  - name: jwt\nconsumers:\n"
            "- username: u\n  jwt_secrets:\n  - key: file-key\n    secret: file-secret\n"
            % echo.url)
    t = dbless(torii_factory, tmp_path, text)
    assert get(t, "/j").status == 401
    tok = pyjwt.encode({"iss": "file-key"}, "file-secret", algorithm="HS256")
    r = get(t, "/j", headers=[("Authorization", "Bearer " + tok)])
    assert r.status == 200, r
    assert [c["key"] for c in t.admin.get("/consumers/u/jwt").json()["data"]] == ["file-key"]
    assert [c["key"] for c in t.admin.get("/jwts").json()["data"]] == ["file-key"]
    exported = t.admin.get("/config").json()["config"]
    assert "jwt_secrets" in exported

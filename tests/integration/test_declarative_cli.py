# SPDX-License-Identifier: MIT
"""`torii config parse|db_import|db_export|init` (issue 17), with decK-style files holding every
entity kind torii has, and the round trips: import -> export -> import gives the same
configuration, and a DB-less node serves an exported file. Kong 3.9's
spec/02-integration/02-cmd/11-config_spec.lua is ported where it applies (names in the
docstrings)."""

import base64
import json
import sqlite3

import pytest

from harness import run_cli
from rawhttp import one_request
from test_tls import make_cert, served_cn

OAUTH_ID = "5bd4f1a4-1b5a-4a25-94c6-3c1f2bd79f4e"
KEY_ID = "a3b1c2d4-0e5f-4a6b-8c7d-9e0f1a2b3c4d"
CERT_ID = "c0a3e9f6-5b8d-4c2e-9f1a-7d6e5c4b3a21"


def deck_file(echo_url, cert, key):
    """A decK-style file: nested and top-level forms, every kind, references by name."""
    indent = lambda text: "\n".join("      " + ln for ln in text.splitlines())  # noqa: E731
    return """\
_format_version: "3.0"
_transform: true
_comment: every kind torii has
certificates:
- id: %(cert_id)s
  cert: |
%(cert)s
  key: |
%(key)s
  snis:
  - name: decl.test
    tags: [edge]
services:
- name: orders
  url: %(echo)s/orders
  retries: 3
  tags: [team-a, orders]
  routes:
  - name: orders-route
    paths: [/orders]
    strip_path: true
    plugins:
    - name: rate-limiting
      config:
        minute: 100
        policy: local
  plugins:
  - name: key-auth
    config:
      key_names: [apikey]
- name: balanced
  host: pool.upstream
  port: 80
  routes:
  - name: balanced-route
    hosts: [balanced.test]
routes:
- name: top-level-route
  service: orders
  paths: [/top]
upstreams:
- name: pool.upstream
  targets:
  - target: %(target)s
    weight: 100
consumers:
- username: alice
  custom_id: a-1
  keyauth_credentials:
  - id: %(key_id)s
    key: alice-key
  basicauth_credentials:
  - username: alice
    password: alice-password
  acls:
  - group: staff
  oauth2_credentials:
  - id: %(oauth_id)s
    name: alice-app
    client_id: alice-client
    client_secret: alice-secret
    redirect_uris: [https://app.test/cb]
- username: bob
keyauth_credentials:
- consumer: bob
  key: bob-key
plugins:
- name: cors
  service: orders
- name: acl
  route: top-level-route
  config:
    allow: [staff]
- name: request-termination
  consumer: bob
  config:
    status_code: 418
    message: bob is a teapot
apis:
- name: legacy
  upstream_url: %(echo)s
  request_path: /legacy
  strip_request_path: true
  plugins:
  - name: basic-auth
""" % {"echo": echo_url, "cert": indent(cert.read_text()), "key": indent(key.read_text()),
       "target": echo_url.split("//")[1], "cert_id": CERT_ID, "key_id": KEY_ID,
       "oauth_id": OAUTH_ID}


def cli(node_or_env, *args, cwd=None):
    env = node_or_env if isinstance(node_or_env, dict) else node_or_env.env()
    return run_cli(["config"] + list(args), env=env, cwd=cwd)


def prefix_env(tmp_path, name):
    p = tmp_path / name
    p.mkdir()
    return {"TORII_PREFIX": str(p)}


def strip_volatile(doc):
    """updated_at moves on every write; a fresh random id is not part of the content."""
    for kind, rows in doc.items():
        if isinstance(rows, list):
            for r in rows:
                r.pop("updated_at", None)
    return doc


def test_init_writes_a_starter_that_parses(tmp_path):
    """11-config_spec.lua: "config init creates kong.yml by default", "config init can take
    an argument"; and it never overwrites."""
    env = prefix_env(tmp_path, "p")
    r = cli(env, "init", cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr
    starter = tmp_path / "kong.yml"
    assert starter.exists() and '_format_version: "3.0"' in starter.read_text()
    r = cli(env, "parse", str(starter))
    assert r.returncode == 0 and r.stdout == "parse successful\n", r.stderr
    r = cli(env, "init", str(tmp_path / "other.yml"))
    assert r.returncode == 0 and (tmp_path / "other.yml").exists()
    r = cli(env, "init", cwd=str(tmp_path))
    assert r.returncode == 1
    assert r.stderr == "Error: %s already exists.\nWill not overwrite it.\n" % starter


def test_parse_reports_every_problem_with_its_place(tmp_path):
    """11-config_spec.lua: "#db config db_import catches errors in input" (the same file,
    checked by parse)."""
    env = prefix_env(tmp_path, "p")
    f = tmp_path / "bad.yml"
    f.write_text('_format_version: "3.0"\nservices:\n- name: bad\n  host: []\n  port: -23\n'
                 '  routes: 123\n')
    r = cli(env, "parse", str(f))
    assert r.returncode == 1
    assert r.stderr.startswith("Error: Failed parsing:\n")
    for want in ("in 'services':", "- in entry 1 of 'services' (line 3):",
                 "in 'routes': expected an array",
                 "in 'port': value should be between 0 and 65535"):
        assert want in r.stderr, r.stderr
    f.write_text('_format_version: "3.0"\nservices:\n  - name: x\n bad indent: y\n')
    r = cli(env, "parse", str(f))
    assert r.returncode == 1
    assert "failed parsing declarative configuration: line 4" in r.stderr, r.stderr
    r = cli(env, "parse")
    assert r.returncode == 1 and "expected a declarative configuration file" in r.stderr
    # parse never touches the node's database
    assert not (tmp_path / "p" / "torii.db").exists()


def test_import_is_all_or_nothing(tmp_path, echo):
    env = prefix_env(tmp_path, "p")
    good = tmp_path / "good.yml"
    good.write_text('_format_version: "3.0"\nservices:\n- name: kept\n  url: %s\n' % echo.url)
    r = cli(env, "db_import", str(good))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("parse successful, beginning import\nimport successful")
    bad = tmp_path / "bad.yml"
    bad.write_text('_format_version: "3.0"\nservices:\n- name: new-one\n  url: %s\n'
                   '- name: broken\n  url: ftp://x\n' % echo.url)
    r = cli(env, "db_import", str(bad))
    assert r.returncode == 1 and "Failed parsing:" in r.stderr
    db = sqlite3.connect(str(tmp_path / "p" / "torii.db"))
    names = sorted(json.loads(d)["name"] for (d,) in db.execute("SELECT doc FROM services"))
    assert names == ["kept"]  # new-one was not written either
    # re-importing the same file changes nothing (stable ids): still one row
    r = cli(env, "db_import", str(good))
    assert r.returncode == 0
    assert db.execute("SELECT count(*) FROM services").fetchone()[0] == 1
    db.close()


def test_db_commands_refused_without_a_database(tmp_path):
    env = dict(prefix_env(tmp_path, "p"), TORII_DATABASE="off")
    f = tmp_path / "k.yml"
    f.write_text('_format_version: "3.0"\n')
    r = cli(env, "db_import", str(f))
    assert r.returncode == 1
    assert r.stderr.startswith("Error: 'torii config db_import' only works with a database.")
    r = cli(env, "db_export", str(tmp_path / "out.yml"))
    assert r.returncode == 1
    assert "'torii config db_export' only works with a database." in r.stderr


def test_every_kind_round_trips(tmp_path, echo, torii_factory):
    """import -> export -> import -> export gives the same file (but updated_at), and a DB-less
    node started from the export serves what the original file describes."""
    crt, key = make_cert(tmp_path, "decl.test")
    src = tmp_path / "deck.yml"
    src.write_text(deck_file(echo.url, crt, key))
    env1 = prefix_env(tmp_path, "one")
    r = cli(env1, "parse", str(src))
    assert r.returncode == 0, r.stderr
    r = cli(env1, "db_import", str(src))
    assert r.returncode == 0, r.stderr
    out1 = tmp_path / "export1.yml"
    r = cli(env1, "db_export", str(out1))
    assert r.returncode == 0 and r.stdout == "", r.stderr
    r = cli(env1, "db_export", str(out1))
    assert r.returncode == 1 and "already exists. Will not overwrite it." in r.stderr
    text1 = out1.read_text()
    assert "PRIVATE KEY" in text1          # the operator's own copy keeps the key
    assert "alice-password" not in text1   # a digest, never the password
    for kind in ("certificates:", "snis:", "services:", "routes:", "upstreams:", "targets:",
                 "consumers:", "keyauth_credentials:", "basicauth_credentials:", "acls:",
                 "oauth2_credentials:", "plugins:", "apis:"):
        assert "\n" + kind + "\n" in text1, kind
    env2 = prefix_env(tmp_path, "two")
    r = cli(env2, "db_import", str(out1))
    assert r.returncode == 0, r.stderr
    out2 = tmp_path / "export2.yml"
    assert cli(env2, "db_export", str(out2)).returncode == 0
    same = lambda text: [ln for ln in text.splitlines() if "updated_at" not in ln]  # noqa: E731
    assert same(out2.read_text()) == same(text1)

    # a DB-less node from the export serves what the source file describes
    t = torii_factory({"database": "off", "declarative_config": str(out1)}, ssl_port=True)
    get = lambda path, host="svc.test", h=(): one_request(  # noqa: E731
        t.proxy_port, "GET", path, host=host, headers=h)
    assert get("/orders/x").status == 401
    r = get("/orders/x", h=[("apikey", "alice-key")])
    assert r.status == 200 and r.json()["target"] == "/orders/x"
    r = get("/orders/x", h=[("apikey", "alice-key"), ("Origin", "https://web.test")])
    assert r.header("access-control-allow-origin") == "*"  # cors on the service
    assert get("/orders/x", h=[("apikey", "bob-key")]).status == 418  # bob's own plugin
    assert get("/top/a").status == 401  # the service's key-auth
    assert get("/top/a", h=[("apikey", "alice-key")]).status == 200  # staff
    assert get("/top/a", h=[("apikey", "bob-key")]).status == 403  # acl before bob's 418
    r = get("/legacy/a", h=[("Authorization", "Basic " +
                              base64.b64encode(b"alice:alice-password").decode())])
    assert r.status == 200, r
    assert get("/legacy/a").status == 401
    r = get("/", host="balanced.test")
    assert r.status == 200, r  # through the upstream's target
    assert served_cn(t.ssl_port, "decl.test") == "decl.test"
    a = t.admin
    assert a.get("/consumers/alice/oauth2").json()["data"][0]["client_id"] == "alice-client"
    assert a.get("/consumers/alice/key-auth").json()["data"][0]["id"] == KEY_ID
    assert a.get("/certificates/" + CERT_ID).status_code == 200
    assert "PRIVATE KEY" not in a.get("/config").text


@pytest.mark.parametrize("form", ["nested", "top-level"])
def test_stable_ids_match_kongs(tmp_path, form):
    """Kong's ids for entities without one (kong/db/schema/others/declarative_config.lua),
    as its spec fixtures show them: a service named my-service, a global key-auth plugin, a
    key-auth plugin of my-service."""
    env = prefix_env(tmp_path, "p")
    f = tmp_path / "ids.yml"
    if form == "nested":
        f.write_text('_format_version: "3.0"\nservices:\n- name: my-service\n  host: a.test\n'
                     '  plugins:\n  - name: key-auth\nplugins:\n- name: key-auth\n')
    else:
        f.write_text('_format_version: "3.0"\nservices:\n- name: my-service\n  host: a.test\n'
                     'plugins:\n- name: key-auth\n')
    assert cli(env, "db_import", str(f)).returncode == 0
    db = sqlite3.connect(str(tmp_path / "p" / "torii.db"))
    ids = {json.loads(d)["name"] + (":" + json.loads(d)["service_id"] if json.loads(d).get(
        "service_id") else ""): i for (i, d) in db.execute("SELECT id, doc FROM plugins")}
    svc = db.execute("SELECT id FROM services").fetchone()[0]
    db.close()
    assert svc == "0855b320-0dd2-547d-891d-601e9b38647f"
    assert ids["key-auth"] == "6b4f38d1-e026-540b-a5ea-8634739dd2a7"
    if form == "nested":
        assert ids["key-auth:" + svc] == "4a4d9361-8cf7-5304-acb5-d4e8f72ac40b"


def test_bounds_refused_cleanly(tmp_path):
    """A file over the bound (32 MiB) and YAML nested 10,000 deep are refused with a message,
    never a crash."""
    env = prefix_env(tmp_path, "p")
    big = tmp_path / "big.yml"
    with open(big, "w") as f:
        f.write('_format_version: "3.0"\n')
        line = "# " + "x" * 1021 + "\n"
        for _ in range(33 * 1024):
            f.write(line)
    r = cli(env, "parse", str(big))
    assert r.returncode == 1 and "larger than 33554432 bytes" in r.stderr, r.stderr[:300]
    deep = tmp_path / "deep.yml"
    deep.write_text('_format_version: "3.0"\nservices:\n' + "- " * 10000 + "x\n")
    r = cli(env, "parse", str(deep))
    assert r.returncode == 1 and "nested deeper than 512 levels" in r.stderr, r.stderr[:300]
    deep.write_text('{"_format_version": "3.0", "services": ' + "[" * 10000 + "]" * 10000 + "}")
    r = cli(env, "parse", str(deep))
    assert r.returncode == 1 and "failed parsing declarative configuration" in r.stderr

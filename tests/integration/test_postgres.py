# SPDX-License-Identifier: MIT
"""The PostgreSQL store (`database = postgres`) against a real server (pgserver.py): the schema
is made by the migrations, once, even when nodes start together (an advisory lock); a node
refuses a schema a newer build made, a wrong password and an unreachable server with a message
naming user@host:port/database; pg_schema keeps the tables in their own schema; acknowledged
writes survive a restart, credentials included; Kong 0.7 and Kong 3 entities, foreign keys and
unique fields behave as on SQLite. The whole integration suite also runs on PostgreSQL with
TORII_TEST_DATABASE=postgres (harness.py)."""

import threading

import pytest
import requests

import pgserver
from harness import SLOW, free_port, run_cli, start_must_fail

pytestmark = pytest.mark.skipif(not pgserver.available(),
                                reason="PostgreSQL server binaries not installed")

STEPS = 11  # migration steps this build knows (store/pg_migrations.c)


@pytest.fixture(scope="module")
def pg():
    srv = pgserver.PgServer()
    yield srv
    srv.destroy()


_dbs = {"next": 0}


def fresh_db(pg):
    _dbs["next"] += 1
    name = "t_%d" % _dbs["next"]
    pg.create_database(name)
    return name


def applied(pg, db, schema="public"):
    out = pg.psql("SELECT version FROM %s.schema_migrations ORDER BY version" % schema, db)
    return [int(x) for x in out.split()]


def test_a_node_makes_the_schema_and_serves_from_it(pg, torii_factory):
    db = fresh_db(pg)
    t = torii_factory(pg.settings(db))
    assert applied(pg, db) == list(range(1, STEPS + 1))
    st = t.admin.get("/status").json()["database"]
    assert st["reachable"] is True
    # what the Admin API wrote is in PostgreSQL's tables
    t.admin.add_consumer(username="pg-bob")
    assert pg.psql("SELECT username FROM consumers", db).strip() == "pg-bob"
    t.stop()
    # a second start applies nothing again
    t2 = torii_factory(pg.settings(db))
    assert applied(pg, db) == list(range(1, STEPS + 1))
    assert "migration 1 (create_apis) applied" not in t2.stderr_text()
    assert t2.admin.get("/consumers/pg-bob").status_code == 200


def test_nodes_starting_together_apply_each_step_once(pg, torii_factory):
    db = fresh_db(pg)
    nodes = [torii_factory(pg.settings(db), start=False) for _ in range(3)]
    starters = [threading.Thread(target=n.start) for n in nodes]
    for s in starters:
        s.start()
    for s in starters:
        s.join(60 * SLOW)
    assert all(n.alive() for n in nodes)
    assert applied(pg, db) == list(range(1, STEPS + 1))
    logged = sum(n.stderr_text().count("applied") for n in nodes)
    assert logged == STEPS, logged  # each step by one node only


def test_writes_survive_a_restart(pg, torii_factory, echo):
    db = fresh_db(pg)
    t = torii_factory(pg.settings(db))
    a = t.admin
    a.add_api(name="e", upstream_url=echo.url, request_path="/e")
    assert a.post("/apis/e/plugins", data={"name": "key-auth"}).status_code == 201
    a.add_consumer(username="alice")
    assert a.post("/consumers/alice/key-auth", data={"key": "alice-key"}).status_code == 201
    r = a.post("/services", json={"name": "s", "url": echo.url})
    assert r.status_code == 201, r.text
    assert a.post("/services/s/routes", json={"name": "r", "paths": ["/s"]}).status_code == 201
    t.kill9()
    t.restart()
    base = "http://127.0.0.1:%d" % t.proxy_port
    assert requests.get(base + "/e/x", headers={"apikey": "alice-key"}, timeout=10).status_code \
        == 200
    assert requests.get(base + "/e/x", timeout=10).status_code == 401
    assert requests.get(base + "/s/x", timeout=10).status_code == 200


def test_store_rules_as_on_sqlite(pg, torii_factory):
    t = torii_factory(pg.settings(fresh_db(pg)))
    a = t.admin
    a.add_consumer(username="u1")
    r = a.post("/consumers", data={"username": "u1"})
    assert r.status_code == 409 and r.json() == {"username": "username already exists with "
                                                             "value 'u1'"}, r.text
    r = a.post("/services", json={"name": "svc", "url": "http://127.0.0.1:9/"})
    assert r.status_code == 201
    assert a.post("/services/svc/routes", json={"paths": ["/p"]}).status_code == 201
    r = a.delete("/services/svc")
    assert r.status_code == 400 and r.json()["name"] == "foreign key violation", r.text
    # a consumer's credentials go with it (ON DELETE CASCADE)
    assert a.post("/consumers/u1/key-auth", data={"key": "k-u1"}).status_code == 201
    assert a.delete("/consumers/u1").status_code == 204
    assert a.get("/key-auths").json()["data"] == []
    # paging: offsets walk the rows in order, filters compare values
    for i in range(7):
        a.add_consumer(username="p%d" % i, custom_id=str(i))
    seen, url = [], a.url("/consumers?size=3")
    while url:
        body = requests.get(url, timeout=10).json()
        assert body["total"] == 7
        seen += [c["username"] for c in body["data"]]
        url = body.get("next")
    assert seen == ["p%d" % i for i in range(7)]
    assert [c["username"] for c in a.get("/consumers?custom_id=3").json()["data"]] == ["p3"]


def test_pg_schema_keeps_the_tables_apart(pg, torii_factory):
    db = fresh_db(pg)
    t = torii_factory(pg.settings(db, pg_schema="gate"))
    t.admin.add_consumer(username="in-gate")
    assert applied(pg, db, "gate") == list(range(1, STEPS + 1))
    assert pg.psql("SELECT username FROM gate.consumers", db).strip() == "in-gate"
    assert pg.psql("SELECT count(*) FROM information_schema.tables"
                   " WHERE table_schema = 'public'", db).strip() == "0"


def test_a_schema_from_a_newer_build_is_refused(pg, torii_factory, tmp_path):
    db = fresh_db(pg)
    t = torii_factory(pg.settings(db))
    t.stop()
    pg.psql("INSERT INTO schema_migrations VALUES (999, 'from_the_future', 0)", db)
    env = {"TORII_" + k.upper(): v for k, v in pg.settings(db, database_wait="0").items()}
    out = start_must_fail(tmp_path, env)
    assert "database schema version 999 is newer than this build knows (%d)" % STEPS in out, out


def test_wrong_password_and_unreachable_server_are_named(pg, tmp_path):
    db = fresh_db(pg)
    env = {"TORII_" + k.upper(): v for k, v in
           pg.settings(db, pg_password="Zq9-not-the-password", database_wait="0").items()}
    out = start_must_fail(tmp_path, env)
    assert "%s@127.0.0.1:%d/%s" % (pgserver.PG_USER, pg.port, db) in out, out
    assert "password authentication failed" in out, out
    assert "Zq9-not-the-password" not in out  # the password is never shown
    env = {"TORII_" + k.upper(): v for k, v in
           pg.settings(db, pg_port=str(free_port()), database_wait="0").items()}
    (tmp_path / "b").mkdir()
    out = start_must_fail(tmp_path / "b", env)
    assert "cannot connect to PostgreSQL at" in out and "refused" in out, out


def test_migrations_command_reports_the_version(pg, tmp_path):
    db = fresh_db(pg)
    env = {"TORII_" + k.upper(): v for k, v in pg.settings(db).items()}
    env["TORII_PREFIX"] = str(tmp_path)
    p = run_cli(["migrations", "up"], env=env)
    assert p.returncode == 0, p.stderr
    assert "postgres://%s@127.0.0.1:%d/%s at schema version %d" % (
        pgserver.PG_USER, pg.port, db, STEPS) in p.stdout, p.stdout
    assert applied(pg, db) == list(range(1, STEPS + 1))

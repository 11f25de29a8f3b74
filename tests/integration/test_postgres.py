# SPDX-License-Identifier: MIT
"""The PostgreSQL store (`database = postgres`) against a real server (pgserver.py): the schema
is made by the migrations, once, even when nodes start together (an advisory lock); a node
refuses a schema a newer build made, a wrong password and an unreachable server with a message
naming user@host:port/database; pg_schema keeps the tables in their own schema; acknowledged
writes survive a restart, credentials included; Kong 0.7 and Kong 3 entities, foreign keys and
unique fields behave as on SQLite. The whole integration suite also runs on PostgreSQL with
TORII_TEST_DATABASE=postgres (harness.py)."""

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

import pgserver
from harness import (SLOW, TORII_BIN, free_port, pg_bootstrap, run_cli, start_must_fail,
                     wait_for)

pytestmark = pytest.mark.skipif(not pgserver.available(),
                                reason="PostgreSQL server binaries not installed")

STEPS = 13  # migration steps this build knows (store/pg_migrations.c)


@pytest.fixture(scope="module")
def pg():
    srv = pgserver.PgServer()
    yield srv
    srv.destroy()


_dbs = {"next": 0}


def fresh_db(pg, bootstrap=True):
    _dbs["next"] += 1
    name = "t_%d" % _dbs["next"]
    pg.create_database(name)
    if bootstrap:
        pg_bootstrap(pg.settings(name))
    return name


def env_of(settings, **more):
    env = {"TORII_" + k.upper(): str(v) for k, v in settings.items()}
    env.update({"TORII_" + k.upper(): str(v) for k, v in more.items()})
    return env


def applied(pg, db, schema="public"):
    out = pg.psql("SELECT version FROM %s.schema_migrations ORDER BY version" % schema, db)
    return [int(x) for x in out.split()]


def test_an_empty_database_is_bootstrapped_by_the_operator(pg, torii_factory, tmp_path):
    """As Kong: a node refuses an empty database and names the command; `torii migrations
    bootstrap` makes the schema (again: nothing to do), then the node serves from it."""
    db = fresh_db(pg, bootstrap=False)
    out = start_must_fail(tmp_path, env_of(pg.settings(db), database_wait="0"))
    assert "the database is empty: run 'torii migrations bootstrap'" in out, out
    assert applied(pg, db) == []
    p = pg_bootstrap(pg.settings(db))
    assert "schema version %d (%d migrations applied)" % (STEPS, STEPS) in p.stdout, p.stdout
    p = pg_bootstrap(pg.settings(db))
    assert "already bootstrapped" in p.stdout
    assert applied(pg, db) == list(range(1, STEPS + 1))
    t = torii_factory(pg.settings(db))
    st = t.admin.get("/status").json()["database"]
    assert st["reachable"] is True
    # what the Admin API wrote is in PostgreSQL's tables
    t.admin.add_consumer(username="pg-bob")
    assert pg.psql("SELECT username FROM consumers", db).strip() == "pg-bob"
    assert "migration 1 (create_apis) applied" not in t.stderr_text()


def test_a_schema_behind_names_migrations_up(pg, tmp_path):
    db = fresh_db(pg)
    pg.psql("DELETE FROM schema_migrations WHERE version = %d" % STEPS, db)
    pg.psql("DROP TABLE hmacauth_credentials", db)
    out = start_must_fail(tmp_path, env_of(pg.settings(db), database_wait="0"))
    assert "schema is at version %d, this build needs %d: run 'torii migrations up'" % (
        STEPS - 1, STEPS) in out, out
    p = run_cli(["migrations", "list"], env=env_of(pg.settings(db), prefix=tmp_path))
    assert p.returncode == 0 and "pending" in p.stdout, p.stdout
    p = run_cli(["migrations", "up"], env=env_of(pg.settings(db), prefix=tmp_path))
    assert p.returncode == 0 and "(1 migration applied)" in p.stdout, p.stdout
    assert applied(pg, db) == list(range(1, STEPS + 1))


def test_migrations_run_at_once_apply_each_step_once(pg, tmp_path):
    db = fresh_db(pg, bootstrap=False)
    outs = []

    def boot():
        outs.append(run_cli(["migrations", "up"], env=env_of(pg.settings(db), prefix=tmp_path)))
    runners = [threading.Thread(target=boot) for _ in range(3)]
    for r in runners:
        r.start()
    for r in runners:
        r.join(60 * SLOW)
    assert [p.returncode for p in outs] == [0, 0, 0], [p.stderr for p in outs]
    assert applied(pg, db) == list(range(1, STEPS + 1))
    # A step applied twice would have failed its CREATE TABLE: all three succeeding, with one
    # row per step, is each step applied once.


def test_reset_needs_yes_and_drops_only_torii_tables(pg, tmp_path):
    db = fresh_db(pg)
    pg.psql("CREATE TABLE someone_elses (x int)", db)
    env = env_of(pg.settings(db), prefix=tmp_path)
    p = run_cli(["migrations", "reset"], env=env)
    assert p.returncode == 1 and "--yes" in p.stderr
    assert applied(pg, db) == list(range(1, STEPS + 1))
    p = run_cli(["migrations", "reset", "--yes"], env=env)
    assert p.returncode == 0, p.stderr
    tables = pg.psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", db).split()
    assert tables == ["someone_elses"]
    p = run_cli(["migrations", "finish"], env=env)
    assert p.returncode == 0 and "no migrations pending" in p.stdout


def test_the_store_unit_tests_pass_on_postgres(pg):
    """tests/unit/test_store.c's tests of the store interface (CRUD, unique fields, foreign keys
    and cascades, pagination, filters, migrations, cluster events, a write surviving SIGKILL),
    run as they are on an empty PostgreSQL database: the binary built beside the node's."""
    binary = Path(TORII_BIN).parent / "test_store"
    if not binary.exists():
        pytest.skip("no test_store beside %s" % TORII_BIN)
    db = fresh_db(pg)
    conf = "\n".join("%s = %s" % kv for kv in pg.settings(db).items())
    p = subprocess.run([str(binary)], env=dict(os.environ, TORII_TEST_STORE_CONF=conf),
                       capture_output=True, text=True, timeout=120 * SLOW)
    assert p.returncode == 0, p.stdout + p.stderr[-3000:]
    assert " 0 failed" in p.stdout + p.stderr


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
    db = fresh_db(pg, bootstrap=False)
    pg_bootstrap(pg.settings(db, pg_schema="gate"))
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
    p = run_cli(["migrations", "list"], env=env_of(pg.settings(db), prefix=tmp_path))
    assert p.returncode == 0, p.stderr
    assert "postgres://%s@127.0.0.1:%d/%s at schema version %d" % (
        pgserver.PG_USER, pg.port, db, STEPS) in p.stdout, p.stdout
    assert "create_hmacauth_credentials" in p.stdout and "pending" not in p.stdout


def keyed_node(srv, db, user, torii_factory, echo):
    """A node on a fresh database db of srv with an api /e behind key-auth and user holding
    the key "<user>-key"; the node and the api's URL."""
    srv.create_database(db)
    pg_bootstrap(srv.settings(db))
    t = torii_factory(srv.settings(db))
    a = t.admin
    a.add_api(name="e", upstream_url=echo.url, request_path="/e")
    assert a.post("/apis/e/plugins", data={"name": "key-auth"}).status_code == 201
    a.add_consumer(username=user)
    assert a.post("/consumers/%s/key-auth" % user, data={"key": user + "-key"}).status_code \
        == 201
    return t, "http://127.0.0.1:%d/e/x" % t.proxy_port


def test_the_database_down_and_back(torii_factory, echo):
    """The database stops under a running node: the proxy keeps serving its configuration
    (keys included), admin writes answer 503 with Kong's message, /status says unreachable;
    once the database is back the node reconnects by itself and writes work again. Security
    profile K-09 (the parts without a cache of unseen keys)."""
    srv = pgserver.PgServer()
    try:
        t, url = keyed_node(srv, "outage", "olga", torii_factory, echo)
        a = t.admin
        assert requests.get(url, headers={"apikey": "olga-key"}, timeout=10).status_code == 200

        srv.stop()
        for _ in range(5):
            assert requests.get(url, headers={"apikey": "olga-key"},
                                timeout=10).status_code == 200
            assert requests.get(url, timeout=10).status_code == 401
        r = a.post("/consumers", data={"username": "during"})
        assert r.status_code == 503, r.text
        assert r.json() == {"message": "failed to connect to database"}
        st = a.get("/status")
        assert st.status_code == 200 and st.json()["database"]["reachable"] is False
        assert a.get("/consumers/olga").status_code == 503

        srv.start()
        assert wait_for(lambda: a.post("/consumers", data={"username": "after"}).status_code
                        == 201, 20)
        assert a.get("/status").json()["database"]["reachable"] is True
        assert a.get("/consumers/during").status_code == 404  # the 503 stored nothing
        assert "connected to PostgreSQL at" in t.stderr_text()
    finally:
        srv.destroy()


def test_the_database_restarted_under_load_fails_no_proxied_request(torii_factory, echo):
    """Clients keep asking (with a key) while PostgreSQL stops and starts again: not one
    proxied request fails, and afterwards the node writes again by itself."""
    srv = pgserver.PgServer()
    try:
        t, url = keyed_node(srv, "underload", "lena", torii_factory, echo)
        a = t.admin
        stop = threading.Event()
        seen = []

        def client():
            s = requests.Session()
            while not stop.is_set():
                try:
                    seen.append(s.get(url, headers={"apikey": "lena-key"},
                                      timeout=10).status_code)
                except requests.RequestException as e:
                    seen.append(repr(e))
            s.close()
        clients = [threading.Thread(target=client) for _ in range(4)]
        for c in clients:
            c.start()
        try:
            assert wait_for(lambda: len(seen) > 50, 10)
            srv.stop()
            before = len(seen)
            assert wait_for(lambda: len(seen) > before + 100, 20)  # served while it is down
            srv.start()
            assert wait_for(lambda: a.post("/consumers", data={"username": "back"}).status_code
                            == 201, 20)
            after = len(seen)
            assert wait_for(lambda: len(seen) > after + 50, 10)
        finally:
            stop.set()
            for c in clients:
                c.join(30 * SLOW)
        bad = [x for x in seen if x != 200]
        assert bad == [], bad[:5]
    finally:
        srv.destroy()


def test_a_node_started_while_the_database_is_down_serves_its_local_copy(torii_factory, echo):
    """A node on PostgreSQL keeps a copy of its configuration under its prefix (owner-only, as
    it holds credentials). Started while the database is down it serves that copy at once
    (keys included) instead of waiting: reads answer from it, writes 503 naming the copy,
    /status says unreachable. A damaged copy is refused by its checksum and the node waits as
    one without a copy does. Once the database is back a new worker takes over on it by
    itself, and the copy's working file goes with the old one."""
    srv = pgserver.PgServer()
    try:
        t, url = keyed_node(srv, "copy", "cora", torii_factory, echo)
        a = t.admin
        copy = t.prefix / "config.copy"
        assert wait_for(lambda: copy.exists() and b"cora-key" in copy.read_bytes(), 10)
        assert copy.stat().st_mode & 0o777 == 0o600
        assert t.stop() == 0
        srv.stop()
        good = copy.read_bytes()

        damaged = bytearray(good)
        damaged[-5] ^= 1
        copy.write_bytes(bytes(damaged))
        t.settings["database_wait"] = "1s"
        t.start(wait=False)
        assert t.proc.wait(30 * SLOW) != 0  # after database_wait
        assert "checksum does not match" in t.stderr_text()

        copy.write_bytes(good)
        del t.settings["database_wait"]  # 60 s by default: it is not waited for
        t.start()
        assert requests.get(url, headers={"apikey": "cora-key"}, timeout=10).status_code == 200
        assert requests.get(url, timeout=10).status_code == 401
        assert a.get("/consumers/cora").json()["username"] == "cora"
        r = a.post("/consumers", data={"username": "during"})
        assert r.status_code == 503, r.text
        assert "local copy" in r.json()["message"]
        assert a.delete("/consumers/cora").status_code == 503
        assert a.get("/status").json()["database"]["reachable"] is False
        assert a.get("/status/ready").status_code == 503
        assert "serving the configuration of" in t.stderr_text()
        assert len(list(t.prefix.glob("config.copy.*.db"))) == 1

        srv.start()

        def written():
            try:  # the admin connection may be the old worker's, closed as it drains
                return a.post("/consumers", data={"username": "after"}).status_code == 201
            except requests.ConnectionError:
                return False
        assert wait_for(written, 30)
        assert wait_for(lambda: not list(t.prefix.glob("config.copy.*.db")), 20)
        assert a.get("/status").json()["database"]["reachable"] is True
        assert a.get("/consumers/during").status_code == 404  # the 503 stored nothing
        assert requests.get(url, headers={"apikey": "cora-key"}, timeout=10).status_code == 200
        assert wait_for(lambda: b'"after"' in copy.read_bytes(), 10)
    finally:
        srv.destroy()


def test_a_statement_timeout_is_an_error_that_stores_nothing(pg, torii_factory, echo):
    """pg_timeout bounds every statement: a write that waits on a lock another session holds
    is cancelled after it and answered 500 (Kong's answer to a database error), the reason is
    logged, nothing is stored, and the node writes again once the lock is gone. The proxy
    serves meanwhile."""
    db = fresh_db(pg)
    t = torii_factory(pg.settings(db, pg_timeout="1s"))
    a = t.admin
    a.add_api(name="e", upstream_url=echo.url, request_path="/e")
    locker = subprocess.Popen(pgserver._as_postgres([
        os.path.join(pg.bindir, "psql"), "-h", pg.dir, "-p", str(pg.port), "-U",
        pgserver.PG_USER, "-d", db, "-X", "-q", "-c",
        "BEGIN; LOCK TABLE consumers IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_for(lambda: pg.psql("SELECT count(*) FROM pg_locks WHERE mode = "
                                        "'AccessExclusiveLock' AND granted", db).strip() != "0",
                        10)
        t0 = time.monotonic()
        r = a.post("/consumers", data={"username": "waiting"})
        assert r.status_code == 500, r.text
        assert r.json() == {"message": "An unexpected error occurred"}
        assert time.monotonic() - t0 < 4  # cancelled at pg_timeout, not at the lock's end
        assert "statement timeout" in t.stderr_text()
        assert requests.get("http://127.0.0.1:%d/e/x" % t.proxy_port,
                            timeout=10).status_code == 200
    finally:
        locker.wait(30)
    assert a.get("/consumers/waiting").status_code == 404
    assert a.post("/consumers", data={"username": "later"}).status_code == 201


def test_postgres_crashing_mid_write_never_loses_an_acknowledged_write(torii_factory):
    """Writers create consumers while PostgreSQL crashes (immediate shutdown: the backends die
    between statements, some between a write and its commit) and comes back through crash
    recovery: every write answered 201 is stored, every other answer is an error (5xx), and
    the node writes again by itself."""
    srv = pgserver.PgServer()
    try:
        srv.create_database("crash")
        pg_bootstrap(srv.settings("crash"))
        t = torii_factory(srv.settings("crash"))
        a = t.admin
        stop = threading.Event()
        acked, other = [], []

        def writer(w):
            s = requests.Session()
            i = 0
            while not stop.is_set():
                name = "w%d-%d" % (w, i)
                i += 1
                try:
                    r = s.post(a.url("/consumers"), data={"username": name}, timeout=20)
                    (acked if r.status_code == 201 else other).append((name, r.status_code))
                except requests.RequestException as e:
                    other.append((name, repr(e)))
            s.close()
        writers = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
        for w in writers:
            w.start()
        try:
            assert wait_for(lambda: len(acked) > 30, 10)
            srv.crash()
            n = len(other)
            assert wait_for(lambda: len(other) > n + 3, 10)  # refused while it is down
            srv.start()
            n = len(acked)
            assert wait_for(lambda: len(acked) > n + 30, 30)  # back by itself
        finally:
            stop.set()
            for w in writers:
                w.join(30 * SLOW)
        stored = set(srv.psql("SELECT doc::jsonb->>'username' FROM consumers",
                              "crash").split())
        lost = [name for name, _ in acked if name not in stored]
        assert lost == [], lost[:5]
        assert all(isinstance(c, int) and c >= 500 for _, c in other), other[:5]
    finally:
        srv.destroy()


class Blackhole:
    """A TCP forwarder to PostgreSQL on a port of its own that can go silent: cut() closes
    every forwarded connection and stops accepting, with the listen queue full, so a new
    connection waits for an answer that never comes (a server whose packets are dropped);
    mend() forwards again."""

    def __init__(self, target_port):
        import selectors
        import socket
        self.target = target_port
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.stopping = False
        self.pairs, self.fillers = [], []
        self.lock = threading.Lock()
        self.sel = selectors
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        import socket
        self.lsock.settimeout(0.05)
        while not self.stopping:
            if not self.open.is_set():
                time.sleep(0.05)
                continue
            try:
                c, _ = self.lsock.accept()
            except OSError:
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.pairs.append((c, u))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a, b):
        import socket
        a.settimeout(None)
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        import socket
        self.open.clear()
        time.sleep(0.1)  # the accepting thread is parked
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for c, u in pairs:
            for s in (c, u):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        for _ in range(4):  # the queue full: what comes next is never answered
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(f)

    def mend(self):
        for f in self.fillers:
            f.close()
        self.fillers = []
        self.open.set()

    def close(self):
        self.stopping = True
        self.mend()
        self.thread.join(5)
        self.lsock.close()
        with self.lock:
            for c, u in self.pairs:
                c.close()
                u.close()


def test_an_unreachable_database_never_holds_the_admin_api(pg, torii_factory, echo):
    """PostgreSQL's packets dropped (no refusal, nothing): the node reconnects without waiting
    for libpq's connect timeout (pg_timeout, 10 s here), so every admin call still answers at
    once (503, /status unreachable) and the proxy serves; once the network is back the node
    writes again by itself."""
    db = fresh_db(pg)
    hole = Blackhole(pg.port)
    try:
        t = torii_factory(pg.settings(db, pg_port=str(hole.port), pg_timeout="10s"))
        a = t.admin
        a.add_api(name="e", upstream_url=echo.url, request_path="/e")
        assert a.post("/consumers", data={"username": "before"}).status_code == 201
        hole.cut()
        for i in range(4):
            t0 = time.monotonic()
            r = a.post("/consumers", data={"username": "during%d" % i})
            st = a.get("/status")
            took = time.monotonic() - t0
            assert r.status_code == 503, r.text
            assert st.json()["database"]["reachable"] is False
            assert took < 4 * SLOW, took  # libpq's blocking connect would take 10 s
            assert requests.get("http://127.0.0.1:%d/e/x" % t.proxy_port,
                                timeout=10).status_code == 200
            time.sleep(0.3)
        hole.mend()
        assert wait_for(lambda: a.post("/consumers", data={"username": "after"}).status_code
                        == 201, 30)
        assert a.get("/status").json()["database"]["reachable"] is True
        log = t.stderr_text()
        assert "lost PostgreSQL at" in log and "reconnecting every second" in log, log[-2000:]
        assert "connected to PostgreSQL at" in log
    finally:
        hole.close()

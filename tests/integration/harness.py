# SPDX-License-Identifier: MIT
"""The harness of the integration suite: a torii node on ephemeral ports with a private
prefix (start, readiness, SIGTERM / SIGKILL, restart on the same prefix, logs, sanitizer
reports, RSS, optionally under libfaketime with a clock the test moves), an Admin API client,
and small helpers shared by the tests.

Environment: TORII_BIN (binary under test, default build/torii), TORII_ASAN=1 (sanitizer build:
longer timeouts, smaller big-body tests)."""

import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

from rawhttp import RawConn

REPO_ROOT = Path(__file__).resolve().parents[2]
TORII_BIN = os.environ.get("TORII_BIN") or str(REPO_ROOT / "build" / "torii")
ASAN = os.environ.get("TORII_ASAN") == "1"
SLOW = 3.0 if ASAN else 1.0          # multiply wall-clock bounds by this
START_TIMEOUT = 30.0 if ASAN else 10.0
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                      "ThreadSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")

# Defaults the suite gives every node (tests override through settings).
BASE_SETTINGS = {
    "worker_threads": "2",
    "log_level": "info",
}


# Ports for listeners the test configures (torii's own, Redis, ...) come from a block below the
# kernel's ephemeral range (32768-60999 on Debian), so they never meet a port the kernel hands to
# an upstream bound to port 0 or to an outgoing connection. Under pytest-xdist each worker
# process owns a slice of the block, so two workers never hand out the same port.
_PORT_BLOCK = (15000, 32000)


def _port_slice():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    index = int(worker[2:]) if worker[2:].isdigit() else 0
    width = (_PORT_BLOCK[1] - _PORT_BLOCK[0]) // max(count, 1)
    first = _PORT_BLOCK[0] + index * width
    return first, first + width


_port_range = _port_slice()
_port_next = _port_range[0]


def free_port():
    """A TCP port that was free a moment ago, taken in turn from this process's slice of the
    test block (never the same port twice in a row: a node gets distinct proxy and admin
    ports). A port still held, or in TIME_WAIT, is skipped."""
    global _port_next
    first, last = _port_range
    for _ in range(last - first):
        port = _port_next
        _port_next = first if _port_next + 1 >= last else _port_next + 1
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        return port
    raise RuntimeError("no free port in %d-%d" % (first, last))


def descendants(pid):
    """pid and every descendant process id."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_kb(pid):
    """Summed VmRSS (kB) of pid and its descendants."""
    total = 0
    for p in descendants(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def faketime_library():
    """The libfaketime preload library of Debian's `faketime` package, or None. Asked of dpkg
    first; else the path compiled into the `faketime` wrapper (it may contain the loader's
    `$LIB`, which LD_PRELOAD expands)."""
    try:
        p = subprocess.run(["dpkg-query", "-L", "libfaketime"], capture_output=True, text=True,
                           timeout=10)
        for line in p.stdout.splitlines():
            if line.endswith("/libfaketime.so.1") and os.path.exists(line):
                return line
    except (OSError, subprocess.SubprocessError):
        pass
    for d in os.environ.get("PATH", "").split(os.pathsep):
        wrapper = os.path.join(d, "faketime")
        try:
            with open(wrapper, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for m in re.finditer(rb"/[\x21-\x7e]*/libfaketime\.so\.1", data):
            return m.group(0).decode()
    return None


def child_env(extra=None):
    """The environment for a torii process: ours without any TORII_* variable, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TORII_")}
    env.update(extra or {})
    if ASAN:
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:quarantine_size_mb=16")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    return env


def run_cli(args, env=None, timeout=None, cwd=None):
    """Run `torii <args>`; returns CompletedProcess (text)."""
    return subprocess.run([TORII_BIN] + list(args), env=child_env(env), cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout or 20 * SLOW)


def start_must_fail(tmp_path, env_extra=None, conf=None):
    """Run `torii start` on fresh ports under tmp_path expecting a refusal (env_extra: more
    TORII_* variables; conf: a file for -c). Fails the test if it starts; returns the combined
    output."""
    prefix = tmp_path / "prefix"
    prefix.mkdir(exist_ok=True)
    env = {"TORII_PREFIX": str(prefix),
           "TORII_PROXY_LISTEN": "127.0.0.1:%d" % free_port(),
           "TORII_ADMIN_LISTEN": "127.0.0.1:%d" % free_port(),
           "TORII_WORKER_THREADS": "2"}
    env.update(env_extra or {})
    args = ["start"] + (["-c", str(conf)] if conf else [])
    try:
        p = run_cli(args, env=env, timeout=15 * SLOW)
    except subprocess.TimeoutExpired:
        pytest.fail("torii start did not refuse the configuration (still running after 15 s)")
    assert p.returncode != 0, "start should have failed:\n%s%s" % (p.stdout, p.stderr)
    return p.stdout + p.stderr


class Admin:
    """requests session against the Admin API."""

    def __init__(self, port):
        self.port = port
        self.base = "http://127.0.0.1:%d" % port
        self.s = requests.Session()
        self.s.trust_env = False

    def url(self, path):
        return self.base + path

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 10 * SLOW)
        data = kw.get("data")
        if isinstance(data, dict):
            kw["data"] = {k: (str(v).lower() if isinstance(v, bool) else v)
                          for k, v in data.items()}
        return self.s.request(method, self.url(path), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def put(self, path, **kw):
        return self.request("PUT", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def add_api(self, **fields):
        r = self.post("/apis/", data=fields)
        assert r.status_code == 201, "create api %r: %d %s" % (fields, r.status_code, r.text)
        return r.json()

    def patch_api(self, name, **fields):
        r = self.patch("/apis/%s" % name, data=fields)
        assert r.status_code == 200, "patch api %s %r: %d %s" % (name, fields, r.status_code,
                                                                 r.text)
        return r.json()

    def add_consumer(self, **fields):
        r = self.post("/consumers/", data=fields)
        assert r.status_code == 201, "create consumer %r: %d %s" % (fields, r.status_code,
                                                                    r.text)
        return r.json()

    def close(self):
        self.s.close()


# TORII_TEST_DATABASE=postgres: every node a test starts without naming its database runs on
# a PostgreSQL of this test process's own (pgserver.py, started at the first such node and
# stopped at exit), in a database of its own; the same tests then check the PostgreSQL store.
TEST_DATABASE = os.environ.get("TORII_TEST_DATABASE", "sqlite")
_pg = {"server": None, "next": 0, "ready": None, "wanted": None}


def pg_bootstrap(settings, prefix=None):
    """`torii migrations bootstrap` on the database settings name (a PostgreSQL node refuses
    to start on an empty one, as Kong's)."""
    env = {"TORII_" + k.upper(): str(v) for k, v in settings.items()}
    with tempfile.TemporaryDirectory(prefix="torii-boot-") as tmp:
        env["TORII_PREFIX"] = str(prefix or tmp)
        p = run_cli(["migrations", "bootstrap"], env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    return p


def _pg_maker():
    """Keep two databases ready, copies of the bootstrapped template, made one at a time
    (a copy needs its template alone) while the tests run."""
    srv = _pg["server"]
    template = "template_%d" % os.getpid()
    while True:
        _pg["wanted"].acquire()
        _pg["next"] += 1
        name = "node_%d_%d" % (os.getpid(), _pg["next"])
        try:
            # FILE_COPY: a copy of the files, 2-3 times cheaper here than WAL_LOG (PG 15's default)
            srv.psql('CREATE DATABASE "%s" TEMPLATE "%s" STRATEGY FILE_COPY' % (name, template))
            _pg["ready"].put(name)
        except Exception as e:  # the waiting node reports it
            _pg["ready"].put(e)


def pg_database_settings():
    """Settings of a fresh, bootstrapped database on the test process's PostgreSQL."""
    if _pg["server"] is None:
        import atexit
        import queue
        import threading
        import pgserver
        srv = pgserver.PgServer()
        atexit.register(srv.destroy)
        # bootstrapped once; every node's database is a copy of it (a file copy in the server,
        # much cheaper than running the migrations again)
        srv.create_database("template_%d" % os.getpid())
        pg_bootstrap(srv.settings("template_%d" % os.getpid()))
        _pg.update(server=srv, ready=queue.Queue(), wanted=threading.Semaphore(2))
        threading.Thread(target=_pg_maker, daemon=True, name="pg-databases").start()
    got = _pg["ready"].get(timeout=60)
    _pg["wanted"].release()
    if isinstance(got, Exception):
        raise got
    return _pg["server"].settings(got)


class Torii:
    """One torii node run in the foreground with its own prefix and ports."""

    def __init__(self, workdir, settings=None, config_file=None, ssl_port=False,
                 faketime=False):
        self.workdir = Path(workdir)
        self.prefix = self.workdir / "prefix"
        self.prefix.mkdir(parents=True, exist_ok=True)
        self.settings = dict(BASE_SETTINGS)
        if TEST_DATABASE == "postgres" and "database" not in (settings or {}) and \
                config_file is None:
            # first: a PostgreSQL started now takes its port before this node picks its own
            self.settings.update(pg_database_settings())
        self.settings.update(settings or {})
        self.proxy_port = free_port()
        self.admin_port = free_port()
        self.ssl_port = free_port() if ssl_port else None
        self.config_file = config_file
        self.proc = None
        self.stdout_path = self.workdir / "torii.stdout"
        self.stderr_path = self.workdir / "torii.stderr"
        self.admin = Admin(self.admin_port)
        self.exits = []          # (returncode, how) of every stopped process
        self.reported_offset = 0  # stderr bytes already checked and reported
        self.crash_reported = False
        # faketime=True: run under libfaketime; shift_clock() moves the node's clocks.
        self.faketime_file = None
        if faketime:
            self.faketime_lib = faketime_library()
            if self.faketime_lib is None:
                raise RuntimeError("libfaketime not found (Debian package faketime)")
            self.faketime_file = self.workdir / "faketime"
            self.shift_clock(0)

    # -- settings --------------------------------------------------------------------------
    def env(self):
        listen = "127.0.0.1:%d" % self.proxy_port
        if self.ssl_port:
            listen += ", 127.0.0.1:%d ssl" % self.ssl_port
        e = {
            "TORII_PREFIX": str(self.prefix),
            "TORII_PROXY_LISTEN": listen,
            "TORII_ADMIN_LISTEN": "127.0.0.1:%d" % self.admin_port,
        }
        for k, v in self.settings.items():
            e["TORII_" + k.upper()] = str(v)
        if self.faketime_file:
            e["LD_PRELOAD"] = self.faketime_lib
            e["FAKETIME_TIMESTAMP_FILE"] = str(self.faketime_file)
            e["FAKETIME_NO_CACHE"] = "1"
            if ASAN:
                # the sanitizer runtime is then not first in the library list
                e["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0:quarantine_size_mb=16:" \
                                    "verify_asan_link_order=0"
        return e

    def shift_clock(self, seconds):
        """Under faketime: the node's clocks (wall and monotonic) run `seconds` ahead of real
        time from the next time call on (the file is replaced atomically)."""
        tmp = self.faketime_file.with_suffix(".tmp")
        tmp.write_text("%+d\n" % int(seconds))
        os.replace(tmp, self.faketime_file)

    @property
    def db_path(self):
        return self.prefix / "torii.db"

    @property
    def access_log(self):
        return self.prefix / "logs" / "access.log"

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, wait=True, args=()):
        cmd = [TORII_BIN, "start"]
        if self.config_file:
            cmd += ["-c", str(self.config_file)]
        cmd += list(args)
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen(cmd, env=child_env(self.env()), stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, cwd=str(self.workdir))
        finally:
            out.close()
            err.close()
        if wait:
            self.wait_ready()
        return self

    def reload(self):
        """`torii reload` against this node (settings and configuration re-read)."""
        p = run_cli(["reload"], env=self.env())
        assert p.returncode == 0, p.stderr

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        token = self.settings.get("admin_token")
        auth = {"Authorization": "Bearer " + token} if token else {}
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("torii exited during start-up (code %s):\n%s"
                                   % (self.proc.returncode, self.stderr_tail()))
            try:
                r = requests.get(self.admin.url("/status"), timeout=0.5, headers=auth,
                                 proxies={"http": None, "https": None})
                if r.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("torii not ready after %.0f s:\n%s" % (timeout,
                                                                       self.stderr_tail()))
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.proxy_port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("proxy port never opened:\n" + self.stderr_tail())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self):
        return self.proc.pid

    def stop(self, timeout=None):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        timeout = timeout or (20 * SLOW)
        # The admin session's idle keep-alive connections would hold the drain for
        # drain_idle_grace; the session opens new ones when the test goes on.
        self.admin.s.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            for p in reversed(descendants(self.proc.pid)):
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait(5)
            self.exits.append((None, "SIGTERM timed out, killed"))
            return None
        self.exits.append((rc, "SIGTERM"))
        return rc

    def kill9(self):
        """SIGKILL every process of the node and reap it."""
        pids = descendants(self.proc.pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait(10)
        self.exits.append((self.proc.returncode, "SIGKILL"))

    def restart(self, kill=False):
        if self.alive():
            if kill:
                self.kill9()
            else:
                self.stop()
        deadline = time.monotonic() + 10
        while True:
            try:
                return self.start()
            except RuntimeError as e:
                if "in use" not in str(e).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # -- inspection ------------------------------------------------------------------------
    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def stdout_text(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except OSError:
            return ""

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def stderr_size(self):
        try:
            return self.stderr_path.stat().st_size
        except OSError:
            return 0

    def sanitizer_report(self, since=None):
        """The first sanitizer report in stderr (from byte offset since, default: what was
        not reported yet) or stdout, or None."""
        if since is None:
            since = self.reported_offset
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            text = ""
        text += self.stdout_text()
        for p in SANITIZER_PATTERNS:
            if p in text:
                i = text.index(p)
                return text[max(0, i - 200):i + 3000]
        return None

    def rss_kb(self):
        return rss_kb(self.proc.pid)

    def raw(self, timeout=10.0):
        return RawConn(self.proxy_port, timeout=timeout)

    def access_log_lines(self):
        try:
            return self.access_log.read_text(errors="replace").splitlines()
        except OSError:
            return []


def finish_torii(t):
    """Stop a node at teardown; returns a list of problems (crash, bad exit, sanitizer)."""
    problems = []
    if t.proc is not None:
        if t.proc.poll() is not None and t.proc.returncode != 0 and \
                not any(how == "SIGKILL" for _, how in t.exits[-1:]):
            if not t.crash_reported:
                problems.append("torii died during the test (exit %s)" % t.proc.returncode)
        elif t.alive():
            rc = t.stop()
            if rc != 0:
                problems.append("torii did not stop cleanly on SIGTERM (exit %s)" % rc)
    for rc, how in t.exits:
        if how == "SIGTERM" and rc not in (0, None):
            problems.append("exit code %s after SIGTERM" % rc)
        if rc is None:
            problems.append("torii did not exit within the drain bound after SIGTERM")
    rep = t.sanitizer_report()
    if rep:
        problems.append("sanitizer report:\n" + rep)
    t.admin.close()
    if problems:
        problems.append("stderr tail:\n" + t.stderr_tail())
    return problems


def assert_silent(up, wait=0.15):
    """The upstream received no byte (waiting a little for late bytes)."""
    time.sleep(wait)
    assert up.raw_total == 0, "upstream received bytes: %r" % up.all_raw()[:500]


def echo_json(resp):
    """The echo description inside a proxied 200."""
    assert resp.status == 200, resp
    return resp.json()


def hvals(desc, name):
    """Values of header name in an echo description."""
    name = name.lower()
    return [v for k, v in desc["headers"] if k.lower() == name]


def away_from_boundary(period, margin):
    """Sleep until at least margin seconds remain in the current window of period seconds (a
    rate-limiting window: UTC-aligned, so the minute guard also covers the hour, day...).
    A test that counts requests against a limit calls it first, so no window rolls over (and
    the count starts again) in the middle of it."""
    left = period - (time.time() % period)
    if left < margin:
        time.sleep(left + 0.05)


def wait_for(pred, timeout=5.0, step=0.02):
    """Poll pred until it returns something true (returned) or timeout seconds pass (then its
    last value). timeout is for the normal build: it is multiplied by SLOW here, so that no
    caller forgets the sanitizer build's slower clock."""
    deadline = time.monotonic() + timeout * SLOW
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()

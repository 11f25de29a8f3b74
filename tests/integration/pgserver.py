# SPDX-License-Identifier: MIT
"""A real PostgreSQL for the tests: Debian's server binaries, a cluster made with initdb in a
temporary directory, listening on 127.0.0.1 at a free port (and a socket in that directory),
run as the unprivileged `postgres` user (the server refuses to run as root), stopped by its pid.
Password authentication (scram-sha-256) over TCP, so a wrong password is a real refusal."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import free_port

PG_USER = "torii"
PG_PASSWORD = "torii-test-pw"


def pg_bindir():
    """The newest installed server's bin directory, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return os.path.dirname(dirs[-1]) if dirs else None


def available():
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return pg_bindir() is not None


def _as_postgres(cmd):
    """cmd run as the postgres user when we are root (else as ourselves)."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--"] + cmd


class PgServer:
    def __init__(self):
        # Its own directory under the system's temporary one: a test's tmp_path sits below a
        # directory only root may enter, and the server runs as another user.
        self.dir = tempfile.mkdtemp(prefix="torii-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = free_port()
        self.proc = None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(PG_PASSWORD + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, pw.pw_uid, pw.pw_gid)
        bindir = pg_bindir()
        self.bindir = bindir
        subprocess.run(_as_postgres([os.path.join(bindir, "initdb"), "-D", self.data, "-U",
                                     PG_USER, "--pwfile", pwfile, "--auth-local=trust",
                                     "--auth-host=scram-sha-256", "-E", "UTF8",
                                     "--no-instructions"]),
                       check=True, capture_output=True, timeout=120)
        os.unlink(pwfile)
        with open(os.path.join(self.data, "postgresql.auto.conf"), "a") as f:
            f.write("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                    "max_connections = 200\n")
        self.start()

    def start(self):
        log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            _as_postgres([os.path.join(self.bindir, "postgres"), "-D", self.data, "-p",
                          str(self.port), "-h", "127.0.0.1", "-k", self.dir]),
            stdout=log, stderr=log, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited:\n" + self.log_tail())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                if self.psql("SELECT 1").strip() == "1":
                    return
            except (OSError, subprocess.CalledProcessError):
                pass
            time.sleep(0.1)
        raise RuntimeError("postgres did not start:\n" + self.log_tail())

    def stop(self):
        """Fast shutdown (SIGINT), by pid; SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        try:  # the postmaster itself (runuser, our child, does not pass signals on)
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                os.kill(int(f.readline()), signal.SIGINT)
        except (OSError, ValueError):
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def crash(self):
        """Immediate shutdown (SIGQUIT to the postmaster): every backend quits at once, nothing
        is checkpointed, and the next start runs crash recovery from the WAL."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with open(os.path.join(self.data, "postmaster.pid")) as f:
            os.kill(int(f.readline()), signal.SIGQUIT)
        self.proc.wait(30)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, n=4000):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def psql(self, sql, database="postgres"):
        """Run sql through the local socket (trust); returns the unaligned output."""
        p = subprocess.run(_as_postgres([os.path.join(self.bindir, "psql"), "-h", self.dir, "-p", str(self.port), "-U", PG_USER,
                                         "-d", database, "-A", "-t", "-X", "-q", "-c", sql]),
                           capture_output=True, text=True, timeout=60, check=True)
        return p.stdout

    def create_database(self, name):
        self.psql('CREATE DATABASE "%s"' % name)

    def settings(self, database, **over):
        """torii's settings for this server and database."""
        s = {"database": "postgres", "pg_host": "127.0.0.1", "pg_port": str(self.port),
             "pg_user": PG_USER, "pg_password": PG_PASSWORD, "pg_database": database}
        s.update(over)
        return s

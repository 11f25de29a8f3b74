# SPDX-License-Identifier: MIT
"""The tests' PostgreSQL (pgserver.py) is a real server: it starts from initdb as an
unprivileged user, answers on 127.0.0.1 at its own port, refuses a wrong password, and stops
by its pid, leaving nothing running. The PostgreSQL store's tests build on it."""

import os
import socket
import subprocess

import pytest

import pgserver

pytestmark = pytest.mark.skipif(not pgserver.available(),
                                reason="PostgreSQL server binaries not installed")


def psql_tcp(srv, password, sql="SELECT current_user"):
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="5")
    return subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(srv.port), "-U",
                           pgserver.PG_USER, "-d", "postgres", "-A", "-t", "-X", "-c", sql],
                          env=env, capture_output=True, text=True, timeout=30)


def test_a_real_server_with_password_authentication():
    srv = pgserver.PgServer()
    try:
        p = psql_tcp(srv, pgserver.PG_PASSWORD)
        assert p.returncode == 0 and p.stdout.strip() == pgserver.PG_USER, p.stderr
        p = psql_tcp(srv, "wrong")
        assert p.returncode != 0 and "password authentication failed" in p.stderr
        srv.create_database("one")
        assert srv.psql("SELECT 42", "one").strip() == "42"
        pid = srv.proc.pid
    finally:
        srv.destroy()
    assert srv.proc.poll() is not None, "still running"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
    assert not os.path.exists(srv.dir)
    assert pid > 0

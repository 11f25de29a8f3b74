# SPDX-License-Identifier: MIT
"""A node whose database cannot be opened yet waits for it (database_wait) instead of dying:
it retries with backoff, logs each attempt, and its Admin API answers 503 (/status/ready
included) until the database opens; then it serves normally. Past database_wait it stops."""

import re
import sqlite3

import pytest
import requests

from harness import SLOW, wait_for
from rawhttp import one_request


def ready_status(t):
    try:
        return t.admin.get("/status/ready", timeout=2).status_code
    except requests.RequestException:
        return None


@pytest.mark.sqlite_file
def test_waits_for_database_directory(torii_factory, echo, tmp_path):
    later = tmp_path / "not-yet"
    t = torii_factory({"sqlite_path": str(later / "torii.db")}, start=False)
    t.start(wait=False)
    # Not ready while the directory is missing, and it says why, attempt after attempt.
    assert wait_for(lambda: ready_status(t) == 503, timeout=10), t.stderr_tail()
    r = t.admin.get("/apis")
    assert r.status_code == 503 and r.json() == {"message": "failed to connect to database"}
    assert wait_for(lambda: len(re.findall(r"attempt \d+, retrying", t.stderr_text())) >= 3,
                    timeout=10), t.stderr_tail()
    assert t.alive()
    later.mkdir()
    t.wait_ready()
    assert ready_status(t) == 200
    m = re.search(r"database '.*torii\.db' opened \(attempt (\d+)\)", t.stderr_text())
    assert m and int(m.group(1)) >= 2, t.stderr_tail()
    t.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    r = one_request(t.proxy_port, "GET", "/e/x")
    assert r.status == 200 and r.json()["target"] == "/e/x"


@pytest.mark.sqlite_file
def test_gives_up_after_database_wait(torii_factory, tmp_path):
    t = torii_factory({"sqlite_path": str(tmp_path / "never" / "torii.db"),
                       "database_wait": "1s"}, start=False)
    t.start(wait=False)
    rc = t.proc.wait(20 * SLOW)
    t.crash_reported = True  # exiting is the expected outcome here
    assert rc == 1
    err = t.stderr_text()
    assert "gave up after database_wait = 1000 ms" in err, err[-2000:]
    assert len(re.findall(r"attempt \d+, retrying", err)) >= 2, err[-2000:]


@pytest.mark.sqlite_file
def test_database_wait_zero_fails_at_once(torii_factory, tmp_path):
    t = torii_factory({"sqlite_path": str(tmp_path / "never" / "torii.db"),
                       "database_wait": "0"}, start=False)
    t.start(wait=False)
    rc = t.proc.wait(20 * SLOW)
    t.crash_reported = True  # exiting is the expected outcome here
    assert rc == 1
    err = t.stderr_text()
    assert "cannot open the database" in err and "retrying" not in err, err[-2000:]


@pytest.mark.sqlite_file
def test_waits_for_a_locked_database(torii_factory, tmp_path):
    db_path = tmp_path / "locked.db"
    holder = sqlite3.connect(str(db_path), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        t = torii_factory({"sqlite_path": str(db_path)}, start=False)
        t.start(wait=False)
        # The store's own busy timeout runs out first; then the node waits, answering 503.
        assert wait_for(lambda: "locked" in t.stderr_text() and "retrying" in t.stderr_text(),
                        timeout=20), t.stderr_tail()
        assert wait_for(lambda: ready_status(t) == 503, timeout=10), t.stderr_tail()
        assert t.alive()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    t.wait_ready()
    assert ready_status(t) == 200
    t.admin.add_consumer(username="after-the-lock")
    assert t.admin.get("/consumers/after-the-lock").status_code == 200

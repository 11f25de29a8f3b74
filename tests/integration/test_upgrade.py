# SPDX-License-Identifier: MIT
"""Binary upgrade (`torii upgrade`, SIGUSR2 to the master): the master execs the binary now at
its path as a new master on the same listening sockets; once the new one serves, the old one
drains and exits. Under load no request is lost, acknowledged admin writes stay, the pid file
names the new master, and `torii stop` stops it. A new master that cannot start leaves the old
one serving."""
import os
import signal
import subprocess
import threading
import time

import requests

from harness import SLOW, TORII_BIN, descendants, wait_for


def read_pid(torii):
    with open(os.path.join(str(torii.prefix), "torii.pid")) as f:
        return int(f.read().strip())


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cli(torii, *args, env=None):
    e = dict(os.environ, **torii.env())
    e.update(env or {})
    return subprocess.run([TORII_BIN] + list(args), env=e, capture_output=True, timeout=60,
                          text=True)


def test_upgrade_under_load_loses_no_request(torii, admin, echo):
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    url = "http://127.0.0.1:%d/e/x" % torii.proxy_port
    old_master = read_pid(torii)
    assert old_master == torii.proc.pid
    stop = threading.Event()
    results = {"ok": 0, "bad": []}
    lock = threading.Lock()

    def client():
        s = requests.Session()
        while not stop.is_set():
            try:
                r = s.get(url, timeout=5)
                with lock:
                    if r.status_code == 200:
                        results["ok"] += 1
                    else:
                        results["bad"].append(r.status_code)
            except requests.RequestException as e:
                with lock:
                    results["bad"].append(repr(e))
        s.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    new_master = None
    try:
        time.sleep(0.5)
        rc = cli(torii, "upgrade")
        assert rc.returncode == 0, rc.stdout + rc.stderr
        assert "upgraded" in rc.stdout
        new_master = read_pid(torii)
        time.sleep(0.5)
        # An admin write after the hand-over, and one from before, are both served.
        admin.add_api(name="after", upstream_url=echo.url, request_path="/after")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    try:
        assert results["bad"] == []
        assert results["ok"] > 50
        assert new_master != old_master and running(new_master)
        # The old master exited cleanly once its worker drained.
        assert torii.proc.wait(20 * SLOW) == 0
        torii.exits.append((0, "replaced by a binary upgrade"))
        assert admin.get("/apis/e").status_code == 200
        r = requests.get("http://127.0.0.1:%d/after/y" % torii.proxy_port, timeout=5)
        assert r.status_code == 200
        assert "binary upgrade: master %d replaces %d" % (new_master, old_master) in \
            torii.stderr_text()
    finally:
        if new_master and running(new_master):
            kids = descendants(new_master)
            rc = cli(torii, "stop")
            assert rc.returncode == 0, rc.stderr
            assert wait_for(lambda: not any(running(p) for p in [new_master] + kids),
                            timeout=20)
    assert not os.path.exists(os.path.join(str(torii.prefix), "torii.pid"))


def test_failed_upgrade_keeps_the_old_master(torii_factory, echo, tmp_path):
    conf = tmp_path / "torii.conf"
    conf.write_text("# valid at start\n")
    torii = torii_factory(config_file=conf)
    torii.admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    url = "http://127.0.0.1:%d/e/x" % torii.proxy_port
    # The new master re-reads the settings file; now it cannot start.
    conf.write_text("no_such_setting = 1\n")
    before = torii.stderr_size()
    os.kill(torii.proc.pid, signal.SIGUSR2)
    assert wait_for(lambda: "binary upgrade failed" in torii.stderr_text()[before:],
                    timeout=20)
    assert torii.alive()
    assert read_pid(torii) == torii.proc.pid
    assert requests.get(url, timeout=5).status_code == 200
    conf.write_text("# valid again for the stop\n")

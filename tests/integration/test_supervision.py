"""The master process: a worker process that dies is replaced at once on the same sockets, a
reload replaces the worker without losing a request, and a stop is graceful."""
import os
import signal
import subprocess
import threading
import time

import requests

from harness import SLOW, TORII_BIN, descendants, wait_for


def worker_pids(torii):
    return [p for p in descendants(torii.proc.pid) if p != torii.proc.pid]


def test_killed_worker_is_replaced_within_a_second(torii, admin, echo):
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    url = "http://127.0.0.1:%d/e/x" % torii.proxy_port
    assert requests.get(url, timeout=5).status_code == 200
    workers = worker_pids(torii)
    assert len(workers) == 1, workers
    os.kill(workers[0], signal.SIGKILL)
    t0 = time.monotonic()

    def serving():
        try:
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    assert wait_for(serving, timeout=5, step=0.01)
    assert time.monotonic() - t0 < 1.0 * SLOW
    # The master itself never went away, and the acknowledged write is still there.
    assert torii.alive()
    assert admin.get("/apis/e").status_code == 200
    assert worker_pids(torii) and worker_pids(torii)[0] != workers[0]


def test_reload_under_load_loses_no_request(torii, admin, echo):
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    url = "http://127.0.0.1:%d/e/x" % torii.proxy_port
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
            except requests.RequestException as e:  # a lost request
                with lock:
                    results["bad"].append(repr(e))
        s.close()

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(0.5)
        old = worker_pids(torii)
        for _ in range(2):
            rc = subprocess.run([TORII_BIN, "reload"], env=dict(os.environ, **torii.env()),
                                capture_output=True, timeout=30)
            assert rc.returncode == 0, rc.stderr
            time.sleep(1.0 * SLOW)
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert results["bad"] == []
    assert results["ok"] > 50
    new = wait_for(lambda: [p for p in worker_pids(torii) if p not in old], timeout=10)
    assert new, "the worker process was not replaced"


def test_stop_signal_drains_and_exits_zero(torii, admin, echo):
    admin.add_api(name="e", upstream_url=echo.url, request_path="/e")
    assert requests.get("http://127.0.0.1:%d/e/x" % torii.proxy_port, timeout=5).ok
    workers = worker_pids(torii)
    torii.stop()
    assert torii.exits[-1][0] == 0
    for p in workers:
        assert wait_for(lambda: not os.path.exists("/proc/%d" % p), timeout=5)


def test_status_ready(torii, admin):
    r = admin.get("/status/ready")
    assert r.status_code == 200, r.text
    assert r.json() == {"message": "ready"}


def test_node_id_is_kept_under_the_prefix(torii_factory):
    """GET /'s node_id is the node's, not the process's: the same after a reload (a new worker
    process) and a restart, kept in <prefix>/node.id; another prefix is another node."""
    t = torii_factory()
    first = t.admin.get("/").json()["node_id"]
    assert (t.prefix / "node.id").read_text().strip() == first
    pids = worker_pids(t)
    t.reload()
    assert wait_for(lambda: worker_pids(t) and worker_pids(t) != pids, 10)
    assert wait_for(lambda: t.admin.get("/").json()["node_id"] == first, 10)
    t.restart()
    assert t.admin.get("/").json()["node_id"] == first
    other = torii_factory()
    assert other.admin.get("/").json()["node_id"] != first


def test_admin_keepalive_connection_is_answered_during_a_drain(torii):
    """A reload drains the old worker's Admin API as its proxy: a client that sends another
    request on its keep-alive connection within drain_idle_grace is answered (with
    Connection: close), not cut."""
    from rawhttp import RawConn
    c = RawConn(torii.admin_port)
    host = "127.0.0.1:%d" % torii.admin_port
    try:
        r = c.request("GET", "/status", host)
        assert r.status == 200 and (r.header("connection") or "").lower() != "close"
        before = torii.stderr_text().count("stopping: draining")
        torii.reload()
        assert wait_for(lambda: torii.stderr_text().count("stopping: draining") > before, 10)
        r = c.request("GET", "/status", host)
        assert r.status == 200
        assert (r.header("connection") or "").lower() == "close"
    finally:
        c.close()

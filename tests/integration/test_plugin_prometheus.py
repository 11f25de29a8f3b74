# SPDX-License-Identifier: MIT
"""The prometheus plugin and GET /metrics, ported from Kong 3.9's spec/03-plugins/26-prometheus/
(01-api_spec.lua, 02-access_spec.lua, 04-status_api_spec.lua, 05-metrics_spec.lua,
07-optional_fields_spec.lua): Kong's metric names, labels and buckets; status codes by source
(service or kong); per-consumer labels; each config flag shows only its own family; the Status
API (status_listen) serves /status, /status/ready and /metrics and nothing else; target health
in four states; counts are exact with several worker threads; a real Prometheus server scrapes
the node and its query API returns the counts; promtool accepts the text."""

import json
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest
import requests

from dnsserver import DNSServer
from harness import Torii, finish_torii, free_port, wait_for
from upstreams import UpstreamServer, _response

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
FULL = {"status_code_metrics": True, "latency_metrics": True, "bandwidth_metrics": True,
        "upstream_health_metrics": True}
NO_PROXY = {"http": None, "https": None}


def status_behaviour():
    """Keep-alive upstream answering /status/<code> with that code (Kong's mock upstream)."""

    def run(conn):
        while not conn.stopped():
            req = conn.read_request()
            if req is None:
                return
            m = re.match(r"/status/(\d{3})", req.target)
            code = int(m.group(1)) if m else 200
            body = b'{"ok":true}'
            hdrs = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
            if not conn.send(_response(code, "Status", hdrs, body)):
                return
    return run


def ok(r, status=200):
    assert r.status_code == status, r.text
    return r.json() if r.content and "json" in r.headers.get("Content-Type", "") else r


def metrics(t, port=None):
    r = requests.get("http://127.0.0.1:%d/metrics" % (port or t.admin_port), timeout=5,
                     proxies=NO_PROXY)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "text/plain; charset=UTF-8"
    return r.text


def proxy(t, path, host=None, headers=None):
    h = dict(headers or {})
    if host:
        h["Host"] = host
    return requests.get("http://127.0.0.1:%d%s" % (t.proxy_port, path), headers=h, timeout=5,
                        proxies=NO_PROXY)


def wait_metric(t, line, port=None, timeout=5):
    assert wait_for(lambda: line in metrics(t, port), timeout=timeout), metrics(t, port)


@pytest.fixture(scope="module")
def mock():
    s = UpstreamServer(status_behaviour(), "mock")
    yield s
    s.stop()


def kong3_service(admin, name, url, route, **route_fields):
    s = ok(admin.post("/services", json={"name": name, "url": url}), 201)
    r = dict(route_fields)
    r.setdefault("paths", ["/"])
    if route is not None:
        r["name"] = route
    return s, ok(admin.post("/services/%s/routes" % s["id"], json=r), 201)


# ---- 01-api_spec.lua ---------------------------------------------------------------------

def test_prometheus_plugin_can_be_configured(torii):
    """01-api_spec: POST /plugins {"name":"prometheus"} is 201 with Kong's defaults."""
    p = ok(torii.admin.post("/plugins", json={"name": "prometheus"}), 201)
    assert p["config"] == {"per_consumer": False, "status_code_metrics": False,
                           "ai_metrics": False, "latency_metrics": False,
                           "bandwidth_metrics": False, "upstream_health_metrics": False}


def test_bad_config_is_refused_naming_the_field(torii):
    r = torii.admin.post("/plugins", json={"name": "prometheus",
                                           "config": {"per_consumer": "maybe"}})
    assert r.status_code == 400
    assert "config.per_consumer" in json.dumps(r.json())
    r = torii.admin.post("/plugins", json={"name": "prometheus", "config": {"nope": True}})
    assert r.status_code == 400 and "config.nope" in json.dumps(r.json())


# ---- 02-access_spec.lua ------------------------------------------------------------------

@pytest.fixture(scope="module")
def access(tmp_path_factory, mock):
    t = Torii(tmp_path_factory.mktemp("prom-access"))
    t.start()
    a = t.admin
    kong3_service(a, "mock-service", mock.url, "http-route", methods=["GET"])
    ok(a.post("/plugins", json={"name": "prometheus", "config": FULL}), 201)
    yield t
    finish_torii(t)


def test_increments_the_count_for_proxied_requests(access):
    assert proxy(access, "/status/200", "127.0.0.1").status_code == 200
    wait_metric(access, 'kong_http_requests_total{service="mock-service",route="http-route",'
                        'code="200",source="service",workspace="default",consumer=""} 1')
    assert "kong_nginx_metric_errors_total 0" in metrics(access)
    assert proxy(access, "/status/400", "127.0.0.1").status_code == 400
    wait_metric(access, 'kong_http_requests_total{service="mock-service",route="http-route",'
                        'code="400",source="service",workspace="default",consumer=""} 1')
    body = metrics(access)
    for fam in ("kong_kong_latency_ms", "kong_upstream_latency_ms", "kong_request_latency_ms"):
        assert re.search(r'%s_bucket\{service="mock-service",route="http-route",'
                         r'workspace="default",le="\+Inf"\} +\d' % fam, body), fam
    for d in ("ingress", "egress"):
        assert re.search(r'kong_bandwidth_bytes\{service="mock-service",route="http-route",'
                         r'direction="%s",workspace="default",consumer=""\} \d+' % d, body)


def test_no_route_match_records_nothing_and_logs_no_error(access):
    r = requests.post("http://127.0.0.1:%d/no-route-match-in-kong" % access.proxy_port,
                      timeout=5, proxies=NO_PROXY)
    assert r.status_code == 404
    body = metrics(access)
    assert "no-route-match" not in body
    assert "[error]" not in access.stderr_tail() and " error " not in access.stderr_tail()


def test_scrape_has_metrics_and_comments_only(access):
    body = metrics(access)
    assert body.endswith("\n")
    for line in body.splitlines():
        assert line[:1] in "#k" and (line.startswith("# ") or line.startswith("kong_")), line
    assert "kong_nginx_metric_errors_total 0" in body


def test_exposes_db_reachability_node_info_and_memory(access):
    body = metrics(access)
    assert "kong_datastore_reachable 1\n" in body
    assert re.search(r'kong_node_info\{node_id="%s",version="\S+"\} 1\n' % UUID, body)
    assert re.search(r'kong_memory_workers_lua_vms_bytes\{node_id="%s",pid="\d+",'
                     r'kong_subsystem="http"\} \d+' % UUID, body)
    assert re.search(r'kong_memory_lua_shared_dict_total_bytes\{node_id="%s",'
                     r'shared_dict="prometheus_metrics",kong_subsystem="http"\} \d+' % UUID, body)
    for state in ("accepted", "active", "handled", "reading", "total", "waiting", "writing"):
        assert re.search(r'kong_nginx_connections_total\{node_id="%s",subsystem="http",'
                         r'state="%s"\} \d+' % (UUID, state), body), state
    assert re.search(r'kong_nginx_timers\{state="running"\} \d+', body)
    assert re.search(r'kong_nginx_timers\{state="pending"\} \d+', body)
    # the node id is the one GET / shows
    assert access.admin.get("/").json()["node_id"] in body


def test_does_not_expose_per_consumer_metrics_by_default(access):
    assert "http_consumer_status" not in metrics(access)


def test_histogram_layout_is_kongs(access):
    """Buckets of every series, then every _count, then every _sum; a bucket nothing fell
    into is left out; le printed plain; HELP and TYPE once, before the first bucket."""
    body = metrics(access)
    lines = [ln for ln in body.splitlines() if ln.startswith("kong_request_latency_ms")]
    kinds = [re.match(r"kong_request_latency_ms_(bucket|count|sum)", ln).group(1) for ln in lines]
    assert kinds == sorted(kinds, key=["bucket", "count", "sum"].index)
    les = [re.search(r'le="([^"]+)"', ln).group(1) for ln in lines if "_bucket" in ln]
    assert les[-1] == "+Inf"
    allowed = ["25", "50", "80", "100", "250", "400", "700", "1000", "2000", "5000", "10000",
               "30000", "60000", "+Inf"]
    assert les == allowed[allowed.index(les[0]):]
    assert body.count("# TYPE kong_request_latency_ms histogram\n") == 1
    i = body.index("# HELP kong_request_latency_ms ")
    assert body[i:].split("\n")[2].startswith("kong_request_latency_ms_bucket{")


def test_counts_are_exact_across_worker_threads(access):
    """Counted per worker thread without locks and summed at scrape: 400 requests from 8
    client threads over 2 workers give exactly 400."""
    errors = []

    def client():
        s = requests.Session()
        for _ in range(50):
            try:
                r = s.get("http://127.0.0.1:%d/status/201" % access.proxy_port, timeout=5,
                          proxies=NO_PROXY)
                if r.status_code != 201:
                    errors.append(r.status_code)
            except requests.RequestException as e:
                errors.append(str(e))
    threads = [threading.Thread(target=client) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    wait_metric(access, 'kong_http_requests_total{service="mock-service",route="http-route",'
                        'code="201",source="service",workspace="default",consumer=""} 400')
    body = metrics(access)
    count = re.search(r'kong_request_latency_ms_count\{service="mock-service",'
                      r'route="http-route",workspace="default"\} (\d+)', body)
    codes = re.findall(r'kong_http_requests_total\{service="mock-service",route="http-route",'
                       r'code="\d+",source="service",workspace="default",consumer=""\} (\d+)',
                       body)
    assert int(count.group(1)) == sum(int(c) for c in codes)


# ---- 02-access_spec.lua: per-consumer metrics --------------------------------------------

def test_per_consumer_metrics(torii_factory, mock):
    t = torii_factory()
    a = t.admin
    _, route = kong3_service(a, "mock-service", mock.url, "http-route", methods=["GET"])
    ok(a.post("/plugins", json={"name": "prometheus",
                                "config": dict(FULL, per_consumer=True)}), 201)
    ok(a.post("/routes/%s/plugins" % route["id"], json={"name": "key-auth"}), 201)
    ok(a.post("/consumers", json={"username": "alice"}), 201)
    ok(a.post("/consumers/alice/key-auth", json={"key": "alice-key"}), 201)
    assert proxy(t, "/status/200", headers={"apikey": "alice-key"}).status_code == 200
    wait_metric(t, 'kong_http_requests_total{service="mock-service",route="http-route",'
                   'code="200",source="service",workspace="default",consumer="alice"} 1')
    assert proxy(t, "/status/400", headers={"apikey": "alice-key"}).status_code == 400
    wait_metric(t, 'kong_http_requests_total{service="mock-service",route="http-route",'
                   'code="400",source="service",workspace="default",consumer="alice"} 1')
    # behave correctly if consumer is not found: key-auth's 401 is counted, source kong
    assert proxy(t, "/status/200").status_code == 401
    wait_metric(t, 'kong_http_requests_total{service="mock-service",route="http-route",'
                   'code="401",source="kong",workspace="default",consumer=""} 1')
    body = metrics(t)
    assert ('kong_http_requests_total{service="mock-service",route="http-route",code="200",'
            'source="service",workspace="default",consumer="alice"} 1') in body
    assert re.search(r'kong_bandwidth_bytes\{service="mock-service",route="http-route",'
                     r'direction="egress",workspace="default",consumer="alice"\} \d+', body)
    assert "kong_nginx_metric_errors_total 0" in body


# ---- 02-access_spec.lua / 04-status_api_spec.lua: granular metrics switch -----------------

SWITCHES = {"status_code_metrics": "http_requests_total", "latency_metrics": "kong_latency_ms",
            "bandwidth_metrics": "bandwidth_bytes",
            "upstream_health_metrics": "upstream_target_health"}


@pytest.mark.parametrize("switch", sorted(SWITCHES))
def test_granular_metrics_switch(torii_factory, mock, switch):
    t = torii_factory(settings={"worker_threads": "1"})
    a = t.admin
    ok(a.post("/upstreams", json={"name": "mock-upstream-healthchecksoff"}), 201)
    ok(a.post("/upstreams/mock-upstream-healthchecksoff/targets",
              json={"target": "127.0.0.1:%d" % mock.port, "weight": 1000}), 201)
    kong3_service(a, "mock-service", mock.url, "http-route")
    ok(a.post("/plugins", json={"name": "prometheus", "config": {switch: True}}), 201)
    assert proxy(t, "/status/200", "127.0.0.1").status_code == 200
    wait_metric(t, SWITCHES[switch])
    body = metrics(t)
    assert "kong_nginx_metric_errors_total 0" in body
    for other, name in SWITCHES.items():
        if other != switch:
            assert name not in body, other


# ---- 04-status_api_spec.lua --------------------------------------------------------------

@pytest.fixture(scope="module")
def status_node(tmp_path_factory, mock):
    dns = DNSServer()
    status_port = free_port()
    closed = free_port()
    t = Torii(tmp_path_factory.mktemp("prom-status"),
              {"status_listen": "127.0.0.1:%d" % status_port, "worker_threads": "1",
               "dns_resolver": dns.address, "dns_hostsfile": "", "dns_not_found_ttl": "1",
               "dns_error_ttl": "1", "admin_token": "status-api-test-token-0123"})
    t.admin.s.headers["Authorization"] = "Bearer status-api-test-token-0123"
    t.start()
    a = t.admin
    ok(a.post("/upstreams", json={"name": "mock-upstream-healthchecksoff"}), 201)
    ok(a.post("/upstreams/mock-upstream-healthchecksoff/targets",
              json={"target": "127.0.0.1:%d" % mock.port, "weight": 1000}), 201)
    checks = {"active": {"type": "http", "http_path": "/status/200", "timeout": 1,
                         "concurrency": 10,
                         "healthy": {"interval": 0.1, "successes": 2,
                                     "http_statuses": [200, 302]},
                         "unhealthy": {"interval": 0.1, "http_failures": 1, "tcp_failures": 1,
                                       "timeouts": 1,
                                       "http_statuses": [429, 404, 500, 501, 502, 503, 504,
                                                         505]}}}
    ok(a.post("/upstreams", json={"name": "mock-upstream", "healthchecks": checks}), 201)
    for target, weight in (("127.0.0.1:%d" % mock.port, 1000), ("127.0.0.1:%d" % closed, 1),
                           ("some-random-dns:80", 1)):
        ok(a.post("/upstreams/mock-upstream/targets",
                  json={"target": target, "weight": weight}), 201)
    s = ok(a.post("/services", json={"name": "mock-service", "host": "mock-upstream",
                                     "port": mock.port}), 201)
    ok(a.post("/services/%s/routes" % s["id"],
              json={"name": "http-route", "paths": ["/"], "methods": ["GET"]}), 201)
    ok(a.post("/plugins", json={"name": "prometheus", "config": FULL}), 201)
    t.status_port = status_port
    t.closed_port = closed
    yield t
    finish_torii(t)
    dns.stop()


def health_line(upstream, target, address, state, value):
    return ('kong_upstream_target_health{upstream="%s",target="%s",address="%s",state="%s",'
            'subsystem="http"} %d\n' % (upstream, target, address, state, value))


def assert_health(t, upstream, target, address, state):
    def right():
        body = metrics(t, t.status_port)
        return all(health_line(upstream, target, address, s, 1 if s == state else 0) in body
                   for s in ("healthchecks_off", "healthy", "unhealthy", "dns_error"))
    assert wait_for(right, timeout=10), metrics(t, t.status_port)


def test_status_api_serves_the_requests(status_node, mock):
    t = status_node
    assert wait_for(lambda: proxy(t, "/status/200").status_code == 200, timeout=10)
    wait_metric(t, 'kong_http_requests_total{service="mock-service",route="http-route",'
                   'code="200",source="service",workspace="default",consumer=""}',
                port=t.status_port)
    body = metrics(t, t.status_port)
    assert "kong_datastore_reachable 1\n" in body
    assert re.search(r'kong_node_info\{node_id="%s",version="\S+"\} 1' % UUID, body)
    assert "kong_nginx_metric_errors_total 0" in body


def test_status_api_health_states(status_node, mock):
    t = status_node
    mine = "127.0.0.1:%d" % mock.port
    closed = "127.0.0.1:%d" % t.closed_port
    assert_health(t, "mock-upstream-healthchecksoff", mine, mine, "healthchecks_off")
    assert_health(t, "mock-upstream", mine, mine, "healthy")
    assert_health(t, "mock-upstream", closed, closed, "unhealthy")
    assert_health(t, "mock-upstream", "some-random-dns:80", "", "dns_error")


def test_status_api_only_serves_status_and_metrics(status_node):
    """The Status API answers GET /status, /status/ready and /metrics without the admin
    token; every other path is 404 there, and writes are refused."""
    base = "http://127.0.0.1:%d" % status_node.status_port
    r = requests.get(base + "/status", timeout=5, proxies=NO_PROXY)
    assert r.status_code == 200 and r.json()["database"]["reachable"] is True
    assert "server" in r.json()
    assert requests.get(base + "/status/ready", timeout=5, proxies=NO_PROXY).status_code == 200
    for path in ("/", "/services", "/plugins", "/consumers", "/config"):
        r = requests.get(base + path, timeout=5, proxies=NO_PROXY)
        assert r.status_code == 404 and r.json() == {"message": "Not found"}, path
    r = requests.post(base + "/services", json={"name": "x", "url": "http://127.0.0.1:1"},
                      timeout=5, proxies=NO_PROXY)
    assert r.status_code == 404
    r = requests.post(base + "/metrics", timeout=5, proxies=NO_PROXY)
    assert r.status_code == 405
    # the Admin API still wants its token
    r = requests.get("http://127.0.0.1:%d/metrics" % status_node.admin_port, timeout=5,
                     proxies=NO_PROXY)
    assert r.status_code == 401


def test_deleted_upstream_and_target_leave_the_metrics(status_node, mock):
    t = status_node
    a = t.admin
    assert_health(t, "mock-upstream", "some-random-dns:80", "", "dns_error")
    assert a.delete("/upstreams/mock-upstream-healthchecksoff").status_code == 204
    assert wait_for(lambda: 'kong_upstream_target_health{upstream="mock-upstream-healthchecksoff"'
                    not in metrics(t, t.status_port), timeout=15)
    assert a.delete("/upstreams/mock-upstream/targets/some-random-dns:80").status_code == 204
    assert wait_for(lambda: 'kong_upstream_target_health{upstream="mock-upstream",'
                    'target="some-random-dns:80"' not in metrics(t, t.status_port), timeout=15)


# ---- 05-metrics_spec.lua: a route without a service ---------------------------------------

def test_route_without_service_is_counted(torii_factory):
    t = torii_factory()
    a = t.admin
    ok(a.post("/routes", json={"name": "serverless", "hosts": ["status.example.com"],
                               "paths": ["/serverless"]}), 201)
    ok(a.post("/routes/serverless/plugins",
              json={"name": "request-termination",
                    "config": {"status_code": 200,
                               "message": "request terminated by request-termination plugin"}}),
       201)
    ok(a.post("/plugins", json={"name": "prometheus", "config": FULL}), 201)
    assert proxy(t, "/serverless", "status.example.com").status_code == 200
    wait_metric(t, 'kong_http_requests_total{service="",route="serverless",code="200",'
                   'source="kong",workspace="default",consumer=""} 1')


# ---- 07-optional_fields_spec.lua ---------------------------------------------------------

HIGH_COST = ("kong_http_requests_total", "kong_kong_latency_ms", "kong_upstream_latency_ms",
             "kong_request_latency_ms", "kong_bandwidth_bytes")


@pytest.mark.parametrize("how", ["disabling", "removing"])
def test_optional_fields_and_plugin_going_away(torii_factory, mock, how):
    """A service without a name is labelled with its host, a route without one with its id;
    once the plugin is disabled or removed, the request metrics leave the scrape and the
    node's own stay."""
    t = torii_factory()
    a = t.admin
    ok(a.post("/upstreams", json={"name": "mock_upstream", "algorithm": "least-connections"}),
       201)
    ok(a.post("/upstreams/mock_upstream/targets",
              json={"target": "127.0.0.1:%d" % mock.port, "weight": 100}), 201)
    s = ok(a.post("/services", json={"host": "mock_upstream", "port": mock.port}), 201)
    r = ok(a.post("/services/%s/routes" % s["id"], json={"hosts": ["mock"], "paths": ["/"]}),
           201)
    p = ok(a.post("/plugins", json={"name": "prometheus", "config": FULL}), 201)
    assert proxy(t, "/", "mock").status_code == 200
    wait_metric(t, 'kong_http_requests_total{service="mock_upstream",route="%s",code="200",'
                   'source="service",workspace="default",consumer=""} 1' % r["id"])
    body = metrics(t)
    for name in HIGH_COST + ("kong_memory_lua_shared_dict_bytes",):
        assert name in body
    if how == "disabling":
        ok(a.patch("/plugins/" + p["id"], json={"enabled": False}))
    else:
        assert a.delete("/plugins/" + p["id"]).status_code == 204

    def gone():
        b = metrics(t)
        return all(n not in b for n in HIGH_COST) and "kong_nginx_metric_errors_total" not in b
    assert wait_for(gone, timeout=5), metrics(t)
    body = metrics(t)
    assert "kong_memory_lua_shared_dict_bytes" in body
    for state in ("accepted", "active", "handled", "reading", "total", "waiting", "writing"):
        assert re.search(r'kong_nginx_connections_total\{node_id="%s",subsystem="http",'
                         r'state="%s"\} \d+' % (UUID, state), body)


def test_metrics_is_404_when_the_plugin_is_not_loaded(torii_factory):
    t = torii_factory(settings={"plugins": "key-auth"})
    r = t.admin.get("/metrics")
    assert r.status_code == 404 and r.json() == {"message": "Not found"}


# ---- a real Prometheus server and promtool -----------------------------------------------

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian package prometheus) missing")
def test_promtool_accepts_the_text(access):
    proxy(access, "/status/200")
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=metrics(access).encode(),
                       capture_output=True, timeout=30)
    # promtool's lint warns about names (Kong's, kept for dashboards); it must not fail to parse
    assert b"error while linting" not in p.stderr and b"parse" not in p.stderr.lower(), p.stderr


@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus (Debian package) missing")
def test_a_prometheus_server_scrapes_the_counts(tmp_path, access):
    for _ in range(7):
        assert proxy(access, "/status/202", "127.0.0.1").status_code == 202
    port = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: torii\n    scrape_interval: 1s\n"
        "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % access.admin_port)
    log = open(tmp_path / "prometheus.log", "wb")
    proc = subprocess.Popen([PROMETHEUS, "--config.file=%s" % conf,
                             "--storage.tsdb.path=%s" % (tmp_path / "data"),
                             "--web.listen-address=127.0.0.1:%d" % port],
                            stdout=log, stderr=subprocess.STDOUT, cwd=str(tmp_path))
    try:
        q = ('kong_http_requests_total{service="mock-service",route="http-route",code="202",'
             'source="service"}')
        url = "http://127.0.0.1:%d/api/v1/query?query=%s" % (port, urllib.parse.quote(q))
        got = []

        def scraped():
            try:
                r = requests.get(url, timeout=2, proxies=NO_PROXY).json()
            except (requests.RequestException, ValueError):
                return False
            got[:] = r.get("data", {}).get("result", [])
            return len(got) == 1
        assert wait_for(scraped, timeout=30), (tmp_path / "prometheus.log").read_text()[-2000:]
        assert got[0]["value"][1] == "7"
        assert got[0]["metric"]["workspace"] == "default"
        up = "http://127.0.0.1:%d/api/v1/query?query=up" % port
        assert requests.get(up, timeout=2, proxies=NO_PROXY).json()["data"]["result"][0][
            "value"][1] == "1"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()

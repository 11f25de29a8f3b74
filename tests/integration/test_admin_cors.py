# SPDX-License-Identifier: MIT
"""The Admin API and browsers (P11): CORS headers only for the Admin API's own origin and the
origins listed in admin_gui_origins, echoed exactly with Vary; preflights from other origins
refused; cross-origin writes refused; localhost, 127.0.0.1 and [::1] as one host; scheme and
port must match; `Origin: null` never allowed; the DNS-rebinding Host check unchanged; a bad
admin_gui_origins stops start-up naming the key."""

import pytest

from harness import Torii, finish_torii, start_must_fail
from rawhttp import RawConn

LISTED = "http://localhost:8002, http://127.0.0.1:8003, http://[::1]:8004, " \
         "https://console.example.com"
EVIL = "http://evil.test"
TOKEN = "c2VjcmV0LWFkbWluLXRva2VuLTAxMjM0NQ=="
CROSS_WRITE = {"message": "Cross-origin writes to the Admin API are not allowed"}
CROSS_PREFLIGHT = {"message": "Cross-origin requests to the Admin API are not allowed"}


def cors_headers(r):
    """Every Access-Control-* header of a requests response, lower-cased names."""
    return {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def vary(r):
    return [v.strip().lower() for v in r.headers.get("Vary", "").split(",") if v.strip()]


def assert_no_cors(r):
    assert cors_headers(r) == {}, (r.status_code, dict(r.headers))
    assert "origin" not in vary(r), dict(r.headers)


def assert_cors_for(r, origin):
    """An allowed origin's answer: its origin echoed exactly, Vary: Origin, no credentials."""
    assert r.headers.get("Access-Control-Allow-Origin") == origin, dict(r.headers)
    assert "origin" in vary(r), dict(r.headers)
    assert "Access-Control-Allow-Credentials" not in r.headers, dict(r.headers)


def preflight(admin, origin, method="POST", path="/consumers", req_headers=None, **kw):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    if req_headers is not None:
        h["Access-Control-Request-Headers"] = req_headers
    h.update(kw.pop("headers", {}))
    return admin.request("OPTIONS", path, headers=h, **kw)


def consumer_count(admin):
    r = admin.get("/consumers")
    assert r.status_code == 200, r.text
    return r.json()["total"]


def start_node(tmp_path_factory, request, name, settings=None):
    t = Torii(tmp_path_factory.mktemp(name), settings)
    try:
        t.start()
    except Exception:
        finish_torii(t)
        raise
    request.addfinalizer(lambda: _finish(t))
    return t


def _finish(t):
    problems = finish_torii(t)
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def plain(tmp_path_factory, request):
    """A node with the default settings (no admin_gui_origins), with consumer `alice` holding
    an OAuth2 application (its client secret is what a hostile page wants)."""
    t = start_node(tmp_path_factory, request, "plain")
    a = t.admin
    assert a.post("/consumers", data={"username": "alice"}).status_code == 201
    r = a.post("/consumers/alice/oauth2",
               data={"name": "app", "redirect_uri": "https://app.test/cb"})
    assert r.status_code == 201, r.text
    return t


@pytest.fixture(scope="module")
def listed(tmp_path_factory, request):
    """A node with admin_gui_origins set."""
    return start_node(tmp_path_factory, request, "listed", {"admin_gui_origins": LISTED})


@pytest.fixture(scope="module")
def tokened(tmp_path_factory, request):
    """A node with admin_token and admin_gui_origins set."""
    return start_node(tmp_path_factory, request, "tokened",
                      {"admin_gui_origins": LISTED, "admin_token": TOKEN})


# ---------------------------------------------------------------------------------------------
# No Origin: scripts and curl see no CORS headers at all (the old `*` is gone).

@pytest.mark.parametrize("method,path,data,status", [
    ("GET", "/", None, 200),
    ("GET", "/consumers", None, 200),
    ("HEAD", "/consumers", None, 200),
    ("GET", "/status", None, 200),
    ("GET", "/robots.txt", None, 200),
    ("POST", "/consumers", {"username": "no-origin-user"}, 201),
    ("POST", "/consumers", {"username": ""}, 400),
    ("POST", "/consumers", {"username": "alice"}, 409),
    ("GET", "/no/such/thing", None, 404),
    ("DELETE", "/", None, 405),
    ("OPTIONS", "/consumers", None, 204),
])
def test_no_origin_no_cors_headers(plain, method, path, data, status):
    r = plain.admin.request(method, path, data=data)
    assert r.status_code == status, (r.status_code, r.text)
    assert_no_cors(r)


def test_no_origin_options_lists_methods(plain):
    r = plain.admin.request("OPTIONS", "/consumers")
    assert r.status_code == 204
    assert "PATCH" in r.headers.get("Allow", ""), dict(r.headers)
    assert_no_cors(r)
    # Access-Control-Request-Method without Origin is not a preflight either.
    r = plain.admin.request("OPTIONS", "/consumers",
                            headers={"Access-Control-Request-Method": "POST"})
    assert r.status_code == 204 and "PATCH" in r.headers.get("Allow", "")
    assert_no_cors(r)


@pytest.mark.parametrize("method", ["GET", "POST", "OPTIONS"])
def test_no_origin_401_no_cors_headers(tokened, method):
    r = tokened.admin.request(method, "/consumers", data={"username": "x"})
    assert r.status_code == 401, r.text
    assert_no_cors(r)
    r = tokened.admin.get("/consumers", headers={"Authorization": "Bearer " + TOKEN})
    assert r.status_code == 200
    assert_no_cors(r)


# ---------------------------------------------------------------------------------------------
# Another page's origin.

@pytest.mark.parametrize("path,status", [("/", 200), ("/consumers", 200),
                                         ("/consumers/alice/oauth2", 200), ("/oauth2", 200),
                                         ("/no/such/thing", 404)])
def test_evil_origin_get_has_no_cors_headers(plain, path, status):
    r = plain.admin.get(path, headers={"Origin": EVIL})
    assert r.status_code == status, r.text
    assert_no_cors(r)


def test_evil_origin_cannot_read_oauth2_secret(plain):
    """The secret is in the answer, but without Access-Control-Allow-Origin a browser never
    hands it to the page."""
    r = plain.admin.get("/consumers/alice/oauth2", headers={"Origin": EVIL})
    assert r.status_code == 200
    assert r.json()["data"], r.text
    assert "Access-Control-Allow-Origin" not in r.headers, dict(r.headers)
    assert_no_cors(r)


@pytest.mark.parametrize("method,path,data", [
    ("POST", "/consumers", {"username": "evil-user"}),
    ("PUT", "/consumers", {"username": "evil-user"}),
    ("PATCH", "/consumers/alice", {"custom_id": "evil"}),
    ("DELETE", "/consumers/alice", None),
    ("POST", "/consumers/alice/oauth2", {"name": "evil", "redirect_uri": "https://e.test/"}),
])
@pytest.mark.parametrize("origin", [EVIL, "https://evil.test:8443", "null"])
def test_evil_origin_writes_refused(plain, method, path, data, origin):
    a = plain.admin
    before = a.get("/consumers/alice").json(), a.get("/consumers/alice/oauth2").json()
    total = consumer_count(a)
    r = a.request(method, path, data=data, headers={"Origin": origin})
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.json() == CROSS_WRITE
    assert_no_cors(r)
    assert consumer_count(a) == total
    assert (a.get("/consumers/alice").json(), a.get("/consumers/alice/oauth2").json()) == before


@pytest.mark.parametrize("origin", [EVIL, "null", "http://evil.test:8001", "not an origin"])
@pytest.mark.parametrize("req_headers", [None, "content-type", "authorization, content-type"])
def test_evil_preflight_refused(plain, origin, req_headers):
    r = preflight(plain.admin, origin, req_headers=req_headers)
    assert r.status_code == 403, (r.status_code, r.text)
    assert r.json() == CROSS_PREFLIGHT
    assert_no_cors(r)


def test_evil_preflight_refused_before_the_token(tokened):
    r = preflight(tokened.admin, EVIL, method="DELETE", path="/consumers/alice")
    assert r.status_code == 403
    assert_no_cors(r)


# ---------------------------------------------------------------------------------------------
# Listed origins.

ALLOWED_VARIANTS = [
    # listed as http://localhost:8002
    "http://localhost:8002", "http://127.0.0.1:8002", "http://[::1]:8002",
    "http://LocalHost:8002",
    # listed as http://127.0.0.1:8003
    "http://127.0.0.1:8003", "http://localhost:8003", "http://[::1]:8003",
    # listed as http://[::1]:8004
    "http://[::1]:8004", "http://localhost:8004", "http://127.0.0.1:8004",
    "http://[0:0:0:0:0:0:0:1]:8004",
    # listed as https://console.example.com
    "https://console.example.com", "https://Console.Example.COM",
    "https://console.example.com:443",
]

REFUSED_VARIANTS = [
    "http://localhost:8005",          # port
    "http://localhost",               # absent port means 80
    "https://localhost:8002",         # scheme
    "http://console.example.com",     # scheme
    "https://console.example.com:8443",
    "https://console.example.com.evil.test",
    "https://evil.console.example.com",
    "http://127.0.0.2:8002",          # not one of the loopback names
    "http://localhost:8002/",         # not an origin
    "http://localhost:8002, http://evil.test",
    "null",
    EVIL,
]


@pytest.mark.parametrize("origin", ALLOWED_VARIANTS)
def test_listed_origin_get_echoes_origin(listed, origin):
    r = listed.admin.get("/consumers", headers={"Origin": origin})
    assert r.status_code == 200
    assert_cors_for(r, origin)


@pytest.mark.parametrize("origin", ALLOWED_VARIANTS)
def test_listed_origin_preflight(listed, origin):
    r = preflight(listed.admin, origin, method="PATCH", req_headers="content-type,authorization")
    assert r.status_code == 204, (r.status_code, r.text)
    assert_cors_for(r, origin)
    methods = [m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")]
    assert {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} <= set(methods)
    assert r.headers["Access-Control-Allow-Headers"] == "content-type,authorization"
    assert r.headers["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize("req_headers,allowed", [
    (None, "Content-Type, Authorization"),
    ("X-Requested-With", "X-Requested-With"),
    ("content-type, x-a_b, authorization", "content-type, x-a_b, authorization"),
    ("a b", "Content-Type, Authorization"),
    ("content-type, \"quoted\"", "Content-Type, Authorization"),
    ("a/b", "Content-Type, Authorization"),
    (",".join("x-h%d" % i for i in range(100)), "Content-Type, Authorization"),
])
def test_listed_preflight_allow_headers(listed, req_headers, allowed):
    r = preflight(listed.admin, "http://localhost:8002", req_headers=req_headers)
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Headers"] == allowed


@pytest.mark.parametrize("origin", REFUSED_VARIANTS)
def test_unlisted_variants_refused(listed, origin):
    a = listed.admin
    r = a.get("/consumers", headers={"Origin": origin})
    assert r.status_code == 200
    assert_no_cors(r)
    r = preflight(a, origin)
    assert r.status_code == 403
    assert_no_cors(r)
    total = consumer_count(a)
    r = a.post("/consumers", data={"username": "refused"}, headers={"Origin": origin})
    assert r.status_code == 403 and r.json() == CROSS_WRITE
    assert_no_cors(r)
    assert consumer_count(a) == total


def test_listed_origin_writes_accepted(listed):
    a = listed.admin
    o = "http://[::1]:8002"
    r = a.post("/consumers", data={"username": "from-console"}, headers={"Origin": o})
    assert r.status_code == 201, r.text
    assert_cors_for(r, o)
    r = a.patch("/consumers/from-console", data={"custom_id": "c1"},
                headers={"Origin": "https://console.example.com"})
    assert r.status_code == 200, r.text
    assert_cors_for(r, "https://console.example.com")
    r = a.delete("/consumers/from-console", headers={"Origin": "http://localhost:8003"})
    assert r.status_code == 204
    assert_cors_for(r, "http://localhost:8003")
    assert a.get("/consumers/from-console").status_code == 404


@pytest.mark.parametrize("method,path,data,status", [
    ("GET", "/no/such/thing", None, 404),
    ("POST", "/consumers", {"username": ""}, 400),
    ("DELETE", "/", None, 405),
    ("OPTIONS", "/consumers", None, 204),
])
def test_listed_origin_errors_readable(listed, method, path, data, status):
    o = "http://localhost:8002"
    r = listed.admin.request(method, path, data=data, headers={"Origin": o})
    assert r.status_code == status, r.text
    assert_cors_for(r, o)


def test_listed_origin_413_readable(listed):
    o = "http://localhost:8002"
    c = RawConn(listed.admin_port)
    try:
        c.send(("POST /consumers HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: %s\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (o, 11 * 1024 * 1024)).encode())
        r = c.read_response("POST")
    finally:
        c.close()
    assert r.status == 413
    assert r.header("access-control-allow-origin") == o
    assert r.header_all("vary") == ["Origin"]


def test_token_node_preflight_and_401(tokened):
    """Browsers send no Authorization on a preflight: it is answered without the token; the
    401 of the real request is readable by the allowed page (it can then ask for the token)."""
    a = tokened.admin
    o = "http://localhost:8002"
    r = preflight(a, o, req_headers="authorization")
    assert r.status_code == 204
    assert_cors_for(r, o)
    assert r.headers["Access-Control-Allow-Headers"] == "authorization"
    r = a.get("/consumers", headers={"Origin": o})
    assert r.status_code == 401
    assert_cors_for(r, o)
    r = a.get("/consumers", headers={"Origin": o, "Authorization": "Bearer " + TOKEN})
    assert r.status_code == 200
    assert_cors_for(r, o)
    r = a.get("/consumers", headers={"Origin": EVIL, "Authorization": "Bearer " + TOKEN})
    assert r.status_code == 200
    assert_no_cors(r)
    r = a.post("/consumers", data={"username": "x"},
               headers={"Origin": EVIL, "Authorization": "Bearer " + TOKEN})
    assert r.status_code == 403


def test_keep_alive_does_not_carry_cors_over(listed):
    """The echoed origin belongs to one request: the next one on the connection has its own."""
    c = RawConn(listed.admin_port)
    try:
        r1 = c.request("GET", "/status", "127.0.0.1",
                       headers=[("Origin", "http://localhost:8002")])
        r2 = c.request("GET", "/status", "127.0.0.1")
        r3 = c.request("GET", "/status", "127.0.0.1", headers=[("Origin", EVIL)])
        r4 = c.request("OPTIONS", "/status", "127.0.0.1",
                       headers=[("Origin", "https://console.example.com"),
                                ("Access-Control-Request-Method", "GET")])
    finally:
        c.close()
    assert r1.header("access-control-allow-origin") == "http://localhost:8002"
    for r in (r2, r3):
        assert r.status == 200
        assert not any(k.lower().startswith("access-control-") for k, _ in r.headers), r
        assert r.header("vary") is None
    assert r4.status == 204
    assert r4.header("access-control-allow-origin") == "https://console.example.com"


# ---------------------------------------------------------------------------------------------
# Same-origin: pages served by the Admin API's own listener need no setting.

def own_variants(port):
    return [
        ("127.0.0.1:%d" % port, "http://127.0.0.1:%d" % port),
        ("127.0.0.1:%d" % port, "http://localhost:%d" % port),
        ("127.0.0.1:%d" % port, "http://[::1]:%d" % port),
        ("localhost:%d" % port, "http://127.0.0.1:%d" % port),
        ("localhost:%d" % port, "http://LOCALHOST:%d" % port),
        ("[::1]:%d" % port, "http://localhost:%d" % port),
    ]


def test_same_origin_allowed_without_configuration(plain):
    a = plain.admin
    for host, origin in own_variants(plain.admin_port):
        h = {"Host": host, "Origin": origin}
        r = a.get("/consumers", headers=h)
        assert r.status_code == 200
        assert_cors_for(r, origin)
        r = a.post("/consumers", data={"username": "same-origin"}, headers=h)
        assert r.status_code == 201, (host, origin, r.status_code, r.text)
        assert_cors_for(r, origin)
        r = a.delete("/consumers/same-origin", headers=h)
        assert r.status_code == 204, (host, origin, r.status_code, r.text)
        r = preflight(a, origin, headers={"Host": host})
        assert r.status_code == 204, (host, origin, r.status_code)
        assert_cors_for(r, origin)


@pytest.mark.parametrize("origin_fmt", [
    "https://127.0.0.1:%d",     # the listener speaks plain HTTP
    "http://127.0.0.1:%d1",     # another port
    "http://127.0.0.1",         # port 80
    "http://127.0.0.2:%d",
])
def test_same_origin_needs_scheme_and_port(plain, origin_fmt):
    origin = origin_fmt % plain.admin_port if "%d" in origin_fmt else origin_fmt
    a = plain.admin
    r = a.get("/consumers", headers={"Origin": origin})
    assert_no_cors(r)
    r = a.post("/consumers", data={"username": "nope"}, headers={"Origin": origin})
    assert r.status_code == 403 and r.json() == CROSS_WRITE
    r = preflight(a, origin)
    assert r.status_code == 403
    assert_no_cors(r)


# ---------------------------------------------------------------------------------------------
# The DNS-rebinding guard is unchanged and wins over a listed or same-looking origin.

@pytest.mark.parametrize("host,origin", [
    ("evil.test:%d", "http://evil.test:%d"),        # a rebound name looks same-origin
    ("evil.test:%d", "http://localhost:8002"),      # a listed origin through a rebound name
])
def test_rebinding_host_still_421(listed, host, origin):
    port = listed.admin_port
    host = host % port
    origin = origin % port if "%d" in origin else origin
    a = listed.admin
    for r in (a.get("/consumers", headers={"Host": host, "Origin": origin}),
              a.post("/consumers", data={"username": "r"}, headers={"Host": host,
                                                                    "Origin": origin}),
              preflight(a, origin, headers={"Host": host})):
        assert r.status_code == 421, (r.status_code, r.text)
        assert_no_cors(r)


def test_rebinding_421_to_head_has_no_body(listed):
    """A HEAD answered 421 carries no body, so the next answer on the connection is intact."""
    c = RawConn(listed.admin_port)
    try:
        r1 = c.request("HEAD", "/status", "evil.test:%d" % listed.admin_port)
        r2 = c.request("GET", "/status", "127.0.0.1")
    finally:
        c.close()
    assert r1.status == 421, r1
    assert r2.status == 200 and "server" in r2.json(), r2


# ---------------------------------------------------------------------------------------------
# A bad admin_gui_origins stops start-up with a message naming the key.

@pytest.mark.parametrize("value", [
    "*",
    "null",
    "http://localhost:8002/",
    "http://localhost:8002/console",
    "localhost:8002",
    "ftp://files.example.com",
    "http://localhost:0",
    "http://user@localhost:8002",
    "http://localhost:8002,",
    "http://ok.example.com, https://bad.example.com/",
])
def test_bad_admin_gui_origins_refuses_to_start(tmp_path, value):
    out = start_must_fail(tmp_path, env_extra={"TORII_ADMIN_GUI_ORIGINS": value})
    assert "invalid value for 'admin_gui_origins'" in out, out


def test_bad_admin_gui_origins_in_file_refuses_to_start(tmp_path):
    conf = tmp_path / "torii.conf"
    conf.write_text("worker_threads = 2\nadmin_gui_origins = https://console.example.com/\n")
    out = start_must_fail(tmp_path, conf=conf)
    assert "admin_gui_origins" in out and "line 2" in out, out

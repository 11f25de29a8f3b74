# SPDX-License-Identifier: MIT
"""The Admin API with Kong 0.7 shapes: /apis (walkthrough steps 2, 3, fix A, fix B), lists,
pagination and filters, PUT upserts, validation and error statuses, /consumers, / and /status."""

import json
import re
import time

import pytest

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
GO = "http://127.0.0.1:5000"
RAILS = "http://127.0.0.1:3000"


def assert_json(r):
    ct = r.headers.get("Content-Type", "")
    assert ct.startswith("application/json"), ct
    return r.json()


def test_walkthrough_step2_register(admin):
    before = int(time.time() * 1000)
    r = admin.post("/apis/", data={"name": "go-api", "upstream_url": GO,
                                   "request_path": "/go"})
    assert r.status_code == 201, r.text
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    api = r.json()
    assert api["name"] == "go-api"
    assert api["upstream_url"] == GO
    assert api["request_path"] == "/go"
    assert UUID_RE.match(api["id"]), api["id"]
    assert isinstance(api["created_at"], int)
    assert api["created_at"] % 1000 == 0
    assert before - 2000 <= api["created_at"] <= int(time.time() * 1000) + 1000
    assert not api.get("strip_request_path", False)
    assert not api.get("preserve_host", False)

    lst = admin.get("/apis")
    assert lst.status_code == 200
    body = assert_json(lst)
    assert body["total"] == 1
    assert [a["id"] for a in body["data"]] == [api["id"]]
    assert "next" not in body

    for path in ("/apis/go-api", "/apis/go-api/", "/apis/" + api["id"]):
        g = admin.get(path)
        assert g.status_code == 200, (path, g.text)
        assert g.json() == api


def test_walkthrough_step3_patch(admin):
    api = admin.add_api(name="go-api", upstream_url=GO, request_path="/go")
    r = admin.patch("/apis/go-api", data={"strip_request_path": "true"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["strip_request_path"] is True
    for k in ("id", "created_at", "name", "upstream_url", "request_path"):
        assert got[k] == api[k]
    assert admin.get("/apis/go-api").json()["strip_request_path"] is True


def test_fix_a_request_host(admin):
    admin.add_api(name="go-api", upstream_url=GO, request_path="/go")
    r = admin.patch("/apis/go-api", data={"request_host": "localhost"})
    assert r.status_code == 200, r.text
    assert r.json()["request_host"] == "localhost"
    assert r.json()["request_path"] == "/go"


def test_fix_b_host_only_api(admin):
    admin.add_api(name="go-api", upstream_url=GO, request_path="/go")
    r = admin.post("/apis/", data={"name": "for_host", "upstream_url": GO,
                                   "request_host": "localhost"})
    assert r.status_code == 201, r.text
    api = r.json()
    assert api["name"] == "for_host" and api["request_host"] == "localhost"
    assert "request_path" not in api or api["request_path"] in (None, "")
    assert admin.get("/apis").json()["total"] == 2


def test_step8_rails_api(admin):
    r = admin.post("/apis/", data={"name": "rails-api", "upstream_url": RAILS,
                                   "request_path": "/rails", "strip_request_path": "true"})
    assert r.status_code == 201, r.text
    assert r.json()["strip_request_path"] is True


def test_json_and_multipart_bodies(admin):
    r = admin.post("/apis", json={"name": "j", "upstream_url": GO, "request_path": "/j",
                                  "strip_request_path": True})
    assert r.status_code == 201, r.text
    assert r.json()["strip_request_path"] is True
    r = admin.post("/apis", files={"name": (None, "m"), "upstream_url": (None, GO),
                                   "request_path": (None, "/m")})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "m" and r.json()["request_path"] == "/m"


def test_default_name(admin):
    a = admin.add_api(upstream_url=GO, request_path="/a/b")
    assert a["name"] == "a-b"
    b = admin.add_api(upstream_url=GO, request_host="example.com")
    assert b["name"] == "example.com"


def test_trailing_slash_of_request_path_removed(admin):
    a = admin.add_api(name="t", upstream_url=GO, request_path="/trail/")
    assert a["request_path"] == "/trail"


def test_list_pagination_and_filters(admin):
    ids = []
    for i in range(5):
        ids.append(admin.add_api(name="p%d" % i, upstream_url=GO, request_path="/p%d" % i,
                                 request_host="h%d.example.com" % i)["id"])
    seen = []
    r = admin.get("/apis", params={"size": 2})
    assert r.status_code == 200
    body = r.json()
    pages = 0
    while True:
        pages += 1
        assert body["total"] == 5
        assert len(body["data"]) <= 2
        seen += [a["id"] for a in body["data"]]
        if "next" not in body:
            break
        assert body["next"].startswith("http://"), body["next"]
        assert pages < 10
        nxt = body["next"]
        path = nxt[nxt.index("/", len("http://")):]
        r = admin.get(path)
        assert r.status_code == 200, r.text
        body = r.json()
    assert pages == 3
    assert sorted(seen) == sorted(ids)

    r = admin.get("/apis", params={"request_host": "h3.example.com"})
    assert r.status_code == 200
    assert r.json()["total"] == 1
    assert [a["name"] for a in r.json()["data"]] == ["p3"]
    r = admin.get("/apis", params={"name": "nope"})
    assert r.json() == {"data": [], "total": 0}


def test_empty_list(admin):
    r = admin.get("/apis")
    assert r.status_code == 200
    assert r.json() == {"data": [], "total": 0}


def test_put_upsert(admin):
    r = admin.put("/apis", data={"name": "up", "upstream_url": GO, "request_path": "/up"})
    assert r.status_code == 201, r.text
    api = r.json()
    r = admin.put("/apis", data={"id": api["id"], "name": "up", "upstream_url": RAILS,
                                 "request_path": "/up2"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["id"] == api["id"]
    assert got["upstream_url"] == RAILS and got["request_path"] == "/up2"
    assert admin.get("/apis").json()["total"] == 1
    # a full replace: fields left out are cleared
    admin.patch_api("up", strip_request_path=True)
    r = admin.put("/apis", data={"id": api["id"], "name": "up", "upstream_url": RAILS,
                                 "request_path": "/up2"})
    assert r.status_code == 200, r.text
    assert not r.json().get("strip_request_path", False)


def test_delete(admin):
    admin.add_api(name="d", upstream_url=GO, request_path="/d")
    r = admin.delete("/apis/d")
    assert r.status_code == 204
    assert r.content == b""
    assert admin.get("/apis/d").status_code == 404
    assert admin.delete("/apis/d").status_code == 404


@pytest.mark.parametrize("fields,bad", [
    ({"name": "x", "request_path": "/x"}, "upstream_url"),
    ({"name": "x", "upstream_url": "ftp://127.0.0.1", "request_path": "/x"}, "upstream_url"),
    ({"name": "x", "upstream_url": "not a url", "request_path": "/x"}, "upstream_url"),
    ({"name": "x", "upstream_url": GO, "request_path": "x"}, "request_path"),
    ({"name": "x", "upstream_url": GO, "request_path": "/a//b"}, "request_path"),
    ({"name": "x", "upstream_url": GO, "request_path": "/a b"}, "request_path"),
    ({"name": "x", "upstream_url": GO, "request_host": "bad host"}, "request_host"),
    ({"name": "x", "upstream_url": GO, "request_host": "*.*.example.com"}, "request_host"),
    ({"name": "x y", "upstream_url": GO, "request_path": "/x"}, "name"),
    ({"name": "x", "upstream_url": GO, "request_path": "/x", "strip_request_path": "maybe"},
     "strip_request_path"),
    ({"name": "x", "upstream_url": GO, "request_path": "/x", "colour": "red"}, "colour"),
    ({"name": "x", "upstream_url": GO, "request_path": "/x", "retries": "many"}, "retries"),
])
def test_validation_400_names_field(admin, fields, bad):
    r = admin.post("/apis", data=fields)
    assert r.status_code == 400, r.text
    body = assert_json(r)
    assert bad in body, body
    assert admin.get("/apis").json()["total"] == 0


def test_host_or_path_required(admin):
    r = admin.post("/apis", data={"name": "x", "upstream_url": GO})
    assert r.status_code == 400
    assert "request_host" in r.text and "request_path" in r.text


def test_unknown_field_message(admin):
    r = admin.post("/apis", data={"name": "x", "upstream_url": GO, "request_path": "/x",
                                  "colour": "red"})
    assert r.status_code == 400
    assert r.json()["colour"] == "colour is an unknown field"


def test_required_message(admin):
    r = admin.post("/apis", data={"name": "x", "request_path": "/x"})
    assert r.json()["upstream_url"] == "upstream_url is required"


def test_invalid_json_body(admin):
    r = admin.post("/apis", data="{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"message": "Cannot parse JSON body"}


def test_created_at_cannot_be_updated(admin):
    admin.add_api(name="c", upstream_url=GO, request_path="/c")
    r = admin.patch("/apis/c", data={"created_at": "1"})
    assert r.status_code == 400
    assert "created_at" in r.json()


def test_conflict_409(admin):
    admin.add_api(name="go-api", upstream_url=GO, request_path="/go")
    r = admin.post("/apis", data={"name": "go-api", "upstream_url": GO, "request_path": "/g2"})
    assert r.status_code == 409, r.text
    assert r.json() == {"name": "name already exists with value 'go-api'"}
    r = admin.post("/apis", data={"name": "other", "upstream_url": GO, "request_path": "/go"})
    assert r.status_code == 409, r.text
    assert "request_path" in r.json()
    assert admin.get("/apis").json()["total"] == 1


def test_404s(admin):
    for path in ("/apis/nope", "/apis/00000000-0000-0000-0000-000000000000",
                 "/consumers/nobody"):
        r = admin.get(path)
        assert r.status_code == 404, (path, r.text)
        assert_json(r)
    assert admin.patch("/apis/nope", data={"request_path": "/n"}).status_code == 404
    r = admin.get("/no/such/endpoint")
    assert r.status_code == 404
    assert r.json() == {"message": "Not found"}


def test_405(admin):
    for method, path in (("DELETE", "/apis"), ("PATCH", "/apis"), ("POST", "/status"),
                         ("DELETE", "/"), ("POST", "/apis/x")):
        r = admin.request(method, path, data={"a": "b"})
        assert r.status_code == 405, (method, path, r.status_code, r.text)
        assert r.json() == {"message": "Method not allowed"}


def test_413_body_over_10_mb(admin):
    big = b"name=x&upstream_url=http://127.0.0.1:1&request_path=/x&pad=" + \
        b"a" * (10 * 1024 * 1024 + 10)
    try:
        r = admin.post("/apis", data=big,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413, r.status_code
    except Exception as e:  # the server may close while we are still sending
        import requests
        assert isinstance(e, requests.ConnectionError), e
    assert admin.get("/apis").json()["total"] == 0


def test_no_cors_and_options(admin):
    """No Origin, no CORS headers (test_admin_cors.py has the browser cases); OPTIONS lists
    the methods in Allow."""
    r = admin.get("/apis")
    assert "Access-Control-Allow-Origin" not in r.headers
    r = admin.request("OPTIONS", "/apis")
    assert r.status_code == 204
    assert "PATCH" in r.headers.get("Allow", "")
    assert not [k for k in r.headers if k.lower().startswith("access-control-")]


def test_consumers_crud(admin):
    r = admin.post("/consumers/", data={"username": "example_consumer"})
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["username"] == "example_consumer"
    assert UUID_RE.match(c["id"]) and isinstance(c["created_at"], int)
    assert admin.get("/consumers/example_consumer").json() == c
    assert admin.get("/consumers/" + c["id"]).json() == c
    r = admin.patch("/consumers/example_consumer", data={"custom_id": "ext-1"})
    assert r.status_code == 200 and r.json()["custom_id"] == "ext-1"
    lst = admin.get("/consumers").json()
    assert lst["total"] == 1 and lst["data"][0]["id"] == c["id"]
    assert admin.get("/consumers", params={"custom_id": "ext-1"}).json()["total"] == 1

    r = admin.post("/consumers", data={"username": "example_consumer"})
    assert r.status_code == 409
    assert "username" in r.json()
    r = admin.post("/consumers", data={})
    assert r.status_code == 400
    r = admin.post("/consumers", json={"custom_id": "only-custom"})
    assert r.status_code == 201, r.text

    assert admin.delete("/consumers/example_consumer").status_code == 204
    assert admin.get("/consumers/example_consumer").status_code == 404
    assert admin.get("/consumers").json()["total"] == 1


def test_node_info(admin):
    r = admin.get("/")
    assert r.status_code == 200
    info = assert_json(r)
    for k in ("tagline", "version", "hostname", "plugins", "configuration"):
        assert k in info, info
    assert "available_on_server" in info["plugins"]
    assert "enabled_in_cluster" in info["plugins"]


def test_status_counts(admin):
    admin.add_api(name="a", upstream_url=GO, request_path="/a")
    admin.add_api(name="b", upstream_url=GO, request_path="/b")
    admin.add_consumer(username="u")
    r = admin.get("/status")
    assert r.status_code == 200
    st = r.json()
    assert st["database"]["apis"] == 2
    assert st["database"]["consumers"] == 1
    for k in ("total_requests", "connections_active", "connections_accepted",
              "connections_handled", "connections_reading", "connections_writing",
              "connections_waiting"):
        assert isinstance(st["server"][k], int), (k, st["server"])


def test_per_api_upstream_settings(admin):
    api = admin.add_api(name="t", upstream_url=GO, request_path="/t", retries=2,
                        upstream_read_timeout=1000, upstream_connect_timeout=500)
    assert api["retries"] == 2
    assert api["upstream_read_timeout"] == 1000
    assert api["upstream_connect_timeout"] == 500
    assert json.loads(admin.get("/apis/t").text)["retries"] == 2

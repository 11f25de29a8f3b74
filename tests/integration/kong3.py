# SPDX-License-Identifier: MIT
"""Helpers of the Kong 3.x Admin API tests (services, routes, tags): one node per module,
emptied before each test, and bodies sent the three ways Kong 3 accepts (JSON, a
form-urlencoded body with Kong's `paths[]=`, `service.id=` and `headers.x-foo=` keys, and
multipart)."""

import uuid

import pytest

from kong07 import start, stop

BODY_MODES = ("json", "form", "multipart")
PROTOCOLS = "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"


def node_fixture(name):
    @pytest.fixture(scope="module")
    def node(tmp_path_factory):
        ns = start(tmp_path_factory, name)
        yield ns
        stop(ns)

    return node


def wipe(admin, kinds=("routes", "services")):
    """Delete every row of each kind in turn: by default every route, then every service
    (routes hold services); ("upstreams",) takes their targets along."""
    for kind in kinds:
        while True:
            r = admin.get("/%s?size=1000" % kind)
            assert r.status_code == 200, r.text
            rows = r.json()["data"]
            if not rows:
                break
            for row in rows:
                d = admin.delete("/%s/%s" % (kind, row["id"]))
                assert d.status_code == 204, d.text


def form_pairs(fields):
    """fields as Kong's form keys: lists as `k[]`, records as `k.sub`, maps of lists as
    `k.name` with the values joined by commas, booleans as true/false."""
    out = []
    for k, v in fields.items():
        if isinstance(v, bool):
            out.append((k, "true" if v else "false"))
        elif isinstance(v, (list, tuple)):
            out.extend((k + "[]", str(x)) for x in v)
        elif isinstance(v, dict):
            for sk, sv in v.items():
                if isinstance(sv, (list, tuple)):
                    sv = ",".join(sv)
                out.append(("%s.%s" % (k, sk), str(sv)))
        elif v is None:
            out.append((k, ""))
        else:
            out.append((k, str(v)))
    return out


def send(admin, method, path, fields, mode="json"):
    if mode == "json":
        return admin.request(method, path, json=fields)
    pairs = form_pairs(fields)
    if mode == "form":
        return admin.request(method, path, data=pairs)
    return admin.request(method, path, files=[(k, (None, v)) for k, v in pairs])


def ok(r, status=None):
    assert r.status_code == (status or r.status_code) and r.status_code < 300, \
        "%d %s" % (r.status_code, r.text)
    return r.json() if r.content else None


def add_service(admin, **fields):
    fields.setdefault("host", "service.test")
    return ok(admin.post("/services", json=fields), 201)


def add_route(admin, **fields):
    if not any(k in fields for k in ("paths", "hosts", "methods", "headers", "snis")):
        fields["paths"] = ["/" + uuid.uuid4().hex[:8]]
    return ok(admin.post("/routes", json=fields), 201)


def schema_error(fields, message):
    return {"code": 2, "name": "schema violation", "message": message, "fields": fields}

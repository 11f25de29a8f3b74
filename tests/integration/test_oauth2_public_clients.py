# SPDX-License-Identifier: MIT
"""A public OAuth2 client has no client_secret (RFC 6749 §2.1: it cannot keep one). Creating one
stores and shows none; sending one for it is 400 naming client_secret; turning a confidential
client public drops its secret; turning it confidential again generates a new one, shown as at
creation. The token endpoint still refuses a secret from a public client (catalogue I-08)."""

import sqlite3

import pytest

from oauth2util import (TOKEN_RE, add_app, cc_token, err, node, oauth_api,  # noqa: F401
                        token)

assert node  # fixture: a node with a TLS port, consumers alice and bob, apps web and spa

REFUSED = {"client_secret": "a public client has no client_secret"}
CB = "https://pub.example/cb"


def stored(node, app_id):
    """The application's row as the database holds it."""
    with sqlite3.connect(node.torii.db_path) as db:
        row = db.execute("SELECT json_extract(doc, '$.client_secret'), "
                         "json_extract(doc, '$.client_type') FROM oauth2_credentials "
                         "WHERE id = ?", (app_id,)).fetchone()
    return {"client_secret": row[0], "client_type": row[1]}


def no_secret_anywhere(node, app):
    assert "client_secret" not in app, app
    assert stored(node, app["id"])["client_secret"] is None
    a = node.admin
    r = a.get("/consumers/alice/oauth2/" + app["id"])
    assert r.status_code == 200 and "client_secret" not in r.json(), r.text
    r = a.get("/oauth2", params={"client_id": app["client_id"]})
    assert r.status_code == 200 and r.json()["total"] == 1
    assert "client_secret" not in r.json()["data"][0]


@pytest.mark.sqlite_file
def test_catalogue_public_app_has_no_secret(node):
    no_secret_anywhere(node, node.spa)


@pytest.mark.sqlite_file
@pytest.mark.parametrize("how", ["json", "form"])
def test_create_public_without_secret(node, how):
    body = {"name": "pub-" + how, "redirect_uri": CB, "client_type": "public"}
    kw = {"json": body} if how == "json" else {"data": body}
    r = node.admin.post("/consumers/alice/oauth2", **kw)
    assert r.status_code == 201, r.text
    app = r.json()
    assert app["client_type"] == "public" and app["client_id"]
    no_secret_anywhere(node, app)


@pytest.mark.parametrize("secret", ["s3cret", "x" * 43, " padded "])
@pytest.mark.parametrize("how", ["json", "form"])
def test_create_public_with_a_secret_is_400(node, secret, how):
    body = {"name": "bad", "redirect_uri": CB, "client_type": "public", "client_secret": secret}
    kw = {"json": body} if how == "json" else {"data": body}
    before = node.admin.get("/oauth2").json()["total"]
    r = node.admin.post("/consumers/alice/oauth2", **kw)
    assert r.status_code == 400 and r.json() == REFUSED, r.text
    assert node.admin.get("/oauth2").json()["total"] == before


@pytest.mark.sqlite_file
@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_secret_is_no_secret(node, blank):
    """An empty form field or null means "unset", as for every field."""
    r = node.admin.post("/consumers/alice/oauth2", json={
        "name": "blank", "redirect_uri": CB, "client_type": "public", "client_secret": blank})
    assert r.status_code == 201, r.text
    no_secret_anywhere(node, r.json())


@pytest.mark.sqlite_file
def test_put_public_with_a_secret_is_400(node):
    app = add_app(node.admin, "alice", "put-me", [CB])
    r = node.admin.put("/consumers/alice/oauth2", json={
        "id": app["id"], "name": "put-me", "redirect_uri": CB, "client_type": "public",
        "client_secret": app["client_secret"]})
    assert r.status_code == 400 and r.json() == REFUSED, r.text
    r = node.admin.put("/consumers/alice/oauth2", json={
        "id": app["id"], "name": "put-me", "redirect_uri": CB, "client_type": "public"})
    assert r.status_code == 200, r.text
    no_secret_anywhere(node, r.json())


@pytest.mark.sqlite_file
def test_patch_to_public_and_back(node):
    a = node.admin
    app = add_app(a, "alice", "flip", [CB])
    first = app["client_secret"]
    assert TOKEN_RE.match(first)
    path = "/consumers/alice/oauth2/" + app["id"]

    # to public: the secret goes, in the answer and in the store
    r = a.patch(path, json={"client_type": "public"})
    assert r.status_code == 200, r.text
    no_secret_anywhere(node, r.json())
    assert stored(node, app["id"]) == {"client_secret": None, "client_type": "public"}

    # a public client cannot be given one, in a PATCH of the type or of anything else
    for body in ({"client_secret": "mine"}, {"client_secret": "mine", "name": "x"},
                 {"client_type": "public", "client_secret": first}):
        r = a.patch(path, json=body)
        assert r.status_code == 400 and r.json() == REFUSED, (body, r.text)
    r = a.patch(path, data={"name": "flip2"})
    assert r.status_code == 200, r.text
    no_secret_anywhere(node, r.json())

    # back to confidential: a new secret, shown as at creation and kept
    r = a.patch(path, data={"client_type": "confidential"})
    assert r.status_code == 200, r.text
    second = r.json()["client_secret"]
    assert TOKEN_RE.match(second) and second != first
    assert stored(node, app["id"]) == {"client_secret": second, "client_type": "confidential"}
    assert a.get(path).json()["client_secret"] == second

    # confidential with a chosen secret is fine, as before
    r = a.patch(path, json={"client_type": "public"})
    assert r.status_code == 200
    r = a.patch(path, json={"client_type": "confidential", "client_secret": "chosen-secret"})
    assert r.status_code == 200 and r.json()["client_secret"] == "chosen-secret", r.text


def test_token_endpoint_after_the_switches(node):
    a = node.admin
    api = oauth_api(node, enable_client_credentials=True)
    app = add_app(a, "alice", "tok", [CB])
    old = app["client_secret"]
    assert cc_token(node, api, app)["access_token"]
    path = "/consumers/alice/oauth2/" + app["id"]
    assert a.patch(path, json={"client_type": "public"}).status_code == 200

    # I-08: a public client sending a secret (its old one, or any) is refused
    data = {"grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": old}
    err(token(node, api, data), 400, "invalid_request")
    # and a public client gets no client_credentials token at all
    data = {"grant_type": "client_credentials", "client_id": app["client_id"]}
    err(token(node, api, data), 400, "unauthorized_client")

    r = a.patch(path, json={"client_type": "confidential"})
    new = r.json()["client_secret"]
    data = {"grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": old}
    err(token(node, api, data), 401, "invalid_client")
    assert cc_token(node, api, dict(app, client_secret=new))["access_token"]

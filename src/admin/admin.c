/* SPDX-License-Identifier: MIT */
/* tr_admin_handle: route the request, decode query and body, run the handler and make sure
 * every path ends in a Kong-shaped answer. The network side (server.c) does HTTP, CORS,
 * Origin/Host checks and the body size limit before calling here. */
#include "admin/admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/body.h"
#include "admin/crud.h"
#include "admin/dbless.h"
#include "admin/routes.h"
#include "core/err.h"

static bool has_body(struct tr_str method)
{
    return tr_str_eq(method, TR_STR_LIT("POST")) || tr_str_eq(method, TR_STR_LIT("PUT")) ||
           tr_str_eq(method, TR_STR_LIT("PATCH"));
}

/* The Status API's endpoints: /status, /status/ready and /metrics (Kong's status_listen). */
static bool on_status_api(const struct tr_admin_endpoint *ep)
{
    return strcmp(ep->path, "/status") == 0 || strcmp(ep->path, "/status/ready") == 0 ||
           strcmp(ep->path, "/metrics") == 0;
}

/* Route and run one request; doc (stolen, may be NULL) is its body already decoded. */
static void dispatch(struct tr_admin_env *env, const struct tr_admin_request *req,
                     struct tr_admin_response *res, json_t *doc)
{
    char msg[256];
    struct tr_admin_ctx ctx = {.env = env, .req = req, .res = res, .body = doc};
    res->status = 0;
    res->body = NULL;
    res->allow = NULL;
    res->text = NULL;
    res->text_len = 0;
    res->content_type = NULL;

    if (env->store == NULL) {
        /* A node still waiting for its database (database_wait): nothing can be answered. */
        tr_admin_reply_error(&ctx, TR_EDBUNAVAIL);
        goto out;
    }
    const struct tr_admin_endpoint *ep =
        tr_admin_route_match(req->path, ctx.params, &ctx.param_cnt);
    if (ep != NULL && env->status_only && !on_status_api(ep)) {
        tr_admin_route_params_free(ctx.params, &ctx.param_cnt);
        ep = NULL;
    }
    if (ep == NULL) {
        /* P4: TRACE and CONNECT are refused on every path, known or not (a known path says
         * so with its Allow list below). CONNECT seldom gets here: the parser refuses it. */
        bool never = tr_str_eq(req->method, TR_STR_LIT("TRACE")) ||
                     tr_str_eq(req->method, TR_STR_LIT("CONNECT"));
        tr_admin_reply_error(&ctx, never ? TR_EMETHOD : TR_ENOTFOUND);
        goto out;
    }
    ctx.endpoint = ep;
    tr_admin_handler_fn handler = tr_admin_route_handler(ep, req->method);
    if (handler == NULL) {
        res->allow = tr_admin_route_allow(ep);
        tr_admin_reply_error(&ctx, TR_EMETHOD);
        goto out;
    }
    if (tr_admin_dbless_refuses(env, ep, req->method)) {
        tr_admin_reply_dbless_write(&ctx);
        goto out;
    }
    if (env->serving_copy && tr_admin_is_write(ep, req->method)) {
        tr_admin_reply_detail(&ctx, TR_EDBUNAVAIL,
                              "the database cannot be reached: this node serves its local copy of "
                              "the configuration and takes writes again once the database "
                              "returns");
        goto out;
    }
    int rc = tr_admin_form_decode(req->query, &ctx.query, msg, sizeof(msg));
    if (rc != 0) {
        if (strcmp(msg, "Cannot parse form body") == 0)
            snprintf(msg, sizeof(msg), "Cannot parse query string");
        tr_admin_reply_detail(&ctx, rc, msg);
        goto out;
    }
    if (ctx.body != NULL) {
        /* decoded already (tr_admin_handle_doc) */
    } else if (has_body(req->method)) {
        rc = tr_admin_body_decode(req->content_type, req->body, &ctx.body, msg, sizeof(msg));
        if (rc != 0 && ep->raw_body) {
            ctx.body = json_object();
            rc = 0;
        }
        if (rc != 0) {
            tr_admin_reply_detail(&ctx, rc, msg);
            goto out;
        }
    } else {
        ctx.body = json_object();
    }
    /* No handler ever sees a NUL byte (a C string would be cut short there); the answer names
     * the field like the schema's own control-byte check does. */
    char field[256] = "";
    if (tr_admin_find_nul(ctx.query, field, sizeof(field)) ||
        tr_admin_find_nul(ctx.body, field, sizeof(field))) {
        tr_admin_reply(
            &ctx, 400,
            json_pack("{s:s}", field, "must not contain control characters (found 0x00)"));
        goto out;
    }
    handler(&ctx);
    if (res->status == 0 ||
        (res->body == NULL && res->text == NULL && res->status != 204 && res->status != 304))
        tr_admin_reply_error(&ctx, TR_EINTERNAL);
out:
    json_decref(ctx.query);
    json_decref(ctx.body);
    tr_admin_route_params_free(ctx.params, &ctx.param_cnt);
}

void tr_admin_handle(struct tr_admin_env *env, const struct tr_admin_request *req,
                     struct tr_admin_response *res)
{
    dispatch(env, req, res, NULL);
}

void tr_admin_handle_doc(struct tr_admin_env *env, const char *method, const char *path,
                         json_t *body, struct tr_admin_response *res)
{
    struct tr_admin_request req = {
        .method = tr_str_from_cstr(method),
        .path = tr_str_from_cstr(path),
        .content_type = TR_STR_LIT("application/json"),
    };
    dispatch(env, &req, res, body);
}

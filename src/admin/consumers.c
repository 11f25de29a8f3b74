/* SPDX-License-Identifier: MIT */
/* The /consumers endpoints (Kong 0.7): username or id in the path; field rules live in
 * schema/entity_consumers.c. Credential endpoints under a consumer belong to their plugins. */
#include "admin/crud.h"

#include "schema/entities.h"

static const struct tr_admin_entity consumers = {
    .store_name = "consumers",
    .schema = &tr_schema_consumers,
    .name_field = "username",
};

static void list(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_list(ctx, &consumers, NULL);
}

static void create(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_create(ctx, &consumers, NULL);
}

static void upsert(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_upsert(ctx, &consumers, NULL);
}

static void get(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_get(ctx, &consumers, ctx->params[0]);
}

static void patch(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_patch(ctx, &consumers, ctx->params[0], NULL);
}

static void del(struct tr_admin_ctx *ctx)
{
    tr_admin_crud_delete(ctx, &consumers, ctx->params[0]);
}

const struct tr_admin_endpoint tr_admin_consumers_endpoints[] = {
    {"/consumers", .get = list, .post = create, .put = upsert,
     .help = "list, create, or create-or-replace (PUT with an id) consumers"},
    {"/consumers/{username_or_id}", .get = get, .patch = patch, .del = del,
     .help = "read, update or delete one consumer by username or id"},
};
const size_t tr_admin_consumers_endpoints_cnt =
    sizeof(tr_admin_consumers_endpoints) / sizeof(tr_admin_consumers_endpoints[0]);

/* SPDX-License-Identifier: MIT */
/* acl: let the authenticated consumer through only when its groups (the acls kind,
 * /consumers/{c}/acls) meet the allow (whitelist) or deny (blacklist) list; send the groups
 * upstream as X-Consumer-Groups. Needs an auth plugin to have set the consumer first. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

#define ENTITY "acls"

/* The four list rows, in the order conf_parse looks at them. */
enum acl_list { L_ALLOW, L_DENY, L_WHITELIST, L_BLACKLIST, L_COUNT };
static const char *const list_fields[L_COUNT] = {"allow", "deny", "whitelist", "blacklist"};

struct acl_conf {
    char **lists[L_COUNT]; /* owned, bound to the list rows; one is set */
    size_t num[L_COUNT];
    bool hide_groups_header; /* bound */
    bool deny;               /* the list set is a deny list (deny/blacklist) */
    char *const *groups;     /* the list set: borrowed from lists */
    size_t num_groups;
};

static bool list_set(const json_t *rec, const char *name)
{
    const json_t *v = json_object_get(rec, name);
    return json_is_array(v) && json_array_size(v) > 0;
}

/* Exactly one of allow, deny, whitelist, blacklist (Kong 0.x: whitelist xor blacklist). */
static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    int set = 0;
    for (size_t i = 0; i < TR_ARRAY_SIZE(list_fields); i++)
        set += list_set(rec, list_fields[i]);
    if (set != 1) {
        snprintf(msg, msg_len,
                 "exactly one of 'allow', 'deny', 'whitelist' or 'blacklist' must be set");
        return TR_EINVAL;
    }
    return 0;
}

#define LIST_FIELD(n, l, what)                                                                     \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_ARRAY, .help = what,                                          \
        TR_SCHEMA_BIND_LIST(struct acl_conf, lists[l], num[l]),                                    \
    }

static const struct tr_schema_field conf_fields[] = {
    LIST_FIELD("whitelist", L_WHITELIST, "groups allowed (Kong 0.x name of allow)"),
    LIST_FIELD("blacklist", L_BLACKLIST, "groups denied (Kong 0.x name of deny)"),
    LIST_FIELD("allow", L_ALLOW, "groups allowed; every other consumer is denied"),
    LIST_FIELD("deny", L_DENY, "groups denied; every other consumer is allowed"),
    {.name = "hide_groups_header",
     .type = TR_SCHEMA_BOOLEAN,
     .dflt = "false",
     .help = "do not send X-Consumer-Groups upstream",
     TR_SCHEMA_BIND(struct acl_conf, hide_groups_header)},
};

static const struct tr_schema conf_schema = {
    .name = "acl",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .self_check = self_check,
};

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

/* The one list config sets, checked again for a stored config. Returns 0, or TR_EINVAL with
 * err. */
static int pick_list(struct acl_conf *c, const json_t *config, char *err, size_t err_len)
{
    int which = -1;
    for (int l = 0; l < L_COUNT; l++) {
        if (!list_set(config, list_fields[l]))
            continue;
        if (which >= 0) {
            snprintf(err, err_len, "both '%s' and '%s' are set", list_fields[which],
                     list_fields[l]);
            return TR_EINVAL;
        }
        which = l;
    }
    if (which < 0) {
        snprintf(err, err_len, "no allow or deny list");
        return TR_EINVAL;
    }
    c->deny = which == L_DENY || which == L_BLACKLIST;
    c->groups = c->lists[which];
    c->num_groups = c->num[which];
    return 0;
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct acl_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (pick_list(c, config, err, err_len) != 0) {
        conf_free(c);
        return NULL;
    }
    return c;
}

/* The consumer's groups, gathered into the request arena. */
struct groups {
    struct tr_ctx *ctx;
    const char **items;
    size_t cnt, cap;
    size_t text_len; /* bytes of "g1, g2" */
};

static bool add_group(const struct tr_credential *cred, void *ud)
{
    struct groups *g = ud;
    const char *name = json_string_value(json_object_get(cred->doc, "group"));
    if (name == NULL)
        return true;
    if (g->cnt == g->cap) {
        size_t ncap = g->cap ? g->cap * 2 : 8;
        const char **n = tr_ctx_alloc(g->ctx, ncap * sizeof(*n));
        if (g->cnt)
            memcpy(n, g->items, g->cnt * sizeof(*n));
        g->items = n;
        g->cap = ncap;
    }
    g->items[g->cnt++] = name;
    g->text_len += strlen(name) + (g->cnt > 1 ? 2 : 0);
    return true;
}

static bool listed(const struct acl_conf *c, const struct groups *g)
{
    for (size_t i = 0; i < g->cnt; i++) {
        for (size_t j = 0; j < c->num_groups; j++) {
            if (strcmp(g->items[i], c->groups[j]) == 0)
                return true;
        }
    }
    return false;
}

static int acl_access(struct tr_ctx *ctx, const void *p)
{
    const struct acl_conf *c = p;
    const struct tr_consumer *consumer = tr_ctx_consumer(ctx);
    if (consumer == NULL) {
        tr_ctx_respond_message(
            ctx, 403,
            "Cannot identify the consumer, add an authentication plugin to use the ACL plugin");
        return TR_PLUGIN_EXIT;
    }
    struct groups g = {.ctx = ctx};
    tr_ctx_foreach_consumer_credential(ctx, ENTITY, consumer, add_group, &g);
    bool in_list = listed(c, &g);
    if (c->deny ? in_list : !in_list) {
        tr_ctx_respond_message(ctx, 403, "You cannot consume this service");
        return TR_PLUGIN_EXIT;
    }
    if (!c->hide_groups_header && g.cnt > 0) {
        char *text = tr_ctx_alloc(ctx, g.text_len + 1);
        size_t n = 0;
        for (size_t i = 0; i < g.cnt; i++) {
            if (i > 0) {
                memcpy(text + n, ", ", 2);
                n += 2;
            }
            size_t len = strlen(g.items[i]);
            memcpy(text + n, g.items[i], len);
            n += len;
        }
        text[n] = '\0';
        tr_ctx_set_header(ctx, TR_STR_LIT("X-Consumer-Groups"), (struct tr_str){text, n});
    }
    return TR_PLUGIN_NEXT;
}

/* ---- the acls kind ------------------------------------------------------------------------- */

/* Groups are joined with commas in X-Consumer-Groups: a comma inside a name would make the
 * upstream see two groups the consumer is not in. */
static int check_group_name(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *v = json_string_value(json_object_get(rec, name));
    if (v && strchr(v, ',')) {
        snprintf(msg, msg_len, "must not contain a comma");
        return TR_EINVAL;
    }
    return 0;
}

static const struct tr_schema_field cred_fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "consumer_id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_REQUIRED,
     .help = "the consumer in the group"},
    {.name = "group",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_NO_CLEAR,
     .check = check_group_name,
     .help = "group name (no commas); unique per consumer"},
};

static const struct tr_schema cred_schema = {
    .name = ENTITY,
    .fields = cred_fields,
    .cnt = TR_ARRAY_SIZE(cred_fields),
};

static const struct tr_plugin_credential credentials[] = {
    {
        .entity = ENTITY,
        .path = "acls",
        .schema = &cred_schema,
    },
};

const struct tr_plugin tr_plugin_acl = {
    .name = "acl",
    .version = "1.0.0",
    .priority = 950,
    .flags = TR_PLUGIN_NO_CONSUMER,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = acl_access,
    .credentials = credentials,
    .num_credentials = TR_ARRAY_SIZE(credentials),
};

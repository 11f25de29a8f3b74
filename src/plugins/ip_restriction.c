/* SPDX-License-Identifier: MIT */
/* ip-restriction: allow or deny requests by client address (after trusted_ips processing)
 * against IPv4/IPv6 addresses and CIDR blocks, compiled once per snapshot; Kong 0.x's
 * whitelist/blacklist and Kong 3's allow/deny, status and message. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/err.h"
#include "core/mem.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

#define DEFAULT_MESSAGE "Your IP address is not allowed"

struct ip_conf {
    struct tr_cidr_list allow; /* allow + whitelist */
    struct tr_cidr_list deny;  /* deny + blacklist */
    int status;                /* bound; 0 (unset) reads as 403 */
    char *message;             /* owned, bound; NULL when unset */
    char *body;                /* owned: {"message": ...} */
};

static bool list_set(const json_t *rec, const char *name)
{
    const json_t *v = json_object_get(rec, name);
    return json_is_array(v) && json_array_size(v) > 0;
}

/* Each item must be an address or a CIDR block, on its own (no comma lists inside). */
static int check_ips(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const json_t *arr = json_object_get(rec, name);
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        struct tr_cidr_list l;
        char err[128];
        if (s == NULL || strchr(s, ',') != NULL || tr_str_trim(tr_str_from_cstr(s)).len == 0 ||
            tr_cidr_list_parse(s, &l, err, sizeof(err)) != 0) {
            snprintf(msg, msg_len, "invalid ip or cidr range: '%.64s'", s ? s : "");
            return TR_EINVAL;
        }
        tr_cidr_list_free(&l);
    }
    return 0;
}

static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    if (list_set(rec, "whitelist") && list_set(rec, "blacklist")) {
        snprintf(msg, msg_len, "you cannot set both a whitelist and a blacklist");
        return TR_EINVAL;
    }
    if (!list_set(rec, "allow") && !list_set(rec, "deny") && !list_set(rec, "whitelist") &&
        !list_set(rec, "blacklist")) {
        snprintf(msg, msg_len, "at least one of these fields must be non-empty: 'allow', 'deny'");
        return TR_EINVAL;
    }
    return 0;
}

#define IP_LIST(n, what)                                                                           \
    {                                                                                              \
        .name = n, .type = TR_SCHEMA_ARRAY, .check = check_ips, .help = what,                      \
    }

static const struct tr_schema_field conf_fields[] = {
    IP_LIST("whitelist", "addresses or CIDR blocks allowed (Kong 0.x name of allow)"),
    IP_LIST("blacklist", "addresses or CIDR blocks denied (Kong 0.x name of deny)"),
    IP_LIST("allow", "addresses or CIDR blocks allowed; every other client is denied"),
    IP_LIST("deny", "addresses or CIDR blocks denied (checked first)"),
    {.name = "status",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_BOUNDED,
     .min = 400,
     .max = 599,
     .help = "status of the refusal (default 403)",
     TR_SCHEMA_BIND(struct ip_conf, status)},
    {.name = "message",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_TEXT,
     .help = "message of the refusal (default \"" DEFAULT_MESSAGE "\")",
     TR_SCHEMA_BIND(struct ip_conf, message)},
};

static const struct tr_schema conf_schema = {
    .name = "ip-restriction",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .self_check = self_check,
};

static void conf_free(void *p)
{
    struct ip_conf *c = p;
    if (c == NULL)
        return;
    tr_cidr_list_free(&c->allow);
    tr_cidr_list_free(&c->deny);
    free(c->body);
    tr_schema_free_struct(&conf_schema, c);
}

/* Append the items of arrays a and b to one list. Returns 0 or TR_EINVAL with err. */
static int compile(const json_t *a, const json_t *b, struct tr_cidr_list *out, char *err,
                   size_t err_len)
{
    size_t n = json_array_size(a) + json_array_size(b);
    memset(out, 0, sizeof(*out));
    if (n == 0)
        return 0;
    out->items = tr_xcalloc(n, sizeof(*out->items));
    const json_t *src[2] = {a, b};
    for (size_t k = 0; k < 2; k++) {
        size_t i;
        const json_t *v;
        json_array_foreach(src[k], i, v)
        {
            struct tr_cidr_list one;
            const char *s = json_string_value(v);
            if (s == NULL || tr_cidr_list_parse(s, &one, err, err_len) != 0) {
                tr_cidr_list_free(out);
                return TR_EINVAL;
            }
            if (one.cnt != 1) {
                tr_cidr_list_free(&one);
                tr_cidr_list_free(out);
                snprintf(err, err_len, "invalid ip or cidr range: '%.64s'", s);
                return TR_EINVAL;
            }
            out->items[out->cnt++] = one.items[0];
            tr_cidr_list_free(&one);
        }
    }
    return 0;
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct ip_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (compile(json_object_get(config, "allow"), json_object_get(config, "whitelist"), &c->allow,
                err, err_len) != 0 ||
        compile(json_object_get(config, "deny"), json_object_get(config, "blacklist"), &c->deny,
                err, err_len) != 0) {
        conf_free(c);
        return NULL;
    }
    if (c->allow.cnt == 0 && c->deny.cnt == 0) {
        snprintf(err, err_len, "no allow or deny list");
        conf_free(c);
        return NULL;
    }
    /* The rows carry no default (nor do Kong's), so none is stored: the refusal's own applies. */
    if (c->status == 0)
        c->status = 403;
    c->body = tr_plugin_message_body(c->message ? c->message : DEFAULT_MESSAGE);
    if (c->body == NULL) {
        snprintf(err, err_len, "cannot encode message");
        conf_free(c);
        return NULL;
    }
    return c;
}

static int ip_access(struct tr_ctx *ctx, const void *p)
{
    const struct ip_conf *c = p;
    const char *ip = tr_ctx_client_ip(ctx);
    /* Kong 3's order: deny first, then allow. An address that cannot be parsed (none on a
     * socket torii accepted) matches no list, so an allow list refuses it. */
    bool refused = (c->deny.cnt && tr_cidr_list_match(&c->deny, ip)) ||
                   (c->allow.cnt && !tr_cidr_list_match(&c->allow, ip));
    if (!refused)
        return TR_PLUGIN_NEXT;
    tr_ctx_respond(ctx, c->status, c->body, NULL);
    return TR_PLUGIN_EXIT;
}

const struct tr_plugin tr_plugin_ip_restriction = {
    .name = "ip-restriction",
    .version = "1.0.0",
    .priority = 990,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = ip_access,
};

/* SPDX-License-Identifier: MIT */
/* request-termination: answer every request of the api (or consumer) with a fixed status and
 * either {"message": ...} or a raw body with its content type, without going upstream. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "http/status.h"
#include "plugins/plugin.h"
#include "schema/schema.h"

/* Every member is bound to its row; body is also where the answer made of message goes. */
struct termination_conf {
    int status;
    char *message;      /* owned; NULL when unset */
    char *body;         /* owned: the whole answer (the raw body, else the JSON message) */
    char *content_type; /* owned; NULL means JSON */
    char *trigger;      /* owned; NULL means always */
};

static bool present(const json_t *rec, const char *name)
{
    const json_t *v = json_object_get(rec, name);
    return json_is_string(v) && json_string_length(v) > 0;
}

/* Kong's entity checks: message excludes body and content_type; content_type needs a body. */
static int self_check(json_t *rec, enum tr_schema_mode mode, char *msg, size_t msg_len)
{
    if (present(rec, "message") && (present(rec, "body") || present(rec, "content_type"))) {
        snprintf(msg, msg_len, "message cannot be used with content_type or body");
        return TR_EINVAL;
    }
    if (present(rec, "content_type") && !present(rec, "body")) {
        snprintf(msg, msg_len, "content_type requires a body");
        return TR_EINVAL;
    }
    return 0;
}

/* content_type goes into the answer's head as it is: printable ASCII only. */
static int check_content_type(json_t *rec, const char *name, char *msg, size_t msg_len)
{
    const char *s = json_string_value(json_object_get(rec, name));
    for (size_t i = 0; s != NULL && s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch > 0x7e) {
            snprintf(msg, msg_len, "content_type must be printable ASCII");
            return TR_EINVAL;
        }
    }
    return 0;
}

static const struct tr_schema_field conf_fields[] = {
    {.name = "status_code",
     .type = TR_SCHEMA_INTEGER,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_BOUNDED,
     .dflt = "503",
     .min = 200,
     .max = 599,
     .help = "status of the answer (200-599)",
     TR_SCHEMA_BIND(struct termination_conf, status)},
    {.name = "message",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_TEXT,
     .help = "answer {\"message\": message}; the default depends on the status",
     TR_SCHEMA_BIND(struct termination_conf, message)},
    {.name = "body",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_TEXT,
     .help = "raw answer body (instead of message)",
     TR_SCHEMA_BIND(struct termination_conf, body)},
    {.name = "content_type",
     .type = TR_SCHEMA_STRING,
     .check = check_content_type,
     .help = "Content-Type of body (default application/json; charset=utf-8)",
     TR_SCHEMA_BIND(struct termination_conf, content_type)},
    {.name = "trigger",
     .type = TR_SCHEMA_STRING,
     .help = "only terminate when a header or query argument of this name is present",
     TR_SCHEMA_BIND(struct termination_conf, trigger)},
};

static const struct tr_schema conf_schema = {
    .name = "request-termination",
    .fields = conf_fields,
    .cnt = TR_ARRAY_SIZE(conf_fields),
    .self_check = self_check,
};

/* Kong's default messages (request-termination, 1.x-2.x); other statuses use the reason. */
static const char *default_message(int status)
{
    switch (status) {
    case 401:
        return "Unauthorized";
    case 404:
        return "Not found";
    case 405:
        return "Method not allowed";
    case 500:
        return "An unexpected error occurred";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service unavailable";
    default:
        return tr_http_status_reason(status);
    }
}

static void conf_free(void *p)
{
    tr_schema_free_struct(&conf_schema, p);
}

static void *conf_parse(const json_t *config, char *err, size_t err_len)
{
    struct termination_conf *c = tr_schema_parse_new(&conf_schema, config, sizeof(*c));
    if (c->status < 200 || c->status > 599) {
        snprintf(err, err_len, "status_code must be between 200 and 599");
        conf_free(c);
        return NULL;
    }
    if (c->body != NULL)
        return c;
    /* Without a body the answer is JSON, whatever a stored content_type says. */
    free(c->content_type);
    c->content_type = NULL;
    c->body = tr_plugin_message_body(c->message ? c->message : default_message(c->status));
    if (c->body == NULL) {
        snprintf(err, err_len, "cannot encode message");
        conf_free(c);
        return NULL;
    }
    return c;
}

static int termination_access(struct tr_ctx *ctx, const void *p)
{
    const struct termination_conf *c = p;
    if (c->trigger != NULL) {
        struct tr_str name = tr_str_from_cstr(c->trigger), v;
        if (!tr_ctx_header(ctx, name, &v) && !tr_ctx_query_arg(ctx, name, &v))
            return TR_PLUGIN_NEXT;
    }
    /* 204 and 304 answers carry no body. */
    bool no_body = c->status == 204 || c->status == 304;
    tr_ctx_respond(ctx, c->status, no_body ? "" : c->body, c->content_type);
    return TR_PLUGIN_EXIT;
}

/* Priority 2 as Kong: it runs after authentication and limits, so those still apply. */
const struct tr_plugin tr_plugin_request_termination = {
    .name = "request-termination",
    .version = "1.0.0",
    .priority = 2,
    .schema = &conf_schema,
    .conf_parse = conf_parse,
    .conf_free = conf_free,
    .access = termination_access,
};

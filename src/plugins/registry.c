/* SPDX-License-Identifier: MIT */
/* The one list of bundled plugins. Order is computed from priorities, never from this list. */
#include "plugins/registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/str.h"
#include "plugins/plugin.h"

extern const struct tr_plugin tr_plugin_acl;
extern const struct tr_plugin tr_plugin_basic_auth;
extern const struct tr_plugin tr_plugin_bot_detection;
extern const struct tr_plugin tr_plugin_correlation_id;
extern const struct tr_plugin tr_plugin_cors;
extern const struct tr_plugin tr_plugin_file_log;
extern const struct tr_plugin tr_plugin_hmac_auth;
extern const struct tr_plugin tr_plugin_http_log;
extern const struct tr_plugin tr_plugin_ip_restriction;
extern const struct tr_plugin tr_plugin_jwt;
extern const struct tr_plugin tr_plugin_key_auth;
extern const struct tr_plugin tr_plugin_oauth2;
extern const struct tr_plugin tr_plugin_opentelemetry;
extern const struct tr_plugin tr_plugin_prometheus;
extern const struct tr_plugin tr_plugin_rate_limiting;
extern const struct tr_plugin tr_plugin_request_size_limiting;
extern const struct tr_plugin tr_plugin_request_termination;
extern const struct tr_plugin tr_plugin_request_transformer;
extern const struct tr_plugin tr_plugin_response_transformer;
extern const struct tr_plugin tr_plugin_ssl;
extern const struct tr_plugin tr_plugin_syslog;
extern const struct tr_plugin tr_plugin_tcp_log;
extern const struct tr_plugin tr_plugin_udp_log;

static const struct tr_plugin *const bundled[] = {
    NULL, /* placeholder so the array is never empty; skipped */
    &tr_plugin_basic_auth,
    &tr_plugin_bot_detection,
    &tr_plugin_key_auth,
    &tr_plugin_oauth2,
    &tr_plugin_opentelemetry,
    &tr_plugin_acl,
    &tr_plugin_correlation_id,
    &tr_plugin_cors,
    &tr_plugin_file_log,
    &tr_plugin_hmac_auth,
    &tr_plugin_http_log,
    &tr_plugin_ip_restriction,
    &tr_plugin_jwt,
    &tr_plugin_prometheus,
    &tr_plugin_request_size_limiting,
    &tr_plugin_request_termination,
    &tr_plugin_request_transformer,
    &tr_plugin_response_transformer,
    &tr_plugin_rate_limiting,
    &tr_plugin_ssl,
    &tr_plugin_syslog,
    &tr_plugin_tcp_log,
    &tr_plugin_udp_log,
};

static const struct tr_plugin *sorted[TR_PLUGIN_MAX];
static size_t sorted_cnt;
static int sorted_ready;
/* Loaded on this node (the `plugins` setting); every plugin until tr_plugin_set_enabled. */
static bool enabled[TR_PLUGIN_MAX];
static bool enabled_set;

static int by_priority(const void *a, const void *b)
{
    const struct tr_plugin *pa = *(const struct tr_plugin *const *)a;
    const struct tr_plugin *pb = *(const struct tr_plugin *const *)b;
    if (pa->priority != pb->priority)
        return pa->priority > pb->priority ? -1 : 1;
    return strcmp(pa->name, pb->name);
}

/* The sort runs once; callers are the control thread at start-up and, after that, readers of
 * an immutable array, so no lock is needed after the first call (made before threads start). */
static void ensure_sorted(void)
{
    if (sorted_ready)
        return;
    for (size_t i = 0; i < sizeof(bundled) / sizeof(bundled[0]); i++) {
        if (bundled[i] && sorted_cnt < TR_PLUGIN_MAX)
            sorted[sorted_cnt++] = bundled[i];
    }
    qsort(sorted, sorted_cnt, sizeof(sorted[0]), by_priority);
    sorted_ready = 1;
}

size_t tr_plugin_count(void)
{
    ensure_sorted();
    return sorted_cnt;
}

const struct tr_plugin *tr_plugin_at(size_t i)
{
    ensure_sorted();
    return i < sorted_cnt ? sorted[i] : NULL;
}

const struct tr_plugin *tr_plugin_find(const char *name, size_t *index)
{
    ensure_sorted();
    for (size_t i = 0; i < sorted_cnt; i++) {
        if (strcmp(sorted[i]->name, name) == 0) {
            if (index)
                *index = i;
            return sorted[i];
        }
    }
    return NULL;
}

const struct tr_plugin_credential *tr_plugin_find_credential(const char *entity_or_path)
{
    ensure_sorted();
    for (size_t i = 0; i < sorted_cnt; i++) {
        for (size_t j = 0; j < sorted[i]->num_credentials; j++) {
            const struct tr_plugin_credential *c = &sorted[i]->credentials[j];
            if (strcmp(c->entity, entity_or_path) == 0 || strcmp(c->path, entity_or_path) == 0 ||
                (c->alias && strcmp(c->alias, entity_or_path) == 0))
                return c;
        }
    }
    return NULL;
}

/* Parse value into on[] (indexes of sorted[]). Returns 0 or TR_EINVAL with why. */
static int parse_list(const char *value, bool *on, char *why, size_t why_len)
{
    ensure_sorted();
    memset(on, 0, sizeof(bool) * TR_PLUGIN_MAX);
    struct tr_str all = tr_str_trim(tr_str_from_cstr(value ? value : ""));
    if (tr_str_eq(all, TR_STR_LIT("off")))
        return 0;
    if (all.len == 0) {
        snprintf(why, why_len, "expected bundled, off, or a comma list of plugin names");
        return TR_EINVAL;
    }
    size_t start = 0;
    for (size_t i = 0; i <= all.len; i++) {
        if (i < all.len && all.ptr[i] != ',')
            continue;
        struct tr_str item = tr_str_trim((struct tr_str){all.ptr + start, i - start});
        start = i + 1;
        if (item.len == 0)
            continue;
        if (tr_str_eq(item, TR_STR_LIT("bundled"))) {
            for (size_t k = 0; k < sorted_cnt; k++)
                on[k] = true;
            continue;
        }
        size_t k;
        for (k = 0; k < sorted_cnt; k++) {
            if (tr_str_eq(item, tr_str_from_cstr(sorted[k]->name)))
                break;
        }
        if (k == sorted_cnt) {
            int shown = (int)(item.len > 64 ? 64 : item.len);
            snprintf(why, why_len,
                     "unknown plugin '%.*s' (expected bundled, off, or names of bundled plugins)",
                     shown, item.ptr);
            return TR_EINVAL;
        }
        on[k] = true;
    }
    return 0;
}

int tr_plugin_check_list(const char *value, char *why, size_t why_len)
{
    bool on[TR_PLUGIN_MAX];
    return parse_list(value, on, why, why_len);
}

int tr_plugin_set_enabled(const char *value, char *why, size_t why_len)
{
    bool on[TR_PLUGIN_MAX];
    int rc = parse_list(value, on, why, why_len);
    if (rc != 0)
        return rc;
    memcpy(enabled, on, sizeof(enabled));
    enabled_set = true;
    return 0;
}

bool tr_plugin_enabled(size_t i)
{
    ensure_sorted();
    if (i >= sorted_cnt)
        return false;
    return !enabled_set || enabled[i];
}

int tr__plugin_add(const struct tr_plugin *p)
{
    ensure_sorted();
    if (tr_plugin_find(p->name, NULL) != NULL)
        return TR_ECONFLICT;
    if (sorted_cnt == TR_PLUGIN_MAX)
        return TR_EINVAL;
    sorted[sorted_cnt++] = p;
    qsort(sorted, sorted_cnt, sizeof(sorted[0]), by_priority);
    enabled_set = false;
    return 0;
}

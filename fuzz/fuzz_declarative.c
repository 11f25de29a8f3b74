/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the declarative configuration: any bytes must give a clean parse error,
 * or a document that YAML-emits and parses back to itself, and that the loader writes into a
 * store (of its own, in a scratch directory) or refuses with Kong's error tree, never more. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/declarative.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/yaml.h"
#include "plugins/registry.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tr_conf conf;
static struct tr_store *store;
static char dir[64];

static void cleanup(void)
{
    tr_store_close(store);
    const char *names[] = {"dbless.db", "dbless.db-wal", "dbless.db-shm"};
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    tr_conf_free(&conf);
}

static void setup(void)
{
    char err[256];
    tr_log_set_level(TR_LOG_CRIT);
    if (tr_conf_load(&conf, NULL, err, sizeof(err)) != 0 ||
        tr_plugin_set_enabled(conf.plugins, err, sizeof(err)) != 0)
        abort();
    snprintf(dir, sizeof(dir), "/tmp/torii-fuzz-decl.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    free(conf.prefix);
    conf.prefix = tr_xstrdup(dir);
    free(conf.database);
    conf.database = tr_xstrdup("off");
    if (tr_store_open(&conf, &store, err, sizeof(err)) != 0)
        abort();
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (store == NULL)
        setup();
    char err[700];
    json_t *doc = NULL;
    if (tr_declarative_parse_text((const char *)data, size, &doc, err, sizeof(err)) != 0) {
        if (doc != NULL || strncmp(err, "failed parsing declarative configuration", 40) != 0)
            abort();
        return 0;
    }
    char *text = tr_yaml_emit(doc);
    if (text == NULL)
        abort();
    json_t *back = NULL;
    if (tr_yaml_parse(text, strlen(text), &back, err, sizeof(err)) != 0 || !json_equal(doc, back))
        abort();
    json_decref(back);
    free(text);

    struct tr_admin_env env = {.store = store, .conf = &conf};
    struct tr_declarative_result res = {0};
    int rc = tr_declarative_load(&env, doc, TR_DECLARATIVE_REPLACE, &res);
    if (rc == TR_EINVAL) {
        if (!json_is_object(res.fields) || json_object_size(res.fields) == 0)
            abort();
        json_t *body = tr_declarative_error_body(res.fields, res.flattened);
        char *why = tr_declarative_error_text(res.fields, doc, NULL);
        if (body == NULL || why == NULL)
            abort();
        json_decref(body);
        free(why);
    } else if (rc != 0) {
        abort();
    }
    tr_declarative_result_free(&res);
    json_decref(doc);
    return 0;
}

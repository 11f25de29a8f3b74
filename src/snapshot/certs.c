/* SPDX-License-Identifier: MIT */
/* Compile /certificates, /snis and the certificates of ssl plugins into the snapshot's SNI
 * table, so the handshake picks a certificate without touching the store. Runs on the control
 * thread only. */
#include "snapshot/snapshot.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"
#include "store/store.h"

struct certs_ctx {
    struct tr_tls_certs *t;
    TR_VECTOR(char *) ids; /* certificate id of each index */
};

static int on_cert(json_t *doc, void *ud)
{
    struct certs_ctx *b = ud;
    const char *id = json_string_value(json_object_get(doc, "id"));
    int idx = tr_tls_certs_add(b->t, id, json_string_value(json_object_get(doc, "cert")),
                               json_string_value(json_object_get(doc, "key")));
    if (idx < 0 || id == NULL)
        return 0;
    *tr_vector_push(NULL, &b->ids) = tr_xstrdup(id);
    return 0;
}

static int on_sni(json_t *doc, void *ud)
{
    struct certs_ctx *b = ud;
    const char *name = json_string_value(json_object_get(doc, "name"));
    const char *cert = json_string_value(json_object_get(doc, "certificate_id"));
    if (name == NULL || cert == NULL)
        return 0;
    for (size_t i = 0; i < b->ids.cnt; i++) {
        if (strcmp(b->ids.items[i], cert) == 0) {
            if (tr_tls_certs_add_name(b->t, name, (int)i) != 0)
                tr_log_warn("snapshot: sni %s cannot be used, skipped", name);
            return 0;
        }
    }
    return 0; /* its certificate was skipped */
}

/* Kong 0.7's ssl plugin: an enabled api-scoped instance serves its certificate for SNI equal
 * to the api's request_host (exact or wildcard, as routing reads it). Added after the /snis
 * rows, so an explicit sni of the same name wins; an IP literal request_host is never an SNI
 * name and is skipped. Global and consumer-scoped instances have no host: nothing to add. */
static void add_ssl_plugins(struct tr_snapshot *snap, struct tr_tls_certs *t)
{
    struct tr_strmap api_by_id;
    bool mapped = false;
    tr_strmap_init(&api_by_id);
    for (size_t i = 0; i < snap->plugins.cnt; i++) {
        const struct tr_plugin_instance *in = &snap->plugins.items[i];
        if (strcmp(in->plugin->name, "ssl") != 0 || in->api_id == NULL || in->consumer_id)
            continue;
        if (!mapped) {
            for (size_t a = 0; a < snap->apis.cnt; a++)
                tr_strmap_put(&api_by_id, tr_str_from_cstr(snap->apis.items[a].id),
                              &snap->apis.items[a]);
            mapped = true;
        }
        const struct tr_api *api = tr_strmap_get(&api_by_id, tr_str_from_cstr(in->api_id));
        if (api == NULL || api->request_host == NULL || !tr_tls_sni_name_valid(api->request_host))
            continue;
        if (tr_tls_certs_has_name(t, api->request_host)) {
            tr_log_info("snapshot: ssl plugin %s: sni %s is set by /snis, which wins", in->id,
                        api->request_host);
            continue;
        }
        char label[96];
        snprintf(label, sizeof(label), "ssl-plugin:%s", in->id ? in->id : "-");
        int idx = tr_tls_certs_add(t, label, json_string_value(json_object_get(in->config, "cert")),
                                   json_string_value(json_object_get(in->config, "key")));
        if (idx >= 0 && tr_tls_certs_add_name(t, api->request_host, idx) != 0)
            tr_log_warn("snapshot: ssl plugin %s: sni %s cannot be used, skipped", in->id,
                        api->request_host);
    }
    tr_strmap_free(&api_by_id);
}

int tr_snapshot_build_certs(struct tr_store *store, struct tr_snapshot *snap)
{
    struct certs_ctx b = {.t = tr_tls_certs_new()};
    int rc = tr_store_foreach(store, "certificates", on_cert, &b);
    if (rc == 0 && b.ids.cnt > 0)
        rc = tr_store_foreach(store, "snis", on_sni, &b);
    if (rc == 0)
        add_ssl_plugins(snap, b.t);
    for (size_t i = 0; i < b.ids.cnt; i++)
        free(b.ids.items[i]);
    tr_vector_free(&b.ids);
    if (rc != 0) {
        tr_log_error("snapshot: cannot read certificates from the store");
        tr_tls_certs_free(b.t);
        return TR_EDB;
    }
    if (tr_tls_certs_count(b.t) == 0) {
        tr_tls_certs_free(b.t);
        return 0;
    }
    tr_tls_certs_compile(b.t);
    snap->certs = b.t;
    return 0;
}

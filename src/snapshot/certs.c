/* SPDX-License-Identifier: MIT */
/* Compile /certificates and /snis into the snapshot's SNI table, so the handshake picks a
 * certificate without touching the store. Runs on the control thread only. */
#include "snapshot/snapshot.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"
#include "store/store.h"

struct certs_ctx {
    struct tr_tls_certs *t;
    char **ids; /* certificate id of each index */
    size_t cnt, cap;
};

static int on_cert(json_t *doc, void *ud)
{
    struct certs_ctx *b = ud;
    const char *id = json_string_value(json_object_get(doc, "id"));
    int idx = tr_tls_certs_add(b->t, id, json_string_value(json_object_get(doc, "cert")),
                               json_string_value(json_object_get(doc, "key")));
    if (idx < 0 || id == NULL)
        return 0;
    if (b->cnt == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->ids = tr_xrealloc(b->ids, b->cap * sizeof(*b->ids));
    }
    b->ids[b->cnt++] = tr_xstrdup(id);
    return 0;
}

static int on_sni(json_t *doc, void *ud)
{
    struct certs_ctx *b = ud;
    const char *name = json_string_value(json_object_get(doc, "name"));
    const char *cert = json_string_value(json_object_get(doc, "certificate_id"));
    if (name == NULL || cert == NULL)
        return 0;
    for (size_t i = 0; i < b->cnt; i++) {
        if (strcmp(b->ids[i], cert) == 0) {
            if (tr_tls_certs_add_name(b->t, name, (int)i) != 0)
                tr_log_warn("snapshot: sni %s cannot be used, skipped", name);
            return 0;
        }
    }
    return 0; /* its certificate was skipped */
}

int tr_snapshot_build_certs(struct tr_store *store, struct tr_snapshot *snap)
{
    struct certs_ctx b = {tr_tls_certs_new(), NULL, 0, 0};
    int rc = tr_store_foreach(store, "certificates", on_cert, &b);
    if (rc == 0 && b.cnt > 0)
        rc = tr_store_foreach(store, "snis", on_sni, &b);
    for (size_t i = 0; i < b.cnt; i++)
        free(b.ids[i]);
    free(b.ids);
    if (rc != 0) {
        tr_log_error("snapshot: cannot read certificates from the store");
        tr_tls_certs_free(b.t);
        return TR_EDB;
    }
    if (tr_tls_certs_names(b.t) == 0) {
        tr_tls_certs_free(b.t);
        return 0;
    }
    tr_tls_certs_compile(b.t);
    snap->certs = b.t;
    return 0;
}

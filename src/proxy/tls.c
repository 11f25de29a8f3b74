/* SPDX-License-Identifier: MIT */
/* The proxy's side of TLS: the process-wide server and upstream contexts, certificate choice
 * by SNI from the current snapshot, the per-worker upstream session cache, trusted_ips and the
 * request scheme. The TLS mechanics themselves are in http/tls.c. */
#include "proxy/internal.h"

#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cidr.h"
#include "core/conf.h"
#include "core/log.h"
#include "core/mem.h"
#include "http/tls.h"
#include "snapshot/snapshot.h"

#define SESSION_SLOTS 64

static struct tr_tls_server *server_ctx;
static struct tr_tls_client *client_ctx;
static struct tr_cidr_list trusted;

struct session_slot {
    char *key;
    SSL_SESSION *sess;
};

struct tr_tls_server *tr__tls_server(void)
{
    return server_ctx;
}

struct tr_tls_client *tr__tls_client(void)
{
    return client_ctx;
}

/* Runs inside the handshake, on the worker: pick from the snapshot the worker already holds
 * when it is current, else take a reference for the call. */
static void sni_select(SSL *ssl, const char *servername, void *ud)
{
    struct tr_client *c = ud;
    struct tr_proxy_worker *w = c->w;
    struct tr_snapshot *own = NULL, *snap;
    if (w->hold && w->snap_version == tr_snapshot_current_version())
        snap = w->hold->snap;
    else
        snap = own = tr_snapshot_acquire();
    if (snap && snap->certs) {
        const struct tr_tls_cert *cert = tr_tls_certs_lookup(snap->certs, servername);
        if (cert)
            tr_tls_use_cert(ssl, cert);
    }
    tr_snapshot_unref(own);
}

static void on_upstream_session(SSL *ssl, SSL_SESSION *sess, void *ud)
{
    struct tr_upconn *up = ud;
    struct tr_proxy_worker *w = up->w;
    struct session_slot *slots = w->tls_sessions;
    if (slots == NULL)
        slots = w->tls_sessions = tr_xcalloc(SESSION_SLOTS, sizeof(*slots));
    struct session_slot *free_slot = NULL;
    for (size_t i = 0; i < SESSION_SLOTS; i++) {
        if (slots[i].key && strcmp(slots[i].key, up->key) == 0) {
            SSL_SESSION_free(slots[i].sess);
            slots[i].sess = sess;
            return;
        }
        if (slots[i].key == NULL && free_slot == NULL)
            free_slot = &slots[i];
    }
    if (free_slot == NULL) {
        /* Full: replace a slot chosen by the key's first byte (cheap, good enough). */
        free_slot = &slots[(unsigned char)up->key[0] % SESSION_SLOTS];
        free(free_slot->key);
        SSL_SESSION_free(free_slot->sess);
    }
    free_slot->key = tr_xstrdup(up->key);
    free_slot->sess = sess;
}

SSL_SESSION *tr__tls_session_get(struct tr_proxy_worker *w, const char *key)
{
    struct session_slot *slots = w->tls_sessions;
    if (slots == NULL)
        return NULL;
    for (size_t i = 0; i < SESSION_SLOTS; i++) {
        if (slots[i].key && strcmp(slots[i].key, key) == 0)
            return SSL_SESSION_is_resumable(slots[i].sess) ? slots[i].sess : NULL;
    }
    return NULL;
}

void tr__tls_sessions_free(struct tr_proxy_worker *w)
{
    struct session_slot *slots = w->tls_sessions;
    if (slots == NULL)
        return;
    for (size_t i = 0; i < SESSION_SLOTS; i++) {
        free(slots[i].key);
        SSL_SESSION_free(slots[i].sess);
    }
    free(slots);
    w->tls_sessions = NULL;
}

bool tr__client_trusted(const struct tr_client *c)
{
    return tr_cidr_list_match(&trusted, c->peer_ip);
}

const struct tr_cidr_list *tr__trusted_ips(void)
{
    return &trusted;
}

bool tr__client_is_https(const struct tr_client *c, const struct tr_http_request *req,
                         bool allow_terminated)
{
    if (c->tls_listener)
        return true;
    if (!allow_terminated || req == NULL || !tr__client_trusted(c))
        return false;
    for (size_t i = 0; i < req->num_headers; i++) {
        if (tr_str_ieq_cstr(req->headers[i].name, "X-Forwarded-Proto"))
            return tr_str_ieq_cstr(tr_str_trim(req->headers[i].value), "https");
    }
    return false;
}

int tr_proxy_tls_init(const struct tr_conf *conf, char *err, size_t err_len)
{
    int rc = tr_cidr_list_parse(conf->trusted_ips ? conf->trusted_ips : "", &trusted, err, err_len);
    if (rc != 0)
        return rc;
    bool any_ssl = false;
    for (size_t i = 0; i < conf->proxy_listen.cnt; i++)
        any_ssl = any_ssl || conf->proxy_listen.items[i].ssl;
    if (any_ssl) {
        char cert[4200], key[4200];
        bool have_cert = conf->ssl_cert && conf->ssl_cert[0];
        bool have_key = conf->ssl_cert_key && conf->ssl_cert_key[0];
        if (have_cert != have_key) {
            snprintf(err, err_len, "ssl_cert and ssl_cert_key must be set together");
            return TR_EINVAL;
        }
        if (have_cert) {
            snprintf(cert, sizeof(cert), "%s", conf->ssl_cert);
            snprintf(key, sizeof(key), "%s", conf->ssl_cert_key);
        } else {
            char dir[4200];
            snprintf(dir, sizeof(dir), "%s/ssl", conf->prefix);
            rc = tr_tls_default_cert(dir, cert, sizeof(cert), key, sizeof(key), err, err_len);
            if (rc != 0)
                return rc;
        }
        server_ctx = tr_tls_server_new(cert, key, sni_select, err, err_len);
        if (server_ctx == NULL)
            return TR_EINVAL;
    }
    client_ctx = tr_tls_client_new(conf->upstream_tls_verify, conf->upstream_ca_bundle,
                                   on_upstream_session, err, err_len);
    if (client_ctx == NULL) {
        tr_proxy_tls_fini();
        return TR_EINVAL;
    }
    return 0;
}

void tr_proxy_tls_fini(void)
{
    tr_tls_server_free(server_ctx);
    server_ctx = NULL;
    tr_tls_client_free(client_ctx);
    client_ctx = NULL;
    tr_cidr_list_free(&trusted);
}

/* SPDX-License-Identifier: MIT */
/* TLS with OpenSSL 3: the server and client contexts (built once, shared by every worker), the
 * SNI certificate table compiled into each config snapshot, certificate checks for the Admin
 * API, the default self-signed certificate, and a non-blocking connection wrapper whose
 * ciphertext goes through caller-owned buffers (the caller does the socket I/O with libuv). */
#ifndef TR_HTTP_TLS_H
#define TR_HTTP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "core/buf.h"

/* ---- certificates ------------------------------------------------------------------------- */

/* Check a certificate (PEM, leaf first, optional chain after it) and its private key (PEM).
 * Returns 0 when both parse and the key matches the leaf; *warn is then "" or a note for the
 * log (expired, not yet valid). Returns TR_EINVAL otherwise with *field set to "cert" or "key" and
 * the client-facing reason in msg. The key's bytes never appear in msg or warn. */
int tr_tls_check_pair(const char *cert_pem, const char *key_pem, const char **field, char *msg,
                      size_t msg_len, char *warn, size_t warn_len);

/* Is name a valid SNI name for the Admin API: a lower-case host name, optionally with one
 * wildcard as the whole leftmost ("*.example.com") or rightmost ("example.*") label, or "*"
 * alone (the default certificate)? No IP literals, no ports, no trailing dot. */
bool tr_tls_sni_name_valid(const char *name);

/* The SNI table of one snapshot: parsed certificates and the names pointing at them.
 * Built on the control thread, then read-only (safe to use from every worker). */
struct tr_tls_certs;
struct tr_tls_cert;

struct tr_tls_certs *tr_tls_certs_new(void);
/* Parse and add one certificate; returns its index (>= 0) or TR_EINVAL (logged with id, never
 * with key bytes). */
int tr_tls_certs_add(struct tr_tls_certs *t, const char *id, const char *cert_pem,
                     const char *key_pem);
/* Point name (valid per tr_tls_sni_name_valid; case is folded) at certificate index.
 * Returns 0, TR_EINVAL for a bad name or index, or TR_ECONFLICT for a name already present. */
int tr_tls_certs_add_name(struct tr_tls_certs *t, const char *name, int index);
/* Is name (any case) already in t? A linear scan, for building the table. */
bool tr_tls_certs_has_name(const struct tr_tls_certs *t, const char *name);
/* Sort the names for lookup; call once after the last add. */
void tr_tls_certs_compile(struct tr_tls_certs *t);
/* The certificate for servername (any case, trailing dot ignored; NULL or "" means no SNI):
 * exact name, then "*.rest" (leftmost label replaced), then "first.*", then "*". NULL when
 * none matches (the caller keeps the default). */
const struct tr_tls_cert *tr_tls_certs_lookup(const struct tr_tls_certs *t, const char *servername);
/* Number of certificates and of names (for logs and tests). */
size_t tr_tls_certs_count(const struct tr_tls_certs *t);
size_t tr_tls_certs_names(const struct tr_tls_certs *t);
/* The certificate added with id, or NULL (a linear scan, for building). */
const struct tr_tls_cert *tr_tls_certs_by_id(const struct tr_tls_certs *t, const char *id);
/* The id given to tr_tls_certs_add. */
const char *tr_tls_cert_id(const struct tr_tls_cert *c);
void tr_tls_certs_free(struct tr_tls_certs *t);

/* Serve cert on ssl (during the servername callback): replaces the default certificate.
 * Returns 0 or TR_EINTERNAL. */
int tr_tls_use_cert(SSL *ssl, const struct tr_tls_cert *cert);

/* Make sure <dir>/default.crt and <dir>/default.key exist (dir is created 0700 when missing):
 * when either is absent, a self-signed ECDSA P-256 certificate for CN=localhost with SAN
 * DNS:localhost and IP:127.0.0.1, valid ten years, is generated; the key file is mode 0600.
 * Fills cert_path / key_path. Returns 0, or TR_EIO (a file) or TR_EINTERNAL (OpenSSL) with a
 * message in err. */
int tr_tls_default_cert(const char *dir, char *cert_path, size_t cert_len, char *key_path,
                        size_t key_len, char *err, size_t err_len);

/* ---- contexts ----------------------------------------------------------------------------- */

/* Called from the servername callback with the folded name (NULL when the client sent none)
 * and the connection's ud; it may call tr_tls_use_cert. */
typedef void (*tr_tls_sni_fn)(SSL *ssl, const char *servername, void *conn_ud);

struct tr_tls_server;

/* The server context: TLS 1.2 and 1.3, AEAD ciphers with forward secrecy, server cipher
 * preference, no renegotiation, no compression, ALPN "http/1.1", stateless session tickets
 * whose keys live in memory and rotate every 12 hours (the previous key still decrypts), no
 * server-side session cache. cert_path / key_path are PEM files (the default certificate).
 * sni may be NULL. Returns NULL with a message in err. Thread-safe once built. */
struct tr_tls_server *tr_tls_server_new(const char *cert_path, const char *key_path,
                                        tr_tls_sni_fn sni, char *err, size_t err_len);
void tr_tls_server_free(struct tr_tls_server *s);

/* Called when the upstream sends a session that can be resumed later; sess is a new
 * reference the callee owns. */
typedef void (*tr_tls_session_fn)(SSL *ssl, SSL_SESSION *sess, void *conn_ud);

struct tr_tls_client;

/* The upstream (client) context: TLS 1.2 and 1.3; with verify, the peer chain is checked
 * against ca_bundle (a PEM file; NULL or "" = the system's default paths) and the host name
 * given to tr_tls_conn_client; without it nothing is checked (Kong's default). on_session
 * may be NULL. Returns NULL with a message in err. */
struct tr_tls_client *tr_tls_client_new(bool verify, const char *ca_bundle,
                                        tr_tls_session_fn on_session, char *err, size_t err_len);
void tr_tls_client_free(struct tr_tls_client *c);

/* ---- connections -------------------------------------------------------------------------- */

/* One TLS connection. Ciphertext from the socket is appended to in (the caller may read
 * straight into tr_buf_tail(&in) after tr_tls_conn_in_space); OpenSSL has consumed
 * in.ptr[0..in_off). Ciphertext to send collects in out; the caller writes it and empties it
 * (out.len = 0). Both grow as needed: what the caller reads and writes bounds them. */
struct tr_tls_conn {
    SSL *ssl;
    void *ud;          /* the owner (client or upstream connection) */
    struct tr_buf in;  /* owned; ciphertext received */
    size_t in_off;     /* bytes of in already handed to OpenSSL */
    struct tr_buf out; /* owned; ciphertext to send */
    bool established;
    bool peer_closed; /* close_notify received */
};

/* A server-side connection for s; ud is passed to the SNI callback. Never NULL. */
struct tr_tls_conn *tr_tls_conn_server(struct tr_tls_server *s, void *ud);
/* What one upstream asks of its TLS connections beyond the client context's defaults (a Kong
 * 3 service's tls_verify, tls_verify_depth and client_certificate). */
struct tr_tls_client_opts {
    int verify;                     /* -1: the context's setting; 0: off; 1: on */
    int verify_depth;               /* -1: OpenSSL's default */
    const struct tr_tls_cert *cert; /* client certificate (borrowed), or NULL */
};

/* A client-side connection sending servername as SNI (NULL or an IP literal: none) and
 * checking it when the context (or opts) verifies; opts may be NULL; resume (may be NULL,
 * borrowed) is offered. */
struct tr_tls_conn *tr_tls_conn_client(struct tr_tls_client *c, const char *servername,
                                       const struct tr_tls_client_opts *opts, SSL_SESSION *resume,
                                       void *ud);
void tr_tls_conn_free(struct tr_tls_conn *t);

/* Room for at least want more ciphertext bytes at tr_buf_tail(&t->in) (compacts or grows in).
 * Returns 0 or TR_ENOMEM. */
int tr_tls_conn_in_space(struct tr_tls_conn *t, size_t want) TR_WARN_UNUSED;
/* Append ciphertext (a copy). Returns 0 or TR_ENOMEM. */
int tr_tls_conn_feed(struct tr_tls_conn *t, const char *data, size_t len) TR_WARN_UNUSED;

/* Advance the handshake. Returns 1 when established, 0 when more input is needed (out may
 * hold bytes to send), TR_EBADREQ when the first bytes are a plain HTTP request (server side,
 * before any TLS record), or TR_EIO on a handshake failure (logged at info level). */
int tr_tls_conn_handshake(struct tr_tls_conn *t);

/* Decrypt into buf (cap > 0). Returns the number of bytes (> 0), 0 when more ciphertext is
 * needed, or TR_EIO on an error or after the peer's close_notify (peer_closed is then set). */
int tr_tls_conn_read(struct tr_tls_conn *t, char *buf, size_t cap);

/* Is plaintext or unprocessed ciphertext waiting (tr_tls_conn_read may return data without
 * new input)? */
bool tr_tls_conn_has_input(const struct tr_tls_conn *t);

/* Encrypt len bytes (all of them) into out. Returns 0 or TR_EIO. */
int tr_tls_conn_write(struct tr_tls_conn *t, const char *data, size_t len);

/* Queue a close_notify alert into out. */
void tr_tls_conn_shutdown(struct tr_tls_conn *t);

/* The ALPN protocol agreed ("" when none) and the protocol version ("TLSv1.3"). */
const char *tr_tls_conn_alpn(const struct tr_tls_conn *t, char *buf, size_t len);
const char *tr_tls_conn_version(const struct tr_tls_conn *t);
/* The cipher suite agreed, OpenSSL's name ("TLS_AES_256_GCM_SHA384"; "" before the handshake). */
const char *tr_tls_conn_cipher(const struct tr_tls_conn *t);
/* The server name the client sent (SNI) on a server-side connection, NULL when none. */
const char *tr_tls_conn_servername(const struct tr_tls_conn *t);
/* Was the session resumed? */
bool tr_tls_conn_resumed(const struct tr_tls_conn *t);

#endif

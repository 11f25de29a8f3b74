/* SPDX-License-Identifier: MIT */
/* TLS with OpenSSL 3: contexts built once, session-ticket keys rotated in memory, the SNI
 * table, certificate checks, the default certificate, and connections whose BIO reads and
 * writes plain memory buffers so the caller keeps libuv's socket I/O (see tls.h). */
#include "http/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/err.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/str.h"

#define TICKET_ROTATE_S (12 * 3600)
#define SERVER_CIPHERS                                                                             \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                                   \
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                                   \
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define GROUPS "X25519:P-256:P-384"
#define MAX_NAME 256

/* ---- memory BIO over the connection's buffers --------------------------------------------- */

static BIO_METHOD *conn_bio_method;
static pthread_once_t conn_bio_once = PTHREAD_ONCE_INIT;

static int conn_bio_write(BIO *b, const char *data, int len)
{
    struct tr_tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    if (tr_buf_append(&t->out, data, (size_t)len) != 0)
        return -1; /* OpenSSL's BIO contract: out of memory, the write fails */
    return len;
}

static int conn_bio_read(BIO *b, char *buf, int len)
{
    struct tr_tls_conn *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    size_t avail = t->in.len - t->in_off;
    if (avail == 0) {
        BIO_set_retry_read(b);
        return -1; /* OpenSSL's BIO contract: nothing yet, retry */
    }
    size_t n = avail < (size_t)len ? avail : (size_t)len;
    memcpy(buf, t->in.ptr + t->in_off, n);
    t->in_off += n;
    if (t->in_off == t->in.len)
        t->in_off = t->in.len = 0;
    return (int)n;
}

static long conn_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    struct tr_tls_conn *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_PENDING:
        return t ? (long)(t->in.len - t->in_off) : 0;
    case BIO_CTRL_WPENDING:
        return t ? (long)t->out.len : 0;
    default:
        return 0;
    }
}

static int conn_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void conn_bio_setup(void)
{
    conn_bio_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "torii-conn");
    BIO_meth_set_write(conn_bio_method, conn_bio_write);
    BIO_meth_set_read(conn_bio_method, conn_bio_read);
    BIO_meth_set_ctrl(conn_bio_method, conn_bio_ctrl);
    BIO_meth_set_create(conn_bio_method, conn_bio_create);
}

/* The BIO method lives as long as the process (one allocation). */

static void log_ssl_errors(const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    tr_log_info("tls: %s%s%s", what, buf[0] ? ": " : "", buf);
    ERR_clear_error();
}

/* ---- certificate checks ------------------------------------------------------------------- */

/* Never prompt for a passphrase: encrypted keys are refused. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    return -1; /* OpenSSL's pem_password_cb contract: no passphrase */
}

static X509 *read_cert(BIO *b)
{
    return PEM_read_bio_X509(b, NULL, no_password, NULL);
}

int tr_tls_check_pair(const char *cert_pem, const char *key_pem, const char **field, char *msg,
                      size_t msg_len, char *warn, size_t warn_len)
{
    int rc = TR_EINVAL;
    X509 *x = NULL;
    EVP_PKEY *k = NULL;
    BIO *b = NULL;
    if (warn_len)
        warn[0] = '\0';
    *field = "cert";
    if (cert_pem == NULL || (b = BIO_new_mem_buf(cert_pem, -1)) == NULL ||
        (x = read_cert(b)) == NULL) {
        snprintf(msg, msg_len, "invalid certificate: not a PEM-encoded X.509 certificate");
        goto out;
    }
    /* Chain certificates after the leaf must parse too. */
    for (;;) {
        X509 *extra = read_cert(b);
        if (extra == NULL)
            break;
        X509_free(extra);
    }
    unsigned long e = ERR_peek_last_error();
    if (e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
        snprintf(msg, msg_len, "invalid certificate: a chain certificate does not parse");
        goto out;
    }
    ERR_clear_error();
    BIO_free(b);
    b = NULL;
    *field = "key";
    if (key_pem == NULL || (b = BIO_new_mem_buf(key_pem, -1)) == NULL ||
        (k = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL)) == NULL) {
        snprintf(msg, msg_len, "invalid key: not a PEM-encoded, unencrypted private key");
        goto out;
    }
    if (X509_check_private_key(x, k) != 1) {
        snprintf(msg, msg_len, "key does not match the certificate");
        goto out;
    }
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
        snprintf(warn, warn_len, "the certificate has expired");
    else if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0)
        snprintf(warn, warn_len, "the certificate is not valid yet");
    rc = 0;
out:
    ERR_clear_error();
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc;
}

static bool label_ok(const char *p, size_t n)
{
    if (n == 0 || n > 63 || p[0] == '-' || p[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool tr_tls_sni_name_valid(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    size_t len = strlen(name);
    if (len > 253)
        return false;
    if (strcmp(name, "*") == 0)
        return true;
    unsigned char a[16];
    if (inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1)
        return false;
    size_t labels = 0;
    bool wildcard = false;
    const char *p = name;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        bool first = p == name, last = dot == NULL;
        if (n == 1 && p[0] == '*') {
            if (wildcard || !(first || last))
                return false;
            wildcard = true;
        } else if (!label_ok(p, n)) {
            return false;
        }
        labels++;
        if (last)
            break;
        p = dot + 1;
    }
    /* "*" with at least one other label on its side; "*.*" is refused above. */
    return !wildcard || labels >= 2;
}

/* ---- the SNI table ------------------------------------------------------------------------ */

struct tr_tls_cert {
    char *id;
    X509 *x;
    EVP_PKEY *k;
    STACK_OF(X509) *chain;
};

struct sni_name {
    char *name;
    int index;
};

struct tr_tls_certs {
    TR_VECTOR(struct tr_tls_cert) certs;
    TR_VECTOR(struct sni_name) names;
};

struct tr_tls_certs *tr_tls_certs_new(void)
{
    return tr_xcalloc(1, sizeof(struct tr_tls_certs));
}

int tr_tls_certs_add(struct tr_tls_certs *t, const char *id, const char *cert_pem,
                     const char *key_pem)
{
    struct tr_tls_cert c = {0};
    BIO *b = BIO_new_mem_buf(cert_pem ? cert_pem : "", -1);
    c.x = b ? read_cert(b) : NULL;
    if (c.x) {
        c.chain = sk_X509_new_null();
        X509 *extra;
        while ((extra = read_cert(b)) != NULL)
            sk_X509_push(c.chain, extra);
    }
    BIO_free(b);
    b = BIO_new_mem_buf(key_pem ? key_pem : "", -1);
    c.k = b ? PEM_read_bio_PrivateKey(b, NULL, no_password, NULL) : NULL;
    BIO_free(b);
    ERR_clear_error();
    if (c.x == NULL || c.k == NULL || X509_check_private_key(c.x, c.k) != 1) {
        ERR_clear_error();
        tr_log_error("tls: certificate %s cannot be used (bad PEM or key mismatch), skipped",
                     id ? id : "-");
        X509_free(c.x);
        EVP_PKEY_free(c.k);
        sk_X509_pop_free(c.chain, X509_free);
        return TR_EINVAL;
    }
    c.id = tr_xstrdup(id ? id : "");
    *tr_vector_push(NULL, &t->certs) = c;
    return (int)t->certs.cnt - 1;
}

int tr_tls_certs_add_name(struct tr_tls_certs *t, const char *name, int index)
{
    if (index < 0 || (size_t)index >= t->certs.cnt || name == NULL)
        return TR_EINVAL;
    char low[MAX_NAME];
    size_t n = strlen(name);
    if (n >= sizeof(low))
        return TR_EINVAL;
    for (size_t i = 0; i <= n; i++)
        low[i] = tr_ascii_lower(name[i]);
    if (!tr_tls_sni_name_valid(low))
        return TR_EINVAL;
    for (size_t i = 0; i < t->names.cnt; i++) {
        if (strcmp(t->names.items[i].name, low) == 0)
            return TR_ECONFLICT;
    }
    *tr_vector_push(NULL, &t->names) = (struct sni_name){tr_xstrdup(low), index};
    return 0;
}

bool tr_tls_certs_has_name(const struct tr_tls_certs *t, const char *name)
{
    for (size_t i = 0; i < t->names.cnt; i++) {
        if (strcasecmp(t->names.items[i].name, name) == 0)
            return true;
    }
    return false;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const struct sni_name *)a)->name, ((const struct sni_name *)b)->name);
}

void tr_tls_certs_compile(struct tr_tls_certs *t)
{
    if (t->names.cnt > 1)
        qsort(t->names.items, t->names.cnt, sizeof(*t->names.items), cmp_name);
}

static const struct tr_tls_cert *find_exact(const struct tr_tls_certs *t, const char *name)
{
    struct sni_name key = {(char *)name, 0};
    const struct sni_name *hit =
        bsearch(&key, t->names.items, t->names.cnt, sizeof(*t->names.items), cmp_name);
    return hit ? &t->certs.items[hit->index] : NULL;
}

const struct tr_tls_cert *tr_tls_certs_lookup(const struct tr_tls_certs *t, const char *servername)
{
    if (t == NULL || t->names.cnt == 0)
        return NULL;
    char low[MAX_NAME + 2];
    const struct tr_tls_cert *c;
    size_t n = servername ? strlen(servername) : 0;
    if (n > 0 && n < MAX_NAME) {
        for (size_t i = 0; i < n; i++)
            low[i] = tr_ascii_lower(servername[i]);
        if (low[n - 1] == '.')
            n--;
        low[n] = '\0';
        if (n > 0) {
            if ((c = find_exact(t, low)) != NULL)
                return c;
            char *dot = strchr(low, '.');
            if (dot != NULL && dot != low) {
                /* "*.rest": reuse the buffer, the first label becomes "*" */
                char wild[MAX_NAME + 2];
                snprintf(wild, sizeof(wild), "*%s", dot);
                if ((c = find_exact(t, wild)) != NULL)
                    return c;
                char *last = strrchr(low, '.');
                if (last[1] != '\0') {
                    last[1] = '*';
                    last[2] = '\0';
                    if ((c = find_exact(t, low)) != NULL)
                        return c;
                }
            }
        }
    }
    return find_exact(t, "*");
}

size_t tr_tls_certs_count(const struct tr_tls_certs *t)
{
    return t ? t->certs.cnt : 0;
}

size_t tr_tls_certs_names(const struct tr_tls_certs *t)
{
    return t ? t->names.cnt : 0;
}

const struct tr_tls_cert *tr_tls_certs_by_id(const struct tr_tls_certs *t, const char *id)
{
    for (size_t i = 0; t && id && i < t->certs.cnt; i++) {
        if (t->certs.items[i].id && strcmp(t->certs.items[i].id, id) == 0)
            return &t->certs.items[i];
    }
    return NULL;
}

const char *tr_tls_cert_id(const struct tr_tls_cert *c)
{
    return c->id;
}

void tr_tls_certs_free(struct tr_tls_certs *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->certs.cnt; i++) {
        free(t->certs.items[i].id);
        X509_free(t->certs.items[i].x);
        EVP_PKEY_free(t->certs.items[i].k);
        sk_X509_pop_free(t->certs.items[i].chain, X509_free);
    }
    for (size_t i = 0; i < t->names.cnt; i++)
        free(t->names.items[i].name);
    tr_vector_free(&t->certs);
    tr_vector_free(&t->names);
    free(t);
}

int tr_tls_use_cert(SSL *ssl, const struct tr_tls_cert *cert)
{
    /* Drop the default first: a client able to use its key type must not get it instead. */
    SSL_certs_clear(ssl);
    if (SSL_use_cert_and_key(ssl, cert->x, cert->k, cert->chain, 1) != 1) {
        log_ssl_errors("cannot use an SNI certificate");
        return TR_EINTERNAL;
    }
    return 0;
}

/* ---- default certificate ------------------------------------------------------------------ */

static int write_pem_file(const char *path, mode_t mode, X509 *x, EVP_PKEY *k)
{
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return TR_EIO;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        unlink(tmp);
        return TR_EIO;
    }
    int ok = x ? PEM_write_X509(f, x) : PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    ok = fflush(f) == 0 && fsync(fd) == 0 && ok == 1;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return TR_EIO;
    }
    return 0;
}

static int add_ext(X509 *x, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return TR_EINTERNAL;
    int rc = X509_add_ext(x, ext, -1) == 1 ? 0 : TR_EINTERNAL;
    X509_EXTENSION_free(ext);
    return rc;
}

int tr_tls_default_cert(const char *dir, char *cert_path, size_t cert_len, char *key_path,
                        size_t key_len, char *err, size_t err_len)
{
    snprintf(cert_path, cert_len, "%s/default.crt", dir);
    snprintf(key_path, key_len, "%s/default.key", dir);
    if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
        return 0;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, err_len, "cannot create '%s': %s", dir, strerror(errno));
        return TR_EIO;
    }
    int rc = TR_EINTERNAL; /* until every step succeeded */
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    X509_NAME *nm = NULL;
    unsigned char serial[16];
    BIGNUM *bn = NULL;
    if (k == NULL || x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
        goto out;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
        goto out;
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
    nm = X509_NAME_new();
    X509_NAME_add_entry_by_txt(nm, "O", MBSTRING_ASC, (const unsigned char *)"torii", -1, -1, 0);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1, -1,
                               0);
    X509_set_subject_name(x, nm);
    X509_set_issuer_name(x, nm);
    X509_set_pubkey(x, k);
    if (add_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1") != 0 ||
        add_ext(x, NID_basic_constraints, "critical,CA:FALSE") != 0 ||
        add_ext(x, NID_ext_key_usage, "serverAuth") != 0 ||
        add_ext(x, NID_subject_key_identifier, "hash") != 0)
        goto out;
    if (X509_sign(x, k, EVP_sha256()) == 0)
        goto out;
    if (write_pem_file(key_path, 0600, NULL, k) != 0 || chmod(key_path, 0600) != 0 ||
        write_pem_file(cert_path, 0644, x, NULL) != 0) {
        snprintf(err, err_len, "cannot write the default certificate into '%s': %s", dir,
                 strerror(errno));
        rc = TR_EIO;
        goto out;
    }
    tr_log_notice("tls: generated a self-signed default certificate in %s", dir);
    rc = 0;
out:
    if (rc == TR_EINTERNAL)
        snprintf(err, err_len, "cannot generate the default certificate");
    ERR_clear_error();
    BN_free(bn);
    X509_NAME_free(nm);
    X509_free(x);
    EVP_PKEY_free(k);
    return rc == 0 ? 0 : -1;
}

/* ---- server context ----------------------------------------------------------------------- */

struct ticket_key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct tr_tls_server {
    SSL_CTX *ctx;
    tr_tls_sni_fn sni;
    EVP_CIPHER *aes; /* fetched once */
    pthread_rwlock_t lock;
    struct ticket_key cur, prev;
    bool have_prev;
    time_t rotate_at;
};

static int new_ticket_key(struct ticket_key *k)
{
    return RAND_bytes(k->name, sizeof(k->name)) == 1 && RAND_bytes(k->aes, sizeof(k->aes)) == 1 &&
                   RAND_bytes(k->hmac, sizeof(k->hmac)) == 1
               ? 0
               : -1;
}

static void maybe_rotate(struct tr_tls_server *s, time_t now)
{
    pthread_rwlock_wrlock(&s->lock);
    if (now >= s->rotate_at) {
        struct ticket_key fresh;
        if (new_ticket_key(&fresh) == 0) {
            s->prev = s->cur;
            s->have_prev = true;
            s->cur = fresh;
            s->rotate_at = now + TICKET_ROTATE_S;
        }
        OPENSSL_cleanse(&fresh, sizeof(fresh));
    }
    pthread_rwlock_unlock(&s->lock);
}

static int set_hmac(EVP_MAC_CTX *hctx, unsigned char *key)
{
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key, 32);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params) == 1 ? 0 : -1;
}

static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *cctx,
                     EVP_MAC_CTX *hctx, int enc)
{
    struct tr_tls_server *s = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    struct ticket_key k;
    int rc = -1;
    if (enc) {
        time_t now = time(NULL);
        if (now >= s->rotate_at)
            maybe_rotate(s, now);
        pthread_rwlock_rdlock(&s->lock);
        k = s->cur;
        pthread_rwlock_unlock(&s->lock);
        if (RAND_bytes(iv, 16) != 1)
            goto out;
        memcpy(key_name, k.name, 16);
        if (EVP_EncryptInit_ex(cctx, s->aes, NULL, k.aes, iv) != 1 || set_hmac(hctx, k.hmac) != 0)
            goto out;
        rc = 1;
    } else {
        bool is_cur = false, found = false;
        pthread_rwlock_rdlock(&s->lock);
        if (memcmp(key_name, s->cur.name, 16) == 0) {
            k = s->cur;
            found = is_cur = true;
        } else if (s->have_prev && memcmp(key_name, s->prev.name, 16) == 0) {
            k = s->prev;
            found = true;
        }
        pthread_rwlock_unlock(&s->lock);
        if (!found) {
            rc = 0; /* unknown key: full handshake */
            goto out;
        }
        if (EVP_DecryptInit_ex(cctx, s->aes, NULL, k.aes, iv) != 1 || set_hmac(hctx, k.hmac) != 0)
            goto out;
        /* 2: send a new ticket. Always in TLS 1.3: clients use a ticket once (RFC 8446
         * C.4), so a resumption that issues none makes the next connection a full handshake.
         * In TLS 1.2 only when the ticket was made under the previous key. */
        rc = is_cur && SSL_version(ssl) < TLS1_3_VERSION ? 1 : 2;
    }
out:
    OPENSSL_cleanse(&k, sizeof(k));
    return rc;
}

static int servername_cb(SSL *ssl, int *alert, void *arg)
{
    struct tr_tls_server *s = arg;
    struct tr_tls_conn *t = SSL_get_app_data(ssl);
    if (s->sni == NULL || t == NULL)
        return SSL_TLSEXT_ERR_OK;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    char low[MAX_NAME];
    const char *folded = NULL;
    if (name != NULL) {
        size_t n = strlen(name);
        if (n > 0 && n < sizeof(low)) {
            for (size_t i = 0; i <= n; i++)
                low[i] = tr_ascii_lower(name[i]);
            if (low[n - 1] == '.')
                low[n - 1] = '\0';
            folded = low;
        }
    }
    s->sni(ssl, folded, t->ud);
    return SSL_TLSEXT_ERR_OK;
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    /* Room for "h2" later: the list we accept is walked in our order of preference. */
    static const unsigned char ours[] = "\x08http/1.1";
    unsigned char *sel = NULL;
    unsigned char sel_len = 0;
    if (SSL_select_next_proto(&sel, &sel_len, ours, sizeof(ours) - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED) {
        *out = sel;
        *outlen = sel_len;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static void ctx_common(SSL_CTX *ctx)
{
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

struct tr_tls_server *tr_tls_server_new(const char *cert_path, const char *key_path,
                                        tr_tls_sni_fn sni, char *err, size_t err_len)
{
    pthread_once(&conn_bio_once, conn_bio_setup);
    struct tr_tls_server *s = tr_xcalloc(1, sizeof(*s));
    pthread_rwlock_init(&s->lock, NULL);
    s->sni = sni;
    s->ctx = SSL_CTX_new(TLS_server_method());
    s->aes = EVP_CIPHER_fetch(NULL, "AES-256-CBC", NULL);
    if (s->ctx == NULL || s->aes == NULL || new_ticket_key(&s->cur) != 0) {
        snprintf(err, err_len, "cannot create the TLS context");
        goto fail;
    }
    s->rotate_at = time(NULL) + TICKET_ROTATE_S;
    SSL_CTX_set_app_data(s->ctx, s);
    ctx_common(s->ctx);
    if (SSL_CTX_set_cipher_list(s->ctx, SERVER_CIPHERS) != 1 ||
        SSL_CTX_set1_groups_list(s->ctx, GROUPS) != 1) {
        snprintf(err, err_len, "cannot set the TLS ciphers");
        goto fail;
    }
    SSL_CTX_set_session_cache_mode(s->ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(s->ctx, TICKET_ROTATE_S);
    SSL_CTX_set_num_tickets(s->ctx, 1);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(s->ctx, ticket_cb);
    SSL_CTX_set_tlsext_servername_callback(s->ctx, servername_cb);
    SSL_CTX_set_tlsext_servername_arg(s->ctx, s);
    SSL_CTX_set_alpn_select_cb(s->ctx, alpn_cb, s);
    if (SSL_CTX_use_certificate_chain_file(s->ctx, cert_path) != 1) {
        snprintf(err, err_len, "cannot load the certificate '%s'", cert_path);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(s->ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(s->ctx) != 1) {
        snprintf(err, err_len, "cannot load the private key '%s' (or it does not match)", key_path);
        goto fail;
    }
    ERR_clear_error();
    return s;
fail:
    ERR_clear_error();
    tr_tls_server_free(s);
    return NULL;
}

void tr_tls_server_free(struct tr_tls_server *s)
{
    if (s == NULL)
        return;
    SSL_CTX_free(s->ctx);
    EVP_CIPHER_free(s->aes);
    pthread_rwlock_destroy(&s->lock);
    OPENSSL_cleanse(&s->cur, sizeof(s->cur));
    OPENSSL_cleanse(&s->prev, sizeof(s->prev));
    free(s);
}

/* ---- client context ----------------------------------------------------------------------- */

struct tr_tls_client {
    SSL_CTX *ctx;
    tr_tls_session_fn on_session;
    bool verify;
};

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct tr_tls_client *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    struct tr_tls_conn *t = SSL_get_app_data(ssl);
    if (c->on_session == NULL || t == NULL)
        return 0;
    c->on_session(ssl, sess, t->ud);
    return 1; /* the callee owns the reference */
}

struct tr_tls_client *tr_tls_client_new(bool verify, const char *ca_bundle,
                                        tr_tls_session_fn on_session, char *err, size_t err_len)
{
    pthread_once(&conn_bio_once, conn_bio_setup);
    struct tr_tls_client *c = tr_xcalloc(1, sizeof(*c));
    c->verify = verify;
    c->on_session = on_session;
    c->ctx = SSL_CTX_new(TLS_client_method());
    if (c->ctx == NULL) {
        snprintf(err, err_len, "cannot create the upstream TLS context");
        goto fail;
    }
    SSL_CTX_set_app_data(c->ctx, c);
    ctx_common(c->ctx);
    SSL_CTX_set_session_cache_mode(c->ctx,
                                   SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(c->ctx, new_session_cb);
    if (verify) {
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
        int ok = (ca_bundle && ca_bundle[0]) ? SSL_CTX_load_verify_file(c->ctx, ca_bundle)
                                             : SSL_CTX_set_default_verify_paths(c->ctx);
        if (ok != 1) {
            snprintf(err, err_len, "cannot load the CA bundle '%s'",
                     ca_bundle && ca_bundle[0] ? ca_bundle : "(system default)");
            goto fail;
        }
    } else {
        /* The trust store is still loaded: a service may ask for verification itself
         * (tr_tls_client_opts). Without one, such a service's handshakes fail. */
        SSL_CTX_set_verify(c->ctx, SSL_VERIFY_NONE, NULL);
        if (((ca_bundle && ca_bundle[0]) ? SSL_CTX_load_verify_file(c->ctx, ca_bundle)
                                         : SSL_CTX_set_default_verify_paths(c->ctx)) != 1)
            tr_log_warn("tls: cannot load the CA bundle '%s'; services with tls_verify will "
                        "fail their handshakes",
                        ca_bundle && ca_bundle[0] ? ca_bundle : "(system default)");
    }
    ERR_clear_error();
    return c;
fail:
    ERR_clear_error();
    tr_tls_client_free(c);
    return NULL;
}

void tr_tls_client_free(struct tr_tls_client *c)
{
    if (c == NULL)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

/* ---- connections -------------------------------------------------------------------------- */

static struct tr_tls_conn *conn_new(SSL_CTX *ctx, void *ud)
{
    struct tr_tls_conn *t = tr_xcalloc(1, sizeof(*t));
    t->ud = ud;
    tr_buf_init(&t->in, SIZE_MAX);
    tr_buf_init(&t->out, SIZE_MAX);
    t->ssl = SSL_new(ctx);
    BIO *b = BIO_new(conn_bio_method);
    if (t->ssl == NULL || b == NULL) {
        /* Out of memory inside OpenSSL: same policy as tr_xmalloc. */
        tr_log_error("tls: cannot allocate a connection");
        abort();
    }
    BIO_set_data(b, t);
    SSL_set_bio(t->ssl, b, b);
    SSL_set_app_data(t->ssl, t);
    return t;
}

struct tr_tls_conn *tr_tls_conn_server(struct tr_tls_server *s, void *ud)
{
    struct tr_tls_conn *t = conn_new(s->ctx, ud);
    SSL_set_accept_state(t->ssl);
    return t;
}

struct tr_tls_conn *tr_tls_conn_client(struct tr_tls_client *c, const char *servername,
                                       const struct tr_tls_client_opts *opts, SSL_SESSION *resume,
                                       void *ud)
{
    struct tr_tls_conn *t = conn_new(c->ctx, ud);
    SSL_set_connect_state(t->ssl);
    unsigned char a[16];
    bool ip = servername &&
              (inet_pton(AF_INET, servername, a) == 1 || inet_pton(AF_INET6, servername, a) == 1);
    if (servername && servername[0] && !ip)
        SSL_set_tlsext_host_name(t->ssl, servername);
    bool verify = c->verify;
    if (opts && opts->verify >= 0) {
        verify = opts->verify == 1;
        SSL_set_verify(t->ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    }
    if (opts && opts->verify_depth >= 0)
        SSL_set_verify_depth(t->ssl, opts->verify_depth);
    if (opts && opts->cert &&
        SSL_use_cert_and_key(t->ssl, opts->cert->x, opts->cert->k, opts->cert->chain, 1) != 1)
        log_ssl_errors("cannot use a client certificate");
    if (verify && servername && servername[0])
        SSL_set1_host(t->ssl, servername);
    if (resume)
        SSL_set_session(t->ssl, resume);
    ERR_clear_error();
    return t;
}

void tr_tls_conn_free(struct tr_tls_conn *t)
{
    if (t == NULL)
        return;
    /* Closing without close_notify must not make the session unusable for resumption (a TCP
     * close is how HTTP connections end; truncation is the HTTP framing's business). */
    if (t->established)
        SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(t->ssl);
    tr_buf_free(&t->in);
    tr_buf_free(&t->out);
    free(t);
}

int tr_tls_conn_in_space(struct tr_tls_conn *t, size_t want)
{
    if (t->in_off > 0 && tr_buf_room(&t->in) < want) {
        tr_buf_consume(&t->in, t->in_off);
        t->in_off = 0;
    }
    return tr_buf_reserve(&t->in, want);
}

int tr_tls_conn_feed(struct tr_tls_conn *t, const char *data, size_t len)
{
    if (tr_tls_conn_in_space(t, len) != 0)
        return TR_ENOMEM;
    memcpy(tr_buf_tail(&t->in), data, len);
    tr_buf_commit(&t->in, len);
    return 0;
}

int tr_tls_conn_handshake(struct tr_tls_conn *t)
{
    if (t->established)
        return 1;
    if (SSL_is_server(t->ssl) && SSL_in_before(t->ssl) && t->in.len > t->in_off) {
        char first = t->in.ptr[t->in_off];
        if (first >= 'A' && first <= 'Z')
            return TR_EBADREQ; /* plain HTTP on a TLS port */
    }
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1) {
        t->established = true;
        return 1;
    }
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    log_ssl_errors("handshake failed");
    return TR_EIO;
}

int tr_tls_conn_read(struct tr_tls_conn *t, char *buf, size_t cap)
{
    size_t n = 0;
    int rc = SSL_read_ex(t->ssl, buf, cap, &n);
    if (rc == 1)
        return (int)n;
    int e = SSL_get_error(t->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        t->peer_closed = true;
        ERR_clear_error();
        return TR_EIO;
    }
    log_ssl_errors("read failed");
    return TR_EIO;
}

bool tr_tls_conn_has_input(const struct tr_tls_conn *t)
{
    return t->in.len > t->in_off || SSL_has_pending(t->ssl);
}

int tr_tls_conn_write(struct tr_tls_conn *t, const char *data, size_t len)
{
    while (len > 0) {
        size_t w = 0;
        if (SSL_write_ex(t->ssl, data, len, &w) != 1) {
            log_ssl_errors("write failed");
            return TR_EIO;
        }
        data += w;
        len -= w;
    }
    return 0;
}

void tr_tls_conn_shutdown(struct tr_tls_conn *t)
{
    if (t->established && !(SSL_get_shutdown(t->ssl) & SSL_SENT_SHUTDOWN))
        SSL_shutdown(t->ssl);
    ERR_clear_error();
}

const char *tr_tls_conn_alpn(const struct tr_tls_conn *t, char *buf, size_t len)
{
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(t->ssl, &p, &n);
    snprintf(buf, len, "%.*s", (int)n, p ? (const char *)p : "");
    return buf;
}

const char *tr_tls_conn_version(const struct tr_tls_conn *t)
{
    return SSL_get_version(t->ssl);
}

const char *tr_tls_conn_cipher(const struct tr_tls_conn *t)
{
    const char *c = SSL_get_cipher_name(t->ssl);
    return c ? c : "";
}

const char *tr_tls_conn_servername(const struct tr_tls_conn *t)
{
    return SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
}

bool tr_tls_conn_resumed(const struct tr_tls_conn *t)
{
    return SSL_session_reused(t->ssl) == 1;
}

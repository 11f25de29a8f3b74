/* SPDX-License-Identifier: MIT */
/* Tests for http/tls.c (SNI names, the SNI table, certificate checks, the default certificate,
 * a handshake between two in-memory connections) and core/cidr.c (trusted_ips). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "check.h"
#include "core/cidr.h"
#include "core/err.h"
#include "http/tls.h"

/* A self-signed P-256 certificate for cn valid from now+from_s to now+to_s, as PEM strings
 * (malloc'ed). */
static void make_pair(const char *cn, long from_s, long to_s, char **cert, char **key)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_NAME *nm = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, nm);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *p;
    long n = BIO_get_mem_data(b, &p);
    *cert = strndup(p, (size_t)n);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &p);
    *key = strndup(p, (size_t)n);
    BIO_free(b);
    X509_free(x);
    EVP_PKEY_free(k);
}

static void test_sni_names(void)
{
    TR_CHECK(tr_tls_sni_name_valid("example.com"));
    TR_CHECK(tr_tls_sni_name_valid("a-b.example.com"));
    TR_CHECK(tr_tls_sni_name_valid("*.example.com"));
    TR_CHECK(tr_tls_sni_name_valid("example.*"));
    TR_CHECK(tr_tls_sni_name_valid("*"));
    TR_CHECK(tr_tls_sni_name_valid("localhost"));
    TR_CHECK(!tr_tls_sni_name_valid(""));
    TR_CHECK(!tr_tls_sni_name_valid(NULL));
    TR_CHECK(!tr_tls_sni_name_valid("Example.com"));
    TR_CHECK(!tr_tls_sni_name_valid("a.*.com"));
    TR_CHECK(!tr_tls_sni_name_valid("*.*"));
    TR_CHECK(!tr_tls_sni_name_valid("*.a.*"));
    TR_CHECK(!tr_tls_sni_name_valid("*example.com"));
    TR_CHECK(!tr_tls_sni_name_valid("example.com."));
    TR_CHECK(!tr_tls_sni_name_valid("exa mple.com"));
    TR_CHECK(!tr_tls_sni_name_valid("-a.com"));
    TR_CHECK(!tr_tls_sni_name_valid("127.0.0.1"));
    TR_CHECK(!tr_tls_sni_name_valid("::1"));
    TR_CHECK(!tr_tls_sni_name_valid("a..com"));
    TR_CHECK(!tr_tls_sni_name_valid("example.com:443"));
}

static void test_sni_table(void)
{
    char *c1, *k1, *c2, *k2, *c3, *k3;
    make_pair("exact", -60, 3600, &c1, &k1);
    make_pair("wild", -60, 3600, &c2, &k2);
    make_pair("star", -60, 3600, &c3, &k3);
    struct tr_tls_certs *t = tr_tls_certs_new();
    TR_CHECK(tr_tls_certs_lookup(t, "a.example.com") == NULL);
    int i1 = tr_tls_certs_add(t, "id-exact", c1, k1);
    int i2 = tr_tls_certs_add(t, "id-wild", c2, k2);
    TR_CHECK_INT(i1, 0);
    TR_CHECK_INT(i2, 1);
    TR_CHECK_INT(tr_tls_certs_add(t, "id-bad", c1, k2), TR_EINVAL); /* key mismatch */
    TR_CHECK_INT(tr_tls_certs_add(t, "id-junk", "junk", k1), TR_EINVAL);
    TR_CHECK_INT(tr_tls_certs_add_name(t, "a.example.com", i1), 0);
    TR_CHECK_INT(tr_tls_certs_add_name(t, "*.example.com", i2), 0);
    TR_CHECK_INT(tr_tls_certs_add_name(t, "Shop.*", i1), 0);                   /* folded */
    TR_CHECK_INT(tr_tls_certs_add_name(t, "a.example.com", i2), TR_ECONFLICT); /* duplicate */
    TR_CHECK_INT(tr_tls_certs_add_name(t, "bad name", i1), TR_EINVAL);
    TR_CHECK_INT(tr_tls_certs_add_name(t, "x.test", 7), TR_EINVAL);
    TR_CHECK(tr_tls_certs_has_name(t, "a.example.com"));
    TR_CHECK(tr_tls_certs_has_name(t, "SHOP.*"));
    TR_CHECK(!tr_tls_certs_has_name(t, "b.example.com"));
    tr_tls_certs_compile(t);
    TR_CHECK_INT(tr_tls_certs_count(t), 2);
    TR_CHECK_INT(tr_tls_certs_names(t), 3);
    const struct tr_tls_cert *c;
    c = tr_tls_certs_lookup(t, "a.example.com");
    TR_CHECK(c && strcmp(tr_tls_cert_id(c), "id-exact") == 0);
    c = tr_tls_certs_lookup(t, "A.Example.COM.");
    TR_CHECK(c && strcmp(tr_tls_cert_id(c), "id-exact") == 0);
    c = tr_tls_certs_lookup(t, "b.example.com");
    TR_CHECK(c && strcmp(tr_tls_cert_id(c), "id-wild") == 0);
    /* a wildcard covers one label only */
    TR_CHECK(tr_tls_certs_lookup(t, "x.b.example.com") == NULL);
    TR_CHECK(tr_tls_certs_lookup(t, "example.com") == NULL);
    c = tr_tls_certs_lookup(t, "shop.de");
    TR_CHECK(c && strcmp(tr_tls_cert_id(c), "id-exact") == 0);
    TR_CHECK(tr_tls_certs_lookup(t, "shop.co.uk") == NULL);
    TR_CHECK(tr_tls_certs_lookup(t, NULL) == NULL);
    TR_CHECK(tr_tls_certs_lookup(t, "") == NULL);
    tr_tls_certs_free(t);

    /* "*" is the default for unknown names and for no SNI */
    t = tr_tls_certs_new();
    int i3 = tr_tls_certs_add(t, "id-star", c3, k3);
    int i4 = tr_tls_certs_add(t, "id-exact", c1, k1);
    TR_CHECK_INT(tr_tls_certs_add_name(t, "*", i3), 0);
    TR_CHECK_INT(tr_tls_certs_add_name(t, "exact.test", i4), 0);
    tr_tls_certs_compile(t);
    c = tr_tls_certs_lookup(t, "unknown.test");
    TR_CHECK(c && strcmp(tr_tls_cert_id(c), "id-star") == 0);
    c = tr_tls_certs_lookup(t, NULL);
    TR_CHECK(c && strcmp(tr_tls_cert_id(c), "id-star") == 0);
    c = tr_tls_certs_lookup(t, "exact.test");
    TR_CHECK(c && strcmp(tr_tls_cert_id(c), "id-exact") == 0);
    tr_tls_certs_free(t);
    free(c1), free(k1), free(c2), free(k2), free(c3), free(k3);
}

static void test_check_pair(void)
{
    char *c1, *k1, *c2, *k2, *ce, *ke, *cf, *kf;
    make_pair("one", -60, 3600, &c1, &k1);
    make_pair("two", -60, 3600, &c2, &k2);
    make_pair("old", -7200, -3600, &ce, &ke);
    make_pair("future", 3600, 7200, &cf, &kf);
    const char *field = NULL;
    char msg[256], warn[128];
    TR_CHECK_INT(tr_tls_check_pair(c1, k1, &field, msg, sizeof(msg), warn, sizeof(warn)), 0);
    TR_CHECK_STR(warn, "");
    TR_CHECK_INT(tr_tls_check_pair(c1, k2, &field, msg, sizeof(msg), warn, sizeof(warn)),
                 TR_EINVAL);
    TR_CHECK_STR(field, "key");
    TR_CHECK(strstr(msg, "does not match") != NULL);
    TR_CHECK(strstr(msg, "PRIVATE") == NULL);
    TR_CHECK_INT(tr_tls_check_pair("nope", k1, &field, msg, sizeof(msg), warn, sizeof(warn)),
                 TR_EINVAL);
    TR_CHECK_STR(field, "cert");
    TR_CHECK_INT(tr_tls_check_pair(c1, "nope", &field, msg, sizeof(msg), warn, sizeof(warn)),
                 TR_EINVAL);
    TR_CHECK_STR(field, "key");
    TR_CHECK_INT(tr_tls_check_pair(c1, NULL, &field, msg, sizeof(msg), warn, sizeof(warn)),
                 TR_EINVAL);
    TR_CHECK_STR(field, "key");
    /* a key PEM given as the certificate */
    TR_CHECK_INT(tr_tls_check_pair(k1, k1, &field, msg, sizeof(msg), warn, sizeof(warn)),
                 TR_EINVAL);
    TR_CHECK_STR(field, "cert");
    /* leaf plus chain */
    size_t l1 = strlen(c1), l2 = strlen(c2);
    char *chain = malloc(l1 + l2 + 1);
    memcpy(chain, c1, l1);
    memcpy(chain + l1, c2, l2 + 1);
    TR_CHECK_INT(tr_tls_check_pair(chain, k1, &field, msg, sizeof(msg), warn, sizeof(warn)), 0);
    /* a broken chain certificate */
    char *broken = malloc(l1 + 64);
    snprintf(broken, l1 + 64, "%s-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
             c1);
    TR_CHECK_INT(tr_tls_check_pair(broken, k1, &field, msg, sizeof(msg), warn, sizeof(warn)),
                 TR_EINVAL);
    TR_CHECK_STR(field, "cert");
    /* expired and not yet valid: accepted with a warning */
    TR_CHECK_INT(tr_tls_check_pair(ce, ke, &field, msg, sizeof(msg), warn, sizeof(warn)), 0);
    TR_CHECK(strstr(warn, "expired") != NULL);
    TR_CHECK_INT(tr_tls_check_pair(cf, kf, &field, msg, sizeof(msg), warn, sizeof(warn)), 0);
    TR_CHECK(strstr(warn, "not valid yet") != NULL);
    free(chain), free(broken);
    free(c1), free(k1), free(c2), free(k2), free(ce), free(ke), free(cf), free(kf);
}

/* Move out's bytes of a into b's input. */
static void pipe_bytes(struct tr_tls_conn *a, struct tr_tls_conn *b)
{
    TR_CHECK_INT(tr_tls_conn_feed(b, a->out.ptr, a->out.len), 0);
    a->out.len = 0;
}

static void test_default_cert_and_handshake(void)
{
    char dir[] = "/tmp/torii-tls-XXXXXX";
    TR_CHECK(mkdtemp(dir) != NULL);
    char sub[64], cert[256], key[256], err[256];
    snprintf(sub, sizeof(sub), "%s/ssl", dir);
    TR_CHECK_INT(tr_tls_default_cert(sub, cert, sizeof(cert), key, sizeof(key), err, sizeof(err)),
                 0);
    struct stat st;
    TR_CHECK_INT(stat(key, &st), 0);
    TR_CHECK_INT(st.st_mode & 0777, 0600);
    TR_CHECK_INT(stat(sub, &st), 0);
    TR_CHECK_INT(st.st_mode & 0777, 0700);
    struct stat before;
    stat(cert, &before);
    TR_CHECK_INT(tr_tls_default_cert(sub, cert, sizeof(cert), key, sizeof(key), err, sizeof(err)),
                 0);
    struct stat after;
    stat(cert, &after);
    TR_CHECK_INT(before.st_ino, after.st_ino); /* reused, not regenerated */

    struct tr_tls_server *srv = tr_tls_server_new(cert, key, NULL, err, sizeof(err));
    TR_CHECK(srv != NULL);
    struct tr_tls_client *cli = tr_tls_client_new(true, cert, NULL, err, sizeof(err));
    TR_CHECK(cli != NULL);
    struct tr_tls_conn *s = tr_tls_conn_server(srv, NULL);
    struct tr_tls_conn *c = tr_tls_conn_client(cli, "localhost", NULL, NULL, NULL);
    int rs = 0, rc = 0;
    for (int i = 0; i < 10 && (rs != 1 || rc != 1); i++) {
        rc = tr_tls_conn_handshake(c);
        pipe_bytes(c, s);
        rs = tr_tls_conn_handshake(s);
        pipe_bytes(s, c);
    }
    TR_CHECK_INT(rc, 1);
    TR_CHECK_INT(rs, 1);
    TR_CHECK_STR(tr_tls_conn_version(s), "TLSv1.3");
    TR_CHECK_INT(tr_tls_conn_write(c, "hello", 5), 0);
    pipe_bytes(c, s);
    char buf[64];
    TR_CHECK(tr_tls_conn_has_input(s));
    TR_CHECK_INT(tr_tls_conn_read(s, buf, sizeof(buf)), 5);
    TR_CHECK(memcmp(buf, "hello", 5) == 0);
    TR_CHECK_INT(tr_tls_conn_read(s, buf, sizeof(buf)), 0);
    tr_tls_conn_shutdown(c);
    pipe_bytes(c, s);
    TR_CHECK(tr_tls_conn_read(s, buf, sizeof(buf)) < 0);
    TR_CHECK(s->peer_closed);
    tr_tls_conn_free(s);
    tr_tls_conn_free(c);

    /* plain HTTP on the server side */
    s = tr_tls_conn_server(srv, NULL);
    TR_CHECK_INT(tr_tls_conn_feed(s, "GET / HTTP/1.1\r\n", 16), 0);
    TR_CHECK(tr_tls_conn_handshake(s) < 0);
    tr_tls_conn_free(s);
    /* a wrong host name fails verification */
    s = tr_tls_conn_server(srv, NULL);
    c = tr_tls_conn_client(cli, "wrong.test", NULL, NULL, NULL);
    rs = rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++) {
        rc = tr_tls_conn_handshake(c);
        pipe_bytes(c, s);
        rs = tr_tls_conn_handshake(s);
        pipe_bytes(s, c);
    }
    TR_CHECK(rc < 0);
    tr_tls_conn_free(s);
    tr_tls_conn_free(c);
    tr_tls_client_free(cli);
    tr_tls_server_free(srv);
    unlink(cert);
    unlink(key);
    rmdir(sub);
    rmdir(dir);
}

static void test_cidr(void)
{
    struct tr_cidr_list l;
    char err[128];
    TR_CHECK_INT(tr_cidr_list_parse("", &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, 0);
    TR_CHECK(!tr_cidr_list_match(&l, "127.0.0.1"));
    tr_cidr_list_free(&l);
    TR_CHECK_INT(
        tr_cidr_list_parse("10.0.0.0/8, 192.168.1.7 ,::1,2001:db8::/32", &l, err, sizeof(err)), 0);
    TR_CHECK_INT(l.cnt, 4);
    TR_CHECK(tr_cidr_list_match(&l, "10.1.2.3"));
    TR_CHECK(!tr_cidr_list_match(&l, "11.0.0.1"));
    TR_CHECK(tr_cidr_list_match(&l, "192.168.1.7"));
    TR_CHECK(!tr_cidr_list_match(&l, "192.168.1.8"));
    TR_CHECK(tr_cidr_list_match(&l, "::1"));
    TR_CHECK(tr_cidr_list_match(&l, "2001:db8:ffff::1"));
    TR_CHECK(!tr_cidr_list_match(&l, "2001:db9::1"));
    TR_CHECK(tr_cidr_list_match(&l, "::ffff:10.9.9.9"));
    TR_CHECK(!tr_cidr_list_match(&l, "garbage"));
    tr_cidr_list_free(&l);
    TR_CHECK_INT(tr_cidr_list_parse("10.0.0.0/33", &l, err, sizeof(err)), TR_EINVAL);
    TR_CHECK(strstr(err, "10.0.0.0/33") != NULL);
    TR_CHECK_INT(tr_cidr_list_parse("1.2.3.4,", &l, err, sizeof(err)), TR_EINVAL);
    TR_CHECK_INT(tr_cidr_list_parse("host.test", &l, err, sizeof(err)), TR_EINVAL);
    TR_CHECK_INT(tr_cidr_list_parse("0.0.0.0/0", &l, err, sizeof(err)), 0);
    TR_CHECK(tr_cidr_list_match(&l, "8.8.8.8"));
    TR_CHECK(!tr_cidr_list_match(&l, "::2"));
    tr_cidr_list_free(&l);
}

int main(void)
{
    test_sni_names();
    test_sni_table();
    test_check_pair();
    test_default_cert_and_handshake();
    test_cidr();
    return TR_CHECK_DONE();
}

/* SPDX-License-Identifier: MIT */
/* basic-auth's pure parts: Authorization parsing (RFC 7617), the Argon2id hash and its
 * verification, and the password rewrite done before a credential is stored. */
#include "plugins/basic_auth.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"
#include "plugins/plugin.h"
#include "plugins/registry.h"

static int parse(const char *value, char *user, char *pass)
{
    char buf[512];
    struct tr_str u, p;
    int rc = tr_basic_auth_parse(tr_str_from_cstr(value), buf, sizeof(buf), &u, &p);
    if (rc == 0) {
        memcpy(user, u.ptr, u.len);
        user[u.len] = '\0';
        memcpy(pass, p.ptr, p.len);
        pass[p.len] = '\0';
    }
    return rc;
}

static void test_parse(void)
{
    char u[256], p[256];
    /* alice:correct horse battery */
    TR_CHECK_INT(parse("Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5", u, p), 0);
    TR_CHECK_STR(u, "alice");
    TR_CHECK_STR(p, "correct horse battery");
    /* scheme case-insensitive, extra spaces */
    TR_CHECK_INT(parse("  basic   YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5  ", u, p), 0);
    TR_CHECK_STR(u, "alice");
    TR_CHECK_INT(parse("BASIC YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5", u, p), 0);
    /* split at the first colon: carol:pa:ss */
    TR_CHECK_INT(parse("Basic Y2Fyb2w6cGE6c3M=", u, p), 0);
    TR_CHECK_STR(u, "carol");
    TR_CHECK_STR(p, "pa:ss");
    /* empty password is allowed: "bob:" */
    TR_CHECK_INT(parse("Basic Ym9iOg==", u, p), 0);
    TR_CHECK_STR(u, "bob");
    TR_CHECK_STR(p, "");
    /* padding optional: "bob:" without '=' */
    TR_CHECK_INT(parse("Basic Ym9iOg", u, p), 0);
    TR_CHECK_STR(u, "bob");

    /* no colon ("alice") */
    TR_CHECK_INT(parse("Basic YWxpY2U=", u, p), TR_EINVAL);
    /* empty user (":pw") */
    TR_CHECK_INT(parse("Basic OnB3", u, p), TR_EINVAL);
    /* not base64 */
    TR_CHECK_INT(parse("Basic !!!notbase64", u, p), TR_EINVAL);
    /* wrong length, bad padding, non-canonical trailing bits */
    TR_CHECK_INT(parse("Basic Y", u, p), TR_EINVAL);
    TR_CHECK_INT(parse("Basic Ym9iOg=", u, p), TR_EINVAL);
    TR_CHECK_INT(parse("Basic Ym9iOh==", u, p), TR_EINVAL);
    /* other schemes, no value, no space */
    TR_CHECK_INT(parse("Bearer YWxpY2U6eA==", u, p), TR_EINVAL);
    TR_CHECK_INT(parse("Basic", u, p), TR_EINVAL);
    TR_CHECK_INT(parse("Basic ", u, p), TR_EINVAL);
    TR_CHECK_INT(parse("BasicYWxpY2U6eA==", u, p), TR_EINVAL);
    TR_CHECK_INT(parse("", u, p), TR_EINVAL);

    /* the output buffer must be big enough */
    char small[4];
    struct tr_str su, sp;
    TR_CHECK_INT(
        tr_basic_auth_parse(TR_STR_LIT("Basic YWxpY2U6eA=="), small, sizeof(small), &su, &sp),
        TR_EINVAL);
}

static void test_hash(void)
{
    char a[TR_BASIC_AUTH_PHC_MAX], b[TR_BASIC_AUTH_PHC_MAX];
    const char *pw = "correct horse battery";
    TR_CHECK_INT(tr_basic_auth_hash(pw, strlen(pw), a, sizeof(a)), 0);
    TR_CHECK_INT(tr_basic_auth_hash(pw, strlen(pw), b, sizeof(b)), 0);
    TR_CHECK(strncmp(a, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    TR_CHECK(strcmp(a, b) != 0); /* fresh salt each time */
    TR_CHECK(strstr(a, pw) == NULL);
    TR_CHECK(tr_basic_auth_is_phc(a));
    TR_CHECK(!tr_basic_auth_is_phc(pw));
    TR_CHECK(!tr_basic_auth_is_phc(NULL));

    TR_CHECK(tr_basic_auth_verify(a, pw, strlen(pw)));
    TR_CHECK(tr_basic_auth_verify(b, pw, strlen(pw)));
    TR_CHECK(!tr_basic_auth_verify(a, "correct horse batterY", strlen(pw)));
    TR_CHECK(!tr_basic_auth_verify(a, pw, strlen(pw) - 1));
    TR_CHECK(!tr_basic_auth_verify(a, "", 0));
    TR_CHECK(!tr_basic_auth_verify(pw, pw, strlen(pw))); /* a plaintext never verifies */
    TR_CHECK(!tr_basic_auth_verify("$argon2id$garbage", pw, strlen(pw)));

    /* an embedded NUL is part of the password */
    TR_CHECK_INT(tr_basic_auth_hash("a\0b", 3, a, sizeof(a)), 0);
    TR_CHECK(tr_basic_auth_verify(a, "a\0b", 3));
    TR_CHECK(!tr_basic_auth_verify(a, "a", 1));

    /* too small an output buffer */
    char tiny[16];
    TR_CHECK_INT(tr_basic_auth_hash(pw, strlen(pw), tiny, sizeof(tiny)), TR_EINTERNAL);
}

static void test_before_store(void)
{
    const struct tr_plugin_credential *kind = tr_plugin_find_credential("basic-auth");
    TR_CHECK(kind != NULL);
    if (kind == NULL)
        return;
    TR_CHECK_STR(kind->entity, "basicauth_credentials");
    TR_CHECK(kind->before_store != NULL);
    TR_CHECK(kind->hidden_fields != NULL && strcmp(kind->hidden_fields[0], "password") == 0);
    TR_CHECK(tr_plugin_find_credential("basicauth") == kind);

    char err[128] = "";
    json_t *doc = json_pack("{s:s,s:s}", "username", "alice", "password", "s3cret");
    TR_CHECK_INT(kind->before_store(doc, err, sizeof(err)), 0);
    const char *stored = json_string_value(json_object_get(doc, "password"));
    TR_CHECK(tr_basic_auth_is_phc(stored));
    TR_CHECK(tr_basic_auth_verify(stored, "s3cret", 6));
    /* storing the merged doc again (an update without a new password) keeps the hash */
    char *before = strdup(stored);
    TR_CHECK_INT(kind->before_store(doc, err, sizeof(err)), 0);
    TR_CHECK_STR(json_string_value(json_object_get(doc, "password")), before);
    free(before);
    json_decref(doc);

    /* an update without a password: nothing to hash */
    doc = json_pack("{s:s}", "username", "alice");
    TR_CHECK_INT(kind->before_store(doc, err, sizeof(err)), 0);
    TR_CHECK(json_object_get(doc, "password") == NULL);
    json_decref(doc);
    doc = json_pack("{s:s,s:i}", "username", "alice", "password", 5);
    TR_CHECK_INT(kind->before_store(doc, err, sizeof(err)), TR_EINVAL);
    json_decref(doc);
}

int main(void)
{
    test_parse();
    test_hash();
    test_before_store();
    return TR_CHECK_DONE();
}

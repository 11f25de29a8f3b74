/* SPDX-License-Identifier: MIT */
/* Form pairs and JSON body members as hide_credentials sees them: a name matches whatever its
 * spelling (percent-escapes, '+', JSON \u escapes) exactly as the lookup decodes it, every copy
 * is removed, and every other byte stays as sent. */
#include "http/form.h"
#include "http/json_members.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/err.h"

static struct tr_str S(const char *s) {
    return tr_str_from_cstr(s);
}

/* tr_form_key_eq must agree with decoding then comparing, for every input. */
static int
agrees(const char *raw, const char *name)
{
    char buf[256];
    size_t n = tr_form_decode(S(raw), buf);
    bool want = n == strlen(name) && memcmp(buf, name, n) == 0;
    return tr_form_key_eq(S(raw), S(name)) == want;
}

static void test_key_eq(void)
{
    static const char *const same[] = {"apikey", "api%6bey", "api%6Bey", "%61pikey",
                                       "%61%70%69%6B%65%79"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        TR_CHECK(tr_form_key_eq(S(same[i]), S("apikey")));
    TR_CHECK(tr_form_key_eq(S("access%5Ftoken"), S("access_token")));
    TR_CHECK(tr_form_key_eq(S("access%5ftoken"), S("access_token")));
    TR_CHECK(tr_form_key_eq(S("a+b"), S("a b")));
    TR_CHECK(tr_form_key_eq(S("a%2Bb"), S("a+b")));
    TR_CHECK(!tr_form_key_eq(S("a+b"), S("a+b")));
    TR_CHECK(!tr_form_key_eq(S("apikey"), S("apikeyx")));
    TR_CHECK(!tr_form_key_eq(S("apikeyx"), S("apikey")));
    TR_CHECK(!tr_form_key_eq(S("api%6"), S("apik")));
    TR_CHECK(tr_form_key_eq(S("api%6"), S("api%6")));
    TR_CHECK(tr_form_key_eq(S("%zz"), S("%zz")));
    TR_CHECK(tr_form_key_eq(S(""), S("")));
    TR_CHECK(!tr_form_key_eq(S(""), S("a")));
    /* NUL and bytes above 0x7F decode like any other. */
    TR_CHECK(tr_form_key_eq(S("a%00"), (struct tr_str){"a\0", 2}));
    TR_CHECK(tr_form_key_eq(S("%C3%A9"), S("\xc3\xa9")));

    static const char *const raws[] = {"apikey", "api%6bey", "%",     "%4", "%41",   "a%4",
                                       "+",      "%2b",      "x%zzy", "",   "api%6", "apikey%"};
    static const char *const names[] = {"apikey", "A", "%4", " ", "+", "x%zzy", "", "api%6"};
    for (size_t i = 0; i < sizeof(raws) / sizeof(raws[0]); i++) {
        for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
            TR_CHECK(agrees(raws[i], names[j]));
    }
}

static int removes_to(const char *in, const char *name, const char *want, bool want_removed)
{
    char out[512];
    struct tr_str nm = S(name);
    bool removed = !want_removed;
    size_t n = tr_form_remove(S(in), &nm, 1, out, &removed);
    out[n] = '\0';
    if (strcmp(out, want) != 0 || removed != want_removed) {
        fprintf(stderr, "  %s without %s: got '%s' (%d), want '%s'\n", in, name, out, removed,
                want);
        return 0;
    }
    return 1;
}

static void test_form_remove(void)
{
    TR_CHECK(removes_to("a=1&apikey=K&b=2", "apikey", "a=1&b=2", true));
    TR_CHECK(removes_to("apikey=K", "apikey", "", true));
    TR_CHECK(
        removes_to("api%6Bey=K&x=%41+b&%61pikey=K2&api%6bey&apikey=", "apikey", "x=%41+b", true));
    TR_CHECK(removes_to("access%5Ftoken=T&q=a%26b", "access_token", "q=a%26b", true));
    /* Others keep their exact bytes, escapes and '+' included. */
    TR_CHECK(removes_to("q=%7e+x&apikey=K&r=%2B%2b", "apikey", "q=%7e+x&r=%2B%2b", true));
    /* A '+' name is a space: "api+key" is not apikey. */
    TR_CHECK(removes_to("api+key=K&apikey=K", "apikey", "api+key=K", true));
    TR_CHECK(removes_to("a=1&b=2", "apikey", "a=1&b=2", false));
    TR_CHECK(removes_to("=v&apikey=K", "apikey", "=v", true));

    char out[64];
    struct tr_str names[2] = {S("a"), S("b")};
    size_t n = tr_form_remove(S("a=1&c=3&b=2&%61=4"), names, 2, out, NULL);
    TR_CHECK_INT(n, 3);
    TR_CHECK(memcmp(out, "c=3", 3) == 0);
}

static int json_removes_to(const char *in, const char *name, const char *want, size_t want_count)
{
    char out[512];
    size_t n = 0, count = 99;
    int rc = tr_json_members_remove(S(in), S(name), out, &n, &count);
    out[rc == 0 ? n : 0] = '\0';
    if (rc != 0 || strcmp(out, want) != 0 || count != want_count) {
        fprintf(stderr, "  %s without %s: rc %d got '%s' (%zu), want '%s' (%zu)\n", in, name, rc,
                out, count, want, want_count);
        return 0;
    }
    size_t only = 99;
    return tr_json_members_remove(S(in), S(name), NULL, NULL, &only) == 0 && only == count;
}

static int json_refused(const char *in)
{
    char out[512];
    size_t n, count;
    return tr_json_members_remove(S(in), S("apikey"), out, &n, &count) == TR_EINVAL;
}

static void test_json_members(void)
{
    TR_CHECK(json_removes_to("{\"apikey\":\"K\",\"n\":1}", "apikey", "{\"n\":1}", 1));
    TR_CHECK(json_removes_to("{\"n\":1,\"apikey\":\"K\"}", "apikey", "{\"n\":1}", 1));
    TR_CHECK(
        json_removes_to("{\"n\":1, \"apikey\":\"K\", \"m\":2}", "apikey", "{\"n\":1, \"m\":2}", 1));
    TR_CHECK(json_removes_to(" { \"apikey\" : \"K\" } ", "apikey", " {  } ", 1));
    /* Escaped spellings of the name, and every copy. */
    TR_CHECK(json_removes_to("{\"api\\u006bey\":\"K\",\"x\":0.10,\"\\u0061pikey\":\"K\"}", "apikey",
                             "{\"x\":0.10}", 2));
    TR_CHECK(json_removes_to("{\"api\\u006Bey\":\"K\"}", "apikey", "{}", 1));
    /* Other members keep their bytes: numbers, escapes, nesting, spacing. */
    const char *doc = "{\"a\": 1.0e2, \"s\": \"\\u00e9\\\"}{\", \"apikey\": \"K\",\n"
                      "  \"o\": {\"apikey\": [1, {\"b\": \"]\"}]}, \"z\": null}";
    const char *want = "{\"a\": 1.0e2, \"s\": \"\\u00e9\\\"}{\", \"o\": {\"apikey\": [1, "
                       "{\"b\": \"]\"}]}, \"z\": null}";
    TR_CHECK(json_removes_to(doc, "apikey", want, 1));
    TR_CHECK(json_removes_to("{\"a\":true,\"b\":false}", "apikey", "{\"a\":true,\"b\":false}", 0));
    TR_CHECK(json_removes_to("{}", "apikey", "{}", 0));
    TR_CHECK(json_removes_to("{\"apikeyx\":1,\"Apikey\":2}", "apikey",
                             "{\"apikeyx\":1,\"Apikey\":2}", 0));

    TR_CHECK(json_refused("[\"apikey\"]"));
    TR_CHECK(json_refused("\"apikey\""));
    TR_CHECK(json_refused("{\"apikey\":}"));
    TR_CHECK(json_refused("{\"apikey\":\"K\""));
    TR_CHECK(json_refused("{\"apikey\" \"K\"}"));
    TR_CHECK(json_refused("{\"a\":[1}]}"));
    TR_CHECK(json_refused("{\"a\":1}{}"));
    TR_CHECK(json_refused("{\"a\":1,}"));
    TR_CHECK(json_refused("{\"a\nb\":1}"));
    TR_CHECK(json_refused("{\"\\uZZZZ\":1}"));
    TR_CHECK(json_refused(""));

    /* Nesting is bounded. */
    char deep[300];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "{\"a\":");
    for (int i = 0; i < 70; i++)
        deep[n++] = '[';
    for (int i = 0; i < 70; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    TR_CHECK(json_refused(deep));
}

int main(void)
{
    test_key_eq();
    test_form_remove();
    test_json_members();
    return TR_CHECK_DONE();
}

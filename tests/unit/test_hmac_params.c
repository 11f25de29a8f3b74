/* SPDX-License-Identifier: MIT */
/* hmac-auth's header parameters (Kong's regex: greedy values, any spaces after the commas,
 * "hmac" in either case) and the three HTTP date forms. */
#include <string.h>

#include "check.h"
#include "plugins/hmac_params.h"

static bool is(struct tr_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

static void test_params(void)
{
    struct tr_hmac_params p;
    TR_CHECK(
        tr_hmac_params_parse(tr_str_from_cstr("hmac username=\"bob\", algorithm=\"hmac-sha1\", "
                                              "headers=\"date request-line\", "
                                              "signature=\"c2ln\""),
                             &p));
    TR_CHECK(is(p.username, "bob") && is(p.algorithm, "hmac-sha1") &&
             is(p.headers, "date request-line") && is(p.signature, "c2ln"));
    TR_CHECK(tr_hmac_params_parse(tr_str_from_cstr("  Hmac username=\"a\",algorithm=\"b\","
                                                   "headers=\"c\",signature=\"d\""),
                                  &p));
    TR_CHECK(is(p.username, "a") && is(p.signature, "d"));
    TR_CHECK(!tr_hmac_params_parse(tr_str_from_cstr("Basic Ym9iOnNlY3JldA=="), &p));
    TR_CHECK(!tr_hmac_params_parse(tr_str_from_cstr("hmac username=\"bob\""), &p));
    TR_CHECK(!tr_hmac_params_parse(tr_str_from_cstr("hmac username=\"\", algorithm=\"b\", "
                                                    "headers=\"c\", signature=\"d\""),
                                   &p));
}

static void test_dates(void)
{
    TR_CHECK_INT(tr_http_date_parse(tr_str_from_cstr("Sun, 06 Nov 1994 08:49:37 GMT")), 784111777);
    TR_CHECK_INT(tr_http_date_parse(tr_str_from_cstr("Sunday, 06-Nov-94 08:49:37 GMT")), 784111777);
    TR_CHECK_INT(tr_http_date_parse(tr_str_from_cstr("Sun Nov  6 08:49:37 1994")), 784111777);
    TR_CHECK_INT(tr_http_date_parse(tr_str_from_cstr("06 Nov 1994")), -1);
    TR_CHECK_INT(tr_http_date_parse(tr_str_from_cstr("Sun, 06 Nov 1994 08:49:37 GMT junk")), -1);
    TR_CHECK_INT(tr_http_date_parse(tr_str_from_cstr("")), -1);
}

int main(void)
{
    test_params();
    test_dates();
    return TR_CHECK_DONE();
}

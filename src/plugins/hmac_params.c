/* SPDX-License-Identifier: MIT */
/* hmac-auth's header parameters and HTTP dates (hmac_params.h). */
#define PCRE2_CODE_UNIT_WIDTH 8

#include "plugins/hmac_params.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pcre2.h>

/* Kong's regex over the header, compiled once per process. */
static pcre2_code *params_re;
static pthread_once_t params_once = PTHREAD_ONCE_INIT;

static void compile_params_re(void)
{
    int errcode;
    PCRE2_SIZE erroff;
    params_re =
        pcre2_compile((PCRE2_SPTR) "\\s*[Hh]mac\\s*username=\"(.+)\",\\s*algorithm=\"(.+)\","
                                   "\\s*headers=\"(.+)\",\\s*signature=\"(.+)\"",
                      PCRE2_ZERO_TERMINATED, 0, &errcode, &erroff, NULL);
    if (params_re == NULL) /* a constant: a programming error, caught by any test */
        abort();
    (void)pcre2_jit_compile(params_re, PCRE2_JIT_COMPLETE);
}

bool tr_hmac_params_parse(struct tr_str v, struct tr_hmac_params *p)
{
    pthread_once(&params_once, compile_params_re);
    memset(p, 0, sizeof(*p));
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(params_re, NULL);
    bool ok = md && pcre2_match(params_re, (PCRE2_SPTR)v.ptr, v.len, 0, 0, md, NULL) >= 5;
    if (ok) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        struct tr_str *out[] = {&p->username, &p->algorithm, &p->headers, &p->signature};
        for (int i = 1; i <= 4; i++)
            *out[i - 1] = (struct tr_str){v.ptr + ov[2 * i], ov[2 * i + 1] - ov[2 * i]};
    }
    pcre2_match_data_free(md);
    return ok;
}

int64_t tr_http_date_parse(struct tr_str v)
{
    char buf[64];
    if (v.len == 0 || v.len >= sizeof(buf) || memchr(v.ptr, '\0', v.len))
        return -1;
    memcpy(buf, v.ptr, v.len);
    buf[v.len] = '\0';
    static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
                                          "%a %b %e %H:%M:%S %Y"};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        struct tm tm;
        memset(&tm, 0, sizeof(tm));
        const char *end = strptime(buf, formats[i], &tm);
        if (end != NULL && *end == '\0')
            return (int64_t)timegm(&tm);
    }
    return -1;
}

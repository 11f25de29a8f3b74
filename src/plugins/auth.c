/* SPDX-License-Identifier: MIT */
/* Helpers shared by the authentication plugins: the anonymous fallback and the busy answer. */
#include "plugins/auth.h"

#include <openssl/rand.h>

#include "core/err.h"
#include "core/log.h"

int tr_auth_fail(struct tr_ctx *ctx, const char *anonymous, int status, const char *message,
                 const char *www_authenticate)
{
    if (anonymous == NULL) {
        tr_ctx_respond_message(ctx, status, message);
        if (www_authenticate)
            tr_ctx_add_response_header(ctx, TR_STR_LIT("WWW-Authenticate"),
                                       tr_str_from_cstr(www_authenticate));
        return TR_PLUGIN_EXIT;
    }
    const struct tr_consumer *anon = tr_ctx_find_consumer(ctx, tr_str_from_cstr(anonymous));
    if (anon == NULL) {
        /* Kong answers 500 here; the body never names the consumer (P10b). */
        tr_log_error("anonymous consumer '%s' is configured but does not exist", anonymous);
        tr_ctx_respond_error(ctx, TR_EINTERNAL);
        return TR_PLUGIN_EXIT;
    }
    tr_ctx_set_consumer(ctx, anon, NULL, true);
    return TR_PLUGIN_NEXT;
}

int tr_auth_busy(struct tr_ctx *ctx)
{
    /* 503, not 429: the node is overloaded as a whole (RFC 9110 §15.6.4), this client did not
     * necessarily send too many requests (RFC 6585 §4), and 429 is what rate-limiting says. */
    tr_ctx_respond_error(ctx, TR_EBUSY);
    tr_ctx_add_response_header(ctx, TR_STR_LIT("Retry-After"), TR_STR_LIT("1"));
    return TR_PLUGIN_EXIT;
}

bool tr_auth_already_done(const struct tr_ctx *ctx, const char *anonymous)
{
    return anonymous != NULL && tr_ctx_credential(ctx) != NULL;
}

json_t *tr_auth_gen_key(const json_t *rec)
{
    (void)rec;
    unsigned char raw[16];
    if (RAND_bytes(raw, (int)sizeof(raw)) != 1)
        return NULL;
    static const char hex[] = "0123456789abcdef";
    char out[2 * sizeof(raw) + 1];
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[2 * sizeof(raw)] = '\0';
    return json_string(out);
}

/* SPDX-License-Identifier: MIT */
/* What hmac-auth reads from a request before any key is involved: the parameters of an
 * `hmac username="...", algorithm="...", headers="...", signature="..."` header (Kong's
 * regex, as PCRE2 runs it) and HTTP dates (RFC 9110 §5.6.7). Pure functions. */
#ifndef TR_PLUGINS_HMAC_PARAMS_H
#define TR_PLUGINS_HMAC_PARAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

struct tr_hmac_params {
    struct tr_str username, algorithm, headers, signature; /* slices of the header value */
};

/* Parse an Authorization or Proxy-Authorization value: true when it is an hmac one. */
bool tr_hmac_params_parse(struct tr_str value, struct tr_hmac_params *out);

/* An HTTP date (IMF-fixdate, RFC 850 or asctime) as Unix seconds, or -1. */
int64_t tr_http_date_parse(struct tr_str value);

#endif

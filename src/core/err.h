/* SPDX-License-Identifier: MIT */
/* The error table: every error torii can produce, with a short name, the message a client sees
 * (Kong's wording where Kong has one) and the HTTP status it maps to. Fallible functions return
 * 0 or a negative TR_E* value; libuv/errno values are translated at the boundary. */
#ifndef TR_CORE_ERR_H
#define TR_CORE_ERR_H

/* XX(symbol, value, status, message) */
#define TR_ERR_MAP(XX)                                                                             \
    XX(EAGAIN, -1, 0, "Need more data")                                                            \
    XX(EBADREQ, -2, 400, "Bad request")                                                            \
    XX(EURITOOLONG, -3, 414, "Request-URI too long")                                               \
    XX(EHDRTOOLARGE, -4, 431, "Request header fields too large")                                   \
    XX(ENOTIMPL, -5, 501, "Not implemented")                                                       \
    XX(ETOOLARGE, -6, 413, "Request size limit exceeded")                                          \
    XX(ENOMEM, -7, 500, "An unexpected error occurred")                                            \
    XX(ENOROUTE, -8, 404, "API not found with these values")                                       \
    XX(EUPSTREAM_REFUSED, -9, 502, "An invalid response was received from the upstream server")    \
    XX(EUPSTREAM_TIMEOUT, -10, 504, "The upstream server is timing out")                           \
    XX(EUPSTREAM_BADRESP, -11, 502, "An invalid response was received from the upstream server")   \
    XX(ETIMEOUT, -12, 408, "Request timeout")                                                      \
    XX(EMETHOD, -13, 405, "Method not allowed")                                                    \
    XX(ENOTFOUND, -14, 404, "Not found")                                                           \
    XX(ECONFLICT, -15, 409, "Conflict")                                                            \
    XX(EINVAL, -16, 400, "Invalid value")                                                          \
    XX(EDB, -17, 500, "An unexpected error occurred")                                              \
    XX(EEXPECT, -18, 417, "Expectation failed")                                                    \
    XX(ELENGTHREQ, -19, 411, "Length required")                                                    \
    XX(EDNS, -20, 503, "The upstream server is currently unavailable")                             \
    XX(EUNAVAIL, -21, 503, "The upstream server is currently unavailable")                         \
    XX(EIO, -22, 500, "An unexpected error occurred")                                              \
    XX(EVERSION, -23, 505, "HTTP version not supported")                                           \
    XX(EINTERNAL, -24, 500, "An unexpected error occurred")                                        \
    XX(EBUSY, -25, 503, "Too busy, try again later")                                               \
    XX(ECANCELED, -26, 500, "An unexpected error occurred")                                        \
    XX(EOF, -27, 0, "End of input")

enum tr_err {
#define TR_ERR_ENUM(sym, val, status, msg) TR_##sym = (val),
    TR_ERR_MAP(TR_ERR_ENUM)
#undef TR_ERR_ENUM
};

/* Name ("EBADREQ"), client-facing message, and HTTP status of err; unknown values give
 * "EUNKNOWN", "An unexpected error occurred" and 500. */
const char *tr_err_name(int err);
const char *tr_err_message(int err);
int tr_err_status(int err);

#endif

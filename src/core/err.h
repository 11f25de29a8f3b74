/* SPDX-License-Identifier: MIT */
/* The error table: every error torii can produce, with a short name, the message a client sees
 * (Kong's wording where Kong has one) and the HTTP status it maps to. It is the only source of
 * the status and message of a failure torii answers itself (the Admin API's and the proxy's):
 * a new condition gets a row here, never a literal pair at the call site. One condition, one
 * row, one spelling; rows may share a message when the client cannot tell the causes apart (a
 * database error and an allocation failure are both "An unexpected error occurred").
 * Fallible functions return 0 or a negative TR_E* value; libuv/errno values are translated at
 * the boundary. A new row takes the next unused value; values are never reused or renumbered
 * (TR_EAGAIN stays -1, so -1 means "need more data" and nothing else). */
#ifndef TR_CORE_ERR_H
#define TR_CORE_ERR_H

/* XX(symbol, value, status, message). Status 0: not an answer (TR_EAGAIN asks for more input,
 * TR_EOF tells a socket's owner the peer closed). EDNS and EDBUNAVAIL are Kong 3's wording
 * (the proxy's DNS failure and /status/ready's 503). EBUSY is the password-hash queue being
 * full (proxy/hashpool.h), the only busy condition torii has. ENOPEER is Kong's answer when an
 * upstream's balancer has no address to give (all unhealthy, none, or weight 0). ENOROUTE is Kong
 * 0.7's 404 and ENOMATCH Kong 3's (proxy/respond.c picks one by what the node has). */
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
    XX(EDNS, -20, 503, "name resolution failed")                                                   \
    XX(EUNAVAIL, -21, 503, "The upstream server is currently unavailable")                         \
    XX(EIO, -22, 500, "An unexpected error occurred")                                              \
    XX(EVERSION, -23, 505, "HTTP version not supported")                                           \
    XX(EINTERNAL, -24, 500, "An unexpected error occurred")                                        \
    XX(EBUSY, -25, 503, "Authentication is busy, try again later")                                 \
    XX(ECANCELED, -26, 500, "An unexpected error occurred")                                        \
    XX(EOF, -27, 0, "End of input")                                                                \
    XX(EDBUNAVAIL, -28, 503, "failed to connect to database")                                      \
    XX(EUNAUTHORIZED, -29, 401, "Unauthorized")                                                    \
    XX(EORIGIN, -30, 403, "Cross-origin writes to the Admin API are not allowed")                  \
    XX(EPREFLIGHT, -31, 403, "Cross-origin requests to the Admin API are not allowed")             \
    XX(EMISDIRECTED, -32, 421, "Misdirected request: the Admin API answers only local hosts")      \
    XX(EMEDIATYPE, -33, 415,                                                                       \
       "Unsupported Content-Type: use application/json, application/x-www-form-urlencoded or "     \
       "multipart/form-data")                                                                      \
    XX(EPLUGINEXISTS, -34, 409, "Plugin configuration already exists")                             \
    XX(EHTTPSONLY, -35, 426, "Please use HTTPS protocol")                                          \
    XX(ENOMATCH, -36, 404, "no Route matched with those values")                                   \
    XX(ENOSERVICE, -37, 503, "no Service found with those values")                                 \
    XX(ENOPEER, -38, 503, "failure to get a peer from the ring-balancer")

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

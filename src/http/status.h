/* SPDX-License-Identifier: MIT */
/* Reason phrases for the status codes torii answers with itself. */
#ifndef TR_HTTP_STATUS_H
#define TR_HTTP_STATUS_H

/* The RFC 9110 reason phrase of status, or "Unknown". Never NULL. */
const char *tr_http_status_reason(int status);

#endif

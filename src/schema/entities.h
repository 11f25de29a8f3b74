/* SPDX-License-Identifier: MIT */
/* The field tables of the core entities (Kong 0.7 /apis with the 0.10 additions, consumers).
 * Shared by the Admin API and any other writer (declarative import), so that every way into
 * the store applies the same rules. Plugin config schemas live with their plugins. */
#ifndef TR_SCHEMA_ENTITIES_H
#define TR_SCHEMA_ENTITIES_H

#include "schema/schema.h"

/* Kong 0.7 /apis: id, created_at (ms), name (derived when absent), request_host,
 * request_path, strip_request_path, preserve_host, upstream_url; plus retries,
 * upstream_{connect,send,read}_timeout, https_only and http_if_terminated from 0.10. */
extern const struct tr_schema tr_schema_apis;

/* Kong 0.7 consumers: id, created_at (ms), username, custom_id (at least one of the two). */
extern const struct tr_schema tr_schema_consumers;

/* Kong 0.9 plugins: id, created_at (ms), name (required, immutable), api_id, consumer_id,
 * service_id and route_id (optional; the last two Kong 3's service and route), config (an object:
 * the Admin API validates it against the named plugin's own schema, see admin/plugins.c), enabled
 * (default true). */
extern const struct tr_schema tr_schema_plugins;

/* Kong 3.x certificates: id, created_at (ms), cert (PEM, chain allowed), key (PEM). */
extern const struct tr_schema tr_schema_certificates;

/* Kong 3.x snis: id, name (unique), certificate_id (shown as certificate.id), created_at. */
extern const struct tr_schema tr_schema_snis;

#endif

/* SPDX-License-Identifier: MIT */
/* Kong 3.x entities validated with Kong 3's rules and messages: services, routes, upstreams
 * and targets. Kong 3
 * reports errors differently from Kong 0.7 (schema.h): a "fields" object that follows the
 * input's structure ("required field missing" under "host", an array of per-item messages
 * under "paths", entity-wide rules as a list under "@entity"), which admin/errors3.c wraps into
 * the {"code","name","message","fields"} body. The rules here need no store: foreign keys are
 * checked for shape only (the Admin API resolves them).
 *
 * Stored shape (what the store holds and the snapshot reads): every field of Kong's entity,
 * unset ones as JSON null, timestamps as integer seconds, and each foreign key as a top-level
 * "<field>_id" string (or null) instead of Kong's {"id": ...} record: a service's
 * client_certificate is "client_certificate_id", a route's service is "service_id". */
#ifndef TR_SCHEMA_KONG3_H
#define TR_SCHEMA_KONG3_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "schema/schema.h"

/* Bounds on the lists of a route (and a service's ca_certificates, and tags), each refused
 * with "at most N entries" under the field: a route is matched against all its entries. */
#define TR_SCHEMA3_MAX_ITEMS 256
/* Header values per header name in a route's headers. */
#define TR_SCHEMA3_MAX_HEADER_VALUES 256

/* Validate a service or a route (Kong 3.9's services.lua, routes.lua, typedefs.lua).
 *  mode:     TR_SCHEMA_INSERT (POST, or PUT creating: input may carry the id), TR_SCHEMA_UPDATE
 *            (PATCH: input merged onto existing), TR_SCHEMA_REPLACE (PUT over existing: input
 *            is the whole entity; id and created_at kept);
 *  input:    the decoded body (form strings are coerced: "80" to 80, "true" to true, a string
 *            where a list is expected split on commas); JSON null unsets a field; a foreign
 *            key is {"id": uuid} or null (the caller turns {"name": ...} into an id);
 *  existing: the stored doc for UPDATE and REPLACE (borrowed), NULL for INSERT;
 *  now:      the time for created_at and updated_at, in seconds.
 * Returns 0 with a new stored-shape doc in *out, or TR_EINVAL with a new Kong 3 "fields"
 * object in *fields. */
int tr_schema3_service(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                       long long now, json_t **out, json_t **fields);
int tr_schema3_route(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                     long long now, json_t **out, json_t **fields);

/* Validate an upstream or a target (Kong 3.9's upstreams.lua, targets.lua), same contract.
 * Upstreams: the algorithm / hash_on shorthands and entity checks of upstreams.lua, and the
 * healthchecks record with Kong's defaults (a PATCH merges it level by level). Targets: the
 * target normalised as Kong's DAO does ("host:port", port 8000 by default, IPv4 without
 * leading zeros, IPv6 expanded in brackets); the upstream is required ({"id": ...}, given by
 * the path); created_at and updated_at are kept in milliseconds (Kong's targets show seconds
 * with three decimals; the Admin API converts) and, given in input, are read as seconds. */
int tr_schema3_upstream(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                        long long now, json_t **out, json_t **fields);
int tr_schema3_target(enum tr_schema_mode mode, const json_t *input, const json_t *existing,
                      long long now, json_t **out, json_t **fields);

/* An upstream name: a hostname, no IP address, no port ("Invalid name ('x'); ..."). */
bool tr_schema3_upstream_name_ok(const char *name, char *msg, size_t msg_len);
/* Kong's format_target: target normalised into out; false when it is not a hostname or an IP
 * address with an optional port, or out is too small. */
bool tr_schema3_target_normalize(const char *target, char *out, size_t out_len);
/* A new healthchecks record holding Kong's defaults. */
json_t *tr_schema3_healthchecks_defaults(void);
/* Kong's is_upstream_using_healthcheck: an active interval, or a passive unhealthy threshold,
 * is not 0 in a stored upstream doc. */
bool tr_schema3_upstream_healthchecks_on(const json_t *doc);

/* The checks behind them, for tests and later entities. Each returns true, or false with
 * Kong's message in msg. */
/* A service host: a name, an IPv4 address or an IPv6 address, no port. */
bool tr_schema3_host_ok(const char *host, char *msg, size_t msg_len);
/* A route host: a name with an optional :port, at most one '*' as its whole leftmost or
 * rightmost label. */
bool tr_schema3_route_host_ok(const char *host, char *msg, size_t msg_len);
/* A route path: "/..." in normalized form without empty segments, or "~/..." a regex that
 * PCRE2 compiles. */
bool tr_schema3_router_path_ok(const char *path, char *msg, size_t msg_len);
/* A tag: printable ASCII except ',' and '/', or UTF-8. */
bool tr_schema3_tag_ok(const char *tag, size_t len, char *msg, size_t msg_len);

/* Split Kong's url shorthand ("https://host:8443/path") into protocol, host, port and path
 * set on rec (port inferred from the scheme: 443 for https, else 80). False when it has no
 * scheme or host (then rec is left alone). */
bool tr_schema3_expand_url(const char *url, json_t *rec);

#endif

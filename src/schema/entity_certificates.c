/* SPDX-License-Identifier: MIT */
/* The certificates and snis entities (Kong 3.x shapes; created_at in milliseconds like every
 * other torii entity). PEM parsing, the key/cert match and SNI name rules need OpenSSL and run
 * in admin/certificates.c; these tables hold the field rules every writer shares. */
#include "schema/entities.h"

#include "core/mem.h"

static const struct tr_schema_field cert_fields[] = {
    TR_SCHEMA_FIELD_ID,
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
    {.name = "cert",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_TEXT,
     .help = "PEM certificate, leaf first, then its chain"},
    {.name = "key",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_TEXT | TR_SCHEMA_WRITE_ONLY,
     .help = "PEM private key of the leaf (write-only)"},
};

const struct tr_schema tr_schema_certificates = {
    .name = "certificates",
    .fields = cert_fields,
    .cnt = TR_ARRAY_SIZE(cert_fields),
};

static const struct tr_schema_field sni_fields[] = {
    TR_SCHEMA_FIELD_ID,
    {.name = "name",
     .type = TR_SCHEMA_STRING,
     .flags = TR_SCHEMA_REQUIRED | TR_SCHEMA_UNIQUE,
     .help = "host name, or a wildcard as the leftmost or rightmost label, or *"},
    {.name = "certificate_id",
     .type = TR_SCHEMA_UUID,
     .flags = TR_SCHEMA_REQUIRED,
     .help = "the certificate served for this name (shown as certificate.id)"},
    TR_SCHEMA_FIELD_CREATED_AT,
    TR_SCHEMA_FIELD_TAGS,
};

const struct tr_schema tr_schema_snis = {
    .name = "snis",
    .fields = sni_fields,
    .cnt = TR_ARRAY_SIZE(sni_fields),
};

/* SPDX-License-Identifier: MIT */
/* A node's local copy of its configuration: every entity row of a store in one file under the
 * prefix, so that a node on a remote database (PostgreSQL) that starts while the database is
 * down still serves what it last saw. The file is replaced atomically (written beside, fsync'ed,
 * renamed) and checked before use: a header line, then one line per row.
 *
 *   torii-config-copy 1 schema=<version> written=<unix ms> rows=<n> length=<body bytes>
 *   sha256=<hex of the body>\n
 *   <entity kind>\t<the row as compact JSON>\n      (n times: the body)
 *
 * Rows come parents first (a certificate before its SNIs, a service before its routes, ...),
 * so loading is one pass of inserts. The file holds credentials as the store does (hashed
 * passwords, keys): it is written owner-only. */
#ifndef TR_STORE_COPY_H
#define TR_STORE_COPY_H

#include <stddef.h>
#include <stdint.h>

struct tr_store;

/* What a copy says about itself. */
struct tr_store_copy_info {
    int schema;         /* the schema version of the store it was taken from */
    int64_t written_ms; /* wall clock, ms */
    size_t rows;
};

/* Write every entity row of from, read in one consistent picture (tr_store_read_begin), to
 * path, replacing what is there only once the whole file is on disk. Returns 0, or TR_EDB /
 * TR_EIO with err set. */
int tr_store_copy_save(struct tr_store *from, const char *path, struct tr_store_copy_info *info,
                       char *err, size_t err_len);

/* Check the copy at path (header, length, checksum, this build's schema) and load its rows into
 * a new SQLite store at db_path (any file there first removed). Returns 0 with *out and *info
 * set, TR_ENOTFOUND when there is no copy, or TR_EINVAL / TR_EIO / TR_EDB with err naming what
 * is wrong with it. */
int tr_store_copy_open(const char *path, const char *db_path, struct tr_store **out,
                       struct tr_store_copy_info *info, char *err, size_t err_len);

/* Remove the SQLite files of a store opened by tr_store_copy_open at db_path (after closing it). */
void tr_store_copy_remove_db(const char *db_path);

#endif

/* SPDX-License-Identifier: MIT */
/* A runtime session (struct tr_store_tx, from tr_store_tx_acquire or, for a plugin, handed to
 * its tr_ctx_offload_store work): transactions over the runtime rows of store/oauth2.h. Every
 * call blocks (thread pool or control thread only). Without a transaction each row operation
 * commits on its own. Runtime rows are committed without an fsync each: a crash of the process
 * keeps them, a power cut may lose the last ones (their clients then simply ask again). */
#ifndef TR_STORE_RUNTIME_H
#define TR_STORE_RUNTIME_H

struct tr_store_tx;

/* Start a transaction that takes the write lock at once (writers queue on the backend's busy
 * timeout rather than fail halfway). Returns 0 or TR_EDB (logged). */
int tr_store_tx_begin(struct tr_store_tx *tx);
/* Commit; on failure the transaction is rolled back. Returns 0 or TR_EDB (logged). */
int tr_store_tx_commit(struct tr_store_tx *tx);
/* Roll back the open transaction, if any. */
void tr_store_tx_rollback(struct tr_store_tx *tx);

#endif

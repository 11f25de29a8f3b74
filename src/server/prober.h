/* SPDX-License-Identifier: MIT */
/* Active health checks (Kong's healthchecks.active): one prober per node, on the control
 * thread's loop, never on a worker. It probes the addresses of every upstream of the published
 * snapshot whose active checks are on: a healthy address every healthy.interval seconds, an
 * unhealthy one every unhealthy.interval (0: not probed in that state), at most `concurrency`
 * probes at a time per upstream. A probe is a TCP connect (type tcp), or a GET of http_path
 * with the configured headers, over TLS for https (https_sni, https_verify_certificate), whose
 * status counts against the active thresholds. Results go to the shared health registry, so
 * every worker sees a change on its next pick (docs/internals/balancer.md). */
#ifndef TR_SERVER_PROBER_H
#define TR_SERVER_PROBER_H

#include <uv.h>

struct tr_conf;
struct tr_prober;

/* Start probing on loop (the control thread's). The TLS context of https probes is made at
 * the first one (loading a CA bundle takes a while); if it cannot be, those probes fail. conf
 * must outlive the prober. */
struct tr_prober *tr_prober_start(uv_loop_t *loop, const struct tr_conf *conf);
/* Stop: probes in flight are dropped; the prober frees itself once its handles are closed
 * (the loop must run on). NULL is ignored. */
void tr_prober_stop(struct tr_prober *p);

#endif

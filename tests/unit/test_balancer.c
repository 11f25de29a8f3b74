/* SPDX-License-Identifier: MIT */
/* Unit tests for the balancer's algorithms: round-robin's exact and smooth distribution,
 * consistent-hashing's ring (XXH32, stability across rebuilds, only the removed target's keys
 * move), least-connections and latency preferences, unhealthy and weight-0 addresses skipped,
 * retries skipping tried addresses, "no peer", reuse of an unchanged balancer. */
#include "balancer/balancer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "balancer/ring.h"
#include "check.h"
#include "core/err.h"

static struct tr_health_registry *reg;
static struct tr_health_conf conf;

/* A balancer over n addresses 10.0.0.<i+1>:80 with the given weights. */
static struct tr_balancer *build(const char *upstream, enum tr_lb_algorithm algo,
                                 const unsigned *weights, size_t n)
{
    static char hosts[64][32], targets[64][32];
    struct tr_lb_address_spec addrs[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "10.0.0.%zu", i + 1);
        snprintf(targets[i], sizeof(targets[i]), "10.0.0.%zu:80", i + 1);
        addrs[i] = (struct tr_lb_address_spec){hosts[i], 80, weights[i], targets[i]};
    }
    struct tr_lb_spec spec = {upstream, algo, 10000, &conf, addrs, n, 1000};
    struct tr_balancer *b = NULL;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), 0);
    return b;
}

static void test_xxh32(void)
{
    TR_CHECK_INT(tr_xxh32("", 0, 0), 0x02CC5D05u);
    TR_CHECK_INT(tr_xxh32("a", 1, 0), 0x550D7456u);
    TR_CHECK_INT(tr_xxh32("abc", 3, 0), 0x32D153FFu);
    const char *s = "Nobody inspects the spammish repetition";
    TR_CHECK_INT(tr_xxh32(s, strlen(s), 0), 0xE2293B2Fu);
    TR_CHECK_INT(tr_ring_points(10), 1000);
    TR_CHECK_INT(tr_ring_points(10000), 10000);
    TR_CHECK_INT(tr_ring_points(65536), 65536);
}

static void test_spec_checks(void)
{
    struct tr_lb_address_spec a = {"10.0.0.1", 80, 100, "10.0.0.1:80"};
    struct tr_lb_spec spec = {"u", TR_LB_ROUND_ROBIN, 10000, &conf, &a, 1, 1};
    struct tr_balancer *b = NULL;
    spec.slots = 9;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), TR_EINVAL);
    TR_CHECK(b == NULL);
    spec.slots = 65537;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), TR_EINVAL);
    spec.slots = 10;
    a.weight = 65536;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), TR_EINVAL);
    a.weight = 65535;
    a.port = 0;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), TR_EINVAL);
    a.port = 80;
    spec.algorithm = (enum tr_lb_algorithm)9;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), TR_EINVAL);
    spec.algorithm = TR_LB_LATENCY;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), 0);
    TR_CHECK(tr_balancer_matches(b, &spec));
    a.weight = 7;
    TR_CHECK(!tr_balancer_matches(b, &spec));
    tr_balancer_unref(b);
    TR_CHECK_INT(tr_health_registry_count(reg), 0);

    enum tr_lb_algorithm algo;
    TR_CHECK_INT(tr_lb_algorithm_parse("least-connections", &algo), 0);
    TR_CHECK_INT(algo, TR_LB_LEAST_CONNECTIONS);
    TR_CHECK_INT(tr_lb_algorithm_parse("random", &algo), TR_EINVAL);
    TR_CHECK_STR(tr_lb_algorithm_name(TR_LB_CONSISTENT_HASHING), "consistent-hashing");
}

/* Pick n times (no retries), count per address, longest run of one address. */
static void pick_many(struct tr_balancer *b, int n, int *counts, int *max_run)
{
    long last = -1;
    int run = 0;
    *max_run = 0;
    for (int i = 0; i < n; i++) {
        const struct tr_lb_address *a = tr_balancer_pick(b, NULL, 0, NULL, 1000);
        if (!a) {
            counts[63]++;
            continue;
        }
        counts[a->index]++;
        run = (long)a->index == last ? run + 1 : 1;
        last = a->index;
        if (run > *max_run)
            *max_run = run;
        tr_balancer_release(a);
    }
}

static void test_round_robin(void)
{
    const unsigned w123[] = {1, 2, 3};
    struct tr_balancer *b = build("rr", TR_LB_ROUND_ROBIN, w123, 3);
    int counts[64] = {0}, run;
    pick_many(b, 6000, counts, &run);
    TR_CHECK_INT(counts[0], 1000);
    TR_CHECK_INT(counts[1], 2000);
    TR_CHECK_INT(counts[2], 3000);
    TR_CHECK(run <= 3); /* ceil(3 / 1) */
    /* every cycle of 6 is exact */
    memset(counts, 0, sizeof(counts));
    pick_many(b, 6, counts, &run);
    TR_CHECK_INT(counts[0], 1);
    TR_CHECK_INT(counts[1], 2);
    TR_CHECK_INT(counts[2], 3);
    tr_balancer_unref(b);

    const unsigned wide[] = {1, 1, 10};
    b = build("rr", TR_LB_ROUND_ROBIN, wide, 3);
    memset(counts, 0, sizeof(counts));
    pick_many(b, 1200, counts, &run);
    TR_CHECK_INT(counts[0], 100);
    TR_CHECK_INT(counts[1], 100);
    TR_CHECK_INT(counts[2], 1000);
    TR_CHECK(run <= 10);
    tr_balancer_unref(b);

    const unsigned zero[] = {100, 0, 50, 100};
    b = build("rr", TR_LB_ROUND_ROBIN, zero, 4);
    memset(counts, 0, sizeof(counts));
    pick_many(b, 2500, counts, &run);
    TR_CHECK_INT(counts[0], 1000);
    TR_CHECK_INT(counts[1], 0);
    TR_CHECK_INT(counts[2], 500);
    TR_CHECK_INT(counts[3], 1000);
    TR_CHECK(run <= 2);
    /* one unhealthy: the rest share its part in proportion */
    tr_peer_set_healthy(tr_balancer_address(b, 3)->peer, false);
    memset(counts, 0, sizeof(counts));
    pick_many(b, 3000, counts, &run);
    TR_CHECK_INT(counts[0], 2000);
    TR_CHECK_INT(counts[2], 1000);
    TR_CHECK_INT(counts[3], 0);
    tr_balancer_unref(b);

    /* weights too spread for a precomputed cycle: the live algorithm alone, as exact */
    const unsigned spread[] = {65535, 65534, 1};
    b = build("rr", TR_LB_ROUND_ROBIN, spread, 3);
    memset(counts, 0, sizeof(counts));
    pick_many(b, 131070, counts, &run);
    TR_CHECK_INT(counts[0], 65535);
    TR_CHECK_INT(counts[1], 65534);
    TR_CHECK_INT(counts[2], 1);
    TR_CHECK(run <= 2);
    tr_balancer_unref(b);

    /* an unhealthy address in the middle of the cycle: the others keep their proportions */
    const unsigned w1234[] = {1, 2, 3, 4};
    b = build("rr", TR_LB_ROUND_ROBIN, w1234, 4);
    tr_peer_set_healthy(tr_balancer_address(b, 1)->peer, false);
    memset(counts, 0, sizeof(counts));
    pick_many(b, 80000, counts, &run);
    TR_CHECK_INT(counts[1], 0);
    TR_CHECK(counts[0] > 9900 && counts[0] < 10100);
    TR_CHECK(counts[2] > 29800 && counts[2] < 30200);
    TR_CHECK(counts[3] > 39800 && counts[3] < 40200);
    TR_CHECK(run <= 4);
    tr_balancer_unref(b);

    const unsigned many[] = {5, 7, 11, 13, 17, 19, 23};
    b = build("rr", TR_LB_ROUND_ROBIN, many, 7);
    memset(counts, 0, sizeof(counts));
    pick_many(b, 95 * 20, counts, &run);
    for (int i = 0; i < 7; i++)
        TR_CHECK_INT(counts[i], (int)many[i] * 20);
    TR_CHECK(run <= 5); /* ceil(23 / 5) */
    tr_balancer_unref(b);
}

/* Which address each of 10,000 keys maps to. */
static void map_keys(struct tr_balancer *b, const char **names, char (*out)[32])
{
    for (int k = 0; k < 10000; k++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "user-%d", k);
        const struct tr_lb_address *a = tr_balancer_pick(b, key, (size_t)len, NULL, 1000);
        snprintf(out[k], 32, "%s", a ? a->host : "-");
        if (a)
            tr_balancer_release(a);
        (void)names;
    }
}

static char before[10000][32], after[10000][32];

static void removal(const unsigned *weights, size_t n, size_t removed, double slack)
{
    struct tr_balancer *b = build("ch", TR_LB_CONSISTENT_HASHING, weights, n);
    map_keys(b, NULL, before);
    /* the same targets again: the same map (a rebuild, from another registry entry set too) */
    struct tr_balancer *again = build("ch-other", TR_LB_CONSISTENT_HASHING, weights, n);
    map_keys(again, NULL, after);
    int same = 0;
    for (int k = 0; k < 10000; k++)
        same += strcmp(before[k], after[k]) == 0;
    TR_CHECK_INT(same, 10000);
    tr_balancer_unref(again);

    /* without target `removed`: build from the list minus that one */
    static char hosts[64][32], targets[64][32];
    struct tr_lb_address_spec addrs[64];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == removed)
            continue;
        snprintf(hosts[m], sizeof(hosts[m]), "10.0.0.%zu", i + 1);
        snprintf(targets[m], sizeof(targets[m]), "10.0.0.%zu:80", i + 1);
        addrs[m] = (struct tr_lb_address_spec){hosts[m], 80, weights[i], targets[m]};
        m++;
    }
    struct tr_lb_spec spec = {"ch", TR_LB_CONSISTENT_HASHING, 10000, &conf, addrs, m, 1000};
    struct tr_balancer *less = NULL;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &less), 0);
    map_keys(less, NULL, after);
    char gone[32];
    snprintf(gone, sizeof(gone), "10.0.0.%zu", removed + 1);
    int on_removed = 0, moved_other = 0;
    for (int k = 0; k < 10000; k++) {
        if (strcmp(before[k], gone) == 0)
            on_removed++;
        else if (strcmp(before[k], after[k]) != 0)
            moved_other++;
        TR_CHECK(strcmp(after[k], gone) != 0);
    }
    printf("consistent-hashing: %zu targets, removed one with %d of 10000 keys, %d others "
           "moved\n",
           n, on_removed, moved_other);
    TR_CHECK(on_removed > 0);
    TR_CHECK(moved_other <= (int)(10000 * slack));
    tr_balancer_unref(less);
    tr_balancer_unref(b);
}

static void test_consistent_hashing(void)
{
    const unsigned equal[] = {100, 100, 100, 100};
    struct tr_balancer *b = build("ch", TR_LB_CONSISTENT_HASHING, equal, 4);
    int counts[4] = {0};
    for (int k = 0; k < 10000; k++) {
        char key[32];
        int len = snprintf(key, sizeof(key), "user-%d", k);
        const struct tr_lb_address *a = tr_balancer_pick(b, key, (size_t)len, NULL, 1000);
        counts[a->index]++;
        tr_balancer_release(a);
        /* the same key, the same address */
        TR_CHECK(tr_balancer_pick(b, key, (size_t)len, NULL, 1000) == a);
        tr_balancer_release(a);
    }
    for (int i = 0; i < 4; i++)
        TR_CHECK(counts[i] > 1500 && counts[i] < 3500);

    /* retries walk the ring to other addresses, then start again */
    struct tr_lb_tried tried = TR_LB_TRIED_INIT;
    const struct tr_lb_address *seen[5];
    for (int i = 0; i < 5; i++) {
        seen[i] = tr_balancer_pick(b, "k", 1, &tried, 1000);
        tr_balancer_release(seen[i]);
    }
    TR_CHECK(seen[0] != seen[1] && seen[0] != seen[2] && seen[0] != seen[3]);
    TR_CHECK(seen[1] != seen[2] && seen[1] != seen[3] && seen[2] != seen[3]);
    TR_CHECK(seen[4] == seen[0]); /* all tried: the key's own address again */

    /* an unhealthy address's keys go to the next address on the ring; the others stay */
    const struct tr_lb_address *home = tr_balancer_pick(b, "k", 1, NULL, 1000);
    tr_balancer_release(home);
    tr_peer_set_healthy(home->peer, false);
    const struct tr_lb_address *moved = tr_balancer_pick(b, "k", 1, NULL, 1000);
    TR_CHECK(moved && moved != home);
    tr_balancer_release(moved);
    tr_peer_set_healthy(home->peer, true);
    TR_CHECK(tr_balancer_pick(b, "k", 1, NULL, 1000) == home);
    tr_balancer_release(home);
    /* a NULL key hashes as "" */
    const struct tr_lb_address *empty = tr_balancer_pick(b, "", 0, NULL, 1000);
    TR_CHECK(tr_balancer_pick(b, NULL, 0, NULL, 1000) == empty);
    tr_balancer_release(empty);
    tr_balancer_release(empty);
    tr_balancer_unref(b);

    removal(equal, 4, 0, 0.01);
    removal(equal, 4, 3, 0.01);
    const unsigned eight[] = {100, 100, 100, 100, 100, 100, 100, 100};
    removal(eight, 8, 5, 0.01);
    /* unequal weights: the others' shares grow, so a few more keys move */
    const unsigned mixed[] = {10, 20, 30, 40};
    removal(mixed, 4, 1, 0.05);

    /* more targets than the ring holds at 160 entries each: every one keeps a share */
    unsigned twenty[20];
    for (int i = 0; i < 20; i++)
        twenty[i] = 100;
    struct tr_lb_address_spec many[20];
    static char mh[20][16];
    for (int i = 0; i < 20; i++) {
        snprintf(mh[i], sizeof(mh[i]), "10.2.0.%d", i + 1);
        many[i] = (struct tr_lb_address_spec){mh[i], 80, twenty[i], mh[i]};
    }
    struct tr_lb_spec full = {"chfull", TR_LB_CONSISTENT_HASHING, 1000, &conf, many, 20, 1};
    TR_CHECK_INT(tr_balancer_new(reg, &full, &b), 0);
    int share[20] = {0};
    for (int k = 0; k < 10000; k++) {
        char key[16];
        int len = snprintf(key, sizeof(key), "%d", k);
        const struct tr_lb_address *a = tr_balancer_pick(b, key, (size_t)len, NULL, 1000);
        share[a->index]++;
        tr_balancer_release(a);
    }
    for (int i = 0; i < 20; i++)
        TR_CHECK(share[i] > 250 && share[i] < 750);
    tr_balancer_unref(b);

    /* weight 0 never on the ring, with slots below Kong's minimum */
    const unsigned zero[] = {0, 5};
    b = build("chz", TR_LB_CONSISTENT_HASHING, zero, 2);
    for (int k = 0; k < 100; k++) {
        char key[16];
        int len = snprintf(key, sizeof(key), "%d", k);
        const struct tr_lb_address *a = tr_balancer_pick(b, key, (size_t)len, NULL, 1000);
        TR_CHECK(a && a->index == 1);
        tr_balancer_release(a);
    }
    tr_balancer_unref(b);
}

/* Kong's spec/01-unit/09-balancer/03-consistent_hashing_spec.lua, "gets an IP address and port
 * number; consistent hashing" and "evaluate the change in the continuum", with its bounds. */
static struct tr_balancer *build_ch(const char *up, const struct tr_lb_address_spec *a, size_t n,
                                    uint32_t slots)
{
    struct tr_lb_spec spec = {up, TR_LB_CONSISTENT_HASHING, slots, &conf, a, n, 1};
    struct tr_balancer *b = NULL;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), 0);
    return b;
}

static const struct tr_lb_address *pick_n(struct tr_balancer *b, int n)
{
    char key[16];
    int len = snprintf(key, sizeof(key), "%d", n);
    const struct tr_lb_address *a = tr_balancer_pick(b, key, (size_t)len, NULL, 1);
    tr_balancer_release(a);
    return a;
}

static void test_kong_ring_cases(void)
{
    struct tr_lb_address_spec two[2] = {{"1.2.3.4", 123, 10, "mashape.com:123"},
                                        {"5.6.7.8", 321, 5, "getkong.org:321"}};
    struct tr_balancer *b = build_ch("kong1", two, 2, 1000);
    int res[2] = {0};
    for (int n = 1; n <= 1500; n++)
        res[pick_n(b, n)->index]++;
    TR_CHECK(res[0] > 900 && res[0] < 1100);
    TR_CHECK(res[1] > 450 && res[1] < 550);
    /* one of them marked down: every key goes to the other */
    tr_peer_set_healthy(tr_balancer_address(b, 0)->peer, false);
    for (int n = 1; n <= 160; n++)
        TR_CHECK(pick_n(b, n)->index == 1);
    tr_balancer_unref(b);

    struct tr_lb_address_spec eight[8];
    static char hosts[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(hosts[i], sizeof(hosts[i]), "10.0.0.%d", i + 1);
        eight[i] = (struct tr_lb_address_spec){hosts[i], (uint16_t)(i + 1), 100, hosts[i]};
    }
    static const struct tr_lb_address *r1[10001], *r2[10001], *r3[10001];
    struct tr_balancer *b5 = build_ch("kong2", eight, 5, 5000);
    struct tr_balancer *b6 = build_ch("kong2", eight, 6, 5000);
    struct tr_balancer *b8 = build_ch("kong2", eight, 8, 5000);
    int d12 = 0, d13 = 0, d23 = 0;
    for (int n = 1; n <= 10000; n++) {
        r1[n] = pick_n(b5, n);
        r2[n] = pick_n(b6, n);
        r3[n] = pick_n(b8, n);
        /* the registry gives the three balancers the same peer per address */
        d12 += r1[n]->peer != r2[n]->peer;
        d13 += r1[n]->peer != r3[n]->peer;
        d23 += r2[n]->peer != r3[n]->peer;
    }
    printf("consistent-hashing: 5->6 targets moved %d, 5->8 %d, 6->8 %d of 10000 keys\n", d12, d13,
           d23);
    TR_CHECK(d12 < 2000);
    TR_CHECK(d13 < 4000);
    TR_CHECK(d23 < 2500);
    tr_balancer_unref(b5);
    tr_balancer_unref(b6);
    tr_balancer_unref(b8);
}

static void test_least_connections(void)
{
    const unsigned equal[] = {10, 10, 10};
    struct tr_balancer *b = build("lc", TR_LB_LEAST_CONNECTIONS, equal, 3);
    const struct tr_lb_address *held[3];
    for (int i = 0; i < 3; i++)
        held[i] = tr_balancer_pick(b, NULL, 0, NULL, 1000);
    /* one each: ties never pile on one address */
    TR_CHECK(held[0] != held[1] && held[0] != held[2] && held[1] != held[2]);
    tr_balancer_release(held[1]);
    /* the one with fewer in flight wins */
    const struct tr_lb_address *next = tr_balancer_pick(b, NULL, 0, NULL, 1000);
    TR_CHECK(next == held[1]);
    tr_balancer_release(next);
    for (int i = 0; i < 3; i++)
        tr_balancer_release(held[i]);
    tr_balancer_release(held[0]); /* an extra release never goes below zero */
    TR_CHECK_INT(atomic_load(&held[0]->peer->in_flight), 0);

    /* with nothing in flight, ties rotate: even spread */
    int counts[3] = {0};
    for (int i = 0; i < 300; i++) {
        const struct tr_lb_address *a = tr_balancer_pick(b, NULL, 0, NULL, 1000);
        counts[a->index]++;
        tr_balancer_release(a);
    }
    TR_CHECK_INT(counts[0], 100);
    TR_CHECK_INT(counts[1], 100);
    TR_CHECK_INT(counts[2], 100);
    tr_balancer_unref(b);

    /* weighted: in flight in proportion to the weights */
    const unsigned w13[] = {1, 3};
    b = build("lcw", TR_LB_LEAST_CONNECTIONS, w13, 2);
    int held_n[2] = {0};
    const struct tr_lb_address *all[40];
    for (int i = 0; i < 40; i++) {
        all[i] = tr_balancer_pick(b, NULL, 0, NULL, 1000);
        held_n[all[i]->index]++;
    }
    TR_CHECK(held_n[0] >= 9 && held_n[0] <= 11);
    TR_CHECK(held_n[1] >= 29 && held_n[1] <= 31);
    for (int i = 0; i < 40; i++)
        tr_balancer_release(all[i]);
    tr_balancer_unref(b);
}

static void test_latency(void)
{
    const unsigned equal[] = {1, 1, 1};
    struct tr_balancer *b = build("lat", TR_LB_LATENCY, equal, 3);
    const struct tr_lb_address *a0 = tr_balancer_address(b, 0);
    const struct tr_lb_address *a1 = tr_balancer_address(b, 1);
    const struct tr_lb_address *a2 = tr_balancer_address(b, 2);
    /* no data yet: ties rotate */
    int counts[3] = {0};
    for (int i = 0; i < 30; i++) {
        const struct tr_lb_address *a = tr_balancer_pick(b, NULL, 0, NULL, 1000);
        counts[a->index]++;
        tr_balancer_release(a);
    }
    TR_CHECK_INT(counts[0], 10);
    TR_CHECK_INT(counts[1], 10);
    TR_CHECK_INT(counts[2], 10);

    tr_balancer_report_latency(a0, 100000, 2000);
    tr_balancer_report_latency(a1, 10000, 2000);
    tr_balancer_report_latency(a2, 50000, 2000);
    /* the first report is the average; the fastest is preferred */
    TR_CHECK(fabs(tr_balancer_latency(a1, 2000) - 10000) < 1e-6);
    for (int i = 0; i < 10; i++) {
        const struct tr_lb_address *a = tr_balancer_pick(b, NULL, 0, NULL, 2000);
        TR_CHECK(a == a1);
        tr_balancer_release(a);
    }
    /* Kong's EWMA: 10 s later a new sample weighs 1 - e^-1 */
    tr_balancer_report_latency(a1, 200000, 12000);
    double expect = 10000 * exp(-1.0) + 200000 * (1 - exp(-1.0));
    TR_CHECK(fabs(tr_balancer_latency(a1, 12000) - expect) < 1e-6);
    /* decayed toward 0 while idle */
    TR_CHECK(fabs(tr_balancer_latency(a0, 12000) - 100000 * exp(-1.0)) < 1e-6);
    const struct tr_lb_address *a = tr_balancer_pick(b, NULL, 0, NULL, 12000);
    TR_CHECK(a == a2);
    tr_balancer_release(a);
    /* a retry takes the next best */
    struct tr_lb_tried tried = TR_LB_TRIED_INIT;
    TR_CHECK(tr_balancer_pick(b, NULL, 0, &tried, 12000) == a2);
    TR_CHECK(tr_balancer_pick(b, NULL, 0, &tried, 12000) == a0);
    TR_CHECK(tr_balancer_pick(b, NULL, 0, &tried, 12000) == a1);
    tr_balancer_release(a2);
    tr_balancer_release(a0);
    tr_balancer_release(a1);

    /* weights divide the score: a slow heavy address beats a fast light one */
    const unsigned w[] = {100, 1};
    struct tr_balancer *bw = build("latw", TR_LB_LATENCY, w, 2);
    tr_balancer_report_latency(tr_balancer_address(bw, 0), 100000, 2000);
    tr_balancer_report_latency(tr_balancer_address(bw, 1), 10000, 2000);
    a = tr_balancer_pick(bw, NULL, 0, NULL, 2000);
    TR_CHECK(a && a->index == 0);
    tr_balancer_release(a);
    tr_balancer_unref(bw);

    /* slow start: an address new to the upstream starts at the upstream's average */
    struct tr_lb_address_spec addrs[4] = {
        {"10.0.0.1", 80, 1, "10.0.0.1:80"},
        {"10.0.0.2", 80, 1, "10.0.0.2:80"},
        {"10.0.0.3", 80, 1, "10.0.0.3:80"},
        {"10.0.0.9", 80, 1, "10.0.0.9:80"},
    };
    struct tr_lb_spec spec = {"lat", TR_LB_LATENCY, 10000, &conf, addrs, 4, 12000};
    struct tr_balancer *grown = NULL;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &grown), 0);
    double sum = 0;
    for (int i = 0; i < 3; i++) {
        uint64_t at = atomic_load(&tr_balancer_address(b, (size_t)i)->peer->ewma_at);
        uint64_t bits = atomic_load(&tr_balancer_address(b, (size_t)i)->peer->ewma_bits);
        double v;
        memcpy(&v, &bits, sizeof(v));
        (void)at;
        sum += v;
    }
    TR_CHECK(fabs(tr_balancer_latency(tr_balancer_address(grown, 3), 12000) - sum / 4) < 1e-6);
    /* the old addresses kept their averages across the rebuild */
    TR_CHECK(fabs(tr_balancer_latency(tr_balancer_address(grown, 1), 12000) - expect) < 1e-6);
    tr_balancer_unref(grown);
    tr_balancer_unref(b);
}

static void test_no_peer_and_retries(void)
{
    const unsigned w[] = {1, 1, 1};
    for (int algo = TR_LB_ROUND_ROBIN; algo <= TR_LB_LATENCY; algo++) {
        struct tr_balancer *b = build("np", (enum tr_lb_algorithm)algo, w, 3);
        /* a request with retries sees each address once, then again */
        struct tr_lb_tried tried = TR_LB_TRIED_INIT;
        const struct tr_lb_address *p[4];
        for (int i = 0; i < 4; i++)
            p[i] = tr_balancer_pick(b, "key", 3, &tried, 1000);
        TR_CHECK(p[0] && p[1] && p[2] && p[3]);
        TR_CHECK(p[0] != p[1] && p[0] != p[2] && p[1] != p[2]);
        TR_CHECK_INT(tried.num, 3);
        for (int i = 0; i < 4; i++)
            tr_balancer_release(p[i]);

        /* unhealthy addresses are skipped; all unhealthy: no peer */
        tr_peer_set_healthy(tr_balancer_address(b, 0)->peer, false);
        tr_peer_set_healthy(tr_balancer_address(b, 2)->peer, false);
        for (int i = 0; i < 5; i++) {
            const struct tr_lb_address *a = tr_balancer_pick(b, "key", 3, NULL, 1000);
            TR_CHECK(a == tr_balancer_address(b, 1));
            tr_balancer_release(a);
        }
        TR_CHECK(tr_balancer_healthy(b));
        tr_peer_set_healthy(tr_balancer_address(b, 1)->peer, false);
        TR_CHECK(tr_balancer_pick(b, "key", 3, NULL, 1000) == NULL);
        TR_CHECK(!tr_balancer_healthy(b));
        struct tr_lb_tried t2 = TR_LB_TRIED_INIT;
        TR_CHECK(tr_balancer_pick(b, "key", 3, &t2, 1000) == NULL);
        TR_CHECK_INT(t2.num, 0);
        tr_balancer_unref(b);

        /* only weight 0: no peer; no address: no peer */
        const unsigned zero[] = {0, 0};
        b = build("np0", (enum tr_lb_algorithm)algo, zero, 2);
        TR_CHECK(tr_balancer_pick(b, "key", 3, NULL, 1000) == NULL);
        TR_CHECK(!tr_balancer_healthy(b));
        tr_balancer_unref(b);
        b = build("np1", (enum tr_lb_algorithm)algo, zero, 0);
        TR_CHECK(tr_balancer_pick(b, "key", 3, NULL, 1000) == NULL);
        tr_balancer_unref(b);
    }

    /* Kong's threshold: below it, the upstream itself is unhealthy and gives no peer */
    conf.threshold = 50;
    const unsigned four[] = {1, 1, 1, 1};
    struct tr_balancer *b = build("thr", TR_LB_ROUND_ROBIN, four, 4);
    tr_peer_set_healthy(tr_balancer_address(b, 0)->peer, false);
    const struct tr_lb_address *a = tr_balancer_pick(b, NULL, 0, NULL, 1000);
    TR_CHECK(a != NULL); /* 75 % > 50 % */
    tr_balancer_release(a);
    tr_peer_set_healthy(tr_balancer_address(b, 1)->peer, false);
    TR_CHECK(tr_balancer_pick(b, NULL, 0, NULL, 1000) == NULL); /* 50 % is not above 50 % */
    tr_balancer_unref(b);
    conf.threshold = 0;
    TR_CHECK_INT(tr_health_registry_count(reg), 0);
}

int main(void)
{
    reg = tr_health_registry_new();
    tr_health_conf_default(&conf);
    test_xxh32();
    test_spec_checks();
    test_round_robin();
    test_consistent_hashing();
    test_kong_ring_cases();
    test_least_connections();
    test_latency();
    test_no_peer_and_retries();
    TR_CHECK_INT(tr_health_registry_count(reg), 0);
    tr_health_registry_free(reg);
    return TR_CHECK_DONE();
}

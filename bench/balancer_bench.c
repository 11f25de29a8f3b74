/* SPDX-License-Identifier: MIT */
/* Micro-benchmark of the balancer: ns per pick (with its release) for each algorithm over 1 and
 * 4 addresses, from one thread and from four at once (per pick, per thread). Built with the tree
 * (balancer_bench), never run by the tests; numbers are reports, not assertions. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "balancer/balancer.h"

#define PICKS 2000000

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static const char *const keys[8] = {"alice", "bob",   "carol", "dave",
                                    "erin",  "frank", "grace", "heidi"};

static void *run(void *arg)
{
    struct tr_balancer *b = arg;
    for (int i = 0; i < PICKS; i++) {
        const struct tr_lb_address *a = tr_balancer_pick(b, keys[i & 7], 5, NULL, 1000);
        if (!a) {
            fprintf(stderr, "balancer_bench: no peer\n");
            return NULL;
        }
        tr_balancer_release(a);
    }
    return NULL;
}

static double bench(struct tr_balancer *b, int threads)
{
    pthread_t t[4];
    double t0 = now_ns();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run, b);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return (now_ns() - t0) / PICKS;
}

int main(void)
{
    struct tr_health_registry *reg = tr_health_registry_new();
    struct tr_health_conf conf;
    tr_health_conf_default(&conf);
    struct tr_lb_address_spec addrs[4] = {
        {"10.0.0.1", 80, 100, "10.0.0.1:80"},
        {"10.0.0.2", 80, 100, "10.0.0.2:80"},
        {"10.0.0.3", 80, 50, "10.0.0.3:80"},
        {"10.0.0.4", 80, 10, "10.0.0.4:80"},
    };
    printf("%-20s %10s %10s %14s %14s\n", "algorithm", "1 addr", "4 addrs", "1 addr x4 thr",
           "4 addrs x4 thr");
    for (int algo = TR_LB_ROUND_ROBIN; algo <= TR_LB_LATENCY; algo++) {
        double ns[4];
        for (int n = 0; n < 2; n++) {
            struct tr_lb_spec spec = {
                "bench", (enum tr_lb_algorithm)algo, 10000, &conf, addrs, n ? 4 : 1, 1};
            struct tr_balancer *b = NULL;
            if (tr_balancer_new(reg, &spec, &b) != 0)
                return 1;
            if (algo == TR_LB_LATENCY) {
                for (size_t i = 0; i < tr_balancer_count(b); i++)
                    tr_balancer_report_latency(tr_balancer_address(b, i), 1000 * (i + 1), 1000);
            }
            ns[n] = bench(b, 1);
            ns[2 + n] = bench(b, 4);
            tr_balancer_unref(b);
        }
        printf("%-20s %7.1f ns %7.1f ns %11.1f ns %11.1f ns\n",
               tr_lb_algorithm_name((enum tr_lb_algorithm)algo), ns[0], ns[1], ns[2], ns[3]);
    }
    tr_health_registry_free(reg);
    return 0;
}

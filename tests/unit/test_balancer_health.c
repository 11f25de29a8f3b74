/* SPDX-License-Identifier: MIT */
/* Unit tests for the balancer's health state: lua-resty-healthcheck's counters and states for
 * every kind of report and threshold, Kong's status lists, thresholds of 0, checks off, manual
 * overrides; the registry (state kept across rebuilds, reference counts, per-target overrides);
 * and four threads picking and reporting at once. */
#include "balancer/balancer.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static struct tr_health_registry *reg;

static enum tr_health state(const struct tr_peer *p)
{
    return (enum tr_health)atomic_load(&p->state);
}

static void check_counters(struct tr_peer *p, int s, int h, int t, int o)
{
    uint8_t c[4];
    tr_peer_counters(p, c);
    TR_CHECK_INT(c[0], s);
    TR_CHECK_INT(c[1], h);
    TR_CHECK_INT(c[2], t);
    TR_CHECK_INT(c[3], o);
}

static void test_conf(void)
{
    struct tr_health_conf c;
    tr_health_conf_default(&c);
    TR_CHECK(c.off);
    TR_CHECK(c.threshold == 0);
    c.checks[TR_CHECK_PASSIVE].timeouts = 3;
    tr_health_conf_finish(&c);
    TR_CHECK(!c.off);
    tr_health_conf_default(&c);
    c.checks[TR_CHECK_ACTIVE].unhealthy_interval_ms = 5000;
    tr_health_conf_finish(&c);
    TR_CHECK(!c.off);
    tr_health_conf_default(&c);
    /* passive successes alone do not turn checks on (Kong) */
    c.checks[TR_CHECK_PASSIVE].successes = 3;
    tr_health_conf_finish(&c);
    TR_CHECK(c.off);
}

static void test_transitions(void)
{
    struct tr_health_conf c;
    tr_health_conf_default(&c);
    struct tr_health_checks *pc = &c.checks[TR_CHECK_PASSIVE];
    pc->successes = 2;
    pc->http_failures = 2;
    pc->tcp_failures = 1;
    pc->timeouts = 3;
    c.checks[TR_CHECK_ACTIVE].successes = 1;
    c.checks[TR_CHECK_ACTIVE].http_failures = 1;
    tr_health_conf_finish(&c);
    TR_CHECK(!c.off);

    struct tr_peer *p = tr_health_acquire(reg, "u1", "10.0.0.1", 80, "a:80", NULL);
    TR_CHECK_INT(state(p), TR_HEALTH_HEALTHY);
    /* a success while healthy is not counted */
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 200));
    check_counters(p, 0, 0, 0, 0);
    /* http failures: 500 once -> mostly healthy (still available), twice -> unhealthy */
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 500));
    TR_CHECK_INT(state(p), TR_HEALTH_MOSTLY_HEALTHY);
    TR_CHECK(tr_peer_available(p, &c));
    check_counters(p, 0, 1, 0, 0);
    /* statuses in neither list are ignored; 404 is not a passive failure by default */
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 404));
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 418));
    check_counters(p, 0, 1, 0, 0);
    /* status 0 (no valid response) counts as an http failure */
    TR_CHECK(tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 0));
    TR_CHECK_INT(state(p), TR_HEALTH_UNHEALTHY);
    TR_CHECK(!tr_peer_available(p, &c));
    TR_CHECK_INT(tr_peer_health(p), TR_HEALTH_UNHEALTHY);
    check_counters(p, 0, 2, 0, 0);
    /* failures while unhealthy are not counted */
    TR_CHECK(!tr_peer_report_tcp_failure(p, &c, TR_CHECK_PASSIVE));
    check_counters(p, 0, 2, 0, 0);
    /* a success clears the failure counters: mostly unhealthy (still unavailable) */
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 204));
    TR_CHECK_INT(state(p), TR_HEALTH_MOSTLY_UNHEALTHY);
    TR_CHECK(!tr_peer_available(p, &c));
    check_counters(p, 1, 0, 0, 0);
    /* a failure now clears the success counter; back to counting from zero */
    TR_CHECK(!tr_peer_report_timeout(p, &c, TR_CHECK_PASSIVE));
    check_counters(p, 0, 0, 0, 1);
    TR_CHECK_INT(state(p), TR_HEALTH_MOSTLY_UNHEALTHY);
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 302));
    check_counters(p, 1, 0, 0, 0);
    TR_CHECK(tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 302));
    TR_CHECK_INT(state(p), TR_HEALTH_HEALTHY);
    TR_CHECK(tr_peer_available(p, &c));
    check_counters(p, 2, 0, 0, 0);

    /* tcp failures: threshold 1 -> unhealthy at once, clearing the successes */
    TR_CHECK(tr_peer_report_tcp_failure(p, &c, TR_CHECK_PASSIVE));
    TR_CHECK_INT(state(p), TR_HEALTH_UNHEALTHY);
    check_counters(p, 0, 0, 1, 0);
    /* an active probe success (threshold 1) brings it back */
    TR_CHECK(tr_peer_report_success(p, &c, TR_CHECK_ACTIVE));
    TR_CHECK_INT(state(p), TR_HEALTH_HEALTHY);
    check_counters(p, 1, 0, 0, 0);

    /* timeouts: threshold 3; mixed failure kinds count separately */
    TR_CHECK(!tr_peer_report_timeout(p, &c, TR_CHECK_PASSIVE));
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 503));
    TR_CHECK(!tr_peer_report_timeout(p, &c, TR_CHECK_PASSIVE));
    TR_CHECK_INT(state(p), TR_HEALTH_MOSTLY_HEALTHY);
    check_counters(p, 0, 1, 0, 2);
    TR_CHECK(tr_peer_report_timeout(p, &c, TR_CHECK_PASSIVE));
    TR_CHECK_INT(state(p), TR_HEALTH_UNHEALTHY);
    check_counters(p, 0, 1, 0, 3);

    /* active lists differ: 404 is an active failure, 204 not an active success */
    tr_peer_set_healthy(p, true);
    check_counters(p, 0, 0, 0, 0);
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_ACTIVE, 204));
    TR_CHECK_INT(state(p), TR_HEALTH_HEALTHY);
    TR_CHECK(tr_peer_report_http_status(p, &c, TR_CHECK_ACTIVE, 404));
    TR_CHECK_INT(state(p), TR_HEALTH_UNHEALTHY);
    /* a passive success never brings a target back when its threshold is 0 */
    c.checks[TR_CHECK_PASSIVE].successes = 0;
    for (int i = 0; i < 10; i++)
        TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 200));
    TR_CHECK_INT(state(p), TR_HEALTH_UNHEALTHY);
    TR_CHECK(tr_peer_report_http_status(p, &c, TR_CHECK_ACTIVE, 200));
    TR_CHECK_INT(state(p), TR_HEALTH_HEALTHY);

    /* a threshold of 0 turns its counter off */
    c.checks[TR_CHECK_PASSIVE].http_failures = 0;
    for (int i = 0; i < 10; i++)
        TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 500));
    TR_CHECK_INT(state(p), TR_HEALTH_HEALTHY);
    check_counters(p, 1, 0, 0, 0); /* the active success that brought it back */

    /* custom status lists */
    static const unsigned bad[] = {418};
    tr_health_conf_set_statuses(&c, TR_CHECK_PASSIVE, false, bad, 1);
    c.checks[TR_CHECK_PASSIVE].http_failures = 1;
    TR_CHECK(!tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 500));
    TR_CHECK(tr_peer_report_http_status(p, &c, TR_CHECK_PASSIVE, 418));
    TR_CHECK_INT(state(p), TR_HEALTH_UNHEALTHY);

    /* manual: set healthy clears counters */
    tr_peer_set_healthy(p, true);
    TR_CHECK_INT(state(p), TR_HEALTH_HEALTHY);
    check_counters(p, 0, 0, 0, 0);
    /* counters saturate at 255 */
    c.checks[TR_CHECK_PASSIVE].timeouts = 255;
    for (int i = 0; i < 300; i++)
        tr_peer_report_timeout(p, &c, TR_CHECK_PASSIVE);
    TR_CHECK_INT(state(p), TR_HEALTH_UNHEALTHY);
    check_counters(p, 0, 0, 0, 255);
    tr_health_release(reg, p);
}

static void test_checks_off(void)
{
    struct tr_health_conf off;
    tr_health_conf_default(&off);
    off.checks[TR_CHECK_PASSIVE].http_failures = 1; /* without finish: still marked off */
    struct tr_peer *p = tr_health_acquire(reg, "u2", "10.0.0.1", 80, "a:80", NULL);
    for (int i = 0; i < 5; i++) {
        TR_CHECK(!tr_peer_report_http_status(p, &off, TR_CHECK_PASSIVE, 500));
        TR_CHECK(!tr_peer_report_tcp_failure(p, &off, TR_CHECK_PASSIVE));
        TR_CHECK(!tr_peer_report_timeout(p, &off, TR_CHECK_ACTIVE));
    }
    TR_CHECK(tr_peer_available(p, &off));
    check_counters(p, 0, 0, 0, 0);
    /* only a manual setting makes it unavailable */
    tr_peer_set_healthy(p, false);
    TR_CHECK(!tr_peer_available(p, &off));
    tr_peer_set_healthy(p, true);
    TR_CHECK(tr_peer_available(p, &off));

    /* a state left by checks that were then turned off does not count */
    struct tr_health_conf on = off;
    tr_health_conf_finish(&on);
    TR_CHECK(!on.off);
    TR_CHECK(tr_peer_report_http_status(p, &on, TR_CHECK_PASSIVE, 500));
    TR_CHECK(!tr_peer_available(p, &on));
    TR_CHECK(tr_peer_available(p, &off));
    tr_health_release(reg, p);
}

static void test_registry(void)
{
    struct tr_health_conf c;
    tr_health_conf_default(&c);
    c.checks[TR_CHECK_PASSIVE].tcp_failures = 1;
    tr_health_conf_finish(&c);
    struct tr_lb_address_spec addrs[3] = {
        {"10.0.0.1", 80, 10, "svc.test:80"},
        {"10.0.0.2", 80, 10, "svc.test:80"},
        {"10.0.0.3", 8080, 10, "10.0.0.3:8080"},
    };
    struct tr_lb_spec spec = {"up-a", TR_LB_ROUND_ROBIN, 10000, &c, addrs, 3, 1};
    struct tr_balancer *b1 = NULL, *b2 = NULL, *other = NULL;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b1), 0);
    TR_CHECK_INT(tr_health_registry_count(reg), 3);
    /* a passive tcp failure marks 10.0.0.3 unhealthy */
    TR_CHECK(tr_balancer_report_tcp_failure(b1, tr_balancer_address(b1, 2), TR_CHECK_PASSIVE));
    TR_CHECK(!tr_balancer_address_available(b1, tr_balancer_address(b1, 2)));

    /* a rebuild (one more address) while the old balancer lives: the state is found again */
    struct tr_lb_address_spec more[4] = {
        addrs[0], addrs[1], addrs[2], {"10.0.0.4", 80, 10, "10.0.0.4:80"}};
    struct tr_lb_spec spec2 = {"up-a", TR_LB_ROUND_ROBIN, 10000, &c, more, 4, 1};
    TR_CHECK(!tr_balancer_matches(b1, &spec2));
    TR_CHECK(tr_balancer_matches(b1, &spec));
    TR_CHECK_INT(tr_balancer_new(reg, &spec2, &b2), 0);
    TR_CHECK_INT(tr_health_registry_count(reg), 4);
    TR_CHECK(tr_balancer_address(b2, 2)->peer == tr_balancer_address(b1, 2)->peer);
    tr_balancer_unref(b1);
    TR_CHECK_INT(tr_health_registry_count(reg), 4);
    TR_CHECK(!tr_balancer_address_available(b2, tr_balancer_address(b2, 2)));
    TR_CHECK(tr_health_find(reg, "up-a", "10.0.0.3", 8080) == tr_balancer_address(b2, 2)->peer);
    TR_CHECK(tr_health_find(reg, "up-a", "10.0.0.3", 80) == NULL);

    /* another upstream with the same addresses has its own state */
    struct tr_lb_spec spec3 = {"up-b", TR_LB_ROUND_ROBIN, 10000, &c, addrs, 3, 1};
    TR_CHECK_INT(tr_balancer_new(reg, &spec3, &other), 0);
    TR_CHECK_INT(tr_health_registry_count(reg), 7);
    TR_CHECK(tr_balancer_address_available(other, tr_balancer_address(other, 2)));

    /* a target set unhealthy by hand: every address it resolved to, in that upstream only */
    TR_CHECK_INT(tr_health_set_target(reg, "up-a", "svc.test:80", false), 2);
    TR_CHECK(!tr_balancer_address_available(b2, tr_balancer_address(b2, 0)));
    TR_CHECK(!tr_balancer_address_available(b2, tr_balancer_address(b2, 1)));
    TR_CHECK(tr_balancer_address_available(other, tr_balancer_address(other, 0)));
    const struct tr_lb_address *a = tr_balancer_pick(b2, NULL, 0, NULL, 1);
    TR_CHECK(a == tr_balancer_address(b2, 3));
    tr_balancer_release(a);
    TR_CHECK_INT(tr_health_set_target(reg, "up-a", "svc.test:80", true), 2);
    TR_CHECK_INT(tr_health_set_target(reg, "up-a", "nope:80", true), 0);

    /* Kong's words for /health */
    TR_CHECK_STR(tr_lb_health_name(tr_balancer_target_health(b2, "svc.test:80")), "HEALTHY");
    TR_CHECK_STR(tr_lb_health_name(tr_balancer_target_health(b2, "10.0.0.3:8080")), "UNHEALTHY");
    TR_CHECK_STR(tr_lb_health_name(tr_balancer_target_health(b2, "gone:80")), "DNS_ERROR");
    tr_peer_set_healthy(tr_balancer_address(b2, 0)->peer, false);
    TR_CHECK_INT(tr_balancer_target_health(b2, "svc.test:80"), TR_LB_HEALTHY); /* .2 is up */
    TR_CHECK_INT(tr_balancer_address_health(b2, tr_balancer_address(b2, 0)), TR_LB_UNHEALTHY);
    tr_peer_set_healthy(tr_balancer_address(b2, 1)->peer, false);
    TR_CHECK_INT(tr_balancer_target_health(b2, "svc.test:80"), TR_LB_UNHEALTHY);
    tr_health_set_target(reg, "up-a", "svc.test:80", true);
    struct tr_health_conf off;
    tr_health_conf_default(&off);
    struct tr_lb_spec spec4 = {"up-a", TR_LB_ROUND_ROBIN, 10000, &off, more, 4, 1};
    struct tr_balancer *boff = NULL;
    TR_CHECK_INT(tr_balancer_new(reg, &spec4, &boff), 0);
    TR_CHECK_STR(tr_lb_health_name(tr_balancer_target_health(boff, "10.0.0.3:8080")),
                 "HEALTHCHECKS_OFF");
    tr_balancer_unref(boff);

    /* the builder's reuse: a reference more, the same object */
    tr_balancer_ref(b2);
    tr_balancer_unref(b2);
    TR_CHECK_INT(tr_health_registry_count(reg), 7);
    tr_balancer_unref(b2);
    TR_CHECK_INT(tr_health_registry_count(reg), 3);
    tr_balancer_unref(other);
    TR_CHECK_INT(tr_health_registry_count(reg), 0);

    /* many peers: the table grows */
    struct tr_peer *peers[500];
    char host[32];
    for (int i = 0; i < 500; i++) {
        snprintf(host, sizeof(host), "10.1.%d.%d", i / 250, i % 250);
        peers[i] = tr_health_acquire(reg, "big", host, 80, host, NULL);
    }
    TR_CHECK_INT(tr_health_registry_count(reg), 500);
    bool created = true;
    TR_CHECK(tr_health_acquire(reg, "big", "10.1.1.7", 80, "x", &created) == peers[257]);
    TR_CHECK(!created);
    tr_health_release(reg, peers[257]);
    for (int i = 0; i < 500; i++)
        tr_health_release(reg, peers[i]);
    TR_CHECK_INT(tr_health_registry_count(reg), 0);
}

/* Four threads picking with retries, reporting statuses, failures and latencies, while the
 * health of the addresses moves; afterwards nothing is left in flight. */
#define THREADS 4
#define ROUNDS 20000

struct worker {
    struct tr_balancer *b;
    unsigned seed;
    long picks, none;
};

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *work(void *arg)
{
    struct worker *w = arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct tr_lb_tried tried = TR_LB_TRIED_INIT;
        char key[16];
        int len = snprintf(key, sizeof(key), "k%u", next_rand(&w->seed) % 1000);
        uint64_t now = 1000 + (uint64_t)i;
        for (int attempt = 0; attempt < 3; attempt++) {
            const struct tr_lb_address *a = tr_balancer_pick(w->b, key, (size_t)len, &tried, now);
            if (!a) {
                w->none++;
                break;
            }
            w->picks++;
            unsigned r = next_rand(&w->seed) % 10;
            if (r == 0) {
                tr_balancer_report_tcp_failure(w->b, a, TR_CHECK_PASSIVE);
                tr_balancer_release(a);
                continue; /* retry */
            }
            if (r == 1)
                tr_balancer_report_timeout(w->b, a, TR_CHECK_PASSIVE);
            tr_balancer_report_http_status(w->b, a, TR_CHECK_PASSIVE, r == 2 ? 500 : 200);
            tr_balancer_report_success(w->b, a, TR_CHECK_ACTIVE);
            tr_balancer_report_latency(a, 1000 + r * 100, now);
            tr_balancer_release(a);
            break;
        }
    }
    return NULL;
}

static atomic_long counted[4];

static void *count_picks(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        const struct tr_lb_address *a = tr_balancer_pick(arg, NULL, 0, NULL, 1);
        atomic_fetch_add(&counted[a->index], 1);
        tr_balancer_release(a);
    }
    return NULL;
}

static void test_threads(void)
{
    struct tr_health_conf c;
    tr_health_conf_default(&c);
    c.checks[TR_CHECK_PASSIVE].tcp_failures = 2;
    c.checks[TR_CHECK_PASSIVE].timeouts = 2;
    c.checks[TR_CHECK_PASSIVE].http_failures = 3;
    c.checks[TR_CHECK_ACTIVE].successes = 2;
    tr_health_conf_finish(&c);
    struct tr_lb_address_spec addrs[4] = {
        {"10.0.0.1", 80, 1, "a:80"},
        {"10.0.0.2", 80, 2, "b:80"},
        {"10.0.0.3", 80, 3, "c:80"},
        {"10.0.0.4", 80, 4, "d:80"},
    };
    for (int algo = TR_LB_ROUND_ROBIN; algo <= TR_LB_LATENCY; algo++) {
        struct tr_lb_spec spec = {"mt", (enum tr_lb_algorithm)algo, 1000, &c, addrs, 4, 1};
        struct tr_balancer *b = NULL;
        TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), 0);
        pthread_t t[THREADS];
        struct worker w[THREADS];
        for (int i = 0; i < THREADS; i++) {
            w[i] = (struct worker){b, (unsigned)(i * 7919 + algo), 0, 0};
            pthread_create(&t[i], NULL, work, &w[i]);
        }
        long picks = 0, none = 0;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(t[i], NULL);
            picks += w[i].picks;
            none += w[i].none;
        }
        TR_CHECK(picks + none >= THREADS * ROUNDS);
        TR_CHECK(picks > 0);
        for (size_t i = 0; i < 4; i++)
            TR_CHECK_INT(atomic_load(&tr_balancer_address(b, i)->peer->in_flight), 0);
        tr_balancer_unref(b);
    }

    /* round-robin stays exact across threads */
    struct tr_health_conf quiet;
    tr_health_conf_default(&quiet);
    struct tr_lb_spec spec = {"mt-rr", TR_LB_ROUND_ROBIN, 1000, &quiet, addrs, 4, 1};
    struct tr_balancer *b = NULL;
    TR_CHECK_INT(tr_balancer_new(reg, &spec, &b), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, count_picks, b);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        TR_CHECK_INT(atomic_load(&counted[i]), (i + 1) * THREADS * ROUNDS / 10);
    tr_balancer_unref(b);
    TR_CHECK_INT(tr_health_registry_count(reg), 0);
}

int main(void)
{
    reg = tr_health_registry_new();
    test_conf();
    test_transitions();
    test_checks_off();
    test_registry();
    test_threads();
    TR_CHECK_INT(tr_health_registry_count(reg), 0);
    tr_health_registry_free(reg);
    return TR_CHECK_DONE();
}

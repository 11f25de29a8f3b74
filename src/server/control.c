/* SPDX-License-Identifier: MIT */
/* Control thread: node start-up, signals, snapshot rebuilds, orderly shutdown. */
#include "server/control.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <uv.h>

#include "admin/admin.h"
#include "admin/server.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "core/logfile.h"
#include "plugins/registry.h"
#include "plugins/rl_cluster.h"
#include "proxy/hashpool.h"
#include "proxy/proxy.h"
#include "snapshot/kong3.h"
#include "snapshot/snapshot.h"
#include "server/cluster_sync.h"
#include "server/config_copy.h"
#include "server/dbless.h"
#include "server/dbwait.h"
#include "server/listen.h"
#include "server/node_id.h"
#include "server/prober.h"
#include "dns/resolver.h"
#include "server/rlimit.h"
#include "server/workers.h"
#include "store/store.h"

struct control {
    uv_loop_t loop;
    struct tr_conf *conf;
    const char *conf_path;
    struct tr_store *store;
    struct tr_workers *workers;
    struct tr_hashpool *hashpool; /* password hashes of every worker (owned) */
    struct tr_admin_server *admin;
    struct tr_admin_server *status; /* status_listen; NULL when off */
    struct tr_admin_env status_env; /* env with status_only */
    struct tr_prober *prober;       /* active health checks */
    struct tr_cluster_sync *sync;   /* other nodes' writes; NULL in DB-less mode */
    struct tr_resolver *resolver;   /* DNS of upstream and service names */
    struct tr_admin_env env;
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
    bool stopping;
    struct tr_snap_identity *identity; /* the identity part of the current snapshot */
    struct tr_k3_config k3;            /* Kong 3 services and routes, patched per write */
    char config_hash[33];              /* DB-less: the running configuration's hash */
    struct tr_config_copy *copy;       /* the local copy kept up to date; NULL when none */
    bool from_copy;                    /* store is the local copy: the database was down */
    bool supervised;                   /* a master process started this one */
    pid_t master;                      /* its pid, when supervised */
    uv_timer_t rejoin;                 /* from_copy: tries the database again */
    uv_work_t rejoin_work;             /* the try, on libuv's pool: it may wait pg_timeout */
    bool rejoin_ok;                    /* its outcome */
    char rejoin_err[512];
    uint32_t rejoin_ms; /* the next try's delay */
};

void tr_control_pid_path(const struct tr_conf *conf, char *buf, unsigned long len)
{
    snprintf(buf, len, "%s/torii.pid", conf->prefix);
}

/* Build and publish a snapshot with the current identity part and Kong 3 entities. Returns 0
 * or TR_EDB. */
static int rebuild_snapshot(struct control *ctl)
{
    struct tr_snapshot *snap = tr_snapshot_build(ctl->store, ctl->identity, &ctl->k3);
    if (snap == NULL)
        return TR_EDB; /* logged by the builder */
    tr_snapshot_publish(snap);
    return 0;
}

/* One written row into the parts kept here, without publishing a snapshot. */
static void patch_parts(struct control *ctl, const char *entity, const char *id, json_t *doc)
{
    /* A consumer or credential write patches the identity part (O(1), see identity.h). */
    struct tr_snap_identity *next = tr_snap_identity_apply(ctl->identity, entity, id, doc);
    if (next) {
        tr_snap_identity_unref(ctl->identity);
        ctl->identity = next;
    }
    /* A service or route write patches the Kong 3 rows kept here (no re-read of every row). */
    tr_snap_k3_apply(&ctl->k3, entity, id, doc);
}

static void publish_after_change(struct control *ctl)
{
    tr_config_copy_changed(ctl->copy);
    if (rebuild_snapshot(ctl) != 0)
        tr_log_error("control: snapshot rebuild failed; the proxy keeps the previous one");
}

static void on_admin_change(void *ud, const char *entity, const char *id, json_t *doc)
{
    patch_parts(ud, entity, id, doc);
    publish_after_change(ud);
}

/* The resolver learned a different answer for a name the snapshot uses. */
static void on_dns_change(void *ud)
{
    struct control *ctl = ud;
    if (!ctl->stopping && rebuild_snapshot(ctl) != 0)
        tr_log_error("control: snapshot rebuild after a DNS change failed");
}

/* The node's resolver on the control loop; the snapshot is built again with it (the first one
 * was built before the loop existed, from the hosts file alone). */
static void start_resolver(struct control *ctl)
{
    char err[256];
    struct tr_resolver_opts o = {
        .servers = ctl->conf->dns_resolver,
        .hostsfile = ctl->conf->dns_hostsfile,
        .stale_ttl = ctl->conf->dns_stale_ttl,
        .not_found_ttl = ctl->conf->dns_not_found_ttl,
        .error_ttl = ctl->conf->dns_error_ttl,
    };
    ctl->resolver = tr_resolver_new(&ctl->loop, &o, on_dns_change, ctl, err, sizeof(err));
    if (ctl->resolver == NULL) {
        tr_log_error("%s: names are resolved by the system's resolver only", err);
        return;
    }
    tr_snapshot_set_resolver(ctl->resolver);
    if (rebuild_snapshot(ctl) != 0)
        tr_log_error("control: snapshot rebuild with the resolver failed");
}

static json_t *server_status(void *ud)
{
    struct control *ctl = ud;
    struct tr_workers_totals t;
    tr_workers_totals(ctl->workers, &t);
    json_t *server = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "total_requests", (json_int_t)t.requests,
        "connections_active", (json_int_t)t.active, "connections_accepted", (json_int_t)t.accepted,
        "connections_handled", (json_int_t)t.handled, "connections_reading", (json_int_t)t.reading,
        "connections_writing", (json_int_t)t.writing, "connections_waiting", (json_int_t)t.waiting);
    struct tr_hashpool_stats h;
    tr_hashpool_stats(ctl->hashpool, &h);
    json_object_set_new(server, "password_hashes",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "threads", (json_int_t)h.threads,
                                  "queue_size", (json_int_t)h.queue_len, "queued",
                                  (json_int_t)h.queued, "running", (json_int_t)h.running, "done",
                                  (json_int_t)h.done, "refused", (json_int_t)h.refused));
    return server;
}

static void workers_metrics(void *ud, struct tr_metrics_out *out, uint64_t *refused,
                            uint64_t *bytes, uint64_t *bound)
{
    struct control *ctl = ud;
    tr_workers_metrics(ctl->workers, out, refused, bytes, bound);
}

static void begin_stop(struct control *ctl)
{
    if (ctl->stopping)
        return;
    ctl->stopping = true;
    tr_log_notice("stopping: draining connections (at most %u ms)", ctl->conf->drain_timeout_ms);
    uv_close((uv_handle_t *)&ctl->sig_term, NULL);
    uv_close((uv_handle_t *)&ctl->sig_int, NULL);
    uv_close((uv_handle_t *)&ctl->sig_hup, NULL);
    uv_close((uv_handle_t *)&ctl->sig_usr1, NULL);
    if (ctl->admin) {
        tr_admin_server_stop(ctl->admin, ctl->conf->drain_idle_grace_ms);
        ctl->admin = NULL;
    }
    if (ctl->status) {
        tr_admin_server_stop(ctl->status, ctl->conf->drain_idle_grace_ms);
        ctl->status = NULL;
    }
    tr_prober_stop(ctl->prober);
    ctl->prober = NULL;
    if (ctl->from_copy)
        uv_close((uv_handle_t *)&ctl->rejoin, NULL);
    tr_cluster_sync_stop(ctl->sync);
    ctl->sync = NULL;
    tr_snapshot_set_resolver(NULL);
    tr_resolver_stop(ctl->resolver);
    ctl->resolver = NULL;
    tr_workers_stop(ctl->workers, ctl->conf->drain_timeout_ms);
}

#define REJOIN_FIRST_MS 1000u
#define REJOIN_MAX_MS 10000u
/* After asking for a new worker: still here this much later, the reload did not take. */
#define REJOIN_AGAIN_MS 30000u

/* Serving the local copy: once the database opens, a new worker process takes over on it (the
 * master's reload: it serves before this one drains), which is simpler and safer than
 * swapping the store under running threads. The try runs on libuv's pool: an unreachable
 * server may hold a connect for pg_timeout, never the control loop. */
static void rejoin_try(uv_work_t *w)
{
    struct control *ctl = w->data;
    struct tr_store *probe = NULL;
    ctl->rejoin_ok =
        tr_store_open(ctl->conf, &probe, ctl->rejoin_err, sizeof(ctl->rejoin_err)) == 0;
    tr_store_close(probe);
}

static void on_rejoin(uv_timer_t *t);

static void rejoin_tried(uv_work_t *w, int status)
{
    struct control *ctl = w->data;
    if (ctl->stopping || status != 0)
        return; /* the timer is closed already */
    if (!ctl->rejoin_ok) {
        tr_log_info("the database still cannot be opened: %s (serving the local copy; next try "
                    "in %u ms)",
                    ctl->rejoin_err, ctl->rejoin_ms);
        uv_timer_start(&ctl->rejoin, on_rejoin, ctl->rejoin_ms, 0);
        ctl->rejoin_ms = ctl->rejoin_ms * 2 > REJOIN_MAX_MS ? REJOIN_MAX_MS : ctl->rejoin_ms * 2;
        return;
    }
    if (!ctl->supervised || getppid() != ctl->master) {
        tr_log_warn("the database can be opened again: restart torii to serve from it");
        return;
    }
    tr_log_notice("the database can be opened again: a new worker process takes over on it from "
                  "this one (serving the local copy)");
    kill(ctl->master, SIGHUP);
    ctl->rejoin_ms = REJOIN_FIRST_MS;
    uv_timer_start(&ctl->rejoin, on_rejoin, REJOIN_AGAIN_MS, 0);
}

static void on_rejoin(uv_timer_t *t)
{
    struct control *ctl = t->data;
    ctl->rejoin_work.data = ctl;
    if (uv_queue_work(&ctl->loop, &ctl->rejoin_work, rejoin_try, rejoin_tried) != 0)
        uv_timer_start(t, on_rejoin, ctl->rejoin_ms, 0);
}

static void on_stop_signal(uv_signal_t *s, int signum)
{
    begin_stop(s->data);
}

static void reload_configuration(struct control *ctl);

/* POST /config in DB-less mode (admin.h: apply_config). */
static void apply_config(void *ud, const json_t *doc, const char *hash, bool flatten, int *status,
                         json_t **body)
{
    struct control *ctl = ud;
    tr_dbless_apply(ctl->conf, &ctl->env, doc, hash, flatten, ctl->config_hash, status, body);
    if (*status == 201)
        reload_configuration(ctl);
}

/* SIGUSR1 (`torii reopen`, logrotate): the access logs and file-log's files are opened again
 * by the threads that write them, at their next write or flush. */
static void on_reopen_signal(uv_signal_t *s, int signum)
{
    (void)s;
    (void)signum;
    tr_log_notice("reopen: log files are opened again");
    tr_logfile_request_reopen();
}

static void on_reload_signal(uv_signal_t *s, int signum)
{
    struct control *ctl = s->data;
    tr_log_notice("reload: re-reading settings and rebuilding the configuration snapshot");
    if (ctl->conf_path) {
        struct tr_conf fresh;
        char err[512];
        memset(&fresh, 0, sizeof(fresh));
        if (tr_conf_load(&fresh, ctl->conf_path, err, sizeof(err)) != 0) {
            tr_log_error("reload: %s (keeping the running settings)", err);
        } else {
            /* Settings that need new sockets or threads take effect on restart. */
            tr_log_set_level(fresh.log_level);
            ctl->conf->log_level = fresh.log_level;
        }
        tr_conf_free(&fresh);
    }
    /* DB-less with a file: the file is the configuration (Kong re-reads it too). */
    if (tr_dbless_has_source(ctl->conf) &&
        tr_dbless_boot(ctl->conf, &ctl->env, ctl->config_hash) != 0)
        tr_log_error("reload: the declarative configuration stays as it was");
    reload_configuration(ctl);
}

/* Re-read everything from the store into the snapshot. */
static void reload_configuration(struct control *ctl)
{
    tr_config_copy_changed(ctl->copy);
    struct tr_snap_identity *fresh_identity = tr_snap_identity_load(ctl->store);
    if (fresh_identity) {
        tr_snap_identity_unref(ctl->identity);
        ctl->identity = fresh_identity;
    } else {
        tr_log_error("reload: cannot read consumers and credentials; keeping the current ones");
    }
    struct tr_k3_config fresh_k3;
    if (tr_snap_k3_load(ctl->store, &fresh_k3) == 0) {
        tr_snap_k3_free(&ctl->k3);
        ctl->k3 = fresh_k3;
    } else {
        tr_log_error("reload: cannot read services and routes; keeping the current ones");
    }
    if (rebuild_snapshot(ctl) != 0)
        tr_log_error("reload: snapshot rebuild failed; the proxy keeps the previous one");
}

/* Other nodes' writes (server/cluster_sync.c): patched in as ours are, one snapshot after all
 * of one look. */
static void on_cluster_change(void *ud, const char *entity, const char *id, json_t *doc)
{
    patch_parts(ud, entity, id, doc);
}

static void on_cluster_changed_all(void *ud)
{
    publish_after_change(ud);
}

static void on_cluster_reload(void *ud)
{
    reload_configuration(ud);
}

static const struct tr_cluster_sync_cbs sync_cbs = {
    .changed = on_cluster_change,
    .applied = on_cluster_changed_all,
    .reload = on_cluster_reload,
};

int tr_control_write_pid_file(const struct tr_conf *conf)
{
    char path[4096];
    tr_control_pid_path(conf, path, sizeof(path));
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    char line[32];
    int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1)
        return TR_EIO;
    bool ok = write(fd, line, (size_t)n) == n;
    ok = (close(fd) == 0) && ok;
    if (!ok || rename(tmp, path) != 0)
        return TR_EIO;
    return 0;
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    return TR_EIO;
}

int tr_control_run(struct tr_conf *conf, const char *conf_path, int ready_fd,
                   struct tr_sockets *socks)
{
    bool supervised = socks != NULL; /* a master process owns the sockets and the pid file */
    struct control ctl;
    memset(&ctl, 0, sizeof(ctl));
    ctl.conf = conf;
    ctl.conf_path = conf_path;
    char err[512];
    int status = 1;

    char logs[4096];
    snprintf(logs, sizeof(logs), "%s/logs", conf->prefix);
    if (ensure_dir(conf->prefix) != 0 || ensure_dir(logs) != 0) {
        tr_log_error("cannot create the prefix directory '%s': %s", conf->prefix, strerror(errno));
        return 1;
    }
    tr_server_raise_nofile(conf);
    char node_id[40];
    tr_node_id_load(conf, node_id, sizeof(node_id));
    tr_admin_set_node_id(node_id);
    tr_conf_set_node_id(node_id);
    /* Waits (database_wait) when the database cannot be opened yet; 503 on admin meanwhile.
     * Runtime rows (OAuth2 tokens) come from the same store, in sessions the thread pool
     * takes (tr_ctx_offload_store). */
    if (tr_server_open_store(conf, socks, &ctl.store, &ctl.from_copy) != 0)
        return 1;
    ctl.supervised = supervised;
    ctl.master = supervised ? getppid() : 0;
    /* Which plugins this node loads: fixed before the first snapshot and before any worker. */
    if (tr_plugin_set_enabled(conf->plugins, err, sizeof(err)) != 0) {
        tr_log_error("plugins: %s", err);
        goto out_store;
    }
    memcpy(ctl.config_hash, "00000000000000000000000000000000", 33);
    if (tr_dbless_on(conf)) {
        struct tr_admin_env boot = {.store = ctl.store, .conf = conf};
        if (tr_dbless_boot(conf, &boot, ctl.config_hash) != 0)
            goto out_store;
    }
    /* Where the cluster events stand, before the first read: a write another node makes
     * meanwhile is then applied once more rather than missed. */
    if (!tr_dbless_on(conf) && !ctl.from_copy)
        ctl.sync = tr_cluster_sync_new(ctl.store);
    ctl.identity = tr_snap_identity_load(ctl.store);
    if (ctl.identity == NULL || tr_snap_k3_load(ctl.store, &ctl.k3) != 0 ||
        rebuild_snapshot(&ctl) != 0) {
        tr_log_error("cannot build the configuration from the database");
        goto out_store;
    }
    if (!ctl.from_copy)
        ctl.copy = tr_config_copy_start(conf);

    /* The rate-limiting cluster policy's flusher: its own connection, its own thread. */
    if (tr_rl_cluster_start(ctl.store, err, sizeof(err)) != 0)
        tr_log_error("rate-limiting: cluster counters unavailable: %s", err);

    signal(SIGPIPE, SIG_IGN);
    uv_loop_init(&ctl.loop);
    /* Handlers first: a stop signal that arrives as soon as the node answers must drain it,
     * not kill it. */
    uv_signal_init(&ctl.loop, &ctl.sig_term);
    uv_signal_init(&ctl.loop, &ctl.sig_int);
    uv_signal_init(&ctl.loop, &ctl.sig_hup);
    uv_signal_init(&ctl.loop, &ctl.sig_usr1);
    ctl.sig_term.data = ctl.sig_int.data = ctl.sig_hup.data = ctl.sig_usr1.data = &ctl;
    uv_signal_start(&ctl.sig_term, on_stop_signal, SIGTERM);
    uv_signal_start(&ctl.sig_int, on_stop_signal, SIGINT);
    uv_signal_start(&ctl.sig_hup, on_reload_signal, SIGHUP);
    uv_signal_start(&ctl.sig_usr1, on_reopen_signal, SIGUSR1);
    start_resolver(&ctl);
    if (ctl.sync != NULL)
        tr_cluster_sync_start(ctl.sync, &ctl.loop, conf->db_update_frequency_ms, &sync_cbs, &ctl);
    if (ctl.from_copy) {
        uv_timer_init(&ctl.loop, &ctl.rejoin);
        ctl.rejoin.data = &ctl;
        ctl.rejoin_ms = REJOIN_FIRST_MS * 2;
        uv_timer_start(&ctl.rejoin, on_rejoin, REJOIN_FIRST_MS, 0);
    }
    if (tr_proxy_tls_init(conf, err, sizeof(err)) != 0) {
        tr_log_error("tls: %s", err);
        goto out_loop;
    }
    struct tr_sockets own;
    if (socks == NULL) {
        if (tr_sockets_open(&own, conf, err, sizeof(err)) != 0) {
            tr_log_error("%s", err);
            goto out_loop;
        }
        socks = &own;
    }
    /* Password hashes get threads of their own, shared by every worker and apart from libuv's
     * pool (OAuth2 store work, DNS), with a bounded queue: a flood of wrong passwords costs
     * at most these threads and is refused beyond the queue. */
    ctl.hashpool =
        tr_hashpool_start(conf->password_hash_threads, conf->password_hash_queue, err, sizeof(err));
    if (ctl.hashpool == NULL) {
        tr_log_error("password_hash_threads: %s", err);
        goto out_socks;
    }
    ctl.workers = tr_workers_start(conf, socks, ctl.hashpool, ctl.store, err, sizeof(err));
    if (ctl.workers == NULL) {
        tr_log_error("%s", err);
        goto out_socks;
    }
    ctl.env = (struct tr_admin_env){
        .store = ctl.store,
        .conf = conf,
        .on_change = on_admin_change,
        .server_status = server_status,
        .metrics = workers_metrics,
        .ud = &ctl,
        .read_only = tr_dbless_on(conf),
        .apply_config = tr_dbless_on(conf) ? apply_config : NULL,
        .config_hash = tr_dbless_on(conf) ? ctl.config_hash : NULL,
        .serving_copy = ctl.from_copy,
    };
    ctl.admin = tr_admin_server_start(&ctl.loop, conf, &ctl.env, socks->admin,
                                      socks->admin_loopback, socks->num_admin, err, sizeof(err));
    if (ctl.admin == NULL && socks->num_admin > 0) {
        tr_log_error("admin_listen: %s", err);
        tr_workers_stop(ctl.workers, 0);
        tr_workers_join(ctl.workers);
        goto out_socks;
    }
    ctl.status_env = ctl.env;
    ctl.status_env.status_only = true;
    if (socks->num_status > 0)
        ctl.status =
            tr_admin_server_start(&ctl.loop, conf, &ctl.status_env, socks->status,
                                  socks->status_loopback, socks->num_status, err, sizeof(err));
    if (ctl.status == NULL && socks->num_status > 0) {
        tr_log_error("status_listen: %s", err);
        if (ctl.admin)
            tr_admin_server_stop(ctl.admin, 0);
        tr_workers_stop(ctl.workers, 0);
        tr_workers_join(ctl.workers);
        goto out_socks;
    }
    /* Workers and the admin server hold their own duplicates now. Dropping this process's
     * copies means a draining node stops holding the ports once its listeners close. */
    tr_sockets_close(socks);

    if (!supervised && tr_control_write_pid_file(conf) != 0)
        tr_log_warn("cannot write the pid file in '%s': %s", conf->prefix, strerror(errno));
    char pl[80] = "off", al[80] = "off";
    if (conf->proxy_listen.cnt)
        tr_conf_format_listen(&conf->proxy_listen.items[0], pl, sizeof(pl));
    if (conf->admin_listen.cnt)
        tr_conf_format_listen(&conf->admin_listen.items[0], al, sizeof(al));
    tr_log_notice("torii " TR_VERSION " started: proxy %s, admin %s, %d worker threads, "
                  "prefix %s",
                  pl, al, conf->worker_threads, conf->prefix);
    if (ready_fd >= 0) {
        ssize_t w = write(ready_fd, "1", 1);
        (void)w;
        close(ready_fd);
    }

    /* Active health checks: one prober for the node, on this loop (after the node said it
     * serves: nothing it does delays that). */
    ctl.prober = tr_prober_start(&ctl.loop, conf);

    uv_run(&ctl.loop, UV_RUN_DEFAULT);
    /* The loop ends once signals and admin handles are closed; workers drain on their own. */
    tr_workers_join(ctl.workers);
    uv_run(&ctl.loop, UV_RUN_DEFAULT);
    char pid_path[4096];
    tr_control_pid_path(conf, pid_path, sizeof(pid_path));
    if (!supervised)
        unlink(pid_path);
    if (supervised)
        tr_log_info("worker process %ld stopped", (long)getpid());
    else
        tr_log_notice("torii stopped");
    status = 0;

out_socks:
    tr_sockets_close(socks);
out_loop:
    if (!ctl.stopping) {
        uv_close((uv_handle_t *)&ctl.sig_term, NULL);
        uv_close((uv_handle_t *)&ctl.sig_int, NULL);
        uv_close((uv_handle_t *)&ctl.sig_hup, NULL);
        uv_close((uv_handle_t *)&ctl.sig_usr1, NULL);
        if (ctl.from_copy)
            uv_close((uv_handle_t *)&ctl.rejoin, NULL);
        tr_snapshot_set_resolver(NULL);
        tr_resolver_stop(ctl.resolver);
        tr_cluster_sync_stop(ctl.sync);
        ctl.sync = NULL;
        uv_run(&ctl.loop, UV_RUN_DEFAULT);
    }
    uv_loop_close(&ctl.loop);
    /* After the workers: their ports are closed, so nothing is queued any more. */
    tr_hashpool_free(ctl.hashpool);
    tr_proxy_tls_fini();
    tr_snapshot_shutdown();
out_store:
    tr_rl_cluster_stop(); /* after the workers: what they counted last is written */
    tr_snap_identity_unref(ctl.identity);
    tr_snap_k3_free(&ctl.k3);
    tr_config_copy_stop(ctl.copy);
    /* after the workers and the flusher: no session is out */
    if (ctl.from_copy)
        tr_config_copy_close(conf, ctl.store);
    else
        tr_store_close(ctl.store);
    return status;
}

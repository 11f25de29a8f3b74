/* SPDX-License-Identifier: MIT */
/* Master process: sockets, supervision, reload (see master.h). */
#include "server/master.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "server/control.h"
#include "server/listen.h"

static volatile sig_atomic_t got_stop, got_reload, got_child, got_upgrade, got_reopen;

/* The binary this master runs, as a path (a binary upgrade execs what is there now). */
static char self_exe[4096];

/* Environment of a master exec'ed by a binary upgrade: the sockets it inherits and the pid of
 * the master it replaces (not TORII_*: those are settings). */
#define ENV_SOCKETS "INHERITED_TORII_SOCKETS"
#define ENV_FROM "INHERITED_TORII_FROM"

static void on_signal(int signum)
{
    if (signum == SIGTERM || signum == SIGINT)
        got_stop = 1;
    else if (signum == SIGHUP)
        got_reload = 1;
    else if (signum == SIGCHLD)
        got_child = 1;
    else if (signum == SIGUSR2)
        got_upgrade = 1;
    else if (signum == SIGUSR1)
        got_reopen = 1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Fork a worker process running the node on socks. Its readiness arrives on *ready_read.
 * Returns the pid, or -1. */
static pid_t spawn(struct tr_conf *conf, const char *conf_path, const struct tr_sockets *socks,
                   int *ready_read)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        /* The worker must not outlive its master (a kill -9 of the master included). */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the master, which drains the worker */
        signal(SIGHUP, SIG_DFL);
        signal(SIGUSR1, SIG_IGN); /* until its loop takes it: a reopen must never kill it */
        signal(SIGCHLD, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* exit(), not _exit(): the sanitizer build checks for leaks at exit. */
        exit(tr_control_run(conf, conf_path, fds[1], (struct tr_sockets *)socks));
    }
    close(fds[1]);
    *ready_read = fds[0];
    return pid;
}

/* Wait (signals still handled) until the worker signals readiness or dies. */
static bool wait_ready(int fd, pid_t pid)
{
    char b;
    for (;;) {
        ssize_t n = read(fd, &b, 1);
        if (n == 1)
            return true;
        if (n == 0)
            return false; /* the worker exited (or failed) before serving */
        if (errno != EINTR)
            return false;
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid)
            return false;
    }
}

static void notify_ready(int *ready_fd)
{
    if (*ready_fd >= 0) {
        ssize_t w = write(*ready_fd, "1", 1);
        (void)w;
        close(*ready_fd);
        *ready_fd = -1;
    }
}

/* SIGUSR2: fork and exec the binary at self_exe as a new master on the same sockets. It
 * starts its worker, takes over the pid file and then tells this master to drain and exit, so
 * the ports never close. Returns the child's pid, or -1. */
static pid_t start_upgrade(const struct tr_conf *conf, const char *conf_path,
                           const struct tr_sockets *socks)
{
    char fds[8192];
    if (self_exe[0] == '\0' || tr_sockets_export(socks, fds, sizeof(fds)) != 0)
        return -1;
    char exe[sizeof(self_exe)];
    snprintf(exe, sizeof(exe), "%s", self_exe);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    tr_sockets_inheritable(socks);
    char from[24];
    snprintf(from, sizeof(from), "%ld", (long)getppid());
    setenv(ENV_SOCKETS, fds, 1);
    setenv(ENV_FROM, from, 1);
    for (int sig = 1; sig < 32; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            signal(sig, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char *argv[8];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "start";
    if (conf_path) {
        argv[n++] = "-c";
        argv[n++] = (char *)conf_path;
    }
    argv[n++] = "-p";
    argv[n++] = conf->prefix;
    argv[n] = NULL;
    execv(exe, argv);
    tr_log_error("binary upgrade: cannot run %s: %s", exe, strerror(errno));
    _exit(127);
}

/* The pid the pid file names, or 0. */
static long pid_file_pid(const struct tr_conf *conf)
{
    char path[4096];
    tr_control_pid_path(conf, path, sizeof(path));
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    return pid;
}

static bool pid_file_names(const struct tr_conf *conf, pid_t pid)
{
    return pid_file_pid(conf) == (long)pid;
}

/* Remove the pid file unless a newer master (a binary upgrade) wrote its own pid there. */
static void remove_pid_file(const struct tr_conf *conf)
{
    long pid = pid_file_pid(conf);
    if (pid == 0 || pid == (long)getpid()) {
        char path[4096];
        tr_control_pid_path(conf, path, sizeof(path));
        unlink(path);
    }
}

/* The master's state while it supervises. */
struct master {
    struct tr_conf *conf; /* borrowed; replaced on a reload that re-read the file */
    const char *conf_path;
    struct tr_sockets socks;
    pid_t worker;     /* the serving worker process */
    pid_t upgrade;    /* a new master starting (binary upgrade), or -1 */
    uint64_t started; /* when the current worker started (ms) */
    unsigned quick_deaths;
    sigset_t block, old; /* the signals handled here, and the mask to wait with */
    int status;          /* exit code */
};

/* Start a worker and wait until it serves, with the master's signals unblocked meanwhile.
 * Returns its pid (serving or not when !*ok), or -1. */
static pid_t spawn_and_wait(struct master *m, bool *ok)
{
    int ready_read = -1;
    sigprocmask(SIG_SETMASK, &m->old, NULL);
    pid_t pid = spawn(m->conf, m->conf_path, &m->socks, &ready_read);
    *ok = pid > 0 && wait_ready(ready_read, pid);
    if (pid > 0)
        close(ready_read);
    sigprocmask(SIG_BLOCK, &m->block, NULL);
    return pid;
}

/* SIGUSR2: exec the binary now at our path as a new master on the same sockets. */
static void on_upgrade(struct master *m)
{
    if (m->upgrade > 0) {
        tr_log_warn("binary upgrade: one is already running (pid %ld)", (long)m->upgrade);
        return;
    }
    m->upgrade = start_upgrade(m->conf, m->conf_path, &m->socks);
    if (m->upgrade < 0)
        tr_log_error("binary upgrade: cannot start a new master: %s", strerror(errno));
    else
        tr_log_notice("binary upgrade: starting %s as master %ld", self_exe, (long)m->upgrade);
}

/* SIGCHLD: reap. A worker that died is replaced at once (with a backoff when it keeps dying
 * right after it starts); a new master that exited before taking over leaves us serving.
 * Returns false when the master must stop. */
static bool on_child(struct master *m, bool stopping)
{
    int st = 0, reaped;
    pid_t pid;
    bool worker_died = false;
    while ((pid = waitpid(-1, &reaped, WNOHANG)) > 0) {
        if (pid == m->worker) {
            worker_died = true;
            st = reaped;
        }
        if (pid == m->upgrade) {
            tr_log_error("binary upgrade failed: the new master exited (%s %d); "
                         "this one keeps serving",
                         WIFSIGNALED(reaped) ? "signal" : "status",
                         WIFSIGNALED(reaped) ? WTERMSIG(reaped) : WEXITSTATUS(reaped));
            m->upgrade = -1;
        }
    }
    if (!worker_died)
        return true;
    if (stopping) {
        m->status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
        return false;
    }
    m->quick_deaths = now_ms() - m->started < 1000 ? m->quick_deaths + 1 : 0;
    tr_log_error("worker process %ld died (%s %d); starting a new one", (long)m->worker,
                 WIFSIGNALED(st) ? "signal" : "status",
                 WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    if (m->quick_deaths > 3) {
        struct timespec ts = {m->quick_deaths > 8 ? 5 : 1, 0};
        nanosleep(&ts, NULL);
    }
    m->started = now_ms();
    bool ok;
    m->worker = spawn_and_wait(m, &ok);
    if (m->worker < 0) {
        tr_log_error("cannot start a worker process: %s", strerror(errno));
        m->status = 1;
        return false;
    }
    return true;
}

/* SIGHUP: re-read the settings (the sockets stay as they are), start a new worker on the same
 * sockets, and only once it serves tell the old one to drain. */
static void on_reload(struct master *m)
{
    if (m->conf_path) {
        struct tr_conf fresh;
        char err[512];
        memset(&fresh, 0, sizeof(fresh));
        if (tr_conf_load(&fresh, m->conf_path, err, sizeof(err)) == 0) {
            tr_conf_free(m->conf);
            *m->conf = fresh;
        } else {
            tr_log_error("reload: %s (keeping the running settings)", err);
        }
    }
    bool ok;
    pid_t fresh = spawn_and_wait(m, &ok);
    if (ok) {
        tr_log_notice("reload: worker process %ld replaces %ld", (long)fresh, (long)m->worker);
        kill(m->worker, SIGTERM);
        m->worker = fresh;
        m->started = now_ms();
    } else {
        tr_log_error("reload failed: the new worker did not start; keeping the old one");
        if (fresh > 0)
            kill(fresh, SIGKILL);
    }
}

/* SIGTERM / SIGINT: the worker drains and exits; a new master still starting stops too. */
static void on_stop(struct master *m)
{
    /* The ports close as the worker takes what the kernel had already accepted and closes its
     * own copies: a stopping node takes no new connection, and none is left in a queue that
     * nobody reads. (A new master of an upgrade has its own copies.) */
    tr_sockets_close(&m->socks);
    kill(m->worker, SIGTERM);
    int st;
    while (waitpid(m->worker, &st, 0) < 0 && errno == EINTR)
        ;
    m->status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
    if (m->upgrade > 0 && !pid_file_names(m->conf, m->upgrade)) {
        kill(m->upgrade, SIGTERM);
        while (waitpid(m->upgrade, NULL, 0) < 0 && errno == EINTR)
            ;
        m->upgrade = -1;
    }
}

static void install_signals(struct master *m)
{
    static const int handled[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGUSR2, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&m->block);
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++) {
        sigaction(handled[i], &sa, NULL);
        sigaddset(&m->block, handled[i]);
    }
    signal(SIGPIPE, SIG_IGN);
}

/* The pid of the master a binary upgrade replaces (ENV_FROM), or 0. */
static long replaced_master(void)
{
    const char *v = getenv(ENV_FROM);
    if (v == NULL)
        return 0;
    char *end = NULL;
    errno = 0;
    long pid = strtol(v, &end, 10);
    return errno == 0 && end != v && *end == '\0' && pid > 1 ? pid : 0;
}

/* Open (or, after a binary upgrade, take over) the listening sockets, start the first worker
 * and wait until it serves. Returns 0, or 1 with the reason logged. */
static int start(struct master *m, int *ready_fd)
{
    char err[512];
    ssize_t sl = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    self_exe[sl > 0 ? sl : 0] = '\0';
    const char *inherited = getenv(ENV_SOCKETS);
    long replaces = replaced_master();
    int rc = inherited ? tr_sockets_import(&m->socks, inherited, m->conf, err, sizeof(err))
                       : tr_sockets_open(&m->socks, m->conf, err, sizeof(err));
    unsetenv(ENV_SOCKETS);
    unsetenv(ENV_FROM);
    if (rc != 0) {
        tr_log_error("%s%s", inherited ? "binary upgrade: " : "", err);
        return 1;
    }
    install_signals(m);
    sigprocmask(SIG_BLOCK, &m->block, &m->old);
    bool ok;
    m->worker = spawn_and_wait(m, &ok);
    if (!ok) {
        tr_log_error("the node could not start (see the messages above)");
        if (m->worker > 0) {
            kill(m->worker, SIGTERM);
            waitpid(m->worker, NULL, 0);
        }
        sigprocmask(SIG_SETMASK, &m->old, NULL);
        tr_sockets_close(&m->socks);
        return 1;
    }
    m->started = now_ms();
    if (tr_control_write_pid_file(m->conf) != 0)
        tr_log_warn("cannot write the pid file in '%s': %s", m->conf->prefix, strerror(errno));
    notify_ready(ready_fd);
    if (inherited && replaces > 1 && replaces == (long)getppid()) {
        /* This master serves now: the one it replaces drains its worker and exits. */
        tr_log_notice("binary upgrade: master %ld replaces %ld", (long)getpid(), replaces);
        kill((pid_t)replaces, SIGTERM);
    }
    return 0;
}

int tr_master_run(struct tr_conf *conf, const char *conf_path, int ready_fd)
{
    struct master m = {.conf = conf, .conf_path = conf_path, .worker = -1, .upgrade = -1};
    if (start(&m, &ready_fd) != 0)
        return 1;
    for (;;) {
        while (!got_stop && !got_reload && !got_child && !got_upgrade && !got_reopen)
            sigsuspend(&m.old);
        if (got_reopen) {
            /* SIGUSR1, nginx's "reopen log files" (logrotate): the worker process does it. */
            got_reopen = 0;
            if (m.worker > 0)
                kill(m.worker, SIGUSR1);
        }
        if (got_upgrade) {
            got_upgrade = 0;
            on_upgrade(&m);
        }
        if (got_child) {
            got_child = 0;
            if (!on_child(&m, got_stop))
                break;
        }
        if (got_reload) {
            got_reload = 0;
            on_reload(&m);
        }
        if (got_stop) {
            on_stop(&m);
            break;
        }
    }
    sigprocmask(SIG_SETMASK, &m.old, NULL);
    tr_sockets_close(&m.socks);
    remove_pid_file(conf);
    tr_log_notice(m.upgrade > 0 ? "torii stopped (master %ld took over)" : "torii stopped",
                  (long)m.upgrade);
    return m.status;
}

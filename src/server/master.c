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

static volatile sig_atomic_t got_stop, got_reload, got_child, got_upgrade;

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

int tr_master_run(struct tr_conf *conf, const char *conf_path, int ready_fd)
{
    struct tr_sockets socks;
    char err[512];
    ssize_t sl = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
    self_exe[sl > 0 ? sl : 0] = '\0';
    const char *inherited = getenv(ENV_SOCKETS);
    long replaces = getenv(ENV_FROM) ? strtol(getenv(ENV_FROM), NULL, 10) : 0;
    int rc = inherited ? tr_sockets_import(&socks, inherited, conf, err, sizeof(err))
                       : tr_sockets_open(&socks, conf, err, sizeof(err));
    unsetenv(ENV_SOCKETS);
    unsetenv(ENV_FROM);
    if (rc != 0) {
        tr_log_error("%s%s", inherited ? "binary upgrade: " : "", err);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int ready_read = -1;
    pid_t worker = spawn(conf, conf_path, &socks, &ready_read);
    if (worker < 0 || !wait_ready(ready_read, worker)) {
        if (ready_read >= 0)
            close(ready_read);
        tr_log_error("the node could not start (see the messages above)");
        if (worker > 0) {
            kill(worker, SIGTERM);
            waitpid(worker, NULL, 0);
        }
        tr_sockets_close(&socks);
        return 1;
    }
    close(ready_read);
    if (tr_control_write_pid_file(conf) != 0)
        tr_log_warn("cannot write the pid file in '%s': %s", conf->prefix, strerror(errno));
    notify_ready(&ready_fd);
    if (inherited && replaces > 1 && replaces == (long)getppid()) {
        /* This master serves now: the one it replaces drains its worker and exits. */
        tr_log_notice("binary upgrade: master %ld replaces %ld", (long)getpid(), replaces);
        kill((pid_t)replaces, SIGTERM);
    }

    int status = 0;
    uint64_t started = now_ms();
    unsigned quick_deaths = 0;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGCHLD);
    sigaddset(&block, SIGUSR2);
    sigprocmask(SIG_BLOCK, &block, &old);
    pid_t upgrade = -1;
    for (;;) {
        while (!got_stop && !got_reload && !got_child && !got_upgrade)
            sigsuspend(&old);
        if (got_upgrade) {
            got_upgrade = 0;
            if (upgrade > 0) {
                tr_log_warn("binary upgrade: one is already running (pid %ld)", (long)upgrade);
            } else {
                upgrade = start_upgrade(conf, conf_path, &socks);
                if (upgrade < 0)
                    tr_log_error("binary upgrade: cannot start a new master: %s", strerror(errno));
                else
                    tr_log_notice("binary upgrade: starting %s as master %ld", self_exe,
                                  (long)upgrade);
            }
        }
        if (got_child) {
            got_child = 0;
            int st = 0, reaped;
            pid_t pid;
            bool worker_died = false;
            while ((pid = waitpid(-1, &reaped, WNOHANG)) > 0) {
                if (pid == worker) {
                    worker_died = true;
                    st = reaped;
                }
                if (pid == upgrade) {
                    /* The new master exited before it took over: keep serving. */
                    tr_log_error("binary upgrade failed: the new master exited (%s %d); "
                                 "this one keeps serving",
                                 WIFSIGNALED(reaped) ? "signal" : "status",
                                 WIFSIGNALED(reaped) ? WTERMSIG(reaped) : WEXITSTATUS(reaped));
                    upgrade = -1;
                }
            }
            if (worker_died && !got_stop) {
                /* Back off only when the worker keeps dying right after it starts. */
                quick_deaths = now_ms() - started < 1000 ? quick_deaths + 1 : 0;
                tr_log_error("worker process %ld died (%s %d); starting a new one", (long)worker,
                             WIFSIGNALED(st) ? "signal" : "status",
                             WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                if (quick_deaths > 3) {
                    struct timespec ts = {quick_deaths > 8 ? 5 : 1, 0};
                    nanosleep(&ts, NULL);
                }
                started = now_ms();
                sigprocmask(SIG_SETMASK, &old, NULL);
                worker = spawn(conf, conf_path, &socks, &ready_read);
                if (worker > 0) {
                    wait_ready(ready_read, worker);
                    close(ready_read);
                }
                sigprocmask(SIG_BLOCK, &block, NULL);
                if (worker < 0) {
                    tr_log_error("cannot start a worker process: %s", strerror(errno));
                    status = 1;
                    break;
                }
            } else if (worker_died) {
                status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
                break;
            }
        }
        if (got_reload) {
            got_reload = 0;
            if (conf_path) {
                /* Re-read the settings for the new worker; sockets stay as they are. */
                struct tr_conf fresh;
                memset(&fresh, 0, sizeof(fresh));
                if (tr_conf_load(&fresh, conf_path, err, sizeof(err)) == 0) {
                    tr_conf_free(conf);
                    *conf = fresh;
                } else {
                    tr_log_error("reload: %s (keeping the running settings)", err);
                }
            }
            /* A new worker on the same sockets first; the old one drains once it serves. */
            sigprocmask(SIG_SETMASK, &old, NULL);
            pid_t fresh = spawn(conf, conf_path, &socks, &ready_read);
            bool ok = fresh > 0 && wait_ready(ready_read, fresh);
            if (fresh > 0)
                close(ready_read);
            sigprocmask(SIG_BLOCK, &block, NULL);
            if (ok) {
                tr_log_notice("reload: worker process %ld replaces %ld", (long)fresh, (long)worker);
                kill(worker, SIGTERM);
                worker = fresh;
                started = now_ms();
            } else {
                tr_log_error("reload failed: the new worker did not start; keeping the old one");
                if (fresh > 0)
                    kill(fresh, SIGKILL);
            }
        }
        if (got_stop) {
            kill(worker, SIGTERM);
            int st;
            while (waitpid(worker, &st, 0) < 0 && errno == EINTR)
                ;
            status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
            if (upgrade > 0 && !pid_file_names(conf, upgrade)) {
                /* Stopped while a new master was still starting: it stops too. */
                kill(upgrade, SIGTERM);
                while (waitpid(upgrade, NULL, 0) < 0 && errno == EINTR)
                    ;
                upgrade = -1;
            }
            break;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    tr_sockets_close(&socks);
    remove_pid_file(conf);
    tr_log_notice(upgrade > 0 ? "torii stopped (master %ld took over)" : "torii stopped",
                  (long)upgrade);
    return status;
}

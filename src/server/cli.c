/* SPDX-License-Identifier: MIT */
/* Command line: `torii start|stop|reload|upgrade|health|check|migrations|config|version`, in the
 * spirit of Kong's CLI. Each subcommand is one row of the table at the end. */
#include "server/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "plugins/registry.h"
#include "server/control.h"
#include "server/listen.h"
#include "server/master.h"
#include "store/store.h"

struct cli_opts {
    const char *conf_path;
    bool daemon;
    int argc; /* remaining positional arguments */
    char **argv;
};

static int parse_opts(int argc, char **argv, struct cli_opts *o)
{
    memset(o, 0, sizeof(*o));
    optind = 1;
    int ch;
    while ((ch = getopt(argc, argv, "c:p:d")) != -1) {
        switch (ch) {
        case 'c':
            o->conf_path = optarg;
            break;
        case 'p':
            /* The prefix flag wins over file and environment. */
            setenv("TORII_PREFIX", optarg, 1);
            break;
        case 'd':
            o->daemon = true;
            break;
        default:
            return TR_EINVAL;
        }
    }
    o->argc = argc - optind;
    o->argv = argv + optind;
    return 0;
}

int tr_cli_load_conf(const char *conf_path, struct tr_conf *conf)
{
    char err[512];
    memset(conf, 0, sizeof(*conf));
    int rc = tr_conf_load(conf, conf_path, err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "torii: %s\n", err);
        tr_conf_free(conf);
    }
    return rc;
}

static int load_conf(const struct cli_opts *o, struct tr_conf *conf)
{
    return tr_cli_load_conf(o->conf_path, conf);
}

static int apply_logging(const struct tr_conf *conf)
{
    tr_log_set_level(conf->log_level);
    if (conf->proxy_error_log && conf->proxy_error_log[0]) {
        int rc = tr_log_open(conf->proxy_error_log);
        if (rc != 0) {
            fprintf(stderr, "torii: cannot open proxy_error_log '%s': %s\n", conf->proxy_error_log,
                    strerror(-rc));
            return TR_EIO;
        }
    }
    return 0;
}

static int cmd_start(int argc, char **argv)
{
    struct cli_opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    struct tr_conf conf;
    if (load_conf(&o, &conf) != 0)
        return 1;
    if (apply_logging(&conf) != 0) {
        tr_conf_free(&conf);
        return 1;
    }
    int ready_fd = -1;
    if (o.daemon) {
        int fds[2];
        if (pipe(fds) != 0) {
            fprintf(stderr, "torii: pipe: %s\n", strerror(errno));
            tr_conf_free(&conf);
            return 1;
        }
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "torii: fork: %s\n", strerror(errno));
            tr_conf_free(&conf);
            return 1;
        }
        if (pid > 0) {
            /* Parent: wait until the node serves (or failed). */
            close(fds[1]);
            char b;
            ssize_t n = read(fds[0], &b, 1);
            close(fds[0]);
            tr_conf_free(&conf);
            if (n == 1) {
                printf("torii started\n");
                return 0;
            }
            fprintf(stderr, "torii: start failed (see the error log)\n");
            return 1;
        }
        close(fds[0]);
        setsid();
        if (fork() > 0)
            _exit(0);
        ready_fd = fds[1];
        int devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
            if (!(conf.proxy_error_log && conf.proxy_error_log[0])) {
                char path[4200];
                snprintf(path, sizeof(path), "%s/logs", conf.prefix);
                mkdir(conf.prefix, 0755);
                mkdir(path, 0755);
                snprintf(path, sizeof(path), "%s/logs/error.log", conf.prefix);
                int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
                if (fd >= 0) {
                    dup2(fd, 2);
                    close(fd);
                }
            }
            close(devnull);
        }
    }
    int rc = tr_master_run(&conf, o.conf_path, ready_fd);
    tr_log_close();
    tr_conf_free(&conf);
    return rc;
}

/* The pid in the prefix's pid file, or -1 when there is none (no file, or no pid in it): a
 * value, not a TR_E* code. */
static long read_pid(const struct tr_conf *conf)
{
    char path[4200];
    tr_control_pid_path(conf, path, sizeof(path));
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    char line[32] = {0};
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    if (ok == NULL)
        return -1;
    char *end;
    long pid = strtol(line, &end, 10);
    if (end == line || pid <= 0)
        return -1;
    return pid;
}

/* Parse the options, load the settings and find the running master: 0 with *conf (free it)
 * and *pid, or the command's exit status (2 bad options, 1 no node) after saying why. */
static int find_node(int argc, char **argv, struct tr_conf *conf, long *pid)
{
    struct cli_opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    if (load_conf(&o, conf) != 0)
        return 1;
    *pid = read_pid(conf);
    if (*pid <= 0 || kill((pid_t)*pid, 0) != 0) {
        fprintf(stderr, "torii: no running node at prefix %s\n", conf->prefix);
        tr_conf_free(conf);
        return 1;
    }
    return 0;
}

static int signal_node(int argc, char **argv, int signum, bool wait_exit, const char *said)
{
    struct tr_conf conf;
    long pid;
    int found = find_node(argc, argv, &conf, &pid);
    if (found != 0)
        return found;
    kill((pid_t)pid, signum);
    int rc = 0;
    if (wait_exit) {
        /* Bounded wait: the drain timeout plus a margin. */
        long waited = 0, limit = (long)conf.drain_timeout_ms + 5000;
        while (kill((pid_t)pid, 0) == 0 && waited < limit) {
            struct timespec ts = {0, 50 * 1000000};
            nanosleep(&ts, NULL);
            waited += 50;
        }
        if (kill((pid_t)pid, 0) == 0) {
            fprintf(stderr, "torii: node %ld did not stop in time\n", pid);
            rc = 1;
        } else {
            printf("torii stopped\n");
        }
    } else {
        printf("%s\n", said);
    }
    tr_conf_free(&conf);
    return rc;
}

static int cmd_stop(int argc, char **argv)
{
    return signal_node(argc, argv, SIGTERM, true, NULL);
}

static int cmd_reload(int argc, char **argv)
{
    return signal_node(argc, argv, SIGHUP, false, "torii reloaded");
}

/* SIGUSR1, as nginx -s reopen: log files are opened again (after logrotate moved them). */
static int cmd_reopen(int argc, char **argv)
{
    return signal_node(argc, argv, SIGUSR1, false, "torii reopened its log files");
}

/* Does pid run (a zombie waiting for its parent does not)? */
static bool pid_running(long pid)
{
    if (pid <= 0 || kill((pid_t)pid, 0) != 0)
        return false;
    char path[64], buf[256];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return true;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return !(rp && rp[1] == ' ' && rp[2] == 'Z');
}

/* Binary upgrade: SIGUSR2 makes the master exec the binary now at its path as a new master on
 * the same sockets; the old master drains and exits once the new one serves. Waits (bounded)
 * for the hand-over. */
static int cmd_upgrade(int argc, char **argv)
{
    struct tr_conf conf;
    long pid;
    int found = find_node(argc, argv, &conf, &pid);
    if (found != 0)
        return found;
    kill((pid_t)pid, SIGUSR2);
    long waited = 0, limit = (long)conf.drain_timeout_ms + 15000;
    long now_pid = pid;
    while (waited < limit) {
        now_pid = read_pid(&conf);
        if (now_pid > 0 && now_pid != pid && pid_running(now_pid) && !pid_running(pid))
            break;
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
        waited += 50;
    }
    int rc = 0;
    if (now_pid > 0 && now_pid != pid && pid_running(now_pid) && !pid_running(pid)) {
        printf("torii upgraded: master %ld replaced %ld\n", now_pid, pid);
    } else {
        fprintf(stderr,
                "torii: the upgrade did not complete (master %ld still runs; see its "
                "log)\n",
                pid);
        rc = 1;
    }
    tr_conf_free(&conf);
    return rc;
}

/* GET /status on the first admin listener; true on a 200. */
static bool admin_answers(const struct tr_conf *conf)
{
    if (conf->admin_listen.cnt == 0)
        return true;
    struct sockaddr_storage ss;
    unsigned sl;
    if (tr_listen_sockaddr(&conf->admin_listen.items[0], true, &ss, &sl) != 0)
        return false;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    bool ok = false;
    if (connect(fd, (struct sockaddr *)&ss, sl) == 0) {
        static const char req[] = "GET /status HTTP/1.1\r\nHost: localhost\r\n"
                                  "Connection: close\r\n\r\n";
        if (write(fd, req, sizeof(req) - 1) == (ssize_t)(sizeof(req) - 1)) {
            char buf[64] = {0};
            ssize_t n = read(fd, buf, sizeof(buf) - 1);
            ok = n >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
        }
    }
    close(fd);
    return ok;
}

static int cmd_health(int argc, char **argv)
{
    struct cli_opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    struct tr_conf conf;
    if (load_conf(&o, &conf) != 0)
        return 1;
    long pid = read_pid(&conf);
    int rc = 1;
    if (pid <= 0 || kill((pid_t)pid, 0) != 0)
        fprintf(stderr, "torii: no running node at prefix %s\n", conf.prefix);
    else if (!admin_answers(&conf))
        fprintf(stderr, "torii: node %ld at prefix %s does not answer\n", pid, conf.prefix);
    else {
        printf("torii is healthy at %s\n", conf.prefix);
        rc = 0;
    }
    tr_conf_free(&conf);
    return rc;
}

static int cmd_check(int argc, char **argv)
{
    struct cli_opts o;
    if (parse_opts(argc, argv, &o) != 0)
        return 2;
    if (o.argc > 0)
        o.conf_path = o.argv[0];
    struct tr_conf conf;
    if (load_conf(&o, &conf) != 0)
        return 1;
    printf("configuration at %s is valid\n", o.conf_path ? o.conf_path : "(defaults)");
    tr_conf_free(&conf);
    return 0;
}

static int cmd_version(int argc, char **argv)
{
    printf("torii %s\n", TR_VERSION);
    return 0;
}

struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

static const struct cli_command commands[] = {
    {"start", cmd_start, "start [-c FILE] [-p PREFIX] [-d]   run a node (foreground unless -d)"},
    {"stop", cmd_stop, "stop [-c FILE] [-p PREFIX]          stop gracefully and wait"},
    {"reload", cmd_reload, "reload [-c FILE] [-p PREFIX]        re-read settings, rebuild"},
    {"reopen", cmd_reopen, "reopen [-c FILE] [-p PREFIX]        open the log files again"},
    {"upgrade", cmd_upgrade,
     "upgrade [-c FILE] [-p PREFIX]       run the binary now installed, same sockets"},
    {"health", cmd_health, "health [-c FILE] [-p PREFIX]        exit 0 when the node answers"},
    {"check", cmd_check, "check [FILE]                        validate a settings file"},
    {"migrations", tr_cli_migrations,
     "migrations bootstrap|up|finish|list|reset [--yes]  the database schema"},
    {"config", tr_cli_config,
     "config parse|db_import|db_export|init [FILE] [-c FILE]  declarative configuration"},
    {"version", cmd_version, "version                             print the version"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: torii COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %s\n", commands[i].help);
}

int tr_cli_main(int argc, char **argv)
{
    tr_conf_set_plugins_check(tr_plugin_check_list);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)
        return cmd_version(0, NULL);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "torii: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}

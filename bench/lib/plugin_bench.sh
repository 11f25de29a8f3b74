# SPDX-License-Identifier: MIT
# Shared by the scripts that measure plugins against no plugin in one torii (bench/auth,
# bench/observability): the settings, one nginx upstream answering "ok" on a CPU of its own,
# one torii with one worker thread on another, wrk on the rest, and the measurement of a row
# (req/s and the worker's CPU per request). Source it with NAME set (the temporary directory's
# name); it leaves A (the Admin API's URL), P_T (the proxy port), P_TLS, P_UP and the functions
# run, median and ratio.
set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SYSTMP=$(dirname "$(mktemp -u)")
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then DURATION=${DURATION:-2}; WARMUP=${WARMUP:-1}; ROUNDS=${ROUNDS:-1}; fi
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-50}
BASE_PORT=${BASE_PORT:-18400}
TORII_BIN=${TORII_BIN:-}
BUILD_DIR=${BUILD_DIR:-$SYSTMP/torii-bench-build}
RESULTS_DIR=${RESULTS_DIR:-$HERE/results}

for tool in nginx wrk curl taskset setsid python3 cmake; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool (bench/deps.sh)" >&2; exit 2; }
done
NCPU=$(nproc)
[ "$NCPU" -ge 2 ] || { echo "bench/$NAME needs at least 2 CPUs" >&2; exit 2; }
PROXY_CPU=$((NCPU - 1))
LOAD_CPU=0-$((NCPU > 2 ? NCPU - 3 : 0))
UPSTREAM_CPU=$((NCPU > 2 ? NCPU - 2 : 0))

P_UP=$BASE_PORT; P_T=$((BASE_PORT + 1)); P_TLS=$((BASE_PORT + 2)); P_ADM=$((BASE_PORT + 3))
TMP=$(mktemp -d "$SYSTMP/torii-bench-$NAME.XXXXXX")
declare -a PIDS=()
log() { printf '[bench] %s\n' "$*" >&2; }
cleanup() {
    local p
    for p in "${PIDS[@]}"; do
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$p" 2>/dev/null || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_bg() { # name cpu cmd...
    local name=$1 cpu=$2; shift 2
    setsid taskset -c "$cpu" "$@" >"$TMP/$name.log" 2>&1 </dev/null &
    PIDS+=("$!")
}
wait_port() { # port
    for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
    log "nothing listens on $1"; return 1
}

if [ -z "$TORII_BIN" ]; then
    log "building torii (Release) in $BUILD_DIR"
    cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release >/dev/null &&
        cmake --build "$BUILD_DIR" -j"$NCPU" --target torii >/dev/null || exit 3
    TORII_BIN=$BUILD_DIR/torii
fi

cat >"$TMP/upstream.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/up.pid;
error_log $TMP/up.err warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $TMP/cbt; proxy_temp_path $TMP/pt; fastcgi_temp_path $TMP/ft;
    uwsgi_temp_path $TMP/ut; scgi_temp_path $TMP/st;
    keepalive_requests 1000000;
    server { listen 127.0.0.1:$P_UP backlog=4096; location / { return 200 "ok"; } }
}
EOF
start_bg upstream "$UPSTREAM_CPU" nginx -p "$TMP" -c "$TMP/upstream.conf" -e "$TMP/up.err"
wait_port "$P_UP" || exit 4
start_bg torii "$PROXY_CPU" env TORII_PREFIX="$TMP/torii" \
    TORII_PROXY_LISTEN="127.0.0.1:$P_T, 127.0.0.1:$P_TLS ssl" TORII_ADMIN_LISTEN="127.0.0.1:$P_ADM" \
    TORII_WORKER_THREADS=1 TORII_PROXY_ACCESS_LOG=off "$TORII_BIN" start
wait_port "$P_ADM" || { tail "$TMP/torii.log" >&2; exit 4; }

A="http://127.0.0.1:$P_ADM"

# CPU the worker process used (clock ticks: utime + stime).
WORKER=$(pgrep -P "${PIDS[1]}" | head -n 1)
[ -n "$WORKER" ] || { log "no worker process"; exit 5; }
ticks() { awk '{print $14 + $15}' "/proc/$WORKER/stat"; }
HZ=$(getconf CLK_TCK)

declare -A RPS=() CPU=()
run() { # row url [header]
    local row=$1 url=$2 out
    shift 2
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${WARMUP}s" "$@" "$url" >/dev/null 2>&1
    local t0 t1
    t0=$(ticks)
    out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$@" "$url" 2>&1)
    t1=$(ticks)
    local rps errs reqs us
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    errs=$(awk '/Non-2xx/ {print $5}' <<<"$out")
    [ -n "$errs" ] && log "$row: $errs non-2xx answers"
    us=$(awk -v t="$((t1 - t0))" -v hz="$HZ" -v n="$reqs" 'BEGIN {printf "%.2f", t / hz * 1e6 / n}')
    RPS[$row]="${RPS[$row]:-} $rps"
    CPU[$row]="${CPU[$row]:-} $us"
    log "$row: $rps req/s, $us us of worker CPU per request"
}
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

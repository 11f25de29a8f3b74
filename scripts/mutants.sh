#!/usr/bin/env bash
# Plant one-line bugs where torii guards security and correctness, one at a time, in a scratch
# copy of the tree, and run the tests that should catch each: every mutant must be killed (its
# tests fail). Run it before calling a security-relevant change done:
#
#     scripts/mutants.sh            # every mutant
#     scripts/mutants.sh realip acl # those whose name contains "realip" or "acl"
#
# Not part of `make test` (it rebuilds once per mutant: a few minutes). Prints a table and
# exits 1 when a mutant survived. The tree itself is never touched.
set -eu
cd "$(dirname "$0")/.."
filters=("$@")

scratch=$(mktemp -d "${TMPDIR:-/tmp}/torii-mutants.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
tar --exclude='./build*' --exclude='./.git' -cf - . | tar -C "$scratch" -xf -
cmake -S "$scratch" -B "$scratch/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$scratch/build" -j "$(nproc)" >/dev/null

# name ~ file ~ exact text ~ replacement ~ test ("unit NAME" = ctest -R NAME; else pytest args)
# The text must occur exactly once in the file; <NL> stands for a line break.
mutants() {
    cat <<'EOF'
chunk-data-cr~src/http/parser.c~        if (c != '\r')<NL>            return false;<NL>        dec->state = CK_DATA_LF;~        dec->state = CK_DATA_LF;~unit test_chunked
chunk-data-lf~src/http/parser.c~    case CK_DATA_LF:<NL>        if (c != '\n')<NL>            return false;~    case CK_DATA_LF:~unit test_chunked
realip-field-order~src/proxy/realip.c~for (size_t h = num_headers; h-- > 0;) {~for (size_t h = 0; h < num_headers; h++) {~unit test_realip
realip-trust-anyone~src/proxy/realip.c~trusted->cnt == 0 || !tr_cidr_list_match(trusted, peer)~trusted->cnt == 0~unit test_realip
basic-auth-cache-compare~src/plugins/verify_cache.c~hit |= set[w].expires_ms > now_ms && same(&set[w], digest);~hit |= set[w].expires_ms > now_ms;~unit test_verify_cache
basic-auth-cache-victim~src/plugins/verify_cache.c~if (set[w].expires_ms < victim->expires_ms)~if (0)~unit test_verify_cache
drain-says-close~src/proxy/exchange.c~(ex->w->draining && c->sock.in.len <= c->head_unconsumed)~(false)~tests/integration/test_drain.py
drain-ws-boundary~src/http/ws_frames.c~return s->payload_left == 0 && s->head_have == 0;~return true;~unit test_ws_frames
cluster-listen~src/server/cluster_sync.c~    int fd = tr_store_listen(cs->store);~    int fd = -1;~tests/integration/test_cluster.py -k notifications
ip-restriction-deny~src/plugins/ip_restriction.c~(c->deny.cnt && tr_cidr_list_match(&c->deny, ip))~(c->deny.cnt && !tr_cidr_list_match(&c->deny, ip))~tests/integration/test_kong07_ip_restriction.py
gateway-prefixes~src/http/headers.c~"x-forwarded-", "x-consumer-", "x-authenticated-"~"x-forwarded-"~unit test_parser
hop-by-hop-request~src/proxy/forward.c~            if (!(ex->upgrade && tr_str_ieq(h->name, TR_STR_LIT("Upgrade"))))<NL>                continue;~            if (0)<NL>                continue;~tests/integration/test_proxy_headers.py
head-timeout-408~src/proxy/client.c~            c->close_after = true;<NL>            tr__respond_error(c, TR_ETIMEOUT, true);~            close_client(c);~tests/integration/test_timeouts.py -k e05
balancer-skip-unhealthy~src/balancer/balancer.c~    if (a->weight == 0 || !tr_peer_available(a->peer, &b->health))~    if (a->weight == 0)~unit test_balancer
log-escape~src/core/logfile.c~bool plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';~bool plain = ch >= 0x20;~unit test_logfile
cors-private-network~src/plugins/cors.c~    if (c->private_network &&<NL>~    if (1 &&<NL>~tests/integration/test_plugins_traffic.py -k private_network
upstream-root-slash~src/http/url.c~    if (up.len > 0 && up.ptr[up.len - 1] == '/')<NL>        up.len--;~~tests/integration/test_kong07_proxy_resolver.py -k strip
tls-trailing-wildcard~src/http/tls.c~                if (last[1] != '\0') {~                if (0) {~tests/integration/test_plugin_ssl.py -k wildcard
router-exact-before-wildcard~src/router/router.c~    for (int pass = 0; pass < 2; pass++) {~    for (int pass = 1; pass >= 0; pass--) {~unit test_router
router-deepest-path~src/router/router.c~            if (r->node_route[node] != NO_ROUTE) {~            if (r->node_route[node] != NO_ROUTE && best == NO_ROUTE) {~unit test_router
key-auth-no-key~src/plugins/key_auth.c~    if (key.len == 0)<NL>        return tr_auth_fail~    if (key.len == 0 && 0)<NL>        return tr_auth_fail~tests/integration/test_kong07_key_auth.py tests/integration/test_plugins_auth.py -k key
basic-auth-verify~src/plugins/basic_auth.c~    return argon2id_verify(phc, password, len) == ARGON2_OK;~    return argon2id_verify(phc, password, len) != ARGON2_VERIFY_MISMATCH;~unit test_basic_auth
oauth2-client-secret~src/plugins/oauth2_endpoint.c~    bool ok = secret_eq(ca.secret, want ? want : "\x01 no client") && app && ca.secret;~    bool ok = app && ca.secret;~tests/integration/test_plugin_oauth2.py tests/integration/test_kong07_oauth2.py
oauth2-provision-key~src/plugins/oauth2_endpoint.c~    if (!secret_eq(p.v[P_PROVISION_KEY], conf->provision_key))~    if (0)~tests/integration/test_plugin_oauth2.py tests/integration/test_kong07_oauth2.py
acl-group-exact~src/plugins/acl.c~            if (strcmp(g->items[i], c->groups[j]) == 0)~            if (strncmp(g->items[i], c->groups[j], strlen(c->groups[j])) == 0)~tests/integration/test_kong07_acl.py tests/integration/test_plugins_auth.py
rate-limit-cap~src/plugins/counters.c~    if (hit->count < limit) {~    if (hit->count <= limit) {~tests/integration/test_kong07_rate_limiting.py tests/integration/test_plugins_rate_limiting.py
size-limit-boundary~src/plugins/request_size_limiting.c~len > c->limit) {~len > c->limit + 1) {~tests/integration/test_kong07_request_size_limiting.py tests/integration/test_plugins_traffic.py -k size
declarative-all-or-nothing~src/admin/declarative.c~        ok = rc == 0 && json_object_size(l->fields) == 0;~        ok = rc == 0;~tests/integration/test_declarative_cli.py -k all_or_nothing
dbless-writes-closed~src/admin/dbless.c~    return strcmp(ep->path, "/config") != 0 && !ends_with~    return false && !ends_with~tests/integration/test_declarative.py -k writes
no-content-204~src/proxy/forward.c~    if (ctx->exit_status != 204) {~    if (1) {~tests/integration/test_plugins_traffic.py -k 204
copy-checksum~src/store/copy.c~    if (memcmp(got, sum + 8, TR_SECRET_HEX_LEN) != 0) {~    if (0) {~unit test_store_copy
copy-writes-refused~src/admin/admin.c~    if (env->serving_copy && tr_admin_is_write(ep, req->method)) {~    if (0) {~tests/integration/test_postgres.py -k local_copy
pg-synchronous-commit~src/store/pg_conn.c~"-c statement_timeout=%u -c synchronous_commit=on"~"-c statement_timeout=%u"~tests/integration/test_postgres.py -k crashing
pg-reconnect-blocks~src/store/pg.c~#define RECONNECT_STEP_MS 50~#define RECONNECT_STEP_MS 60000~tests/integration/test_postgres.py -k unreachable_database
admin-drain-cuts~src/server/control.c~tr_admin_server_stop(ctl->admin, ctl->conf->drain_idle_grace_ms);~tr_admin_server_stop(ctl->admin, 0);~tests/integration/test_supervision.py -k admin_keepalive
EOF
}

killed=0
survived=0
printf '%-26s %-34s %s\n' mutant file result
while IFS='~' read -r name file text repl test; do
    [ -z "$name" ] && continue
    if [ ${#filters[@]} -gt 0 ]; then
        wanted=false
        for f in "${filters[@]}"; do
            case "$name" in *"$f"*) wanted=true ;; esac
        done
        $wanted || continue
    fi
    cp "$scratch/$file" "$scratch/$file.orig"
    if ! python3 - "$scratch/$file" "$text" "$repl" <<'PY'; then
import sys
path, text, repl = sys.argv[1], sys.argv[2].replace("<NL>", "\n"), sys.argv[3].replace("<NL>", "\n")
src = open(path).read()
if src.count(text) != 1:
    sys.exit("text found %d times" % src.count(text))
open(path, "w").write(src.replace(text, repl))
PY
        printf '%-26s %-34s %s\n' "$name" "$file" "STALE (the text moved: update this list)"
        survived=$((survived + 1))
        continue
    fi
    result=survived
    if ! cmake --build "$scratch/build" -j "$(nproc)" >"$scratch/build.log" 2>&1; then
        result="does not build (fix this list): $(grep -m1 'error' "$scratch/build.log")"
    elif [ "${test%% *}" = unit ]; then
        (cd "$scratch/build" && ctest -R "^${test#unit }\$" >/dev/null 2>&1) || result=killed
    else
        # shellcheck disable=SC2086 # test holds pytest arguments
        (cd "$scratch" && TORII_BIN="$scratch/build/torii" /usr/bin/python3 -m pytest -q -x \
            -p no:cacheprovider $test >/dev/null 2>&1) || result=killed
    fi
    mv "$scratch/$file.orig" "$scratch/$file"
    touch "$scratch/$file" # newer than the mutant's object, so the next build restores it
    case "$result" in killed) killed=$((killed + 1)) ;; *) survived=$((survived + 1)) ;; esac
    printf '%-26s %-34s %s\n' "$name" "$file" "$result"
done < <(mutants)
cmake --build "$scratch/build" -j "$(nproc)" >/dev/null 2>&1 || true
printf '\n%d killed, %d survived\n' "$killed" "$survived"
[ "$survived" -eq 0 ]

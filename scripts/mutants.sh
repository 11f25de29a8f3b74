#!/usr/bin/env bash
# Plant one-line bugs where torii guards security and correctness, one at a time, in a scratch
# copy of the tree, and run the tests that should catch each: every mutant must be killed (its
# tests fail). Run it before calling a security-relevant change done:
#
#     scripts/mutants.sh            # every mutant
#     scripts/mutants.sh realip     # those whose name contains "realip"
#
# Not part of `make test` (it rebuilds once per mutant: a few minutes). Prints a table and
# exits 1 when a mutant survived. The tree itself is never touched.
set -eu
cd "$(dirname "$0")/.."
filter=${1:-}

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
basic-auth-cache-compare~src/plugins/verify_cache.c~v->expires_ms > now_ms && CRYPTO_memcmp(v->digest, digest, TR_VERIFY_DIGEST_LEN) == 0~v->expires_ms > now_ms~unit test_verify_cache
ip-restriction-deny~src/plugins/ip_restriction.c~(c->deny.cnt && tr_cidr_list_match(&c->deny, ip))~(c->deny.cnt && !tr_cidr_list_match(&c->deny, ip))~tests/integration/test_kong07_ip_restriction.py
gateway-prefixes~src/http/headers.c~"x-forwarded-", "x-consumer-", "x-authenticated-"~"x-forwarded-"~unit test_parser
hop-by-hop-request~src/proxy/forward.c~            if (!(ex->upgrade && tr_str_ieq(h->name, TR_STR_LIT("Upgrade"))))<NL>                continue;~            if (0)<NL>                continue;~tests/integration/test_proxy_headers.py
head-timeout-408~src/proxy/client.c~            c->close_after = true;<NL>            tr__respond_error(c, TR_ETIMEOUT, true);~            close_client(c);~tests/integration/test_timeouts.py -k e05
balancer-skip-unhealthy~src/balancer/balancer.c~    if (a->weight == 0 || !tr_peer_available(a->peer, &b->health))~    if (a->weight == 0)~unit test_balancer
log-escape~src/core/logfile.c~bool plain = ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\';~bool plain = ch >= 0x20;~unit test_logfile
no-content-204~src/proxy/forward.c~    if (ctx->exit_status != 204) {~    if (1) {~tests/integration/test_plugins_traffic.py -k 204
EOF
}

killed=0
survived=0
printf '%-26s %-34s %s\n' mutant file result
while IFS='~' read -r name file text repl test; do
    [ -z "$name" ] && continue
    case "$name" in *"$filter"*) ;; *) continue ;; esac
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

#!/bin/sh
# The include direction of docs/architecture.md's layers: a file in src/<folder>/ may include
# project headers only from the folders listed for it below (its own folder always). Run by
# scripts/check-style.sh; prints every include that points the wrong way and fails.
set -eu
cd "$(dirname "$0")/.."

allowed() {
    case "$1" in
    core) echo "core" ;;
    schema) echo "core" ;;
    http) echo "core" ;;
    store) echo "core schema" ;;
    router) echo "core http" ;;
    balancer) echo "core" ;;
    dns) echo "core" ;;
    plugins) echo "core http schema store" ;;
    snapshot) echo "core http schema store router plugins balancer dns" ;;
    proxy) echo "core http schema store router plugins snapshot balancer" ;;
    admin) echo "core http schema store router plugins snapshot balancer" ;;
    server) echo "core http schema store router plugins snapshot proxy admin balancer dns" ;;
    main) echo "server core" ;;
    *) echo "" ;;
    esac
}

status=0
for f in $(find src -name '*.c' -o -name '*.h' | sort); do
    dir=$(dirname "$f")
    dir=${dir#src}
    dir=${dir#/}
    [ -n "$dir" ] || dir=main
    ok="$dir $(allowed "$dir")"
    for inc in $(sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' "$f" | sort -u); do
        case " $ok " in
        *" $inc "*) ;;
        *)
            echo "layers: $f includes $inc/ (allowed from $dir/: $ok)" >&2
            status=1
            ;;
        esac
    done
done
exit $status

#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages the benchmark needs on top of scripts/deps.sh (build and test).
# Idempotent and quiet: prints nothing when every package is already present.
set -eu

PKGS="nginx-light wrk curl openssl python3 util-linux coreutils strace valgrind linux-perf"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
# any nginx flavour will do (the benchmark uses only core modules, ssl and stub_status)
case " $missing " in
*" nginx-light "*)
    if command -v nginx >/dev/null 2>&1; then
        missing=$(echo "$missing" | sed 's/ nginx-light//')
    fi
    ;;
esac
[ -z "$missing" ] && exit 0

echo "bench deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

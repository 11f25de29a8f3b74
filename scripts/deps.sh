#!/bin/sh
# Install the Debian 12 packages torii needs to build, test and benchmark.
# Idempotent and quiet: prints nothing when every package is already present.
set -eu

PKGS="build-essential cmake pkg-config clang clang-format-14 libclang-rt-14-dev
libuv1-dev libssl-dev openssl libjansson-dev libsqlite3-dev sqlite3 libpq-dev libhiredis-dev
libpcre2-dev libyaml-dev libargon2-dev libc-ares-dev redis-server postgresql
python3 python3-pytest python3-pytest-xdist python3-requests python3-oauthlib python3-requests-oauthlib faketime
python3-jwt python3-cryptography
curl procps prometheus"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null

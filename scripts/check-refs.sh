#!/bin/sh
# Reference gate run by scripts/check-style.sh (so by `make test`): every behaviour rule id
# (P1..P16, P1.3, P10b) and catalogue id (A-01, ...) cited in src/, tests/, fuzz/ or docs/ must
# be defined in docs/behaviour.md (a "## P5." or "### P1.3" heading) or docs/test-catalogue.md
# (a "### A-01 ·" heading or a "- F-02 ·" line), and every "kong-reference §N" must name a
# section heading of docs/kong-reference.md.
set -eu
cd "$(dirname "$0")/.."
LC_ALL=C
export LC_ALL

dirs="src tests fuzz docs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

sed -n 's/^##* \(P[0-9][0-9]*\(\.[0-9][0-9]*\)\{0,1\}b\{0,1\}\)[. ].*/\1/p' docs/behaviour.md \
    | sort -u >"$tmp/rules.def"
sed -n -e 's/^### \([A-N]-[0-9][0-9]\) .*/\1/p' -e 's/^- \([A-N]-[0-9][0-9]\) .*/\1/p' \
    docs/test-catalogue.md | sort -u >"$tmp/tests.def"
sed -n 's/^##* \([0-9][0-9]*\(\.[0-9][0-9]*\)*\)\.\{0,1\} .*/\1/p' docs/kong-reference.md \
    | sort -u >"$tmp/kong.def"

# shellcheck disable=SC2086 # $dirs is a list of directories
grep -rIohwE 'P[0-9]+(\.[0-9]+)?b?' $dirs | sort -u >"$tmp/rules.cited" || true
# shellcheck disable=SC2086
grep -rIohwE '[A-N]-[0-9]{2}' $dirs | sort -u >"$tmp/tests.cited" || true
# shellcheck disable=SC2086
grep -rIohE 'kong-reference(\.md`?)? §[0-9][0-9.]*' $dirs | sed 's/.*§//; s/\.*$//' \
    | sort -u >"$tmp/kong.cited" || true

# report KIND FILE [PREFIX]: ids in $tmp/KIND.cited that $tmp/KIND.def lacks, and where they
# are cited.
report()
{
    missing=$(grep -vxF -f "$tmp/$1.def" "$tmp/$1.cited" || true)
    [ -n "$missing" ] || return 0
    status=1
    for id in $missing; do
        echo "refs: ${3:-}$id is cited but not defined in $2:" >&2
        if [ "$1" = kong ]; then
            # shellcheck disable=SC2086
            grep -rnF "§$id" $dirs | grep 'kong-reference' | head -n 3 >&2 || true
        else
            # shellcheck disable=SC2086
            grep -rnwF "$id" $dirs | head -n 3 >&2 || true
        fi
    done
}

report rules docs/behaviour.md
report tests docs/test-catalogue.md
report kong docs/kong-reference.md §
exit $status

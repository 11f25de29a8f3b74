#!/bin/sh
# Style gate run by `make test`: banned functions, raw printf outside the logger and main, and
# the include direction of the layers (scripts/check-layers.sh), and rule and catalogue ids that
# docs/behaviour.md and docs/test-catalogue.md do not define (scripts/check-refs.sh), and the
# layout of every C file (.clang-format; fix with `clang-format-14 -i FILE`).
set -eu
cd "$(dirname "$0")/.."
status=0
banned='\b(sprintf|vsprintf|strcpy|strcat|strncpy|strtok|atoi|atol|gets|rand)\s*\('
if grep -rnE "$banned" src --include='*.c' --include='*.h'; then
    echo "style: banned function used (see docs/style.md)" >&2
    status=1
fi
if grep -rnE '\b(printf|fprintf)\s*\(' src --include='*.c' \
        | grep -vE '^src/(core/log\.c|core/mem\.c|main\.c|server/cli(_[a-z]+)?\.c):'; then
    echo "style: printf/fprintf outside core/log.c, main.c and server/cli*.c" >&2
    status=1
fi
if ! sh scripts/check-layers.sh; then
    echo "style: an include points up a layer (see docs/architecture.md)" >&2
    status=1
fi
sh scripts/check-refs.sh || status=1
fmt=$(command -v clang-format-14 || command -v clang-format || true)
if [ -n "$fmt" ]; then
    if ! git ls-files 'src/*.[ch]' 'tests/unit/*.[ch]' 'fuzz/*.[ch]' 'bench/*.[ch]' \
            | xargs "$fmt" --dry-run --Werror; then
        echo "style: C layout differs from .clang-format (run $fmt -i on the files above)" >&2
        status=1
    fi
else
    echo "style: clang-format not installed; layout not checked" >&2
    status=1
fi
exit $status

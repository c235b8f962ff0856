#!/usr/bin/env bash
# valgrind.sh [BUILD_DIR] [TEST...] - the integration tests with every
# rdm-agent process under valgrind memcheck (tests/tools/vg-agent), from a
# gcc build (default build/gcc). Passes when each test passes and no
# process reports a memory error or a definite leak. Default tests (what
# scripts/test.sh runs, about 1.5 minutes): the command line, the inbox,
# collect from PostgreSQL. `upload` (HTTP, statuses, faults, kill -9) also
# runs, in about 5 minutes. A process the test kills with -9 on purpose
# leaves no summary and is not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build/gcc}
shift || true
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(cli inbox pg_collect)
export RDM_VG_AGENT=$PWD/$B/rdm-agent RDM_VG_DIR
RDM_VG_DIR=$(mktemp -d /tmp/rdm-vg-XXXXXX)
VG=$PWD/tests/tools/vg-agent
status=0
for t in "${tests[@]}"; do
    t0=$(date +%s)
    case $t in
    cli) args=(tests/cli/test_cli.sh "$VG" "$PWD/$B/tests/hold_lock" "$PWD") ;;
    upload) args=(tests/cli/test_upload.sh "$VG" "$PWD/$B/rdm-datamart-emulator" "$PWD") ;;
    *) args=("tests/cli/test_$t.sh" "$VG" "$PWD") ;;
    esac
    rm -f "$RDM_VG_DIR"/vg.*.log
    # valgrind runs the agent some 20 times slower: tests that measure time
    # are told so (RDM_SLOW)
    if ! RDM_SLOW=1 bash "${args[@]}" >"$RDM_VG_DIR/$t.out" 2>&1; then
        tail -20 "$RDM_VG_DIR/$t.out"
        echo "valgrind: $t: the test failed under valgrind"
        status=1
    fi
    # a process the test killed on purpose (kill -9) leaves no summary
    n=$(grep -l "ERROR SUMMARY" "$RDM_VG_DIR"/vg.*.log 2>/dev/null | wc -l)
    bad=$(grep -l "ERROR SUMMARY" "$RDM_VG_DIR"/vg.*.log 2>/dev/null |
        xargs -r grep -L "ERROR SUMMARY: 0 errors" || true)
    if [ -n "$bad" ]; then
        for f in $bad; do sed -n '1,60p' "$f"; done | head -120
        echo "valgrind: $t: $(echo "$bad" | wc -l) of $n processes reported errors or definite leaks"
        status=1
    else
        echo "valgrind: $t: $n agent processes, 0 errors, 0 definite leaks ($(($(date +%s) - t0)) s)"
    fi
done
rm -rf "$RDM_VG_DIR"
exit $status

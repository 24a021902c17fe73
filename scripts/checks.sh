# Sourced by the test scripts (run-tests.sh, fuzz.sh, test-asan.sh,
# test-tsan.sh, test-cpus.sh): named shell-level checks, counted.
#   check NAME COMMAND...   runs COMMAND, prints "ok   NAME" or "FAIL NAME"
#   summary LABEL           prints "LABEL: P passed, F failed"; fails if any failed
passes=0
failures=0
check() {
    local label="$1"; shift
    if "$@"; then echo "ok   $label"; passes=$((passes + 1))
    else echo "FAIL $label"; failures=$((failures + 1)); fi
}
summary() { echo "$1: $passes passed, $failures failed"; [ "$failures" -eq 0 ]; }

#!/usr/bin/env bash
# tests/run_suites.sh BIN [JOBS] — the GoogleTest binary BIN, one process per test suite, JOBS processes
# at a time (default: all cores), so that a slow suite on one core does not leave the other idle.
# Each suite's output is kept and printed whole if it failed; the last two lines name the slowest
# suites and count suites and tests.
# A suite still running after SUITE_SECONDS (1200) is stopped and counted as failed, its output so far
# printed: a hang (a deadlock in a test) then fails the run in minutes, naming the suite, instead of
# holding CI until its own limit.
# Exit status: 0 when every suite passed, 1 otherwise.  The environment (OMP_NUM_THREADS,
# ASAN_OPTIONS, ...) is passed to every process unchanged.
set -euo pipefail
bin=${1:?usage: tests/run_suites.sh BIN [JOBS]}
jobs=${2:-$(nproc)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)

# Suites are the unindented lines ending in '.' ("Suite." or "Prefix/Suite/0.  # TypeParam = ...").
"$bin" --gtest_list_tests | awk '/^[^ ]/ && $1 ~ /\.$/ { print $1 }' > "$work/suites"
test -s "$work/suites" || { echo "tests/run_suites.sh: $bin lists no test suite" >&2; exit 1; }

suite_seconds=${SUITE_SECONDS:-1200}
export bin work suite_seconds
# shellcheck disable=SC2016
nl -ba -nln "$work/suites" | xargs -P "$jobs" -L 1 bash -c '
  timeout --kill-after=10 "$suite_seconds" "$bin" --gtest_brief=1 --gtest_filter="$1*" > "$work/$0.log" 2>&1
  echo $? > "$work/$0.rc"'

failed=0 passed=0 skipped=0 bad_suites=0 n=0
while read -r i suite; do
  n=$((n + 1))
  rc=$(cat "$work/$i.rc" 2>/dev/null || echo 1)
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$work/$i.log" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$work/$i.log" | tail -1)
  passed=$((passed + ${p:-0})); skipped=$((skipped + ${s:-0}))
  ms=$(sed -n 's/^\[==========\] .* ran\. (\([0-9]*\) ms total)/\1/p' "$work/$i.log" | tail -1)
  echo "${ms:-0} $suite" >> "$work/times"
  if [ "$rc" != 0 ] || [ -z "$p$s" ]; then
    bad_suites=$((bad_suites + 1))
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$work/$i.log" | tail -1)
    failed=$((failed + ${f:-1}))
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
      echo "==== $suite (stopped after $suite_seconds s: a hang? its output so far follows)"
    else
      echo "==== $suite (exit $rc)"
    fi
    cat "$work/$i.log"
  fi
done < <(nl -ba -nln "$work/suites")

echo "tests/run_suites.sh: the slowest suites (s): $(sort -rn "$work/times" | head -5 | awk '{ printf "%s%s %.0f", sep, $2, $1 / 1000; sep = ", " }')"
echo "tests/run_suites.sh: $n suites, $jobs at a time, $(( $(date +%s) - start )) s: $passed tests passed, $skipped skipped, $failed failed in $bad_suites suites"
[ "$bad_suites" = 0 ]

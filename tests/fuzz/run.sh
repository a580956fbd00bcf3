#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR HARNESS... — runs each libFuzzer harness BUILD_DIR/fuzz_<name> for
# $FUZZ_SECONDS (60) seconds on its committed seeds (tests/fuzz/seeds/<name>, read only) and its
# working corpus (BUILD_DIR/corpus/<name>, kept between runs) with tests/fuzz/dict/<name>.dict, then
# prints executions, crashes and seconds per harness.  Crash inputs go to BUILD_DIR/crashes/; the log
# of each run to BUILD_DIR/logs/<name>.log.  Exit status 1 when any harness found something.
# FUZZ_JOBS (1) harnesses run at a time (each is one process on one core).
set -uo pipefail
build=$1
shift
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
mkdir -p "$build/crashes" "$build/logs"
# One harness: its lines go to BUILD_DIR/logs/<name>.result, its exit status to <name>.rc.
fuzz_one() {
  local name=$1
  local corpus rss before slow_before start rc elapsed execs crashes slow line
  corpus="$build/corpus/$name"
  mkdir -p "$corpus"
  # the spec and checkpoint harnesses build networks of up to 2^26 parameters (their grads too)
  rss=2560
  case $name in spec | checkpoint) rss=4096 ;; esac
  # findings: crash-, leak-, timeout-, oom- artifacts; slow-unit- ones (an input over 10 s, which a
  # loaded machine can produce from a starved process) are counted apart and fail nothing
  before=$(ls "$build/crashes" | grep -v -- "-slow-unit-" | grep -c "^$name-" || true)
  slow_before=$(ls "$build/crashes" | grep -c "^$name-slow-unit-" || true)
  start=$(date +%s)
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/fuzz_$name" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=$rss -print_final_stats=1 \
    -dict="tests/fuzz/dict/$name.dict" -artifact_prefix="$build/crashes/$name-" "$corpus" "tests/fuzz/seeds/$name" \
    > "$build/logs/$name.log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/logs/$name.log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(($(ls "$build/crashes" | grep -v -- "-slow-unit-" | grep -c "^$name-" || true) - before))
  slow=$(($(ls "$build/crashes" | grep -c "^$name-slow-unit-" || true) - slow_before))
  if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi  # a failure with no artifact still fails
  line=$(printf "%-11s %12s executions %3d crashes %5d s" "$name" "${execs:-?}" "$crashes" "$elapsed")
  [ "$slow" -gt 0 ] && line+=" ($slow slow-unit artifact(s) in $build/crashes, not a failure)"
  {
    echo "make fuzz: $line"
    [ "$rc" -ne 0 ] && grep -m3 -E 'ERROR|FINDING|runtime error|Test unit written' "$build/logs/$name.log" | sed 's/^/    /'
  } > "$build/logs/$name.result"
  echo "$rc" > "$build/logs/$name.rc"
}
# the artifacts' counts above are per harness name, so harnesses running at once do not mix them
for name in "$@"; do
  rm -f "$build/logs/$name.rc"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  fuzz_one "$name" &
done
wait
failed=0
for name in "$@"; do
  cat "$build/logs/$name.result"
  [ "$(cat "$build/logs/$name.rc" 2>/dev/null)" = 0 ] || failed=1
done
echo "make fuzz: summary ($seconds s per harness)"
for name in "$@"; do head -1 "$build/logs/$name.result" | sed 's/^make fuzz: //'; done
[ "$failed" -eq 0 ] || { echo "make fuzz: a harness found a crash; see $build/logs and $build/crashes"; exit 1; }

#!/usr/bin/env bash
# tests/mpi_compare.sh NNFMRI [NNFMRI_SERIAL] — make test-mpi: training under mpirun with 2 and 4 ranks and analyze
# (every stage, a plain and a residual net) with 2 and 3 ranks against the same command without
# mpirun, byte for byte (timing fields stripped), then bad input under mpirun, a data directory
# missing on one rank included (MPMD): one error line and a non-zero exit.  Writes only its own
# temporary directory (planted data, no files of /work/shared).  NNFMRI_SERIAL, a binary built
# without MPI (make builds build/nnfmri-serial for test-mpi), must refuse to run under mpirun.
set -euo pipefail
bin=$1
serial=${2:-}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
# Every mpirun of this script under `timeout`: a job that hangs fails the test (exit 124) instead of
# holding make test-mpi forever.
mpi() {
  local n=$1 code=0; shift
  timeout 600 mpirun --oversubscribe -np "$n" "$bin" "$@" || code=$?
  test $code -ne 124 || { echo "test-mpi: mpirun -np $n hung (timeout 600 s): $*"; exit 1; }
  return $code
}

# Every file of run $2 equals run $1's; metrics.jsonl without its timing fields.
same_run() {
  local a=$1 b=$2 f
  diff <(cd "$a" && find . -type f | sort) <(cd "$b" && find . -type f | sort)
  for f in $(cd "$a" && find . -type f | sort); do
    if [ "$f" = ./metrics.jsonl ]; then
      local strip='s/"(seconds|train_seconds|train_images_per_s|analysis_seconds)":[-0-9.e+]*,?//g'
      cmp <(sed -E "$strip" "$a/$f") <(sed -E "$strip" "$b/$f") || { echo "test-mpi: $b/$f differs from $a/$f"; exit 1; }
    else
      cmp "$a/$f" "$b/$f" || { echo "test-mpi: $b/$f differs from $a/$f"; exit 1; }
    fi
  done
}

# a small net with batch norm and dropout (per-shard statistics and streams), seconds per run
train=(train --data planted --limit-train 192 --limit-test 64 --epochs 2 --batch 32 --shards 4 --threads 1
       --model "conv3x3:8 bn relu maxpool2 conv3x3:16 bn relu maxpool2 linear:32 relu dropout:0.25 linear:10")
"$bin" "${train[@]}" --out "$dir/t1" > /dev/null
for np in 2 4; do
  mpi $np "${train[@]}" --out "$dir/t$np" > "$dir/out"
  same_run "$dir/t1" "$dir/t$np"
  echo "test-mpi: train --shards 4 on $np ranks: the run directory is byte-identical to one process's"
  # README: at the end of a run on P > 1 ranks rank 0 prints "mpi: P ranks; rank 0 spent X s combining …",
  # once (mutant: the line missing on some rank counts)
  test "$(grep -c "^mpi: $np ranks; rank 0 spent [0-9.]* s combining shard partials" "$dir/out")" -eq 1 ||
    { echo "test-mpi: train on $np ranks: expected one line 'mpi: $np ranks; rank 0 spent …'"; cat "$dir/out"; exit 1; }
done

# --inject on every rank: the faults (here lr ×10 for steps 3 and 4) act on every rank's step, so the
# run directory is the plain binary's (before: rank 0 alone applied them, other weights).
"$bin" "${train[@]}" --inject lr@3:2:10 --out "$dir/i1" > /dev/null
mpi 2 "${train[@]}" --inject lr@3:2:10 --out "$dir/i2" > /dev/null
same_run "$dir/i1" "$dir/i2"
echo "test-mpi: train --inject lr@3:2:10 on 2 ranks: the run directory is byte-identical to one process's"

# analyze with every stage (grid: the pass's batches, ζ: walks and the games' chunks, tract: layer
# pairs, spread over the ranks), stopped by --zeta-max-permutations with a budget no run reaches, on
# 2 and 3 ranks: every file equals one process's, timing fields stripped.  48 images = 2 pass
# batches of 25 (3 ranks: one rank has no grid batch), 24 ζ images = 3 chunks of 8.  Once on the net
# above (batch norm, dropout), once on a small residual net (identity and option B shortcuts).
# The timing fields only: every "timing" object and every key "seconds" or "*_seconds" (README: the
# wall-clock fields); everything else, each region's shapley, lesion and taylor included, is compared.
strip_timing() {
  /usr/bin/python3 -c '
import json, sys
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k != "timing" and k != "seconds" and not k.endswith("_seconds")}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
print(json.dumps(strip(json.load(open(sys.argv[1]))), sort_keys=True))' "$1"
}
same_analysis() {
  local a=$1 b=$2 f
  diff <(cd "$a" && find . -type f | sort) <(cd "$b" && find . -type f | sort)
  for f in $(cd "$a" && find . -type f | sort); do
    # (each side into a file first: a process substitution's failure is not seen, and two files that
    # are not JSON compared as two empty outputs, equal)
    strip_timing "$a/$f" > "$dir/stripped-a" || { echo "test-mpi: $a/$f is not JSON"; exit 1; }
    strip_timing "$b/$f" > "$dir/stripped-b" || { echo "test-mpi: $b/$f is not JSON"; exit 1; }
    cmp "$dir/stripped-a" "$dir/stripped-b" || { echo "test-mpi: $b/$f differs from $a/$f"; exit 1; }
  done
}
residual=(train --data planted --limit-train 64 --limit-test 64 --epochs 1 --batch 32 --threads 1
          --model "conv3x3:8 bn relu res(conv3x3:8 bn relu conv3x3:8 bn) relu res:proj(conv3x3:16:s2 bn relu conv3x3:16 bn) relu gap linear:10")
"$bin" "${residual[@]}" --out "$dir/r1" > /dev/null
for net in t1 r1; do
  analyze="analyze $dir/$net/model.ckpt --data planted --eval-samples 48 --zeta-samples 24 --tract-samples 32 --threads 1
           --zeta-budget 1000 --zeta-max-permutations 4 --stages grid,zeta,tract"
  "$bin" $analyze --out "$dir/$net-a1" > /dev/null
  grep -q '"stopped_by": *"\(max_permutations\|tolerance\)"' "$dir/$net-a1/zeta.json" || { echo "test-mpi: zeta.json did not stop by max_permutations or tolerance"; exit 1; }
  for np in 2 3; do
    mpi $np $analyze --out "$dir/$net-a$np" > /dev/null
    same_analysis "$dir/$net-a1" "$dir/$net-a$np"
    echo "test-mpi: analyze ($net) on $np ranks: grid.json, zeta.json, tract.json equal one process's (timing fields aside)"
  done
done

# Bad input under mpirun: one error line (mpirun's own notes aside, -q), exit 2 (the failing rank's
# MPI_Abort code), within the timeout.
bad() {
  local expected=$1 code=0; shift
  timeout 60 mpirun -q --oversubscribe -np 2 "$bin" "$@" > /dev/null 2> "$dir/err" || code=$?
  test $code -ne 124 || { echo "test-mpi: bad input hung (timeout): $*"; exit 1; }
  test $code -eq 2 || { echo "test-mpi: bad input: exit $code, expected 2: $*"; cat "$dir/err"; exit 1; }
  grep "^nnfmri: error: " "$dir/err" > "$dir/lines" || true
  test "$(wc -l < "$dir/lines")" -eq 1 || { echo "test-mpi: expected one error line for: $*"; cat "$dir/err"; exit 1; }
  grep -q -- "$expected" "$dir/lines" || { echo "test-mpi: the error does not name '$expected': $(cat "$dir/lines")"; exit 1; }
  if grep -q "stopping after" "$dir/err"; then echo "test-mpi: a rank ended by the abort announced a stop:"; cat "$dir/err"; exit 1; fi
  cat "$dir/lines"
}
bad "--shards 1: every rank needs a shard (run at most 1 rank, or" "${train[@]}" --shards 1 --out "$dir/bad"
bad "unknown command 'bogus'" bogus --out "$dir/bad"  # looked up before the refusal of other commands
# --eeg on 2 ranks: refused as such (before: "give more --shards", and with more shards "use --shards 1").
bad "--eeg: not with 2 MPI ranks" train --data planted --eeg --threads 1 --out "$dir/bad"
# The flag parser's message begins with the command: the line names it once (before: "rank 0 of 2, in
# nnfmri analyze: nnfmri analyze: unknown flag …").
bad "rank 0 of 2, in nnfmri analyze: unknown flag '--bogus'" analyze "$dir/t1/model.ckpt" --data planted --bogus --out "$dir/bad"
# What needs no rank to work (--help, --version) is printed once, by rank 0 (before: once per rank).
test "$(timeout 60 mpirun -q --oversubscribe -np 2 "$bin" --version)" = "$("$bin" --version)" ||
  { echo "test-mpi: --version under mpirun is not one process's line"; exit 1; }
test "$(timeout 60 mpirun -q --oversubscribe -np 2 "$bin" train --help | wc -l)" -eq "$("$bin" train --help | wc -l)" ||
  { echo "test-mpi: train --help under mpirun is not one process's text"; exit 1; }
# No command at all: the usage goes to stderr, exit 2, once (before: once per rank).
code=0
timeout 60 mpirun -q --oversubscribe -np 2 "$bin" > /dev/null 2> "$dir/err" || code=$?
test $code -eq 2 || { echo "test-mpi: nnfmri without a command under mpirun: exit $code, expected 2"; cat "$dir/err"; exit 1; }
test "$(grep -c "^usage: nnfmri" "$dir/err")" -eq 1 ||
  { echo "test-mpi: nnfmri without a command under mpirun: expected one usage text"; cat "$dir/err"; exit 1; }
bad "cifar10" train --data cifar10:/nonexistent --threads 1 --out "$dir/bad"
test ! -e "$dir/bad/model.ckpt"
# More ranks × --threads than cores: analyze warns once, as train does (before: train alone warned).
if [ "$(nproc)" -lt 128 ]; then
  code=0
  timeout 60 mpirun -q --oversubscribe -np 2 "$bin" analyze "$dir/t1/model.ckpt" --data cifar10:/nonexistent --threads 64 \
    --out "$dir/bad" > /dev/null 2> "$dir/err" || code=$?
  test $code -eq 2 && test "$(grep -c "^nnfmri analyze: warning: 2 ranks on this machine × --threads [0-9]* = [0-9]* threads on $(nproc) cores (oversubscribed" "$dir/err")" -eq 1 ||
    { echo "test-mpi: analyze on 2 ranks × 64 threads: expected exit 2 and one warning of oversubscription"; cat "$dir/err"; exit 1; }
fi
# Rank 0 alone fails (--out holds a run) while rank 1 trains: rank 0's line and nothing else (before:
# the SIGTERM of rank 0's MPI_Abort made rank 1 print "stopping after the current step" as well).
bad "holds another run" "${train[@]}" --out "$dir/t1"
# train --resume on 2 ranks is refused before the data is read (before: after every rank had loaded it):
# a copy of t1 whose run.json names a data folder that is not there still gets the resume's refusal.
cp -r "$dir/t1" "$dir/t1r"
sed -i "s|\"--data=planted\"|\"--data=cifar10:$dir/gone\"|" "$dir/t1r/run.json"
grep -q "cifar10:$dir/gone" "$dir/t1r/run.json" || { echo "test-mpi: t1r/run.json names no missing data"; exit 1; }
bad "not with 2 ranks; resume with one process" train --resume "$dir/t1r"
# A distributed analyze that fails (rank 0 cannot create --out: its parent is a file) while rank 1
# works: the ranks other than 0 write nothing, so nothing is left behind, in $TMPDIR or /tmp (before:
# rank 1's scratch directory /tmp/nnfmri-rank-XXXXXX, removed only on success).
touch "$dir/afile" "$dir/marker"
mkdir -p "$dir/tmp"
TMPDIR=$dir/tmp bad "afile" analyze "$dir/t1/model.ckpt" --data planted --eval-samples 48 --zeta-samples 24 --threads 1 \
  --zeta-max-permutations 4 --out "$dir/afile/x"
left=$(find /tmp "$dir/tmp" -maxdepth 1 -name 'nnfmri-rank-*' -newer "$dir/marker")
test -z "$left" || { echo "test-mpi: a failed distributed analyze left $left"; exit 1; }

# A data directory readable on one rank only (Open MPI's MPMD syntax: each rank its own command
# line): one error line, from the rank that cannot read it, naming that rank and the file; the job
# ends (no hang: `timeout`), non-zero, and writes no checkpoint.  A small CIFAR-10 directory (random
# pixels, labels i mod 10) is written here.
good=$dir/cifar-good
mkdir -p "$good"
for k in $(seq 0 9); do echo "class$k"; done > "$good/batches.meta.txt"
records() { local i; for i in $(seq 0 $(($1 - 1))); do printf "\\x0$((i % 10))"; head -c 3072 /dev/urandom; done; }
records 64 > "$good/data_batch_1.bin"
records 32 > "$good/test_batch.bin"
missing=$dir/cifar-missing
mpmd() {  # mpmd EXPECTED_RANK DATA0 DATA1 ARGS...: rank 0 reads DATA0, rank 1 DATA1
  local rank=$1 d0=$2 d1=$3 code=0; shift 3
  timeout 60 mpirun -q --oversubscribe -np 1 "$bin" "$@" --data "cifar10:$d0" : -np 1 "$bin" "$@" --data "cifar10:$d1" \
    > /dev/null 2> "$dir/err" || code=$?
  # (before, the timeout's 124 was read from $? after an `if` without else, always 0: a hang passed)
  test $code -ne 124 || { echo "test-mpi: MPMD with rank $rank without data hung (timeout): $*"; exit 1; }
  test $code -eq 2 || { echo "test-mpi: MPMD with rank $rank without data: exit $code, expected 2: $*"; cat "$dir/err"; exit 1; }
  grep "^nnfmri: error: " "$dir/err" > "$dir/lines" || true
  test "$(wc -l < "$dir/lines")" -eq 1 || { echo "test-mpi: expected one error line (MPMD, rank $rank without data)"; cat "$dir/err"; exit 1; }
  grep -q "rank $rank of 2" "$dir/lines" && grep -q "$missing" "$dir/lines" ||
    { echo "test-mpi: the error does not name rank $rank and $missing: $(cat "$dir/lines")"; exit 1; }
  if grep -q "stopping after" "$dir/err"; then echo "test-mpi: a rank ended by the abort announced a stop:"; cat "$dir/err"; exit 1; fi
  cat "$dir/lines"
}
mtrain=(train --limit-train 64 --limit-test 32 --epochs 1 --batch 32 --shards 2 --threads 1 --model "conv3x3:4 relu gap linear:10")
"$bin" "${mtrain[@]}" --data "cifar10:$good" --out "$dir/m1" > /dev/null
for rank in 0 1; do
  if [ $rank = 0 ]; then d0=$missing d1=$good; else d0=$good d1=$missing; fi
  mpmd $rank "$d0" "$d1" "${mtrain[@]}" --out "$dir/mbad"
  test ! -e "$dir/mbad/model.ckpt"
  mpmd $rank "$d0" "$d1" analyze "$dir/m1/model.ckpt" --eval-samples 32 --zeta-samples 8 --zeta-max-permutations 4 --threads 1 --out "$dir/mabad"
  test ! -e "$dir/mabad/grid.json"
done
# The note of a capped --threads, once (rank 0's; before, every rank printed it): rank 1's missing
# data ends the job 2 s after both ranks set their threads.
mpmd 1 "$good" "$missing" "${mtrain[@]}" --threads 100 --out "$dir/mbad"
test "$(grep -c "threads capped at" "$dir/err")" -eq 1 || { echo "test-mpi: expected one note of capped threads:"; cat "$dir/err"; exit 1; }

# Ranks that read other data or flags (MPMD): rank 0 broadcasts the fingerprint of its data (by
# content) and settings, every rank compares; the lowest differing rank prints one line naming the
# first difference, every rank exits 2 (no abort), within the timeout (before: a differing training
# set size waited forever, other content trained other weights, analyze crashed or hung).
other=$dir/cifar-other
mkdir -p "$other"
cp "$good/batches.meta.txt" "$other/"
records 64 > "$other/data_batch_1.bin"
records 32 > "$other/test_batch.bin"
differ() {  # differ WHAT: rank 0 runs "${a0[@]}", rank 1 "${a1[@]}"; the line must name WHAT
  local what=$1 code=0
  timeout 60 mpirun -q --oversubscribe -np 1 "$bin" "${a0[@]}" : -np 1 "$bin" "${a1[@]}" > /dev/null 2> "$dir/err" || code=$?
  test $code -ne 124 || { echo "test-mpi: ranks that differ in $what hung (timeout): ${a1[*]}"; exit 1; }
  test $code -eq 2 || { echo "test-mpi: ranks that differ in $what: exit $code, expected 2"; cat "$dir/err"; exit 1; }
  grep "^nnfmri: error: " "$dir/err" > "$dir/lines" || true
  test "$(wc -l < "$dir/lines")" -eq 1 || { echo "test-mpi: expected one error line (ranks differ in $what)"; cat "$dir/err"; exit 1; }
  grep -q "rank 1 of 2, in nnfmri .*: data or settings differ from rank 0's: .*$what" "$dir/lines" ||
    { echo "test-mpi: the error does not name rank 1 and $what: $(cat "$dir/lines")"; exit 1; }
  cat "$dir/lines"
}
for limits in "64 32" "32 64"; do  # fewer steps per epoch on rank 1, or more
  set -- $limits
  a0=("${mtrain[@]}" --limit-train $1 --data "cifar10:$good" --out "$dir/dbad")
  a1=("${mtrain[@]}" --limit-train $2 --data "cifar10:$good" --out "$dir/dbad")
  differ train_images
  test ! -e "$dir/dbad"
done
a0=("${mtrain[@]}" --data "cifar10:$good" --out "$dir/dbad")
a1=("${mtrain[@]}" --data "cifar10:$other" --out "$dir/dbad")
differ /data/files/
a1=("${mtrain[@]}" --data "cifar10:$good" --lr 0.5 --out "$dir/dbad")
differ /optimizer/lr
test ! -e "$dir/dbad"
# A rank that ends at once (--help) while rank 0 trains: one line naming it, exit 2 (before: rank 1
# exited 0 and rank 0 waited forever for its shards).
a1=("${mtrain[@]}" --data "cifar10:$good" --help)
differ '/--help or --version is "nnfmri train --help" here, null on rank 0'
test ! -e "$dir/dbad"
analyze=(analyze "$dir/m1/model.ckpt" --eval-samples 32 --zeta-samples 8 --zeta-max-permutations 4 --threads 1 --out "$dir/dabad")
a0=("${analyze[@]}" --data "cifar10:$good")
a1=("${analyze[@]}" --data "cifar10:$other")
differ /data/files
a1=("${analyze[@]}" --data "cifar10:$good" --eval-samples 16)
differ /analysis
a1=("${analyze[@]}" --data "cifar10:$good" --errors)  # (before: not compared; rank 0's choice won silently)
differ '/analysis/zeta has "errors"'
test ! -e "$dir/dabad/grid.json"
# Ranks 1 and 2 of 3 both differ from rank 0: the lowest of them, rank 1, prints the line (README:
# "the lowest such rank prints one line"; with two ranks only rank 1 can differ, so a reduction that
# picked the highest differing rank went unnoticed).
code=0
timeout 60 mpirun -q --oversubscribe -np 1 "$bin" "${analyze[@]}" --data "cifar10:$good" : \
  -np 2 "$bin" "${analyze[@]}" --data "cifar10:$good" --eval-samples 16 > /dev/null 2> "$dir/err" || code=$?
test $code -ne 124 || { echo "test-mpi: 3 ranks, ranks 1 and 2 differing, hung (timeout)"; exit 1; }
test $code -eq 2 || { echo "test-mpi: 3 ranks, ranks 1 and 2 differing: exit $code, expected 2"; cat "$dir/err"; exit 1; }
grep "^nnfmri: error: " "$dir/err" > "$dir/lines" || true
test "$(wc -l < "$dir/lines")" -eq 1 && grep -q "rank 1 of 3, in nnfmri analyze: data or settings differ from rank 0's: /analysis" "$dir/lines" ||
  { echo "test-mpi: 3 ranks, ranks 1 and 2 differing: expected one line from rank 1"; cat "$dir/err"; exit 1; }
cat "$dir/lines"
test ! -e "$dir/dabad/grid.json"
# Generated data names no file: planted:1 against planted:2 (the same counts) are told apart by the
# generated images (before: the fingerprints agreed, and the grid mixed the two sets' batches).
"$bin" train --data planted:1 --limit-train 32 --limit-test 32 --epochs 1 --batch 32 --threads 1 \
  --model "conv3x3:4 relu gap linear:10" --out "$dir/p1" > /dev/null
analyze=(analyze "$dir/p1/model.ckpt" --eval-samples 32 --zeta-samples 8 --zeta-max-permutations 4 --threads 1 --out "$dir/dabad")
a0=("${analyze[@]}" --data planted:1)
a1=("${analyze[@]}" --data planted:2)
differ /data/generated/
test ! -e "$dir/dabad/grid.json"

# SIGTERM to rank 1 alone: every rank stops after the same step, agrees on the signal, rank 0 names
# it ("stopped by SIGTERM", before: SIGINT, its own signal being none) and every rank exits 143
# (before: the ranks without a signal exited 128).  Each rank's exit code is kept by a shell around it.
# Then `train --resume` with one process finishes the run with the plain binary's bytes (batch norm's
# running statistics and the shards' dropout streams carried across the cut).
# The signal goes as soon as rank 0 has printed epoch 1's line (a fixed delay let an idle machine finish
# the run first), into a run of 400 epochs (~3 s idle on one process) that cannot end before it.
long=(train --data planted --limit-train 96 --limit-test 32 --epochs 400 --batch 32 --shards 2 --threads 1
      --model "conv3x3:4 bn relu gap linear:8 relu dropout:0.25 linear:10" --out "$dir/sig")
code=0
timeout 120 mpirun -q --oversubscribe \
  -np 1 sh -c '"$@"; echo $? > "$0/rc0"' "$dir" "$bin" "${long[@]}" : \
  -np 1 sh -c '"$@" & echo $! > "$0/pid1"; wait $!; echo $? > "$0/rc1"' "$dir" "$bin" "${long[@]}" \
  > "$dir/out" 2> "$dir/err" &
job=$!
for _ in $(seq 3000); do grep -q "^epoch" "$dir/out" 2> /dev/null && test -s "$dir/pid1" && break; sleep 0.01; done
kill -TERM "$(cat "$dir/pid1")"
wait $job || code=$?
test $code -ne 124 || { echo "test-mpi: SIGTERM to rank 1 hung (timeout)"; exit 1; }
grep -q "stopped by SIGTERM" "$dir/err" || { echo "test-mpi: SIGTERM to rank 1: rank 0 did not say SIGTERM"; cat "$dir/err"; exit 1; }
test "$(cat "$dir/rc0") $(cat "$dir/rc1")" = "143 143" ||
  { echo "test-mpi: SIGTERM to rank 1: exit codes $(cat "$dir/rc0") $(cat "$dir/rc1"), expected 143 on both ranks"; exit 1; }
grep "stopped by" "$dir/err"
grep -q '"status": "interrupted"' "$dir/sig/run.json" || { echo "test-mpi: SIGTERM to rank 1: run.json does not say interrupted"; exit 1; }
timeout 600 "$bin" train --resume "$dir/sig" > /dev/null
"$bin" "${long[@]}" --out "$dir/sig1" > /dev/null
same_run "$dir/sig1" "$dir/sig"
echo "test-mpi: the run stopped on 2 ranks and resumed by one process is byte-identical to one process's"

# A binary built without MPI under mpirun: every rank refuses (P independent runs would write the
# same --out), exit 2, one line (before: two runs on one directory).
if [ -n "$serial" ]; then
  code=0
  timeout 60 mpirun -q --oversubscribe -np 2 "$serial" train --data planted --limit-train 64 --limit-test 64 --epochs 1 \
    --batch 32 --threads 1 --model "conv3x3:4 relu gap linear:10" --out "$dir/serial" > /dev/null 2> "$dir/err" || code=$?
  test $code -eq 2 || { echo "test-mpi: a binary without MPI under mpirun: exit $code, expected 2"; cat "$dir/err"; exit 1; }
  grep "^nnfmri: error: " "$dir/err" > "$dir/lines" || true
  test "$(wc -l < "$dir/lines")" -eq 1 && grep -q "built without MPI (make MPI=1)" "$dir/lines" ||
    { echo "test-mpi: a binary without MPI under mpirun: expected one line naming make MPI=1"; cat "$dir/err"; exit 1; }
  test ! -e "$dir/serial"
  cat "$dir/lines"
else
  echo "test-mpi: no binary without MPI given: its refusal under mpirun is not checked"
fi
echo "test-mpi: passed"

#!/usr/bin/env bash
# tests/mpi_compare.sh NNFMRI — make test-mpi: training under mpirun with 2 ranks (and 4 for the
# training) against the same command without mpirun, byte for byte (timing fields of metrics.jsonl
# stripped), then bad input under mpirun: one error line and a non-zero exit.  Writes only its own
# temporary directory (planted data, no files of /work/shared).
set -euo pipefail
bin=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # CI runs as root
mpi() { local n=$1; shift; mpirun --oversubscribe -np "$n" "$bin" "$@"; }

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
  mpi $np "${train[@]}" --out "$dir/t$np" > /dev/null
  same_run "$dir/t1" "$dir/t$np"
  echo "test-mpi: train --shards 4 on $np ranks: the run directory is byte-identical to one process's"
done

# analyze: ζ permutations spread over 2 ranks, stopped by --zeta-max-permutations (and tolerance)
# with a budget no run reaches: every file equals one process's, timing fields stripped.
strip_timing() {
  sed -E -e 's/"(seconds|budget_seconds|setup|lesion|taylor|shapley|[a-z_]*_seconds)": *[-0-9.e+]+/"\1":0/g' "$1"
}
analyze="analyze $dir/t1/model.ckpt --data planted --eval-samples 48 --zeta-samples 24 --threads 1 --zeta-budget 1000 --zeta-max-permutations 8 --stages grid,zeta"
"$bin" $analyze --out "$dir/a1" > /dev/null
mpi 2 $analyze --out "$dir/a2" > /dev/null
diff <(cd "$dir/a1" && find . -type f | sort) <(cd "$dir/a2" && find . -type f | sort)
for f in $(cd "$dir/a1" && find . -type f | sort); do
  cmp <(strip_timing "$dir/a1/$f") <(strip_timing "$dir/a2/$f") || { echo "test-mpi: analyze on 2 ranks: $f differs"; exit 1; }
done
grep -q '"stopped_by": *"\(max_permutations\|tolerance\)"' "$dir/a1/zeta.json" || { echo "test-mpi: zeta.json did not stop by max_permutations or tolerance"; exit 1; }
echo "test-mpi: analyze on 2 ranks: every file equals one process's (timing fields aside)"

# Bad input under mpirun: one error line (mpirun's own notes aside, -q), every rank non-zero.
bad() {
  local expected=$1; shift
  if mpirun -q --oversubscribe -np 2 "$bin" "$@" > /dev/null 2> "$dir/err"; then echo "test-mpi: expected a failure: $*"; exit 1; fi
  grep "^nnfmri: error: " "$dir/err" > "$dir/lines" || true
  test "$(wc -l < "$dir/lines")" -eq 1 || { echo "test-mpi: expected one error line for: $*"; cat "$dir/err"; exit 1; }
  grep -q -- "$expected" "$dir/lines" || { echo "test-mpi: the error does not name '$expected': $(cat "$dir/lines")"; exit 1; }
  cat "$dir/lines"
}
bad "--shards 1" "${train[@]}" --shards 1 --out "$dir/bad"
bad "cifar10" train --data cifar10:/nonexistent --threads 1 --out "$dir/bad"
test ! -e "$dir/bad/model.ckpt"
echo "test-mpi: passed"

#!/usr/bin/env bash
# bench/mpi_throughput.sh [NNFMRI [OLD_NNFMRI]] — side by side on this machine: training and analyze
# with 1 rank × 2 threads against 2 ranks × 1 thread (mpirun), alternating, ROUNDS (3) times each,
# with the load average before each run; and, for 2 ranks, the seconds rank 0 spent combining shard
# partials (train's "mpi:" line).  Analyze runs every stage (grid on --eval-samples images, ζ stopped
# by --zeta-max-permutations, tract) and prints rank 0's seconds per stage from its summary.  With
# OLD_NNFMRI (e.g. main's binary) every analyze runs with both binaries, alternating, on the same
# checkpoint (made by NNFMRI).  TRAIN=0 skips the training comparison (one 1-process training run
# still makes the checkpoint).  Data: the workplace CIFAR-10 subset (first 1024 training images).
set -euo pipefail
bin=${1:-build/nnfmri}
old=${2:-}
data=${DATA:-cifar10:../shared/datasets/cifar10-subset}
model=${MODEL:-reference}
rounds=${ROUNDS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
train="train --data $data --model $model --limit-train 1024 --limit-test 64 --epochs 1 --batch 64 --shards 2 --no-augment"
analyze="--data $data --eval-samples ${EVAL:-256} --zeta-samples 32 --zeta-budget 1000 --zeta-max-permutations 4 --tract-samples 64 --stages grid,zeta,tract"
rate() { grep -o '"train_images_per_s":[0-9.e+]*' "$1/metrics.jsonl" | cut -d: -f2; }
# "pass 1.2 grid 0.3 zeta 20.1 tract 2.0": rank 0's seconds of the streamed pass and of each stage
stages() { sed -nE 's/^evaluation pass: .*, ([0-9.]+) s$/pass \1/p; s/^(grid|zeta|tract) stage: [0-9]+ images, ([0-9.]+) s$/\1 \2/p' | paste -sd' '; }
ck="$dir/p1-1/model.ckpt"
if [ "${TRAIN:-1}" = 0 ]; then "$bin" $train --threads 2 --out "$dir/p1-1" > /dev/null; fi
for r in $(seq "$rounds"); do
  if [ "${TRAIN:-1}" != 0 ]; then
    load=$(cut -d' ' -f1 /proc/loadavg)
    "$bin" $train --threads 2 --out "$dir/p1-$r" > /dev/null
    echo "round $r  load $load  train 1 rank x 2 threads: $(rate "$dir/p1-$r") img/s"
    load=$(cut -d' ' -f1 /proc/loadavg)
    line=$(mpirun --oversubscribe -np 2 "$bin" $train --threads 1 --out "$dir/p2-$r" | grep '^mpi:' || true)
    echo "round $r  load $load  train 2 ranks x 1 thread: $(rate "$dir/p2-$r") img/s  ($line)"
  fi
  for b in "$bin" $old; do
    load=$(cut -d' ' -f1 /proc/loadavg)
    s=$(date +%s.%N); sum=$("$b" analyze "$ck" $analyze --threads 2 --out "$dir/a1-$r" | stages); e=$(date +%s.%N)
    echo "round $r  load $load  $b  analyze 1 rank x 2 threads: $(echo "$e - $s" | bc) s  ($sum)"
    load=$(cut -d' ' -f1 /proc/loadavg)
    s=$(date +%s.%N); sum=$(mpirun --oversubscribe -np 2 "$b" analyze "$ck" $analyze --threads 1 --out "$dir/a2-$r" | stages); e=$(date +%s.%N)
    echo "round $r  load $load  $b  analyze 2 ranks x 1 thread: $(echo "$e - $s" | bc) s  ($sum)"
  done
done

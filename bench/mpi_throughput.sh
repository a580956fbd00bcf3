#!/usr/bin/env bash
# bench/mpi_throughput.sh [NNFMRI] — side by side on this machine: training and analyze with
# 1 rank × 2 threads against 2 ranks × 1 thread (mpirun), alternating, ROUNDS (3) times each, with
# the load average before each run; and, for 2 ranks, the seconds rank 0 spent combining shard
# partials (train's "mpi:" line).  Data: the workplace CIFAR-10 subset (first 1024 training images).
set -euo pipefail
bin=${1:-build/nnfmri}
data=${DATA:-cifar10:../shared/datasets/cifar10-subset}
model=${MODEL:-reference}
rounds=${ROUNDS:-3}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
train="train --data $data --model $model --limit-train 1024 --limit-test 64 --epochs 1 --batch 64 --shards 2 --no-augment"
analyze="--data $data --eval-samples 64 --zeta-samples 32 --zeta-budget 1000 --zeta-max-permutations 4 --stages zeta"
rate() { grep -o '"train_images_per_s":[0-9.e+]*' "$1/metrics.jsonl" | cut -d: -f2; }
for r in $(seq "$rounds"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$bin" $train --threads 2 --out "$dir/p1-$r" > /dev/null
  echo "round $r  load $load  train 1 rank x 2 threads: $(rate "$dir/p1-$r") img/s"
  load=$(cut -d' ' -f1 /proc/loadavg)
  line=$(mpirun --oversubscribe -np 2 "$bin" $train --threads 1 --out "$dir/p2-$r" | grep '^mpi:' || true)
  echo "round $r  load $load  train 2 ranks x 1 thread: $(rate "$dir/p2-$r") img/s  ($line)"
  ck="$dir/p1-1/model.ckpt"
  load=$(cut -d' ' -f1 /proc/loadavg)
  s=$(date +%s.%N); "$bin" analyze "$ck" $analyze --threads 2 --out "$dir/a1-$r" > /dev/null; e=$(date +%s.%N)
  echo "round $r  load $load  analyze 1 rank x 2 threads: $(echo "$e - $s" | bc) s"
  load=$(cut -d' ' -f1 /proc/loadavg)
  s=$(date +%s.%N); mpirun --oversubscribe -np 2 "$bin" analyze "$ck" $analyze --threads 1 --out "$dir/a2-$r" > /dev/null; e=$(date +%s.%N)
  echo "round $r  load $load  analyze 2 ranks x 1 thread: $(echo "$e - $s" | bc) s"
done

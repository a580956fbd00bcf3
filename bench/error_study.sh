#!/bin/bash
# bench/error_study.sh [CKPT] [DATA] — the error-analysis measurements of bench/README.md ("Issue 16"):
#   1. the planted-failure study and the pointing game (build/study/error_study planted K SAMPLES STRENGTH SEED),
#      planted data seeds 1-5, with the two alternatives of bench/README.md (contrast ranking, mean ablation)
#   2. deletion/insertion curves on a trained checkpoint (default: a `reference` net trained 15 epochs on the
#      shared CIFAR-10 subset, /tmp/before/run/model.ckpt), conv3 and conv1 with an 8x8x1 grid
#   3. the cost of analyze --errors over a plain analyze (time and peak RSS, same settings, deterministic stop)
# Run `make build` first.  THREADS (default 1) for the studies; the analyze runs use --threads 2.
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:-/tmp/before/run/model.ckpt}
data=${2:-cifar10:../shared/datasets/cifar10-subset}
bash bench/study/build.sh
out=$(mktemp -d /tmp/nnfmri_error_study.XXXXXX)
for seed in 1 2 3 4 5; do  # the planted data's seed (the net's is fixed)
  echo "## planted failure (k = 3) and pointing game, planted data seed $seed"
  THREADS=${THREADS:-1} build/study/error_study planted 3 100 2 $seed
done
for block in conv3 conv1; do
  echo "## deletion / insertion, $block"
  THREADS=${THREADS:-1} build/study/error_study ckpt "$ckpt" "$data" $block 8x8x1 64
done
echo "## analyze --errors overhead (--zeta-samples 64 --zeta-tol 0 --zeta-max-permutations 8 --zeta-budget 1000 --stages zeta)"
for run in plain errors plain errors; do
  extra=""; [ $run = errors ] && extra="--errors"
  /usr/bin/time -f "$run: %e s, peak RSS %M KiB" build/nnfmri analyze "$ckpt" --data "$data" --out "$out/$run" --threads 2 \
    --stages zeta --zeta-samples 64 --zeta-tol 0 --zeta-max-permutations 8 --zeta-budget 1000 $extra > /dev/null
done
rm -rf "$out"

#!/usr/bin/env bash
# bench/monitor_false_alarms.sh [WORK] — the many-window false-alarm estimate of README "Monitoring"
# (figures in bench/README.md).  WORK is bench/monitor_study.sh's: its 15-epoch `reference` (WORK/ref)
# is reused, or trained the same way when absent.
# 1. bench/monitor_false_alarms.py make: a profile set (the subset's first 2,585 training images) and
#    clean streams of windows of 100 drawn from the 3,602 images never used in the profile,
# 2. `nnfmri profile --limit-train 2585` on that set (no ζ weights: the window test does not use them),
# 3. `nnfmri monitor --window 100 --alpha 0.01` on the 500 mixed windows and the 200 + 200 one-source ones,
# 4. power: `corrupt --seed 1 --limit-test 10000` (the first 100 mixed windows) of every kind at severities
#    1, 3, 5, each through `monitor`,
# 5. prints the alarm counts with 95% Clopper–Pearson intervals.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
nnfmri="$here/build/nnfmri"
data="${NNFMRI_SUBSET:-$here/../shared/datasets/cifar10-subset}"
work=${1:-/tmp/nnfmri_monitor_study}
mkdir -p "$work"
cd "$work"
[ -f ref/model.ckpt ] || "$nnfmri" train --data "cifar10:$data" --model reference --epochs 15 --threads 2 --out ref --overwrite
/usr/bin/python3 "$here/bench/monitor_false_alarms.py" make "$work" "$data"
"$nnfmri" profile ref/model.ckpt --data cifar10:fa_data --limit-train 2585 --threads 2 --out fa.profile > fa_fit.out
for name in fa_data fa_train fa_test; do
  "$nnfmri" monitor ref/model.ckpt --profile fa.profile --input "cifar10:$name" --threads 2 --window 100 --alpha 0.01 \
    --out "${name}_mon" > "${name}_mon.out"
done
for kind in noise blur contrast occlusion; do
  for severity in 1 3 5; do
    "$nnfmri" corrupt --data cifar10:fa_data --kind $kind --severity $severity --seed 1 --limit-test 10000 \
      --out "fa_data_${kind}_$severity" > /dev/null
    "$nnfmri" monitor ref/model.ckpt --profile fa.profile --input "cifar10:fa_data_${kind}_$severity" --threads 2 \
      --window 100 --alpha 0.01 --out "fa_${kind}_$severity" > /dev/null
  done
done
/usr/bin/python3 "$here/bench/monitor_false_alarms.py" report "$work"

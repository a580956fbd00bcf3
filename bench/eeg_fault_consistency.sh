#!/usr/bin/env bash
# bench/eeg_fault_consistency.sh [NNFMRI] [SEEDS] [OUT] — the cross-modal consistency terms (README
# NN-EEG, "Cross-modal consistency") under injected faults, where F1 (EEG events against spatial
# anomalies) is meant to be read: the planted set and net of bench/eeg_detection.sh (1,600 images,
# `conv3x3:4 relu maxpool2 linear:10`, batch 32, constant lr 0.01, --grid 4x4x2, --eeg-window 32,
# 4 epochs of 50 steps), imaged after every epoch (stages grid,zeta, --zeta-budget 1, 200 test
# images), one clean run and one run per fault (each from step 110, 20 steps: inside epoch 3) per
# seed; then `nnfmri report` and bench/eeg_consistency_table.py's table (the last epoch's terms,
# which pool the 3 blocks × 3 analysed epochs with a previous one for F1).  Runs go to OUT (default
# runs/eeg_fault_consistency), kept.
set -euo pipefail
nnfmri=$(realpath "${1:-build/nnfmri}")
seeds=${2:-"1 2 3"}
out=${3:-runs/eeg_fault_consistency}
faults=("lr@110:20:10" "labels@110:20" "lesion@110:20:conv1/grid_2_2_1" "dead@110:20:conv1")
common=(--data planted --limit-train 1600 --limit-test 200 --model "conv3x3:4 relu maxpool2 linear:10" --epochs 4
        --batch 32 --lr 0.01 --schedule constant --grid 4x4x2 --eeg --eeg-window 32 --threads 1
        --analyze-every 1 --stages grid,zeta --zeta-budget 1)
mkdir -p "$out"
for seed in $seeds; do
  "$nnfmri" train "${common[@]}" --seed "$seed" --out "$out/clean_$seed" --overwrite > "$out/clean_$seed.log" 2>&1
  for f in "${faults[@]}"; do
    "$nnfmri" train "${common[@]}" --seed "$seed" --inject "$f" --out "$out/${f%%@*}_$seed" --overwrite > "$out/${f%%@*}_$seed.log" 2>&1
  done
done
for run in "$out"/*_*/; do "$nnfmri" report "$run" > /dev/null; done
/usr/bin/python3 "$(dirname "$0")/eeg_consistency_table.py" "$out"

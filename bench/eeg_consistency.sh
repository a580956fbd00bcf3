#!/usr/bin/env bash
# bench/eeg_consistency.sh [NNFMRI] [SEEDS] [OUT] — the method's cross-modal claims (README NN-EEG,
# "Cross-modal consistency") measured on `reference` over the shared CIFAR-10 subset: for each seed
# (default "1 2 3") one run trained for 6 epochs with --eeg --eeg-window 64 --analyze-every 1
# (stages grid,zeta; --zeta-budget 3 per layer to fit the machine), and the frozen-weights null: the
# same with --lr 1e-12 (the flag's lowest value; 0 is refused), so the weights stay at their
# initialisation up to ~1e-12 of a gradient.  Then `nnfmri report` on each run, which writes
# analysis/epoch_N/eeg.json with the consistency terms, their bootstrap CIs and the shuffled-label
# null, and bench/eeg_consistency_table.py's table of the last analysed epoch's terms.  Runs go to
# OUT (default runs/eeg_consistency) and are kept (the raw files behind the figures); a run whose
# last analysis exists is not trained again.  STAGE=table: only the reports and the table.
set -euo pipefail
nnfmri=$(realpath "${1:-build/nnfmri}")
seeds=${2:-"1 2 3"}
out=${3:-runs/eeg_consistency}
data=${DATA:-cifar10:../shared/datasets/cifar10-subset}
common=(--data "$data" --model reference --epochs 6 --eeg --eeg-window 64 --analyze-every 1
        --stages grid,zeta --zeta-budget 3 --threads 1)
mkdir -p "$out"
if [ "${STAGE:-all}" != table ]; then
  for seed in $seeds; do
    for kind in trained frozen; do
      run="$out/${kind}_$seed"
      [ -f "$run/analysis/epoch_006/zeta.json" ] && continue
      extra=(); [ "$kind" = frozen ] && extra=(--lr 1e-12)
      "$nnfmri" train "${common[@]}" "${extra[@]}" --seed "$seed" --out "$run" --overwrite > "$run.log" 2>&1
    done
  done
fi
for run in "$out"/*_*/; do
  [ -f "$run/analysis/epoch_006/zeta.json" ] && "$nnfmri" report "$run" > /dev/null
done
/usr/bin/python3 "$(dirname "$0")/eeg_consistency_table.py" "$out"

#!/usr/bin/env bash
# bench/eeg_overhead.sh [NNFMRI] [REPEATS] — NN-EEG's recording cost: `train` of `reference` on the
# shared CIFAR-10 subset for 2 epochs with and without --eeg, alternated REPEATS (2) times, same
# seed and threads (2).  Prints each run's training images/s (metrics.jsonl train_images_per_s:
# the steps only, probe included) and the wall seconds of the whole command (the epoch's eeg
# files, spectra, states and events included), then the medians.  Runs go to a temporary directory.
set -euo pipefail
nnfmri=$(realpath "${1:-build/nnfmri}")
repeats=${2:-2}
data=cifar10:$(realpath ../shared/datasets/cifar10-subset)
work=$(mktemp -d /tmp/nnfmri_eeg_overhead.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "| run | eeg | epoch 1 img/s | epoch 2 img/s | wall s |"
echo "|---|---|---|---|---|"
for r in $(seq "$repeats"); do
  for eeg in off on; do
    flags=()
    [ "$eeg" = on ] && flags=(--eeg)
    start=$(date +%s.%N)
    "$nnfmri" train --data "$data" --model reference --epochs 2 --threads 2 --out "$work/$eeg$r" "${flags[@]}" > /dev/null
    end=$(date +%s.%N)
    rates=$(/usr/bin/python3 -c "import json,sys; print(' | '.join('%.1f' % json.loads(l)['train_images_per_s'] for l in open(sys.argv[1])))" "$work/$eeg$r/metrics.jsonl")
    echo "| $r | $eeg | $rates | $(/usr/bin/python3 -c "print('%.1f' % ($end - $start))") |"
  done
done

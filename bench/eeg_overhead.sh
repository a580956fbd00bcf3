#!/usr/bin/env bash
# bench/eeg_overhead.sh [NNFMRI] [REPEATS] [THREADS] [OTHER_NNFMRI] — NN-EEG's recording cost: `train`
# of `reference` on the shared CIFAR-10 subset for 3 epochs with and without `--eeg --eeg-window 64`,
# same seed, THREADS threads (2), alternated REPEATS (2) times; with OTHER_NNFMRI (an older build)
# each repetition runs both binaries, off and on, one after the other.  Prints each run's user CPU
# seconds and peak RSS (/usr/bin/time: on a shared machine user CPU is the figure to compare, wall
# is not), its wall seconds, the training images/s of each epoch (metrics.jsonl train_images_per_s:
# the steps only, probe included), then per binary the ratio on ÷ off of the median user CPU.
# OMP_WAIT_POLICY is passive unless set (spinning threads distort every figure on a loaded machine).
# Runs go to a temporary directory.
set -euo pipefail
nnfmri=$(realpath "${1:-build/nnfmri}")
repeats=${2:-2}
threads=${3:-2}
other=${4:+$(realpath "$4")}
data=cifar10:$(realpath "$(dirname "$0")/../../shared/datasets/cifar10-subset")
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
work=$(mktemp -d /tmp/nnfmri_eeg_overhead.XXXXXX)
trap 'rm -rf "$work"' EXIT
binaries=("$nnfmri")
[ -n "$other" ] && binaries+=("$other")
echo "threads $threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| run | binary | eeg | user s | wall s | peak RSS MB | epoch img/s | load avg |"
echo "|---|---|---|---|---|---|---|---|"
for r in $(seq "$repeats"); do
  for b in "${!binaries[@]}"; do
    for eeg in off on; do
      flags=()
      [ "$eeg" = on ] && flags=(--eeg --eeg-window 64)
      out=$work/$b$eeg$r
      /usr/bin/time -f "%U %e %M" -o "$work/time" "${binaries[$b]}" train --data "$data" --model reference --epochs 3 \
        --threads "$threads" --seed 1 --out "$out" "${flags[@]}" > /dev/null
      read -r user wall rss < "$work/time"
      rates=$(/usr/bin/python3 -c "import json,sys; print(' '.join('%.0f' % json.loads(l)['train_images_per_s'] for l in open(sys.argv[1])))" "$out/metrics.jsonl")
      echo "| $r | $b | $eeg | $user | $wall | $((rss / 1024)) | $rates | $(cut -d' ' -f1 /proc/loadavg) |"
      echo "$b $eeg $user" >> "$work/users"
      rm -rf "$out"
    done
  done
done
for b in "${!binaries[@]}"; do
  /usr/bin/python3 - "$work/users" "$b" "${binaries[$b]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {e: statistics.median(float(u) for b, ee, u in rows if b == sys.argv[2] and ee == e) for e in ("off", "on")}
print("binary %s (%s): median user s off %.2f, on %.2f, on / off %.3f" % (sys.argv[2], sys.argv[3], med["off"], med["on"], med["on"] / med["off"]))
EOF
done

#!/usr/bin/env bash
# bench/eeg_overhead.sh [NNFMRI] [REPEATS] [THREADS] [OTHER_NNFMRI] — NN-EEG's recording cost: `train`
# of `reference` on the shared CIFAR-10 subset for 3 epochs with and without `--eeg --eeg-window 64`,
# same seed, THREADS threads (2), alternated REPEATS (2) times; with OTHER_NNFMRI (an older build)
# each repetition runs both binaries, off and on, one after the other.  Prints each run's user CPU
# seconds and peak RSS (/usr/bin/time: on a shared machine user CPU is the figure to compare, wall
# is not), its wall seconds, the training images/s of each epoch (metrics.jsonl train_images_per_s:
# the steps only, probe included), then per binary the ratio on ÷ off of the median user CPU.
# OMP_WAIT_POLICY is passive unless set (spinning threads distort every figure on a loaded machine).
# EPOCHS (3) sets the epochs; TOGETHER=1 starts the 2 or 4 runs of a repetition at the same time
# (each meets the same load; for a machine so loaded that alternated runs take too long).
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
echo "epochs ${EPOCHS:-3}, together ${TOGETHER:-0}, threads $threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| run | binary | eeg | user s | wall s | peak RSS MB | epoch img/s | load avg |"
echo "|---|---|---|---|---|---|---|---|"
epochs=${EPOCHS:-3}
together=${TOGETHER:-0}
# one run: binary index, off|on, repetition → $work/<b><eeg><r>.time
run() {
  local flags=()
  [ "$2" = on ] && flags=(--eeg --eeg-window 64)
  /usr/bin/time -f "%U %e %M" -o "$work/$2$1$3.time" "${binaries[$1]}" train --data "$data" --model reference \
    --epochs "$epochs" --threads "$threads" --seed 1 --out "$work/$2$1$3" "${flags[@]}" > /dev/null
}
report() {
  local user wall rss rates
  read -r user wall rss < "$work/$2$1$3.time"
  rates=$(/usr/bin/python3 -c "import json,sys; print(' '.join('%.0f' % json.loads(l)['train_images_per_s'] for l in open(sys.argv[1])))" "$work/$2$1$3/metrics.jsonl")
  echo "| $3 | $1 | $2 | $user | $wall | $((rss / 1024)) | $rates | $(cut -d' ' -f1 /proc/loadavg) |"
  echo "$1 $2 $user" >> "$work/users"
  rm -rf "${work:?}/$2$1$3"
}
for r in $(seq "$repeats"); do
  if [ "$together" = 1 ]; then
    for b in "${!binaries[@]}"; do for eeg in off on; do run "$b" "$eeg" "$r" & done; done
    wait
    for b in "${!binaries[@]}"; do for eeg in off on; do report "$b" "$eeg" "$r"; done; done
  else
    for b in "${!binaries[@]}"; do for eeg in off on; do run "$b" "$eeg" "$r"; report "$b" "$eeg" "$r"; done; done
  fi
done
for b in "${!binaries[@]}"; do
  /usr/bin/python3 - "$work/users" "$b" "${binaries[$b]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {e: statistics.median(float(u) for b, ee, u in rows if b == sys.argv[2] and ee == e) for e in ("off", "on")}
print("binary %s (%s): median user s off %.2f, on %.2f, on / off %.3f" % (sys.argv[2], sys.argv[3], med["off"], med["on"], med["on"] / med["off"]))
EOF
done

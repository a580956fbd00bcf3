#!/usr/bin/env bash
# bench/eeg_detection.sh [NNFMRI] [SEEDS] — NN-EEG fault detection on the planted set: for each seed
# (default "1 2 3") one clean run and one run per fault kind, each fault starting at step 160 of a
# 200-step run (`conv3x3:4 relu maxpool2 linear:10`, 1,600 planted images, batch 32, constant lr
# 0.01, --grid 4x4x2, --eeg-window 32: the conditions of tests/apps/test_eeg_run.cpp).
# A fault is detected when an event names a step in [STEP, STEP + DURATION]; latency = that step −
# STEP.  The loss-only baseline is the same event rule on the `loss` channel alone (its events are
# among the run's).  False alarms: events of the clean runs (all of them, and the loss's), per 10
# epochs.  Prints a Markdown table.  Runs go to a temporary directory.
set -euo pipefail
nnfmri=$(realpath "${1:-build/nnfmri}")
seeds=${2:-"1 2 3"}
work=$(mktemp -d /tmp/nnfmri_eeg_detection.XXXXXX)
trap 'rm -rf "$work"' EXIT
faults=("lr@160:5:10" "labels@160:10" "lesion@160:20:conv1/grid_2_2_1" "noise@160:10:1" "bias@160:10:conv1=0.5" "dead@160:20:conv1")
common=(--data planted --limit-train 1600 --limit-test 40 --model "conv3x3:4 relu maxpool2 linear:10" --epochs 4
        --batch 32 --lr 0.01 --schedule constant --grid 4x4x2 --eeg --eeg-window 32 --threads 2)
for seed in $seeds; do
  "$nnfmri" train "${common[@]}" --seed "$seed" --out "$work/clean_$seed" > /dev/null
  for f in "${faults[@]}"; do
    "$nnfmri" train "${common[@]}" --seed "$seed" --inject "$f" --out "$work/${f%%@*}_$seed" > /dev/null
  done
done
/usr/bin/python3 - "$work" "$seeds" "${faults[@]}" <<'PY'
import glob, json, statistics, sys
work, seeds, faults = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
def events(run):
    out = []
    for f in sorted(glob.glob(run + "/eeg/epoch_*.json")):
        out += json.load(open(f))["events"]
    return out
clean = [events(f"{work}/clean_{s}") for s in seeds]
epochs = 4 * len(seeds)
print(f"clean runs: {len(seeds)} × 4 epochs; events per 10 clean epochs: all channels "
      f"{10 * sum(len(e) for e in clean) / epochs:.2f} (of which regions "
      f"{10 * sum(sum(x['channel'] == 'region' for x in e) for e in clean) / epochs:.2f}), loss only "
      f"{10 * sum(sum(x['channel'] == 'loss' for x in e) for e in clean) / epochs:.2f}")
print("| fault | recall NN-EEG | median latency | recall loss-only | median latency | first channels |")
print("|---|---|---|---|---|---|")
for f in faults:
    kind = f.split("@")[0]
    step, duration = int(f.split("@")[1].split(":")[0]), int(f.split(":")[1])
    hits, lat, hits_loss, lat_loss, names = 0, [], 0, [], set()
    for s in seeds:
        inside = [e for e in events(f"{work}/{kind}_{s}") if step <= e["step"] <= step + duration]
        if inside:
            hits += 1
            lat.append(min(e["step"] for e in inside) - step)
            first = min(e["step"] for e in inside)
            names |= {(e["block"] + "/" if e["block"] else "") + (e["region"] or e["channel"]) for e in inside if e["step"] == first}
        loss = [e for e in inside if e["channel"] == "loss"]
        if loss:
            hits_loss += 1
            lat_loss.append(min(e["step"] for e in loss) - step)
    med = lambda v: f"{statistics.median(v):g}" if v else "–"
    shown = ", ".join(sorted(names)[:4]) + (" …" if len(names) > 4 else "")
    print(f"| `{f}` | {hits}/{len(seeds)} | {med(lat)} | {hits_loss}/{len(seeds)} | {med(lat_loss)} | {shown} |")
PY

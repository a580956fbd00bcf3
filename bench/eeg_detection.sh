#!/usr/bin/env bash
# bench/eeg_detection.sh [NNFMRI] [SEEDS] [SET] [FAULT_SEEDS] — NN-EEG fault detection.  SET is
# `planted` (default) or `cifar10`; FAULT_SEEDS (default SEEDS) are the seeds of the fault runs.
#   planted: for each seed (default "1 2 3") one clean run and one run per fault kind, each fault
#     starting at step 160 of a 200-step run (`conv3x3:4 relu maxpool2 linear:10`, 1,600 planted
#     images, batch 32, constant lr 0.01, --grid 4x4x2, --eeg-window 32: the conditions of
#     tests/apps/test_eeg_run.cpp).
#   cifar10: `reference` on ../shared/datasets/cifar10-subset with the default recipe (batch 64, 81
#     steps per epoch, cosine schedule), --threads 1; clean runs of 5 epochs (405 steps), fault runs
#     of 3 epochs (243 steps) with each fault from step 200 (events are scored from step 145, band
#     events from about step 161); the lesion is of conv1/grid_4_4_1, bias and dead act on conv1.
#     Runs go in parallel, 3 at a time (each single-threaded, under nice).
# A fault is detected when an event names a step in [STEP, STEP + DURATION]; latency = that step −
# STEP.  Two loss-only baselines: (1) the same event rule on the `loss` channel alone (its events are
# among the run's, threshold 6); (2) the loss at NN-EEG's own false-alarm rate (README "NN-EEG",
# defined before it was run): s(t) = the robust z (imaging::eeg::robust_z: median, 1.4826·MAD) of
# the loss at step t (column 0 of eeg/epoch_NNN.npy) against the loss of the H = 128 steps before t,
# scored from step H + 1 on; an alarm is an onset s(t) ≥ θ_L with s(t − 1) < θ_L (a rise: a fault
# raises the loss); θ_L is the lowest threshold reached by lowering it from +∞ (through the clean
# runs' scores) while the alarms on the clean runs stay no more than NN-EEG's events on the same
# clean runs (lowered further, onsets can become fewer again as the score stays above it).
# False alarms: events of the clean runs (all of them, change and band-power events apart, and the
# loss's), per 10 epochs of the run and per 10 scored epochs (steps from 145 on, 81 or 50 steps an
# epoch).  Prints a Markdown table.  Runs go to a temporary directory (KEEP=1 keeps it).
set -euo pipefail
nnfmri=$(realpath "${1:-build/nnfmri}")
seeds=${2:-"1 2 3"}
set_name=${3:-planted}
fault_seeds=${4:-$seeds}
work=$(mktemp -d /tmp/nnfmri_eeg_detection.XXXXXX)
[ "${KEEP:-0}" = 1 ] && echo "runs in $work" >&2 || trap 'rm -rf "$work"' EXIT
case "$set_name" in
  planted)
    faults=("lr@160:5:10" "labels@160:10" "lesion@160:20:conv1/grid_2_2_1" "noise@160:10:1" "bias@160:10:conv1=0.5" "dead@160:20:conv1")
    common=(--data planted --limit-train 1600 --limit-test 40 --model "conv3x3:4 relu maxpool2 linear:10"
            --batch 32 --lr 0.01 --schedule constant --grid 4x4x2 --eeg --eeg-window 32 --threads 2)
    clean_epochs=4 fault_epochs=4 steps_per_epoch=50 parallel=1 ;;
  cifar10)
    faults=("lr@200:5:10" "labels@200:10" "lesion@200:20:conv1/grid_4_4_1" "noise@200:10:1" "bias@200:10:conv1=0.5" "dead@200:20:conv1")
    common=(--data "cifar10:$(realpath ../shared/datasets/cifar10-subset)" --model reference --eeg --threads 1)
    clean_epochs=5 fault_epochs=3 steps_per_epoch=81 parallel=3 ;;
  *) echo "bench/eeg_detection.sh: SET '$set_name': expected planted or cifar10" >&2; exit 2 ;;
esac
jobs_file=$work/jobs
: > "$jobs_file"
for seed in $seeds; do
  echo "train ${common[*]@Q} --epochs $clean_epochs --seed $seed --out $work/clean_$seed" >> "$jobs_file"
done
for seed in $fault_seeds; do
  for f in "${faults[@]}"; do
    echo "train ${common[*]@Q} --epochs $fault_epochs --seed $seed --inject ${f@Q} --out $work/${f%%@*}_$seed" >> "$jobs_file"
  done
done
# each line: the nnfmri arguments, quoted; run `parallel` at a time, in order
export nnfmri
xargs -P "$parallel" -d '\n' -I{} bash -c 'eval "nice \"$nnfmri\" {}" > /dev/null' < "$jobs_file"
/usr/bin/python3 - "$work" "$seeds" "$fault_seeds" "$clean_epochs" "$steps_per_epoch" "${faults[@]}" <<'PY'
import glob, json, statistics, sys
work, seeds, fault_seeds = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
clean_epochs, steps_per_epoch, faults = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:]
def events(run):
    out = []
    for f in sorted(glob.glob(run + "/eeg/epoch_*.json")):
        out += json.load(open(f))["events"]
    return out
clean = [events(f"{work}/clean_{s}") for s in seeds]
epochs = clean_epochs * len(seeds)
scored = len(seeds) * (clean_epochs * steps_per_epoch - 144) / steps_per_epoch  # steps 145 … end
def rate(pick):
    n = sum(sum(pick(x) for x in e) for e in clean)
    return f"{n} ({10 * n / epochs:.2f} per 10 clean epochs, {10 * n / scored:.2f} per 10 scored epochs)"
print(f"clean runs: {len(seeds)} × {clean_epochs} epochs ({scored:.1f} scored epochs); events: all "
      f"{rate(lambda x: True)}; change events {rate(lambda x: 'band' not in x)}, of which regions "
      f"{rate(lambda x: 'band' not in x and x['channel'] == 'region')}; band-power events "
      f"{rate(lambda x: 'band' in x)}; loss only {rate(lambda x: x['channel'] == 'loss')}")
for s, e in zip(seeds, clean):
    for x in e:
        print(f"  clean seed {s}: step {x['step']} {(x['block'] + '/') if x['block'] else ''}{x['region'] or x['channel']}"
              f" {x.get('band', 'change')} z {x['z']:.2f}")
import numpy as np
H = 128
def loss_scores(run):
    loss = np.concatenate([np.load(f)[:, 0].astype(np.float64) for f in sorted(glob.glob(run + "/eeg/epoch_*.npy"))])
    s = {}
    for t in range(H, len(loss)):  # 0-based index t is step t + 1
        h = loss[t - H:t]
        m = np.median(h)
        mad = max(np.median(np.abs(h - m)), 1e-3 * abs(m) + 1e-12)  # the floor of imaging::eeg::robust_z
        s[t + 1] = (loss[t] - m) / (1.4826 * mad)
    return s
def alarms(scores, theta):
    return [t for t in sorted(scores) if scores[t] >= theta and not (scores.get(t - 1, -np.inf) >= theta)]
clean_scores = [loss_scores(f"{work}/clean_{s}") for s in seeds]
allowed = sum(len(e) for e in clean)  # NN-EEG's events on the clean runs
candidates = sorted({v for sc in clean_scores for v in sc.values()} | {np.inf})
theta_l = np.inf
for th in reversed(candidates):  # lowered from +∞ while the clean alarms stay within NN-EEG's count
    if sum(len(alarms(sc, th)) for sc in clean_scores) > allowed:
        break
    theta_l = th
matched = sum(len(alarms(sc, theta_l)) for sc in clean_scores)
print(f"loss-only at NN-EEG's false-alarm rate: θ_L = {theta_l:.3g}, {matched} alarms on the clean runs "
      f"({10 * matched / epochs:.2f} per 10 clean epochs; NN-EEG {allowed})")
print("| fault | recall NN-EEG | median latency | recall loss-only (θ 6, event rule) | median latency | recall loss-only at NN-EEG's false-alarm rate | median latency | first channels |")
print("|---|---|---|---|---|---|---|---|")
for f in faults:
    kind = f.split("@")[0]
    step, duration = int(f.split("@")[1].split(":")[0]), int(f.split(":")[1])
    hits, lat, hits_loss, lat_loss, names = 0, [], 0, [], set()
    for s in fault_seeds:
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
    hits_m, lat_m = 0, []
    for s in fault_seeds:
        found = [t for t in alarms(loss_scores(f"{work}/{kind}_{s}"), theta_l) if step <= t <= step + duration]
        if found:
            hits_m += 1
            lat_m.append(found[0] - step)
    med = lambda v: f"{statistics.median(v):g}" if v else "–"
    shown = ", ".join(sorted(names)[:4]) + (" …" if len(names) > 4 else "")
    print(f"| `{f}` | {hits}/{len(fault_seeds)} | {med(lat)} | {hits_loss}/{len(fault_seeds)} | {med(lat_loss)} | {hits_m}/{len(fault_seeds)} | {med(lat_m)} | {shown} |")
PY

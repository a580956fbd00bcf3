#!/usr/bin/env python3
"""bench/monitor_metrics.py WORK — the figures of bench/monitor_study.sh from its JSON lines (stdlib only).

AUROC: the probability that a corrupted test image scores above a clean one (ties count one half), per
detector, scores "higher = more abnormal" as monitor.jsonl writes them.  Power: the share of the
corrupted stream's windows that alarm; false alarms: the share of the clean stream's windows that alarm.
Localisation (occlusion): the share of images whose most abnormal region of conv1, of pool1, and of
conv1 and pool1 together (largest |z|, monitor.jsonl "layer_top") overlaps the recorded square.
"""
import json, os, re, sys

BASELINES = ["msp", "energy", "mahalanobis", "knn"]


def read(path):
    images, windows = [], []
    for line in open(path):
        row = json.loads(line)
        (windows if "window" in row else images).append(row)
    return images, windows


def auroc(negative, positive):
    ranked = sorted([(v, 0) for v in negative] + [(v, 1) for v in positive])
    rank_sum, i = 0.0, 0
    while i < len(ranked):  # average ranks over ties
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mean_rank = (i + 1 + j) / 2
        rank_sum += sum(mean_rank for k in range(i, j) if ranked[k][1] == 1)
        i = j
    p, n = len(positive), len(negative)
    return (rank_sum - p * (p + 1) / 2) / (p * n)


def overlaps(box, square):
    top, left, bottom, right = box
    y, x, side = square
    return top < y + side and y < bottom and left < x + side and x < right


def resources(name):
    text = open(f"{work}/{name}.time").read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) / 1024
    out = open(f"{work}/{name}.out").read()
    speed = re.search(r"([\d.]+) images/s", out)
    return rss, float(speed.group(1)) if speed else None


work = sys.argv[1]
clean, clean_windows = read(f"{work}/clean/monitor.jsonl")
OURS = [d for d in ("spatial", "spatial_zeta", "spatial_cov", "spatial_typ", "spatial_knn") if d in clean[0]["scores"]]  # spatial_zeta: profile --zeta
DETECTORS = OURS + BASELINES
print(f"clean test: {len(clean)} images, accuracy {sum(r['label'] == r['prediction'] for r in clean) / len(clean):.3f}, "
      f"{sum(w['alarm'] for w in clean_windows)} of {len(clean_windows)} windows alarm (false alarms)")
print("\n| corruption | severity | accuracy | " + " | ".join(f"AUROC {d}" for d in DETECTORS) + " | best baseline | windows alarming |")
print("|---|---|---|" + "---|" * len(DETECTORS) + "---|---|")
wins = {}
for kind in ["noise", "blur", "contrast", "occlusion"]:
    for severity in [1, 3, 5]:
        shifted, windows = read(f"{work}/{kind}_{severity}/monitor.jsonl")
        a = {d: auroc([r["scores"][d] for r in clean], [r["scores"][d] for r in shifted]) for d in DETECTORS}
        best = max(BASELINES, key=lambda d: a[d])
        wins[(kind, severity)] = ({d: a[d] for d in OURS}, best, a[best])
        accuracy = sum(r["label"] == r["prediction"] for r in shifted) / len(shifted)
        print(f"| {kind} | {severity} | {accuracy:.3f} | " + " | ".join(f"{100 * a[d]:.1f}" for d in DETECTORS) +
              f" | {best} {100 * a[best]:.1f} | {sum(w['alarm'] for w in windows)}/{len(windows)} |")
for ours in OURS:
    for severity in [3, 5]:
        kinds = ["noise", "blur", "contrast", "occlusion"]
        ahead = [k for k in kinds if wins[(k, severity)][0][ours] >= wins[(k, severity)][2]]
        worst = min(100 * (wins[(k, severity)][0][ours] - wins[(k, severity)][2]) for k in kinds)
        print(f"\nseverity {severity}: {ours} >= the best baseline on {len(ahead)} of 4 ({', '.join(ahead) or 'none'}); "
              f"largest shortfall {-worst:.1f} points" if worst < 0 else f"\nseverity {severity}: {ours} >= the best baseline on all 4")
for severity in [1, 3, 5]:
    record = json.load(open(f"{work}/data_occlusion_{severity}/corruption.json"))
    squares = record["occlusions"]["test"]
    shifted, _ = read(f"{work}/occlusion_{severity}/monitor.jsonl")
    # conv1 and pool1; a block whose region box is the whole input cannot localise and is left out
    # (resnet20's pool1 is its global average pooling).
    first = shifted[0]["layer_top"]
    layers = [l for l in ("conv1", "pool1") if l in first and first[l]["box"] != [0, 0, 32, 32]]
    hits = {k: 0 for k in layers + (["conv1+pool1"] if len(layers) == 2 else [])}
    for row, square in zip(shifted, squares):
        tops = row["layer_top"]
        for layer in layers:
            hits[layer] += overlaps(tops[layer]["box"], square)
        if len(layers) == 2:
            both = max((tops["conv1"], tops["pool1"]), key=lambda t: abs(t["z"]))
            hits["conv1+pool1"] += overlaps(both["box"], square)
    # The null: a region drawn uniformly overlaps the square this often (the mean over every conv1 region
    # box: conv1 of `reference` and `resnet20` is 3x3 with padding 1, stride 1, so the 4-row cell [4i, 4i+4) reads [4i-1, 4i+5), clipped).
    span = lambda i: (max(0, 4 * i - 1), min(32, 4 * i + 5))
    boxes = [(span(i)[0], span(j)[0], span(i)[1], span(j)[1]) for i in range(8) for j in range(8)]
    chance = sum(overlaps(b, s) for s in squares for b in boxes) / (len(squares) * len(boxes))
    print(f"\nocclusion severity {severity}: most abnormal region overlaps the square: " +
          ", ".join(f"{k} {100 * v / len(shifted):.1f}%" for k, v in hits.items()) + f" (a random conv1 region: {100 * chance:.1f}%)")
fit_rss, _ = resources("fit")
fit_seconds = re.search(r"fit in ([\d.]+) s", open(f"{work}/fit.out").read()).group(1)
rss, speed = resources("clean")
print(f"\nprofile: fit {fit_seconds} s on 5,170 images, peak RSS {fit_rss:.0f} MiB; "
      f"monitor on the clean test: {speed:.0f} images/s (2 threads), peak RSS {rss:.0f} MiB")
speeds = [resources(f"{k}_{s}")[1] for k in ["noise", "blur", "contrast", "occlusion"] for s in [1, 3, 5]]
print(f"monitor throughput over the 12 corrupted runs: {min(speeds):.0f} to {max(speeds):.0f} images/s")
if os.path.exists(f"{work}/stream.time"):
    stream_rss, stream_speed = resources("stream")
    print(f"monitor on the 6,187-image stream (the subset's training then test images): {stream_speed:.0f} images/s "
          f"(2 threads), peak RSS {stream_rss:.0f} MiB")

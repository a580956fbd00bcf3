#!/usr/bin/env python3
"""bench/monitor_false_alarms.py make WORK SUBSET | report WORK — the many-window false-alarm estimate of
README "Monitoring" (numpy for the draw; the report is stdlib only).

make: WORK/fa_data = a CIFAR-10 folder whose training half (data_batch_1.bin) is the subset's first 2,585
training images (the profile's) and whose test half is W = 500 windows of 100 images, each drawn
uniformly without replacement from the pool (the other 2,585 training images and the 1,017 test images),
independently per window (numpy default_rng(1)); WORK/fa_train and WORK/fa_test: 200 windows each drawn
from one source only (default_rng(2), (3)).  WORK/fa_windows.json records the drawn pool indices.
report: false alarms (windows alarming / W) with 95% Clopper–Pearson intervals, and the power of the
corrupted copies of fa_data's first 100 windows (WORK/fa_KIND_SEVERITY/monitor.jsonl).
"""
import json, math, os, sys

RECORD = 1 + 3072
FIT = 2585
WINDOW = 100


def records(path):
    data = open(path, "rb").read()
    assert len(data) % RECORD == 0, path
    return [data[i:i + RECORD] for i in range(0, len(data), RECORD)]


def make(work, subset):
    import numpy as np
    train = []
    for b in range(1, 6):
        path = f"{subset}/data_batch_{b}.bin"
        if os.path.exists(path):
            train += records(path)
    test = records(f"{subset}/test_batch.bin")
    fit, held_train = train[:FIT], train[FIT:]
    pool = held_train + test  # indices < len(held_train): held-out training images
    meta = open(f"{subset}/batches.meta.txt", "rb").read()
    drawn = {}
    for name, source, windows, seed in (("fa_data", pool, 500, 1), ("fa_train", held_train, 200, 2), ("fa_test", test, 200, 3)):
        rng = np.random.default_rng(seed)
        picks = [rng.choice(len(source), WINDOW, replace=False).tolist() for _ in range(windows)]
        drawn[name] = picks
        os.makedirs(f"{work}/{name}", exist_ok=True)
        open(f"{work}/{name}/data_batch_1.bin", "wb").write(b"".join(fit))
        open(f"{work}/{name}/test_batch.bin", "wb").write(b"".join(source[i] for w in picks for i in w))
        open(f"{work}/{name}/batches.meta.txt", "wb").write(meta)
    json.dump({"fit": FIT, "held_out_train": len(held_train), "test": len(test), "window": WINDOW, "windows": drawn},
              open(f"{work}/fa_windows.json", "w"))


def binom_cdf(k, n, p):  # P(X ≤ k), X ~ Binomial(n, p)
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return sum(math.comb(n, j) * p ** j * (1 - p) ** (n - j) for j in range(k + 1))


def clopper_pearson(k, n, level=0.95):
    tail = (1 - level) / 2

    def crossing(f):  # the p in [0, 1] where the increasing f(p) crosses tail, by bisection
        lo, hi = 0.0, 1.0
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if f(mid) < tail else (lo, mid)
        return (lo + hi) / 2

    lower = 0.0 if k == 0 else crossing(lambda p: 1 - binom_cdf(k - 1, n, p))  # P(X ≥ k) = tail
    upper = 1.0 if k == n else crossing(lambda p: 1 - binom_cdf(k, n, p) - (1 - 2 * tail))  # P(X ≤ k) = tail
    return lower, upper


def alarms(path):
    windows = [json.loads(line) for line in open(path) if '"window"' in line]
    windows = [w for w in windows if "window" in w]
    return sum(bool(w["alarm"]) for w in windows), len(windows)


def report(work):
    print("| stream | windows alarming | rate | 95% Clopper–Pearson |")
    print("|---|---|---|---|")
    for name, label in (("fa_data", "clean: pool (held-out training + test)"), ("fa_train", "clean: held-out training only"),
                        ("fa_test", "clean: test only")):
        k, n = alarms(f"{work}/{name}_mon/monitor.jsonl")
        lo, hi = clopper_pearson(k, n)
        print(f"| {label} | {k}/{n} | {100 * k / n:.2f}% | {100 * lo:.2f}–{100 * hi:.2f}% |")
    for kind in ("noise", "blur", "contrast", "occlusion"):
        for severity in (1, 3, 5):
            path = f"{work}/fa_{kind}_{severity}/monitor.jsonl"
            if not os.path.exists(path):
                continue
            k, n = alarms(path)
            lo, hi = clopper_pearson(k, n)
            print(f"| {kind} {severity} (power) | {k}/{n} | {100 * k / n:.1f}% | {100 * lo:.1f}–{100 * hi:.1f}% |")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2], sys.argv[3])
    else:
        report(sys.argv[2])

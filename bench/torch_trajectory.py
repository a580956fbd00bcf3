#!/usr/bin/python3
"""Replay a finished `nnfmri train --eeg` run step by step in PyTorch and compare the trajectories.

    torch_trajectory.py RUN --data DIR [--nnfmri build/nnfmri] [--float64]

RUN: `nnfmri train --data cifar10:DIR ... --eeg --eeg-window 4 --out RUN` (SGD or Adam, any schedule, any
preset or spec that bench/rebuild_from_npz.py rebuilds; --shards 1).  Nothing is read from nnfmri but its
settings (config.json, run.json) and, to compare at the end, its per-step losses (RUN/eeg, column `loss`),
its final weights (`nnfmri export`) and its test logits (`nnfmri eval --dump`).  Everything nnfmri draws
from its seed is re-derived here with an independent re-implementation of base::Rng (splitmix64):
  init      Rng(seed), layer by layer: a conv's/linear's weights sd·N(0,1) (Box–Muller, one value per two
            uniforms), sd = √(2/fan_in), fan_in = in·kh·kw (kaiming_normal_'s default mode); biases 0; bn γ 1,
            β 0; the last linear's weights then set to 0 (--output-init zero)
  order     Fisher–Yates over 0..N−1 from Rng.derive(seed, 0x5EED, epoch), drawing below(n) … below(2)
  augment   sample at position p of the epoch: Rng.derive(seed, epoch, p): dy, dx = below(9) − 4,
            flip = uniform() < ½; pixel (y, x) = image (y + dy, (flip ? W−1−x : x) + dx), 0 (black) outside,
            then (pixel/255 − mean[c]) / std[c] in float32, mean/std the population ones of the training split
  dropout   one uniform() per element from Rng.derive(seed, 0xD0D0), kept when ≥ p, scaled as torch does
PyTorch then trains with torch.optim.SGD / Adam (coupled L2 weight decay on every parameter), nn.BatchNorm2d's
own statistics and F.cross_entropy (the batch mean, the partial last batch included); the learning rate of
step t is README's schedule (onecycle: torch.optim.lr_scheduler.OneCycleLR with cycle_momentum=False).
--float64 trains PyTorch in double: run both to see how far float32 rounding alone moves the trajectory.
Prints the per-step relative loss difference, each tensor's max|Δ|/max|w| and the eval logits' max|Δ|;
writes RUN/torch_trajectory[_f64].npz (losses and final state) for a float32-vs-float64 comparison.
Run with /usr/bin/python3 (numpy, Debian's python3-torch); not part of `make test`.
"""
import argparse, glob, json, math, os, shutil, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rebuild_from_npz import rebuild  # noqa: E402

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


class Rng:
    """base::Rng (base/rng.h): splitmix64, derive(seed, a, b), uniform, below, normal, shuffle."""
    def __init__(self, seed=0):
        self.s = seed & MASK64

    @staticmethod
    def derive(seed, a, b=0):
        r = Rng(seed ^ ((GOLDEN * (a + 1)) & MASK64))
        v = r.next()  # C++17 sequences the right operand of ^= first
        r.s ^= (v + 0xD1B54A32D192ED03 * (b + 1)) & MASK64
        r.next()
        return r

    def next(self):
        self.s = (self.s + GOLDEN) & MASK64
        z = ((self.s ^ (self.s >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self): return (self.next() >> 11) * (1.0 / 9007199254740992.0)
    def below(self, n): return ((self.next() >> 32) * n) >> 32

    def shuffle(self, v):
        for i in range(len(v), 1, -1):
            j = self.below(i)
            v[i - 1], v[j] = v[j], v[i - 1]

    def uniforms(self, n):  # the next n uniform() at once
        with np.errstate(over="ignore"):
            z = np.uint64(self.s) + np.uint64(GOLDEN) * np.arange(1, n + 1, dtype=np.uint64)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        self.s = (self.s + GOLDEN * n) & MASK64
        return (z >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)

    def normals(self, n):  # the next n normal()
        u = self.uniforms(2 * n)
        return np.sqrt(-2.0 * np.log(np.maximum(u[0::2], 1e-300))) * np.cos(6.283185307179586 * u[1::2])


class MaskDropout(nn.Module):
    """nn.Dropout with nnfmri's mask: keep where the net stream's uniform() ≥ p; torch's 1/(1−p) scaling."""
    def __init__(self, p, stream):
        super().__init__()
        self.p, self.stream = p, stream

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = self.stream.uniforms(x.numel()) >= np.float32(self.p)  # C++ compares the float p in double
        return x * (torch.from_numpy(keep.reshape(x.shape)).to(x.dtype) / (1 - self.p))


def flag(args, name, default=None):
    for a in args:
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return default


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run")
    ap.add_argument("--data", required=True, help="the cifar10 directory RUN was trained on")
    ap.add_argument("--nnfmri", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build", "nnfmri"))
    ap.add_argument("--float64", action="store_true", help="train PyTorch in double")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
    dt = torch.float64 if a.float64 else torch.float32
    cfg = json.load(open(os.path.join(a.run, "config.json")))
    args = json.load(open(os.path.join(a.run, "run.json")))["arguments"]
    seed, B, E = cfg["seed"], cfg["batch"], cfg["epochs"]
    opt, sch, aug = cfg["optimizer"], cfg["schedule"], cfg["augment"]
    if cfg.get("shards", 1) != 1 or flag(args, "--inject"):
        sys.exit("torch_trajectory.py: RUN must be trained with --shards 1 and no --inject")
    tmp = tempfile.mkdtemp(prefix="torch_trajectory.")
    final, dump = os.path.join(tmp, "final.npz"), os.path.join(tmp, "dump.npz")
    subprocess.run([a.nnfmri, "export", os.path.join(a.run, "model.ckpt"), "--npz", final], check=True, stdout=subprocess.DEVNULL)
    limit_test = flag(args, "--limit-test")
    subprocess.run([a.nnfmri, "eval", os.path.join(a.run, "model.ckpt"), "--data", "cifar10:" + a.data, "--dump", dump]
                   + (["--limit-test", limit_test] if limit_test else []), check=True, stdout=subprocess.DEVNULL)

    # data: the first --limit-train records in file order
    files = sorted(glob.glob(os.path.join(a.data, "data_batch_*.bin")))
    records = np.concatenate([np.fromfile(f, np.uint8).reshape(-1, 3073) for f in files])
    limit = flag(args, "--limit-train")
    records = records[:int(limit)] if limit else records
    images, labels = records[:, 1:].reshape(-1, 3, 32, 32), records[:, 0].astype(np.int64)
    N = len(labels)
    pixels = images.transpose(1, 0, 2, 3).reshape(3, -1).astype(np.float64)
    mean, std = (pixels.mean(1) / 255).astype(np.float32), (pixels.std(1) / 255).astype(np.float32)
    print(f"normalisation vs config.json: max|Δmean| {np.abs(mean - np.float32(cfg['normalization']['mean'])).max():.1e}, "
          f"max|Δstd| {np.abs(std - np.float32(cfg['normalization']['std'])).max():.1e} (config.json prints 8 digits)")
    lut = ((np.arange(256, dtype=np.float32)[None, :] / np.float32(255) - mean[:, None]) / std[:, None]).astype(np.float32)

    def batch(idx, epoch, first):
        n, P = len(idx), aug["crop_padding"]
        dy, dx, flip = np.zeros(n, int), np.zeros(n, int), np.zeros(n, bool)
        if aug["enabled"]:
            for i in range(n):
                r = Rng.derive(seed, epoch, first + i)
                dy[i], dx[i] = r.below(2 * P + 1) - P, r.below(2 * P + 1) - P
                flip[i] = aug["flip"] and r.uniform() < 0.5
        padded = np.zeros((n, 3, 32 + 2 * P, 32 + 2 * P), np.uint8)
        padded[:, :, P:P + 32, P:P + 32] = images[idx]
        g = np.arange(32)
        rows, cols = dy[:, None] + g + P, np.where(flip[:, None], 31 - g, g) + dx[:, None] + P
        raw = padded[np.arange(n)[:, None, None, None], np.arange(3)[None, :, None, None],
                     rows[:, None, :, None], cols[:, None, None, :]]
        return torch.from_numpy(lut[np.arange(3)[None, :, None, None], raw]).to(dt), torch.from_numpy(labels[idx])

    # the net: nnfmri's graph from the export's model.json, its start re-derived from the seed
    model_json = final[:-4] + ".model.json"
    layers = json.load(open(model_json))["layers"]
    net = rebuild(final, model_json).to(dt)
    init_rng, start = Rng(seed), {}
    for l in layers:
        if l["kind"] == "conv2d":
            fan = l["in_channels"] * l["kernel"][0] * l["kernel"][1]
            start[l["name"]] = np.float32(math.sqrt(2.0 / fan) * init_rng.normals(l["out_channels"] * fan))
        elif l["kind"] == "linear":
            fan = l["in_features"]
            start[l["name"]] = np.float32(math.sqrt(2.0 / fan) * init_rng.normals(l["out_features"] * fan))
    if cfg["output_init"] == "zero":
        start[[l["name"] for l in layers if l["kind"] == "linear"][-1]][:] = 0
    dropout_stream = Rng.derive(seed, 0xD0D0)
    with torch.no_grad():
        for l in layers:
            key = l["name"].replace(".", "_")
            m = net[key]
            if l["name"] in start:
                m.weight.copy_(torch.from_numpy(start[l["name"]].reshape(m.weight.shape)))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.reset_parameters()  # γ 1, β 0, running mean 0, running var 1
            elif isinstance(m, nn.Dropout):
                net[key] = MaskDropout(m.p, dropout_stream)

    params = list(net.parameters())
    lr = float(np.float32(opt["lr"]))  # nnfmri holds --lr as a float
    if opt["kind"] == "sgd":
        optimizer = torch.optim.SGD(params, lr=lr, momentum=float(np.float32(opt["momentum"])),
                                    weight_decay=float(np.float32(opt["weight_decay"])), nesterov=opt["nesterov"])
    else:  # nn::OptimConfig's betas and eps are torch's defaults
        optimizer = torch.optim.Adam(params, lr=lr, weight_decay=float(np.float32(opt["weight_decay"])))
    steps = (N + B - 1) // B
    total, warm = E * steps, int(np.float32(sch["warmup_epochs"]) * steps)
    onecycle = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total, cycle_momentum=False) \
        if sch["kind"] == "onecycle" else None

    def rate(t):  # README "Training": warm-up (t+1)/W over the first W steps, then the schedule per iteration
        factor = (t + 1) / warm if warm > 0 and t < warm else 1.0
        if sch["kind"] == "constant":
            return lr * factor
        if sch["kind"] == "step":
            return lr * factor * float(np.float32(sch["gamma"])) ** (t // steps // sch["step_size"])
        pct = 0.0 if t < warm or total - warm <= 0 else (t - warm) / (total - warm)
        return lr * factor * 0.5 * (1 + math.cos(math.pi * pct))

    losses, t = [], 0
    for epoch in range(1, E + 1):
        order = list(range(N))
        Rng.derive(seed, 0x5EED, epoch).shuffle(order)
        order = np.array(order)
        for s in range(steps):
            idx = order[s * B:(s + 1) * B]
            x, y = batch(idx, epoch, s * B)
            net.train()
            if onecycle is None:
                for g in optimizer.param_groups:
                    g["lr"] = rate(t)
            loss = F.cross_entropy(net(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if onecycle is not None:
                onecycle.step()
            losses.append(loss.item())
            t += 1
    losses = np.array(losses)
    state = {k: v.detach().double().numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    np.savez(os.path.join(a.run, "torch_trajectory" + ("_f64" if a.float64 else "") + ".npz"), losses=losses, **state)

    rows = sorted(glob.glob(os.path.join(a.run, "eeg", "epoch_*.npy")))
    theirs = np.concatenate([np.load(f)[:, 0] for f in rows]).astype(np.float64) if rows else None
    print(f"{t} steps ({steps} per epoch, the last of {N - (steps - 1) * B} images), PyTorch {'float64' if a.float64 else 'float32'}")
    if theirs is not None and len(theirs) == len(losses):
        rel = np.abs(losses - theirs) / np.abs(theirs)
        print(f"per-step loss: max relative difference {rel.max():.1e} (step {rel.argmax() + 1}); by step:")
        print("  " + " ".join(f"{v:.0e}" for v in rel))
    else:
        print("per-step loss: RUN has no eeg rows of every step (train it with --eeg)")
    mine = np.load(final)
    worst = (0.0, "")
    for name in mine.files:
        key = name.rsplit(".", 1)[0].replace(".", "_") + "." + name.rsplit(".", 1)[1]
        w = mine[name].astype(np.float64)
        rel = np.abs(w - state[key].reshape(w.shape)).max() / max(np.abs(w).max(), 1e-30)
        worst = max(worst, (rel, name))
        print(f"  {name:28s} max|Δ|/max|w| {rel:.1e}")
    print(f"final tensors: worst max|Δ|/max|w| {worst[0]:.1e} ({worst[1]})")
    d = np.load(dump)
    shutil.rmtree(tmp)
    net.eval()
    with torch.no_grad():
        logits = net(torch.from_numpy(d["input"]).to(dt)).double().numpy()
    print(f"test logits: max|Δ| {np.abs(logits - d['logits']).max():.1e} (largest |logit| {np.abs(d['logits']).max():.2f}), "
          f"argmax agreement {np.mean(logits.argmax(1) == d['logits'].argmax(1)):.4f} over {len(logits)} images")


if __name__ == "__main__":
    main()

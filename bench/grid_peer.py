#!/usr/bin/python3
"""bench/grid_peer.py W.npz DUMP.npz GRID.json SECONDS [THREADS] — nnfmri's grid stage against a PyTorch
capture of every block's activations (what TorchLens and forward hooks give a PyTorch user), summarised into
the same region statistics.

The peer: PyTorch 1.13 (the forward of `bench/rebuild_from_npz.py`), a forward hook on each imaged block's
output layer (README, *The spec language*: a block's last layer that is not a shortcut's), batches of 250
images, and per image and region g (the file's grid, README *Region grid*) from the region's units u:
m_g = mean|u|, v_g = var(u) (population), phi_g = m_g + lambda·ln(v_g + epsilon) and the share of |u| > 1e-6;
then over the images: density (mean phi), variance, mean_abs, active_fraction, and information_bits
(H(Y) − H(Y | Q), Q the octile of phi's rank among the images: 8·rank // E, ties to the smallest rank).
TorchLens itself is not packaged by Debian and PyPI does not answer here; it keeps every layer's
activations of the whole batch and is slower than hooks, so hooks are the peer's better case.

GRID.json is `nnfmri analyze CKPT --data SAME --stages grid --out DIR`'s (its first `eval_samples` test
images, the images of DUMP.npz = `nnfmri eval CKPT --data SAME --dump`); SECONDS is that run's evaluation
pass plus grid stage (the two times it prints). Prints the largest relative difference of each statistic
against GRID.json, PyTorch's wall seconds for forward + statistics, and the ratio.
"""
import json, os, sys, time
import numpy as np, torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rebuild_from_npz import block_outputs, cuts, rebuild  # noqa: E402

def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__.split("\n")[0])
    npz, dump, G = sys.argv[1], np.load(sys.argv[2]), json.load(open(sys.argv[3]))
    nn_seconds = float(sys.argv[4])
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    E = G["eval_samples"]; lam, eps = G["settings"]["lambda"], G["settings"]["epsilon"]
    net = rebuild(npz, npz[:-4] + ".model.json")
    graph, mods = net.graph, list(net.values())
    out_layer = block_outputs(graph)
    blocks = list(G["layers"])
    x = torch.from_numpy(dump["input"][:E]); y = dump["labels"][:E].astype(int)
    stats = {b: [] for b in blocks}  # per batch: (m, v, active) each (N, R)
    def hook_for(b):
        gh, gw, gc = G["layers"][b]["grid"]
        def hook(_module, _inputs, a):
            a = a.reshape(a.shape[0], -1, 1, 1) if a.dim() == 2 else a
            N, C, H, W = a.shape
            if H % gh == 0 and W % gw == 0 and C % gc == 0:  # equal regions: statistics over the reshaped region axes
                r, d = a.reshape(N, gc, C // gc, gh, H // gh, gw, W // gw), (2, 4, 6)  # reduce in place of a copy
                ordered = lambda t: t.permute(0, 2, 3, 1).reshape(N, -1)  # (N, gc, gh, gw) → region order
                absolute = r.abs()
                m, v, act = ordered(absolute.mean(d)), ordered(r.var(d, unbiased=False)), ordered((absolute > 1e-6).float().mean(d))
            else:  # unequal cuts: region by region
                parts = [a[:, k0:k1, r0:r1, c0:c1].reshape(N, -1) for r0, r1 in cuts(H, gh) for c0, c1 in cuts(W, gw)
                         for k0, k1 in cuts(C, gc)]
                m = torch.stack([q.abs().mean(1) for q in parts], 1)
                v = torch.stack([q.var(1, unbiased=False) for q in parts], 1)
                act = torch.stack([(q.abs() > 1e-6).float().mean(1) for q in parts], 1)
            m, v, act = m.double(), v.double(), act.double()
            stats[b].append((m, v, act))
        return hook
    handles = [mods[out_layer[b]].register_forward_hook(hook_for(b)) for b in blocks]
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(0, E, 250): net(x[i:i + 250])
        mine = {}
        for b in blocks:
            m, v, act = (torch.cat([s[j] for s in stats[b]]).numpy() for j in range(3))
            phi = m + lam * np.log(v + eps)
            def H(lab):
                p = np.bincount(lab) / len(lab); p = p[p > 0]; return -(p * np.log2(p)).sum()
            ranks = np.sort(phi, 0)
            bits = []
            for g in range(phi.shape[1]):
                q = 8 * np.searchsorted(ranks[:, g], phi[:, g], side="left") // E
                bits.append(H(y) - sum((q == t).mean() * H(y[q == t]) for t in np.unique(q)))
            mine[b] = dict(density=phi.mean(0), variance=v.mean(0), mean_abs=m.mean(0), active_fraction=act.mean(0),
                           information_bits=np.array(bits))
    seconds = time.perf_counter() - start
    for h in handles: h.remove()
    worst = {}
    for b in blocks:
        regions = G["layers"][b]["regions"]
        for k, vals in mine[b].items():
            theirs = np.array([regions[key][k] for key in regions])
            rel = np.abs(vals - theirs) / np.maximum(np.abs(theirs), 1e-6)
            worst[k] = max(worst.get(k, 0.0), float(rel.max()))
    print(f"{len(blocks)} blocks, {E} images; largest relative difference to {sys.argv[3]}: " +
          ", ".join(f"{k} {v:.2g}" for k, v in worst.items()))
    print(f"PyTorch forward + statistics {seconds:.2f} s ({torch.get_num_threads()} threads); nnfmri {nn_seconds:.2f} s: "
          f"nnfmri {seconds / nn_seconds:.2f}x")

if __name__ == "__main__":
    main()

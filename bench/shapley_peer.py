#!/usr/bin/python3
"""bench/shapley_peer.py W.npz DUMP.npz ZETA.json [BLOCK [THREADS]] — nnfmri's ζ walk against Captum-style
permutation sampling in PyTorch, on the same game and the same images.

The peer is what Captum's `ShapleyValueSampling` does (captum.attr; Štrumbelj & Kononenko 2010): for each
sampled permutation of the features (here BLOCK's regions), start from the baseline (every region lesioned)
and add the regions one at a time in that order, each coalition's value by a dense forward of the rest of
the net; a region's marginal is the value's change when it joins; a permutation's n + 1 coalitions go in one
batch (Captum's `perturbations_per_eval`; its default is 1, one coalition per forward). Captum itself is not
packaged by Debian and PyPI does not answer here, so this is the algorithm written out in PyTorch 1.13 (the
forward of `bench/rebuild_from_npz.py`; residual units too: the layers after BLOCK run on the coalitions, a
shortcut from before BLOCK read as it is).

The game is nnfmri's (README, *ζ-scores*): BLOCK's output cut by the file's grid, a lesioned region's
units set to 0 (`--zeta-ablation zero`), the value log softmax(logits)[true class] (`--zeta-value logprob`),
on the images ZETA.json lists (`eval_indices`; DUMP.npz is `nnfmri eval CKPT --data SAME --dump`), each
with as many permutations as nnfmri walked per image (`permutations`), so both do the same number of
coalition values: images × permutations × (regions + 1) here, images × permutations × regions steps of the
walker (plus its all-lesioned start).

Prints: the two games' v(all) and v(∅) (means over the images; the same game gives them to float rounding),
the agreement of the two estimates of φ (their Pearson r over regions, and the share of regions whose
difference is within 1.96·√(se₁² + se₂²), se from each side's own permutation spread; about 95% when both
estimate the same φ), and the time: PyTorch's wall seconds for its walks against nnfmri's `timing.shapley`
of BLOCK, each as coalition values per second, and their ratio. nnfmri's side is as measured by the
analyze run that wrote ZETA.json (run it with the same thread count, alone on the machine).
"""
import json, os, sys, time
import numpy as np, torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rebuild_from_npz import block_outputs, cuts, rebuild  # noqa: E402

def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__.split("\n")[0])
    npz, dump, zeta = sys.argv[1], np.load(sys.argv[2]), json.load(open(sys.argv[3]))
    block = sys.argv[4] if len(sys.argv) > 4 else "pool1"
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    L = zeta["layers"][block]
    if L["method"] != "shapley" or L["value_function"] != "logprob" or L["ablation"] != "zero":
        sys.exit(f"{sys.argv[3]}: {block} is not a shapley/logprob/zero-ablation game")
    net = rebuild(npz, npz[:-4] + ".model.json")
    graph = net.graph
    cut = block_outputs(graph)[block]  # BLOCK's output layer
    idx = np.array(L["eval_indices"]); P = int(L["permutations"])
    x = torch.from_numpy(dump["input"][idx]); y = torch.from_numpy(dump["labels"][idx].astype(np.int64))
    prefix = []  # every layer up to BLOCK's output, for all K images: what a coalition does not change
    with torch.no_grad():
        for j in range(cut + 1): prefix.append(net.layer(j, prefix, x))
    act = prefix[cut]
    def head(i, batch):  # the layers after BLOCK on a batch of image i's coalitions; a residual unit's shortcut
        outs = [o[i:i + 1] for o in prefix[:cut]] + [batch]  # may read a layer before BLOCK (broadcast)
        for j in range(cut + 1, len(graph)): outs.append(net.layer(j, outs, None))
        return outs[-1]
    K, C, H, W = act.shape
    gh, gw, gc = L["grid"]
    masks = []  # one (C, H, W) 0/1 mask per region, in nnfmri's order ((i·GW + j)·GC + k)
    for r0, r1 in cuts(H, gh):
        for c0, c1 in cuts(W, gw):
            for k0, k1 in cuts(C, gc):
                m = torch.zeros(C, H, W); m[k0:k1, r0:r1, c0:c1] = 1; masks.append(m)
    masks = torch.stack(masks); n = len(masks)
    keys = [f"grid_{i+1}_{j+1}_{k+1}" for i in range(gh) for j in range(gw) for k in range(gc)]
    rng = np.random.default_rng(1)
    phi = np.zeros((K, P, n)); v_all = np.zeros(K); v_none = np.zeros(K)
    start = time.perf_counter()
    with torch.no_grad():
        for i in range(K):
            for p in range(P):
                order = rng.permutation(n)
                present = torch.cumsum(masks[order], 0).clamp_(max=1)  # coalition after each addition
                batch = act[i] * torch.cat([torch.zeros(1, C, H, W), present])  # n + 1 coalitions
                v = torch.log_softmax(head(i, batch), 1)[:, y[i]].double().numpy()
                phi[i, p, order] = np.diff(v)
                v_none[i], v_all[i] = v[0], v[-1]
    seconds = time.perf_counter() - start
    mine = phi.mean((0, 1))
    se_mine = np.sqrt(phi.var(1, ddof=1).sum(0) / P) / K  # each image's spread over its own walks
    theirs = np.array([L["regions"][k]["shapley"] for k in keys])
    se_theirs = np.array([(L["regions"][k]["shapley_ci"][1] - L["regions"][k]["shapley_ci"][0]) / (2 * 1.96) for k in keys])
    within = np.abs(mine - theirs) <= 1.96 * np.sqrt(se_mine**2 + se_theirs**2)
    print(f"{block}: {K} images, {n} regions, {P} permutations per image")
    print(f"v(all): PyTorch {v_all.mean():.7f}, nnfmri {L['v_all']:.7f}; v(none): PyTorch {v_none.mean():.7f}, nnfmri {L['v_none']:.7f}")
    print(f"phi: Pearson r {np.corrcoef(mine, theirs)[0, 1]:.4f}; within 1.96 combined se: {within.mean():.3f} of regions "
          f"(largest |phi| {np.abs(theirs).max():.4g})")
    nn_seconds = L["timing"]["shapley"]
    torch_rate = K * P * (n + 1) / seconds
    nn_rate = K * P * n / nn_seconds
    print(f"PyTorch {seconds:.2f} s ({torch_rate:,.0f} coalition values/s, {torch.get_num_threads()} threads); "
          f"nnfmri {nn_seconds:.2f} s ({nn_rate:,.0f}/s): nnfmri {nn_rate / torch_rate:.1f}x")

if __name__ == "__main__":
    main()

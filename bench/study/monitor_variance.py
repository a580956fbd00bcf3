"""bench/study/monitor_variance.py W.npz CLEAN.npz SHIFTED.npz... — does a region's spread, not its level, see noise and blur?

An exploration for issue 17 (bench/README.md, 2026-12-05), written before any of its numbers was seen, run
on data that is not the study's evidence (`reference` 15 epochs, `corrupt --seed 1`). Per image and region g
of every block at 8x8x4 (bench/imaging_recompute.py's float64 forward and regions), from the region's units u:
m_g = mean|u| and lv_g = ln(var(u) + 1e-6), the two parts of the grid's phi_g = m_g + 0.1 lv_g. The first 500
images of CLEAN fit each part's mean and sd per region; images 500.. of CLEAN and of each SHIFTED (the same
images corrupted: `nnfmri eval --dump` of `corrupt`'s output) are scored. Higher = more abnormal:
  S_phi  (1/L) sum_l mean_g z(phi_g)^2   (the monitor's `spatial`, as a check)
  S_m    the same of z(m_g)               S_lv  the same of z(lv_g)
  B_lv   per block, |mean_g z(lv_g)| in units of its sd over the fit images (a shift of every region's spread)
The blocks with no region of sd > 1e-6 (the output's one-unit regions for lv) are left out of the means.
Prints each score's AUROC (%) of clean vs shifted, and B_lv's per block.
"""
import sys
import numpy as np
sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/..")
import imaging_recompute as R

def parts(x):
    outs = [R.forward(x[i:i + 128]) for i in range(0, len(x), 128)]
    res = {}
    for b in R.blocks:
        a = np.concatenate([o[R.block_out[b]] for o in outs])
        u = [a[:, cs, rs, ws].reshape(len(a), -1) for _, cs, rs, ws in R.regions(b, (8, 8, 4))]
        res[b] = (np.stack([np.abs(v).mean(1) for v in u], 1), np.stack([np.log(v.var(1) + 1e-6) for v in u], 1))
    return res

def auroc(neg, pos):  # Mann-Whitney, ties at their mean rank
    s = np.concatenate([neg, pos]); order = np.argsort(s, kind="stable"); ranks = np.empty(len(s)); i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[order[j + 1]] == s[order[i]]: j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1; i = j + 1
    return 100 * (ranks[len(neg):].sum() - len(pos) * (len(pos) + 1) / 2) / (len(neg) * len(pos))

R.load(sys.argv[1], sys.argv[2])
fit = parts(R.x_all[:500]); clean = parts(R.x_all[500:])
def scores(st):
    S = {k: [] for k in ("S_phi", "S_m", "S_lv")}; B = {}
    for b in R.blocks:
        (m, lv), (mf, lvf) = st[b], fit[b]
        def z(v, vf):
            mu, sd = vf.mean(0), vf.std(0); keep = sd > 1e-6
            return (v[:, keep] - mu[keep]) / sd[keep] if keep.any() else None
        for k, (v, vf) in (("S_phi", (m + 0.1 * lv, mf + 0.1 * lvf)), ("S_m", (m, mf)), ("S_lv", (lv, lvf))):
            zz = z(v, vf)
            if zz is not None: S[k].append((zz ** 2).mean(1))
        zl = z(lv, lvf)
        if zl is not None: B[b] = np.abs(zl.mean(1)) / z(lvf, lvf).mean(1).std()
    return {k: np.mean(v, 0) for k, v in S.items()}, B
sc0, b0 = scores(clean)
for path in sys.argv[3:]:
    d = np.load(path); sc, b = scores(parts(d["input"].astype(np.float64)[500:]))
    print(f"{path.rsplit('/', 1)[-1]:18s}", " ".join(f"{k} {auroc(sc0[k], sc[k]):5.1f}" for k in sc),
          "| B_lv", " ".join(f"{k}:{auroc(b0[k], b[k]):.0f}" for k in b), flush=True)

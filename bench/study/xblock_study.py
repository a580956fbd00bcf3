#!/usr/bin/python3
"""bench/study/xblock_study.py WORK — `spatial_xb`, the cross-block score pre-registered in bench/README.md
("Issue 17: spatial_xb"), measured on the directory bench/monitor_study.sh leaves (WORK/ref/model.ckpt,
WORK/ref.profile, WORK/clean/monitor.jsonl, WORK/data_<kind>_<severity>/, WORK/<kind>_<severity>/monitor.jsonl).

spatial_xb(x) = (u(x) − ū)ᵀ P (u(x) − ū), u(x) = (m_1(x), …, m_L(x)), m_l(x) the mean of z_g(x) over the regions
G_l of block l (σ_g > 1e-6), z from the profile's own μ and σ; ū and P = (C + δ'I)⁻¹ from the profile's fit
images, C their Ledoit–Wolf covariance (spatial_cov's formula, bench/monitor_recompute.py).  φ comes from the
float64 forward of bench/imaging_recompute.py on the net `nnfmri export --npz` writes.

Prints, per corruption and severity, the AUROC (clean test vs corrupted test) of spatial_xb, of spatial_typ
recomputed here (a check of the pipeline: it must equal monitor.jsonl's to rounding), and of every detector
in monitor.jsonl, and the decision rule's tally.  Needs numpy (/usr/bin/python3)."""
import json, os, subprocess, sys
import numpy as np
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import imaging_recompute as IR  # noqa: E402
import monitor_recompute as MR  # noqa: E402
import monitor_metrics as MM  # noqa: E402

KINDS, SEVERITIES = ["noise", "blur", "contrast", "occlusion"], [1, 3, 5]


def block_means(head, T, phi):
    Z, G = MR.zmaps(head, T, phi)
    used = [L["name"] for L in head["layers"] if G[L["name"]].any()]
    return np.stack([Z[b][:, G[b]].mean(1) for b in used], 1), used


def main(work):
    here = os.path.dirname(os.path.abspath(__file__))
    nnfmri = os.path.join(here, "..", "..", "build", "nnfmri")
    npz = os.path.join(work, "xb_model.npz")
    if not os.path.exists(npz):
        subprocess.run([nnfmri, "export", os.path.join(work, "ref", "model.ckpt"), "--npz", npz], check=True, stdout=subprocess.DEVNULL)
    IR.model = json.load(open(npz[:-4] + ".model.json"))
    IR.W = {k: v.astype(np.float64) for k, v in np.load(npz).items()}
    IR.layers = IR.model["layers"]; IR.find_blocks()
    head, T = MR.read_profile(os.path.join(work, "ref.profile"))
    spec, lam, eps = head["grid"], head["lambda"], head["epsilon"]
    files = [f["path"] for f in head["about"]["data"]["files"] if os.path.basename(f["path"]).startswith("data_batch_")]
    _, pix = MR.read_cifar(files, head["images"])
    phi, _, _, _ = MR.features(pix, spec, lam, eps)
    U, used = block_means(head, T, phi)
    centre, C = MR.ledoit_wolf(U)
    P = MR.ridge_inverse(C)
    print(f"fit: {len(U)} images, blocks {used}; Ledoit-Wolf covariance of the block means, condition {np.linalg.cond(C):.3g}")

    def score(test_file):
        _, pix = MR.read_cifar([test_file], 10 ** 9)
        phi, h, logits, _ = MR.features(pix, spec, lam, eps)
        u, _ = block_means(head, T, phi)
        c = u - centre
        S, _, _ = MR.scores(head, T, phi, h, logits)
        return np.einsum("np,pq,nq->n", c, P, c), S["spatial_typ"]

    subset = os.path.dirname(files[0])
    clean_xb, clean_typ = score(os.path.join(subset, "test_batch.bin"))
    clean_rows, _ = MM.read(os.path.join(work, "clean", "monitor.jsonl"))
    typ_file = np.array([r["scores"]["spatial_typ"] for r in clean_rows])
    print(f"clean: {len(clean_xb)} images; spatial_typ recomputed vs monitor.jsonl: max |Δ| {np.abs(clean_typ - typ_file).max():.3g}")
    detectors = ["spatial_typ"] + MM.BASELINES
    print("| corruption | sev | **spatial_xb** | spatial_typ (recomputed) | " + " | ".join(detectors) + " | best baseline |")
    print("|---|---|---|---|" + "---|" * len(detectors) + "---|")
    tally = {3: [], 5: []}
    for kind in KINDS:
        for sev in SEVERITIES:
            xb, typ = score(os.path.join(work, f"data_{kind}_{sev}", "test_batch.bin"))
            rows, _ = MM.read(os.path.join(work, f"{kind}_{sev}", "monitor.jsonl"))
            a = {d: 100 * MM.auroc([r["scores"][d] for r in clean_rows], [r["scores"][d] for r in rows]) for d in detectors}
            best = max(MM.BASELINES, key=lambda d: a[d])
            a_xb, a_typ = 100 * MM.auroc(list(clean_xb), list(xb)), 100 * MM.auroc(list(clean_typ), list(typ))
            print(f"| {kind} | {sev} | **{a_xb:.1f}** | {a_typ:.1f} | " + " | ".join(f"{a[d]:.1f}" for d in detectors) + f" | {best} {a[best]:.1f} |")
            if sev in tally: tally[sev].append((kind, a_xb - a[best], a["spatial_typ"] - a[best]))
    for sev, cells in tally.items():
        ahead = [k for k, d, _ in cells if d >= 0]
        print(f"severity {sev}: spatial_xb >= the best baseline on {len(ahead)} of 4 ({', '.join(ahead) or 'none'}), "
              f"largest shortfall {max(0, -min(d for _, d, _ in cells)):.1f}; spatial_typ on "
              f"{sum(t >= 0 for _, _, t in cells)} of 4, largest shortfall {max(0, -min(t for _, _, t in cells)):.1f}")


if __name__ == "__main__":
    if len(sys.argv) != 2: raise SystemExit(__doc__)
    main(sys.argv[1])

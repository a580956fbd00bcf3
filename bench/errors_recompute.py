#!/usr/bin/python3
"""Recompute nnfmri's error-analysis outputs in numpy (float64) from README's definitions alone ("Error analysis",
"ζ-scores", "Region grid", "Tractography"), with the forward and the exact Shapley table of
bench/imaging_recompute.py:

  errors_recompute.py W.npz DUMP.npz errors ANALYSIS_DIR          analyze --errors --zeta-method exact (any value)
  errors_recompute.py W.npz DUMP.npz lesion LESION.json           eval --lesion … --lesion-json (DUMP over the same images)
  errors_recompute.py W.npz DUMP.npz saliency SALIENCY.json       build/study/saliency_dump's output (PyTorch autograd)
  errors_recompute.py W.npz DUMP.npz tract ANALYSIS_DIR            tract.json's five chains; grid.json's information_null_bits
  errors_recompute.py W.npz DUMP.npz report ANALYSIS_DIR           report.html's error data (after `nnfmri report DIR`)

errors: top-level `errors` (labels, predicted, p(true), p(predicted), accuracy, the gallery's choice and
pixels) and per block per_image (= φ_g(x) by enumeration), per_class, correct, misclassified, delta (Welch
interval, p, BH, failure_regions) and confusions; the pixel projection M_x of README's "Per-image maps on
the pixels" is computed from per_image and grid.json's receptive_field, its mass checked against Σ_g φ_g(x).
lesion: the regions a pattern hits, accuracy and per-class accuracy before and after, the three confusion
matrices (zero or mean ablation, the mean over the dumped images). saliency: Grad-CAM's region shares and map,
gradient × activation (target: the true class's logit). tract: every chain of `network.chains` (a k-best
search over all paths, exhaustive) with its score; information_null_bits against the distribution of the
same statistic over 1,000 numpy label shuffles, and exactly: README's seeded Fisher–Yates (splitmix64, seed
0x6E756C6C) reimplemented here.
Prints max |Δ| and the scale per quantity; `!!` lines are disagreements beyond rounding (exit 1)."""
import json, math, re, sys, os
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imaging_recompute as IR  # noqa: E402

cmp, tq, tcdf2, bh = IR.cmp, IR.tq, IR.tcdf2, IR.bh
say = IR.print


def cmp_scaled(what, mine, theirs, rel=5e-6, floor=2e-5):
    """cmp plus the scale s (max |json value|). Tolerance: 6 significant digits (5e-6 relative) plus the net's
    float32 forwards, floor·max(s, 1) absolute (φ of one image is a difference of log-probabilities, ~1e-6)."""
    mine, theirs = np.asarray(mine, float), np.asarray(theirs, float)
    sc = np.nanmax(np.abs(theirs)) if theirs.size else 0
    cmp(what + f" (scale {sc:.3g})", mine, theirs)
    d = np.abs(mine - theirs); tol = rel * np.abs(theirs) + floor * max(sc, 1.0)
    if d.size and (d > tol).any():
        i = int(np.argmax(d - tol)); say(f"  !! {what}: beyond 6-digit rounding at {i}: mine {mine.flat[i]!r} json {theirs.flat[i]!r}")


def softmax(z):
    z = z.reshape(len(z), -1); e = np.exp(z - z.max(1, keepdims=True)); return e / e.sum(1, keepdims=True)


def group(m):
    """φ(G) and the 95% interval of one group: mean of units, S²/|G|, t with |G|−1 df (None for one image)."""
    k = m.shape[1]; phi = m.mean(1)
    if k < 2: return phi, [None] * len(phi), [None] * len(phi)
    se = np.sqrt(m.var(1, ddof=1) / k); t = tq(0.975, k - 1)
    return phi, list(phi - t * se), list(phi + t * se)


def nums(a):
    return np.array([np.nan if v is None else v for v in a], float)


def same_nulls(what, mine, theirs):
    if [v is None for v in mine] != [v is None for v in theirs]: say(f"  !! {what}: null pattern differs")


# ---------------------------------------------------------------- analyze --errors
def check_errors(adir):
    Z = json.load(open(adir + "/zeta.json")); st = Z["settings"]
    assert st.get("errors"), "zeta.json has no errors (analyze --errors)"
    exact = st["method"] == "exact"  # shapley: the file's m_xg, checked by per-image efficiency, then aggregated
    IR.ABLATION = st["ablation"]; IR.VALUE_NAME = st["value_function"]
    spec = st["grid"]; E = Z["errors"]
    idx = np.array(E["eval_indices"]); xs, ys = IR.x_all[idx], IR.y_all[idx]
    base = IR.forward(xs); logits = base[-1].reshape(len(xs), -1); p = softmax(logits)
    pred = logits.argmax(1)  # first maximum
    say(f"zeta.json errors: value {IR.VALUE_NAME}, ablation {IR.ABLATION}, {len(idx)} images, grid {spec}")
    if list(E["labels"]) != list(ys): say("  !! errors.labels differ")
    if list(E["predicted"]) != list(pred): say(f"  !! errors.predicted differ: mine {list(pred)} json {E['predicted']}")
    cmp("errors.probability_true", p[np.arange(len(ys)), ys], E["probability_true"])
    cmp("errors.probability_predicted", p[np.arange(len(ys)), pred], E["probability_predicted"])
    cmp("errors.accuracy", [np.mean(pred == ys)], [E["accuracy"]])
    # gallery (README: per class 2 most confident correct, 2 worst mistakes; then each cell's ≤ 4 worst not listed yet)
    pt = p[np.arange(len(ys)), ys]; K = logits.shape[1]; slots = np.arange(len(ys))
    gal = []
    for c in range(K):
        cor = [s for s in slots if ys[s] == c and pred[s] == c]; mis = [s for s in slots if ys[s] == c and pred[s] != c]
        gal += [(int(s), "confident") for s in sorted(cor, key=lambda s: (-pt[s], s))[:2]]
        gal += [(int(s), "mistake") for s in sorted(mis, key=lambda s: (pt[s], s))[:2]]
    listed = {s for s, _ in gal}
    for a in range(K):
        for b in range(K):
            if a == b: continue
            cell = sorted([s for s in slots if ys[s] == a and pred[s] == b], key=lambda s: (pt[s], s))[:4]
            gal += [(int(s), "cell") for s in cell if s not in listed]; listed |= set(cell)
    theirs = [(g["slot"], g["kind"]) for g in E["gallery"]]
    if theirs != gal:
        say(f"  !! gallery: mine {gal}\n     json {theirs}" if sorted(theirs) != sorted(gal) else "  !! gallery: same entries, other order")
    else: cmp("errors.gallery (slots and kinds, exact)", [0], [0])
    norm = IR.model.get("normalization") or IR.model.get("norm")
    for g in E["gallery"]:
        s = g["slot"]
        if g["index"] != idx[s] or g["label"] != ys[s] or g["predicted"] != pred[s] or abs(g["probability_true"] - pt[s]) > 1e-5:
            say(f"  !! gallery slot {s}: fields differ")
    if norm:
        mean = np.array(norm["mean"]).reshape(-1, 1, 1); std = np.array(norm["std"]).reshape(-1, 1, 1)
        px = np.array([np.frombuffer(bytes(g["pixels"]), np.uint8) if isinstance(g["pixels"], list) else np.frombuffer(__import__("base64").b64decode(g["pixels"]), np.uint8) for g in E["gallery"]], float)
        mine = np.array([((xs[g["slot"]] * std + mean) * 255).reshape(-1) for g in E["gallery"]])
        cmp("errors.gallery pixels (bytes vs denormalised input)", mine, px)
    # per block
    G = json.load(open(adir + "/grid.json")) if os.path.exists(adir + "/grid.json") else None
    for b, L in Z["layers"].items():
        Eb = L["errors"]; kimg = Eb["images"]
        if exact:
            V, n = IR.value_table(b, spec, xs[:kimg], ys[:kimg], [o[:kimg] for o in base])
            m = IR.shapley_from_table(V, n)  # (n, K) φ_g(x)
            cmp_scaled(f"{b}.per_image", m.T, Eb["per_image"])
        else:  # each walk telescopes: Σ_g m_xg = v_x(all) − v_x(∅) per image
            m = np.array(Eb["per_image"], float).T; n = m.shape[0]; Lb = IR.block_out[b]
            if kimg != L["eval_samples"]: say(f"  !! {b}: errors.images {kimg} but the layer's eval_samples {L['eval_samples']}")
            bb = [o[:kimg] for o in base]; a0 = bb[Lb]
            # mean ablation: the unit's mean over the whole drawn sample, also for a block cut to its first K (README ζ-scores)
            al = np.zeros_like(a0) if IR.ABLATION == "zero" else np.broadcast_to(base[Lb].mean(0, keepdims=True), a0.shape).copy()
            vn = IR.forward(xs[:kimg], Lb + 1, bb[:Lb] + [al])[-1] if Lb + 1 < len(IR.layers) else al
            cmp_scaled(f"{b}.per-image efficiency Σ_g m_xg vs v_x(all) − v_x(∅) (shapley, K={kimg})", m.sum(0),
                       IR.VALUE(bb[-1], ys[:kimg]) - IR.VALUE(vn, ys[:kimg]), floor=1e-4)
        y_, pr = ys[:kimg], pred[:kimg]
        rows = []
        for c in range(K):
            sel = y_ == c
            if sel.any(): rows.append((c, int(sel.sum())) + group(m[:, sel]))
        if [(r["class"], r["images"]) for r in Eb["per_class"]] != [(r[0], r[1]) for r in rows]:
            say(f"  !! {b} per_class classes/images differ")
        else:
            for (c, k, ph, lo, hi), r in zip(rows, Eb["per_class"]):
                same_nulls(f"{b}.per_class {c}", lo, r["ci_low"])
            cmp_scaled(f"{b}.per_class phi", [r[2] for r in rows], [r["phi"] for r in Eb["per_class"]])
            cmp_scaled(f"{b}.per_class ci", [nums(r[3]) for r in rows if r[1] > 1] + [nums(r[4]) for r in rows if r[1] > 1],
                       [nums(r["ci_low"]) for r in Eb["per_class"] if r["images"] > 1] + [nums(r["ci_high"]) for r in Eb["per_class"] if r["images"] > 1])
        ok = pr == y_
        for name, sel in (("correct", ok), ("misclassified", ~ok)):
            J = Eb[name]
            if not sel.any():
                if J is not None: say(f"  !! {b}.{name} should be null")
                continue
            ph, lo, hi = group(m[:, sel])
            if J["images"] != int(sel.sum()): say(f"  !! {b}.{name}.images")
            cmp_scaled(f"{b}.{name} phi", ph, J["phi"]); same_nulls(f"{b}.{name}", lo, J["ci_low"])
            if sel.sum() > 1: cmp_scaled(f"{b}.{name} ci", [lo, hi], [J["ci_low"], J["ci_high"]])
        D = Eb["delta"]
        if ok.all() or (~ok).all():
            if D is not None: say(f"  !! {b}.delta should be null")
        else:
            a, c_ = m[:, ~ok], m[:, ok]; na, nc = a.shape[1], c_.shape[1]
            dphi = a.mean(1) - c_.mean(1)
            if na < 2 or nc < 2:
                lo = hi = [None] * n; pv = np.ones(n)
            else:
                va, vc = a.var(1, ddof=1) / na, c_.var(1, ddof=1) / nc; Vd = va + vc
                lo, hi, pv = [], [], []
                for g in range(n):
                    if Vd[g] == 0:
                        lo.append(dphi[g]); hi.append(dphi[g]); pv.append(0.0 if dphi[g] != 0 else 1.0); continue
                    nu = Vd[g] ** 2 / (va[g] ** 2 / (na - 1) + vc[g] ** 2 / (nc - 1)); h = tq(0.975, nu) * math.sqrt(Vd[g])
                    lo.append(dphi[g] - h); hi.append(dphi[g] + h); pv.append(tcdf2(dphi[g] / math.sqrt(Vd[g]), nu))
                pv = np.array(pv)
            padj = IR.bh(pv)
            cmp_scaled(f"{b}.delta phi", dphi, D["phi"]); same_nulls(f"{b}.delta", lo, D["ci_low"])
            if lo[0] is not None: cmp_scaled(f"{b}.delta ci", [lo, hi], [D["ci_low"], D["ci_high"]])
            cmp_scaled(f"{b}.delta p_value", pv, D["p_value"]); cmp_scaled(f"{b}.delta p_adjusted", padj, D["p_adjusted"])
            keys = [r[0] for r in IR.regions(b, spec)]
            fr = [keys[g] for g in sorted((g for g in range(n) if padj[g] < 0.01), key=lambda g: (-abs(dphi[g]), g))]
            if fr != D["failure_regions"]: say(f"  !! {b} failure_regions mine {fr} json {D['failure_regions']}")
            else: say(f"    {b}: failure_regions {fr} (n_mis {na}, n_cor {nc}) agree")
        cells = []
        for A in range(K):
            for B in range(K):
                sel = (y_ == A) & (pr == B)
                if A != B and sel.any(): cells.append((A, B, int(sel.sum())) + group(m[:, sel]))
        if [(c["true"], c["predicted"], c["images"]) for c in Eb["confusions"]] != [c[:3] for c in cells]:
            say(f"  !! {b} confusion cells differ")
        else:
            cmp_scaled(f"{b}.confusions phi", [c[3] for c in cells], [c["phi"] for c in Eb["confusions"]])
            for c, J in zip(cells, Eb["confusions"]): same_nulls(f"{b}.confusion {c[:2]}", c[4], J["ci_low"])
            big = [(c, J) for c, J in zip(cells, Eb["confusions"]) if c[2] > 1]
            if big: cmp_scaled(f"{b}.confusions ci", [[c[4], c[5]] for c, _ in big], [[J["ci_low"], J["ci_high"]] for _, J in big])
        # pixel projection M_x (README: φ_g(x)/|RF(g)| over the cell's receptive field), mass kept
        if G is not None and "receptive_field" in G["layers"][b]:
            rf = G["layers"][b]["receptive_field"]; GH, GW, GC = G["layers"][b]["grid"]
            H, Wd = IR.x_all.shape[2:]
            M = np.zeros((kimg, H, Wd))
            for g, (key, *_ ) in enumerate(IR.regions(b, spec)):
                i, j, _k = (int(t) - 1 for t in key.split("_")[1:])
                (r0, r1), (c0, c1) = rf["rows"][i], rf["cols"][j]
                M[:, r0:r1, c0:c1] += m[g][:, None, None] / ((r1 - r0) * (c1 - c0))
            cmp(f"{b}.pixel map mass Σ_p M_x(p) vs Σ_g φ_g(x)", M.sum((1, 2)), m.sum(0))


# ---------------------------------------------------------------- eval --lesion --lesion-json
def check_lesion(path):
    J = json.load(open(path)); b = J["block"]; spec = J["grid"]; N = J["images"]
    xs, ys = IR.x_all[:N], IR.y_all[:N]; assert len(xs) == N, "dump holds fewer images than the lesion"
    regs = IR.regions(b, spec)
    pats = J["lesion"].split(":", 1)[1].split(",")
    rx = [re.compile("^" + ".*".join(map(re.escape, q.split("*"))) + "$") for q in pats]
    hit = [k for k, *_ in regs if any(r.match(k) for r in rx)]
    if hit != J["regions"]: say(f"  !! {b}: regions hit mine {hit} json {J['regions']}")
    base = IR.forward(xs); L = IR.block_out[b]; a = base[L]; al = a.copy()
    for k, cs, rs, ws in regs:
        if k in hit: al[:, cs, rs, ws] = 0.0 if J["ablation"] == "zero" else a.mean(0, keepdims=True)[:, cs, rs, ws]
    after = IR.forward(xs, L + 1, list(base[:L]) + [al])[-1] if L + 1 < len(IR.layers) else al
    K = len(J["classes"])
    def conf(z):
        pr = z.reshape(N, -1).argmax(1); Cm = np.zeros((K, K), int); np.add.at(Cm, (ys, pr), 1); return Cm, np.mean(pr == ys)
    Cb, ab = conf(base[-1]); Ca, aa = conf(after)
    say(f"lesion {J['lesion']} ({J['ablation']}, {N} images): regions {len(hit)}, accuracy {ab:.4f} -> {aa:.4f}")
    cmp(f"lesion accuracy before/after/change (scale {max(ab, aa):.3g})", [ab, aa, aa - ab],
        [J["accuracy"]["before"], J["accuracy"]["after"], J["accuracy"]["change"]])
    for name, mine in (("before", Cb), ("after", Ca), ("change", Ca - Cb)):
        if not np.array_equal(mine, np.array(J["confusion"][name])): say(f"  !! confusion {name}: mine {mine.tolist()} json {J['confusion'][name]}")
        else: cmp(f"lesion confusion.{name} (counts, exact)", mine, J["confusion"][name])
    pc = [(c, int((ys == c).sum()), Cb[c, c] / (ys == c).sum(), Ca[c, c] / (ys == c).sum()) for c in range(K) if (ys == c).any()]
    if [(r["class"], r["images"]) for r in J["per_class"]] != [r[:2] for r in pc]: say("  !! per_class classes differ")
    else: cmp("lesion per_class before/after", [r[2:] for r in pc], [[r["before"], r["after"]] for r in J["per_class"]])


# ---------------------------------------------------------------- Grad-CAM, gradient × activation (PyTorch autograd, float64)
def check_saliency(path):
    import torch
    S = json.load(open(path)); b = S["block"]; spec = S["grid"]; idx = np.array(S["indices"])
    xs, ys = IR.x_all[idx], IR.y_all[idx]
    logits, leaf = IR.torch_forward(xs, b)
    yc = logits.flatten(1)[torch.arange(len(ys)), torch.from_numpy(ys)]
    yc.sum().backward()
    A, dA = leaf.detach().numpy(), leaf.grad.numpy()
    alpha = dA.mean((2, 3))  # (N, C): α_k = (1/HW) Σ_ij ∂y^c/∂A^k_ij
    contrib = alpha[:, :, None, None] * A  # α_k A^k_ij
    cam = np.maximum(contrib.sum(1), 0).reshape(len(xs), -1)
    gc = np.array([[contrib[i, cs, rs, ws].sum() for _, cs, rs, ws in IR.regions(b, spec)] for i in range(len(xs))])
    gxa = np.array([[(A * dA)[i, cs, rs, ws].sum() for _, cs, rs, ws in IR.regions(b, spec)] for i in range(len(xs))])
    say(f"saliency: block {b}, grid {spec}, {len(xs)} images")
    for name, mine in (("gradcam", gc), ("grad_times_activation", gxa), ("gradcam_map", cam)):
        theirs = np.array(S[name]).reshape(mine.shape)
        cmp(f"{b}.{name} (scale {np.abs(theirs).max():.3g})", mine, theirs)
        d = np.abs(mine - theirs).max(); sc = np.abs(theirs).max()
        if d > 1e-4 * sc + 1e-9: say(f"  !! {b}.{name}: max |Δ| {d:.3g} beyond float32 rounding of scale {sc:.3g}")
    # the projection onto the pixels (README "Per-image maps on the pixels") of the file's own region values
    if "gradcam_pixels" in S:
        theirs_g = np.array(S["gradcam"]); H, Wd = IR.x_all.shape[2:]; Lb = IR.block_out[b]
        C_, Hb, Wb = IR.layers[Lb]["output_shape"]; GH, GW, _ = IR.grid_of(b, spec)
        rs = [IR.input_span(Lb, 0, r0, r1) for r0, r1 in IR.cuts(Hb, GH)]
        cs_ = [IR.input_span(Lb, 1, c0, c1) for c0, c1 in IR.cuts(Wb, GW)]
        M = np.zeros((len(xs), H, Wd))
        for g, (key, *_ ) in enumerate(IR.regions(b, spec)):
            i, j, _k = (int(t) - 1 for t in key.split("_")[1:])
            (r0, r1), (c0, c1) = rs[i], cs_[j]
            M[:, r0:r1, c0:c1] += theirs_g[:, g][:, None, None] / ((r1 - r0) * (c1 - c0))
        P = np.array(S["gradcam_pixels"]).reshape(M.shape)
        cmp(f"{b}.project_to_pixels (scale {np.abs(P).max():.3g})", M, P)
        if np.abs(M - P).max() > 1e-9 * max(np.abs(P).max(), 1): say(f"  !! {b}: project_to_pixels differs")
        cmp(f"{b}.project_to_pixels mass vs Σ_g", P.sum((1, 2)), theirs_g.sum(1))


# ---------------------------------------------------------------- tract.json chains 1–5, grid.json information_null_bits
def splitmix_shuffle(v, seed):
    """base::Rng(seed).shuffle: splitmix64; Fisher–Yates drawing below(n), below(n−1), …, below(2),
    below(k) = ((next() >> 32) · k) >> 32."""
    M = (1 << 64) - 1; state = seed; out = list(v)
    def nxt():
        nonlocal state
        state = (state + 0x9E3779B97F4A7C15) & M; z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return z ^ (z >> 31)
    for i in range(len(out), 1, -1):
        j = ((nxt() >> 32) * i) >> 32
        out[i - 1], out[j] = out[j], out[i - 1]
    return np.array(out)

def check_tract_chains(adir):
    T = json.load(open(adir + "/tract.json")); spec = T["settings"]["grid"]; E = T["eval_samples"]
    recomputed = IR.check_tract(adir + "/tract.json")  # every pair's C (numpy) and the top chain
    regs = {b: [r[0] for r in IR.regions(b, spec)] for b in IR.blocks}
    pairC = {ab: (C, C.sum()) for ab, C in recomputed.items()}  # the chains from the recomputed flows
    k = len(T["network"]["chains"])
    best = {(IR.blocks[0], r): [(0.0, ((IR.blocks[0], r),))] for r in range(len(regs[IR.blocks[0]]))}
    for b in IR.blocks[1:]:
        for ib in range(len(regs[b])):
            cand = []
            for (A_, B_), (C, tot) in pairC.items():
                if B_ != b: continue
                for ia in range(len(regs[A_])):
                    if C[ia, ib] > 0:
                        cand += [(s + math.log(C[ia, ib] / tot), p + ((b, ib),)) for s, p in best.get((A_, ia), [])]
            if cand: best[(b, ib)] = sorted(cand, key=lambda t: -t[0])[:max(k, 5)]
    last = IR.blocks[-1]
    allp = sorted((t for r in range(len(regs[last])) for t in best.get((last, r), [])), key=lambda t: -t[0])[:k]
    mine = [[(bb, regs[bb][r]) for bb, r in p] for _, p in allp]
    theirs = [[(x["layer"], x["region"]) for x in ch["regions"]] for ch in T["network"]["chains"]]
    cmp(f"network.chains[0..{k - 1}].score (scale {max(abs(c['score']) for c in T['network']['chains']):.3g})",
        [s for s, _ in allp], [c["score"] for c in T["network"]["chains"]])
    if mine != theirs:
        sc = [s for s, _ in allp]
        ties = any(abs(sc[i] - sc[i + 1]) < 1e-9 for i in range(len(sc) - 1))
        say(f"  !! chains differ{' (score ties: order may be free)' if ties else ''}: mine {mine}\n     json {theirs}")
    else: say(f"    chains 1–{k} agree, paths exactly")
    G = json.load(open(adir + "/grid.json")); spec = G["settings"]["grid"]; Eg = G["eval_samples"]
    lam, eps = G["settings"]["lambda"], G["settings"]["epsilon"]
    x, y = IR.x_all[:Eg], IR.y_all[:Eg]; outs = IR.forward(x); rng = np.random.default_rng(0)
    perms = [rng.permutation(Eg) for _ in range(1000)]
    def H_(lab): p = np.bincount(lab) / len(lab); p = p[p > 0]; return -(p * np.log2(p)).sum()
    ys = splitmix_shuffle(y, 0x6E756C6C)  # README: Fisher–Yates with base::Rng (splitmix64) seeded 0x6E756C6C
    qs, outside, mine, theirs = [], [], [], []
    for b in IR.blocks:
        a = outs[IR.block_out[b]]
        for key, cs, rs, ws in IR.regions(b, spec):
            u = a[:, cs, rs, ws].reshape(Eg, -1)
            phi = np.abs(u).mean(1) + lam * np.log(u.var(1) + eps)
            q = (8 * np.searchsorted(np.sort(phi), phi, side="left")) // Eg
            def info(lab): return max(0.0, H_(lab) - sum((q == t).mean() * H_(lab[q == t]) for t in np.unique(q)))
            null = np.array([info(y[pp]) for pp in perms])
            v = G["layers"][b]["regions"][key].get("information_null_bits")
            if v is None: say(f"  !! {b}.{key}: no information_null_bits"); continue
            # the file's value must be one of the values a permutation can give: within the null's range
            qs.append(np.mean(null <= v + 1e-12))
            if not (null.min() - 1e-9 <= v <= H_(y) + 1e-9): outside.append((b, key, v, null.min()))
            mine.append(info(ys)); theirs.append(v)  # and exactly the seeded shuffle's value
    qs = np.array(qs)
    mine, theirs = np.array(mine), np.array(theirs); off = np.abs(mine - theirs) > 1e-6
    cmp("information_null_bits, the seeded shuffle (bits)", mine, theirs)
    if off.any(): say(f"  ({off.sum()} of {off.size} regions differ beyond 1e-6: a bin edge between float32 and float64 densities)")
    say(f"  information_null_bits: {len(qs)} regions; quantile in its own shuffle null: mean {qs.mean():.3f}, "
        f"deciles {np.round(np.quantile(qs, [.1, .5, .9]), 3).tolist()} (uniform ~ 0.1/0.5/0.9)")
    if outside: say(f"  !! information_null_bits below every shuffle or above H(Y): {outside[:4]}")


# ---------------------------------------------------------------- report.html's error-analysis data
def check_report(adir):
    """The page data of `nnfmri report ADIR` against zeta.json (its per_image checked by `errors`): per layer the
    class maps and their top 5, each confusion cell's ≤ 5 most negative φ (< 0 only), each example's φ summed over
    the channel groups of each cell; the examples (each cell's ≤ 4 lowest p(true), gallery order)."""
    Z = json.load(open(adir + "/zeta.json")); E = Z["errors"]; spec = Z["settings"]["grid"]
    h = open(adir + "/report.html").read()
    i = h.index('id="report-data">') + len('id="report-data">'); D = json.loads(h[i:h.index("</script>", i)])
    ep = D["epochs"][-1]; names = [l["name"] for l in D["layers"]]
    say(f"report.html: epoch {ep['epoch']}, {len(names)} layers")
    ex = [g for g in E["gallery"] if g["kind"] in ("mistake", "cell")]
    mine_ex = [(g["slot"], g["label"], g["predicted"]) for g in ex]
    theirs_ex = [(x["slot"], x["label"], x["predicted"]) for x in ep["errors"]["examples"]]
    if mine_ex != theirs_ex: say(f"  !! examples: mine {mine_ex}\n     page {theirs_ex}")
    else: cmp("page examples p_true (4 digits)", [g["probability_true"] for g in ex], [x["p_true"] for x in ep["errors"]["examples"]])
    rnd = 5e-4  # the page writes 4 significant digits
    for name, PL in zip(names, ep["layers"]):
        Eb = Z["layers"][name]["errors"]; P = PL["errors"]; regs = IR.regions(name, spec)
        cls = [(r["class"], r["images"], np.array(r["phi"])) for r in Eb["per_class"]]
        if [(c, k) for c, k, _ in cls] != [(r["class"], r["images"]) for r in P["classes"]]: say(f"  !! {name}: page classes differ"); continue
        bad = 0
        for (c, k, ph), r in zip(cls, P["classes"]):
            top = sorted(range(len(ph)), key=lambda g: (-ph[g], g))[:5]
            if np.abs(np.array(r["map"]) - ph).max() > rnd * max(np.abs(ph).max(), 1e-9): bad += 1
            if [round(float(ph[g]), 12) for g in top] != [round(float(ph[g]), 12) for g in r["regions"]]: bad += 1; say(f"  !! {name} class {c}: top 5 mine {top} page {r['regions']}")
        cells = [(c["true"], c["predicted"], c["images"], np.array(c["phi"])) for c in Eb["confusions"]]
        if [(a, b, k) for a, b, k, _ in cells] != [(r["true"], r["predicted"], r["images"]) for r in P["confusions"]]: say(f"  !! {name}: page cells differ"); continue
        for (a, b, k, ph), r in zip(cells, P["confusions"]):
            neg = sorted((g for g in range(len(ph)) if ph[g] < 0), key=lambda g: (ph[g], g))[:5]
            if [ph[g] for g in neg] != [ph[g] for g in r["regions"]]: bad += 1; say(f"  !! {name} cell {a}->{b}: mine {neg} page {r['regions']}")
            elif neg and np.abs(ph[neg] - np.array(r["phi"])).max() > rnd * np.abs(ph[neg]).max(): bad += 1
        GH, GW, GC = IR.grid_of(name, spec); m = np.array(Eb["per_image"]); K = Eb["images"]
        errs = []
        for g, cellv in zip(ex, P["example_cells"]):
            if g["slot"] >= K:
                if cellv is not None: bad += 1
                continue
            mine = m[g["slot"]].reshape(GH * GW, GC).sum(1)
            errs.append(np.abs(mine - np.array(cellv)).max() / max(np.abs(mine).max(), 1e-12))
        if errs and max(errs) > rnd: bad += 1
        say(f"  {name:8s} classes {len(cls)}, cells {len(cells)}, example_cells {len(errs)} (max rel {max(errs) if errs else 0:.2g}): "
            f"{'agree' if not bad else '!! ' + str(bad) + ' differ'}")
        if bad: IR.DISAGREE[0] += 1


if __name__ == "__main__":
    npz, dump, what, target = sys.argv[1:5]
    IR.load(npz, dump)
    {"errors": check_errors, "lesion": check_lesion, "saliency": check_saliency, "tract": check_tract_chains, "report": check_report}[what](target)
    worst = max(IR.report, key=lambda r: r[1]) if IR.report else None
    say("largest |Δ|:", worst)
    say(f"{IR.DISAGREE[0]} disagreement(s) beyond float rounding")
    sys.exit(1 if IR.DISAGREE[0] else 0)

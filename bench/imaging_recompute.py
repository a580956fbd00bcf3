#!/usr/bin/python3
"""Recompute nnfmri's imaging numbers of an analysed checkpoint in numpy (float64) from README's definitions
alone (Imaging, Region grid, ζ-scores, Two intervals, Critical regions, Tractography, Residual networks),
on any net export's model.json describes (chains, batch norm, residual units with identity, option A and
option B shortcuts, max/average/global pools):

  imaging_recompute.py W.npz DUMP.npz ANALYSIS_DIR [--check grid,zeta,tract] [--blocks conv1,res4,...]
                       [--tract-pairs layer_0_to_1,...] [--taylor 0|1]

W.npz beside W.model.json (`nnfmri export CKPT --npz W.npz`); DUMP.npz from `nnfmri eval CKPT --data D
--limit-test E --dump DUMP.npz` with E ≥ the analysis's eval_samples (it gives the normalised inputs and
labels); ANALYSIS_DIR from `nnfmri analyze CKPT --data D --out DIR`, with `--zeta-method exact` (grids of
≤ 16 regions per block) for φ, the intervals, p-values, ζ, robust scores and both critical lists; with
`shapley` only v(all), v(∅), leave-one-out lesions and efficiency (Σφ = v(all) − v(∅)) are checked.
Values: logprob, accuracy, margin, confusion:A:B; ablation zero or mean. Taylor terms need PyTorch
(autograd in float64; skipped without it). tract.json: every pair's C_{A→B}, connection_strength,
connected_pairs, pathway_efficiency, critical_pathways, path_strength and the top chain (exhaustive DP).
Prints per quantity the largest absolute and relative difference; lines starting `!!` are disagreements
that are not float rounding (lists, keys, structure): exit 1 if there is one."""
import json, sys, math
import numpy as np
try:
    import mpmath  # the Student t distribution's p-values (regularised incomplete beta)
except ImportError:
    sys.exit("imaging_recompute.py: needs mpmath (Debian: apt-get install python3-mpmath), not among the Makefile's packages")
try:
    import torch  # noqa: F401  (Taylor terms only)
    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False

def load(npz_path, dump_path):
    """Reads the exported net and the dump into this module's globals (also for `import imaging_recompute`)."""
    global model, W, dump, layers, x_all, y_all
    model = json.load(open(npz_path[:-4] + ".model.json"))
    W = {k: v.astype(np.float64) for k, v in np.load(npz_path).items()}
    dump = np.load(dump_path)
    layers = model["layers"]
    x_all = dump["input"].astype(np.float64)
    y_all = dump["labels"].astype(int)
    find_blocks()

# ---------------------------------------------------------------- forward (numpy, float64)
def conv(x, w, b, stride, pad):
    N, C, H, Wd = x.shape
    O, _, KH, KW = w.shape
    ph, pw = (pad, pad) if np.isscalar(pad) else pad
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    OH = (H + 2 * ph - KH) // stride + 1
    OW = (Wd + 2 * pw - KW) // stride + 1
    cols = np.empty((N, C, KH, KW, OH, OW))
    for ky in range(KH):
        for kx in range(KW):
            cols[:, :, ky, kx] = xp[:, :, ky:ky + stride * OH:stride, kx:kx + stride * OW:stride]
    out = np.einsum("ncijhw,ocij->nohw", cols, w, optimize=True)
    if b is not None: out += b[None, :, None, None]
    return out

def pool(x, k, s, kind):
    N, C, H, Wd = x.shape
    OH, OW = (H - k) // s + 1, (Wd - k) // s + 1
    st = np.stack([x[:, :, ky:ky + s * OH:s, kx:kx + s * OW:s] for ky in range(k) for kx in range(k)], 0)
    return st.max(0) if kind == "max" else st.mean(0)

def layer_fn(l, y, sc=None):
    k, n = l["kind"], l["name"]
    if k == "conv2d":
        return conv(y, W[n + ".weight"], W.get(n + ".bias"), l["stride"], l["padding"])
    if k == "batchnorm2d":
        g, b, m, v = (W[n + "." + s] for s in ("weight", "bias", "running_mean", "running_var"))
        sh = (1, -1) + (1,) * (y.ndim - 2)
        return (y - m.reshape(sh)) / np.sqrt(v.reshape(sh) + l["eps"]) * g.reshape(sh) + b.reshape(sh)
    if k == "relu": return np.maximum(y, 0)
    if k == "dropout": return y
    if k == "maxpool": return pool(y, l["kernel"], l["stride"], "max")
    if k == "avgpool": return pool(y, l["kernel"], l["stride"], "avg")
    if k == "gap": return y.mean((2, 3), keepdims=True)
    if k == "linear":
        out = y.reshape(len(y), -1) @ W[n + ".weight"].T + W[n + ".bias"]
        return out.reshape(len(y), -1, 1, 1)
    if k == "add": return y + sc
    if k == "pad_shortcut":
        s = l["stride"]
        return np.pad(y[:, :, ::s, ::s], ((0, 0), (l["pad_front"], l["pad_back"]), (0, 0), (0, 0)))
    raise SystemExit("unknown layer kind " + k)

def forward(x, start=0, outs=None):
    """All layers' outputs; with start > 0, outs[:start] are kept and layers start.. recomputed."""
    outs = list(outs[:start]) if outs is not None else []
    read = lambda i: x if i < 0 else outs[i]
    for i in range(start, len(layers)):
        l = layers[i]
        outs.append(layer_fn(l, read(l.get("input", i - 1)), read(l["shortcut"]) if "shortcut" in l else None))
    return outs

# ---------------------------------------------------------------- blocks (README: The spec language)
def block_of(l):
    n = l["name"]
    if l["kind"] == "batchnorm2d" and "." not in n:  # bnK: the block of the layer it reads
        return block_of(layers[l["input"]])
    return n.split(".")[0]
shortcut_layer = lambda l: l["name"].split(".")[-1] in ("pad", "proj", "proj_bn")
def find_blocks():
    global blocks, block_layers, block_out, block_main
    blocks, block_layers = [], {}
    for i, l in enumerate(layers):
        b = block_of(l)
        if b not in block_layers: blocks.append(b); block_layers[b] = []
        block_layers[b].append(i)
    block_out = {b: max(i for i in ls if not shortcut_layer(layers[i])) for b, ls in block_layers.items()}
    block_main = {b: min(i for i in ls if not shortcut_layer(layers[i])) for b, ls in block_layers.items()}
    print("blocks:", " ".join(f"{b}[{layers[block_out[b]]['name']}]" for b in blocks))

def cuts(n, g): return [(i * n // g, (i + 1) * n // g) for i in range(g)]
def grid_of(b, spec):
    C, H, Wd = layers[block_out[b]]["output_shape"]
    if b == blocks[-1]: return 1, 1, C
    return min(spec[0], H), min(spec[1], Wd), min(spec[2], C)
def regions(b, spec):
    """[(key, channel slice, row slice, col slice)] in region order r = ((i-1)GW + (j-1))GC + (k-1)."""
    C, H, Wd = layers[block_out[b]]["output_shape"]
    GH, GW, GC = grid_of(b, spec)
    out = []
    for i, (r0, r1) in enumerate(cuts(H, GH)):
        for j, (c0, c1) in enumerate(cuts(Wd, GW)):
            for k, (k0, k1) in enumerate(cuts(C, GC)):
                out.append((f"grid_{i+1}_{j+1}_{k+1}", slice(k0, k1), slice(r0, r1), slice(c0, c1)))
    return out

report = []
_print = print
DISAGREE = [0]
def print(*a, **k):  # noqa: A001  counts the `!!` lines
    if a and isinstance(a[0], str) and a[0].lstrip().startswith("!!"): DISAGREE[0] += 1
    _print(*a, **k)
def cmp(what, mine, theirs, rel_floor=1e-12):
    mine, theirs = np.asarray(mine, float), np.asarray(theirs, float)
    d = np.abs(mine - theirs)
    rel = d / np.maximum(np.abs(theirs), rel_floor)
    report.append((what, d.max() if d.size else 0, rel.max() if d.size else 0, mine.size))
    print(f"  {what:46s} n={mine.size:5d}  max|Δ| {d.max() if d.size else 0:.3g}  max rel {rel.max() if d.size else 0:.3g}")

def input_span(li, axis, o0, o1):
    """Input pixel range [first, last+1) that outputs [o0, o1) of layer li read, along every path."""
    spans = {li: (o0, o1)}; lo, hi = 10**9, -1
    for i in range(li, -1, -1):
        if i not in spans: continue
        a0, a1 = spans.pop(i); l = layers[i]
        ins = [l.get("input", i - 1)] + ([l["shortcut"]] if "shortcut" in l else [])
        ish = l["input_shape"]; n_in = ish[1 + axis] if len(ish) == 3 else 1
        k = l["kind"]
        if k in ("conv2d", "maxpool", "avgpool"):
            K = l["kernel"][axis] if isinstance(l["kernel"], list) else l["kernel"]; S = l["stride"]
            P = (l.get("padding", 0) if np.isscalar(l.get("padding", 0)) else l["padding"][axis])
            r = (max(0, a0 * S - P), min(n_in, (a1 - 1) * S - P + K))
        elif k in ("gap", "linear"): r = (0, n_in)
        elif k == "pad_shortcut": S = l["stride"]; r = (a0 * S, min(n_in, (a1 - 1) * S + 1))
        else: r = (a0, a1)
        for j in ins:
            if j < 0: lo, hi = min(lo, r[0]), max(hi, r[1]); continue
            if j in spans: spans[j] = (min(spans[j][0], r[0]), max(spans[j][1], r[1]))
            else: spans[j] = r
    return lo, hi

# ---------------------------------------------------------------- grid.json
def check_grid(path):
    G = json.load(open(path))
    E = G["eval_samples"]; spec = G["settings"]["grid"]; lam, eps = G["settings"]["lambda"], G["settings"]["epsilon"]
    x, y = x_all[:E], y_all[:E]
    outs = forward(x)
    print(f"grid.json: {E} images, grid {spec}")
    assert list(G["layers"]) == blocks, (list(G["layers"]), blocks)
    for b in blocks:
        a = outs[block_out[b]]
        L = G["layers"][b]
        C, H, Wd = layers[block_out[b]]["output_shape"]
        assert L["shape"] == [H, Wd, C] and L["grid"] == list(grid_of(b, spec)), (b, L["shape"], L["grid"])
        mine = {k: [] for k in ("density", "variance", "mean_abs", "active_fraction", "information_bits", "activation_count")}
        theirs = {k: [] for k in mine}
        for key, cs, rs, ws in regions(b, spec):
            u = a[:, cs, rs, ws].reshape(E, -1)
            m = np.abs(u).mean(1); v = u.var(1); phi = m + lam * np.log(v + eps)
            ranks = np.empty(E, int)  # 0-based ascending rank, ties take the smallest rank
            srt = np.sort(phi)
            ranks = np.searchsorted(srt, phi, side="left")
            q = (8 * ranks) // E
            def H_(lab): p = np.bincount(lab) / len(lab); p = p[p > 0]; return -(p * np.log2(p)).sum()
            HYQ = sum((q == t).mean() * H_(y[q == t]) for t in np.unique(q))
            vals = dict(density=phi.mean(), variance=v.mean(), mean_abs=m.mean(), active_fraction=(np.abs(u) > 1e-6).mean(),
                        information_bits=H_(y) - HYQ, activation_count=u.shape[1])
            for k in mine: mine[k].append(vals[k]); theirs[k].append(L["regions"][key][k])
        for k in mine: cmp(f"{b}.{k}", mine[k], theirs[k])
        if "receptive_field" in L:
            C_, H_, W_ = layers[block_out[b]]["output_shape"]; GH, GW, _ = grid_of(b, spec)
            rf = {"rows": [list(input_span(block_out[b], 0, r0, r1)) for r0, r1 in cuts(H_, GH)],
                  "cols": [list(input_span(block_out[b], 1, c0, c1)) for c0, c1 in cuts(W_, GW)]}
            if rf != L["receptive_field"]: print(f"  !! {b} receptive_field mine {rf} json {L['receptive_field']}")
            else: cmp(f"{b}.receptive_field (exact)", [0], [0])
        cov = np.mean(np.array(mine["active_fraction"]) >= 0.05)
        cmp(f"{b}.coverage", [cov], [L["coverage"]])

# ---------------------------------------------------------------- zeta.json (exact)
def tcdf2(t, df):  # two-sided P(|T| >= |t|)
    if not np.isfinite(t): return 0.0
    return float(mpmath.betainc(df / 2, 0.5, 0, df / (df + t * t), regularized=True))
def tq(p, df):  # upper quantile by bisection on the two-sided tail
    lo, hi = 0.0, 1.0
    while tcdf2(hi, df) > 2 * (1 - p): hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if tcdf2(mid, df) > 2 * (1 - p): lo = mid
        else: hi = mid
    return (lo + hi) / 2
def bh(p):
    p = np.asarray(p); n = len(p); o = np.argsort(p, kind="stable"); adj = np.empty(n)
    run = 1.0
    for r in range(n - 1, -1, -1):
        run = min(run, p[o[r]] * n / (r + 1)); adj[o[r]] = run
    return adj

def logprob(logits, y):
    z = logits.reshape(len(logits), -1)
    z = z - z.max(1, keepdims=True)
    return z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))

VALUE_NAME = "logprob"
ABLATION = "zero"
def VALUE(logits, ys):
    z = logits.reshape(len(logits), -1)
    if VALUE_NAME == "logprob": return logprob(logits, ys)
    if VALUE_NAME == "accuracy": return (z.argmax(1) == ys).astype(float)
    if VALUE_NAME == "margin":
        zy = z[np.arange(len(ys)), ys]; zo = z.copy(); zo[np.arange(len(ys)), ys] = -np.inf
        return zy - zo.max(1)
    if VALUE_NAME.startswith("confusion:"):
        A, B = map(int, VALUE_NAME.split(":")[1:]); return z[:, B] - z[:, A]
    raise SystemExit(VALUE_NAME)

def value_table(b, spec, xs, ys, base_outs):
    """v_x(S) for every coalition S (bit s of the index = region s present), per image: (2^n, N)."""
    regs = regions(b, spec); n = len(regs); L = block_out[b]
    a = base_outs[L]
    V = np.empty((1 << n, len(xs)))
    for S in range(1 << n):
        al = a.copy()
        for s, (_, cs, rs, ws) in enumerate(regs):
            if not (S >> s) & 1: al[:, cs, rs, ws] = 0.0 if ABLATION == "zero" else a.mean(0, keepdims=True)[:, cs, rs, ws]
        outs = list(base_outs[:L]) + [al]
        outs = forward(xs, L + 1, outs) if L + 1 < len(layers) else outs
        V[S] = VALUE(outs[-1], ys)
    return V, n

def shapley_from_table(V, n):
    phi = np.zeros((n, V.shape[1]))
    w = [math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n) for k in range(n)]
    for S in range(1 << n):
        k = bin(S).count("1")
        for g in range(n):
            if not (S >> g) & 1: phi[g] += w[k] * (V[S | (1 << g)] - V[S])
    return phi

def torch_forward(xs, b):
    """The forward in PyTorch float64 with block b's output a leaf that keeps its gradient: (logits, leaf)."""
    import torch, torch.nn.functional as F
    T = {k: torch.from_numpy(v) for k, v in W.items()}
    L = block_out[b]
    x = torch.from_numpy(xs); outs = []
    read = lambda i: x if i < 0 else outs[i]
    leaf = None
    for i, l in enumerate(layers):
        k, nm = l["kind"], l["name"]; y = read(l.get("input", i - 1))
        if k == "conv2d": o = F.conv2d(y, T[nm + ".weight"], T.get(nm + ".bias"), l["stride"], l["padding"])
        elif k == "batchnorm2d": o = F.batch_norm(y, T[nm + ".running_mean"], T[nm + ".running_var"], T[nm + ".weight"], T[nm + ".bias"], False, 0.0, l["eps"])
        elif k == "relu": o = F.relu(y)
        elif k == "dropout": o = y
        elif k == "maxpool": o = F.max_pool2d(y, l["kernel"], l["stride"])
        elif k == "avgpool": o = F.avg_pool2d(y, l["kernel"], l["stride"])
        elif k == "gap": o = y.mean((2, 3), keepdim=True)
        elif k == "linear": o = (y.flatten(1) @ T[nm + ".weight"].T + T[nm + ".bias"]).reshape(len(y), -1, 1, 1)
        elif k == "add": o = y + read(l["shortcut"])
        elif k == "pad_shortcut": o = F.pad(y[:, :, ::l["stride"], ::l["stride"]], (0, 0, 0, 0, l["pad_front"], l["pad_back"]))
        if i == L: o = o.detach().requires_grad_(True); leaf = o
        outs.append(o)
    return outs[-1], leaf

def taylor_terms(b, spec, xs, ys):
    import torch
    logits, leaf = torch_forward(xs, b)
    v = torch.log_softmax(logits.flatten(1), 1)[torch.arange(len(ys)), torch.from_numpy(ys)].mean()
    v.backward()
    base = leaf.detach().mean(0, keepdim=True) if ABLATION == "mean" else 0.0
    ga = ((leaf.detach() - base) * leaf.grad).numpy()  # (a - 0) * dv/da, summed per region below
    return [ga[:, cs, rs, ws].sum() for _, cs, rs, ws in regions(b, spec)]

def check_zeta(path, only=None, taylor=True):
    Z = json.load(open(path))
    st = Z["settings"]; spec = st["grid"]
    global ABLATION; ABLATION = st["ablation"]
    global VALUE_NAME; VALUE_NAME = st["value_function"]
    if VALUE_NAME != "logprob": taylor = False
    print(f"zeta.json: method {st['method']}, ci {st['ci']}, samples {st['samples']}")
    out = {}
    for b, L in Z["layers"].items():
        if only and b not in only: continue
        idx = np.array(L["eval_indices"]); xs, ys = x_all[idx], y_all[idx]
        base = forward(xs)
        regs = regions(b, spec); n = len(regs); keys = [r[0] for r in regs]
        assert list(L["regions"]) == keys, (b, list(L["regions"])[:4])
        R = [L["regions"][k] for k in keys]
        v_all = logprob(base[-1], ys).mean()
        if st["method"] == "exact":
            V, _ = value_table(b, spec, xs, ys, base)
            phi_x = shapley_from_table(V, n); phi = phi_x.mean(1)
            cmp(f"{b}.v_all", [V[-1].mean()], [L["v_all"]]); cmp(f"{b}.v_none", [V[0].mean()], [L["v_none"]])
            cmp(f"{b}.shapley", phi, [r["shapley"] for r in R])
            cmp(f"{b}.lesion", [V[-1].mean() - V[(1 << n) - 1 - (1 << g)].mean() for g in range(n)], [r["lesion"] for r in R])
        else:  # sampled: check v(all), v(none), efficiency; lesion from two dense forwards per region
            cmp(f"{b}.v_all", [v_all], [L["v_all"]])
            a = base[block_out[b]]; al = np.zeros_like(a)
            vn = logprob(forward(xs, block_out[b] + 1, list(base[:block_out[b]]) + [al])[-1] if block_out[b] + 1 < len(layers) else al, ys).mean()
            cmp(f"{b}.v_none", [vn], [L["v_none"]])
            phi = np.array([r["shapley"] for r in R])
            cmp(f"{b}.efficiency sum(phi) vs v_all-v_none(json)", [phi.sum()], [L["v_all"] - L["v_none"]])
            cmp(f"{b}.efficiency sum(phi) vs v_all-v_none(mine)", [phi.sum()], [v_all - vn])
            les = []
            for g, (_, cs, rs, ws) in enumerate(regs):
                al = a.copy(); al[:, cs, rs, ws] = 0
                o = forward(xs, block_out[b] + 1, list(base[:block_out[b]]) + [al])[-1] if block_out[b] + 1 < len(layers) else al
                les.append(v_all - logprob(o, ys).mean())
            cmp(f"{b}.lesion", les, [r["lesion"] for r in R])
            out[b] = phi
            continue
        if taylor and HAVE_TORCH: cmp(f"{b}.taylor", taylor_terms(b, spec, xs, ys), [r["taylor"] for r in R])
        # population interval: strata = classes
        N = len(ys); classes = np.unique(ys); pv_pop, ci_pop = [], []
        for g in range(n):
            m = phi_x[g]
            if min(np.sum(ys == c) for c in classes) < 2: strata = [np.arange(N)]
            else: strata = [np.where(ys == c)[0] for c in classes]
            terms = [((len(s) / N) ** 2) * m[s].var(ddof=1) / len(s) for s in strata]
            Vg = sum(terms)
            nu = Vg ** 2 / sum(t ** 2 / (len(s) - 1) for t, s in zip(terms, strata)) if Vg > 0 else N - 1
            h = tq(0.975, nu) * math.sqrt(Vg)
            ci_pop.append([phi[g] - h, phi[g] + h])
            pv_pop.append((0.0 if phi[g] != 0 else 1.0) if Vg == 0 else tcdf2(phi[g] / math.sqrt(Vg), nu))
        cmp(f"{b}.shapley_ci_population", ci_pop, [r["shapley_ci_population"] for r in R], 1e-9)
        cmp(f"{b}.p_value_population", pv_pop, [r["p_value_population"] for r in R], 1e-300)
        pv_samp = [0.0 if p != 0 else 1.0 for p in phi]
        cmp(f"{b}.shapley_ci (sample, a point)", [[p, p] for p in phi], [r["shapley_ci"] for r in R])
        cmp(f"{b}.p_value_sample", pv_samp, [r["p_value_sample"] for r in R])
        pv = pv_pop if st["ci"] == "population" else pv_samp
        ci = ci_pop if st["ci"] == "population" else [[p, p] for p in phi]
        padj = bh(pv); sig = padj < 0.01
        cmp(f"{b}.p_adjusted", padj, [r["p_adjusted"] for r in R], 1e-300)
        bad = [k for k, s, r in zip(keys, sig, R) if bool(s) != r["significance"]]
        if bad: print(f"  !! {b} significance differs at {bad}")
        mu, sd = phi.mean(), (phi.std(ddof=1) if n > 1 else 0.0)
        zeta = (phi - mu) / sd if sd > 0 else np.zeros(n)
        cmp(f"{b}.zeta_score", zeta, [r["zeta_score"] for r in R], 1e-9)
        cmp(f"{b}.confidence_interval", [[(c[0] - mu) / sd, (c[1] - mu) / sd] for c in ci], [r["confidence_interval"] for r in R], 1e-9)
        med = np.median(phi); mad = np.median(np.abs(phi - med))
        scale = 1.4826 * mad if mad > 0 else 1.2533 * np.mean(np.abs(phi - med))
        rob = (phi - med) / scale if scale > 0 else np.zeros(n)
        cmp(f"{b}.robust_score", rob, [r["robust_score"] for r in R], 1e-9)
        order = sorted(range(n), key=lambda g: (-phi[g], g))
        crit = [keys[g] for g in order if sig[g] and rob[g] >= 3.5]
        critz = [keys[g] for g in order if sig[g] and zeta[g] >= 2]
        if crit != L["critical_regions"] or critz != L["critical_regions_zeta"]:
            print(f"  !! {b} critical lists differ: mine {crit} / {critz}, json {L['critical_regions']} / {L['critical_regions_zeta']}")
        cmp(f"{b}.critical_share", [len(crit) / n, len(critz) / n], [L["critical_share"], L["critical_share_zeta"]])
        print(f"    {b}: critical robust {crit} zeta {critz}; significant {int(sig.sum())}/{n}")
        out[b] = phi_x
    return out

# ---------------------------------------------------------------- tract.json
def check_tract(path, only=None):
    T = json.load(open(path))
    spec = T["settings"]["grid"]; E = T["eval_samples"]
    xs = x_all[:E]; outs = forward(xs)
    print(f"tract.json: {E} images")
    pair_C = {}
    def folded(b):  # W' and z-layer of a conv/linear block
        i = block_main[b]; l = layers[i]; w = W[l["name"] + ".weight"]
        nxt = [j for j in block_layers[b] if layers[j]["kind"] == "batchnorm2d" and not shortcut_layer(layers[j])]
        if nxt:
            bl = layers[nxt[0]]; sc = W[bl["name"] + ".weight"] / np.sqrt(W[bl["name"] + ".running_var"] + bl["eps"])
            w = w * sc.reshape((-1,) + (1,) * (w.ndim - 1))
        return w, l
    def zlayer(b):  # the pre-activation: output of the block's last non-relu/dropout layer
        return max(j for j in block_layers[b] if not shortcut_layer(layers[j]) and layers[j]["kind"] not in ("relu", "dropout"))
    def slope(b):
        has_relu = any(layers[j]["kind"] == "relu" for j in block_layers[b])
        z = outs[zlayer(b)]
        return (z > 0).astype(float) if has_relu else np.ones_like(z)
    for key, P in T["pairs"].items():
        if only and key not in only: continue
        A_, B_ = P["from"], P["to"]; kind = P.get("kind", "branch")
        a = np.maximum(outs[block_out[A_]], 0); sp = slope(B_)
        ra, rb = regions(A_, spec), regions(B_, spec)
        C = np.zeros((len(ra), len(rb)))
        mo = layers[block_main[B_]]
        for ia, (ka, cs, rs, ws) in enumerate(ra):
            am = np.zeros_like(a); am[:, cs, rs, ws] = a[:, cs, rs, ws]
            if kind == "shortcut":
                lay = [layers[j] for j in block_layers[B_] if shortcut_layer(layers[j])]
                if not lay: t = am
                elif lay[0]["kind"] == "pad_shortcut":
                    t = layer_fn(lay[0], am)
                else:
                    pl, bl = lay[0], lay[1]
                    w = np.abs(W[pl["name"] + ".weight"] * (W[bl["name"] + ".weight"] / np.sqrt(W[bl["name"] + ".running_var"] + bl["eps"]))[:, None, None, None])
                    t = conv(am, w, None, pl["stride"], pl["padding"])
            elif mo["kind"] == "add": t = am
            elif mo["kind"] == "conv2d":
                w, l = folded(B_); t = conv(am, np.abs(w), None, l["stride"], l["padding"])
            elif mo["kind"] == "linear":
                w, l = folded(B_); t = (am.reshape(E, -1) @ np.abs(w).T).reshape(E, -1, 1, 1)
            elif mo["kind"] == "maxpool":
                k, s = mo["kernel"], mo["stride"]; x = outs[block_out[A_]]
                N_, Cc, H, Wd = x.shape; OH, OW = (H - k) // s + 1, (Wd - k) // s + 1
                st = np.stack([x[:, :, ky:ky + s * OH:s, kx:kx + s * OW:s] for ky in range(k) for kx in range(k)], 0)
                sel = st.argmax(0)  # first maximum in tap order
                sa = np.stack([am[:, :, ky:ky + s * OH:s, kx:kx + s * OW:s] for ky in range(k) for kx in range(k)], 0)
                t = np.take_along_axis(sa, sel[None], 0)[0]
            elif mo["kind"] == "avgpool": t = pool(am, mo["kernel"], mo["stride"], "avg")
            elif mo["kind"] == "gap": t = am.mean((2, 3), keepdims=True)
            t = t * sp
            for ib, (kb, cb, rb_, wb) in enumerate(rb): C[ia, ib] = t[:, cb, rb_, wb].sum() / E
        # structural relation: every link with a nonzero weight (data-independent)
        S_ = np.zeros_like(C)
        ones = np.ones_like(a[:1]); sp1 = np.ones_like(sp[:1])
        for ia, (ka, cs, rs, ws) in enumerate(ra):
            am = np.zeros_like(ones); am[:, cs, rs, ws] = 1
            if kind == "shortcut":
                lay = [layers[j] for j in block_layers[B_] if shortcut_layer(layers[j])]
                t = am if not lay else layer_fn(lay[0], am) if lay[0]["kind"] == "pad_shortcut" else conv(am, np.abs(W[lay[0]["name"] + ".weight"]) > 0, None, lay[0]["stride"], lay[0]["padding"])
            elif mo["kind"] == "add": t = am
            elif mo["kind"] == "conv2d": w, l = folded(B_); t = conv(am, (np.abs(w) > 0).astype(float), None, l["stride"], l["padding"])
            elif mo["kind"] == "linear": w, l = folded(B_); t = (am.reshape(1, -1) @ (np.abs(w) > 0).T).reshape(1, -1, 1, 1)
            elif mo["kind"] in ("maxpool", "avgpool"): t = pool(am, mo["kernel"], mo["stride"], "avg")
            elif mo["kind"] == "gap": t = am.mean((2, 3), keepdims=True)
            for ib, (kb, cb, rb_, wb) in enumerate(rb): S_[ia, ib] = t[:, cb, rb_, wb].sum()
        n_struct = int((S_ > 0).sum())
        if (C[S_ == 0] != 0).any(): print(f"  !! {key}: flow outside the structural relation")
        p = C[S_ > 0] / C.sum() if C.sum() > 0 else None
        eff = 0.0 if p is None else 1.0 if n_struct == 1 else 1 + (p[p > 0] * np.log(p[p > 0])).sum() / math.log(n_struct)
        cmp(f"{key} pathway_efficiency", [eff], [P["pathway_efficiency"]])
        if n_struct != P["connected_pairs"]: print(f"  !! {key}: connected_pairs mine {n_struct} json {P['connected_pairs']}")
        top = sorted(((C[ia, ib], ia, ib) for ia in range(len(ra)) for ib in range(len(rb)) if C[ia, ib] > 0), key=lambda t: -t[0])[:5]
        mine_top = [f"{ra[ia][0]} \u2192 {rb[ib][0]}" for _, ia, ib in top]
        if mine_top != P["critical_pathways"]: print(f"  !! {key}: critical_pathways mine {mine_top} json {P['critical_pathways']}")
        pair_C[(A_, B_)] = C
        flows = {(f[0], f[1]): f[2] for f in P["flows"]}
        mine, theirs, missing = [], [], []
        for ia, (ka, *_ ) in enumerate(ra):
            for ib, (kb, *_ ) in enumerate(rb):
                if (ka, kb) in flows: mine.append(C[ia, ib]); theirs.append(flows[(ka, kb)])
                elif C[ia, ib] != 0: missing.append((ka, kb, C[ia, ib]))
        cmp(f"{key} {A_}->{B_} ({kind}) C", mine, theirs)
        cmp(f"{key} connection_strength", [C.sum()], [P["connection_strength"]])
        if missing: print(f"  !! {key}: {len(missing)} nonzero flows absent from the file, e.g. {missing[:3]}")
    if only: return pair_C
    # best chain: max over paths first block -> last block of sum log(C/conn) (exhaustive DP, top 1)
    best = {}  # (block, region index) -> (score, path)
    nb = {b: len(regions(b, spec)) for b in blocks}
    for r in range(nb[blocks[0]]): best[(blocks[0], r)] = (0.0, [(blocks[0], r)])
    for b in blocks[1:]:
        for (A_, B_), C in pair_C.items():
            if B_ != b: continue
            T_ = C.sum()
            for ib in range(nb[b]):
                for ia in range(nb[A_]):
                    if (A_, ia) in best and C[ia, ib] > 0:
                        sc = best[(A_, ia)][0] + math.log(C[ia, ib] / T_)
                        if (b, ib) not in best or sc > best[(b, ib)][0]: best[(b, ib)] = (sc, best[(A_, ia)][1] + [(b, ib)])
    last = blocks[-1]
    sc, path = max((best[(last, r)] for r in range(nb[last]) if (last, r) in best), key=lambda t: t[0])
    ch = T["network"]["chains"][0]
    mine_path = [(b, regions(b, spec)[r][0]) for b, r in path]
    theirs_path = [(x["layer"], x["region"]) for x in ch["regions"]]
    cmp("network.chains[0].score", [sc], [ch["score"]], 1e-9)
    if mine_path != theirs_path: print(f"  !! top chain mine {mine_path} json {theirs_path}")
    cmp("network.path_strength", [sum(C.sum() for C in pair_C.values())], [T["network"]["path_strength"]])
    return pair_C

if __name__ == "__main__":
    args = sys.argv[1:]
    opts = {}
    while args and len(args) > 3:
        k = args.pop(3); opts[k] = args.pop(3)
    npz_path, dump_path, adir = args
    load(npz_path, dump_path)
    which = opts.get("--check", "grid,zeta,tract").split(",")
    only = opts.get("--blocks"); only = only.split(",") if only else None
    if "grid" in which: check_grid(adir + "/grid.json")
    if "zeta" in which: check_zeta(adir + "/zeta.json", only, taylor=opts.get("--taylor", "1") == "1")
    if "tract" in which:
        tp = opts.get("--tract-pairs"); check_tract(adir + "/tract.json", tp.split(",") if tp else None)
    worst = max(report, key=lambda r: r[1]) if report else None
    print("largest |Δ|:", worst)
    print(f"{DISAGREE[0]} disagreement(s) beyond float rounding")
    sys.exit(1 if DISAGREE[0] else 0)

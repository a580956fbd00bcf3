#!/usr/bin/python3
"""Recompute a `train --eeg` run's NN-EEG numbers in numpy (float64) from README's definitions alone
(README.md, "NN-EEG: the temporal imaging"), from the recorded rows `RUN/eeg/epoch_NNN.npy`,
`RUN/eeg/channels.json` and `RUN/config.json`:

  [NNFMRI=build/nnfmri] [EEG_THETA=X] eeg_recompute.py RUN

The channels: every block's `activity` against the unit-weighted mean of its regions' channels (the
region cut of README Region grid; block shapes from an analysis's grid.json, else `$NNFMRI info`).
Checked per epoch file `eeg/epoch_NNN.json`: `steps`, `span` (the Welch span), the five relative band
powers of the loss and of every block's `activity` and `grad_norm` (Welch: segments of W with 50 %
overlap laid back from the newest step, linear detrend, periodic Hann, one-sided periodogram), every
region's relative γ power and `mean_activity` (mean of the region's rows over the epoch), the loss's
`trend_t` (t of the least-squares slope over the last W steps), every block's `state`, and the
`events`: change events (log-ratio against the H = 128 changes ending at the last multiple of R = 16
before t, robust z, ε, silent regions, the update ratio over the schedule's η, the short last batch,
the two-level confirmation) and γ bursts (γ power of the last 16 rows, b = ln(g + ε²), its baseline
S steps back, ≥ 64 defined). θ_γ is printed nowhere; the script checks that the run's bursts are
consistent with one threshold (every onset at or above it an event, every listed burst at or above it)
and prints the bracket the run implies. With `RUN/analysis/epoch_N/eeg.json` (`nnfmri report RUN`):
each block's region-form ρ_γζ, max ζ, ζ stability, spatial state and anomaly, and the point values of
ρ_γζ (both forms), κ, F1 and Consistency, from zeta.json and grid.json (the CIs and shuffled nulls are
seeded resamples and are not recomputed).
Prints per quantity the largest absolute and relative difference; lines starting `!!` are
disagreements that are not float rounding (states, event lists, keys): exit 1 if there is one."""
import json, sys, os, glob, math
import numpy as np

BANDS = [("delta", 0.0, 1 / 64), ("theta", 1 / 64, 1 / 32), ("alpha", 1 / 32, 1 / 16),
         ("beta", 1 / 16, 1 / 4), ("gamma", 1 / 4, 0.5 + 1e-12)]
H, R, S_G, THETA = 128, 16, 16, 6.0

bad = []
diffs = {}

def note(q, mine, theirs):
    """Largest abs / rel difference per quantity."""
    mine = np.asarray(mine, dtype=float).ravel()
    theirs = np.asarray(theirs, dtype=float).ravel()
    if mine.shape != theirs.shape:
        bad.append(f"!! {q}: {mine.size} values recomputed, {theirs.size} written")
        return
    both_nan = np.isnan(mine) & np.isnan(theirs)
    if (np.isnan(mine) != np.isnan(theirs)).any():
        bad.append(f"!! {q}: NaN in one side only")
    m, t = mine[~both_nan], theirs[~both_nan]
    a = np.abs(m - t)
    r = a / np.maximum(np.abs(t), 1e-300)
    d = diffs.setdefault(q, [0.0, 0.0, 0])
    if a.size:
        d[0] = max(d[0], float(np.nanmax(a)))
        d[1] = max(d[1], float(np.nanmax(np.where(a == 0, 0, r))))
    d[2] += a.size

def fail(msg):
    bad.append("!! " + msg)

# ---------------------------------------------------------------- spectra (README: Spectra)
def hann(W):
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(W) / W)

def detrend(x):
    n = len(x)
    t = np.arange(n, dtype=float)
    A = np.stack([np.ones(n), t], 1)
    coef, *_ = np.linalg.lstsq(A, x, rcond=None)
    return x - A @ coef

def periodogram(x):
    W = len(x)
    w = hann(W)
    y = detrend(np.asarray(x, float)) * w
    k = np.arange(W // 2 + 1)
    n = np.arange(W)
    dft = (y[None, :] * np.exp(-2j * np.pi * np.outer(k, n) / W)).sum(1)   # a direct sum
    c = np.full(len(k), 2.0)
    c[0] = 1.0
    c[-1] = 1.0
    return c * np.abs(dft) ** 2 / (w ** 2).sum()

def welch(x, W):
    """x: the span's rows (oldest first). Segments of W, 50 % overlap, laid back from the newest."""
    L = len(x)
    P = []
    end = L
    while end - W >= 0:
        P.append(periodogram(x[end - W:end]))
        end -= W // 2
    return np.mean(P, 0)

def rel_bands(P, W):
    tot = P.sum()
    out = {}
    for name, lo, hi in BANDS:
        s = sum(P[k] for k in range(len(P)) if lo <= k / W < hi)
        out[name] = s / tot if tot > 0 else 0.0   # README: no power (or a non-finite value) → 0 in every band
    return out

def gamma_power16(x):
    P = periodogram(x)
    return sum(P[k] for k in range(len(P)) if k / 16 >= 0.25)

# ---------------------------------------------------------------- θ_γ (README: Band-power threshold)
def gamma_form():
    """A with g(x) = xᵀAx: the γ power of one 16-row window (detrend, Hann, one-sided, bins k/16 ≥ 1/4)."""
    n = 16
    return np.array([[0.5 * (gamma_power16(np.eye(n)[i] + np.eye(n)[j]) - gamma_power16(np.eye(n)[i]) - gamma_power16(np.eye(n)[j]))
                      for j in range(n)] for i in range(n)])

def upper_tail(lams, x):
    """P(Σ λ_j χ²₁ > x), Lugannani–Rice saddlepoint (README's choice)."""
    lam = lams[lams > 1e-12]
    K = lambda s: -0.5 * np.log(1 - 2 * lam * s).sum()
    K1 = lambda s: (lam / (1 - 2 * lam * s)).sum()
    K2 = lambda s: (2 * lam ** 2 / (1 - 2 * lam * s) ** 2).sum()
    mean = lam.sum()
    if abs(x - mean) < 1e-9 * mean: x = mean * (1 + 1e-6)
    lo, hi = (-1e6, 0.0) if x < mean else (0.0, 1 / (2 * lam.max()) * (1 - 1e-15))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if K1(mid) < x: lo = mid
        else: hi = mid
    sh = 0.5 * (lo + hi)
    w = math.copysign(math.sqrt(max(2 * (sh * x - K(sh)), 0.0)), sh)
    u = sh * math.sqrt(K2(sh))
    Phi_c = 0.5 * math.erfc(w / math.sqrt(2))
    phi = math.exp(-0.5 * w * w) / math.sqrt(2 * math.pi)
    return Phi_c + phi * (1 / u - 1 / w)

def upper_tail_v(lams, x):
    """upper_tail for an array of x (the same formula, vectorised bisection)."""
    lam = lams[lams > 1e-12][:, None]
    x = np.asarray(x, float)[None, :]
    mean = lam.sum()
    lo = np.where(x < mean, -1e6, 0.0)
    hi = np.where(x < mean, 0.0, 1 / (2 * lam.max()) * (1 - 1e-15))
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        k1 = (lam / (1 - 2 * lam * mid)).sum(0, keepdims=True)
        lo, hi = np.where(k1 < x, mid, lo), np.where(k1 < x, hi, mid)
    sh = 0.5 * (lo + hi)
    K = -0.5 * np.log(1 - 2 * lam * sh).sum(0)
    K2 = (2 * lam ** 2 / (1 - 2 * lam * sh) ** 2).sum(0)
    sh, x = sh[0], x[0]
    w = np.sign(sh) * np.sqrt(np.maximum(2 * (sh * x - K), 0.0))
    u = sh * np.sqrt(K2)
    from math import erfc, sqrt, pi
    Phi_c = np.array([0.5 * erfc(v / sqrt(2)) for v in w])
    with np.errstate(divide="ignore", invalid="ignore"):
        q = Phi_c + np.exp(-0.5 * w * w) / sqrt(2 * pi) * (1 / u - 1 / w)
    q = np.where(np.abs(x - mean) < 1e-6 * mean, 0.5, q)
    return np.clip(q, 0, 1)

def null_baselines(B, seed):
    """(m̂, ŝ) of B white-noise histories of 143 steps scored as the band rule scores a channel."""
    A = gamma_form()
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((B, H + S_G - 1))
    win = np.lib.stride_tricks.sliding_window_view(z, S_G, axis=1)        # B × 128 windows
    b = np.log(np.einsum("bwi,ij,bwj->bw", win, A, win))
    m = np.median(b, 1)
    s = 1.4826 * np.maximum(np.median(np.abs(b - m[:, None]), 1), 1e-3)
    return m, s

def p_null(theta, m, s, lams):
    return float(upper_tail_v(lams, np.exp(m + theta * s)).mean())

def theta_gamma(C, F, B=4096, seed=12345):
    """The smallest θ (to 10⁻³) with C·F·p(θ) ≤ 0.5; p(θ) = mean over B simulated white-noise baselines
    of Q(exp(m̂ + θŝ)) (README). An independent Monte Carlo (numpy's generator, not the project's)."""
    lams = np.linalg.eigvalsh(gamma_form())
    m, s = null_baselines(B, seed)
    lo, hi = 0.0, 50.0
    while hi - lo > 1e-3:
        mid = 0.5 * (lo + hi)
        if C * F * p_null(mid, m, s, lams) <= 0.5: hi = mid
        else: lo = mid
    return hi

# ---------------------------------------------------------------- helpers
def robust(base):
    med = np.median(base)
    mad = np.median(np.abs(base - med))
    return med, 1.4826 * max(mad, 1e-3)

def ls_slope_t(y):
    n = len(y)
    t = np.arange(n, dtype=float)
    tc = t - t.mean()
    b = (tc * (y - y.mean())).sum() / (tc ** 2).sum()
    a = y.mean() - b * t.mean()
    res = y - a - b * t
    s2 = (res ** 2).sum() / (n - 2)
    se = math.sqrt(s2 / (tc ** 2).sum())
    return b / se if se > 0 else (-1e9 if b < 0 else 1e9 if b > 0 else 0.0)   # README: a residual-free window

def rate_fn(cfg, T, spe):
    sch = cfg["schedule"]
    lr = cfg["optimizer"]["lr"]
    kind = sch["kind"]
    Wu = int(math.floor(sch.get("warmup_epochs", 0) * spe)) if kind != "onecycle" else 0
    def eta(step):   # global step, 1-based
        t = step - 1
        f = (t + 1) / Wu if t < Wu else 1.0
        if kind == "constant": return lr * f
        if kind == "cosine": return lr * f * 0.5 * (1 + math.cos(math.pi * (t - Wu) / (T - Wu))) if t >= Wu else lr * f
        if kind == "step": return lr * f * sch["gamma"] ** ((t // spe) // sch["step_size"])
        return None
    return eta

def spearman(a, b):
    def rank(x):
        x = np.asarray(x, float)
        o = np.argsort(x, kind="mergesort")
        r = np.empty(len(x))
        r[o] = np.arange(len(x), dtype=float)
        for v in np.unique(x):
            m = x == v
            r[m] = r[m].mean()
        return r
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]): return None
    ra, rb = rank(a), rank(b)
    ra -= ra.mean(); rb -= rb.mean()
    return float((ra * rb).sum() / math.sqrt((ra ** 2).sum() * (rb ** 2).sum()))

# ---------------------------------------------------------------- main
def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print(__doc__); sys.exit(2)
    run = args[0]
    for need in ("config.json", os.path.join("eeg", "channels.json")):
        if not os.path.isfile(os.path.join(run, need)):
            print(f"eeg_recompute: {os.path.join(run, need)}: missing, expected a run of train --eeg"); sys.exit(2)
    cfg = json.load(open(os.path.join(run, "config.json")))
    if "eeg" not in cfg:
        print(f"eeg_recompute: {run}/config.json: no \"eeg\" key, expected a run of train --eeg"); sys.exit(2)
    chans = json.load(open(os.path.join(run, "eeg", "channels.json")))["channels"]
    files = sorted(glob.glob(os.path.join(run, "eeg", "epoch_*.json")))
    if not files:
        print(f"eeg_recompute: {run}/eeg: no epoch_NNN.json (a run of train --eeg that finished an epoch)"); sys.exit(2)
    epochs = [json.load(open(f)) for f in files]
    rows = np.concatenate([np.load(f[:-5] + ".npy").astype(np.float64) for f in files], 0)
    N, C = rows.shape
    W = cfg["eeg"]["window"]
    batch = cfg["batch"]
    n_train = cfg["data"]["train_images"]
    spe = -(-n_train // batch)
    short_last = n_train % batch != 0
    T = cfg["epochs"] * spe
    eta = rate_fn(cfg, T, spe)
    col = {c["name"]: i for i, c in enumerate(chans)}
    blocks = []
    for c in chans:
        if c["block"] and c["block"] not in blocks: blocks.append(c["block"])
    x = lambda step, c: rows[step - 1, c]   # global step 1-based

    # steps, per-epoch rows
    first = 1
    for e in epochs:
        n_e = np.load(os.path.join(run, "eeg", "epoch_%03d.npy" % e["epoch"])).shape[0]
        if e["steps"] != [first, first + n_e - 1]: fail(f"epoch {e['epoch']}: steps {e['steps']}, rows give {[first, first + n_e - 1]}")
        first += n_e
    short_steps = set(range(spe, N + 1, spe)) if (short_last and spe > 1) else set()

    # ---- the channels themselves: a block's activity is the unit-weighted mean of its regions'
    # (both means of |a| over the minibatch, README Channels; the region cut of README Region grid)
    shapes = block_shapes(run, args)
    for bl in blocks:
        if bl not in shapes: continue
        Hh, Ww, Cc = shapes[bl]
        keys = [ch["region"] for ch in chans if ch["block"] == bl and ch["channel"] == "region"]
        GH, GW, GC = (max(int(k.split("_")[i]) for k in keys) for i in (1, 2, 3))
        cut = lambda n, g, i: (i * n // g, (i + 1) * n // g)
        units = []
        for k in keys:
            i, j, kk = (int(v) - 1 for v in k.split("_")[1:])
            r0, r1 = cut(Hh, GH, i); c0, c1 = cut(Ww, GW, j); k0, k1 = cut(Cc, GC, kk)
            units.append((r1 - r0) * (c1 - c0) * (k1 - k0))
        units = np.array(units, float)
        if units.sum() != Hh * Ww * Cc: fail(f"{bl}: regions of {units.sum():.0f} units, shape {shapes[bl]}")
        reg = rows[:, [col[f"{bl}/{k}"] for k in keys]]
        mine = (reg * units).sum(1) / units.sum()
        note("block activity = unit-weighted mean of its regions (float32 rows)", mine, rows[:, col[f"{bl}/activity"]])

    # ---- spectra, states, region γ / mean_activity, trend_t
    for e in epochs:
        a, b = e["steps"]
        n = b
        L = min(2 * W, n)
        span = [n - L + 1, n] if n >= W else None
        if e["span"] != span: fail(f"epoch {e['epoch']}: span {e['span']}, expected {span}")
        def mine_bands(c):
            """None (JSON null) when the span holds a non-finite value (README: Files)."""
            xs = rows[n - L:n, c]
            return rel_bands(welch(xs, W), W) if np.isfinite(xs).all() else None
        if n >= W:
            lb = mine_bands(col["loss"])
            note("loss bands", [lb[k] for k, *_ in BANDS], [e["loss"]["bands"][k] for k, *_ in BANDS])
            lw = rows[n - W:n, col["loss"]]
            note("loss trend_t", ls_slope_t(lw) if np.isfinite(lw).all() else 0.0, e["loss"]["trend_t"])
        elif "loss" in e and e["loss"]:
            fail(f"epoch {e['epoch']}: loss bands before W rows")
        for bl in blocks:
            be = e["blocks"].get(bl)
            if be is None: fail(f"epoch {e['epoch']}: block {bl} missing"); continue
            diverged = be["state"] == "diverged"
            if n >= W and not diverged:
                for ch in ("activity", "grad_norm"):
                    bb, wb = mine_bands(col[f"{bl}/{ch}"]), be.get(ch + "_bands")
                    if (bb is None) != (wb is None): fail(f"epoch {e['epoch']} {bl}: {ch}_bands {wb}, recomputed {bb}")
                    elif bb is not None: note(f"{ch}_bands", [bb[k] for k, *_ in BANDS], [wb[k] for k, *_ in BANDS])
            for rk, rv in be["regions"].items():
                c = col[f"{bl}/{rk}"]
                mean = rows[a - 1:b, c].mean()
                note("region mean_activity (epoch rows)", mean if np.isfinite(mean) else 0.0, rv["mean_activity"])
                if n >= W and not diverged:
                    bb = mine_bands(c)
                    note("region gamma", bb["gamma"] if bb is not None else 0.0, rv["gamma"])
                elif "gamma" in rv: fail(f"epoch {e['epoch']} {bl} {rk}: gamma before W rows or in a diverged block")
            # state
            if n < W: st = "warming_up"
            else:
                win = rows[n - W:n]
                bc = [i for i, ch in enumerate(chans) if ch["block"] == bl]
                act = win[:, col[f"{bl}/activity"]]
                ur = rows[:, col[f"{bl}/update_ratio"]]
                if not np.isfinite(win[:, [col["loss"]] + bc]).all(): st = "diverged"
                elif act.mean() < 1e-6: st = "dead"
                elif n >= 2 * W and np.median(ur[n - W:n]) > 3 * np.median(ur[n - 2 * W:n - W]): st = "unstable"
                elif ls_slope_t(win[:, col["loss"]]) < -2: st = "learning"
                else: st = "plateau"
            if st != be["state"]: fail(f"epoch {e['epoch']} {bl}: state {be['state']}, recomputed {st}")
            else: note("states (count agreeing)", 0, 0)

    # ---- change events
    def level(step, c):
        v = abs(x(step, c))
        if chans[c]["channel"] == "update_ratio":
            r = eta(step)
            if r is None or not (r > 0) or not math.isfinite(r): return None
            v = v / r
        return v

    def ref(t):
        """The row a step's change is taken from: t − 1, or t − 2 when t − 1 is a short step."""
        return t - 2 if (t - 1) in short_steps else t - 1

    base_cache = {}
    def baseline(m, c):
        """(med, scale, eps) of the changes of the tested steps among m−H+1..m (a short step is not
        tested), or None when the channel is not scored."""
        key = (m, c)
        if key in base_cache: return base_cache[key]
        ch = chans[c]
        tested = [s for s in range(m - H + 1, m + 1) if s not in short_steps and ref(s) >= 1]
        res = None
        if ch["channel"] == "region":
            bmed = np.median(np.abs(rows[np.array(tested) - 1, col[f"{ch['block']}/activity"]]))
            med = np.median(np.abs(rows[np.array(tested) - 1, c]))
            if med > 0 and med >= 0.01 * bmed: res = 0.01 * bmed
        else:
            med = np.median(np.abs(rows[np.array(tested) - 1, c]))
            if med > 0:
                lv = [level(s, c) for s in tested]
                lv = [v for v in lv if v is not None]
                res = 1e-3 * np.median(lv) if lv else None
        if res is not None:
            eps = res
            d = [math.log(level(s, c) + eps) - math.log(level(ref(s), c) + eps) for s in tested
                 if level(s, c) is not None and level(ref(s), c) is not None]
            res = (*robust(np.array(d)), eps) if d else None
        base_cache[key] = res
        return res

    def last_mult(t):
        return R * ((t - 1) // R)

    def z_of(t, c, before):
        m = last_mult(t)
        if m < 144: return None
        bs = baseline(m, c)
        if bs is None: return None
        med, sc, eps = bs
        l1, l0 = level(t, c), level(before, c)
        if l1 is None or l0 is None: return None
        return (math.log(l1 + eps) - math.log(l0 + eps) - med) / sc

    events = []
    scored = [t for t in range(1, N + 1) if t not in short_steps]
    for c in range(C):
        zprev = None
        for i, t in enumerate(scored):
            z = z_of(t, c, ref(t))
            was = zprev is not None and abs(zprev) >= THETA
            zprev = z
            if z is None or abs(z) < THETA or was: continue
            if i + 1 >= len(scored): continue
            t1 = scored[i + 1]                       # the next scored step confirms
            z1, z2 = z_of(t1, c, ref(t)), z_of(t1, c, ref(ref(t)))
            if z1 is None or z2 is None: continue
            sgn = 1 if z > 0 else -1
            if sgn * z1 >= THETA and sgn * z2 >= THETA:
                events.append((t, c, z, t1))

    # ---- γ bursts
    g_cache = {}
    def gpow(t, c):
        if (t, c) in g_cache: return g_cache[(t, c)]
        v = None
        if t >= 16:
            win = rows[t - 16:t, c]
            if np.isfinite(win).all() and not any(s in short_steps for s in range(t - 15, t + 1)):
                v = gamma_power16(win)
        g_cache[(t, c)] = v
        return v
    bz = {}
    for c in range(C):
        for t in range(145, N + 1):
            m = last_mult(t)
            bs = baseline(m, c) if m >= 144 else None
            if bs is None or t in short_steps: continue
            eps = bs[2]
            if chans[c]["channel"] == "update_ratio":   # ε of the recorded update ratio
                eps = 1e-3 * np.median(np.abs(rows[m - H:m, c]))
            g = gpow(t, c)
            if g is None: continue
            base = [gpow(s, c) for s in range(m - S_G - H + 1, m - S_G + 1)]
            base = [math.log(v + eps * eps) for v in base if v is not None]
            if len(base) < 64: continue
            med, sc = robust(np.array(base))
            bz[(t, c)] = (math.log(g + eps * eps) - med) / sc
    listed_b = [ev for e in epochs for ev in e["events"] if ev.get("band") == "gamma"]
    listed_c = [ev for e in epochs for ev in e["events"] if ev.get("band") is None]
    name = lambda ev: (f"{ev['block']}/{ev['region']}" if ev["region"] else (f"{ev['block']}/{ev['channel']}" if ev["block"] else "loss"))
    # change events: compare as sets of (step, channel) and the z values
    mine_c = {(t, chans[c]["name"]): z for t, c, z, _ in events}
    theirs_c = {(ev["step"], name(ev)): ev["z"] for ev in listed_c}
    for k in sorted(set(mine_c) | set(theirs_c)):
        if k not in theirs_c: fail(f"change event {k} z {mine_c[k]:.3f} recomputed, not listed")
        elif k not in mine_c: fail(f"change event {k} z {theirs_c[k]:.3f} listed, not recomputed")
        else:
            note("change event z", mine_c[k], theirs_c[k])
            if abs(mine_c[k] - theirs_c[k]) > 1e-6 * max(1, abs(theirs_c[k])): print(f"   change event {k}: z {theirs_c[k]:.6f} listed, {mine_c[k]:.6f} recomputed")
    print(f"change events: {len(theirs_c)} listed, {len(mine_c)} recomputed")
    # γ bursts: z of the listed ones; the threshold bracket
    for ev in listed_b:
        c = col[name(ev)]
        if (ev["step"], c) not in bz: fail(f"γ burst {ev['step']} {name(ev)} listed, its z undefined here"); continue
        note("gamma burst z", bz[(ev["step"], c)], ev["z"])
    # θ_γ is printed nowhere: the θ that explain the run's list, from the recomputed z. A step is an
    # onset at θ when z ≥ θ > z of the step before; listed ⇔ onset. So θ ∈ (max zp, min z] of the
    # listed ones, outside (zp, z] of every unlisted one.
    listed_keys = {(ev["step"], col[name(ev)]) for ev in listed_b}
    lo, hi = -math.inf, math.inf
    cuts = []
    for (t, c), z in bz.items():
        zp = bz.get((t - 1, c), -math.inf)
        if (t, c) in listed_keys: lo, hi = max(lo, zp), min(hi, z)
        elif zp < z: cuts.append((zp, z, t, c))
    pieces = [(lo, hi)] if lo < hi else []
    for a_, b_, *_ in sorted(cuts):
        nxt = []
        for p_lo, p_hi in pieces:       # (p_lo, p_hi] minus (a_, b_]
            if b_ <= p_lo or a_ >= p_hi: nxt.append((p_lo, p_hi)); continue
            if a_ > p_lo: nxt.append((p_lo, a_))
            if b_ < p_hi: nxt.append((b_, p_hi))
        pieces = nxt
    fmt = lambda v: "∞" if v == math.inf else ("−∞" if v == -math.inf else f"{v:.3f}")
    print(f"γ bursts: {len(listed_b)} listed; the θ_γ that explain exactly the run's list: "
          + (" ∪ ".join(f"({fmt(a_)} … {fmt(b_)}]" for a_, b_ in pieces[-3:]) if pieces else "none"))
    if not pieces: fail("no single θ_γ explains the listed γ bursts")
    if os.environ.get("EEG_THETA"):   # a θ_γ to test, e.g. band_threshold(C, F) of the project
        th = float(os.environ["EEG_THETA"])
        for zp, z, t, c in cuts:
            if zp < th <= z: print(f"   at θ_γ {th}: unlisted onset at step {t}, {chans[c]['name']}, z {z:.4f} (step before {zp:.4f})")

    # ---- cross-modal consistency (analysis/epoch_N/eeg.json)
    check_consistency(run, epochs, blocks)

    for q, (a_, r_, n_) in diffs.items():
        print(f"{q:40s} n {n_:6d}  max |Δ| {a_:.3g}  max rel {r_:.3g}")
    for b_ in bad: print(b_)
    sys.exit(1 if bad else 0)

def block_shapes(run, args):
    """{block: (H, W, C)} from an analysis's grid.json (shape [H, W, C]), else from `NNFMRI info`."""
    for g in sorted(glob.glob(os.path.join(run, "analysis", "epoch_*", "grid.json"))):
        return {k: tuple(v["shape"]) for k, v in json.load(open(g))["layers"].items()}
    exe = os.environ.get("NNFMRI")
    if exe and os.path.exists(os.path.join(run, "model.ckpt")):
        import subprocess, re
        out = subprocess.run([exe, "info", os.path.join(run, "model.ckpt")], capture_output=True, text=True).stdout
        res = {}
        for line in out.splitlines():
            m = re.match(r"\s+(\S+)\s+.*-> \[(\d+), (\d+), (\d+)\] \(C, H, W\)", line)
            if m: res[m.group(1)] = (int(m.group(3)), int(m.group(4)), int(m.group(2)))
        return res
    return {}

def check_consistency(run, epochs, blocks):
    """README NN-EEG, Cross-modal consistency: the point values (not the seeded CIs and nulls)."""
    an = sorted(glob.glob(os.path.join(run, "analysis", "epoch_*", "eeg.json")))
    if not an: return
    eeg_by_epoch = {e["epoch"]: e for e in epochs}
    zeta, cov = {}, {}
    for d in sorted(glob.glob(os.path.join(run, "analysis", "epoch_*"))):
        ep = int(d.rsplit("_", 1)[1])
        zf = os.path.join(d, "zeta.json")
        if os.path.exists(zf):
            zeta[ep] = json.load(open(zf))["layers"]
            g = json.load(open(os.path.join(d, "grid.json")))
            cov[ep] = {k: v.get("coverage") for k, v in g["layers"].items()}
    eps_z = sorted(zeta)
    prev_of = {e: ([p for p in eps_z if p < e] or [None])[-1] for e in eps_z}
    tau, drop = 0.5, 0.1

    def stability(bl, e):
        em = prev_of[e]
        if em is None: return None
        zl, zp = zeta[e][bl]["regions"], zeta[em][bl]["regions"]
        common = [r for r in zl if r in zp]
        return spearman([zp[r]["zeta_score"] for r in common], [zl[r]["zeta_score"] for r in common])

    def spatial_state(bl, e):
        em = prev_of[e]
        regs = zeta[e][bl]["regions"]
        if (em is not None and cov[e][bl] <= 0.5 * cov[em][bl]) or \
           all(r["confidence_interval"][0] <= 0 <= r["confidence_interval"][1] for r in regs.values()):
            return "dead"
        st = stability(bl, e)
        if st is not None and st < tau: return "unstable"
        return "ok"

    def anomaly(bl, e):
        em = prev_of[e]
        if em is None: return None
        st = stability(bl, e)
        return bool((st is not None and st < tau) or (cov[em][bl] - cov[e][bl] >= drop))

    def eeg_positive(bl, e):
        em = prev_of[e]
        return any(ev["block"] == bl for k, E in eeg_by_epoch.items() if em < k <= e for ev in E["events"])

    def region_rho(bl, e):
        E = eeg_by_epoch[e]
        zl = zeta[e][bl]["regions"]
        regs = [r for r in E["blocks"][bl]["regions"] if r in zl]
        g = [E["blocks"][bl]["regions"][r].get("gamma") for r in regs]
        if None in g: return None
        return spearman(g, [zl[r]["zeta_score"] for r in regs])

    for f in an:
        A = json.load(open(f))
        e = A["epoch"]
        em = prev_of.get(e)
        if A.get("since_epoch") != em: fail(f"analysis epoch {e}: since_epoch {A.get('since_epoch')}, expected {em}")
        common = [bl for bl in blocks if bl in A["blocks"]]
        rhos = []
        for bl in common:
            bA = A["blocks"][bl]
            rho = region_rho(bl, e)
            if (rho is None) != (bA.get("rho_gamma_zeta") is None): fail(f"epoch {e} {bl}: rho_gamma_zeta {bA.get('rho_gamma_zeta')}, recomputed {rho}")
            elif rho is not None: note("block rho_gamma_zeta (4 digits written)", rho, bA["rho_gamma_zeta"])
            if rho is not None: rhos.append(rho)
            note("max_zeta (4 digits written)", max(r["zeta_score"] for r in zeta[e][bl]["regions"].values()), bA["max_zeta"])
            st = stability(bl, e)
            if st is not None and bA.get("zeta_stability") is not None: note("zeta_stability (4 digits written)", st, bA["zeta_stability"])
            if spatial_state(bl, e) != bA["spatial_state"]: fail(f"epoch {e} {bl}: spatial_state {bA['spatial_state']}, recomputed {spatial_state(bl, e)}")
            if anomaly(bl, e) != bA.get("spatial_anomaly"): fail(f"epoch {e} {bl}: spatial_anomaly {bA.get('spatial_anomaly')}, recomputed {anomaly(bl, e)}")
            n_ev = sum(1 for k, E in eeg_by_epoch.items() if (em is None or em < k) and k <= e for ev in E["events"] if ev["block"] == bl)
            if n_ev != bA.get("events"): fail(f"epoch {e} {bl}: events {bA.get('events')}, recomputed {n_ev}")
        # the analysis file's copy of the epoch: its events since e₋ (at most 1,000), their total, bands
        since = [ev for k in sorted(eeg_by_epoch) if (em is None or em < k) and k <= e for ev in eeg_by_epoch[k]["events"]]
        if A.get("events_total") != len(since): fail(f"analysis epoch {e}: events_total {A.get('events_total')}, recomputed {len(since)}")
        got = [(ev["step"], ev["block"], ev["region"], ev["channel"], ev.get("band")) for ev in A.get("events", [])]
        want = [(ev["step"], ev["block"], ev["region"], ev["channel"], ev.get("band")) for ev in since[:1000]]
        if got != want: fail(f"analysis epoch {e}: events list differs from the epoch files' events since epoch {em}")
        else: note("analysis events z (4 digits written)", [ev["z"] for ev in since[:1000]], [ev["z"] for ev in A.get("events", [])])
        E = eeg_by_epoch[e]
        if A.get("steps") != E["steps"] or A.get("window") != E["window"]: fail(f"analysis epoch {e}: steps/window differ from {A.get('eeg_file')}")
        if E.get("loss") and E["loss"].get("bands"):
            note("analysis loss_bands (4 digits written)", [E["loss"]["bands"][k] for k, *_ in BANDS], [A["loss_bands"][k] for k, *_ in BANDS])
        C = A["consistency"]
        term = {}
        term["rho_gamma_zeta"] = float(np.mean(rhos)) if rhos else None
        upto = [p for p in eps_z if p <= e and p in eeg_by_epoch]
        xs, ys, ka, kb, tp, fp, fn = [], [], [], [], 0, 0, 0
        mapping = {"dead": "dead", "unstable": "unstable", "diverged": "unstable", "learning": "ok", "plateau": "ok"}
        for p in upto:
            Ep = eeg_by_epoch[p]
            for bl in common:
                bb = Ep["blocks"][bl]
                if "activity_bands" in bb and bb["activity_bands"] is not None:
                    xs.append(bb["activity_bands"]["gamma"])
                    ys.append(max(r["zeta_score"] for r in zeta[p][bl]["regions"].values()))
                if bb["state"] in mapping:
                    ka.append(mapping[bb["state"]]); kb.append(spatial_state(bl, p))
                if prev_of[p] is not None:
                    t_, e_ = anomaly(bl, p), eeg_positive(bl, p)
                    tp += t_ and e_; fp += e_ and not t_; fn += t_ and not e_
        term["rho_gamma_zeta_layer"] = spearman(xs, ys)
        if ka:
            po = np.mean([a_ == b_ for a_, b_ in zip(ka, kb)])
            cats = set(ka) | set(kb)
            pe = sum((ka.count(k) / len(ka)) * (kb.count(k) / len(kb)) for k in cats)
            term["kappa"] = None if pe == 1 else (po - pe) / (1 - pe)
        else: term["kappa"] = None
        term["f1"] = None if tp + fp + fn == 0 else 2 * tp / (2 * tp + fp + fn)
        term["consistency"] = (max(0, term["rho_gamma_zeta"] or 0) + max(0, term["kappa"] or 0) + max(0, term["f1"] or 0)) / 3
        for k, v in term.items():
            w = C[k]["value"]
            if (v is None) != (w is None): fail(f"analysis epoch {e}: {k} {w}, recomputed {v}")
            elif v is not None: note(f"consistency {k} (4 digits written)", v, w)

if __name__ == "__main__":
    main()

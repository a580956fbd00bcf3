#!/usr/bin/python3
"""Recompute nnfmri's monitor in numpy (float64) from README's definitions alone ("`nnfmri profile`",
"`nnfmri monitor`", "Monitoring: `profile`, `monitor` and `corrupt`"), with the forward and the region cuts
of bench/imaging_recompute.py:

  monitor_recompute.py W.npz PROFILE MONITOR_DIR INPUT_DIR [--fit N|all|0]

W.npz beside W.model.json (`nnfmri export CKPT --npz W.npz`); PROFILE from `nnfmri profile CKPT`, read here
from its documented layout (framing of nn/framed_file.h, CRC-32 checked); MONITOR_DIR/monitor.jsonl from
`nnfmri monitor CKPT --profile PROFILE --input cifar10:INPUT_DIR` (INPUT_DIR/test_batch.bin, every image the
monitor read; a --limit-test N run is recognised by its line count).

monitor: per image, against the profile's own tensors, the prediction, msp, energy, mahalanobis, knn,
spatial, spatial_zeta (ζ weights), spatial_cov, spatial_typ, spatial_knn (bank), the 5 top regions (block,
key, z, box) and every block's most abnormal region; per window, every tested region's KS distance against
the sketch, p (the asymptotic two-sample formula), Benjamini–Hochberg, regions_tested, regions_drifting, the
alarm, the 5 most drifting regions in README's order, and mean_scores.
--fit N: the profile's statistics from the first N of its fit images (the training files the profile's
header names, SHA-256 checked; `all`: every fit image, 0: skip): μ, σ, the quantile sketch, the class
means, the tied precision, the KNN unit vectors, spatial_cov's centre, Ledoit–Wolf precision and (a_l, b_l),
the spatial_knn bank (statistics over images need N = all; with fewer, only per-image tensors are compared).

Prints max |Δ| and the scale per quantity; `!!` lines are disagreements beyond float rounding (exit 1)."""
import hashlib, json, os, struct, sys, zlib
import numpy as np
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import imaging_recompute as IR  # noqa: E402

say = IR.print
MIN_SD = 1e-6  # README: regions with σ_g > 1e-6 are G_l
TOP = 5


def cmp_tol(what, mine, theirs, rel, floor, bound=0.0):
    """IR.cmp plus the scale s (max |json value|); `!!` where |Δ| > rel·|value| + floor·max(s, 1) + bound
    (bound: the forward's rounding as it reaches this value, broadcast against the values; see features)."""
    mine, theirs = np.asarray(mine, float), np.asarray(theirs, float)
    sc = np.max(np.abs(theirs)) if theirs.size else 0.0
    IR.cmp(what + f" (scale {sc:.3g})", mine, theirs)
    d = np.abs(mine - theirs); tol = rel * np.abs(theirs) + floor * max(sc, 1.0) + bound
    if d.size and (d > tol).any():
        i = int(np.argmax(d - tol))
        say(f"  !! {what}: {int((d > tol).sum())} beyond tolerance, worst at {i}: mine {mine.flat[i]!r} file {theirs.flat[i]!r}")


# ---------------------------------------------------------------- the profile file (README: File format)
def read_profile(path):
    b = open(path, "rb").read()
    if b[:8] != b"NNFMRIpf": raise SystemExit(f"{path}: no NNFMRIpf magic")
    version, hlen = struct.unpack("<IQ", b[8:20])
    if version != 1: raise SystemExit(f"{path}: framing version {version}")
    if zlib.crc32(b[:-4]) != struct.unpack("<I", b[-4:])[0]: raise SystemExit(f"{path}: CRC-32 mismatch")
    head = json.loads(b[20:20 + hlen])
    if head.get("profile_version") != 3: raise SystemExit(f"{path}: profile_version {head.get('profile_version')}")
    T, at = {}, 20 + hlen
    for t in head["tensors"]:
        n = int(np.prod(t["shape"]))
        T[t["name"]] = np.frombuffer(b, "<f4", n, at).reshape(t["shape"][2:]).astype(np.float64); at += 4 * n
    if at != len(b) - 4: raise SystemExit(f"{path}: {len(b) - 4 - at} bytes after the tensors")
    return head, T


def read_cifar(files, limit):
    """(labels, pixels (N, 3, 32, 32) uint8) of the CIFAR-10 binary files in order, the first `limit`."""
    recs = np.concatenate([np.fromfile(f, np.uint8).reshape(-1, 3073) for f in files])[:limit]
    return recs[:, 0].astype(int), recs[:, 1:].reshape(-1, 3, 32, 32)


def normalise(pix):
    n = IR.model["normalization"]
    m, s = (np.array(n[k], np.float32).astype(np.float64).reshape(1, -1, 1, 1) for k in ("mean", "std"))
    return (pix / 255.0 - m) / s


# ---------------------------------------------------------------- the forward: φ of every region, h, logits
# The net's float32 forward (Winograd for 3×3 convolutions) moves an activation by a few 1e-6 from the
# float64 one (bench/README.md, "Monitor recomputed"); DELTA allows 1e-5.  φ = m +
# λ ln(v + ε) passes an activation error δ on with the factor 1 + |λ|(2√v + δ)/(v + ε), up to |λ|/√ε ≈ 100
# where v ≈ ε (a region with one unit barely active): the bound is δ times that factor, the largest over the
# images, per region — the rounding a φ-valued number (μ, a quantile) may carry without a bug.
DELTA = 1e-5


def features(pix, spec, lam, eps, batch=100):
    """φ (per block (N, R)), h (N, D) the output block's input, logits (N, K), in float64; and φ_bound per
    block (R) over these images."""
    phi = {b: [] for b in IR.blocks}; bound = {b: 0.0 for b in IR.blocks}; H, F = [], []
    for i in range(0, len(pix), batch):
        outs = IR.forward(normalise(pix[i:i + batch]))
        for b in IR.blocks:
            a = outs[IR.block_out[b]]
            cols, bnds = [], []
            for _, cs, rs, ws in IR.regions(b, spec):
                u = a[:, cs, rs, ws].reshape(len(a), -1); v = u.var(1)
                cols.append(np.abs(u).mean(1) + lam * np.log(v + eps))
                bnds.append((DELTA * (1 + abs(lam) * (2 * np.sqrt(v) + DELTA) / (v + eps))).max())
            phi[b].append(np.stack(cols, 1)); bound[b] = np.maximum(bound[b], bnds)
        H.append(outs[IR.block_out[IR.blocks[-2]]].reshape(len(a), -1)); F.append(outs[-1].reshape(len(a), -1))
    return {b: np.concatenate(v) for b, v in phi.items()}, np.concatenate(H), np.concatenate(F), bound


def zmaps(head, T, phi):
    """z_g (0 outside G_l) and the mask of G_l, per block."""
    Z, G = {}, {}
    for L in head["layers"]:
        b = L["name"]; mu, sd = T[b + ".mean"][0], T[b + ".sd"][0]; G[b] = sd > MIN_SD
        Z[b] = np.where(G[b], (phi[b] - mu) / np.where(G[b], sd, 1), 0.0)
    return Z, G


def kth_distance(x, bank, k):
    """The k-th smallest Euclidean distance from each row of x to the rows of bank (direct differences)."""
    d = np.sqrt(((x[:, None, :] - bank[None, :, :]) ** 2).sum(2))
    return np.partition(d, k - 1, 1)[:, k - 1]


def scores(head, T, phi, h, logits):
    """Every detector of README's table and the ours, per image (float64)."""
    S = {}
    z = logits - logits.max(1, keepdims=True); e = np.exp(z)
    S["msp"] = -1 / e.sum(1)                               # −max softmax
    S["energy"] = -(logits.max(1) + np.log(e.sum(1)))      # −log Σ exp f
    P, M = T["precision"], T["class_means"]
    S["mahalanobis"] = np.min([np.einsum("nd,de,ne->n", h - m, P, h - m) for m in M], 0)
    nh = np.linalg.norm(h, axis=1, keepdims=True)
    u = np.where(nh > 0, h / np.where(nh > 0, nh, 1), 0)
    knn = np.concatenate([kth_distance(u[i:i + 100], T["knn"], head["knn_k"]) for i in range(0, len(u), 100)])
    S["knn"] = knn
    Z, G = zmaps(head, T, phi)
    blocks = [L["name"] for L in head["layers"]]
    used = [b for b in blocks if G[b].any()]
    S["spatial"] = np.mean([(Z[b][:, G[b]] ** 2).mean(1) for b in used], 0)
    if blocks[0] + ".weight" in T:
        terms = []
        for b in used:
            w = T[b + ".weight"][0] * G[b]
            if w.sum() > 0: terms.append((Z[b] ** 2 * w).sum(1) / w.sum())
        S["spatial_zeta"] = np.mean(terms, 0)
    t = block_t(head, T, Z, G)
    S["spatial_cov"] = np.mean(t, 0) if t else np.zeros(len(h))
    S["spatial_typ"] = np.mean(np.abs(t), 0) if t else np.zeros(len(h))
    if "spatial_bank" in T:
        v = spatial_v(blocks, Z, G)
        S["spatial_knn"] = np.concatenate([kth_distance(v[i:i + 100], T["spatial_bank"], head["knn_k"]) for i in range(0, len(v), 100)])
    return S, Z, G


def block_t(head, T, Z, G):
    """t_l = (d_l − a_l)/b_l of every block with G_l non-empty and b_l > 0, d_l = (z_l − z̄_l)ᵀ P_l (z_l − z̄_l) over G_l."""
    t = []
    for L in head["layers"]:
        b = L["name"]; a_l, b_l = T[b + ".cov_scale"][0]
        if not G[b].any() or not b_l > 0: continue
        c = (Z[b] - T[b + ".cov_centre"][0])[:, G[b]]
        t.append((np.einsum("np,pq,nq->n", c, T[b + ".cov_precision"][np.ix_(G[b], G[b])], c) - a_l) / b_l)
    return t


def spatial_v(blocks, Z, G):
    """v(x): z_l/√(|G_l|·L) concatenated over the blocks (zeros for a block with G_l empty)."""
    L = sum(G[b].any() for b in blocks)
    return np.concatenate([Z[b] / np.sqrt(G[b].sum() * L) if G[b].any() else Z[b] * 0 for b in blocks], 1)


# ---------------------------------------------------------------- the window test
def sketch_F(q, v, left):
    """F_g(v) (left=False) or its left limit F_g(v−): linear between the q_j at j/(Q−1); jumps where q repeats."""
    Q = len(q)
    if left:
        j = np.searchsorted(q, v, "left") - 1    # last q_j < v
        if j < 0: return 0.0
        if j >= Q - 1: return 1.0
        return (j + (v - q[j]) / (q[j + 1] - q[j])) / (Q - 1)   # q_j < v ≤ q_{j+1}: q_{j+1} > q_j
    j = np.searchsorted(q, v, "right") - 1       # last q_j ≤ v
    if j < 0: return 0.0
    if j >= Q - 1: return 1.0
    return (j + (v - q[j]) / (q[j + 1] - q[j])) / (Q - 1)


def ks(window, q):
    v = np.sort(window); n = len(v)
    return max(max((i + 1) / n - sketch_F(q, x, False), sketch_F(q, x, True) - i / n) for i, x in enumerate(v))


def q_ks(lam):
    """Q_KS(λ) = 2 Σ_{j≥1} (−1)^{j−1} e^{−2j²λ²}; for small λ its Jacobi-theta form 1 − √(2π)/λ Σ e^{−(2j−1)²π²/(8λ²)}."""
    if lam <= 0: return 1.0
    if lam < 1:
        return 1 - np.sqrt(2 * np.pi) / lam * sum(np.exp(-(2 * j - 1) ** 2 * np.pi ** 2 / (8 * lam * lam)) for j in range(1, 40))
    return 2 * sum((-1) ** (j - 1) * np.exp(-2 * j * j * lam * lam) for j in range(1, 200))


def ks_p(D, n, N):
    ne = n * N / (n + N); r = np.sqrt(ne)
    return min(1.0, max(0.0, q_ks((r + 0.12 + 0.11 / r) * D)))


def check_window(wl, head, T, phi32, keys):
    n, first, alpha = wl["images"], wl["first"], wl["alpha"]
    where = [(b, r) for L in head["layers"] for b in [L["name"]] for r in range(len(T[b + ".sd"][0])) if T[b + ".sd"][0][r] > MIN_SD]
    D = np.array([ks(phi32[b][first:first + n, r], T[b + ".quantiles"][r]) for b, r in where])
    p = np.array([ks_p(d, n, head["images"]) for d in D])
    adj = IR.bh(p)
    order = sorted(range(len(where)), key=lambda i: (adj[i], p[i], -D[i], i))
    mine = [(where[i][0], keys[where[i][0]][where[i][1]]) for i in order[:TOP]]
    theirs = [(r["layer"], r["region"]) for r in wl["top_regions"]]
    if len(where) != wl["regions_tested"]: say(f"  !! window {wl['window']}: regions_tested mine {len(where)} file {wl['regions_tested']}")
    drifting = int((adj < alpha).sum())
    return dict(D=D, p=p, adj=adj, where=where, mine=mine, theirs=theirs, drifting=drifting, alarm=drifting > 0,
                index={(b, keys[b][r]): i for i, (b, r) in enumerate(where)})


# ---------------------------------------------------------------- the profile's statistics from the clean data
def ledoit_wolf(x):
    """sklearn.covariance.ledoit_wolf (assume_centered=False), written from its definition."""
    n, p = x.shape; c = x - x.mean(0); S = c.T @ c / n; m = np.trace(S) / p
    d2 = ((S - m * np.eye(p)) ** 2).sum() / p
    # Σ_i ‖c_i c_iᵀ − S‖²_F with the square expanded: ‖c_i‖⁴ − 2 c_iᵀ S c_i + ‖S‖²_F
    b2 = min(d2, ((c * c).sum(1) ** 2 - 2 * np.einsum("np,pq,nq->n", c, S, c) + (S * S).sum()).sum() / (n * n * p))
    rho = b2 / d2 if d2 > 0 else 1.0
    return x.mean(0), rho * m * np.eye(p) + (1 - rho) * S


def ridge_inverse(S):
    D = len(S); return np.linalg.inv(S + (1e-6 * np.trace(S) / D + 1e-12) * np.eye(D))


def check_fit(head, T, limit):
    files = [f["path"] for f in head["about"]["data"]["files"] if os.path.basename(f["path"]).startswith("data_batch_")]
    for f in head["about"]["data"]["files"]:
        if f["path"] in files and hashlib.sha256(open(f["path"], "rb").read()).hexdigest() != f["sha256"]:
            raise SystemExit(f"{f['path']}: SHA-256 differs from the profile's")
    N = head["images"]; n = N if limit == "all" else min(int(limit), N)
    y, pix = read_cifar(files, n)
    spec = head["grid"]; phi, h, logits, bound = features(pix, spec, head["lambda"], head["epsilon"])
    say(f"profile fit: {n} of its {N} images recomputed")
    blocks = [L["name"] for L in head["layers"]]
    if n == N:
        for b in blocks:
            mu, sd = phi[b].mean(0), phi[b].std(0)
            cmp_tol(f"fit {b}.mean", mu, T[b + ".mean"][0], 1e-5, 1e-5, bound[b])
            cmp_tol(f"fit {b}.sd", sd, T[b + ".sd"][0], 1e-4, 1e-5, bound[b])
            # the sketch of the float φ the fit keeps
            cmp_tol(f"fit {b}.quantiles", np.quantile(phi[b].astype(np.float32).astype(float), np.linspace(0, 1, head["quantiles"]), axis=0).T,
                    T[b + ".quantiles"], 1e-5, 1e-5, bound[b][:, None])
        M = np.array([h[y == k].mean(0) for k in range(head["classes"])])
        cmp_tol("fit class_means", M, T["class_means"], 1e-5, 1e-5)
        c = h - M[y]; Sig = c.T @ c / n; P = ridge_inverse(Sig)
        # dead units (h ≡ 0 on the fit images) get 1/δ on the diagonal and dwarf the rest: compared apart
        live = np.diag(Sig) > 0
        cmp_tol(f"fit precision, {live.sum()} live units", P[np.ix_(live, live)], T["precision"][np.ix_(live, live)], 1e-3, 1e-4)
        if (~live).any():
            cmp_tol(f"fit precision, {(~live).sum()} dead units' rows", P[~live], T["precision"][~live], 1e-4, 1e-6)
        # stored z of the fit images against the stored μ, σ (README: block_z of the stored profile)
        Z, G = zmaps(head, T, phi)
        for b in blocks:
            if not G[b].any(): continue
            centre, C = ledoit_wolf(Z[b][:, G[b]])
            Pl = ridge_inverse(C)
            cmp_tol(f"fit {b}.cov_centre", centre, T[b + ".cov_centre"][0][G[b]], 1e-4, 1e-5)
            cmp_tol(f"fit {b}.cov_precision", Pl, T[b + ".cov_precision"][np.ix_(G[b], G[b])], 1e-3, 1e-4)
            cc = Z[b][:, G[b]] - centre; d = np.einsum("np,pq,nq->n", cc, Pl, cc)
            cmp_tol(f"fit {b}.cov_scale (a_l, b_l)", [d.mean(), d.std()], T[b + ".cov_scale"][0], 1e-4, 1e-5)
            if (T[b + ".cov_precision"][~G[b]] != 0).any() or (T[b + ".cov_centre"][0][~G[b]] != 0).any():
                say(f"  !! fit {b}: spatial_cov tensors non-zero outside G_l")
        # README's properties on the fit images, with the profile's own tensors: every block's t_l = (d_l − a_l)/b_l
        # has mean 0 and population sd 1, so spatial_typ's mean is ≤ 1
        S, _, _ = scores(head, T, phi, h, logits)
        ts = block_t(head, T, *zmaps(head, T, phi))
        cmp_tol("fit t_l mean (0) and sd (1), every block", [[t.mean(), t.std()] for t in ts], [[0, 1]] * len(ts), 0, 1e-4)
        say(f"  fit images: mean spatial_typ {S['spatial_typ'].mean():.6f} (README: ≤ 1)")
        if S["spatial_typ"].mean() > 1 + 1e-5: say("  !! mean spatial_typ over the fit images exceeds 1")
    else:
        Z, G = zmaps(head, T, phi)
    K = min(n, len(T["knn"]))
    nh = np.linalg.norm(h[:K], axis=1, keepdims=True)
    cmp_tol("fit knn unit vectors", np.where(nh > 0, h[:K] / np.where(nh > 0, nh, 1), 0), T["knn"][:K], 1e-4, 1e-5)
    if "spatial_bank" in T:
        B = min(n, len(T["spatial_bank"]))
        cmp_tol("fit spatial_bank", spatial_v(blocks, {b: Z[b][:B] for b in blocks}, G), T["spatial_bank"][:B], 1e-4, 1e-4)


# ---------------------------------------------------------------- monitor.jsonl
def check_monitor(head, T, mdir, idir):
    lines = [json.loads(s) for s in open(mdir + "/monitor.jsonl")]
    imgs = [l for l in lines if "image" in l]; wins = [l for l in lines if "window" in l]
    y, pix = read_cifar([idir + "/test_batch.bin"], len(imgs))
    if [l["image"] for l in imgs] != list(range(len(imgs))): say("  !! image lines are not 0 … n−1 in order")
    if [l["label"] for l in imgs] != list(y): say("  !! labels differ from the input's")
    spec = head["grid"]
    phi, h, logits, _ = features(pix, spec, head["lambda"], head["epsilon"])
    S, Z, G = scores(head, T, phi, h, logits)
    say(f"monitor.jsonl: {len(imgs)} images, {len(wins)} windows")
    f = {k: np.array([l["scores"][k] for l in imgs]) for k in ("spatial_typ", "spatial_cov")}
    if (f["spatial_typ"] < np.abs(f["spatial_cov"]) - 1e-6 * np.abs(f["spatial_cov"])).any():
        say("  !! spatial_typ < |spatial_cov| in the file (README: ≥ always)")
    pred = logits.argmax(1)
    bad = [i for i, l in enumerate(imgs) if l["prediction"] != pred[i]]
    if bad: say(f"  !! prediction differs at {len(bad)} images, e.g. {bad[:5]}")
    names = list(imgs[0]["scores"])
    if set(names) != set(S): say(f"  !! score keys: file {names}, README's for this profile {sorted(S)}")
    for k in names:
        if k in S:
            # 7 significant digits written, a float32 forward: 1e-5 relative; the quadratic forms (Mahalanobis
            # and the block distances of spatial_cov/typ, whose (d − a)/b cancels) get their scale's 1e-4; a
            # distance moves by at most the float rounding of its vectors (‖Δu‖, ‖Δv‖ ≤ 1e-5), also near 0.
            rel, floor = {"mahalanobis": (1e-4, 1e-4), "spatial_cov": (1e-4, 1e-4), "spatial_typ": (1e-4, 1e-4),
                          "knn": (2e-5, 1e-5), "spatial_knn": (2e-5, 1e-5)}.get(k, (2e-5, 2e-6))
            cmp_tol(f"image {k}", S[k], [l["scores"][k] for l in imgs], rel, floor)
    blocks = [L["name"] for L in head["layers"]]
    keys = {b: [r[0] for r in IR.regions(b, spec)] for b in blocks}
    box = {}
    def box_of(b, key):
        if (b, key) not in box:
            _, _, rs, ws = next(r for r in IR.regions(b, spec) if r[0] == key)
            (top, bottom), (left, right) = (IR.input_span(IR.block_out[b], axis, sl.start, sl.stop) for axis, sl in ((0, rs), (1, ws)))
            box[(b, key)] = [top, left, bottom, right]  # README: [top, left, bottom, right) on the input
        return box[(b, key)]
    # the 5 largest |z| over every region of G (ties: block order, then region order); each block's largest
    flat = np.concatenate([np.where(G[b], np.abs(Z[b]), -1) for b in blocks], 1)
    tags = [(b, r) for b in blocks for r in range(len(keys[b]))]
    top_diff, near_tie, zs_m, zs_f, layer_diff, box_diff = 0, 0, [], [], 0, 0
    for i, l in enumerate(imgs):
        order = np.lexsort((np.arange(flat.shape[1]), -flat[i]))[:TOP]
        mine = [(tags[j][0], keys[tags[j][0]][tags[j][1]]) for j in order]
        theirs = [(r["layer"], r["region"]) for r in l["top_regions"]]
        if mine != theirs:
            # a swap of two |z| equal to float rounding is no disagreement: compare the |z| sequences
            mz = np.sort(flat[i])[::-1][:TOP]; fz = np.array([abs(r["z"]) for r in l["top_regions"]])
            if np.allclose(mz, fz, rtol=1e-4, atol=1e-5): near_tie += 1
            else: top_diff += 1
        for r in l["top_regions"] + list(l["layer_top"].values()):
            j = keys[r["layer"]].index(r["region"]); zs_m.append(Z[r["layer"]][i, j]); zs_f.append(r["z"])
            if r["box"] != box_of(r["layer"], r["region"]): box_diff += 1
        lt = {b: keys[b][int(np.argmax(np.where(G[b], np.abs(Z[b][i]), -1)))] for b in blocks if G[b].any()}
        if list(lt) != list(l["layer_top"]) or any(lt[b] != l["layer_top"][b]["region"] and
                                                  not np.isclose(abs(Z[b][i, keys[b].index(l["layer_top"][b]["region"])]),
                                                                 np.abs(Z[b][i][G[b]]).max(), rtol=1e-4)
                                                  for b in lt):
            layer_diff += 1
    cmp_tol("top_regions / layer_top z (at the file's regions)", zs_m, zs_f, 1e-4, 2e-5)
    say(f"  top_regions order: {len(imgs) - top_diff - near_tie} same, {near_tie} swapped at |z| equal to 1e-4, {top_diff} different")
    if top_diff: say(f"  !! top_regions differ at {top_diff} images")
    if layer_diff: say(f"  !! layer_top differs at {layer_diff} images")
    if box_diff: say(f"  !! {box_diff} boxes differ from input_span")
    else: say("  boxes: every one equal to input_span")
    phi32 = {b: v.astype(np.float32).astype(np.float64) for b, v in phi.items()}  # the φ the window holds (float)
    Ds, Df, Ps, Pf, As, Af, alarms, drift_m, drift_f = [], [], [], [], [], [], [0, 0], [], []
    for wl in wins:
        w = check_window(wl, head, T, phi32, keys)
        drift_m.append(w["drifting"]); drift_f.append(wl["regions_drifting"])
        alarms[0] += w["alarm"]; alarms[1] += wl["alarm"]
        if w["alarm"] != wl["alarm"]: say(f"  !! window {wl['window']}: alarm mine {w['alarm']} file {wl['alarm']}")
        for r in wl["top_regions"]:
            j = w["index"][(r["layer"], r["region"])]
            Ds.append(w["D"][j]); Df.append(r["ks_distance"]); Ps.append(w["p"][j]); Pf.append(r["p"]); As.append(w["adj"][j]); Af.append(r["p_adjusted"])
            if r["box"] != box_of(r["layer"], r["region"]): say(f"  !! window {wl['window']} box of {r['layer']} {r['region']}")
        if w["mine"] != w["theirs"]:
            # a different order of regions whose (p̃, p, D) agree to float rounding is a tie, not a disagreement
            key = lambda k: np.array([w["adj"][w["index"][k]], w["p"][w["index"][k]], w["D"][w["index"][k]]])
            tie = all(np.allclose(key(a), key(b), rtol=1e-4, atol=1e-12) for a, b in zip(w["mine"], w["theirs"]))
            say(f"  {'' if tie else '!! '}window {wl['window']}: top regions mine {w['mine']} file {w['theirs']}")
        wl["_ms"] = {k: np.mean(S[k][wl["first"]:wl["first"] + wl["images"]]) for k in wl["mean_scores"] if k in S}
    if wins:
        cmp_tol("window ks_distance (top regions)", Ds, Df, 1e-5, 1e-6)
        cmp_tol("window p (top regions)", Ps, Pf, 1e-3, 1e-9)
        cmp_tol("window p_adjusted (top regions)", As, Af, 1e-3, 1e-9)
        if drift_m != drift_f: say(f"  !! regions_drifting mine {drift_m} file {drift_f}")
        else: say(f"  regions_drifting identical: {drift_f}")
        say(f"  alarms: mine {alarms[0]}, file {alarms[1]} of {len(wins)} windows")
        # mean_scores: the mean over the window's images (the lines since the previous window line)
        for k in wins[0]["mean_scores"]:
            if k in S:
                cmp_tol(f"window mean_scores {k}", [w["_ms"][k] for w in wins], [w["mean_scores"][k] for w in wins], 1e-4, 1e-4)
    return S


if __name__ == "__main__":
    args = sys.argv[1:]; fit = "all"
    if "--fit" in args:
        i = args.index("--fit"); fit = args[i + 1]; del args[i:i + 2]
    if len(args) != 4: raise SystemExit(__doc__)
    npz, prof, mdir, idir = args
    IR.model = json.load(open(npz[:-4] + ".model.json"))
    IR.W = {k: v.astype(np.float64) for k, v in np.load(npz).items()}
    IR.layers = IR.model["layers"]; IR.find_blocks()
    head, T = read_profile(prof)
    if [L["name"] for L in head["layers"]] != IR.blocks: say(f"  !! profile blocks {[L['name'] for L in head['layers']]} vs net {IR.blocks}")
    for L in head["layers"]:
        if L["grid"] != list(IR.grid_of(L["name"], head["grid"])): say(f"  !! {L['name']} grid {L['grid']} vs {IR.grid_of(L['name'], head['grid'])}")
    if "zeta_file" in head:  # README: w_g = |φ̂_g|, `shapley` of the region in the zeta.json the profile names
        Zf = json.load(open(head["zeta_file"]))["layers"]
        cmp_tol("profile weight = |shapley| of zeta.json", [abs(Zf[L["name"]]["regions"][k]["shapley"]) for L in head["layers"] for k in
                [r[0] for r in IR.regions(L["name"], head["grid"])]], np.concatenate([T[L["name"] + ".weight"][0] for L in head["layers"]]), 1e-7, 1e-9)
    check_monitor(head, T, mdir, idir)
    if fit != "0": check_fit(head, T, fit)
    worst = max(IR.report, key=lambda r: r[1]) if IR.report else None
    say("largest |Δ|:", worst)
    say(f"{IR.DISAGREE[0]} disagreement(s) beyond float rounding")
    sys.exit(1 if IR.DISAGREE[0] else 0)

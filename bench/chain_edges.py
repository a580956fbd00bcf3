#!/usr/bin/env python3
"""bench/chain_edges.py — why the strongest tractography chains run through the grid's border.

Reads tract.json and grid.json of one or more analyze output directories (python3 stdlib only) and
prints, per directory:
  - border share of the top-k chains' regions in the spatial layers (a region is on the border when
    its row block is the first or last, or its column block is; null = the border's share of the
    layer's cells, 28/64 on 8x8, 12/16 on 4x4);
  - the same for the top-k chains found with a per-source score, Σ log(C_{A→B} / out(A)) with
    out(A) = Σ_B C_{A→B} (each step's share of what its source sends), instead of the report's
    per-pair score Σ log(C_{A→B} / connection_strength) (which ranks like the raw flows);
  - and with a lift score, Σ log(C_{A→B} · n(A) / out(A)), n(A) the number of regions of the next
    layer A is structurally connected to (tract.json lists every connected pair): a step's share of
    A's out-flow relative to an even split over A's targets.  A border region of a convolution
    reaches fewer next-layer regions (padding clips its windows), so an even split already gives
    each of its links a larger share; the lift divides that out.  (Defined before it was measured.)
  - the border share of the report's own chains (tract.json's network.chains, the per-pair score:
    README "Tractography"; a NOTE when they are not the per-pair chains recomputed here), the
    routed-flow candidate of issue 12 (not adopted) only for a tract.json that lists κ ("kappa":
    written by branch c12's code alone), and for every chain list its links' strength: the mean over
    the chains' links of C_link / (the largest C of that pair), beside the null of a link drawn at
    random from the pair's connected links (the mean of C / max C over them);
  - where on the border the per-pair chains lie: the share of their spatial regions in the first
    row, the last row, the first column and the last column (the top rows of CIFAR-10 images are the
    brightest; with the images flipped upside down the content moves, the padding does not);
  - per spatial pair, mean out-flow of a border source region / mean out-flow of an interior one, and
    per spatial layer mean |a| (grid.json mean_abs) of border / interior regions.
Chains are found by a k-best Viterbi over the layers, as imaging/tract.cpp does for its own score.
Usage: bench/chain_edges.py [--k 5] DIR ...
"""
import heapq, json, math, sys


def key_ijk(key):
    return tuple(int(x) for x in key.split("_")[1:])


def on_border(key, grid):
    i, j, _ = key_ijk(key)
    return grid[0] > 1 and grid[1] > 1 and (i in (1, grid[0]) or j in (1, grid[1]))


def k_best_chains(layers, flows, k, weight):
    """flows[l]: {(a, b): C} for layers l -> l+1; weight(l, a, b, C) -> step score. Returns [(score, [regions])]."""
    best = {a: [(0.0, [a])] for (a, _) in flows[0]}
    for l in range(len(flows)):
        nxt = {}
        for (a, b), c in flows[l].items():
            if c <= 0 or a not in best:
                continue
            w = weight(l, a, b, c)
            for score, path in best[a]:
                nxt.setdefault(b, []).append((score + w, path + [b]))
        best = {b: heapq.nlargest(k, lst, key=lambda t: t[0]) for b, lst in nxt.items()}
    return heapq.nlargest(k, [c for lst in best.values() for c in lst], key=lambda t: t[0])


def study(d, k):
    tract = json.load(open(d + "/tract.json"))
    grid = json.load(open(d + "/grid.json"))
    grids = {name: layer["grid"] for name, layer in grid["layers"].items()}
    pairs = sorted(tract["pairs"].values(), key=lambda p: list(grids).index(p["from"]))
    layers = [pairs[0]["from"]] + [p["to"] for p in pairs]
    flows = [{(a, b): c for a, b, c in p["flows"]} for p in pairs]
    totals = [p["connection_strength"] for p in pairs]
    out = []
    for f in flows:
        o = {}
        for (a, _), c in f.items():
            o[a] = o.get(a, 0.0) + c
        out.append(o)
    spatial = [l for l, name in enumerate(layers) if grids[name][0] > 1 and grids[name][1] > 1]
    cells = sum(grids[layers[l]][0] * grids[layers[l]][1] for l in spatial)
    border_cells = sum(sum(1 for i in range(grids[layers[l]][0]) for j in range(grids[layers[l]][1])
                           if i in (0, grids[layers[l]][0] - 1) or j in (0, grids[layers[l]][1] - 1)) for l in spatial)

    largest = [max(f.values()) for f in flows]

    def strength(chains):  # mean over the chains' links of C / the pair's largest C
        v = [flows[l][(path[l], path[l + 1])] / largest[l] for _, path in chains for l in range(len(flows))]
        return sum(v) / len(v) if v else float("nan")

    null_strength = sum(sum(f.values()) / len(f) / largest[l] for l, f in enumerate(flows)) / len(flows)

    def sides(chains):  # share of the chains' spatial regions in the first / last row, first / last column
        n = 0
        c = [0, 0, 0, 0]
        for _, path in chains:
            for l in spatial:
                i, j, _ = key_ijk(path[l])
                g = grids[layers[l]]
                n += 1
                c[0] += i == 1
                c[1] += i == g[0]
                c[2] += j == 1
                c[3] += j == g[1]
        return " / ".join(f"{x / n:.2f}" for x in c) if n else "nan"

    def share(chains):
        n = b = 0
        for _, path in chains:
            for l in spatial:
                n += 1
                b += on_border(path[l], grids[layers[l]])
        return b / n if n else float("nan")

    per_pair = k_best_chains(layers, flows, k, lambda l, a, b, c: math.log(c / totals[l]))
    per_source = k_best_chains(layers, flows, k, lambda l, a, b, c: math.log(c / out[l][a]))
    targets = [{} for _ in flows]
    for l, f in enumerate(flows):
        for (a, _) in f:
            targets[l][a] = targets[l].get(a, 0) + 1
    lift = k_best_chains(layers, flows, k, lambda l, a, b, c: math.log(c * targets[l][a] / out[l][a]))
    # The routed-flow candidate (issue 12, not adopted: README "Tractography"), recomputed from the flows
    # and κ of a tract.json that lists κ: log C on the first pair, log(C / out*(A)) after,
    # out*(A) = out(A) / κ(A) (a chain net: one edge leaves each block).  Without κ it is not defined.
    has_kappa = any("kappa" in p for p in pairs)
    kappa = [p.get("kappa", {}) for p in pairs]
    routed = k_best_chains(layers, flows, k, lambda l, a, b, c: math.log(c) if l == 0 else
                           math.log(c * kappa[l].get(a, 1.0) / out[l][a])) if has_kappa else []
    print(f"{d}: model {tract['model']} epoch {tract['epoch']}, {tract['eval_samples']} images")
    print(f"  border share of the top-{k} chains' spatial regions: per-pair score {share(per_pair):.2f}, "
          f"per-source score {share(per_source):.2f}, lift score {share(lift):.2f}, null (border cells / cells) {border_cells / cells:.2f}")
    print(f"  per-pair chains' regions in the first row / last row / first column / last column: {sides(per_pair)}")
    listed = [(c["score"], [r["region"] for r in c["regions"]]) for c in tract["network"]["chains"][:k]]
    if len(listed) < k:
        print(f"  (tract.json lists {len(listed)} chains: run analyze with more chains for k = {k})")
    print("  report's chains (tract.json) border share: %.2f" % share(listed) +
          ("; routed-flow candidate (tract.json's κ), top-%d: %.2f" % (k, share(routed)) if has_kappa else ""))
    if listed and [p for _, p in per_pair[:len(listed)]] != [p for _, p in listed]:
        print("  NOTE: tract.json's chains differ from the per-pair chains recomputed here (another score, or ties)")
    print(f"  link strength C/max C of the pair: per-pair {strength(per_pair):.3f}, per-source {strength(per_source):.3f}, "
          f"lift {strength(lift):.3f}, report's {strength(listed):.3f}, "
          + (f"routed top-{k} {strength(routed):.3f}, " if has_kappa else "") + f"null (a random connected link) {null_strength:.3f}")
    for l, p in enumerate(pairs):
        g = grids[p["from"]]
        if g[0] <= 1 or g[1] <= 1:
            continue
        bo = [v for a, v in out[l].items() if on_border(a, g)]
        inner = [v for a, v in out[l].items() if not on_border(a, g)]
        if bo and inner:
            print(f"  {p['from']}->{p['to']}: mean out-flow of a border / an interior source region {sum(bo) / len(bo) / (sum(inner) / len(inner)):.3f}")
    for name, layer in grid["layers"].items():
        g = layer["grid"]
        if g[0] <= 2 or g[1] <= 2:
            continue
        bo = [r["mean_abs"] for key, r in layer["regions"].items() if on_border(key, g)]
        inner = [r["mean_abs"] for key, r in layer["regions"].items() if not on_border(key, g)]
        print(f"  {name}: mean |a| border / interior {sum(bo) / len(bo) / (sum(inner) / len(inner)):.3f}")


if __name__ == "__main__":
    args = sys.argv[1:]
    k = 5
    if args[:1] == ["--k"]:
        k, args = int(args[1]), args[2:]
    for d in args:
        study(d, k)

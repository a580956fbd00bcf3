#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py — writes the seed corpus of every `make fuzz` harness into tests/fuzz/seeds/.

Small, valid-looking inputs in each harness's input format (see the comment at the top of each
tests/fuzz/fuzz_*.cpp), plus a few near-misses (truncated, trailing bytes, wrong counts) so that the
fuzzer starts next to every check.  Python's standard library only; run it again after changing an
input format:  /usr/bin/python3 tests/fuzz/make_seeds.py
"""
import gzip
import json
import os
import shutil
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")


def put(harness, name, data):
    os.makedirs(os.path.join(SEEDS, harness), exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(SEEDS, harness, name), "wb") as f:
        f.write(data)


def gz(data):
    return gzip.compress(data, mtime=0)


# ---- CIFAR-10: records, "META|", batches.meta.txt
def cifar_records(labels):
    out = b""
    for i, label in enumerate(labels):
        out += bytes([label]) + bytes((i * 31 + j) % 256 for j in range(3072))
    return out


def cifar():
    put("cifar10", "two_records", cifar_records([0, 9]))
    put("cifar10", "one_record_meta", cifar_records([3]) + b"META|" + "\n".join("class%d" % k for k in range(10)).encode() + b"\n")
    put("cifar10", "truncated", cifar_records([1])[:3072])
    put("cifar10", "bad_label", cifar_records([10]))
    put("cifar10", "short_meta", cifar_records([2]) + b"META|cat\r\ndog\n\n")


# ---- IDX: mode byte, images, "IDX|", labels
def idx_images(count, rows=28, cols=28, magic=0x803):
    return struct.pack(">IIII", magic, count, rows, cols) + bytes((i * 13 + j * 7) % 256 for i in range(count) for j in range(rows * cols))


def idx_labels(labels, magic=0x801):
    return struct.pack(">II", magic, len(labels)) + bytes(labels)


def idx():
    images, labels = idx_images(2), idx_labels([3, 9])
    put("idx", "plain_gzipped_by_harness", b"\x01" + images + b"IDX|" + labels)
    put("idx", "count_mismatch", b"\x01" + images + b"IDX|" + idx_labels([1]))
    put("idx", "wrong_dims", b"\x01" + idx_images(1, 27, 28) + b"IDX|" + idx_labels([0]))
    put("idx", "gz_files", b"\x00" + gz(images) + b"IDX|" + gz(labels))
    put("idx", "gz_trailing_bytes", b"\x00" + gz(images) + b"IDX|" + gz(labels) + b"garbage")
    put("idx", "gz_two_members", b"\x00" + gz(images[:100]) + gz(images[100:]) + b"IDX|" + gz(labels))
    put("idx", "gz_truncated", b"\x00" + gz(images)[:-9] + b"IDX|" + gz(labels))
    put("idx", "raw_files", b"\x00" + images + b"IDX|" + labels)


# ---- checkpoints: 'H' + header JSON + "|DATA|" + float32 tensors, or 'R' + a whole file
def checkpoint_parts(spec, shape, tensors, meta):
    channels = shape[0]
    header = {
        "spec": spec,
        "input": shape,
        "normalization": {"mean": [0.5] * channels, "std": [0.25] * channels},
        "epoch": 3,
        "class_names": ["a", "b", "c"],
        "tensors": [{"name": n, "shape": s} for n, s in tensors],
        "meta": meta,
    }
    values = sum(s[0] * s[1] * s[2] * s[3] for _, s in tensors)
    data = b"".join(struct.pack("<f", 0.01 * (k % 7) + 1.0) for k in range(values))
    return json.dumps(header, separators=(",", ":")).encode(), data


def framed(header, data):
    body = b"NNFMRIck" + struct.pack("<IQ", 1, len(header)) + header + data
    return body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF)


def checkpoints():
    meta = {"data": {"spec": "planted"}, "spec": "linear:3", "model": "tiny"}
    small = checkpoint_parts("linear:3", [1, 2, 2], [("output.weight", [3, 4, 1, 1]), ("output.bias", [3, 1, 1, 1])], meta)
    conv = checkpoint_parts(
        "conv3x3:2 bn relu maxpool2 linear:3",
        [1, 4, 4],
        [("conv1.weight", [2, 1, 3, 3]), ("bn1.weight", [2, 1, 1, 1]), ("bn1.bias", [2, 1, 1, 1]),
         ("bn1.running_mean", [2, 1, 1, 1]), ("bn1.running_var", [2, 1, 1, 1]),
         ("output.weight", [3, 8, 1, 1]), ("output.bias", [3, 1, 1, 1])],
        {"data": {"spec": "cifar10:x"}},
    )
    for name, (header, data) in (("linear", small), ("conv_bn", conv)):
        put("checkpoint", name, b"H" + header + b"|DATA|" + data)
        put("checkpoint", name + "_raw", b"R" + framed(header, data))
    header, data = small
    put("checkpoint", "short_data", b"H" + header + b"|DATA|" + data[:-4])
    put("checkpoint", "meta_wrong_type", b"H" + header.replace(b'"meta":{', b'"meta":{"x":{"data":5},') + b"|DATA|" + data)


# ---- the run directory: "@@<k>\n<file>" sections (k: see kFiles in fuzz_report.cpp)
LAYERS = [("conv1", 4, 4, 2, 2, 2, 2), ("pool1", 2, 2, 2, 2, 2, 1), ("output", 1, 1, 3, 1, 1, 3)]


def key(r, gw, gc):
    return "grid_%d_%d_%d" % (r // (gc * gw) + 1, (r // gc) % gw + 1, r % gc + 1)


def grid_json(epoch):
    layers = {}
    for name, h, w, c, gh, gw, gc in LAYERS:
        n = gh * gw * gc
        regions = {key(r, gw, gc): {"density": 0.1 * r + 0.01 * epoch, "variance": 0.2, "activation_count": h * w * c // n,
                                    "mean_abs": 0.05 * r, "active_fraction": 0.8 if r else 0.01,
                                    "information_bits": 0.2 + 0.05 * r, "information_null_bits": 0.05} for r in range(n)}
        layers[name] = {"shape": [h, w, c], "grid": [gh, gw, gc], "coverage": 0.9, "dead_regions": [key(0, gw, gc)],
                        "regions": regions}
    return {"model": "tiny", "epoch": epoch, "eval_samples": 64, "settings": {"grid": [2, 2, 2]}, "layers": layers}


def zeta_json(epoch):
    layers = {}
    for name, h, w, c, gh, gw, gc in LAYERS:
        n = gh * gw * gc
        regions = {}
        for r in range(n):
            z = (r - n / 2) * (1 if epoch == 1 else -1) + 0.1 * epoch
            regions[key(r, gw, gc)] = {"zeta_score": z, "confidence_interval": [z - 0.5, z + 0.5], "significance": z >= 2,
                                       "shapley": 0.01 * z, "shapley_ci": [0.01 * z - 0.005, 0.01 * z + 0.005],
                                       "p_value": 0.5, "lesion": 0.02 * z, "taylor": 0.03 * z}
        critical = [k for k, v in regions.items() if v["zeta_score"] >= 2]  # significant, and their share below
        layers[name] = {"method": "shapley", "eval_samples": 32, "regions": regions,
                        "critical_regions": critical, "critical_share": len(critical) / n}
    return {"model": "tiny", "epoch": epoch, "settings": {"method": "shapley"}, "layers": layers}


def tract_json():
    pairs = {}
    for l in range(len(LAYERS) - 1):
        a, b = LAYERS[l], LAYERS[l + 1]
        flows = [[key(r, a[5], a[6]), key(r % (b[4] * b[5] * b[6]), b[5], b[6]), 1.0 + r] for r in range(a[4] * a[5] * a[6])]
        pairs["layer_%d_to_%d" % (l, l + 1)] = {"from": a[0], "to": b[0], "connection_strength": 30.0 + l,
                                                 "pathway_efficiency": 0.5, "connected_pairs": 8, "flows": flows}
    chain = [{"layer": "conv1", "region": "grid_2_2_2"}, {"layer": "pool1", "region": "grid_2_2_1"},
             {"layer": "output", "region": "grid_1_1_2"}]
    return {"eval_samples": 64, "pairs": pairs, "network": {"path_strength": 61.0, "chains": [{"regions": chain, "score": -1.25}]}}


def run_sections(parts):
    return "".join("@@%s\n%s" % (chr(ord("0") + k), text) for k, text in parts)


def report():
    config = {"version": "0.1.0", "model": "tiny", "spec": "conv3x3:2 relu maxpool2 linear:3",
              "data": {"spec": "planted", "name": "planted", "classes": ["a", "b", "c"]}, "epochs": 3}
    metrics = "".join(json.dumps({"epoch": e, "train_loss": 2.0 / e, "train_acc": 0.2 * e, "test_loss": 2.1 / e,
                                  "test_acc": 0.15 * e, "learning_rate": 0.01}) + "\n" for e in (1, 2, 3))
    c = lambda d: json.dumps(d, separators=(",", ":"))
    full = [(0, c(config)), (1, metrics), (2, c(grid_json(1))), (3, c(zeta_json(1))), (4, c(tract_json())),
            (5, c(grid_json(2))), (6, c(zeta_json(2))), (7, c(tract_json()))]
    put("report", "full_run", run_sections(full))
    files = ["config.json", "metrics.jsonl"] + ["analysis/epoch_00%d/%s.json" % (e, k) for e in (1, 2)
                                                for k in ("grid", "zeta", "tract")]
    manifest = {"format": "nnfmri run", "version": 1, "status": "running", "epochs": 3, "completed_epoch": 2,
                "state": {"file": "checkpoints/epoch_002.state", "epoch": 2, "step": 5}, "threads": 1,
                "arguments": ["--data=planted", "--epochs=3"], "files": files}
    put("report", "full_run_manifest", run_sections(full + [(10, c(manifest))]))
    put("report", "zeta_only", run_sections([(3, c(zeta_json(1))), (8, c(zeta_json(2)))]))
    put("report", "tract_only", run_sections([(1, metrics), (4, c(tract_json()))]))
    put("report", "grid_and_metrics", run_sections([(0, c(config)), (1, metrics), (2, c(grid_json(1)))]))
    put("report", "huge_key", run_sections([(3, '{"layers":{"a":{"regions":{"grid_50000_1_1":{"zeta_score":1}}}}}')]))


# ---- NN-EEG: "@@k" sections of eeg/channels.json (0), epoch_001.json (1), epoch_001.npy (2),
# epoch_002.json (3), epoch_002.npy (4); values below 2 so that no float's bytes spell "@@"
def npy2d(rows, cols, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d,%d), }" % (rows, cols)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + struct.pack("<%df" % len(values), *values)


def eeg():
    names = [("loss", "", "", "loss")] + [("conv1/" + k, "conv1", "", k) for k in ("grad_norm", "update_ratio", "activity")]
    names += [("conv1/grid_1_%d_1" % j, "conv1", "grid_1_%d_1" % j, "region") for j in (1, 2)]
    channels = {"format": "nnfmri eeg channels", "version": 1, "rows": "one per SGD step, float32", "columns": len(names),
                "channels": [{"name": n, "block": b, "region": r, "channel": c} for n, b, r, c in names]}
    bands = {"delta": 0.5, "theta": 0.2, "alpha": 0.1, "beta": 0.1, "gamma": 0.1}

    def epoch(e, events):
        regions = {"grid_1_%d_1" % j: {"mean_activity": 0.25 * j, "gamma": 0.125} for j in (1, 2)}
        return {"epoch": e, "steps": [4 * e - 3, 4 * e], "window": 4, "span": [4 * e - 3, 4 * e], "loss": {"bands": bands, "trend_t": -2.5},
                "blocks": {"conv1": {"state": "learning", "activity_bands": bands, "grad_norm_bands": bands, "regions": regions}},
                "events": events}

    def rows(e):
        return npy2d(4, len(names), [0.015625 * ((t * 7 + c) % 64) + (1.5 if (e, t, c) == (2, 1, 3) else 0)
                                     for t in range(4) for c in range(len(names))])
    c = lambda d: json.dumps(d, separators=(",", ":"))
    event = {"step": 6, "block": "conv1", "region": "", "channel": "activity", "z": 8.5}
    full = [(0, c(channels)), (1, c(epoch(1, []))), (2, rows(1)), (3, c(epoch(2, [event]))), (4, rows(2))]
    put("eeg", "full_run", b"".join(b"@@%d\n" % k + (v if isinstance(v, bytes) else v.encode()) for k, v in full))
    put("eeg", "short_rows", b"".join(b"@@%d\n" % k + (v if isinstance(v, bytes) else v.encode()) for k, v in full[:4]) +
        b"@@4\n" + rows(2)[:-4])
    put("eeg", "npy_only", b"@@2\n" + rows(1))
    put("eeg", "no_channels", b"".join(b"@@%d\n" % k + (v if isinstance(v, bytes) else v.encode()) for k, v in full[1:]))


# ---- the spec parser: three bytes of input shape, then the spec
def specs():
    shape = bytes([2, 31, 31])  # 3 x 32 x 32
    for name, spec in [
        ("reference", "conv3x3:32 relu maxpool2 conv3x3:64 relu maxpool2 conv3x3:128 relu maxpool2 linear:256 relu linear:10"),
        ("small", "conv3x3:4 relu maxpool2 linear:10"),
        ("options", "conv5x5:6:s2:p0 bn relu maxpool2 linear:4 relu dropout:0.25 linear:2"),
        ("pools", "conv3x3:16 bn relu conv3x3:16 relu avgpool3:s2 gap linear:3"),
        ("winograd", "conv3x3:16 relu conv3x3:16 relu maxpool2:s1 linear:2"),
        ("bad_token", "conv3x3:8:q linear:10"),
        ("huge_padding", "conv3x3:4:p999999 linear:10"),
    ]:
        put("spec", name, shape + spec.encode())
    put("spec", "mnist_shape", bytes([0, 27, 27]) + b"conv3x3:8 relu maxpool2 linear:10")


# ---- the flag parser: NUL-separated arguments
def flags():
    for name, args in [
        ("grid", ["--grid", "8x8x4", "--stages", "grid,zeta,tract"]),
        ("zeta", ["--zeta-method=exact", "--zeta-samples", "16", "--zeta-tol", "0.01", "--zeta-budget", "2"]),
        ("mixed", ["run", "--epochs", "3", "--lr=0.5", "--nesterov", "--eval-samples", "100", "--tract-top", "4"]),
        ("bad", ["--grid", "9999x9999x9999", "--lambda", "nan"]),
    ]:
        put("flags", name, "\0".join(args))


# ---- the JSON reader
def jsons():
    put("json", "object", '{"layers":{"conv1":{"shape":[4,4,2],"grid":[2,2,2],"regions":{"grid_1_1_1":{"zeta_score":1.5}}}}}')
    put("json", "array", '[1, -2.5e3, true, null, "x", {"a": [[]]}]')
    put("json", "overflow", '{"a": [1, {"b": 1e999}]}')
    put("json", "deep", "[" * 70 + "]" * 70)
    put("json", "unicode", b'{"k\\u00e9y": "\\ud83d\\ude00", "bad": "\xff"}')


# ---- tensors: a mode byte (bit 0: safetensors, else .npz; bit 1: --ignore-extra), then the file
def npz(arrays):
    import io, zipfile
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        for name, (shape, values) in arrays.items():
            header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % "".join(f"{d}," for d in shape)
            header += " " * (-(10 + len(header) + 1) % 64) + "\n"
            body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode()
            body += b"".join(struct.pack("<f", v) for v in values)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(info, body)
    return out.getvalue()


def tensors():
    fixtures = os.path.join(HERE, "..", "nn", "fixtures")
    for dtype in ("f32", "f16", "bf16"):
        with open(os.path.join(fixtures, f"tiny_{dtype}.safetensors"), "rb") as f:
            data = f.read()
        put("tensors", f"safetensors_{dtype}", b"\x01" + data)
        put("tensors", f"safetensors_{dtype}_extra", b"\x03" + data)
    shapes = {"conv1.weight": [2, 2, 3, 3], "bn1.weight": [2], "bn1.bias": [2], "bn1.running_mean": [2],
              "bn1.running_var": [2], "output.weight": [3, 8], "output.bias": [3]}
    arrays = {n: (s, [0.01 * i for i in range(eval("*".join(map(str, s))))]) for n, s in shapes.items()}
    put("tensors", "npz", b"\x00" + npz(arrays))
    put("tensors", "npz_scalar", b"\x02" + npz({"x": ([], [1.0])}))


# ---- images: a mode byte (bit 0: .jpg, bit 1: --resize 8x8, bit 2: train/ and test/), then files split by "IMG|"
def png(w, h, channels, seed):
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    rows = b"".join(b"\x00" + bytes((seed * 31 + i * 7) % 256 for i in range(w * channels)) for _ in range(h))
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def images():
    four = b"IMG|".join(png(4, 3, 3, s) for s in range(4))
    put("images", "rgb_split", b"\x00" + four)
    put("images", "rgb_train_test_resize", b"\x06" + four)
    put("images", "gray_and_rgba", b"\x00" + b"IMG|".join([png(4, 3, 1, 1), png(4, 3, 4, 2), png(4, 3, 2, 3), png(4, 3, 1, 4)]))
    put("images", "sizes_differ", b"\x00" + b"IMG|".join([png(4, 3, 3, 1), png(5, 3, 3, 2)]))
    put("images", "sizes_differ_resize", b"\x02" + b"IMG|".join([png(4, 3, 3, 1), png(9, 2, 3, 2)]))


# ---- monitor profiles: mode byte, header JSON, "|DATA|", float32 tensors (the harness frames them)
def profiles():
    layers = [("fc1", [1, 1, 2], 2), ("output", [1, 1, 3], 3)]
    q = 3
    header = {"format": "nnfmri monitor profile", "profile_version": 3, "checkpoint_sha256": "ab" * 32, "about": {},
              "images": 10, "grid": [8, 8, 4], "lambda": 0.1, "epsilon": 1e-6, "quantiles": q, "knn_k": 1,
              "knn_images": 2, "spatial_bank": 10, "classes": 3, "features": 2,
              "layers": [{"name": n, "shape": shape, "grid": [1, 1, r]} for n, shape, r in layers]}
    tensors, data = [], b""
    for n, _, r in layers:
        for suffix, shape, values in ((".mean", [1, 1, 1, r], [0.5] * r), (".sd", [1, 1, 1, r], [1.0] * r),
                                      (".quantiles", [1, 1, r, q], [0.0, 0.5, 1.0] * r),
                                      (".cov_centre", [1, 1, 1, r], [0.0] * r),
                                      (".cov_precision", [1, 1, r, r], [float(i == j) for i in range(r) for j in range(r)]),
                                      (".cov_scale", [1, 1, 1, 2], [float(r), 1.0])):
            tensors.append({"name": n + suffix, "shape": shape})
            data += struct.pack("<%df" % len(values), *values)
    for name, shape, values in (("class_means", [1, 1, 3, 2], [0, 0, 1, 0, 0, 1]), ("precision", [1, 1, 2, 2], [1, 0, 0, 1]),
                                ("knn", [1, 1, 2, 2], [1, 0, 0, 1]),
                                ("spatial_bank", [1, 1, 10, 5], [0.1 * i for i in range(50)])):
        tensors.append({"name": name, "shape": shape})
        data += struct.pack("<%df" % len(values), *values)
    header["tensors"] = tensors
    text = json.dumps(header, separators=(",", ":")).encode()
    put("profile", "valid", b"\x00" + text + b"|DATA|" + data)
    put("profile", "short_data", b"\x00" + text + b"|DATA|" + data[:-4])
    put("profile", "unsorted_quantiles", b"\x00" + text + b"|DATA|" + data.replace(struct.pack("<3f", 0.0, 0.5, 1.0), struct.pack("<3f", 1.0, 0.5, 0.0), 1))
    body = b"NNFMRIpf" + struct.pack("<IQ", 1, len(text)) + text + data
    put("profile", "raw", b"R" + body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))


def states():
    """Training states for fuzz_state.cpp: the run's net "conv3x3:2 bn relu maxpool2 linear:3" on 1x4x4,
    seed 7, with SGD's momentum buffers (mode byte even) or Adam's two moments (odd), framed, or raw (SGD)."""
    spec = "conv3x3:2 bn relu maxpool2 linear:3"
    model = [("conv1.weight", [2, 1, 3, 3]), ("bn1.weight", [2, 1, 1, 1]),
             ("bn1.bias", [2, 1, 1, 1]), ("bn1.running_mean", [2, 1, 1, 1]), ("bn1.running_var", [2, 1, 1, 1]),
             ("output.weight", [3, 8, 1, 1]), ("output.bias", [3, 1, 1, 1])]
    learnable = [t for t in model if "running" not in t[0]]
    for name, mode, per_param in (("sgd", b"\x00", 1), ("adam", b"\x01", 2)):
        tensors = list(model) + [("optimizer.%d" % i, learnable[i % len(learnable)][1])
                                 for i in range(per_param * len(learnable))]
        header = {"spec": spec, "seed": 7, "epoch": 2, "step": 3, "loss_sum": 4.5, "correct": 5, "images": 12,
                  "optimizer_steps": 40, "net_rng": 12345,
                  "tensors": [{"name": n, "shape": s} for n, s in tensors]}
        values = sum(s[0] * s[1] * s[2] * s[3] for _, s in tensors)
        data = b"".join(struct.pack("<f", 0.01 * (k % 7) + 1.0) for k in range(values))
        text = json.dumps(header, separators=(",", ":")).encode()
        put("state", name, mode + text + b"|DATA|" + data)
        put("state", name + "_short", mode + text + b"|DATA|" + data[:-4])
        if per_param == 1:  # a raw file ('R', even: SGD) as train wrote it
            body = b"NNFMRIst" + struct.pack("<IQ", 1, len(text)) + text + data
            put("state", name + "_raw", b"R" + body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))


def serve():
    """Request paths for fuzz_serve.cpp: every endpoint, the files run.json lists and does not list, the
    link out of the root, the run that is a link, and ways out by '..', encodings and backslashes."""
    for name, path in (("root", "/"), ("runs", "/api/runs"), ("data", "/api/runs/r1/data"),
                       ("listed", "/api/runs/r1/files/config.json"),
                       ("epoch", "/api/runs/r1/files/analysis/epoch_001/zeta.json"),
                       ("metrics", "/api/runs/r1/files/metrics.jsonl"), ("manifest", "/api/runs/r1/files/run.json"),
                       ("unlisted", "/api/runs/r1/files/unlisted.json"), ("link", "/api/runs/r1/files/link.json"),
                       ("link_run", "/api/runs/out/files/secret.json"), ("link_run_data", "/api/runs/out/data"),
                       ("dotdot", "/api/runs/r1/files/../out/secret.json"), ("encoded", "/api/runs/r1/files/%2e%2e/out/run.json"),
                       ("backslash", "/api/runs/r1/files/..\\..\\outside\\secret.json"), ("no_run", "/api/runs/zz/data")):
        put("serve", name, path)


def lesions():
    """Lesion texts for fuzz_lesion.cpp (BLOCK:PATTERN[,PATTERN...], then NUL and a --grid value)."""
    for name, text in (("one", "conv1:grid_1_1_1"), ("block", "pool1:*"), ("two", "conv2:grid_*_2_*,grid_1_*_1"),
                       ("output", "output:grid_1_1_2"), ("short_key", "conv1:grid_1_1"), ("none", "conv1:grid_9_*_*"),
                       ("stars", "conv1:grid_**_1_1"), ("no_block", "fc:*"), ("two_blocks", "conv1:grid_1_1_1,pool1:*"),
                       ("grid_1", "conv2:*_1\x001x1x1"), ("grid_big", "conv1:grid_8_8_*\x0064x64x64"),
                       ("grid_bad", "pool1:*\x004x4")):
        put("lesion", name, text.encode().decode("unicode_escape"))


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    cifar()
    idx()
    checkpoints()
    report()
    eeg()
    specs()
    flags()
    jsons()
    tensors()
    images()
    profiles()
    serve()
    states()
    lesions()


if __name__ == "__main__":
    main()

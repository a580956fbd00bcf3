#!/usr/bin/python3
"""Rebuild an nnfmri net in PyTorch from `nnfmri export CKPT --npz OUT.npz` (+ OUT.model.json) and check it against
`nnfmri eval CKPT --data D --dump DUMP.npz`:  rebuild_from_npz.py OUT.npz DUMP.npz   (exit 1 if max |Δlogit| > 1e-4)"""
import json, os, sys
import numpy as np, torch
from torch import nn

LAYERS = {"conv2d": lambda l: nn.Conv2d(l["in_channels"], l["out_channels"], l["kernel"], l["stride"], l["padding"],
                                        bias=l["bias"]),
          "linear": lambda l: nn.Linear(l["in_features"], l["out_features"]),
          "batchnorm2d": lambda l: nn.BatchNorm2d(l["num_features"], l["eps"], l["momentum"]),
          "maxpool": lambda l: nn.MaxPool2d(l["kernel"], l["stride"]),
          "avgpool": lambda l: nn.AvgPool2d(l["kernel"], l["stride"]),
          "gap": lambda l: nn.AdaptiveAvgPool2d(1), "relu": lambda l: nn.ReLU(),
          "dropout": lambda l: nn.Dropout(l["p"]),
          "add": lambda l: Add(), "pad_shortcut": lambda l: PadShortcut(l["stride"], l["pad_front"], l["pad_back"])}

class Add(nn.Module):  # a residual unit's add: branch + shortcut
    def forward(self, branch, shortcut): return branch + shortcut

class PadShortcut(nn.Module):  # option A: subsample by the stride, zero channels before and after
    def __init__(self, stride, front, back): super().__init__(); self.s, self.front, self.back = stride, front, back
    def forward(self, x): return nn.functional.pad(x[:, :, ::self.s, ::self.s], (0, 0, 0, 0, self.front, self.back))

class Rebuilt(nn.ModuleDict):  # the layers in order, keyed by nnfmri name ("conv1.relu" → "conv1_relu", no params)
    def forward(self, x):  # x (N, C, H, W) normalised: (pixel/255 − mean[c]) / std[c] of .normalization
        outs = []  # the output of every layer
        for j in range(len(self.graph)): outs.append(self.layer(j, outs, x))
        return outs[-1]  # logits (N, K)

    def layer(self, j, outs, x):  # layer j on the outputs so far: it reads outs[input] (−1: x), an add also outs[shortcut]
        read = lambda i: x if i < 0 else outs[i]
        l, m = self.graph[j], self.modules_in_order[j]
        y = read(l.get("input", j - 1))
        return m(y, read(l["shortcut"])) if isinstance(m, Add) else m(y.flatten(1) if isinstance(m, nn.Linear) else y)

def cuts(n, g):  # README *Region grid*: n rows (columns, channels) cut into g near-equal parts
    return [(i * n // g, (i + 1) * n // g) for i in range(g)]

def block_outputs(graph):
    """{block: index of its output layer} in the net's order (README, *The spec language*: "res3.conv1" is in block
    res3, a top-level bnK in the block of the layer it reads; a block's output is its last layer that is not a
    shortcut's)."""
    def block_of(i):
        l = graph[i]
        if l["kind"] == "batchnorm2d" and "." not in l["name"]: return block_of(l.get("input", i - 1))
        return l["name"].split(".")[0]
    out = {}
    for i, l in enumerate(graph):
        if l["name"].split(".")[-1] not in ("pad", "proj", "proj_bn"): out[block_of(i)] = i
    return out

def rebuild(npz_path, model_json_path):
    model = json.load(open(model_json_path))
    net = Rebuilt({l["name"].replace(".", "_"): LAYERS[l["kind"]](l) for l in model["layers"]})
    net.graph = model["layers"]
    net.modules_in_order = list(net.values())
    # "res1.proj_bn.weight" is parameter "weight" of layer "res1.proj_bn" (module res1_proj_bn)
    state = {k.rsplit(".", 1)[0].replace(".", "_") + "." + k.rsplit(".", 1)[1]: torch.from_numpy(v)
             for k, v in np.load(npz_path).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    net.normalization = model["normalization"]
    return net.eval()

if __name__ == "__main__":
    npz, dump = sys.argv[1], np.load(sys.argv[2])
    # as `nnfmri export` names it (nn::npz_description_path): NAME.npz → NAME.model.json; any other
    # name, a file named .npz alone included, → itself + .model.json
    stem = npz.endswith(".npz") and len(os.path.basename(npz)) > 4
    model_json = (npz[:-4] if stem else npz) + ".model.json"
    with torch.no_grad(): logits = rebuild(npz, model_json)(torch.from_numpy(dump["input"])).numpy()
    diff, agree = float(np.abs(logits - dump["logits"]).max()), np.mean(logits.argmax(1) == dump["logits"].argmax(1))
    print(f"max |logit difference| {diff:.3g} over {len(logits)} images (argmax agreement {agree:.4f})")
    sys.exit(0 if diff <= 1e-4 else 1)

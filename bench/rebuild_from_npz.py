#!/usr/bin/python3
"""Rebuild an nnfmri net in PyTorch from `nnfmri export CKPT --npz OUT.npz` (+ OUT.model.json) and check it against
`nnfmri eval CKPT --data D --dump DUMP.npz`:  rebuild_from_npz.py OUT.npz DUMP.npz   (exit 1 if max |Δlogit| > 1e-4)"""
import json, sys
import numpy as np, torch
from torch import nn

LAYERS = {"conv2d": lambda l: nn.Conv2d(l["in_channels"], l["out_channels"], l["kernel"], l["stride"], l["padding"],
                                        bias=l["bias"]),
          "linear": lambda l: nn.Linear(l["in_features"], l["out_features"]),
          "batchnorm2d": lambda l: nn.BatchNorm2d(l["num_features"], l["eps"], l["momentum"]),
          "maxpool": lambda l: nn.MaxPool2d(l["kernel"], l["stride"]),
          "avgpool": lambda l: nn.AvgPool2d(l["kernel"], l["stride"]),
          "gap": lambda l: nn.AdaptiveAvgPool2d(1), "relu": lambda l: nn.ReLU(),
          "dropout": lambda l: nn.Dropout(l["p"])}

class Rebuilt(nn.ModuleDict):  # the layers in order, keyed by nnfmri name ("conv1.relu" → "conv1_relu", no params)
    def forward(self, x):  # x (N, C, H, W) normalised: (pixel/255 − mean[c]) / std[c] of .normalization
        for m in self.values(): x = m(x.flatten(1) if isinstance(m, nn.Linear) else x)  # (C, H, W) order
        return x  # logits (N, K)

def rebuild(npz_path, model_json_path):
    model = json.load(open(model_json_path))
    net = Rebuilt({l["name"].replace(".", "_"): LAYERS[l["kind"]](l) for l in model["layers"]})
    state = {k: torch.from_numpy(v) for k, v in np.load(npz_path).items()}
    missing, unexpected = net.load_state_dict(state, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    net.normalization = model["normalization"]
    return net.eval()

if __name__ == "__main__":
    npz, dump = sys.argv[1], np.load(sys.argv[2])
    model_json = (npz[:-4] if npz.endswith(".npz") else npz) + ".model.json"  # as `nnfmri export` names it
    with torch.no_grad(): logits = rebuild(npz, model_json)(torch.from_numpy(dump["input"])).numpy()
    diff, agree = float(np.abs(logits - dump["logits"]).max()), np.mean(logits.argmax(1) == dump["logits"].argmax(1))
    print(f"max |logit difference| {diff:.3g} over {len(logits)} images (argmax agreement {agree:.4f})")
    sys.exit(0 if diff <= 1e-4 else 1)

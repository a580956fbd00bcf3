#!/usr/bin/python3
"""The `reference` (or `bn`, `resnet20`: --model) network trained in PyTorch with nnfmri's recipe: the peer of nnfmri.

Recipe (the same as `nnfmri train --model reference` with its defaults):
  net     conv3x3:32 relu maxpool2 conv3x3:64 relu maxpool2 conv3x3:128 relu maxpool2 linear:256 relu linear:10,
          padding 1, He-normal weights (kaiming_normal_, fan_in, relu) except the output layer's, which start at 0
          (nnfmri's --output-init zero), zero biases; --model resnet20: nnfmri's preset of that name (README
          "Residual networks": option A shortcuts, convs without bias before bn, bn weight 1 and bias 0); --model bn:
          nnfmri's `bn` preset (convs without bias before bn, dropout 0.3 before the output layer)
  data    CIFAR-10 binary batches read with numpy; x = (pixel/255 - mean[c]) / std[c] with the per-channel
          mean and (population) std of the training split
  augment random crop of the image padded with 4 black pixels on each side + horizontal flip with p = 1/2
  optim   SGD, momentum 0.9, weight decay 5e-4, lr 0.02 with a linear warm-up over the first epoch (W = steps_per_epoch
          steps, nnfmri's --warmup 1) and then a cosine schedule per iteration over the remaining steps:
          lr_t = lr * (t+1)/W for t < W, else lr * 1/2 * (1 + cos(pi * (t - W) / (T - W))), T = epochs * steps_per_epoch;
          batch 64 (the last one partial)

Modes:
  --mode speed --steps N     time N training steps (batch building + augmentation included, as in nnfmri's
                             train_images_per_s) after a few warm-up steps; prints `torch_images_per_s <value>`
  --mode accuracy --epochs E train E epochs; prints per-epoch test accuracy and seconds (training + test evaluation,
                             as nnfmri's `seconds`), then `torch_seconds_per_epoch <s>` and `torch_test_acc <value>`
Run with /usr/bin/python3 (Debian's python3-torch); torchvision is not needed.
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

RECORD_BYTES = 1 + 3 * 32 * 32  # label byte + R, G, B planes of 32x32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]


def load_cifar10(data_dir, names):
    """-> images uint8 (N, 3, 32, 32), labels int64 (N) from CIFAR-10 binary batches."""
    records = []
    for name in names:
        path = os.path.join(data_dir, name)
        if not os.path.isfile(path):
            sys.exit(f"torch_reference.py: error: --data {data_dir}: no {name} (expected the CIFAR-10 binary batches)")
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % RECORD_BYTES:
            sys.exit(f"torch_reference.py: error: {path}: expected a non-empty multiple of {RECORD_BYTES} bytes")
        records.append(raw.reshape(-1, RECORD_BYTES))
    records = np.concatenate(records)
    images = torch.from_numpy(records[:, 1:].reshape(-1, 3, 32, 32).copy())
    labels = torch.from_numpy(records[:, 0].astype(np.int64))
    return images, labels


def channel_mean_std(images):
    """Per-channel mean and population std of pixel/255 over the whole set, as datasets::channel_mean_std."""
    x = images.permute(1, 0, 2, 3).reshape(3, -1).double() / 255.0
    return x.mean(dim=1).float(), x.std(dim=1, unbiased=False).float()


def init_like_nnfmri(net, output):
    """nnfmri's default start: He-normal (fan in) weights and zero biases, the output layer at 0
    (--output-init zero)."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None: nn.init.zeros_(m.bias)
    nn.init.zeros_(output.weight)
    return net


def reference_net():
    layers = []
    channels = 3
    for width in (32, 64, 128):
        layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        channels = width
    layers += [nn.Flatten(), nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Linear(256, 10)]
    return init_like_nnfmri(nn.Sequential(*layers), layers[-1])  # the output at 0: logits 0, loss ln 10


class BasicBlock(nn.Module):
    """nnfmri's res( conv3x3 bn relu conv3x3 bn ) relu, with res:pad( (option A) when the stride is 2."""
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.stride, self.front, self.back = stride, (cout - cin) // 2, cout - cin - (cout - cin) // 2

    def forward(self, x):
        branch = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        shortcut = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.front, self.back))
        return F.relu(branch + shortcut)


def bn_net():
    """nnfmri's `bn` preset: conv3x3 bn relu twice per width (32, 64, 128) with a maxpool2 after each pair,
    then linear:256 relu dropout:0.3 linear:10; the convs before bn have no bias (bn's shift is one)."""
    layers, cin = [], 3
    for width in (32, 64, 128):
        for _ in range(2):
            layers += [nn.Conv2d(cin, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
            cin = width
        layers.append(nn.MaxPool2d(2))
    layers += [nn.Flatten(), nn.Linear(128 * 4 * 4, 256), nn.ReLU(), nn.Dropout(0.3), nn.Linear(256, 10)]
    net = nn.Sequential(*layers)
    return init_like_nnfmri(net, layers[-1])


def resnet_net(n=3):
    """nnfmri's resnet20 (n = 3): conv3x3:16 bn relu, 3 stages of n units (16, 32, 64), gap, linear:10."""
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage, width in enumerate((16, 32, 64)):
        for unit in range(n):
            layers.append(BasicBlock(cin, width, 2 if stage > 0 and unit == 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
    net = nn.Sequential(*layers)
    return init_like_nnfmri(net, layers[-1])


NETS = {"reference": reference_net, "bn": bn_net, "resnet20": resnet_net}


def make_batch(images, idx, mean, std, generator=None):
    """Normalised float batch (N, 3, 32, 32) of images[idx]; with a generator, randomly cropped and flipped.
    Output pixel (y, x) = input (y + dy, (flip ? 31 - x : x) + dx), black outside, dy, dx uniform in [-4, 4]."""
    x = images[idx]
    if generator is not None:
        n, pad = x.shape[0], 4
        padded = F.pad(x, (pad, pad, pad, pad))  # zeros = black pixels
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        flip = torch.rand(n, generator=generator) < 0.5
        grid = torch.arange(32)
        rows = dy[:, None] + grid  # (N, 32) in padded coordinates
        cols = torch.where(flip[:, None], 31 - grid, grid) + dx[:, None]
        x = padded[torch.arange(n)[:, None, None, None], torch.arange(3)[None, :, None, None],
                   rows[:, None, :, None], cols[:, None, None, :]]
    return (x.float() / 255.0 - mean[None, :, None, None]) / std[None, :, None, None]


class Trainer:
    def __init__(self, train_images, train_labels, epochs, batch, lr, seed, warmup_epochs=1, model="reference"):
        torch.manual_seed(seed)
        self.net = NETS[model]()
        self.images, self.labels = train_images, train_labels
        self.mean, self.std = channel_mean_std(train_images)
        self.batch, self.base_lr = batch, lr
        self.steps_per_epoch = (len(train_labels) + batch - 1) // batch
        self.total_steps = epochs * self.steps_per_epoch
        self.warm_steps = min(int(warmup_epochs * self.steps_per_epoch), self.total_steps)
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
        self.generator = torch.Generator().manual_seed(seed)
        self.t = 0

    def step(self, idx):
        """One SGD step on images[idx]; returns the loss."""
        self.net.train()
        x = make_batch(self.images, idx, self.mean, self.std, self.generator)
        y = self.labels[idx]
        # nn::learning_rate: linear warm-up, then cosine over the steps after it
        t, warm, total = min(self.t, self.total_steps), self.warm_steps, self.total_steps
        factor = (t + 1) / warm if warm > 0 and t < warm else 1.0
        pct = 0.0 if t < warm or total - warm <= 0 else (t - warm) / (total - warm)
        lr = self.base_lr * factor * 0.5 * (1 + math.cos(math.pi * pct))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        loss = F.cross_entropy(self.net(x), y)
        self.optimizer.zero_grad(set_to_none=False)
        loss.backward()
        self.optimizer.step()
        self.t += 1
        return loss.item()

    def epoch_batches(self):
        order = torch.randperm(len(self.labels), generator=self.generator)
        return [order[s:s + self.batch] for s in range(0, len(order), self.batch)]

    @torch.no_grad()
    def accuracy(self, images, labels, batch=256):
        self.net.eval()
        hits = 0
        for s in range(0, len(labels), batch):
            idx = torch.arange(s, min(s + batch, len(labels)))
            hits += (self.net(make_batch(images, idx, self.mean, self.std)).argmax(1) == labels[idx]).sum().item()
        return hits / len(labels)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=["speed", "accuracy"], default="speed")
    ap.add_argument("--data", default="../shared/datasets/cifar10-subset", help="directory of CIFAR-10 .bin batches")
    ap.add_argument("--steps", type=int, default=60, help="timed training steps (speed mode)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed steps before the timing (speed mode)")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--model", choices=sorted(NETS), default="reference", help="the nnfmri preset to rebuild")
    args = ap.parse_args()
    if args.steps < 1 or args.epochs < 1 or args.batch < 1 or args.threads < 1:
        ap.error("--steps, --epochs, --batch and --threads must be positive")
    torch.set_num_threads(args.threads)

    train_images, train_labels = load_cifar10(args.data, TRAIN_FILES)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(train_labels)} train images "
          f"from {args.data}", flush=True)

    if args.mode == "speed":
        steps_per_epoch = len(train_labels) // args.batch  # full batches only
        if steps_per_epoch == 0:
            sys.exit(f"torch_reference.py: error: --data {args.data}: fewer than --batch {args.batch} train images")
        epochs = math.ceil((args.warmup + args.steps) / steps_per_epoch)  # the schedule spans the timed steps
        trainer = Trainer(train_images, train_labels, epochs, args.batch, args.lr, args.seed, model=args.model)
        batches = []
        while len(batches) < args.warmup + args.steps:
            batches += trainer.epoch_batches()[:steps_per_epoch]
        for idx in batches[:args.warmup]:
            trainer.step(idx)
        start = time.perf_counter()
        for idx in batches[args.warmup:args.warmup + args.steps]:
            trainer.step(idx)
        seconds = time.perf_counter() - start
        print(f"torch_images_per_s {args.steps * args.batch / seconds:.1f}")
        return

    test_images, test_labels = load_cifar10(args.data, TEST_FILES)
    trainer = Trainer(train_images, train_labels, args.epochs, args.batch, args.lr, args.seed, model=args.model)
    acc, total_seconds = 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        loss_sum, count = 0.0, 0
        for idx in trainer.epoch_batches():
            loss_sum += trainer.step(idx) * len(idx)
            count += len(idx)
        train_seconds = time.perf_counter() - start
        acc = trainer.accuracy(test_images, test_labels)
        seconds = time.perf_counter() - start
        total_seconds += seconds
        print(f"epoch {epoch:3d}/{args.epochs}  train loss {loss_sum / count:.4f}  test acc {acc:.4f}  "
              f"{seconds:.1f}s ({count / train_seconds:.0f} img/s)", flush=True)
    print(f"torch_seconds_per_epoch {total_seconds / args.epochs:.2f}")
    print(f"torch_test_acc {acc:.4f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Training throughput: `fracsweep bench train` against the same model and data
path in python3-torch (the same LibTorch underneath), on the same machine in
one run, at the same thread count.

Model: the ResNet-18 baseline (torchvision layout, 1 input channel, 3 classes),
Adam. Data: a phantom store written by `fracsweep synth vcf`; minority
over-sampling, rotation up to 10 degrees and horizontal flips, normalisation to
[-1, 1]. Python reads with h5py in a `Dataset` and batches with a `DataLoader`
(workers = the C++ loader's workers); augmentation is torch's affine_grid +
grid_sample (bilinear), as the C++ loader's bilinear rotation.

Two figures per side: seconds per step on one batch held in memory (compute
only), and seconds per step with batches from the data path (end to end).

    /usr/bin/python3 bench/train_vs_pytorch.py [--binary build/fracsweep]
        [--patch-size 112] [--batch 32] [--steps 6] [--threads 2] [--workers 2] [--width 64]
        [--repeats 3]

Needs numpy, h5py and torch (`scripts/setup.sh --with-bench`).
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import tempfile
import time

# Both sides run with OpenMP threads that sleep rather than spin when idle, as
# fracsweep recommends for ranks sharing cores; set before torch loads OpenMP.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def resnet18(width=64, classes=3):
    def block(cin, cout, stride):
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
                self.bn1 = nn.BatchNorm2d(cout)
                self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
                self.bn2 = nn.BatchNorm2d(cout)
                self.downsample = None
                if stride != 1 or cin != cout:
                    self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                                    nn.BatchNorm2d(cout))

            def forward(self, x):
                y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
                return F.relu(y + (self.downsample(x) if self.downsample is not None else x))
        return Block()

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, width, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            layers, cin = [], width
            for mult, stride in ((1, 1), (2, 2), (4, 2), (8, 2)):
                layers.append(nn.Sequential(block(cin, width * mult, stride),
                                            block(width * mult, width * mult, 1)))
                cin = width * mult
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(cin, classes)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
            return self.fc(self.layers(x).mean((2, 3)))
    return Net()


class Patches(torch.utils.data.Dataset):
    def __init__(self, path, order, seed):
        self.path, self.order, self.seed, self.f = path, order, seed, None

    def __len__(self):
        return len(self.order)

    def __getitem__(self, k):
        if self.f is None:  # opened per worker: h5py handles must not cross a fork
            self.f = h5py.File(self.path, "r")
            self.images, self.labels = self.f["images"], self.f["samples/label"][...]
        i = int(self.order[k])
        x = torch.from_numpy(self.images[i].astype(np.float32) / 255.0)[None, None]
        rng = np.random.default_rng(self.seed * 1000003 + k)
        a = math.radians(rng.uniform(-10, 10))
        flip = -1.0 if rng.uniform() < 0.5 else 1.0
        theta = torch.tensor([[[math.cos(a) * flip, -math.sin(a), 0.0],
                               [math.sin(a) * flip, math.cos(a), 0.0]]], dtype=torch.float32)
        grid = F.affine_grid(theta, list(x.shape), align_corners=True)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return (x[0] - 0.5) / 0.5, int(self.labels[i])


def oversampled_order(labels, seed):
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels == c) for c in range(3)]
    largest = max(len(c) for c in by_class)
    parts = [np.concatenate([c, rng.choice(c, largest - len(c))]) for c in by_class if len(c)]
    order = np.concatenate(parts)
    rng.shuffle(order)
    return order


def python_side(path, batch, steps, warmup, threads, workers, width):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = resnet18(width)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    net.train()

    def step(x, y):
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    with h5py.File(path, "r") as f:
        labels = f["samples/label"][...]
    order = oversampled_order(labels, 1)
    loader = torch.utils.data.DataLoader(Patches(path, order, 1), batch_size=batch,
                                         num_workers=workers, drop_last=True)
    it = iter(loader)
    x, y = next(it)
    for _ in range(warmup):
        step(x, y)
    t0 = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    compute = (time.perf_counter() - t0) / steps
    done = -warmup
    t0 = time.perf_counter()
    while done < steps:
        try:
            x, y = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        step(x, y)
        done += 1
        if done == 0:
            t0 = time.perf_counter()
    return compute, (time.perf_counter() - t0) / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="build/fracsweep")
    ap.add_argument("--patch-size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--width", type=int, default=64, help="ResNet base width (torchvision: 64)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="fracsweep-train-bench-")
    store = os.path.join(work, "vcf.h5")
    subprocess.run([args.binary, "synth", "vcf", store, "--patients", "40", "--patch-size",
                    str(args.patch_size), "--seed", "1", "-q"], check=True, capture_output=True)
    job = os.path.join(work, "job.yaml")
    with open(job, "w") as f:
        f.write(f"output: {os.path.join(work, 'job')}\n"
                f"data: {{store: {store}}}\n"
                f"model: {{variant: resnet18, width: {args.width}}}\n"
                f"train: {{batch_size: {args.batch}, lr: 0.0001, sampler: oversample, rotation: 10,"
                f" hflip: 0.5, vflip: 0, threads: {args.threads}, loader_workers: {args.workers}}}\n")
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    # The sides alternate and each figure is the median over the repeats: on a
    # small shared machine single runs vary by 10-20 %.
    runs = {"cpp_c": [], "cpp_e": [], "py_c": [], "py_e": []}
    for _ in range(args.repeats):
        out = subprocess.run([args.binary, "bench", "train", job, "--steps", str(args.steps),
                              "--warmup", str(args.warmup), "--json"], check=True,
                             capture_output=True, text=True, env=env).stdout
        cpp = json.loads(out.strip().splitlines()[-1])
        runs["cpp_c"].append(cpp["compute_s_per_step"])
        runs["cpp_e"].append(cpp["end_to_end_s_per_step"])
        py_compute, py_e2e = python_side(store, args.batch, args.steps, args.warmup,
                                         args.threads, args.workers, args.width)
        runs["py_c"].append(py_compute)
        runs["py_e"].append(py_e2e)
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; ResNet-18 (1 channel, width "
          f"{args.width}),"
          f" batch {args.batch} of {args.patch_size}x{args.patch_size}, {args.threads} threads,"
          f" {args.workers} loader workers, {args.steps} timed steps after {args.warmup},"
          f" median of {args.repeats} alternating runs\n")
    print("| measure | python3-torch s/step | fracsweep s/step | python / fracsweep |")
    print("|---|---:|---:|---:|")
    for name, py, c in (("compute only", med["py_c"], med["cpp_c"]),
                        ("end to end", med["py_e"], med["cpp_e"])):
        print(f"| {name} | {py:.3f} | {c:.3f} | {py / c:.2f}x |")


if __name__ == "__main__":
    main()

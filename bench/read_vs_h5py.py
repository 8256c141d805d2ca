#!/usr/bin/env python3
"""Random single-patch reads: fracsweep's store reader against h5py, and the
batch loader against what a TSCCN-sized training step consumes.

Writes two phantom stores with `fracsweep synth vcf` (uncompressed and
deflate-1, same seed), then on each:
  * h5py: `images[i]` for the same number of uniformly random indices,
    after one warm-up pass over the file (so both sides read from the page cache);
  * `fracsweep bench read` with 1 and with N threads;
and checks that both sides read the same pixels (per-class mean intensity of
every patch, read by `fracsweep inspect` and by h5py), so a wrong reader never
produces a speed-up figure. Then `fracsweep bench loader` (batches of 32,
previous/current/next views, rotation and flips, minority over-sampling) and a
ResNet-18 training step on 3 x 32 patches in PyTorch on the CPU, the work
TSCCN's streams do per batch, so the table says how many times over the loader
feeds the trainer on this machine.

    .venv/bin/python bench/read_vs_h5py.py [--binary build/fracsweep] [--patients 60]
        [--reads 20000] [--gzip-reads 4000] [--threads 2] [--workdir DIR]

Needs numpy, h5py and torch in the Python that runs it (the project's .venv,
torch 2.11 and pip's h5py; `scripts/setup.sh --with-bench` installs them).
"""

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time

import h5py
import numpy as np


def fracsweep(binary, *args):
    out = subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def h5py_reads(path, reads, seed):
    with h5py.File(path, "r") as f:
        images = f["images"]
        n = images.shape[0]
        for i in range(n):  # warm-up: page cache and HDF5's chunk index
            images[i]
        idx = np.random.default_rng(seed).integers(0, n, size=reads)
        t0 = time.perf_counter()
        for i in idx:
            images[int(i)]
        return reads / (time.perf_counter() - t0)


def same_pixels(path, binary):
    """`fracsweep inspect` reads every patch through fracsweep's reader and
    prints per-class mean intensities (one decimal); h5py's must agree."""
    with h5py.File(path, "r") as f:
        images = f["images"][...]
        labels = f["samples/label"][...]
    report = subprocess.run([binary, "inspect", path], check=True, capture_output=True,
                            text=True).stdout
    names = {0: "normal", 1: "benign VCF", 2: "malignant VCF"}
    for c, name in names.items():
        line = next(l for l in report.splitlines() if l.strip().startswith(f"{c} {name}") and "mean" in l)
        mean = float(line.split("mean")[1].split()[0])
        ours = images[labels == c].astype(np.float64).mean()
        if abs(mean - ours) > 0.05:
            raise SystemExit(f"{path}: class {c} mean {mean} (fracsweep) vs {ours:.2f} (h5py)")


def trainer_samples_per_s(threads, size, steps=3):
    import torch

    from train_vs_pytorch import resnet18  # the same network the training benchmark uses

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = resnet18()
    opt = torch.optim.SGD(net.parameters(), lr=0.01)
    x = torch.randn(32 * 3, 1, size, size)  # 32 samples x (previous, current, next)
    y = torch.randint(0, 3, (32 * 3,))
    for step in range(steps + 1):
        if step == 1:
            t0 = time.perf_counter()
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(x), y).backward()
        opt.step()
    return 32 * steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="build/fracsweep")
    ap.add_argument("--patients", type=int, default=60)
    ap.add_argument("--reads", type=int, default=20000)
    ap.add_argument("--gzip-reads", type=int, default=4000)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="fracsweep-bench-")
    rows = []
    for level, reads in ((0, args.reads), (1, args.gzip_reads)):
        path = os.path.join(work, f"vcf-c{level}.h5")
        subprocess.run([args.binary, "synth", "vcf", path, "--patients", str(args.patients),
                        "--compression", str(level), "--seed", "1", "-q"], check=True,
                       capture_output=True)
        same_pixels(path, args.binary)
        h5 = h5py_reads(path, reads, 7)
        one = fracsweep(args.binary, "bench", "read", path, "--reads", str(reads), "--threads", "1",
                        "--json")["patches_per_s"]
        many = fracsweep(args.binary, "bench", "read", path, "--reads", str(reads), "--threads",
                         str(args.threads), "--json")["patches_per_s"]
        loader = fracsweep(args.binary, "bench", "loader", path, "--batches", "60", "--workers",
                           str(args.threads), "--json")["samples_per_s"]
        rows.append((level, reads, h5, one, many, loader))
    train = trainer_samples_per_s(args.threads, 224)

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {args.patients} phantom patients, "
          f"224x224 patches, page cache warm\n")
    print("| store | reads | h5py patches/s | fracsweep 1 thread | speed-up | "
          f"fracsweep {args.threads} threads | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for level, reads, h5, one, many, _ in rows:
        name = "uncompressed" if level == 0 else f"deflate-{level}"
        print(f"| {name} | {reads} | {h5:,.0f} | {one:,.0f} | {one / h5:.2f}x | {many:,.0f} | "
              f"{many / h5:.2f}x |")
    print(f"\n| store | loader samples/s ({args.threads} workers, 3 views, augmented) | "
          f"ResNet-18 step on 3x32 patches, samples/s | loader / trainer |")
    print("|---|---|---|---|")
    for level, *_, loader in rows:
        name = "uncompressed" if level == 0 else f"deflate-{level}"
        print(f"| {name} | {loader:,.0f} | {train:,.1f} | {loader / train:,.0f}x |")


if __name__ == "__main__":
    main()

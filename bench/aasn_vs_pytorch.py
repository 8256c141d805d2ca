#!/usr/bin/env python3
"""One AASN training step: `fracsweep bench aasn` against the same model in
PyTorch 2.11 from the project's .venv (the same LibTorch underneath), on the same
machine in one run, at the same thread count, alternating the two sides.

The Python model is AASN as trainer/aasn.h builds it, out of torchvision's
DenseNet-121 (growth rate --growth-rate): the encoder is features up to dense
block 3, shared by the image and its twin; FA aligns the twin's features with
grid_sample on the stored grid resized by F.interpolate (align_corners=False);
transition 3 takes norm and ReLU of each branch, concatenates them and runs
its 1x1 conv (twice the input channels) and average pool; dense block 4,
norm5, ReLU and a 1x1 conv decode the heatmap, resized to the input. CL: g =
1x1 conv + BatchNorm + ReLU on both branches; L = BCE + 0.5 * the margin loss
(m = 0.5). Adam, lr 1e-5. Inputs: random images, twins, grids and masks held in
memory, as `fracsweep bench aasn` uses; the script fails unless both sides
count the same parameters.

    .venv/bin/python bench/aasn_vs_pytorch.py [--binary build/fracsweep]
        [--growth-rate 32] [--height 256] [--width 512] [--batch 2]
        [--steps 3] [--warmup 1] [--threads 2] [--repeats 3]

Needs torch and torchvision 0.26 (pip) in the venv.
"""

import argparse
import json
import os
import statistics
import subprocess
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models import DenseNet


class Aasn(nn.Module):
    def __init__(self, growth_rate):
        super().__init__()
        net = DenseNet(growth_rate=growth_rate, block_config=(6, 12, 24, 16),
                       num_init_features=2 * growth_rate, bn_size=4)
        f = net.features
        self.encoder = nn.Sequential(f.conv0, f.norm0, f.relu0, f.pool0, f.denseblock1,
                                     f.transition1, f.denseblock2, f.transition2, f.denseblock3)
        t = f.transition3
        c3 = t.norm.num_features
        self.t_norm = t.norm
        self.t_conv = nn.Conv2d(2 * c3, c3 // 2, 1, bias=False)
        self.block4, self.norm5 = f.denseblock4, f.norm5
        self.head = nn.Conv2d(self.norm5.num_features, 1, 1)
        self.project = nn.Sequential(nn.Conv2d(c3, c3 // 2, 1), nn.BatchNorm2d(c3 // 2), nn.ReLU())

    def forward(self, image, twin, grid):
        image, twin = image.expand(-1, 3, -1, -1), twin.expand(-1, 3, -1, -1)
        f, f_twin = self.encoder(image), self.encoder(twin)
        g = F.interpolate(grid.permute(0, 3, 1, 2), size=f.shape[2:], mode="bilinear",
                          align_corners=False).permute(0, 2, 3, 1)
        f_twin = F.grid_sample(f_twin, g, mode="bilinear", padding_mode="zeros", align_corners=False)
        fused = torch.cat([F.relu(self.t_norm(f)), F.relu(self.t_norm(f_twin))], 1)
        fused = F.avg_pool2d(self.t_conv(fused), 2, 2)
        decoded = F.relu(self.norm5(self.block4(fused)))
        logits = F.interpolate(self.head(decoded), size=image.shape[2:], mode="bilinear",
                               align_corners=False)
        return logits, self.project(f), self.project(f_twin)


def contrastive(a, b, mask, margin=0.5):
    on = F.adaptive_max_pool2d(mask, a.shape[2:])
    d2 = (a - b).pow(2).sum(1, keepdim=True)
    push = torch.clamp_min(margin - (d2 + 1e-12).sqrt(), 0).pow(2)
    return torch.where(on > 0.5, push, d2).mean()


def python_step_time(args):
    torch.manual_seed(1)
    model = Aasn(args.growth_rate).train()
    params = sum(p.numel() for p in model.parameters())
    adam = torch.optim.Adam(model.parameters(), lr=1e-5)
    b, h, w = args.batch, args.height, args.width
    image, twin = torch.rand(b, 1, h, w) * 2 - 1, torch.rand(b, 1, h, w) * 2 - 1
    grid = (torch.rand(b, h // 8, w // 8, 2) * 2 - 1) * 0.95
    mask = (torch.rand(b, 1, h, w) > 0.95).float()

    def step():
        logits, e, e_twin = model(image, twin, grid)
        loss = F.binary_cross_entropy_with_logits(logits, mask) + 0.5 * contrastive(e, e_twin, mask)
        adam.zero_grad()
        loss.backward()
        adam.step()

    for _ in range(args.warmup):
        step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    return params, (time.perf_counter() - start) / args.steps


def fracsweep_step_time(args):
    out = subprocess.run(
        [args.binary, "bench", "aasn", "--growth-rate", str(args.growth_rate), "--height",
         str(args.height), "--width", str(args.width), "--batch", str(args.batch), "--steps",
         str(args.steps), "--warmup", str(args.warmup), "--threads", str(args.threads), "--json"],
        check=True, capture_output=True, text=True)
    r = json.loads(out.stdout)
    return r["parameters"], r["s_per_step"]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default="build/fracsweep")
    p.add_argument("--growth-rate", type=int, default=32)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    py, cpp = [], []
    for _ in range(args.repeats):
        params_py, t = python_step_time(args)
        py.append(t)
        params_cpp, t = fracsweep_step_time(args)
        cpp.append(t)
        if params_py != params_cpp:
            raise SystemExit(f"the models differ: python {params_py} parameters, fracsweep {params_cpp}")
    mp, mc = statistics.median(py), statistics.median(cpp)
    print(f"AASN step, growth rate {args.growth_rate}, batch {args.batch} of "
          f"{args.height}x{args.width}, {args.threads} threads, {params_py} parameters, "
          f"median of {args.repeats} alternating runs of {args.steps} steps")
    print("| side | s/step (runs) | median |")
    print("|---|---|---:|")
    print(f"| PyTorch {torch.__version__} | {', '.join(f'{t:.3f}' for t in py)} | {mp:.3f} |")
    print(f"| fracsweep | {', '.join(f'{t:.3f}' for t in cpp)} | {mc:.3f} |")
    print(f"python / fracsweep: {mp / mc:.2f}x")


if __name__ == "__main__":
    main()

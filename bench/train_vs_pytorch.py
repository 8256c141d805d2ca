#!/usr/bin/env python3
"""Training throughput: `fracsweep bench train` against the same model and data
path in PyTorch 2.11 from the project's .venv (the same LibTorch underneath), on the same machine in
one run, at the same thread count.

Models (--model):
  resnet18  the ResNet-18 baseline (torchvision layout, 1 input channel, 3
            classes); one view per sample. The default.
  tsccn     the full TSCCN (variant "tsccn", trainer/tsccn.h): a recognition
            stream whose stages before split_stage 2 are one set of branch
            weights shared by the previous, current and next vertebra (their
            outputs added, eq. 1), a discriminator on the (current, neighbour)
            branch features, a classification stream (its own ResNet-18) with
            a binary head and a 128-d embedding, a weight control MLP and the
            three-class head; loss eq. 6 (L_CE + 0.2 L_D + L_CE2 + L_triplet +
            L_W; batch-all triplet margin 0.2 over the VCFs, u_hat 4). Three
            views per sample plus the neighbours' labels and has_prev/has_next.
            Before timing, the script trains the same model for one epoch with
            `fracsweep train` on a small store and fails unless every parameter
            and buffer of its checkpoint has the name and shape of the Python
            model's; both parameter counts are printed.

Both models: Adam. Data: a phantom store written by `fracsweep synth vcf`;
minority over-sampling, rotation up to 10 degrees and horizontal flips (TSCCN:
also vertical flips with --vflip, which swap previous and next), normalisation
to [-1, 1]. Python reads with h5py in a `Dataset` and batches with a
`DataLoader` (workers = the C++ loader's workers); augmentation is torch's
affine_grid + grid_sample (bilinear), as the C++ loader's bilinear rotation.
With TSCCN, one transform per sample is applied to all three of its views
(one grid_sample over a 3-channel image), as the C++ loader does.

Two figures per side: seconds per step on one batch held in memory (compute
only), and seconds per step with batches from the data path (end to end).

    .venv/bin/python bench/train_vs_pytorch.py [--binary build/fracsweep]
        [--model resnet18|tsccn] [--patch-size 112] [--batch 32] [--steps 6]
        [--threads 2] [--workers 2] [--width 64] [--repeats 3] [--vflip 0]
        [--device cpu|cuda] [--precision fp32|bf16]

On a GPU (--device cuda) both sides time with the device synchronised before
each clock read; --precision bf16 runs both under bfloat16 autocast with
channels-last images.

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


# ---------------------------------------------------------------- TSCCN
# A re-implementation of trainer/tsccn.cpp, variant "tsccn", with the names of
# the C++ modules, so that parameters can be matched one by one against a
# checkpoint of `fracsweep train` (check_parameters below).

RESNET_STAGES = 5  # stem, layer1..layer4


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
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


class ResNet18Stages(nn.Module):
    """trainer/resnet.h: torchvision names, no classifier; stage 0 is the stem
    (conv1, bn1, relu, maxpool), stages 1..4 are layer1..layer4."""

    def __init__(self, width, in_channels=1):
        super().__init__()
        self.width = width
        self.conv1 = nn.Conv2d(in_channels, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for layer in range(1, RESNET_STAGES):
            cout = self.out_channels(layer)
            setattr(self, f"layer{layer}", nn.Sequential(
                BasicBlock(cin, cout, 1 if layer == 1 else 2), BasicBlock(cout, cout, 1)))
            cin = cout
        for m in self.modules():  # torchvision's initialisation, as the C++ constructor
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def out_channels(self, stage):
        return self.width if stage <= 1 else self.width << (stage - 1)

    def forward_stages(self, x, start, stop):
        for stage in range(start, stop):
            if stage == 0:
                x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
            else:
                x = getattr(self, f"layer{stage}")(x)
        return x

    def forward(self, x):
        return self.forward_stages(x, 0, RESNET_STAGES)


class Tsccn(nn.Module):
    """Variant "tsccn": two streams, triplet, compare network with its
    discriminator, weight control; branches shared (share_branches: true)."""

    def __init__(self, width, split_stage=2, embedding_dim=128, classes=3):
        super().__init__()
        self.split = split_stage
        self.recognition = ResNet18Stages(width)
        self.classification = ResNet18Stages(width)
        features = self.recognition.out_channels(RESNET_STAGES - 1)
        branch = self.recognition.out_channels(split_stage - 1)
        self.discriminator = nn.Sequential(
            nn.Conv2d(2 * branch, branch, 3, padding=1, bias=False), nn.BatchNorm2d(branch),
            nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(branch, branch),
            nn.ReLU(), nn.Linear(branch, 2))
        hidden = max(1, features // 4)
        self.weight_control = nn.Sequential(nn.Linear(2 * features, hidden), nn.ReLU(),
                                            nn.Linear(hidden, 2), nn.Sigmoid())
        self.head = nn.Linear(2 * features, classes)
        self.binary_head = nn.Linear(features, 2)
        self.embedding = nn.Linear(features, embedding_dim)

    def forward(self, images):
        prev, current, nxt = images[:, 0:1], images[:, 1:2], images[:, 2:3]
        # Shared branches: one pass over the three views, as the C++ model.
        f_l, f_c, f_n = self.recognition.forward_stages(
            torch.cat([prev, current, nxt], 0), 0, self.split).chunk(3, 0)
        disc_prev, disc_next = self.discriminator(
            torch.cat([torch.cat([f_c, f_l], 1), torch.cat([f_c, f_n], 1)], 0)).chunk(2, 0)
        g_r = self.recognition.forward_stages(f_l + f_c + f_n, self.split,
                                              RESNET_STAGES).mean((2, 3))  # eq. 1
        g_c = self.classification(current).mean((2, 3))
        weights = self.weight_control(torch.cat([g_r, g_c], 1))  # eq. 4
        logits = self.head(torch.cat([weights[:, 0:1] * g_r, weights[:, 1:2] * g_c], 1))
        return {"logits": logits, "binary_logits": self.binary_head(g_c),
                "embedding": self.embedding(g_c), "disc_prev": disc_prev,
                "disc_next": disc_next, "weights": weights}


# Losses: trainer/losses.cpp. Rows are picked with index_select of the true
# entries of a mask, and a loss without rows is a zero that stays in the graph.

def zero_like_loss(t):
    return t.sum() * 0


def rows_where(mask):
    return mask.nonzero().flatten()


def discriminator_term(logits, y_cur, y_neighbour, has_neighbour):
    rows = rows_where(has_neighbour)
    if rows.numel() == 0:
        return zero_like_loss(logits)
    differ = y_cur.index_select(0, rows).ne(0).ne(y_neighbour.index_select(0, rows).ne(0))
    return F.cross_entropy(logits.index_select(0, rows), differ.long())


def triplet_loss(embeddings, labels, vcf_mask, margin):
    rows = rows_where(vcf_mask)
    n = rows.numel()
    if n == 0:
        return zero_like_loss(embeddings)
    e = F.normalize(embeddings.index_select(0, rows), p=2.0, dim=1)
    y = labels.index_select(0, rows)
    d2 = (e.unsqueeze(1) - e.unsqueeze(0)).pow(2).sum(2)
    same = y.unsqueeze(1).eq(y.unsqueeze(0))
    positive = same.logical_and(torch.eye(n, dtype=torch.bool, device=e.device).logical_not())
    valid = positive.unsqueeze(2).logical_and(same.logical_not().unsqueeze(1))
    hinge = torch.relu(d2.unsqueeze(2) - d2.unsqueeze(1) + margin)
    return (hinge * valid).sum() / valid.sum().clamp_min(1)


def benign_malignant_loss(logits2, labels):
    rows = rows_where(labels.ne(0))
    if rows.numel() == 0:
        return zero_like_loss(logits2)
    return F.cross_entropy(logits2.index_select(0, rows), labels.index_select(0, rows) - 1)


def weight_loss(w, labels, u_hat):
    u = w.select(1, 0) / w.select(1, 1)
    normal = labels.eq(0)
    bound = torch.where(normal, torch.full_like(u, u_hat), torch.full_like(u, 1.0 / u_hat))
    active = normal.logical_and(u.lt(u_hat)).logical_or(
        normal.logical_not().logical_and(u.gt(1.0 / u_hat)))
    return torch.where(active, (u - bound).pow(2), torch.zeros_like(u)).mean()


TSCCN_LOSS = {"triplet_margin": 0.2, "u_hat": 4.0, "ce": 1.0, "d": 0.2, "c": 1.0, "w": 1.0}


def tsccn_loss(out, b):
    """trainer/job_model.cpp, TsccnJobModel::loss: eq. 6."""
    y, k = b["labels"], TSCCN_LOSS
    ce = F.cross_entropy(out["logits"], y)
    d = (discriminator_term(out["disc_prev"], y, b["prev_labels"], b["has_prev"]) +
         discriminator_term(out["disc_next"], y, b["next_labels"], b["has_next"]))
    ce2 = benign_malignant_loss(out["binary_logits"], y)
    triplet = triplet_loss(out["embedding"], y, y.gt(0), k["triplet_margin"])
    w = weight_loss(out["weights"], y, k["u_hat"])
    return ce * k["ce"] + d * k["d"] + (ce2 + triplet) * k["c"] + w * k["w"]


class NeighbourPatches(torch.utils.data.Dataset):
    """datastore/loader.cpp with neighbours: views previous, current, next of
    the same slice (samples/prev, samples/next; a missing one is a copy of the
    current patch, flagged has_prev/has_next = False, label -1), one transform
    per sample for all three; a vertical flip shows the next vertebra above."""

    def __init__(self, path, order, seed, rotation, hflip, vflip):
        self.path, self.order, self.seed, self.f = path, order, seed, None
        self.rotation, self.hflip, self.vflip = rotation, hflip, vflip

    def __len__(self):
        return len(self.order)

    def open(self):
        if self.f is None:  # opened per worker: h5py handles must not cross a fork
            self.f = h5py.File(self.path, "r")
            self.images = self.f["images"]
            self.labels = self.f["samples/label"][...]
            self.prev, self.next = self.f["samples/prev"][...], self.f["samples/next"][...]

    def __getitem__(self, k):
        self.open()
        i = int(self.order[k])
        rng = np.random.default_rng(self.seed * 1000003 + k)
        a, h, v = rng.uniform(), rng.uniform(), rng.uniform()  # always three draws
        angle = math.radians((2 * a - 1) * self.rotation)
        hflip, vflip = h < self.hflip, v < self.vflip
        current = self.images[i]
        p, n = int(self.prev[i]), int(self.next[i])
        above = self.images[p] if p >= 0 else current
        below = self.images[n] if n >= 0 else current
        shown_above, shown_below = (n, p) if vflip else (p, n)
        views = (below, current, above) if vflip else (above, current, below)
        x = torch.from_numpy(np.stack(views).astype(np.float32) / 255.0)[None]  # [1, 3, H, W]
        hs, vs = (-1.0 if hflip else 1.0), (-1.0 if vflip else 1.0)
        theta = torch.tensor([[[math.cos(angle) * hs, -math.sin(angle) * vs, 0.0],
                               [math.sin(angle) * hs, math.cos(angle) * vs, 0.0]]],
                             dtype=torch.float32)
        grid = F.affine_grid(theta, list(x.shape), align_corners=True)
        x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return {"images": (x[0] - 0.5) / 0.5,
                "labels": int(self.labels[i]),
                "samples": i,
                "has_prev": shown_above >= 0,
                "has_next": shown_below >= 0,
                "prev_labels": int(self.labels[shown_above]) if shown_above >= 0 else -1,
                "next_labels": int(self.labels[shown_below]) if shown_below >= 0 else -1}


def cpp_tsccn_parameters(binary, work, width, split_stage, threads):
    """Names and shapes of the C++ model's parameters and buffers: trains the
    same model section for one epoch on a small store and reads the
    checkpoint (a TorchScript archive whose "model" holds the module)."""
    store = os.path.join(work, "params.h5")
    subprocess.run([binary, "synth", "vcf", store, "--patients", "10", "--patch-size", "32",
                    "--seed", "1", "-q"], check=True, capture_output=True)
    job = os.path.join(work, "params.yaml")
    with open(job, "w") as f:
        f.write(f"output: {os.path.join(work, 'params')}\n"
                f"data: {{store: {store}}}\n"
                f"model: {{variant: tsccn, width: {width}, split_stage: {split_stage},"
                f" share_branches: true}}\n"
                f"train: {{epochs: 1, batch_size: 8, threads: {threads}, loader_workers: 1}}\n")
    subprocess.run([binary, "train", job, "--no-progress", "--log-level", "warn"], check=True,
                   capture_output=True)
    archive = torch.jit.load(os.path.join(work, "params", "checkpoint_last.pt"))
    strip = lambda items: {n[len("model."):]: tuple(t.shape) for n, t in items
                           if n.startswith("model.")}
    return strip(archive.named_parameters()), strip(archive.named_buffers())


def check_parameters(net, cpp_params, cpp_buffers):
    """Fails unless the two models have the same parameters and buffers, by
    name and shape; returns both parameter counts."""
    ours = {n: tuple(t.shape) for n, t in net.named_parameters()}
    our_buffers = {n: tuple(t.shape) for n, t in net.named_buffers()}
    count = lambda d: sum(math.prod(s) for s in d.values())
    py_n, cpp_n = count(ours), count(cpp_params)
    problems = []
    for what, a, b in (("parameter", ours, cpp_params), ("buffer", our_buffers, cpp_buffers)):
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                problems.append(f"{what} {name}: python {a.get(name)}, fracsweep {b.get(name)}")
    if problems or py_n != cpp_n:
        raise SystemExit(f"TSCCN differs between the sides ({py_n:,} python vs {cpp_n:,} "
                         f"fracsweep parameters):\n  " + "\n  ".join(problems[:20]))
    return py_n, cpp_n


def on_device(b, device, channels_last):
    """A batch (a tuple or a dict of tensors and numbers) on `device`; images
    channels-last where asked."""
    def move(t):
        if not torch.is_tensor(t):
            return t
        t = t.to(device, non_blocking=True)
        return t.contiguous(memory_format=torch.channels_last) if channels_last and t.dim() == 4 else t
    return {k: move(v) for k, v in b.items()} if isinstance(b, dict) else tuple(move(v) for v in b)


def python_side(path, batch, steps, warmup, threads, workers, width, model="resnet18",
                vflip=0.0, device="cpu", bf16=False, channels_last=False):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    with h5py.File(path, "r") as f:
        labels = f["samples/label"][...]
    order = oversampled_order(labels, 1)
    if model == "tsccn":
        net = Tsccn(width)
        data = NeighbourPatches(path, order, 1, ROTATION, HFLIP, vflip)
        loss_of = lambda b: tsccn_loss(net(b["images"]), b)
    else:
        net = resnet18(width)
        data = Patches(path, order, 1)
        loss_of = lambda b: F.cross_entropy(net(b[0]), b[1])
    net.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    net.train()
    cuda = torch.device(device).type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)

    def step(b):
        b = on_device(b, device, channels_last)
        opt.zero_grad()
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=bf16):
            loss = loss_of(b)
        loss.backward()
        opt.step()

    loader = torch.utils.data.DataLoader(data, batch_size=batch, num_workers=workers,
                                         drop_last=True)
    it = iter(loader)
    b = next(it)
    for _ in range(warmup):
        step(b)
    sync()
    t0 = time.perf_counter()
    for _ in range(steps):
        step(b)
    sync()
    compute = (time.perf_counter() - t0) / steps
    done = -warmup
    t0 = time.perf_counter()
    while done < steps:
        try:
            b = next(it)
        except StopIteration:
            it = iter(loader)
            continue
        step(b)
        done += 1
        if done == 0:
            sync()
            t0 = time.perf_counter()
    sync()
    return compute, (time.perf_counter() - t0) / steps


ROTATION, HFLIP = 10, 0.5  # both sides' augmentation (degrees, probability)
SPLIT_STAGE = 2  # TSCCN: the C++ default


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="build/fracsweep")
    ap.add_argument("--model", choices=("resnet18", "tsccn"), default="resnet18")
    ap.add_argument("--patch-size", type=int, default=112)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--width", type=int, default=64, help="ResNet base width (torchvision: 64)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--vflip", type=float, default=0.0,
                    help="TSCCN only: vertical flip probability (swaps previous and next)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (both sides)")
    ap.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                    help="bf16: autocast to bfloat16 and channels-last images (both sides)")
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    if args.model != "tsccn" and args.vflip != 0:
        ap.error("--vflip is for --model tsccn only")
    bf16 = args.precision == "bf16"
    work = args.workdir or tempfile.mkdtemp(prefix="fracsweep-train-bench-")
    store = os.path.join(work, "vcf.h5")
    subprocess.run([args.binary, "synth", "vcf", store, "--patients", "40", "--patch-size",
                    str(args.patch_size), "--seed", "1", "-q"], check=True, capture_output=True)
    job = os.path.join(work, "job.yaml")
    if args.model == "tsccn":
        k = TSCCN_LOSS
        model_yaml = (f"{{variant: tsccn, width: {args.width}, split_stage: {SPLIT_STAGE},"
                      f" share_branches: true}}")
        loss_yaml = (f", u_hat: {k['u_hat']}, triplet_margin: {k['triplet_margin']},"
                     f" loss_weights: {{ce: {k['ce']}, d: {k['d']}, c: {k['c']}, w: {k['w']}}}")
    else:
        model_yaml, loss_yaml = f"{{variant: resnet18, width: {args.width}}}", ""
    with open(job, "w") as f:
        f.write(f"output: {os.path.join(work, 'job')}\n"
                f"data: {{store: {store}}}\n"
                f"model: {model_yaml}\n"
                f"train: {{batch_size: {args.batch}, lr: 0.0001, sampler: oversample,"
                f" rotation: {ROTATION}, hflip: {HFLIP}, vflip: {args.vflip:g},"
                f" threads: {args.threads}, loader_workers: {args.workers}{loss_yaml},"
                f" device: {args.device}, precision: {args.precision},"
                f" channels_last: {str(bf16).lower()}}}\n")
    params = None
    if args.model == "tsccn":
        torch.manual_seed(0)
        params = check_parameters(Tsccn(args.width, SPLIT_STAGE),
                                  *cpp_tsccn_parameters(args.binary, work, args.width,
                                                        SPLIT_STAGE, args.threads))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    # The sides alternate and each figure is the median over the repeats: on a
    # small shared machine single runs vary by 10-20 %.
    runs = {"cpp_c": [], "cpp_e": [], "py_c": [], "py_e": []}
    for _ in range(args.repeats):
        out = subprocess.run([args.binary, "bench", "train", job, "--steps", str(args.steps),
                              "--warmup", str(args.warmup), "--json"], check=True,
                             capture_output=True, text=True, env=env).stdout
        cpp = json.loads(out.strip().splitlines()[-1])
        if params is not None:
            if cpp.get("variant", "tsccn") != "tsccn":
                raise SystemExit(f"fracsweep ran variant {cpp['variant']!r}, not tsccn")
            if "parameters" in cpp and cpp["parameters"] != params[0]:
                raise SystemExit(f"fracsweep bench train reports {cpp['parameters']:,}"
                                 f" parameters, python {params[0]:,}")
        runs["cpp_c"].append(cpp["compute_s_per_step"])
        runs["cpp_e"].append(cpp["end_to_end_s_per_step"])
        py_compute, py_e2e = python_side(store, args.batch, args.steps, args.warmup,
                                         args.threads, args.workers, args.width, args.model,
                                         args.vflip, args.device, bf16, bf16)
        runs["py_c"].append(py_compute)
        runs["py_e"].append(py_e2e)
    med = {k: statistics.median(v) for k, v in runs.items()}
    if args.model == "tsccn":
        what = (f"TSCCN (two ResNet-18 streams, shared branches before stage {SPLIT_STAGE},"
                f" 1 channel, width {args.width}; parameters: python {params[0]:,},"
                f" fracsweep {params[1]:,}), 3 views per sample, vflip {args.vflip:g},")
    else:
        what = f"ResNet-18 (1 channel, width {args.width}),"
    where = (torch.cuda.get_device_name(0) if args.device.startswith("cuda")
             else f"{platform.machine()}, {os.cpu_count()} cores")
    print(f"machine: {where}; {args.device}, {args.precision}; {what}"
          f" batch {args.batch} of {args.patch_size}x{args.patch_size}, {args.threads} threads,"
          f" {args.workers} loader workers, {args.steps} timed steps after {args.warmup},"
          f" median of {args.repeats} alternating runs\n")
    print("| measure | torch s/step | fracsweep s/step | python / fracsweep |")
    print("|---|---:|---:|---:|")
    for name, py, c in (("compute only", med["py_c"], med["cpp_c"]),
                        ("end to end", med["py_e"], med["cpp_e"])):
        print(f"| {name} | {py:.3f} | {c:.3f} | {py / c:.2f}x |")
    # What end to end could reach at this compute if fracsweep's data path cost
    # nothing: Python's whole step over fracsweep's compute alone.
    print(f"\nceiling with a free data path (python end to end / fracsweep compute only):"
          f" {med['py_e'] / med['cpp_c']:.2f}x; python's data path adds"
          f" {100 * (med['py_e'] / med['py_c'] - 1):.0f}% to its compute")


if __name__ == "__main__":
    main()

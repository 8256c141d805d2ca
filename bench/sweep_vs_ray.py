#!/usr/bin/env python3
"""Sweeps per hour: a sweep run by `fracsweep run` under `mpirun -np N` against the same
sweep as Ray Tune trials, each training the same model in PyTorch, N trials at a time.

The peer is run as Tune's users run it: one function trainable per job (`tune.Tuner`
over a grid of the sweep's jobs, `max_concurrent_trials` N, one CPU each, or 1/N GPU
with --device cuda), reading the same HDF5 store with h5py through a `DataLoader`
(persistent workers, as many as the job's `train.loader_workers`), evaluating on the
validation split every epoch and reporting every epoch through `tune.report` with a
`tune.Checkpoint` (model, optimiser, epoch, best score) so that a trial can resume,
then predicting the validation and test splits with the best epoch's weights and
writing them as CSV, as fracsweep does.

Same jobs: the sweep is the one fracsweep expands; each trial reads its fracsweep
job's resolved config.yaml (variant, width, epochs, batch size, lr, sampler,
augmentation, threads, loader workers) and split.json (the same patients in train,
validation and test) from the fracsweep run of the same repetition, which goes first.
The models are bench/train_vs_pytorch.py's TSCCN generalised to Table III's six rows
(streams, triplet, compare network with its discriminator, weight control), checked
equal by parameter and buffer name and shape to each row's fracsweep checkpoint before
anything is timed. The sampler is minority over-sampling (the rows' `sampler: auto`),
its draws numpy's; a last batch of one sample sits the epoch out on both sides.

Each repetition runs fracsweep, then Ray, each in fresh output folders; the figures are
medians over the repetitions. Per side: jobs per hour, time to the first finished job,
wall time and the share of the machine's CPU time busy (/proc/stat over the run; with
--device cuda also the GPU's utilisation from nvidia-smi). Where the time goes, in
job-seconds summed over the jobs: fracsweep's from each job's timing.json
(trainer/phase_times.h), Ray's timed inside the trial function; "outside the jobs" is
wall x N minus the jobs' own seconds (the launcher's or Ray's start-up, hand-out and
scheduling, idle ranks at the end).

    .venv/bin/python bench/sweep_vs_ray.py [--sweep examples/sweeps/tsccn-table3-tiny.yaml]
        [--ranks 2] [--repeats 3] [--patients P] [--patch-size S] [--split-repeats K]
        [--epochs E] [--variants a,b] [--binary build/fracsweep] [--workdir DIR]

On one GPU (scripts/gpu-check.sh calls it): --gpu runs the sweep with fracsweep on
1, 2, 4 and 8 ranks sharing the GPU (under MPS when the caller started it) against
Ray with 1, 1/2, 1/4 and 1/8 GPU per trial, eager and with
torch.compile(mode="reduce-overhead"), and fracsweep with train.cuda_graphs on; it
stops starting configurations after --budget seconds and prints its table last:

    python bench/sweep_vs_ray.py --gpu [--ranks-list 1,2,4,8] [--budget 300] ...

--rehearse makes --gpu run on the CPU at whatever size is given, so its argument
handling and bookkeeping are tried where no GPU is.

Needs numpy, h5py, pyyaml, scikit-learn, torch and ray[tune] (scripts/setup.sh --with-bench).
"""

import argparse
import csv
import glob
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

try:
    import yaml
except ImportError:  # a GPU machine without PyYAML: scripts/gpu-check.sh --pack carries it
    yaml = None

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
import train_vs_pytorch as peer  # noqa: E402  (the TSCCN peer, its losses and checks)

PHASES = ("startup", "data", "steps", "eval", "checkpoint", "finish")

# Table III's rows: (streams, triplet, compare network with discriminator, weight control),
# as trainer/models/tsccn.cpp's kVariants.
ROWS = {
    "single-stream": (1, False, False, False),
    "single-stream+triplet": (1, True, False, False),
    "two-stream": (2, False, False, False),
    "two-stream+triplet": (2, True, False, False),
    "two-stream+triplet+compare": (2, True, True, False),
    "tsccn": (2, True, True, True),
}


# ---------------------------------------------------------------- the model, per row

class TsccnRow(nn.Module):
    """trainer/models/tsccn.cpp for any row of Table III, with the C++ module names:
    one stream is called `encoder`, two are `recognition` and `classification`."""

    def __init__(self, width, variant, split_stage=2, embedding_dim=128, classes=3):
        super().__init__()
        self.streams, self.triplet, self.compare, wc = ROWS[variant]
        self.split = split_stage
        encoder = peer.ResNet18Stages(width)
        if self.streams == 2:
            self.recognition = encoder
            self.classification = peer.ResNet18Stages(width)
        else:
            self.encoder = encoder
        features = encoder.out_channels(peer.RESNET_STAGES - 1)
        if self.compare:
            branch = encoder.out_channels(split_stage - 1)
            self.discriminator = nn.Sequential(
                nn.Conv2d(2 * branch, branch, 3, padding=1, bias=False), nn.BatchNorm2d(branch),
                nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(branch, branch),
                nn.ReLU(), nn.Linear(branch, 2))
        self.weight_control = None
        if wc:
            hidden = max(1, features // 4)
            self.weight_control = nn.Sequential(nn.Linear(2 * features, hidden), nn.ReLU(),
                                                nn.Linear(hidden, 2), nn.Sigmoid())
        self.head = nn.Linear(self.streams * features, classes)
        self.binary_head = nn.Linear(features, 2)
        self.embedding = nn.Linear(features, embedding_dim)

    def forward(self, images):
        rec = self.recognition if self.streams == 2 else self.encoder
        out = {}
        current = images[:, 1:2] if images.size(1) == 3 else images[:, 0:1]
        if self.compare:
            f_l, f_c, f_n = rec.forward_stages(
                torch.cat([images[:, 0:1], current, images[:, 2:3]], 0), 0, self.split).chunk(3, 0)
            out["disc_prev"], out["disc_next"] = self.discriminator(
                torch.cat([torch.cat([f_c, f_l], 1), torch.cat([f_c, f_n], 1)], 0)).chunk(2, 0)
            g_r = rec.forward_stages(f_l + f_c + f_n, self.split, peer.RESNET_STAGES).mean((2, 3))
        else:
            g_r = rec(current).mean((2, 3))
        if self.streams == 1:
            out.update(logits=self.head(g_r), binary_logits=self.binary_head(g_r),
                       embedding=self.embedding(g_r))
            return out
        g_c = self.classification(current).mean((2, 3))
        out.update(binary_logits=self.binary_head(g_c), embedding=self.embedding(g_c))
        if self.weight_control is None:
            out["logits"] = self.head(torch.cat([g_r, g_c], 1))
        else:
            w = self.weight_control(torch.cat([g_r, g_c], 1))
            out["weights"] = w
            out["logits"] = self.head(torch.cat([w[:, 0:1] * g_r, w[:, 1:2] * g_c], 1))
        return out


def row_loss(out, b, triplet, train):
    """trainer/models/tsccn_job.cpp's loss for any row: eq. 6 with the terms the row has."""
    y, k = b["labels"], train.get("loss_weights", {})
    zero = peer.zero_like_loss(out["logits"])
    ce = F.cross_entropy(out["logits"], y)
    d = zero
    if "disc_prev" in out:
        d = (peer.discriminator_term(out["disc_prev"], y, b["prev_labels"], b["has_prev"]) +
             peer.discriminator_term(out["disc_next"], y, b["next_labels"], b["has_next"]))
    ce2 = peer.benign_malignant_loss(out["binary_logits"], y)
    tri = peer.triplet_loss(out["embedding"], y, y.gt(0), train["triplet_margin"]) if triplet else zero
    w = peer.weight_loss(out["weights"], y, train["u_hat"]) if "weights" in out else zero
    return (ce * k.get("ce", 1) + d * k.get("d", 0.2) + (ce2 + tri) * k.get("c", 1) +
            w * k.get("w", 1))


# ---------------------------------------------------------------- data

class Views(peer.NeighbourPatches):
    """The store's vertebra patches, as datastore/loader.cpp gives them: with neighbours
    (previous, current, next; a missing one is the current patch, label -1) or the
    current view alone; keys are (sample, augmentation seed) or a sample (no
    augmentation). One transform per sample for all its views; a vertical flip shows
    the next vertebra above."""

    def __init__(self, path, neighbours, augment):
        self.path, self.neighbours, self.augment, self.f = path, neighbours, augment, None

    def __len__(self):
        return 0  # keys come from the sampler

    def __getitem__(self, key):
        self.open()
        i, seed = key if isinstance(key, tuple) else (key, None)
        i = int(i)
        current = self.images[i]
        p, n = int(self.prev[i]), int(self.next[i])
        angle, hflip, vflip = 0.0, False, False
        if seed is not None:
            rotation, hp, vp = self.augment
            rng = np.random.default_rng(seed)
            a, h, v = rng.uniform(), rng.uniform(), rng.uniform()
            angle, hflip, vflip = math.radians((2 * a - 1) * rotation), h < hp, v < vp
        above, below = (n, p) if vflip else (p, n)
        if self.neighbours:
            views = [self.images[above] if above >= 0 else current, current,
                     self.images[below] if below >= 0 else current]
        else:
            views = [current]
        x = torch.from_numpy(np.stack(views).astype(np.float32) / 255.0)[None]
        if seed is not None:
            hs, vs = (-1.0 if hflip else 1.0), (-1.0 if vflip else 1.0)
            theta = torch.tensor([[[math.cos(angle) * hs, -math.sin(angle) * vs, 0.0],
                                   [math.sin(angle) * hs, math.cos(angle) * vs, 0.0]]])
            grid = F.affine_grid(theta, list(x.shape), align_corners=True)
            x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return {"images": (x[0] - 0.5) / 0.5, "labels": int(self.labels[i]), "samples": i,
                "has_prev": above >= 0, "has_next": below >= 0,
                "prev_labels": int(self.labels[above]) if above >= 0 else -1,
                "next_labels": int(self.labels[below]) if below >= 0 else -1}


class Keys(torch.utils.data.Sampler):
    """The keys of one pass, set before each epoch (a persistent worker's dataset copy
    never needs to see the order)."""

    def __init__(self, keys=()):
        self.keys = list(keys)

    def __iter__(self):
        return iter(self.keys)

    def __len__(self):
        return len(self.keys)


def split_samples(store, split):
    with h5py.File(store, "r") as f:
        ids = [s.decode() for s in f["patients/id"][...]]
        patient = f["samples/patient"][...]
        labels = f["samples/label"][...]
    part = {name: k for k in ("train", "val", "test") for name in split[k]}
    out = {"train": [], "val": [], "test": []}
    for i, p in enumerate(patient):
        where = part.get(ids[p])
        if where:
            out[where].append(i)
    return {k: np.array(v) for k, v in out.items()}, labels, ids, patient


def auc(positive, scores):
    """The area under the ROC curve (Mann-Whitney, ties counted half)."""
    order = np.argsort(scores, kind="mergesort")
    _, inverse, counts = np.unique(scores[order], return_inverse=True, return_counts=True)
    average = np.cumsum(counts) - (counts - 1) / 2
    ranks = np.empty(len(scores))
    ranks[order] = average[inverse]
    n_pos, n_neg = positive.sum(), (~positive).sum()
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def multiclass_metrics(probs, labels):
    """aAUC, the mean one-against-the-rest AUC over the classes present (TSCCN eq. 7)."""
    aucs = [auc(labels == c, probs[:, c]) for c in range(probs.shape[1])
            if 0 < (labels == c).sum() < len(labels)]
    return {"aAUC": float(np.mean(aucs)) if aucs else 0.0}


def predict(net, loader, device):
    net.eval()
    probs, labels, samples = [], [], []
    with torch.no_grad():
        for b in loader:
            p = torch.softmax(net(b["images"].to(device, non_blocking=True))["logits"], 1)
            probs.append(p.float().cpu())
            labels.append(b["labels"])
            samples.append(b["samples"])
    net.train()
    return torch.cat(probs).numpy(), torch.cat(labels).numpy(), torch.cat(samples).numpy()


def write_predictions(path, probs, labels, samples, ids, patient):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "patient", "label", "p0", "p1", "p2"])
        for pr, y, i in zip(probs, labels, samples):
            w.writerow([int(i), ids[patient[i]], int(y)] + [f"{v:.6g}" for v in pr])


# ---------------------------------------------------------------- one Ray Tune trial

def tsccn_trial(config):
    """One job as a Tune function trainable. Writes <out>/timing.json: seconds per phase."""
    from ray import tune
    entered = time.time()
    job, ph = config["job"], dict.fromkeys(PHASES, 0.0)
    cfg = job["config"]
    train, model = cfg["train"], cfg["model"]
    device = torch.device(job["device"])
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    torch.set_num_threads(max(1, int(train["threads"]) or 1))
    parts, labels, ids, patient = split_samples(job["store"], job["split"])
    torch.manual_seed(int(train["seed"]))
    net = TsccnRow(int(model["width"]), model["variant"], int(model["split_stage"])).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=float(train["lr"]),
                           weight_decay=float(train["weight_decay"]))
    triplet, neighbours = ROWS[model["variant"]][1], ROWS[model["variant"]][2]
    forward = torch.compile(net, mode="reduce-overhead") if job.get("compile") else net
    start, best, best_epoch = 0, -math.inf, 0
    ckpt = tune.get_checkpoint()
    if ckpt:  # a trial restarted by Tune resumes from its last report
        with ckpt.as_directory() as d:
            state = torch.load(os.path.join(d, "checkpoint.pt"), map_location=device)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        start, best, best_epoch = state["epoch"], state["best"], state["best_epoch"]
    workers, batch = int(train["loader_workers"]), int(train["batch_size"])
    loader_args = dict(batch_size=batch, num_workers=workers, persistent_workers=workers > 0,
                       pin_memory=cuda)
    keys = Keys()
    augment = (float(train["rotation"]), float(train["hflip"]), float(train["vflip"]))
    train_loader = torch.utils.data.DataLoader(Views(job["store"], neighbours, augment),
                                               sampler=keys, **loader_args)
    eval_data = Views(job["store"], neighbours, None)
    val_loader = torch.utils.data.DataLoader(eval_data, sampler=Keys(parts["val"]), **loader_args)
    os.makedirs(job["out"], exist_ok=True)
    best_path = os.path.join(job["out"], "best.pt")
    ph["startup"] = time.time() - entered
    for epoch in range(start, int(train["epochs"])):
        order = parts["train"][peer.oversampled_order(labels[parts["train"]],
                                                      int(train["seed"]) * 7919 + epoch)]
        if len(order) % batch == 1 and len(order) > 1:
            order = order[:-1]  # as fracsweep: a last batch of one sits the epoch out
        keys.keys = [(int(i), int(train["seed"]) * 1000003 + epoch * 100003 + k)
                     for k, i in enumerate(order)]
        it = iter(train_loader)
        while True:
            t0 = time.perf_counter()
            try:
                b = next(it)
            except StopIteration:
                break
            t1 = time.perf_counter()
            ph["data"] += t1 - t0
            b = {k: v.to(device, non_blocking=True) for k, v in b.items()}
            opt.zero_grad()
            loss = row_loss(forward(b["images"]), b, triplet, train)
            loss.backward()
            opt.step()
            ph["steps"] += time.perf_counter() - t1
        sync()
        t2 = time.perf_counter()
        probs, y, _ = predict(net, val_loader, device)
        score = multiclass_metrics(probs, y)["aAUC"]
        t3 = time.perf_counter()
        ph["eval"] += t3 - t2
        if score > best:
            best, best_epoch = score, epoch
            torch.save(net.state_dict(), best_path)
        with tempfile.TemporaryDirectory() as d:
            torch.save({"model": net.state_dict(), "optimizer": opt.state_dict(),
                        "epoch": epoch + 1, "best": best, "best_epoch": best_epoch},
                       os.path.join(d, "checkpoint.pt"))
            tune.report({"aAUC": score, "epoch": epoch + 1},
                        checkpoint=tune.Checkpoint.from_directory(d))
        ph["checkpoint"] += time.perf_counter() - t3
    t4 = time.perf_counter()
    net.load_state_dict(torch.load(best_path, map_location=device))
    for split in ("val", "test"):
        loader = val_loader if split == "val" else torch.utils.data.DataLoader(
            eval_data, sampler=Keys(parts["test"]), **loader_args)
        probs, y, samples = predict(net, loader, device)
        write_predictions(os.path.join(job["out"], f"predictions_{split}.csv"), probs, y,
                          samples, ids, patient)
        if split == "test":
            metrics = multiclass_metrics(probs, y)
    ph["finish"] = time.perf_counter() - t4
    with open(os.path.join(job["out"], "timing.json"), "w") as f:
        json.dump({"phases": ph, "entered": entered, "ended": time.time(),
                   "best_epoch": best_epoch + 1, "test": metrics}, f)


def ray_side(args):
    """The Ray process: one Tuner over the jobs file's jobs (--ray-jobs)."""
    with open(args.ray_jobs) as f:
        spec = json.load(f)
    os.environ["PYTHONPATH"] = BENCH + os.pathsep + os.environ.get("PYTHONPATH", "")
    import ray
    from ray import tune
    n = spec["concurrency"]
    gpus = 1 if spec["device"] == "cuda" else 0
    ray.init(num_cpus=max(n, spec.get("cpus", n)), num_gpus=gpus, include_dashboard=False,
             log_to_driver=False, logging_level="ERROR")
    per_trial = {"cpu": 1}
    if gpus:
        per_trial["gpu"] = 1.0 / n
    tuner = tune.Tuner(
        tune.with_resources(tsccn_trial, per_trial),
        param_space={"job": tune.grid_search(spec["jobs"])},
        tune_config=tune.TuneConfig(max_concurrent_trials=n, reuse_actors=False),
        run_config=tune.RunConfig(storage_path=spec["storage"], name="sweep", verbose=0,
                                  checkpoint_config=tune.CheckpointConfig(num_to_keep=2)))
    results = tuner.fit()
    errors = [str(r.error) for r in results if r.error]
    ray.shutdown()
    if errors:
        raise SystemExit("Ray trials failed:\n" + "\n".join(errors[:3]))


# ---------------------------------------------------------------- the driver

class CpuShare:
    """The machine's busy share of CPU time between start() and stop(), from /proc/stat."""

    @staticmethod
    def read():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        idle = v[3] + v[4]
        return sum(v[:8]) - idle, sum(v[:8])

    def __enter__(self):
        self.b0, self.t0 = self.read()
        return self

    def __exit__(self, *exc):
        b1, t1 = self.read()
        self.share = (b1 - self.b0) / max(1, t1 - self.t0)


class GpuShare:
    """The GPU's mean utilisation while it runs (nvidia-smi every 200 ms); None without one."""

    def __init__(self, on):
        self.on, self.share, self.proc = on and shutil.which("nvidia-smi"), None, None

    def __enter__(self):
        if self.on:
            self.proc = subprocess.Popen(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits",
                 "-lms", "200"], stdout=subprocess.PIPE, text=True)
        return self

    def __exit__(self, *exc):
        if self.proc:
            self.proc.terminate()
            out = self.proc.communicate()[0].split()
            vals = [float(x) for x in out if x.replace(".", "").isdigit()]
            self.share = statistics.mean(vals) / 100 if vals else None


def iso(t):
    return datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp()


def mpi_env():
    return dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="1")


def write_sweep(base, store, out, args, device, graphs=None):
    s = json.loads(json.dumps(base))
    s["output"] = out
    s["dataset"] = {"store": store}
    if args.split_repeats:
        key = "run_folds" if s["protocol"].get("split") == "kfold" else "repeats"
        s["protocol"][key] = list(range(args.split_repeats))
    if args.variants:
        s["variants"] = {k: v for k, v in s["variants"].items() if k in args.variants.split(",")}
    train = s.setdefault("train", {})
    if args.epochs:
        train["epochs"] = args.epochs
    if args.batch:
        train["batch_size"] = args.batch
    train["device"] = device
    if graphs:
        train["cuda_graphs"] = graphs
    path = out + ".yaml"
    with open(path, "w") as f:
        yaml.safe_dump(s, f, sort_keys=False)
    return path


def run_fracsweep(args, sweep_path, out, ranks, device):
    binary = os.path.abspath(args.binary)
    cmd = [args.mpirun, "-np", str(ranks)]
    if ranks > (os.cpu_count() or 1) or device == "cuda":
        cmd += ["--oversubscribe", "--bind-to", "none"]
    cmd += [binary, "run", sweep_path]
    with CpuShare() as cpu, GpuShare(device == "cuda") as gpu:
        started = time.time()
        r = subprocess.run(cmd, env=mpi_env(), capture_output=True, text=True)
        wall = time.time() - started
    if r.returncode != 0:
        raise SystemExit(f"fracsweep run failed ({r.returncode}):\n{r.stderr[-3000:]}")
    events = [json.loads(line) for p in glob.glob(os.path.join(out, "ledger.d", "*.jsonl"))
              for line in open(p) if line.strip()]
    begun = {e["job"]: iso(e["time"]) for e in events if e["event"] == "started"}
    done = {e["job"]: iso(e["time"]) for e in events if e["event"] == "finished"}
    manifest = json.load(open(os.path.join(out, "sweep.json")))
    phases, job_s = dict.fromkeys(PHASES, 0.0), 0.0
    for j in manifest["jobs"]:
        t = json.load(open(os.path.join(out, j["name"], "timing.json")))
        for k in PHASES:
            phases[k] += t[k + "_s"]
        job_s += done[j["id"]] - begun[j["id"]]
    return {"jobs": len(done), "wall": wall, "first": min(done.values()) - started,
            "cpu": cpu.share, "gpu": gpu.share, "phases": phases,
            "outside": wall * ranks - job_s, "in_job_other": job_s - sum(phases.values()),
            "manifest": manifest}


def ray_jobs(fs_out, manifest, store, out, device, compile_):
    jobs = []
    for j in manifest["jobs"]:
        d = os.path.join(fs_out, j["name"])
        jobs.append({"name": j["name"], "store": store, "device": device, "compile": compile_,
                     "config": yaml.safe_load(open(os.path.join(d, "config.yaml"))),
                     "split": json.load(open(os.path.join(d, "split.json"))),
                     "out": os.path.join(out, "jobs", j["name"])})
    return jobs


def run_ray(args, jobs, out, concurrency, device):
    spec = {"jobs": jobs, "concurrency": concurrency, "device": device,
            "storage": os.path.join(out, "ray_results"), "cpus": args.cpus or concurrency}
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "ray_jobs.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", OMP_NUM_THREADS="1",
               RAY_AIR_NEW_OUTPUT="0", TUNE_DISABLE_AUTO_CALLBACK_LOGGERS="1",
               RAY_DEDUP_LOGS="0", RAY_USAGE_STATS_ENABLED="0")
    with CpuShare() as cpu, GpuShare(device == "cuda") as gpu:
        started = time.time()
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--ray-jobs", path],
                           env=env, capture_output=True, text=True)
        wall = time.time() - started
    if r.returncode != 0:
        raise SystemExit(f"the Ray side failed ({r.returncode}):\n{r.stderr[-3000:]}")
    phases, ends, job_s = dict.fromkeys(PHASES, 0.0), [], 0.0
    for j in jobs:
        t = json.load(open(os.path.join(j["out"], "timing.json")))
        for k in PHASES:
            phases[k] += t["phases"][k]
        ends.append(t["ended"])
        job_s += t["ended"] - t["entered"]
    return {"jobs": len(jobs), "wall": wall, "first": min(ends) - started, "cpu": cpu.share,
            "gpu": gpu.share, "phases": phases, "outside": wall * concurrency - job_s,
            "in_job_other": job_s - sum(phases.values())}


def check_models(fs_out, manifest):
    """Every row's Python model against its fracsweep checkpoint, by name and shape."""
    counts = {}
    for j in manifest["jobs"]:
        v = j["variant"]
        if v in counts:
            continue
        cfg = yaml.safe_load(open(os.path.join(fs_out, j["name"], "config.yaml")))["model"]
        archive = torch.jit.load(os.path.join(fs_out, j["name"], "checkpoint_last.pt"))
        strip = lambda items: {n[len("model."):]: tuple(t.shape) for n, t in items
                               if n.startswith("model.")}
        net = TsccnRow(int(cfg["width"]), v, int(cfg["split_stage"]))
        counts[v] = peer.check_parameters(net, strip(archive.named_parameters()),
                                          strip(archive.named_buffers()))
    return counts


def is_pelvis(base):
    return "pelvis_phantom" in base.get("dataset", {})


def synth_store(args, base, path):
    if is_pelvis(base):
        ph = base["dataset"]["pelvis_phantom"]
        cmd = [args.binary, "synth", "pelvis", path, "--images", str(args.patients or ph["images"]),
               "--height", str(ph["height"]), "--width", str(ph["width"]),
               "--seed", str(ph.get("seed", 1)), "-q"]
        if "difficulty" in ph:
            cmd += ["--difficulty", str(ph["difficulty"])]
        subprocess.run(cmd, check=True, capture_output=True)
        return
    ph = base["dataset"]["phantom"]
    cmd = [args.binary, "synth", "vcf", path, "--patients", str(args.patients or ph["patients"]),
           "--patch-size", str(args.patch_size or ph["patch_size"]), "--seed", str(ph.get("seed", 1)),
           "-q"]
    if "difficulty" in ph:
        cmd += ["--difficulty", str(ph["difficulty"])]
    subprocess.run(cmd, check=True, capture_output=True)


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def print_cpu_table(fs, ray, ranks, args, counts):
    print(f"\n{fs[0]['jobs']} jobs, {ranks} ranks / concurrent trials, median of {len(fs)} "
          f"alternating repetitions; parameters per row (python = fracsweep): "
          + ", ".join(f"{v} {c[0]:,}" for v, c in counts.items()))
    print("\n| measure | Ray Tune + PyTorch | fracsweep | fracsweep / Ray |")
    print("|---|---:|---:|---:|")
    jph = lambda runs: statistics.median(r["jobs"] / r["wall"] * 3600 for r in runs)
    print(f"| jobs per hour | {jph(ray):.0f} | {jph(fs):.0f} | {jph(fs) / jph(ray):.2f}x |")
    for name, key, fmt in (("time to first finished job, s", "first", "{:.1f}"),
                           ("wall time, s", "wall", "{:.1f}"), ("CPU busy share", "cpu", "{:.0%}")):
        r, f = med(ray, key), med(fs, key)
        ratio = f"{r / f:.2f}x faster" if key != "cpu" else ""
        print(f"| {name} | {fmt.format(r)} | {fmt.format(f)} | {ratio} |")
    if fs[0]["gpu"] is not None:
        print(f"| GPU busy share | {med(ray, 'gpu'):.0%} | {med(fs, 'gpu'):.0%} | |")
    print("\nWhere the time goes (job-seconds summed over the jobs; medians):\n")
    print("| phase | Ray Tune + PyTorch | fracsweep |")
    print("|---|---:|---:|")
    for k in PHASES:
        print(f"| {k} | {statistics.median(r['phases'][k] for r in ray):.1f} | "
              f"{statistics.median(r['phases'][k] for r in fs):.1f} |")
    print(f"| in a job, untimed | {med(ray, 'in_job_other'):.1f} | {med(fs, 'in_job_other'):.1f} |")
    print(f"| outside the jobs (wall x {ranks} - jobs) | {med(ray, 'outside'):.1f} | "
          f"{med(fs, 'outside'):.1f} |")


def cpu_mode(args, base):
    # Absolute: Ray's trials run elsewhere, and its storage path goes to pyarrow, which
    # refuses a relative one as a URI without a scheme.
    work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="fracsweep-sweep-vs-ray-"))
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, "store.h5")
    synth_store(args, base, store)
    fs_runs, ray_runs, counts = [], [], None
    for rep in range(args.repeats):
        out = os.path.join(work, f"rep{rep}")
        fs_out = os.path.join(out, "fracsweep")
        os.makedirs(out, exist_ok=True)
        sweep = write_sweep(base, store, fs_out, args, "cpu")
        fs = run_fracsweep(args, sweep, fs_out, args.ranks, "cpu")
        if counts is None:
            counts = check_models(fs_out, fs["manifest"])
        jobs = ray_jobs(fs_out, fs["manifest"], store, os.path.join(out, "ray"), "cpu", False)
        ray = run_ray(args, jobs, os.path.join(out, "ray"), args.ranks, "cpu")
        print(f"repetition {rep + 1}: fracsweep {fs['wall']:.1f} s, Ray {ray['wall']:.1f} s",
              flush=True)
        fs_runs.append(fs)
        ray_runs.append(ray)
    print_cpu_table(fs_runs, ray_runs, args.ranks, args, counts)


def gpu_mode(args, base):
    """fracsweep on 1/2/4/8 ranks sharing one GPU (eager; train.cuda_graphs on) against Ray
    with 1/N GPU per trial (eager; torch.compile reduce-overhead). One repetition each;
    stops starting configurations after --budget seconds; the table last."""
    device = "cpu" if args.rehearse else "cuda"
    if not args.rehearse and not torch.cuda.is_available():
        raise SystemExit("--gpu needs a visible GPU (or --rehearse to try it on the CPU)")
    have_ray = not is_pelvis(base)
    if not have_ray:
        print("AASN: this script has no PyTorch peer of the pelvis data path and Table 2's rows;"
              " only fracsweep's rows (eager, CUDA graphs) are run", flush=True)
    try:
        import ray  # noqa: F401
    except ImportError:
        have_ray = False
        print("ray is not importable here: only fracsweep's rows are run", flush=True)
    # Absolute: Ray's trials run elsewhere, and its storage path goes to pyarrow, which
    # refuses a relative one as a URI without a scheme.
    work = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="fracsweep-sweep-vs-ray-gpu-"))
    os.makedirs(work, exist_ok=True)
    store = os.path.join(work, "store.h5")
    synth_store(args, base, store)
    deadline = time.time() + args.budget
    rows, skipped, manifest_out = [], [], None
    for n in [int(x) for x in args.ranks_list.split(",")]:
        # train.cuda_graphs: off for the eager row (auto would capture AASN); on where the model
        # allows it (not TSCCN's rows: their losses synchronise); auto in a CPU rehearsal.
        configs = [("fracsweep", "eager", "off")]
        configs += [("ray", "eager", False), ("ray", "compile", True)] if have_ray else []
        if is_pelvis(base):
            configs.append(("fracsweep", "cuda graphs", "auto" if args.rehearse else "on"))
        for side, mode, extra in configs:
            if time.time() > deadline:
                skipped.append(f"{side} {mode} n={n}")
                continue
            out = os.path.join(work, f"{side}-{mode.replace(' ', '-')}-{n}")
            try:
                if side == "fracsweep":
                    r = run_fracsweep(args, write_sweep(base, store, out, args, device, extra),
                                      out, n, device)
                    manifest_out = (out, r["manifest"])
                else:
                    jobs = ray_jobs(manifest_out[0], manifest_out[1], store, out, device, extra)
                    r = run_ray(args, jobs, out, n, device)
            except SystemExit as e:
                print(f"{side} {mode} n={n}: failed: {str(e)[-400:]}", flush=True)
                skipped.append(f"{side} {mode} n={n} (failed)")
                continue
            rows.append((side, mode, n, r))
            print(f"{side} {mode} n={n}: {r['wall']:.1f} s", flush=True)
    print(f"\nGPU sweep ({base['name']}, device {device}): jobs per hour by ranks / trials "
          f"sharing the GPU")
    print("\n| side | mode | N | jobs/h | first job s | wall s | GPU busy | CPU busy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for side, mode, n, r in rows:
        gpu = f"{r['gpu']:.0%}" if r["gpu"] is not None else "-"
        print(f"| {side} | {mode} | {n} | {r['jobs'] / r['wall'] * 3600:.0f} | {r['first']:.1f} |"
              f" {r['wall']:.1f} | {gpu} | {r['cpu']:.0%} |")
    if skipped:
        print("\nnot run (budget or failure): " + ", ".join(skipped))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default="build/fracsweep")
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--sweep", default="examples/sweeps/tsccn-table3-tiny.yaml")
    ap.add_argument("--ranks", type=int, default=2, help="fracsweep ranks = concurrent trials")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repetitions")
    ap.add_argument("--patients", type=int, help="phantom patients (default: the sweep's)")
    ap.add_argument("--patch-size", type=int, help="phantom patch size (default: the sweep's)")
    ap.add_argument("--split-repeats", type=int, help="the first K of the sweep's repeats")
    ap.add_argument("--epochs", type=int, help="train.epochs over the sweep's")
    ap.add_argument("--batch", type=int, help="train.batch_size over the sweep's")
    ap.add_argument("--variants", help="comma-separated subset of the sweep's variants")
    ap.add_argument("--cpus", type=int, help="CPUs Ray may schedule (default: --ranks)")
    ap.add_argument("--workdir")
    ap.add_argument("--gpu", action="store_true", help="the GPU table (see above)")
    ap.add_argument("--ranks-list", default="1,2,4,8")
    ap.add_argument("--budget", type=float, default=300, help="--gpu: seconds to start runs in")
    ap.add_argument("--rehearse", action="store_true", help="--gpu on the CPU")
    ap.add_argument("--ray-jobs", help=argparse.SUPPRESS)  # the Ray process's own entry
    args = ap.parse_args()
    if args.ray_jobs:
        return ray_side(args)
    if yaml is None:
        raise SystemExit("PyYAML is missing: pip install pyyaml (scripts/gpu-check.sh --pack"
                         " carries it to a GPU machine)")
    with open(args.sweep) as f:
        base = yaml.safe_load(f)
    if "phantom" not in base.get("dataset", {}) and not (args.gpu and is_pelvis(base)):
        ap.error(f"{args.sweep}: dataset.phantom missing; the benchmark writes the store from it"
                 " (a vertebra phantom sweep, e.g. examples/sweeps/tsccn-table3-tiny.yaml; with"
                 " --gpu also a pelvis_phantom one)")
    unknown = set((args.variants or "").split(",")) - set(base["variants"]) - {""}
    if unknown:
        ap.error(f"--variants: {', '.join(sorted(unknown))} not in {args.sweep}"
                 f" (known: {', '.join(base['variants'])})")
    if args.rehearse and not args.gpu:
        ap.error("--rehearse goes with --gpu")
    (gpu_mode if args.gpu else cpu_mode)(args, base)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Inference throughput: `fracsweep predict` against the same model in PyTorch
eager inference reading the same store with h5py, on the same machine in one
run, at the same thread count, alternating the two sides.

The model is a TSCCN job (variant "tsccn", trainer/tsccn.h) trained here by
`fracsweep run` on a phantom (one job: one split, one seed, --epochs epochs);
its selected checkpoint (checkpoint_best.pt) is what both sides apply. The
Python side is bench/train_vs_pytorch.py's re-implementation of the model,
with the checkpoint's parameters and buffers loaded by name (the names and
shapes must all match), in eval mode under torch.inference_mode(). It reads the
external store with h5py in a Dataset (the current patch and its previous and
next vertebra, a missing neighbour replaced by the current patch, as the C++
loader does), batches with a DataLoader (workers = the job's loader workers,
batch = the job's batch size or --batch, which fracsweep predict is given
too), normalises to [-1, 1], and writes the softmax
probabilities as CSV. The script fails unless both sides' probabilities agree
(max absolute difference below 1e-4).

Two figures per side, each the median over --repeats alternated runs:
  end to end   the whole command as a user runs it, from process start to the
               predictions on disk (`fracsweep predict ... --out NEW`; `python
               this-script --python-side`, importing torch included);
  in process   from loading the checkpoint to the predictions on disk (the C++
               side's log line per job; the Python side's own clock).
Images per second = items of the store / seconds.

    .venv/bin/python bench/predict_vs_pytorch.py [--binary build/fracsweep]
        [--patients 60] [--patch-size 64] [--width 4] [--threads 2]
        [--repeats 5] [--epochs 1] [--batch N] [--workdir DIR] [--device cpu|cuda]

On a GPU (--device cuda) the job trains and both sides predict there; the
Python side's clock stops after the last batch's probabilities reach the host.

Needs numpy, h5py and torch (`scripts/setup.sh --with-bench`).
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
HERE = os.path.dirname(os.path.abspath(__file__))


def python_side(args):
    """Runs in a process of its own: load, read, infer, write; prints seconds."""
    start = time.perf_counter()
    import h5py
    import numpy as np
    import torch
    sys.path.insert(0, HERE)
    from train_vs_pytorch import Tsccn

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    loaded = time.perf_counter()
    net = Tsccn(args.width, split_stage=args.split_stage)
    archive = torch.jit.load(args.checkpoint)
    state = {n[len("model."):]: t for n, t in
             list(archive.named_parameters()) + list(archive.named_buffers())
             if n.startswith("model.")}
    ours = net.state_dict()
    missing = sorted(set(ours) ^ set(state))
    if missing:
        raise SystemExit(f"names differ between the checkpoint and the Python TSCCN: {missing[:10]}")
    net.load_state_dict(state)
    net.to(device).eval()

    class Store(torch.utils.data.Dataset):
        def __init__(self, path):
            self.path, self.f = path, None
            with h5py.File(path, "r") as f:
                self.n = len(f["samples/label"])

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            if self.f is None:  # opened per worker: h5py handles must not cross a fork
                self.f = h5py.File(self.path, "r")
                self.images = self.f["images"]
                self.prev, self.next = self.f["samples/prev"][...], self.f["samples/next"][...]
            current = self.images[i]
            p, n = int(self.prev[i]), int(self.next[i])
            views = (self.images[p] if p >= 0 else current, current,
                     self.images[n] if n >= 0 else current)
            x = torch.from_numpy(np.stack(views).astype(np.float32) / 255.0)
            return (x - 0.5) / 0.5

    loader = torch.utils.data.DataLoader(Store(args.store), batch_size=args.batch,
                                         num_workers=args.workers,
                                         persistent_workers=False)
    rows = []
    with torch.inference_mode():
        for x in loader:
            x = x.to(device, non_blocking=True)
            rows.append(torch.softmax(net(x)["logits"], 1).double().cpu().numpy())
    probs = np.concatenate(rows)
    np.savetxt(args.out, probs, delimiter=",", fmt="%.17g")
    end = time.perf_counter()
    print(json.dumps({"in_process_s": end - loaded, "script_s": end - start}))


def run(cmd, env=None):
    start = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return seconds, r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "build", "fracsweep"))
    ap.add_argument("--patients", type=int, default=60)
    ap.add_argument("--patch-size", type=int, default=64)
    ap.add_argument("--width", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--device", default="cpu", help="cpu or cuda, for both sides")
    ap.add_argument("--python-side", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--checkpoint", help=argparse.SUPPRESS)
    ap.add_argument("--store", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int,
                    help="items per forward pass on both sides (default: the job's batch size)")
    ap.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--split-stage", type=int, default=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.python_side:
        return python_side(args)

    import numpy as np

    work = args.workdir or tempfile.mkdtemp(prefix="predict-bench-")
    os.makedirs(work, exist_ok=True)
    binary = os.path.abspath(args.binary)
    sweep_dir = os.path.join(work, "sweep")
    sweep = os.path.join(work, "sweep.yaml")
    with open(sweep, "w") as f:
        f.write(f"name: predict-bench\noutput: {sweep_dir}\npreset: tiny\n"
                f"dataset: {{phantom: {{patients: 40, patch_size: {args.patch_size}, seed: 1}}}}\n"
                "protocol: {split: random, repeats: [0]}\nseeds: [1]\n"
                "variants:\n  tsccn: {model: {variant: tsccn}}\n"
                f"model: {{width: {args.width}}}\n"
                f"train: {{epochs: {args.epochs}, threads: {args.threads}, device: {args.device}}}\n")
    if not os.path.exists(os.path.join(sweep_dir, "tsccn", "repeat0", "seed1", "metrics.json")):
        run([binary, "run", sweep, "--log-level", "warn"])
    store = os.path.join(work, "external.h5")
    if not os.path.exists(store):
        run([binary, "synth", "vcf", store, "--patients", str(args.patients), "--patch-size",
             str(args.patch_size), "--seed", "2", "--difficulty", "0.7", "-q"])
    job = os.path.join(sweep_dir, "tsccn", "repeat0", "seed1")
    config = open(os.path.join(job, "config.yaml")).read()
    batch = args.batch or int(re.search(r"batch_size: (\d+)", config).group(1))
    workers = int(re.search(r"loader_workers: (\d+)", config).group(1))
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")

    def cpp_once(k):
        out = os.path.join(work, f"cpp{k}")
        shutil.rmtree(out, ignore_errors=True)  # a finished folder would be skipped
        seconds, r = run([binary, "predict", sweep_dir, store, "--out", out, "--device",
                          args.device, "--batch", str(batch)], env)
        m = re.search(r"tsccn/repeat0/seed1: (\d+) items in ([0-9.e+-]+) s", r.stderr)
        return seconds, float(m.group(2)), int(m.group(1)), out

    def py_once(k):
        out = os.path.join(work, f"py{k}.csv")
        seconds, r = run([sys.executable, os.path.abspath(__file__), "--python-side",
                          "--checkpoint", os.path.join(job, "checkpoint_best.pt"),
                          "--store", store, "--out", out, "--batch", str(batch),
                          "--workers", str(workers), "--threads", str(args.threads),
                          "--width", str(args.width), "--device", args.device], env)
        return seconds, json.loads(r.stdout.strip().splitlines()[-1])["in_process_s"], out

    cpp_e2e, cpp_in, py_e2e, py_in = [], [], [], []
    items = None
    for k in range(args.repeats):  # alternating, C++ first in even rounds
        order = (0, 1) if k % 2 == 0 else (1, 0)
        for side in order:
            if side == 0:
                s, inside, items, cpp_out = cpp_once(k)
                cpp_e2e.append(s)
                cpp_in.append(inside)
            else:
                s, inside, py_out = py_once(k)
                py_e2e.append(s)
                py_in.append(inside)
    # The same model gives the same probabilities.
    cpp = np.genfromtxt(os.path.join(cpp_out, "jobs", "tsccn", "repeat0", "seed1",
                                     "predictions_test.csv"), delimiter=",", names=True,
                        dtype=None, encoding="utf-8")
    ours = np.stack([cpp["p0"], cpp["p1"], cpp["p2"]], 1)
    theirs = np.loadtxt(py_out, delimiter=",")
    diff = float(np.abs(ours - theirs).max())
    if diff > (1e-4 if args.device == "cpu" else 1e-3):  # cuDNN may pick other algorithms
        raise SystemExit(f"the two sides' probabilities differ by up to {diff}")
    med = statistics.median
    row = {"device": args.device, "items": items, "threads": args.threads, "batch": batch,
           "loader_workers": workers,
           "width": args.width, "patch": args.patch_size, "repeats": args.repeats,
           "max_abs_diff": diff,
           "fracsweep_e2e_img_s": items / med(cpp_e2e), "pytorch_e2e_img_s": items / med(py_e2e),
           "e2e_speedup": med(py_e2e) / med(cpp_e2e),
           "fracsweep_inproc_img_s": items / med(cpp_in),
           "pytorch_inproc_img_s": items / med(py_in),
           "inproc_speedup": med(py_in) / med(cpp_in),
           "fracsweep_e2e_s": cpp_e2e, "pytorch_e2e_s": py_e2e}
    print(json.dumps(row))


if __name__ == "__main__":
    main()

"""One training step (forward, loss, backward) of ResNet-18 three ways, in one process of
the project's venv, alternating, medians (BENCHMARKS.md, "Models from PyTorch"):

  eager     PyTorch eager (oneDNN's convolutions on the CPU)
  compile   torch.compile of the same module
  package   the AOTInductor package `fracsweep export` writes, run by LibTorch's package
            loader (the runtime fracsweep's C++ trainer calls; from Python here, so the
            three share one process and one input)

and the export's and compile's times, with where the compile spends them (cProfile of the
train graph's compile: Inductor's Python - lowering, scheduling, code generation - against
the C++ compiler it runs).

With --binary (build/fracsweep), each round also times fracsweep's own trainer on a phantom
store of the same size (`fracsweep bench train`, one process each, alternating with the
above): the same package as a job's model, and the built-in LibTorch ResNet-18 (the C++
twin of the model file's backbone), each as compute (one batch held in memory) and end to
end (batches from the store through the loader). Their steps include the optimiser's
update, which the three above leave out; the package's C++ compute against the Python
loader's is the trainer's overhead per step.

    .venv/bin/python bench/exported_vs_pytorch.py [--size 128] [--batch 16] [--threads 2]
        [--rounds 5] [--steps 3] [--package runs/bench/resnet18.pt2] [--device cpu|cuda]
        [--bf16]
"""
import argparse
import copy
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import fracsweep_export  # noqa: E402


def export(args, model_file):
    """The package, exported and compiled now (timed), or the one given."""
    if os.path.exists(args.package) and not args.recompile:
        return None
    argv = [model_file, "--task", "vertebra", "--size", str(args.size), "--out", args.package,
            "--device", args.device, "--threads", str(args.threads),
            "--precision", "bf16" if args.bf16 else "fp32"]
    profile = cProfile.Profile()
    started = time.time()
    profile.enable()
    rc = fracsweep_export.main(argv)
    profile.disable()
    if rc != 0:
        sys.exit(rc)
    total = time.time() - started
    stats = pstats.Stats(profile, stream=io.StringIO())
    spent = {}
    for (filename, _, name), row in stats.stats.items():
        cumulative = row[3]
        if name in ("run_compile_cmd", "_run_compile_cmd") or (
                "cpp_builder" in filename and name == "build"):
            spent["c++ compiler"] = max(spent.get("c++ compiler", 0), cumulative)
        if name == "_export_forward_backward":
            spent["joint graph"] = max(spent.get("joint graph", 0), cumulative)
        if name == "export" and "torch/export/__init__" in filename:
            spent["torch.export"] = spent.get("torch.export", 0) + cumulative
    return {"total_s": round(total, 1), **{k: round(v, 1) for k, v in spent.items()}}


def cpp_jobs(args):
    """Job files for `fracsweep bench train`: the package and the built-in ResNet-18, on a
    phantom store of the benchmark's patch size."""
    folder = tempfile.mkdtemp(prefix="exported-bench-")
    store = os.path.join(folder, "store.h5")
    subprocess.run([args.binary, "synth", "vcf", store, "--patients", "20", "--patch-size",
                    str(args.size), "--seed", "1"], check=True, capture_output=True)
    train = (f"train: {{batch_size: {args.batch}, threads: {args.threads}, loader_workers: 1, "
             f"device: {args.device}, precision: {'bf16' if args.bf16 else 'fp32'}}}\n")
    jobs = {}
    for name, model in (("fracsweep package", f"{{variant: own-resnet18, package: "
                                                f"{os.path.abspath(args.package)}}}"),
                        ("fracsweep LibTorch eager", "{variant: resnet18, width: 64, in_channels: 1}")):
        path = os.path.join(folder, name.split()[-1] + ".yaml")
        with open(path, "w") as f:
            f.write(f"output: {os.path.join(folder, name.split()[-1])}\n"
                    f"data: {{store: {store}}}\nmodel: {model}\n" + train)
        jobs[name] = path
    return jobs


def cpp_round(args, jobs, times):
    """One `fracsweep bench train` of each job: milliseconds per step, compute and end to end."""
    for name, path in jobs.items():
        out = subprocess.run([args.binary, "bench", "train", path, "--steps", str(args.steps),
                              "--warmup", "1", "--json"], check=True, capture_output=True,
                             text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        times.setdefault(name + " compute", []).append(r["compute_s_per_step"] * 1000)
        times.setdefault(name + " end to end", []).append(r["end_to_end_s_per_step"] * 1000)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--package", default=os.path.join(ROOT, "runs", "bench", "resnet18.pt2"))
    p.add_argument("--recompile", action="store_true")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--bf16", action="store_true",
                   help="autocast to bf16: eager, compile, and the package (--precision bf16)")
    p.add_argument("--model", default=os.path.join(ROOT, "examples", "models", "resnet18.py"),
                   help="the model file (a vertebra model)")
    p.add_argument("--binary", help="build/fracsweep: also time fracsweep's trainer (see above)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    model_file = args.model
    compile_times = export(args, model_file)
    device = torch.device(args.device)

    user = fracsweep_export.load_user_file(model_file)
    torch.manual_seed(1)
    net = user.build_model().to(device).train()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, 1, args.size, args.size, generator=g).to(device)
    y = (torch.arange(args.batch) % 3).to(device)
    loss_fn = torch.nn.functional.cross_entropy

    def eager_step(m):
        for q in m.parameters():
            q.grad = None
        with torch.autocast(device.type, torch.bfloat16, enabled=args.bf16):
            loss = loss_fn(m(x), y)
        loss.backward()
        return loss

    compiled = torch.compile(copy.deepcopy(net))
    from torch._inductor.package import load_package
    train = load_package(args.package, "train").loader
    state = {"m." + k: v.detach().clone() for k, v in net.state_dict().items()}
    train.load_constants({k: v for k, v in state.items() if k in train.get_constant_fqns()},
                         False, True, True)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    steps = {
        "eager": lambda: eager_step(net),
        "compile": lambda: eager_step(compiled),
        "package": lambda: train.run([x, y])[0],
    }
    started = time.time()
    steps["compile"]()  # torch.compile's own compile, timed apart
    sync()
    first_compile_s = time.time() - started
    for f in steps.values():  # warm-up
        f()
    times = {k: [] for k in steps}
    jobs = cpp_jobs(args) if args.binary else {}
    for _ in range(args.rounds):
        cpp_round(args, jobs, times)
        for name, f in steps.items():
            sync()
            t = time.perf_counter()
            for _ in range(args.steps):
                f()
            sync()
            times[name].append((time.perf_counter() - t) / args.steps * 1000)
    medians = {k: round(statistics.median(v), 1) for k, v in times.items()}
    row = {"device": args.device, "threads": args.threads, "size": args.size,
           "model": os.path.basename(model_file),
           "batch": args.batch, "bf16": args.bf16, "ms_per_step": medians,
           "package_vs_eager": round(medians["eager"] / medians["package"], 2),
           "package_vs_compile": round(medians["compile"] / medians["package"], 2),
           "torch_compile_first_call_s": round(first_compile_s, 1),
           "export_and_compile": compile_times, "torch": torch.__version__}
    print(json.dumps(row))


if __name__ == "__main__":
    main()

"""A researcher's PyTorch model as a fracsweep package (`fracsweep export`).

The user's file defines a function that builds an ``nn.Module`` (``build_model`` unless
``--function`` names another) and may define ``loss(output, target)``; without it the
task's loss is used:

  vertebra  input  [B, 1, S, S] (one patch) or [B, 3, S, S] with ``--neighbours``
            (previous, current, next); output class scores [B, 3];
            target the labels [B] (int64); loss: cross-entropy.
  pelvis    input  [B, 1, H, W] (the image); output a heatmap of logits [B, 1, H, W]
            (the image's score is the maximum of its sigmoid) or an image score [B, 1];
            target the fracture mask [B, 1, H, W] or the labels [B, 1] (float);
            loss: binary cross-entropy with logits.

One `.pt2` file comes out (torch.export, then AOTInductor), holding two compiled models
that share the parameters' names:

  train  (input, target) -> (loss, output, one gradient per parameter in the manifest's
         order); BatchNorm's running statistics are updated in place (forward, loss and
         backward are one graph: torch.export.experimental._export_forward_backward);
  eval   input -> output, in eval mode;

the initial weights as the models' constants, and ``extra/manifest.json``: the inputs
and outputs with shapes (-1: the dynamic batch), the parameters and buffers, the
LibTorch version, the device, the compile time and a hash of the source and settings.
A capture that fails names the line of the user's file and what to change, on one
line, and exits with 2.
"""

import argparse
import copy
import hashlib
import importlib.util
import io
import json
import logging
import os
import sys
import tempfile
import time
import traceback
import warnings

FORMAT = "fracsweep-exported/1"
EXIT_BAD_INPUT = 2


class BadModel(Exception):
    """What is wrong with the user's model, on one line."""


def say(message):
    print(f"fracsweep export: {message}", file=sys.stderr, flush=True)


def parse_size(text):
    parts = [int(p) for p in text.replace("x", ",").split(",") if p]
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or min(parts) < 8:
        raise BadModel(f"--size '{text}': give S or H,W of at least 8 pixels")
    return parts


class Captured:
    """Sends what torch prints while tracing (whole graphs, on a failure) to a file, so the
    one line that says what to change stands out; the file is kept when the export fails."""

    def __enter__(self):
        sys.stdout.flush()
        sys.stderr.flush()
        self.file = tempfile.NamedTemporaryFile("w+", prefix="fracsweep-export-",
                                                suffix=".log", delete=False)
        self.saved = [os.dup(1), os.dup(2)]
        os.dup2(self.file.fileno(), 1)
        os.dup2(self.file.fileno(), 2)
        return self

    def __exit__(self, kind, value, tb):
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        for fd in self.saved:
            os.close(fd)
        self.file.close()
        if kind is None or os.path.getsize(self.file.name) == 0:
            os.unlink(self.file.name)
            self.kept = None
        else:
            self.kept = self.file.name
        return False


def settings_of(args):
    """Everything besides the source that decides the package."""
    height, width = parse_size(args.size)
    return {
        "task": args.task,
        "function": args.function,
        "neighbours": bool(args.neighbours),
        "height": height,
        "width": width,
        "batch": args.batch,
        "seed": args.seed,
        "device": args.device,
        "max_autotune": bool(args.max_autotune),
        "precision": args.precision,
    }


def source_hash(source_bytes, settings, torch_version):
    h = hashlib.sha256()
    h.update(source_bytes)
    h.update(json.dumps(settings, sort_keys=True).encode())
    h.update(torch_version.encode())
    h.update(FORMAT.encode())
    return h.hexdigest()


def load_user_file(path):
    spec = importlib.util.spec_from_file_location("fracsweep_user_model", path)
    if spec is None:
        raise BadModel(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the user's code: say where
        raise BadModel(f"{path}:{user_line(e, path)}: importing it failed: "
                       f"{type(e).__name__}: {first_line(e)}") from None
    return module


def first_line(e):
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def user_line(e, path):
    """The last line of the user's file in the exception's traceback, or '?'."""
    line = "?"
    real = os.path.realpath(path)
    for frame in traceback.extract_tb(e.__traceback__):
        if os.path.realpath(frame.filename) == real:
            line = frame.lineno
    # torch.export reports user frames in its message ("File ..., line N") too.
    text = str(e)
    marker = f'File "{path}", line '
    for candidate in (marker, f'File "{real}", line '):
        at = text.rfind(candidate)
        if at >= 0:
            digits = text[at + len(candidate):].split(",")[0].split("\n")[0].strip()
            if digits.isdigit():
                line = int(digits)
    return line


def advice(e):
    """What to change, for the usual reasons torch.export cannot capture a model."""
    text = str(e)
    name = type(e).__name__
    if "data-dependent" in text or "GuardOnDataDependent" in name or \
            "Could not guard on data-dependent" in text or "Could not extract specialized" in text:
        return ("control flow depends on a tensor's values; compute both branches and choose "
                "with torch.where, or use torch.cond")
    if "Constraints violated" in text or "specialized" in text and "batch" in text:
        return ("the code fixes the batch size; use x.shape[0] or -1 instead of a number in "
                "view/reshape")
    if "not supported" in text or "Unsupported" in name or "unsupported" in text:
        return "replace the unsupported operation or Python construct named here by torch ops"
    if "requires grad" in text or "requires gradients" in text:
        return "return only the model's outputs from forward (no tensors kept for later)"
    return "make forward a pure function of its input with torch ops (see torch.export's docs)"


def capture_failure(e, path, what):
    return BadModel(f"{path}:{user_line(e, path)}: torch.export cannot capture the model's "
                    f"{what} ({type(e).__name__}: {first_line(e)[:160]}); {advice(e)}")


def task_io(settings):
    """Example input and target, and the shapes the manifest records."""
    import torch
    b, h, w = settings["batch"], settings["height"], settings["width"]
    g = torch.Generator().manual_seed(settings["seed"])
    if settings["task"] == "vertebra":
        views = 3 if settings["neighbours"] else 1
        x = torch.randn(b, views, h, w, generator=g)
        y = torch.arange(b) % 3
        return x, y, {"name": "image", "shape": [-1, views, h, w], "dtype": "float32"}
    x = torch.randn(b, 1, h, w, generator=g)
    return x, None, {"name": "image", "shape": [-1, 1, h, w], "dtype": "float32"}


def pelvis_target(output, settings):
    import torch
    b = settings["batch"]
    if output.dim() == 4:
        t = torch.zeros(b, 1, settings["height"], settings["width"])
        t[0, 0, 2:5, 2:5] = 1
        return t, "heatmap"
    return (torch.arange(b) % 2).float().view(b, 1), "class-scores"


def task_loss(task, kind):
    import torch.nn.functional as F
    if task == "vertebra":
        return F.cross_entropy
    return F.binary_cross_entropy_with_logits


def build(args, settings):
    """The user's module in train mode with its initial weights, and the loss."""
    import torch
    module = load_user_file(args.model)
    builder = getattr(module, args.function, None)
    if not callable(builder):
        raise BadModel(f"{args.model}: no function '{args.function}' that builds the model; "
                       f"define `def {args.function}(): return MyNet()` or pass --function NAME")
    torch.manual_seed(settings["seed"])
    try:
        net = builder()
    except Exception as e:
        raise BadModel(f"{args.model}:{user_line(e, args.model)}: {args.function}() failed: "
                       f"{type(e).__name__}: {first_line(e)}") from None
    if not isinstance(net, torch.nn.Module):
        raise BadModel(f"{args.model}: {args.function}() returned {type(net).__name__}, not an "
                       f"nn.Module; return the model itself")
    for name, m in net.named_modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm) and m.momentum is None:
            # The compiled step reads a 0-dim buffer (the step count a cumulative average
            # needs) as a constant; momentum-based statistics do not use it.
            raise BadModel(f"{args.model}: BatchNorm '{name}' has momentum=None (a cumulative "
                           f"average), which the compiled step cannot keep; give it a momentum "
                           f"(PyTorch's default: 0.1)")
    user_loss = getattr(module, "loss", None)
    return net.float().train(), user_loss if callable(user_loss) else None


class TrainStep:
    """Wraps the model so forward gives (loss, detached output): the joint graph's shape."""

    @staticmethod
    def make(net, loss_fn, settings):
        import torch
        device, bf16 = settings["device"], settings["precision"] == "bf16"

        class Step(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.m = net

            def forward(self, x, target):
                with torch.autocast(device, torch.bfloat16, enabled=bf16):
                    out = self.m(x)
                out = out.float()
                return loss_fn(out, target), out.detach()

        class Eval(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.m = net

            def forward(self, x):
                with torch.autocast(device, torch.bfloat16, enabled=bf16):
                    return self.m(x).float()

        return Step(), Eval()


def check_output(out, settings, path):
    n, h, w = settings["batch"], settings["height"], settings["width"]
    shape = list(out.shape)
    if settings["task"] == "vertebra":
        if shape != [n, 3]:
            raise BadModel(f"{path}: the model puts out {shape} for a batch of {n}; the vertebra "
                           f"task needs class scores [B, 3] (normal, benign, malignant)")
        return "class-scores", [-1, 3]
    if shape == [n, 1, h, w]:
        return "heatmap", [-1, 1, h, w]
    if shape == [n, 1]:
        return "class-scores", [-1, 1]
    raise BadModel(f"{path}: the model puts out {shape} for a batch of {n}; the pelvis task "
                   f"needs a heatmap [B, 1, {h}, {w}] or an image score [B, 1]")


def export_programs(net, loss_fn, settings, path):
    """The joint training graph and the evaluation graph, and what the manifest says of them."""
    import torch
    from torch.export.experimental import _export_forward_backward

    x, y, input_entry = task_io(settings)
    with torch.no_grad():
        probe = copy.deepcopy(net).eval()(x)
    kind, out_shape = check_output(probe, settings, path)
    if y is None:
        y, _ = pelvis_target(probe, settings)
    loss_fn = loss_fn or task_loss(settings["task"], kind)
    step, evaluator = TrainStep.make(net, loss_fn, settings)
    batch = torch.export.Dim("batch", min=2, max=4096)
    target_dims = {0: batch}
    try:
        ep = torch.export.export(step, (x, y), dynamic_shapes=({0: batch}, target_dims))
    except Exception as e:
        raise capture_failure(e, path, "training step") from None
    try:
        joint = _export_forward_backward(ep)
    except Exception as e:
        raise capture_failure(e, path, "backward") from None
    net.eval()
    try:
        ev = torch.export.export(evaluator.eval(), (x,), dynamic_shapes=({0: batch},))
    except Exception as e:
        raise capture_failure(e, path, "evaluation forward") from None
    finally:
        net.train()
    sig = joint.graph_signature
    grads = [s.target for s in sig.output_specs if s.kind.name == "GRADIENT_TO_PARAMETER"]
    params = dict(net.named_parameters())
    strip = lambda name: name[2:] if name.startswith("m.") else name
    grads = [strip(g) for g in grads]
    missing = [n for n in params if n not in grads]
    if missing:
        raise BadModel(f"{path}: the loss does not depend on parameter '{missing[0]}'; remove it "
                       f"or use it in forward (every parameter is trained)")
    target_entry = {"name": "target", "shape": [-1] + list(y.shape[1:]),
                    "dtype": str(y.dtype).replace("torch.", "")}
    manifest = {
        "input": ("patch+neighbours" if settings["neighbours"] else "patch")
        if settings["task"] == "vertebra" else "image",
        "output": kind,
        "inputs": [input_entry, target_entry],
        "outputs": {"train": ["loss", "output"] + [f"grad:{g}" for g in grads],
                    "eval": [{"name": "output", "shape": out_shape, "dtype": "float32"}]},
        "parameters": [{"name": n, "shape": list(params[n].shape)} for n in grads],
        "buffers": [{"name": n, "shape": list(b.shape), "dtype": str(b.dtype).replace("torch.", "")}
                    for n, b in net.named_buffers()],
    }
    return joint, ev, manifest


def inductor_options(settings, threads):
    # always_keep_tensor_constants: Inductor would otherwise bake small parameters (a bias
    # of up to 8 values) into the kernels' code as literals, where training cannot reach.
    options = {"aot_inductor.package": True, "max_autotune": settings["max_autotune"],
               "always_keep_tensor_constants": True}
    if settings["device"] == "cpu":
        # Inductor's channels-last layout for convolutions costs the CPU step more in layout
        # changes than oneDNN gains: ResNet-18 at 128², batch 16, 2 threads, 512 ms a step
        # with it, 470 ms without (eager 444-458 ms; BENCHMARKS.md, "Models from PyTorch").
        options["layout_optimization"] = False
    if threads:
        options["compile_threads"] = threads
    return options


def run(args):
    import torch
    settings = settings_of(args)
    if not os.path.isfile(args.model):
        raise BadModel(f"{args.model}: no such file; give the Python file that builds the model")
    if settings["device"] == "cuda" and not torch.cuda.is_available():
        raise BadModel("--device cuda: this machine has no CUDA device; compile there")
    with open(args.model, "rb") as f:
        source = f.read()
    digest = source_hash(source, settings, torch.__version__)
    out = package_path(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.time()
    net, user_loss = build(args, settings)
    initial = copy.deepcopy(net.state_dict())
    say(f"exporting {args.model} for the {args.task} task ...")
    capture = Captured()
    try:
        with capture:
            joint, ev, manifest = export_programs(net, user_loss, settings, args.model)
    except BadModel as e:
        if capture.kept:
            raise BadModel(f"{e} (torch's output: {capture.kept})") from None
        raise
    net.load_state_dict(initial)  # the graphs' weights are these, untouched by the probe
    export_seconds = time.time() - started
    say(f"  exported in {export_seconds:.1f} s")
    manifest = {"format": FORMAT, "name": os.path.splitext(os.path.basename(args.model))[0],
                "task": args.task, **manifest, "libtorch": torch.__version__,
                "device": settings["device"], "hash": digest,
                "source": os.path.basename(args.model), "settings": settings,
                "export_seconds": round(export_seconds, 1)}
    device = torch.device(settings["device"])
    files = {}
    compile_started = time.time()
    manifest["compile_seconds"] = {}
    for name, program in (("train", joint), ("eval", ev)):
        t = time.time()
        say(f"compiling the {name} graph with AOTInductor ({settings['device']}) ...")
        if settings["device"] == "cuda":
            program = move_program(program, device)
        files[name] = aoti_files(program, inductor_options(settings, args.threads))
        manifest["compile_seconds"][name] = round(time.time() - t, 1)
        say(f"  {name} compiled in {manifest['compile_seconds'][name]} s")
    from torch.export.pt2_archive._package import package_pt2
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    # Written beside under its own name (the archive's top folder is the file's stem),
    # then renamed into place: a reader never sees half a package.
    with tempfile.TemporaryDirectory(dir=folder, prefix=".export-") as scratch:
        partial = os.path.join(scratch, os.path.basename(out))
        package_pt2(partial, aoti_files=files,
                    extra_files={"manifest.json": json.dumps(manifest, indent=1)})
        os.replace(partial, out)
    total = time.time() - compile_started
    say(f"wrote {out} (export {export_seconds:.1f} s, compile {total:.1f} s, hash {digest[:12]})")
    print(out)
    return 0


def seed_weights_path(package, seed):
    """Where a package's initial weights for `seed` are kept (spec::seed_weights_path)."""
    return os.path.splitext(package)[0] + f".seed-{seed}.pt"


def parse_seeds(text):
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        seeds = []
    if not seeds or any(s < 0 for s in seeds):
        raise BadModel(f"--initial-weights '{text}': give the seeds as non-negative integers "
                       f"separated by commas, e.g. 1,2,3")
    return seeds


def write_initial_weights(args):
    """The model's initial weights for each seed, as a job of that seed starts: built after
    torch.manual_seed(seed), its parameters and buffers saved by name beside the package
    (a plain dict, which LibTorch reads). Compiles nothing: a seed changes no graph."""
    import torch
    out = package_path(args)
    if not os.path.isfile(args.model):
        raise BadModel(f"{args.model}: no such file; give the Python file that builds the model")
    folder = os.path.dirname(os.path.abspath(out))
    os.makedirs(folder, exist_ok=True)
    for seed in parse_seeds(args.initial_weights):
        net, _ = build(args, {**settings_of(args), "seed": seed})
        state = {n: t.detach().clone() for n, t in
                 [*net.named_parameters(), *net.named_buffers()]}
        path = seed_weights_path(out, seed)
        data = io.BytesIO()
        torch.save(state, data)  # to memory: torch.save names the archive after a file's stem
        partial = f"{path}.{os.getpid()}.partial"
        try:
            with open(partial, "wb") as f:
                f.write(data.getvalue())
            os.replace(partial, path)  # a job never reads half a file
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        say(f"wrote {path} (seed {seed})")
    return 0


def package_path(args):
    out = args.out or os.path.splitext(args.model)[0] + ".pt2"
    if not out.endswith(".pt2"):
        raise BadModel(f"--out '{out}': a package's name ends in .pt2")
    return out


def move_program(program, device):
    """The exported program with its parameters and buffers on `device`."""
    from torch.export.passes import move_to_device_pass
    return move_to_device_pass(program, device)


def aoti_files(program, options):
    """AOTInductor's generated files for one exported program (packaged together later)."""
    import torch
    from torch._inductor import aot_compile
    args, kwargs = program.example_inputs
    return aot_compile(program.module(check_guards=False), args, kwargs, options=options)


def eager_sgd(net, loss_fn, batches, eval_input, lr, momentum=0.9):
    """The eager reference a package is compared with (the tests' fixtures, the equality
    check): SGD with momentum over `batches` of (input, target), then the eval-mode output
    on `eval_input`. Trains `net` in place; returns the losses and that output."""
    import torch
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    losses = []
    for x, target in batches:
        opt.zero_grad()
        loss = loss_fn(net(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    with torch.no_grad():
        return losses, net(eval_input)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="fracsweep export",
        description="Export and compile a PyTorch model (a Python file with a function that "
                    "builds an nn.Module) into a package that fracsweep trains.")
    p.add_argument("model", help="the Python file")
    p.add_argument("--task", required=True, choices=["vertebra", "pelvis"])
    p.add_argument("--out", help="the package (.pt2); default: beside MODEL.py")
    p.add_argument("--function", default="build_model", help="the function that builds the model")
    p.add_argument("--size", default="64", help="the store's patch size S, or H,W (pelvis)")
    p.add_argument("--neighbours", action="store_true",
                   help="vertebra: the input holds the previous, current and next vertebra")
    p.add_argument("--batch", type=int, default=4, help="the example batch (the batch is dynamic)")
    p.add_argument("--seed", type=int, default=1, help="torch's seed before building the model")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="compile threads and torch threads")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                   help="bf16: the forward under autocast to bfloat16 (parameters, loss and "
                        "gradients stay float32)")
    p.add_argument("--max-autotune", action="store_true",
                   help="let Inductor benchmark kernel choices (much slower to compile)")
    p.add_argument("--initial-weights", metavar="SEEDS",
                   help="write the model's initial weights for each of these seeds (e.g. "
                        "1,2,3) beside the package as <stem>.seed-<S>.pt, where jobs of that "
                        "seed start from them, and export nothing")
    p.add_argument("--hash-only", action="store_true",
                   help="print the hash of the source and settings, and export nothing")
    return p.parse_args(argv)


def main(argv=None):
    warnings.filterwarnings("ignore", category=FutureWarning)
    if not os.environ.get("TORCH_LOGS"):
        # torch's warnings while tracing (graphs printed whole) would bury the one line
        # that says what to change; TORCH_LOGS=... brings its logs back.
        import torch._logging
        torch._logging.set_logs(all=logging.ERROR)
    args = parse_args(argv if argv is not None else sys.argv[1:])
    try:
        if args.hash_only:
            import torch
            with open(args.model, "rb") as f:
                print(source_hash(f.read(), settings_of(args), torch.__version__))
            return 0
        if args.initial_weights is not None:
            return write_initial_weights(args)
        return run(args)
    except BadModel as e:
        say(f"error: {e}")
        return EXIT_BAD_INPUT
    except OSError as e:
        say(f"error: {e}")
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())

"""The full-size equality check of an exported model (the tests use a tiny one,
tests/fixtures/exported): the same initial weights and batches give the same losses over
N SGD steps, and the same evaluation outputs, in PyTorch eager and from the package.

    .venv/bin/python bench/exported_equality.py examples/models/resnet18.py \
        --task vertebra --size 128 --batch 16 [--steps 20] [--threads 2] [--neighbours] \
        [--function NAME]

The package's step runs through LibTorch's package loader with the parameters as
user-managed constants, and SGD applied to them here: the computation fracsweep's C++
trainer runs (its own test, tests/trainer/exported_model_test.cpp, checks that side).
Prints one JSON line: the first step's loss and largest gradient difference (from the same
initial weights, before training's divergence compounds), the largest relative loss
difference over the steps, the largest evaluation output difference, and eager's own
differences with another thread count (the tolerance floor).
"""
import argparse
import copy
import json
import os
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
import fracsweep_export  # noqa: E402


def batches(args, steps):
    g = torch.Generator().manual_seed(7)
    views = 3 if args.neighbours else 1
    h, w = fracsweep_export.parse_size(args.size)
    out = []
    for _ in range(steps + 1):
        x = torch.randn(args.batch, views, h, w, generator=g)
        if args.task == "vertebra":
            y = torch.randint(0, 3, (args.batch,), generator=g)
        else:
            y = (torch.rand(args.batch, 1, h, w, generator=g) > 0.97).float()
        out.append((x, y))
    return out


def eager_losses(net, loss_fn, data, lr, threads):
    torch.set_num_threads(threads)
    return fracsweep_export.eager_sgd(copy.deepcopy(net), loss_fn, data[:-1], data[-1][0], lr)


def first_step_gradients(net, loss_fn, batch, threads):
    """Eager's loss and every parameter's gradient on the first batch, from the initial
    weights: the package's first step must give the same, before any divergence of
    training compounds."""
    torch.set_num_threads(threads)
    net = copy.deepcopy(net).train()
    loss = loss_fn(net(batch[0]), batch[1])
    loss.backward()
    return loss.item(), [q.grad for q in net.parameters()]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("--task", default="vertebra", choices=["vertebra", "pelvis"])
    p.add_argument("--size", default="64")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--neighbours", action="store_true")
    p.add_argument("--function", default="build_model", help="the function that builds the model")
    p.add_argument("--package", help="an exported package of MODEL (default: export it now)")
    args = p.parse_args()
    package = args.package or os.path.join(tempfile.mkdtemp(), "model.pt2")
    if not args.package:
        argv = [args.model, "--task", args.task, "--size", args.size, "--out", package,
                "--function", args.function]
        if args.neighbours:
            argv.append("--neighbours")
        if fracsweep_export.main(argv) != 0:
            sys.exit(2)
    user = fracsweep_export.load_user_file(args.model)
    torch.manual_seed(1)  # the exporter's --seed
    net = getattr(user, args.function)().train()
    loss_fn = getattr(user, "loss", None) or fracsweep_export.task_loss(args.task, None)
    data = batches(args, args.steps)
    eager, eager_out = eager_losses(net, loss_fn, data, args.lr, args.threads)
    other, _ = eager_losses(net, loss_fn, data, args.lr, 1 if args.threads > 1 else 2)

    first_loss, first_grads = first_step_gradients(net, loss_fn, data[0], args.threads)
    _, other_grads = first_step_gradients(net, loss_fn, data[0], 1 if args.threads > 1 else 2)

    torch.set_num_threads(args.threads)
    from torch._inductor.package import load_package
    train = load_package(package, "train").loader
    evaluate = load_package(package, "eval").loader
    state = {"m." + k: v.detach().clone() for k, v in net.state_dict().items()}
    for loader in (train, evaluate):
        loader.load_constants({k: v for k, v in state.items() if k in loader.get_constant_fqns()},
                              False, True, True)
    params = [state["m." + n] for n, _ in net.named_parameters()]
    momentum = [torch.zeros_like(q) for q in params]
    losses, grad_diff = [], None
    for x, y in data[:-1]:
        out = train.run([x, y])
        if grad_diff is None:
            grad_diff = max((g - e).abs().max().item() for g, e in zip(out[2:], first_grads))
        with torch.no_grad():
            for q, grad, b in zip(params, out[2:], momentum):
                b.mul_(0.9).add_(grad)
                q.sub_(args.lr * b)
        losses.append(out[0].item())
    package_out = evaluate.run([data[-1][0]])[0]
    rel = lambda a, b: abs(a - b) / max(abs(b), 1e-12)
    print(json.dumps({
        "model": f"{os.path.basename(args.model)}:{args.function}", "steps": args.steps,
        "first_step_rel_loss_diff": rel(losses[0], first_loss),
        "first_step_max_grad_diff": grad_diff,
        "first_step_max_grad_diff_eager_other_threads":
            max((g - e).abs().max().item() for g, e in zip(other_grads, first_grads)),
        "max_rel_loss_diff": max(rel(a, b) for a, b in zip(losses, eager)),
        "eager_vs_eager_other_threads": max(rel(a, b) for a, b in zip(other, eager)),
        "max_eval_output_diff": (package_out - eager_out).abs().max().item(),
        "first_losses": [round(v, 5) for v in eager[:3]],
    }))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""fracsweep's search decisions beside Ray Tune's ASHA and Optuna's TPE.

ASHA: a seeded stream of learning-curve results from many trials that start
at different times and run at different speeds (so results arrive out of
step, as they do on a cluster) is fed to Ray Tune's AsyncHyperBandScheduler;
a trial it stops reports nothing more. The stream as it happened goes to
`fracsweep bench search`, whose ASHA must make the same decision at every
result. Both sides time each decision (the scheduler call alone).

TPE: both propose N points of a quadratic on [-5, 5]^2 in turn, each told
the values before it (Optuna's TPESampler with its defaults, fracsweep's
`sampler: tpe`); each side's seconds per proposal and best value are shown.
The random streams differ (numpy's against fracsweep's), so the values are
comparable in spread only, not point by point.

    .venv/bin/python bench/search_vs_ray.py [--binary build/fracsweep] [--trials 1000]
        [--max-t 81] [--eta 3] [--tpe-trials 200] [--seed 0]

Needs ray[tune] and optuna in the Python that runs it:
    .venv/bin/pip install "ray[tune]" optuna
The script fails when a decision differs, so no timing is printed for a
scheduler that decides otherwise.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


class FakeTrial:
    def __init__(self, trial_id):
        self.trial_id = trial_id


def ray_stream(args):
    """Runs Ray's ASHA on the seeded curves; returns the events as they
    happened, Ray's decisions and its seconds per decision."""
    from ray.tune.schedulers import AsyncHyperBandScheduler

    rng = np.random.RandomState(args.seed)
    n, max_t = args.trials, args.max_t
    final = rng.uniform(0.55, 0.95, n)
    tau = rng.uniform(0.5, 8.0, n)
    noise = rng.normal(0, 0.02, (n, max_t + 1))
    speed = rng.uniform(0.3, 3.0, n)
    start = rng.uniform(0, n / 10, n)
    sched = AsyncHyperBandScheduler(time_attr="it", metric="m", mode="max",
                                    grace_period=args.grace, max_t=max_t,
                                    reduction_factor=args.eta)
    fakes = [FakeTrial(str(i)) for i in range(n)]
    for f in fakes:
        sched.on_trial_add(None, f)
    pending = sorted((start[i] + t / speed[i], i, t) for i in range(n) for t in range(1, max_t + 1))
    stopped, events, decisions, seconds = set(), [], [], []
    for _, i, t in pending:
        if i in stopped:
            continue
        v = float(final[i] - (final[i] - 0.5) * math.exp(-t / tau[i]) + noise[i, t])
        t0 = time.perf_counter()
        action = sched.on_trial_result(None, fakes[i], {"it": t, "m": v})
        seconds.append(time.perf_counter() - t0)
        go = action == "CONTINUE"
        events.append([int(i), int(t), v])
        decisions.append("continue" if go else "stop")
        if not go:
            stopped.add(i)
    return events, decisions, seconds


def quadratic(x, y):
    return (x - 1) ** 2 + (y + 2) ** 2


def optuna_tpe(args):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=args.seed),
                                direction="minimize")
    values, seconds = [], []
    for _ in range(args.tpe_trials):
        t0 = time.perf_counter()
        trial = study.ask()
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", -5, 5)
        seconds.append(time.perf_counter() - t0)
        v = quadratic(x, y)
        study.tell(trial, v)
        values.append(v)
    return values, seconds


def micro(xs):
    return 1e6 * statistics.median(xs), 1e6 * float(np.percentile(xs, 99))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", default="build/fracsweep")
    p.add_argument("--trials", type=int, default=1000)
    p.add_argument("--max-t", type=int, default=81)
    p.add_argument("--eta", type=float, default=3)
    p.add_argument("--grace", type=int, default=1)
    p.add_argument("--tpe-trials", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()

    import optuna
    import ray

    events, ray_decisions, ray_seconds = ray_stream(args)
    optuna_values, optuna_seconds = optuna_tpe(args)
    with tempfile.TemporaryDirectory() as tmp:
        stream = os.path.join(tmp, "stream.json")
        out = os.path.join(tmp, "result.json")
        with open(stream, "w") as f:
            json.dump({"eta": args.eta, "grace": args.grace, "max_t": args.max_t, "mode": "max",
                       "events": events,
                       "tpe": {"trials": args.tpe_trials, "startup": 10, "seed": args.seed}}, f)
        subprocess.run([args.binary, "bench", "search", "--stream", stream, "--out", out], check=True)
        with open(out) as f:
            ours = json.load(f)

    mine = ours["asha"]["decisions"]
    differ = [k for k, (a, b) in enumerate(zip(mine, ray_decisions)) if a != b]
    if len(mine) != len(ray_decisions) or differ:
        k = differ[0] if differ else min(len(mine), len(ray_decisions))
        sys.exit(f"decisions differ: {len(differ)} of {len(ray_decisions)}, first at result {k} "
                 f"(trial, iteration, value) = {events[k] if k < len(events) else None}")
    # Ray stops every trial at max_t too (it is complete); the early stops are the rest.
    early = sum(1 for e, d in zip(events, ray_decisions) if d == "stop" and e[1] < args.max_t)
    stops = early
    our_med, our_p99 = micro(ours["asha"]["seconds"])
    ray_med, ray_p99 = micro(ray_seconds)
    tpe_ours = ours["tpe"]["seconds"]
    tail = slice(len(tpe_ours) // 2, None)  # the modelled half: past the startup trials
    print(f"ASHA: {args.trials} trials, max_t {args.max_t}, eta {args.eta:g}, grace {args.grace}; "
          f"{len(events)} results, {early} early stops; TPE: {args.tpe_trials} proposals on a quadratic "
          f"in [-5, 5]^2, seed {args.seed}\n")
    print(f"| | fracsweep | Ray Tune {ray.__version__} / Optuna {optuna.__version__} |")
    print("|---|---:|---:|")
    print(f"| ASHA decisions that agree | {len(mine) - len(differ)} / {len(mine)} | (reference) |")
    ours_early = sum(1 for e, d in zip(events, mine) if d == "stop" and e[1] < args.max_t)
    print(f"| ASHA early stops (before max_t) | {ours_early} | {early} |")
    print(f"| µs per ASHA decision, median (p99) | {our_med:.2f} ({our_p99:.2f}) | "
          f"{ray_med:.2f} ({ray_p99:.2f}) |")
    print(f"| ms per TPE proposal, median over proposals {len(tpe_ours) // 2 + 1}-{len(tpe_ours)} | "
          f"{1e3 * statistics.median(tpe_ours[tail]):.3f} | "
          f"{1e3 * statistics.median(optuna_seconds[tail]):.3f} |")
    print(f"| TPE best quadratic value after {args.tpe_trials} (one seed) | {min(ours['tpe']['values']):.4f} | "
          f"{min(optuna_values):.4f} |")


if __name__ == "__main__":
    main()

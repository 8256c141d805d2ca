#!/usr/bin/env python3
"""Makespan of a sweep with uneven job lengths versus the ideal.

Writes a sweep whose jobs train for 1 to 6 epochs (so their lengths differ up
to 6x), runs it with `mpirun -np N fracsweep run`, and reads the ledger: the
makespan is the last `finished` minus the first `started`; the ideal is the
sum of the jobs' own times (started to finished) divided by the number of
groups. A ratio of 1.00 means no group ever waited for work.

  .venv/bin/python bench/sweep_makespan.py --binary build/fracsweep --np 2
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="build/fracsweep")
    ap.add_argument("--np", type=int, default=2, help="MPI ranks")
    ap.add_argument("--ranks-per-job", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3, help="random splits per variant")
    ap.add_argument("--epochs", default="1,2,4,6", help="one variant per epoch count")
    ap.add_argument("--keep", help="keep the output in this folder")
    args = ap.parse_args()

    work = args.keep or tempfile.mkdtemp(prefix="fracsweep-makespan-")
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    variants = "".join(
        f"  e{e}: {{model: {{variant: tsccn}}, train: {{epochs: {e}}}}}\n" for e in args.epochs.split(","))
    sweep = os.path.join(work, "sweep.yaml")
    with open(sweep, "w") as f:
        f.write(f"""name: makespan
output: {out}
preset: tiny
dataset: {{phantom: {{patients: 20, patch_size: 48, seed: 3}}}}
protocol: {{split: random, repeats: [{", ".join(str(r) for r in range(args.repeats))}]}}
seeds: [1]
variants:
{variants}train: {{threads: 1, loader_workers: 1}}
""")
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMP_WAIT_POLICY="PASSIVE")
    cmd = ["mpirun", "--oversubscribe", "-np", str(args.np), args.binary, "run", sweep,
           "--ranks-per-job", str(args.ranks_per_job), "--log-level", "warn"]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)

    started, finished = {}, {}
    with open(os.path.join(out, "ledger.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            (started if r["event"] == "started" else finished)[r["job"]] = parse_time(r["time"])
    groups = args.np // args.ranks_per_job
    times = [finished[j] - started[j] for j in finished]
    makespan = max(finished.values()) - min(started.values())
    ideal = sum(times) / groups
    print("| ranks | groups | jobs | shortest job s | longest job s | sum of jobs s | ideal s | makespan s | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {args.np} | {groups} | {len(times)} | {min(times):.1f} | {max(times):.1f} | {sum(times):.1f} | "
          f"{ideal:.1f} | {makespan:.1f} | {makespan / ideal:.3f} |")
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())

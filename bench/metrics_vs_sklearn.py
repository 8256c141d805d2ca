#!/usr/bin/env python3
"""End-to-end timing of `fracsweep metrics` against pandas + scikit-learn.

Both sides start from the same CSV on disk and end with a JSON of metrics.
The peer (--peer) is either `full`: per-class SE/SP/AUC/AP and their means,
the same values as fracsweep (the multi-class metrics of the fixtures in
tests/fixtures/metrics), or `auc-ap`: pandas.read_csv plus scikit-learn's
roc_auc_score and average_precision_score alone (one-vs-rest per class on a
K-class file), less work than fracsweep does. The script fails if any value
the peer computes differs from fracsweep's by more than 1e-9, so a fast but
wrong binary never produces a speed-up figure.

    .venv/bin/python bench/metrics_vs_sklearn.py [--binary build/fracsweep] [--rows 2000000]
        [--classes 1 3] [--peer full|auc-ap] [--repeats 3] [--phases] [--workdir DIR]
        [--seed 0]

Several --classes values time several files in one run (1: a binary file with
a 'score' column). Each repeat runs fracsweep and then the peer on one file,
alternating; the table shows medians. --phases adds fracsweep's own split of
its time (read, parse, metrics; `fracsweep bench metrics`), in process.

Needs numpy, pandas and scikit-learn in the Python that runs it.
"""

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

TOLERANCE = 1e-9
# Bump when the generated data changes, so cached files are rebuilt.
DATA_VERSION = 1


# ---------------------------------------------------------------------------
# Python side, run in its own interpreter so its start-up is measured too
# ---------------------------------------------------------------------------

def python_worker_auc_ap(csv_path):
    """pandas.read_csv, then roc_auc_score and average_precision_score alone:
    of the score on a binary file, of each class's column against the rest on
    a K-class file. Prints {"AUC": ..., "AP": ...} or {"AUC_k": ..., "AP_k":
    ...}; the time after imports goes to stderr as `compute_seconds=...`."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import average_precision_score, roc_auc_score

    t0 = time.perf_counter()
    df = pd.read_csv(csv_path, dtype={"id": str, "patient": str})
    y = df["label"].to_numpy()
    out = {}
    if "score" in df.columns:
        score = df["score"].to_numpy(dtype=np.float64)
        out["AUC"] = float(roc_auc_score(y == 1, score))
        out["AP"] = float(average_precision_score(y == 1, score))
    else:
        cols = [c for c in df.columns if c.startswith("p") and c[1:].isdigit()]
        p = df[cols].to_numpy(dtype=np.float64)
        for c in range(len(cols)):
            out[f"AUC_{c}"] = float(roc_auc_score(y == c, p[:, c]))
        for c in range(len(cols)):
            out[f"AP_{c}"] = float(average_precision_score(y == c, p[:, c]))
    text = json.dumps(out)
    elapsed = time.perf_counter() - t0
    sys.stdout.write(text + "\n")
    sys.stderr.write(f"compute_seconds={elapsed!r}\n")


def python_worker(csv_path):
    """Reads the CSV and prints the metric JSON on stdout; the time spent
    after imports goes to stderr as `compute_seconds=...`."""
    import numpy as np
    import pandas as pd
    from sklearn.metrics import average_precision_score, roc_auc_score

    t0 = time.perf_counter()
    df = pd.read_csv(csv_path, dtype={"id": str, "patient": str})
    if "score" in df.columns:  # binary: AUC, AP, and SE, SP at the threshold 0.5
        y = df["label"].to_numpy() == 1
        score = df["score"].to_numpy(dtype=np.float64)
        hit = score >= 0.5
        out = {"AUC": float(roc_auc_score(y, score)),
               "AP": float(average_precision_score(y, score)),
               "SE": float(np.sum(y & hit) / np.sum(y)),
               "SP": float(np.sum(~y & ~hit) / np.sum(~y))}
        text = json.dumps(out)
        elapsed = time.perf_counter() - t0
        sys.stdout.write(text + "\n")
        sys.stderr.write(f"compute_seconds={elapsed!r}\n")
        return
    cols = [c for c in df.columns if c.startswith("p") and c[1:].isdigit()]
    k = len(cols)
    p = df[cols].to_numpy(dtype=np.float64)
    y = df["label"].to_numpy()
    pred = np.argmax(p, axis=1)
    out = {}
    se, sp, auc, ap = [], [], [], []
    for c in range(k):
        pos, hit = y == c, pred == c
        tp, fn = np.sum(pos & hit), np.sum(pos & ~hit)
        tn, fp = np.sum(~pos & ~hit), np.sum(~pos & hit)
        se.append(float(tp / (tp + fn)))
        sp.append(float(tn / (tn + fp)))
        auc.append(float(roc_auc_score(pos, p[:, c])))
        ap.append(float(average_precision_score(pos, p[:, c])))
    for name, vals in (("SE", se), ("SP", sp), ("AUC", auc), ("AP", ap)):
        for c in range(k):
            out[f"{name}_{c}"] = vals[c]
    out["aSE"] = sum(se) / k
    out["aSP"] = sum(sp) / k
    out["aAUC"] = sum(auc) / k
    out["mAP"] = sum(ap) / k
    text = json.dumps(out)
    elapsed = time.perf_counter() - t0
    sys.stdout.write(text + "\n")
    sys.stderr.write(f"compute_seconds={elapsed!r}\n")


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

def class_priors(k):
    # 80/12/8 for three classes, the imbalance of the vertebra grading data;
    # other K keep 80% in class 0 and split the rest geometrically.
    if k == 3:
        return [0.80, 0.12, 0.08]
    if k == 2:
        return [0.80, 0.20]
    rest = [0.6 ** i for i in range(k - 1)]
    return [0.80] + [0.20 * r / sum(rest) for r in rest]


def generate_csv(path, rows, k, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    # Every value is k/10000, so one table of shortest round-trip strings
    # covers the whole file and keeps generation fast.
    table = np.array([repr(i / 10000) for i in range(10001)], dtype=object)
    tmp = path + ".partial"
    chunk = 200_000
    binary = k == 1  # one 'score' column of a two-class problem
    if binary:
        k = 2
    with open(tmp, "w", newline="\n") as f:
        f.write("id,patient,label,"
                + ("score" if binary else ",".join(f"p{c}" for c in range(k))) + "\n")
        for start in range(0, rows, chunk):
            n = min(chunk, rows - start)
            labels = rng.choice(k, size=n, p=class_priors(k))
            logits = rng.normal(0.0, 1.0, size=(n, k))
            logits[np.arange(n), labels] += 1.5
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            prob = e / e.sum(axis=1, keepdims=True)
            # Four decimals, as exported models often write, so ties are common.
            q = np.rint(prob * 10000).astype(np.int64)
            cols = [table[q[:, c]] for c in (range(1, 2) if binary else range(k))]
            idx = range(start, start + n)
            lines = (
                f"s{i},P{i // 6:07d},{lab}," + ",".join(vals)
                for i, lab, vals in zip(idx, labels.tolist(), zip(*cols))
            )
            f.write("\n".join(lines))
            f.write("\n")
    os.replace(tmp, path)


def ensure_data(workdir, rows, k, seed):
    os.makedirs(workdir, exist_ok=True)
    stem = os.path.join(workdir, f"metrics_r{rows}_k{k}_seed{seed}")
    csv_path, meta_path = stem + ".csv", stem + ".params.json"
    params = {"rows": rows, "classes": k, "seed": seed, "version": DATA_VERSION}
    if os.path.exists(csv_path) and os.path.exists(meta_path):
        with open(meta_path) as f:
            if json.load(f) == params:
                print(f"reusing {csv_path}")
                return csv_path
    print(f"generating {csv_path} ({rows} rows, K={k}) ...", flush=True)
    t0 = time.perf_counter()
    generate_csv(csv_path, rows, k, seed)
    with open(meta_path, "w") as f:
        json.dump(params, f)
    print(f"  done in {time.perf_counter() - t0:.1f} s, "
          f"{os.path.getsize(csv_path) / 1e6:.1f} MB")
    return csv_path


# ---------------------------------------------------------------------------
# Running and comparing
# ---------------------------------------------------------------------------

def run_timed(cmd):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited with {proc.returncode}\n"
                 f"stderr:\n{proc.stderr}")
    return elapsed, proc.stdout, proc.stderr


def parse_json(text, what):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        sys.exit(f"error: {what} did not print JSON ({e}); output starts with:\n{text[:500]}")


def flatten(obj, prefix=""):
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from flatten(value, f"{prefix}{key}." if isinstance(value, dict) else prefix + key)
    else:
        yield prefix, obj


def find_metrics(obj, keys):
    """Picks the metric values out of the binary's JSON, which may nest them
    under a section; each key must name exactly one leaf."""
    if all(k in obj for k in keys):
        return {k: obj[k] for k in keys}
    leaves = list(flatten(obj))
    found, problems = {}, []
    for k in keys:
        hits = [v for path, v in leaves if path == k or path.endswith("." + k)]
        if len(hits) == 1:
            found[k] = hits[0]
        else:
            problems.append(f"{k}: {len(hits)} matches")
    if problems:
        sys.exit("error: cannot find the metrics in the binary's JSON ("
                 + "; ".join(problems) + ")\nleaves: " + ", ".join(p for p, _ in leaves))
    return found


def compare(reference, candidate):
    bad = []
    for key, want in reference.items():
        got = candidate[key]
        if not isinstance(got, (int, float)) or not math.isfinite(got) or abs(got - want) > TOLERANCE:
            bad.append(f"  {key}: fracsweep {got!r}, scikit-learn {want!r}")
    return bad


def time_file(args, binary, csv_path):
    """Alternating runs on one file; returns medians and the last outputs."""
    worker = ["--worker-auc-ap" if args.peer == "auc-ap" else "--worker", csv_path]
    cpp_times, py_times, py_compute = [], [], []
    py_json = cpp_json = None
    for r in range(args.repeats):
        if not args.python_only:
            t, out, _ = run_timed([binary, "metrics", csv_path, "--format", "json"])
            cpp_times.append(t)
            cpp_json = parse_json(out, "fracsweep metrics")
        t, out, err = run_timed([sys.executable, os.path.abspath(__file__)] + worker)
        py_times.append(t)
        py_json = parse_json(out, "the Python worker")
        lines = [l for l in err.splitlines() if l.startswith("compute_seconds=")]
        if not lines:
            sys.exit(f"error: the Python worker reported no compute time; stderr:\n{err}")
        py_compute.append(float(lines[-1].split("=", 1)[1]))
        print(f"  repeat {r + 1}/{args.repeats}: "
              + (f"fracsweep {cpp_times[-1]:.3f} s, " if cpp_times else "")
              + f"python {py_times[-1]:.3f} s (compute {py_compute[-1]:.3f} s)", flush=True)
    result = {"py_e2e": statistics.median(py_times), "py_compute": statistics.median(py_compute),
              "py_json": py_json, "cpp_json": cpp_json}
    if cpp_times:
        result["cpp"] = statistics.median(cpp_times)
    if args.phases and not args.python_only:
        _, out, _ = run_timed([binary, "bench", "metrics", csv_path, "--repeats",
                               str(args.repeats), "--json"])
        result["phases"] = parse_json(out, "fracsweep bench metrics")
    return result


def file_label(k):
    return "binary" if k == 1 else f"{k}-class"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default="build/fracsweep", help="the fracsweep executable")
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--classes", type=int, nargs="+", default=[3],
                    help="K probability columns, or 1 for a binary file with one 'score' "
                         "column; several values time several files in one run")
    ap.add_argument("--peer", choices=["full", "auc-ap"], default="full",
                    help="full: pandas + scikit-learn computing what fracsweep does; auc-ap: "
                         "pandas.read_csv + roc_auc_score + average_precision_score alone")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--phases", action="store_true",
                    help="also report fracsweep's read / parse / metrics split (in process)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "fracsweep_metrics_bench"),
                    help="where the CSV is generated and cached")
    ap.add_argument("--python-only", action="store_true",
                    help="time only the Python side (no binary needed)")
    ap.add_argument("--worker", metavar="CSV", help=argparse.SUPPRESS)
    ap.add_argument("--worker-auc-ap", metavar="CSV", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.worker:
        python_worker(args.worker)
        return 0
    if args.worker_auc_ap:
        python_worker_auc_ap(args.worker_auc_ap)
        return 0

    for k in args.classes:
        if k < 1:
            sys.exit("error: --classes must be 1 (a binary 'score' file) or at least 2")
        if args.rows < 4 * k:
            sys.exit("error: --rows too small for every class to have positives and negatives")
    if args.repeats < 1:
        sys.exit("error: --repeats must be at least 1")
    binary = os.path.abspath(args.binary)
    if not args.python_only and not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        sys.exit(f"error: no executable at {args.binary}; build fracsweep first "
                 f"(or pass --binary PATH, or --python-only to time only scikit-learn)")

    results = []
    for k in args.classes:
        csv_path = ensure_data(args.workdir, args.rows, k, args.seed)
        # Read the file once so the first timed run does not pay for a cold page cache.
        with open(csv_path, "rb") as f:
            while f.read(1 << 24):
                pass
        print(f"{file_label(k)} file, peer '{args.peer}':", flush=True)
        results.append((k, os.path.getsize(csv_path), time_file(args, binary, csv_path)))

    print()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"peer '{args.peer}', median of {args.repeats}")
    print()
    if args.python_only:
        print("| rows | file | Python end to end (s) | Python compute only (s) |")
        print("|---:|---|---:|---:|")
        for k, _, r in results:
            print(f"| {args.rows} | {file_label(k)} | {r['py_e2e']:.3f} | {r['py_compute']:.3f} |")
        return 0

    print("| rows | file | C++ (s) | Python end to end (s) | Python compute only (s) "
          "| e2e ratio | compute-only ratio |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for k, size, r in results:
        print(f"| {args.rows} | {file_label(k)}, {size / 1e6:.0f} MB | {r['cpp']:.3f} "
              f"| {r['py_e2e']:.3f} | {r['py_compute']:.3f} | {r['py_e2e'] / r['cpp']:.2f}x "
              f"| {r['py_compute'] / r['cpp']:.2f}x |")
    if args.phases:
        print()
        print("fracsweep in process (`fracsweep bench metrics`), medians:")
        print()
        print("| file | read (s) | parse and validate (s) | metrics (s) | total (s) | rows/s |")
        print("|---|---:|---:|---:|---:|---:|")
        for k, _, r in results:
            ph = r["phases"]
            print(f"| {file_label(k)} | {ph['read_s']:.3f} | {ph['parse_s']:.3f} "
                  f"| {ph['metrics_s']:.3f} | {ph['total_s']:.3f} "
                  f"| {ph['rows_per_s'] / 1e6:.1f} M |")

    failed = False
    for k, _, r in results:
        py_json = r["py_json"]
        bad = compare(py_json, find_metrics(r["cpp_json"], list(py_json)))
        if bad:
            print(f"\nFAIL ({file_label(k)}): {len(bad)} of {len(py_json)} metrics differ by "
                  f"more than {TOLERANCE}:\n" + "\n".join(bad), file=sys.stderr)
            failed = True
        else:
            print(f"\n{file_label(k)}: all {len(py_json)} metrics agree within {TOLERANCE}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""A tiny sweep tracked by a real `mlflow server`, which is stopped in the middle.

Starts `mlflow server` (this Python's) on 127.0.0.1 at a free port with a SQLite
store and served artifacts in a temporary folder; runs a sweep of synthetic
learning-curve jobs (model.variant: curve) with --mlflow; stops the server once
the first epoch is logged; kills the sweep (SIGKILL) while the server is down;
starts the server again on the same store and port and runs the sweep again to
its end. Then reads everything back with MLflow's Python client: one parent run
for the sweep, a child run per job with the resolved settings as params, the
variant, fold, seed and sweep as tags, each metric's history with every epoch
exactly once and the values of the job's log.jsonl, test metrics equal to
metrics.json, and the artifacts byte for byte. Every process it starts is
ended by its PID (the server as its process group). Exit 77 (skipped) where the
Python has no mlflow.

usage: mlflow_e2e.py FRACSWEEP
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import mlflow
    from mlflow.tracking import MlflowClient
except ImportError as e:
    print(f"SKIPPED: this Python has no mlflow ({e}); scripts/setup.sh installs it in .venv")
    sys.exit(77)

EPOCHS = 4
SWEEP = """name: mlflow-tiny
output: {out}
preset: tiny
dataset: {{phantom: {{patients: 12, patch_size: 32, seed: 1}}}}
protocol: {{split: random, repeats: [0, 1]}}
seeds: [1, 2]
variants:
  curve: {{model: {{variant: curve}}}}
train: {{epochs: {epochs}, curve_epoch_seconds: 0.4}}
tracking: {{mlflow: {{uri: http://127.0.0.1:1, experiment: fracsweep-e2e}}}}
"""


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`mlflow server` in a process group of its own, ended by its PID."""

    def __init__(self, tmp, port):
        self.tmp, self.port, self.proc = tmp, port, None

    def start(self):
        mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
        self.log = open(os.path.join(self.tmp, "server.log"), "a")
        self.proc = subprocess.Popen(
            [mlflow_bin, "server", "--host", "127.0.0.1", "--port", str(self.port),
             "--backend-store-uri", f"sqlite:///{self.tmp}/mlflow.db",
             "--artifacts-destination", os.path.join(self.tmp, "artifacts"), "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1)
                return
            except OSError:
                if self.proc.poll() is not None:
                    fail(f"mlflow server exited: {open(self.log.name).read()[-2000:]}")
                time.sleep(0.3)
        fail("mlflow server did not answer within 90 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group of the PID we started
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def log_lines(job_dir):
    path = os.path.join(job_dir, "log.jsonl")
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path) if l.strip()]


def main():
    binary = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="fracsweep-mlflow-")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = Server(tmp, port)
    sweep_path = os.path.join(tmp, "sweep.yaml")
    out = os.path.join(tmp, "out")
    # The file names an unreachable server; --mlflow replaces it (and is what is tested).
    open(sweep_path, "w").write(SWEEP.format(out=out, epochs=EPOCHS))
    run = None
    try:
        t0 = time.time()
        server.start()
        print(f"server up in {time.time() - t0:.1f} s")
        first = open(os.path.join(tmp, "first.log"), "w")
        run = subprocess.Popen([binary, "run", sweep_path, "--mlflow", uri], stdout=first,
                               stderr=subprocess.STDOUT)
        jobs = [os.path.join(out, "curve", r, s) for r in ("repeat0", "repeat1") for s in ("seed1", "seed2")]
        while not any(log_lines(j) for j in jobs):
            if run.poll() is not None:
                fail("the sweep ended early: " + open(first.name).read()[-2000:])
            time.sleep(0.05)
        server.stop()
        print(f"server stopped at {time.time() - t0:.1f} s")
        time.sleep(1.5)  # epochs go on while it is down
        run.kill()
        run.wait()
        run = None
        first_log = open(first.name).read()
        if "unreachable" not in first_log:
            fail("the run's log does not say the tracker is unreachable:\n" + first_log[-3000:])
        server.start()
        print(f"server restarted at {time.time() - t0:.1f} s")
        second = subprocess.run([binary, "run", sweep_path, "--mlflow", uri], capture_output=True,
                                text=True, timeout=120)
        if second.returncode != 0:
            fail(f"second run exited {second.returncode}:\n{second.stderr[-3000:]}")
        print(f"sweep done at {time.time() - t0:.1f} s")
        check(uri, out, jobs, tmp)
        print(f"ok: {len(jobs)} runs and their parent, checked at {time.time() - t0:.1f} s")
    finally:
        if run and run.poll() is None:
            run.kill()
            run.wait()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def check(uri, out, jobs, tmp):
    mlflow.set_tracking_uri(uri)
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("fracsweep-e2e")
    if exp is None:
        fail("no experiment fracsweep-e2e")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("fracsweep.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("fracsweep.kind") != "sweep"]
    if len(parents) != 1 or len(children) != len(jobs):
        fail(f"{len(parents)} sweep runs and {len(children)} job runs, expected 1 and {len(jobs)}")
    parent = parents[0]
    if parent.info.status != "FINISHED":
        fail(f"sweep run status {parent.info.status}")
    parent_files = {a.path for a in client.list_artifacts(parent.info.run_id)}
    if not {"results.txt", "sweep.yaml", "report"} <= parent_files:
        fail(f"sweep run artifacts {parent_files}")
    # The sweep's report, as `fracsweep report` writes it into the sweep's folder.
    report_files = {a.path for a in client.list_artifacts(parent.info.run_id, "report")}
    for f in ("report/table.md", "report/report.html", "report/curves"):
        if f not in report_files:
            fail(f"sweep run: {f} not among its report artifacts {sorted(report_files)}")
    local = client.download_artifacts(parent.info.run_id, "report/table.md", os.path.join(tmp, "dl-report"))
    with open(local, "rb") as a, open(os.path.join(out, "report", "table.md"), "rb") as b:
        if a.read() != b.read():
            fail("sweep run: report/table.md differs from the sweep folder's")
    by_job = {r.data.tags.get("fracsweep.job"): r for r in children}
    for job_dir in jobs:
        name = os.path.relpath(job_dir, out)
        r = by_job.get(name)
        if r is None:
            fail(f"no run for {name} (runs: {sorted(by_job)})")
        variant, part, seed = name.split("/")
        tags = r.data.tags
        if (tags.get("variant"), tags.get("fold"), tags.get("seed"), tags.get("sweep"),
                tags.get("mlflow.parentRunId"), tags.get("mlflow.runName")) != (
                variant, part, seed[4:], "mlflow-tiny", parent.info.run_id, name):
            fail(f"{name}: tags {tags}")
        params = r.data.params
        for key, want in (("model.variant", "curve"), ("train.epochs", str(EPOCHS)),
                          ("train.seed", seed[4:]), ("data.repeat", part[6:])):
            if params.get(key) != want:
                fail(f"{name}: param {key} = {params.get(key)!r}, expected {want!r}")
        if r.info.status != "FINISHED":
            fail(f"{name}: status {r.info.status}")
        lines = log_lines(job_dir)
        if [l["epoch"] for l in lines] != list(range(1, EPOCHS + 1)):
            fail(f"{name}: log epochs {[l['epoch'] for l in lines]}")
        for metric in lines[0]["val"]:
            history = client.get_metric_history(r.info.run_id, "val/" + metric)
            got = sorted((m.step, m.value) for m in history)
            want = [(l["epoch"], l["val"][metric]) for l in lines]
            if [s for s, _ in got] != [s for s, _ in want]:
                fail(f"{name}: val/{metric} steps {[s for s, _ in got]} (each epoch once expected)")
            for (s, g), (_, w) in zip(got, want):
                if abs(g - w) > 1e-12 * max(1, abs(w)):
                    fail(f"{name}: val/{metric} step {s}: {g} in MLflow, {w} in log.jsonl")
        metrics = json.load(open(os.path.join(job_dir, "metrics.json")))
        for k, v in metrics.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                h = client.get_metric_history(r.info.run_id, "test/" + k)
                if [(m.step, m.value) for m in h] != [(EPOCHS, float(v))]:
                    fail(f"{name}: test/{k} history {[(m.step, m.value) for m in h]}, metrics.json {v}")
        files = {a.path for a in client.list_artifacts(r.info.run_id)}
        for f in ("metrics.json", "predictions_test.csv", "log.jsonl"):
            if f not in files:
                fail(f"{name}: artifact {f} missing ({files})")
        local = client.download_artifacts(r.info.run_id, "predictions_test.csv", os.path.join(tmp, "dl"))
        if open(local, "rb").read() != open(os.path.join(job_dir, "predictions_test.csv"), "rb").read():
            fail(f"{name}: predictions_test.csv differs from the job's")


if __name__ == "__main__":
    main()

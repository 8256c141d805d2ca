"""Checks a sweep folder's TensorBoard files with TensorBoard's own reader.

For every job folder (one with log.jsonl and tb/): TensorBoard's EventAccumulator
loads every scalar; each tag's steps are exactly the log's epochs, once each, with
the log's values (as float32); the raw events of all of tb/'s files hold no step
of a tag twice; the test/ scalars are metrics.json's; the hparams plugin's
session start info parses (through the plugin's own metadata module) and names the
job's variant, part and seed; and the run appears to `tensorboard --logdir` as
"<job>/tb". The sweep's experiment (SWEEP_DIR/tb, the run "tb") lists the metrics
the hparams page shows, the headline first and every test/ and val/ tag of every
job among them, and the hparams every session names. Exit 0 when all hold, 1 with the first difference, 77 (skipped) when
the Python lacks tensorboard.

usage: tensorboard_check.py SWEEP_DIR EXPECTED_JOBS HEADLINE
"""
import json
import math
import os
import sys

try:
    import numpy as np
    from tensorboard.backend.event_processing import event_accumulator, event_multiplexer
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
    from tensorboard.plugins.hparams import metadata as hp_metadata
except ImportError as e:  # pragma: no cover
    print(f"SKIPPED: this Python has no tensorboard ({e}); scripts/setup.sh installs it in .venv")
    sys.exit(77)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def f32(x):
    return float(np.float32(x))


def expected_scalars(line, headline):
    """The scalars tracking/job_observer.cpp derives from a log line (its contract)."""
    out = {}
    for k, v in line.get("val", {}).items():
        if isinstance(v, (int, float)):
            out["val/" + k] = v
    for k, v in line.get("train", {}).items():
        out["loss/" + k] = v
    if "lr" in line:
        out["lr"] = line["lr"]
    if line.get("steps", 0) > 0:
        out["time/step_seconds"] = line["seconds"] / line["steps"]
    if "samples_per_s" in line:
        out["time/samples_per_s"] = line["samples_per_s"]
    if line.get("seconds", 0) > 0:
        out["time/epoch_seconds"] = line["seconds"]
    return out


def check_job(sweep_dir, job_dir):
    lines = [json.loads(l) for l in open(os.path.join(job_dir, "log.jsonl")) if l.strip()]
    epochs = [l["epoch"] for l in lines]
    if epochs != list(range(1, len(lines) + 1)):
        fail(f"{job_dir}: log.jsonl epochs {epochs}")
    tb = os.path.join(job_dir, "tb")
    acc = event_accumulator.EventAccumulator(tb, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    want = {}
    for line in lines:
        for tag, v in expected_scalars(line, None).items():
            want.setdefault(tag, []).append((line["epoch"], v))
    for tag, points in want.items():
        if tag not in tags:
            fail(f"{job_dir}: scalar {tag} missing (has {sorted(tags)})")
        got = [(e.step, e.value) for e in acc.Scalars(tag)]
        if [s for s, _ in got] != [s for s, _ in points]:
            fail(f"{job_dir}: {tag}: steps {[s for s, _ in got]}, log has {[s for s, _ in points]}")
        for (s, g), (_, w) in zip(got, points):
            if not math.isclose(g, f32(w), rel_tol=1e-6, abs_tol=1e-7):
                fail(f"{job_dir}: {tag} step {s}: {g} in TensorBoard, {w} in log.jsonl")
    # Every raw event of every file, TensorBoard's loader, no purging: each step once.
    seen = {}
    for name in sorted(os.listdir(tb)):
        for event in EventFileLoader(os.path.join(tb, name)).Load():
            for v in event.summary.value:
                key = (v.tag, event.step)
                seen[key] = seen.get(key, 0) + 1
    dup = [k for k, n in seen.items() if n > 1]
    if dup:
        fail(f"{job_dir}: steps written twice: {dup[:5]}")
    metrics = json.load(open(os.path.join(job_dir, "metrics.json")))
    last = epochs[-1]
    for k, v in metrics.items():
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            got = [(e.step, e.value) for e in acc.Scalars("test/" + k)]
            if got != [(last, f32(v))] and not (len(got) == 1 and math.isclose(got[0][1], f32(v), rel_tol=1e-6)):
                fail(f"{job_dir}: test/{k}: {got}, metrics.json has {v}")
    content = acc.PluginTagToContent("hparams")
    if hp_metadata.SESSION_START_INFO_TAG not in content:
        fail(f"{job_dir}: no hparams session start info (tags {list(content)})")
    start = hp_metadata.parse_session_start_info_plugin_data(content[hp_metadata.SESSION_START_INFO_TAG])
    end = hp_metadata.parse_session_end_info_plugin_data(content[hp_metadata.SESSION_END_INFO_TAG])
    hp = {k: (v.string_value if v.HasField("string_value") else v.number_value) for k, v in start.hparams.items()}
    config = open(os.path.join(job_dir, "config.yaml")).read()
    rel = os.path.relpath(job_dir, sweep_dir)
    if hp.get("job") != rel:
        fail(f"{job_dir}: hparams job {hp.get('job')!r}, expected {rel!r}")
    variant, part, seed = rel.split("/")[:3]
    if hp.get("variant") != variant or hp.get("part") != part or hp.get("seed") != float(seed[4:]):
        fail(f"{job_dir}: hparams {hp} do not name {variant}, {part}, {seed}")
    if end.status != 1:  # STATUS_SUCCESS
        fail(f"{job_dir}: session end status {end.status}")
    return len(want), len(lines), tags, hp


def check_experiment(sweep_dir, written, hparams, headline):
    """The experiment the hparams page reads, parsed by the plugin's own metadata module."""
    acc = event_accumulator.EventAccumulator(os.path.join(sweep_dir, "tb"), size_guidance={"tensors": 0})
    acc.Reload()
    content = acc.PluginTagToContent("hparams")
    if hp_metadata.EXPERIMENT_TAG not in content:
        fail(f"{sweep_dir}/tb: no hparams experiment (tags {list(content)})")
    x = hp_metadata.parse_experiment_plugin_data(content[hp_metadata.EXPERIMENT_TAG])
    metrics = [m.name.tag for m in x.metric_infos]
    if not metrics or metrics[0] != "test/" + headline:
        fail(f"experiment metrics {metrics}: the first is not test/{headline}")
    if not written <= set(metrics):
        fail(f"experiment metrics {metrics} hide {sorted(written - set(metrics))}")
    names = [h.name for h in x.hparam_infos]
    if set(names) != set(hparams):
        fail(f"experiment hparams {names}, the sessions name {sorted(hparams)}")
    # The filters: a text's values are the sessions' values; a number's range spans them.
    for h in x.hparam_infos:
        seen = hparams[h.name]
        if h.HasField("domain_discrete"):
            offered = {v.string_value for v in h.domain_discrete.values}
            if offered != seen:
                fail(f"hparam {h.name}: the filter offers {sorted(offered)}, the sessions hold {sorted(seen)}")
        elif not (h.HasField("domain_interval") and h.domain_interval.min_value == min(seen)
                  and h.domain_interval.max_value == max(seen)):
            fail(f"hparam {h.name}: no domain spanning {sorted(seen)}")
        if h.differs != (len(seen) > 1):
            fail(f"hparam {h.name}: differs {h.differs} for {sorted(seen)}")
    print(f"ok experiment: {len(metrics)} metrics from {metrics[0]}, hparams {names}")


def main():
    sweep_dir, expected, headline = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    jobs = []
    for root, dirs, files in os.walk(sweep_dir):
        if "log.jsonl" in files and "tb" in dirs:
            jobs.append(root)
    if len(jobs) != expected:
        fail(f"{len(jobs)} job folders with tb/, expected {expected}")
    written, hparams = set(), {}
    for job in sorted(jobs):
        tags, epochs, job_tags, job_hparams = check_job(sweep_dir, job)
        written |= {t for t in job_tags if t.startswith(("test/", "val/"))}
        for k, v in job_hparams.items():
            hparams.setdefault(k, set()).add(v)
        print(f"ok {os.path.relpath(job, sweep_dir)}: {tags} scalars x {epochs} epochs, hparams")
    check_experiment(sweep_dir, written, hparams, headline)
    # As `tensorboard --logdir SWEEP_DIR` lists them: one run per job, named <job>/tb.
    mux = event_multiplexer.EventMultiplexer().AddRunsFromDirectory(sweep_dir)
    mux.Reload()
    runs = sorted(mux.Runs())
    want = sorted(["tb"] + [os.path.relpath(os.path.join(j, "tb"), sweep_dir) for j in jobs])
    if runs != want:
        fail(f"runs {runs}, expected {want}")
    print(f"ok: {len(runs)} runs under --logdir {sweep_dir}")


if __name__ == "__main__":
    main()

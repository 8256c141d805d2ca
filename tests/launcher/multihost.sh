#!/usr/bin/env bash
# A sweep across three hosts built on this machine: network namespaces, each with its
# own address and host name, joined by veth pairs to a bridge in a fourth. mpirun runs
# on the first host and starts Open MPI's daemons on the others over TCP through a
# launch agent that enters their namespace (instead of ssh).
#
# It checks that node-local ranks are found per host, that the ledger names every
# host, and that killing every process of one host mid-sweep ends the run within a
# bounded time, after which a rerun on the two remaining hosts finishes every job
# exactly once, none of them twice.
#
#   tests/launcher/multihost.sh FRACSWEEP MPIRUN
#
# Exits 77 (skipped) with the reason where namespaces cannot be made (not root, no
# ip(8), a container without the capability). Everything it makes is removed on exit.
set -euo pipefail
fracsweep=$(realpath "$1") mpirun=$2
skip() { echo "SKIPPED: $*"; exit 77; }

[[ $(id -u) -eq 0 ]] || skip "making network namespaces needs root"
command -v ip >/dev/null && command -v unshare >/dev/null || skip "ip(8) or unshare(1) is missing"

tag=fsw$$
keep=${FRACSWEEP_MULTIHOST_KEEP:-}
sw=$tag-sw
hosts=("$tag-h0" "$tag-h1" "$tag-h2")
net=10.231.$(($$ % 250)).0
dir=$(mktemp -d)

cleanup() {
  for ns in "${hosts[@]}" "$sw"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  [[ -n $keep ]] && echo "kept $dir" || rm -rf "$dir"
}
trap cleanup EXIT

# --- The hosts ----------------------------------------------------------------
ip netns add "$sw" 2>/dev/null || skip "cannot make a network namespace here (ip netns add failed)"
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
for i in 0 1 2; do
  h=${hosts[$i]}
  ip netns add "$h"
  ip -n "$h" link add eth0 type veth peer name p$i netns "$sw"
  ip -n "$h" addr add "${net%.0}.$((i + 1))/24" dev eth0
  ip -n "$h" link set eth0 up
  ip -n "$h" link set lo up
  ip -n "$sw" link set p$i master br0
  ip -n "$sw" link set p$i up
done
# Each host resolves every host's name (mpirun and the daemons look them up).
for i in 0 1 2; do echo "${net%.0}.$((i + 1)) ${hosts[$i]}"; done > "$dir/hosts"
echo "127.0.0.1 localhost" >> "$dir/hosts"

# on HOST CMD...: runs CMD on HOST: its network, its host name, its /etc/hosts.
cat > "$dir/on" <<EOF
#!/bin/sh
host=\$1; shift
exec ip netns exec "\$host" unshare --uts --mount sh -c \\
  'mount --bind "\$0" /etc/hosts && hostname "\$1" && shift && exec "\$@"' "$dir/hosts" "\$host" "\$@"
EOF
# The launch agent, called as ssh would be: HOST COMMAND-WORDS... for a remote shell.
cat > "$dir/agent" <<EOF
#!/bin/sh
host=\$1; shift
exec "$dir/on" "\$host" sh -c "\$*"
EOF
chmod +x "$dir/on" "$dir/agent"

# --- The sweep ------------------------------------------------------------------
cd "$dir"
cat > sweep.yaml <<'EOF'
name: multihost
output: out
preset: tiny
dataset: {phantom: {patients: 16, patch_size: 32, seed: 1}}
protocol: {split: kfold, folds: 4, run_folds: [0, 1, 2, 3], val_share: 0.2}
seeds: [1, 2]
variants:
  tsccn: {model: {variant: tsccn}}
train: {epochs: 2, threads: 1}
EOF

# run_sweep NP HOSTFILE-LINES...: mpirun on the first host; prints its exit code.
run_sweep() {
  local np=$1; shift
  printf '%s\n' "$@" > hostfile
  set +e
  timeout -s KILL 300 "$dir/on" "${hosts[0]}" "$mpirun" --hostfile "$dir/hostfile" -np "$np" \
    --mca plm_rsh_agent "$dir/agent" --mca btl tcp,vader,self \
    --mca btl_tcp_if_include "$net/24" --mca oob_tcp_if_include "$net/24" \
    -x OMP_WAIT_POLICY=PASSIVE -x OMP_NUM_THREADS=1 \
    "$fracsweep" run "$dir/sweep.yaml" --log-level debug --timeout 5 --abort-after 30 \
    >>run.log 2>&1
  echo $?
  set -e
}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE

fail() { echo "FAILED: $*" >&2; echo "--- run.log:" >&2; tail -n 80 run.log >&2; exit 1; }

# --- 1. Three hosts; every process of the third is killed mid-sweep --------------
# The kill comes once a job has finished and the third host holds one.
(
  for _ in $(seq 600); do
    sleep 0.2
    ledger=$(cat out/ledger.d/*.jsonl 2>/dev/null || true)
    if grep -q '"finished"' <<<"$ledger" && grep -q "\"started\".*\"host\":\"${hosts[2]}\"" <<<"$ledger"; then
      echo "killing every process of ${hosts[2]}: $(ip netns pids "${hosts[2]}" | tr '\n' ' ')" >>run.log
      ip netns pids "${hosts[2]}" | xargs -r kill -9
      exit 0
    fi
  done
) &
killer=$!
start=$(date +%s)
code=$(run_sweep 4 "${hosts[0]} slots=2" "${hosts[1]} slots=1" "${hosts[2]} slots=1")
wait "$killer" || true
took=$(($(date +%s) - start))
grep -q "killing every process of ${hosts[2]}" run.log || fail "the third host never held a job to kill"
((code != 137)) || fail "the run did not end within 300 s of the kill"
((code != 0)) || fail "the run reported success although a host died"
echo "run 1: host ${hosts[2]} killed; mpirun ended with code $code after ${took} s"

for want in "node rank 0 of 2 on ${hosts[0]}" "node rank 1 of 2 on ${hosts[0]}" \
            "node rank 0 of 1 on ${hosts[1]}" "node rank 0 of 1 on ${hosts[2]}"; do
  grep -q "placement: $want" run.log || fail "no rank logged 'placement: $want'"
done

# --- 2. A rerun on the two remaining hosts finishes the sweep ---------------------
code=$(run_sweep 3 "${hosts[0]} slots=2" "${hosts[1]} slots=1")
((code == 0)) || fail "the rerun on two hosts exited with $code"
echo "run 2: finished on ${hosts[0]} and ${hosts[1]}"

python3 - "${hosts[@]}" <<'EOF' || fail "the ledger check failed"
import glob, json, sys
hosts = sys.argv[1:]
jobs = [j["id"] for j in json.load(open("out/sweep.json"))["jobs"]]
records = [json.loads(line) for f in sorted(glob.glob("out/ledger.d/*.jsonl")) for line in open(f)]
records.sort(key=lambda r: r["time"])
finished = {}
for r in records:
    if r["event"] == "started" and r["job"] in finished:
        sys.exit(f"job {r['name']} started again after it finished")
    if r["event"] == "finished":
        finished[r["job"]] = finished.get(r["job"], 0) + 1
missing = [j for j in jobs if finished.get(j, 0) != 1]
if missing:
    sys.exit(f"{len(missing)} of {len(jobs)} jobs not finished exactly once: {missing}")
seen = {r["host"] for r in records}
if seen != set(hosts):
    sys.exit(f"the ledger names hosts {sorted(seen)}, expected {sorted(hosts)}")
print(f"ledger: {len(jobs)} jobs, each finished once; hosts {', '.join(sorted(seen))}")
EOF
echo "PASSED"

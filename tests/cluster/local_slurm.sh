#!/usr/bin/env bash
# Brings up a single-node SLURM cluster on localhost for tests, and tears it down.
#
#   local_slurm.sh up DIR     start munged, slurmctld and slurmd with everything (config,
#                             munge key and socket, state, spool, logs, pid files) under DIR;
#                             prints the environment to export, e.g.
#                               eval "$(tests/cluster/local_slurm.sh up /tmp/slurm)"
#                             exit 0: the node is idle; exit 77: SLURM cannot run here (one
#                             line on stderr says why; nothing is left running)
#   local_slurm.sh down DIR   scontrol shutdown, then stop munged; only the PIDs recorded in
#                             DIR/pids are signalled; waits until they are gone
#
# `up` also leaves a watchdog that runs `down` once the process that called `up` (or
# LOCAL_SLURM_OWNER, a PID) is gone, so a test that crashes or is killed leaves nothing
# running.
#
# Needs root (the daemons switch users) and the Debian packages slurm-wlm and munge.
# Environment: LOCAL_SLURM_UP_TIMEOUT (seconds to wait for an idle node, default 30),
# LOCAL_SLURM_SLURM_USER (SlurmUser, default slurm when that user exists, else root).
# Nothing outside DIR is written; the ports are free ones above 20000, so a system SLURM on
# its default ports 6817/6818 does not clash.
set -u

SKIP=77
up_timeout=${LOCAL_SLURM_UP_TIMEOUT:-30}
self=$(readlink -f "${BASH_SOURCE[0]}")

usage() {
  echo "usage: $0 up DIR | down DIR" >&2
  exit 2
}

log() { echo "local_slurm: $*" >&2; }

# Prints the PID recorded for NAME in DIR/pids (lines "NAME PID"), or nothing.
recorded_pid() {
  [[ -f $dir/pids ]] || return 0
  awk -v n="$1" '$1 == n { p = $2 } END { if (p != "") print p }' "$dir/pids"
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# Waits up to $2 seconds for PID $1 to exit; 0 when it is gone.
wait_gone() {
  local pid=$1 deadline=$((SECONDS + $2))
  while alive "$pid"; do
    ((SECONDS >= deadline)) && return 1
    sleep 0.2
  done
  return 0
}

# Stops the recorded daemon NAME: SIGTERM, then SIGKILL after a grace period.
stop_recorded() {
  local name=$1 pid
  pid=$(recorded_pid "$name")
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null
  if ! wait_gone "$pid" 15; then
    log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
    wait_gone "$pid" 5
  fi
}

# The job steps of this cluster (slurmstepd, working in DIR) still running: slurmd does
# not always take them down with it, and they would outlive the test's folder.
cluster_steps() {
  local pid
  for pid in $(pgrep -x slurmstepd); do
    [[ $(readlink "/proc/$pid/cwd" 2>/dev/null) == "$dir"/* ]] && echo "$pid"
  done
  return 0
}

# Stops everything recorded in DIR/pids, slurm daemons first, munged last, and the
# cluster's job steps.
stop_all() {
  local pid
  # The watchdog first (unless this is it, running `down`), so it does not run `down` again.
  pid=$(recorded_pid watchdog)
  if [[ -n $pid && $pid != "$$" ]] && alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    wait_gone "$pid" 5
  fi
  if alive "$(recorded_pid slurmctld)"; then
    SLURM_CONF=$dir/slurm.conf timeout 10 scontrol shutdown >/dev/null 2>&1
  fi
  for pid in slurmd slurmctld; do
    pid=$(recorded_pid "$pid")
    alive "$pid" && wait_gone "$pid" 15
  done
  stop_recorded slurmd
  stop_recorded slurmctld
  stop_recorded munged
}

# Skips (exit 77) after stopping whatever this run started.
skip() {
  stop_all
  echo "local_slurm: skipped: $*" >&2
  exit "$SKIP"
}

# Reads a pid file written by a daemon that forked into the background.
wait_pidfile() {
  local file=$1 seconds=$2 deadline pid
  deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    if [[ -s $file ]]; then
      pid=$(tr -dc '0-9' <"$file")
      if alive "$pid"; then
        echo "$pid"
        return 0
      fi
    fi
    sleep 0.2
  done
  return 1
}

port_free() {
  ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# Prints two consecutive free TCP ports (controller, node) in 20000-29999.
pick_ports() {
  local base tries
  for ((tries = 0; tries < 50; tries++)); do
    base=$((20000 + (RANDOM % 4999) * 2))
    if port_free "$base" && port_free $((base + 1)); then
      echo "$base $((base + 1))"
      return 0
    fi
  done
  return 1
}

last_log_line() {
  [[ -f $1 ]] && grep -E 'error|fatal|Error' "$1" | tail -n 1
}

cmd_up() {
  local c
  for c in munged mungekey munge unmunge slurmctld slurmd sinfo scontrol sbatch srun ss; do
    command -v "$c" >/dev/null 2>&1 || {
      echo "local_slurm: skipped: '$c' is not installed (apt-get install slurm-wlm munge)" >&2
      exit "$SKIP"
    }
  done
  [[ $(id -u) -eq 0 ]] || {
    echo "local_slurm: skipped: needs root to start the SLURM daemons" >&2
    exit "$SKIP"
  }
  id munge >/dev/null 2>&1 || {
    echo "local_slurm: skipped: no 'munge' user (is the munge package installed?)" >&2
    exit "$SKIP"
  }
  if alive "$(recorded_pid slurmctld)" || alive "$(recorded_pid munged)"; then
    echo "local_slurm: $dir already has a running cluster (run '$0 down $dir' first)" >&2
    exit 1
  fi

  local slurm_user=${LOCAL_SLURM_SLURM_USER:-}
  if [[ -z $slurm_user ]]; then
    if id slurm >/dev/null 2>&1; then slurm_user=slurm; else slurm_user=root; fi
  fi

  # munged refuses group- or world-writable directories on the paths to its key and socket
  # (sticky ones like /tmp are fine), so DIR is 0755 root and munge/ is 0755 munge.
  mkdir -p "$dir" || exit 1
  chown root:root "$dir" && chmod 0755 "$dir" || exit 1
  rm -f "$dir/pids"
  : >"$dir/pids"
  mkdir -p "$dir/munge" "$dir/log" "$dir/run" "$dir/state" "$dir/spool"
  chown munge:munge "$dir/munge" && chmod 0755 "$dir/munge"
  mkdir -p "$dir/spool/slurmd-localhost"
  # slurmctld writes its state, and its log after switching to SlurmUser (and chdirs to
  # the log folder).
  chown "$slurm_user" "$dir/state" "$dir/log"
  chmod 0755 "$dir/log" "$dir/run" "$dir/state" "$dir/spool"
  touch "$dir/log/slurmctld.log"
  chown "$slurm_user" "$dir/log/slurmctld.log"

  local sock=$dir/munge/munge.socket.2
  if [[ ! -s $dir/munge/munge.key ]]; then
    mungekey --create --keyfile="$dir/munge/munge.key" >/dev/null 2>&1 ||
      skip "mungekey --create failed"
  fi
  chown munge:munge "$dir/munge/munge.key" && chmod 0600 "$dir/munge/munge.key"
  rm -f "$sock" "$sock.lock" "$dir/munge/munged.pid"

  # munged forks into the background and writes its pid file.
  runuser -u munge -- munged \
    --key-file="$dir/munge/munge.key" --socket="$sock" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" \
    --seed-file="$dir/munge/munged.seed" >"$dir/log/munged.out" 2>&1 ||
    skip "munged failed to start: $(tail -n 1 "$dir/log/munged.out")"
  local pid
  pid=$(wait_pidfile "$dir/munge/munged.pid" 10) || skip "munged did not write its pid file"
  echo "munged $pid" >>"$dir/pids"
  munge -n -S "$sock" 2>/dev/null | unmunge -S "$sock" >/dev/null 2>&1 ||
    skip "munge round trip through $sock failed"

  local ports cpus mem line sockets cores threads boards
  ports=$(pick_ports) || skip "no free TCP ports found"
  # The node as slurmd sees it; RealMemory 5 % below the machine's so it never drains.
  line=$(slurmd -C 2>/dev/null | head -n 1)
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$line")
  boards=$(sed -n 's/.* Boards=\([0-9]*\).*/\1/p' <<<"$line")
  sockets=$(sed -n 's/.* SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$line")
  cores=$(sed -n 's/.* CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$line")
  threads=$(sed -n 's/.* ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$line")
  mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$line")
  [[ -n $cpus && -n $mem ]] || skip "'slurmd -C' did not report the node's CPUs and memory"
  mem=$((mem * 95 / 100))
  local hw="CPUs=$cpus"
  [[ -n $boards && -n $sockets && -n $cores && -n $threads ]] &&
    hw+=" Boards=$boards SocketsPerBoard=$sockets CoresPerSocket=$cores ThreadsPerCore=$threads"

  cat >"$dir/slurm.conf" <<EOF
# Single-node test cluster written by tests/cluster/local_slurm.sh; everything lives in
# $dir.
ClusterName=localtest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=${ports% *}
SlurmdPort=${ports#* }
SlurmUser=$slurm_user
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# socket: our munged; cred_expire: a requeued job may start again after ~12 s, not ~121 s.
AuthInfo=socket=$sock,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd-%n.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
JobRequeue=1
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
MinJobAge=300
KillWait=10
Waittime=0
SchedulerType=sched/backfill
# Look at pending jobs every 2 s (defaults 60 s and 30 s), so a requeued job starts
# soon after it becomes eligible again.
SchedulerParameters=sched_interval=2,bf_interval=2
NodeName=localhost NodeAddr=127.0.0.1 $hw RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF

  export SLURM_CONF=$dir/slurm.conf
  # Both daemons fork into the background and write their pid files.
  slurmctld -f "$SLURM_CONF" >"$dir/log/slurmctld.out" 2>&1 ||
    skip "slurmctld failed to start: $(tail -n 1 "$dir/log/slurmctld.out")"
  pid=$(wait_pidfile "$dir/run/slurmctld.pid" 10) ||
    skip "slurmctld did not start: $(last_log_line "$dir/log/slurmctld.log")"
  echo "slurmctld $pid" >>"$dir/pids"

  slurmd -f "$SLURM_CONF" -N localhost >"$dir/log/slurmd.out" 2>&1 ||
    skip "slurmd failed to start: $(tail -n 1 "$dir/log/slurmd.out")"
  pid=$(wait_pidfile "$dir/run/slurmd-localhost.pid" 10) ||
    skip "slurmd did not start: $(last_log_line "$dir/log/slurmd-localhost.log")"
  echo "slurmd $pid" >>"$dir/pids"

  local deadline=$((SECONDS + up_timeout)) state=""
  while ((SECONDS < deadline)); do
    state=$(sinfo -h -n localhost -o '%T' 2>/dev/null | head -n 1)
    [[ $state == idle ]] && break
    for c in slurmctld slurmd munged; do
      alive "$(recorded_pid "$c")" || skip "$c exited during start-up: see $dir/log"
    done
    sleep 0.5
  done
  [[ $state == idle ]] ||
    skip "node not idle after ${up_timeout}s (state '${state:-none}'): see $dir/log"

  # The watchdog: polls its owner every second; when the owner is gone without `down`, it
  # becomes `down` (exec keeps its PID, which stop_all then spares).
  local owner=${LOCAL_SLURM_OWNER:-$PPID}
  setsid bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec bash "$2" down "$3"' \
    local-slurm-watchdog "$owner" "$self" "$dir" </dev/null >>"$dir/log/watchdog.out" 2>&1 &
  echo "watchdog $!" >>"$dir/pids"

  # Clients (sbatch, srun, sinfo, scontrol) find the munge socket through AuthInfo.
  echo "export SLURM_CONF=$dir/slurm.conf"
}

cmd_down() {
  [[ -f $dir/pids ]] || {
    log "no $dir/pids: nothing to stop"
    return 0
  }
  stop_all
  local name pid left=""
  for pid in $(cluster_steps); do
    kill -KILL "$pid" 2>/dev/null
    wait_gone "$pid" 5 || left+=" slurmstepd($pid)"
  done
  while read -r name pid; do
    [[ $pid == "$$" ]] && continue  # the watchdog, running this
    alive "$pid" && left+=" $name($pid)"
  done <"$dir/pids"
  if [[ -n $left ]]; then
    log "still running:$left"
    exit 1
  fi
  rm -f "$dir/pids"
}

[[ $# -eq 2 ]] || usage
sub=$1
dir=$2
[[ $dir == /* ]] || dir=$PWD/$dir
dir=${dir%/}
case $sub in
  up) cmd_up ;;
  down) cmd_down ;;
  *) usage ;;
esac

#!/usr/bin/env bash
# A single-node SLURM for the tests: munge + slurmctld + slurmd on this machine, with fake GPUs
# (GRES backed by character devices) so that `--gpus=1` jobs schedule. Debian/Ubuntu, as root.
#
#   bash tests/slurm/cluster.sh start    # install (apt) if needed, configure, start, wait until idle
#   bash tests/slurm/cluster.sh stop     # stop only the daemons this script started
#   bash tests/slurm/cluster.sh status   # exit 0 when the controller answers
#
# No accounting database: run Snakemake with `--slurm-status-command squeue` against it (the
# plugin's default, sacct, would wait forever on a cluster without slurmdbd).
# It writes /etc/slurm/slurm.conf (srun inside jobs ignores SLURM_CONF, so the config must be at
# the compiled-in path) and refuses to touch one it did not write.
set -euo pipefail

STATE=${VIDCARBON_SLURM_STATE:-/tmp/vidcarbon-slurm}
FAKE_GPUS=${VIDCARBON_SLURM_GPUS:-2}
PARTITION=${VIDCARBON_SLURM_PARTITION:-debug}
GPU_TYPE=${VIDCARBON_SLURM_GPU_TYPE:-fake}
# The node declares the memory of a GPU node (config_overrides: slurmd does not check it against
# this machine), so the workflow's real per-rule requests schedule. Nothing enforces it here.
NODE_MEM_MB=${VIDCARBON_SLURM_NODE_MEM_MB:-256000}
CONF=/etc/slurm/slurm.conf
MARK="# written by vidcarbon tests/slurm/cluster.sh"

die() { echo "cluster.sh: $*" >&2; exit 1; }

controller_answers() { timeout 5 scontrol ping 2>/dev/null | grep -q "UP"; }

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
    && return
  command -v apt-get >/dev/null || die "slurmctld/slurmd/sbatch missing and no apt-get to install them"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq slurmctld slurmd >/dev/null
}

write_config() {
  if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then
    die "$CONF exists and was not written by this script; refusing to overwrite a real cluster's config"
  fi
  local host cpus
  host=$(hostname -s)
  cpus=$(nproc)
  mkdir -p "$STATE"/{ctld,spool,run,log,dev} /etc/slurm
  for ((i = 0; i < FAKE_GPUS; i++)); do
    [ -e "$STATE/dev/nvidia$i" ] || mknod "$STATE/dev/nvidia$i" c 195 "$i"
  done
  cat >"$CONF" <<CONF
$MARK
ClusterName=vidcarbon-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerParameters=batch_sched_delay=0
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
SlurmdParameters=config_overrides
MinJobAge=600
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
GresTypes=gpu
NodeName=$host CPUs=$cpus RealMemory=$NODE_MEM_MB Gres=gpu:$GPU_TYPE:$FAKE_GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  echo "NodeName=$host Name=gpu Type=$GPU_TYPE File=$STATE/dev/nvidia[0-$((FAKE_GPUS - 1))]" \
    >/etc/slurm/gres.conf
}

start_munge() {
  pgrep -x munged >/dev/null && return
  mkdir -p /run/munge && chown munge:munge /run/munge
  if [ ! -s /etc/munge/munge.key ]; then
    mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  fi
  runuser -u munge -- /usr/sbin/munged
  pgrep -x munged >"$STATE/run/munged.started-here"
}

start() {
  [ "$(id -u)" = 0 ] || die "needs root (it installs packages, writes $CONF and creates device nodes)"
  if command -v scontrol >/dev/null && controller_answers; then
    grep -qF "$MARK" "$CONF" 2>/dev/null || die "a SLURM controller not started by this script is running"
    echo "cluster.sh: already running"
    return
  fi
  install_packages
  write_config
  start_munge
  /usr/sbin/slurmctld -i
  /usr/sbin/slurmd
  for _ in $(seq 1 60); do
    sinfo -h -o %T 2>/dev/null | grep -qx idle && { sinfo; return; }
    sleep 0.5
  done
  tail -n 20 "$STATE"/log/*.log >&2
  die "the node did not become idle within 30 s"
}

stop() {
  local name pidfile
  for name in slurmd slurmctld; do
    pidfile=$STATE/run/$name.pid
    [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
  pidfile=$STATE/run/munged.started-here
  [ -s "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) controller_answers ;;
  *) die "usage: cluster.sh start|stop|status" ;;
esac

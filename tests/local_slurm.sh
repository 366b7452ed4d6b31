#!/usr/bin/env bash
# A private single-node SLURM cluster on this machine, for tests/test_slurm.py (or to try the
# cluster guide, docs/cluster.md, by hand). Needs root and Debian's packages slurm-wlm and munge.
#
#   tests/local_slurm.sh start DIR   config, state, spool and logs in DIR; returns when the node is idle
#   tests/local_slurm.sh stop DIR    cancels the cluster's jobs, stops the daemons it started by the
#                                    PIDs in DIR/*.pid, removes its links in /etc/slurm
#
# Exit status of start: 0 running, 3 cannot run here (not root, packages missing, another SLURM
# configured), 1 failed to start. The node advertises one GPU (a GRES without a device file) so
# that jobs asking for `gpu: 1` are scheduled; they run on the CPU.
set -euo pipefail

usage() { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
action=$1
dir=$(realpath -m "$2")
links=(/etc/slurm/slurm.conf /etc/slurm/gres.conf)

cannot() { echo "local_slurm: $*" >&2; exit 3; }
fail() { echo "local_slurm: $*" >&2; exit 1; }

wait_gone() {  # PID: up to 10 s for it to exit, then SIGKILL
    local pid=$1
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

stop() {
    if [[ -f $dir/slurmctld.pid ]] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
        scancel --quiet --user "$(id -un)" 2>/dev/null || true
        for _ in $(seq 50); do [[ -z $(squeue --noheader --states=RUNNING,COMPLETING 2>/dev/null) ]] && break; sleep 0.2; done
    fi
    for daemon in slurmd slurmctld munged; do
        [[ -f $dir/$daemon.pid ]] || continue
        pid=$(cat "$dir/$daemon.pid")
        if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            wait_gone "$pid"
        fi
        rm -f "$dir/$daemon.pid"
    done
    for link in "${links[@]}"; do
        if [[ -L $link && $(readlink "$link") == "$dir"/* ]]; then rm -f "$link"; fi
    done
}

start() {
    [[ $(id -u) -eq 0 ]] || cannot "needs root (it starts munged as munge and writes /etc/slurm)"
    for tool in slurmctld slurmd munged munge unmunge sinfo; do
        command -v "$tool" >/dev/null || cannot "$tool not found (apt-get install slurm-wlm munge)"
    done
    for link in "${links[@]}"; do
        [[ -e $link && ! -L $link ]] && cannot "$link exists: this machine has its own SLURM, left alone"
    done
    pgrep -x slurmctld >/dev/null && cannot "a slurmctld already runs here"
    pgrep -x slurmd >/dev/null && cannot "a slurmd already runs here"
    mkdir -p "$dir/state" "$dir/spool"
    trap 'stop; fail "could not start; logs in $dir"' ERR

    # munge: the package ships /etc/munge/munge.key; reuse a munged that already answers.
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
        runuser -u munge -- munged --pid-file=/run/munge/munged.pid
        cp /run/munge/munged.pid "$dir/munged.pid"
        munge -n | unmunge >/dev/null
    fi

    # This node as slurmd sees it, renamed localhost (slurmd -N localhost: the host has another name).
    node=$(slurmd -C | head -n 1 | sed -E 's/^NodeName=[^ ]+/NodeName=localhost/')
    cat > "$dir/slurm.conf" <<EOF
ClusterName=grokflow-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# squeue must still list finished jobs when Snakemake asks for their state (no sacct here).
MinJobAge=3600
MailProg=/bin/true
ReturnToService=2
MpiDefault=none
GresTypes=gpu
$node Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
    echo "NodeName=localhost Name=gpu File=/dev/null" > "$dir/gres.conf"
    # srun inside a job finds its configuration only here: the job-step plugin clears SLURM_*.
    mkdir -p /etc/slurm
    ln -sfn "$dir/slurm.conf" /etc/slurm/slurm.conf
    ln -sfn "$dir/gres.conf" /etc/slurm/gres.conf

    slurmctld -c
    slurmd -N localhost
    for _ in $(seq 150); do
        state=$(sinfo --noheader --nodes=localhost --format=%T 2>/dev/null || true)
        [[ $state == idle ]] && { trap - ERR; echo "local_slurm: running in $dir"; return 0; }
        sleep 0.2
    done
    false
}

case $action in
    start) start ;;
    stop) stop ;;
    *) usage ;;
esac

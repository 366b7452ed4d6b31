"""Integration: a slice of the ci config's DAG (one op, one seed; a job of each kind: training,
a grouped metric, grouped figures, a GPU rule) through the slurm profile on a private one-node
SLURM cluster (tests/local_slurm.sh). Skipped where SLURM cannot run here (not
root, no slurm-wlm or munge, a SLURM of the machine's own), unless GROKFLOW_REQUIRE_SLURM=1 (CI)
makes that a failure."""

import os
import re
import subprocess
import time

import pandas as pd
import pytest

from conftest import CI_CONFIG, REPO, copy_workflow, snakemake

SCRIPT = REPO / "tests/local_slurm.sh"
REQUIRED = os.environ.get("GROKFLOW_REQUIRE_SLURM") == "1"
# Each SLURM job costs seconds of submission and of Snakemake's start on the node: the whole ci DAG
# took 15 min through SLURM on a 2-core machine, one op and one seed of it 6 min. The slice below
# has a job of each kind the profile handles: the training, the `measure` and `figures` groups, a
# local rule (training_manifest) and a rule that asks for a GPU.
ONE_OP = "ops: [x+y]\nseeds: [0]\n"
TARGETS = ["results/x+y/gini_ipr.csv", "results/x+y/figures/gini_ipr.png", "results/grokking_summary.csv",
           "results/x+y/llc_rescaling/fixed/sgld.csv"]
# Hard limits.
RUN_TIMEOUT_S = 900
DAEMON_TIMEOUT_S = 120
DAEMONS = ("slurmd", "slurmctld", "munged")
# The ci config runs everything on the CPU (no job asks for a GPU); this rule asks anyway, to show
# that a `gpu` resource reaches SLURM (the node's GPU has no device: the job runs on the CPU).
GPU_RULE = "llc_rescaling"


def cluster_command(action, state):
    return subprocess.run(["bash", str(SCRIPT), action, str(state)], capture_output=True, text=True,
                          timeout=DAEMON_TIMEOUT_S)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm")
    started = cluster_command("start", state)
    try:
        if started.returncode == 3 and not REQUIRED:
            pytest.skip(f"no local SLURM: {started.stderr.strip()}")
        assert started.returncode == 0, f"local SLURM did not start:\n{started.stdout}{started.stderr}"
        pids = {daemon: int((state / f"{daemon}.pid").read_text()) for daemon in DAEMONS
                if (state / f"{daemon}.pid").exists()}
        yield state
    finally:
        stopped = cluster_command("stop", state)
    assert stopped.returncode == 0, stopped.stderr
    for daemon, pid in pids.items():
        assert not os.path.exists(f"/proc/{pid}") or "zombie" in open(f"/proc/{pid}/status").read().lower(), daemon


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm_workflow"))
    (workdir / "one_op.yaml").write_text(ONE_OP)
    start = time.monotonic()
    # --cores: the node's 2 CPUs bound what a group job asks for (its other jobs wait in series).
    result = snakemake(workdir, "--profile", "workflow/profiles/slurm", "--set-resources", f"{GPU_RULE}:gpu=1",
                       "--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2",
                       "--cores", "2", *TARGETS,
                       timeout=RUN_TIMEOUT_S, configfiles=(CI_CONFIG, "one_op.yaml"))
    print(f"a slice of the ci DAG through SLURM: {time.monotonic() - start:.0f} s wall")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    jobs = subprocess.run(["squeue", "--noheader", "--states=all", "--Format=State:|,Comment:|,tres-per-job:"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    return workdir, result, [line.split("|") for line in jobs]


def test_every_job_ran_on_slurm_and_completed(slurm_run):
    workdir, result, jobs = slurm_run
    total = int(re.search(r"^total\s+(\d+)$", result.stderr, flags=re.M).group(1))
    assert f"{total} of {total} steps (100%) done" in result.stderr
    submitted = re.findall(r"has been submitted with SLURM jobid", result.stderr)
    assert len(jobs) == len(submitted) >= 4
    assert {state for state, _, _ in jobs} == {"COMPLETED"}
    # The small jobs travel in the profile's groups: fewer SLURM jobs than workflow jobs.
    groups = [comment for _, comment, _ in jobs if comment.startswith(("rule_measure_", "rule_figures_"))]
    assert groups and len(jobs) < total - 1


def test_a_gpu_request_reaches_slurm(slurm_run):
    _, _, jobs = slurm_run
    # A job's comment: rule_{rule}[_wildcards_...], or rule_{group}_{its rules}... for a group job.
    rules = [(comment.removeprefix("rule_").split("_wildcards")[0], gres) for _, comment, gres in jobs]
    assert GPU_RULE in {rule for rule, _ in rules}
    for rule, gres in rules:
        assert ("gpu" in gres) == (rule == GPU_RULE), (rule, gres)


def test_every_output_exists_and_reads(slurm_run):
    workdir, _, _ = slurm_run
    dry = snakemake(workdir, "-n", *TARGETS, configfiles=(CI_CONFIG, "one_op.yaml"))
    assert "Nothing to be done" in dry.stdout
    results = workdir / "results"
    csvs, pngs = sorted(results.rglob("*.csv")), sorted(results.rglob("*.png"))
    assert {workdir / target for target in TARGETS} <= {*csvs, *pngs}
    for csv in csvs:
        assert len(pd.read_csv(csv)) >= 1, csv
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

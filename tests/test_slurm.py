"""Integration: the ci config's DAG, for one op and one seed, through the slurm profile on a
private one-node SLURM cluster (tests/local_slurm.sh). Skipped where SLURM cannot run here (not
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
# Every rule of the workflow, with one op and one seed: each SLURM job costs seconds of submission
# and of Snakemake's start on the node, and the 161 jobs of the whole ci DAG took 15 min through
# SLURM on a 2-core machine (3.5 min locally), too long for CI.
ONE_OP = "ops: [x+y]\nseeds: [0]\n"
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
    result = snakemake(workdir, "--profile", "workflow/profiles/slurm", "--slurm-status-command", "squeue",
                       "--slurm-init-seconds-before-status-checks", "2", "--cores", "2",
                       "--set-resources", f"{GPU_RULE}:gpu=1",
                       timeout=RUN_TIMEOUT_S, configfiles=(CI_CONFIG, "one_op.yaml"))
    print(f"ci DAG (one op, one seed) through SLURM: {time.monotonic() - start:.0f} s wall")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    jobs = subprocess.run(["squeue", "--noheader", "--states=all", "--Format=State:|,Comment:|,tres-per-job:"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    return workdir, result, [line.split("|") for line in jobs]


def test_every_job_ran_on_slurm_and_completed(slurm_run):
    workdir, result, jobs = slurm_run
    total = int(re.search(r"^total\s+(\d+)$", result.stderr, flags=re.M).group(1))
    assert f"{total} of {total} steps (100%) done" in result.stderr
    submitted = re.findall(r"has been submitted with SLURM jobid", result.stderr)
    assert len(jobs) == len(submitted) > 10
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
    assert "Nothing to be done" in snakemake(workdir, "-n", "all", configfiles=(CI_CONFIG, "one_op.yaml")).stdout
    results = workdir / "results"
    csvs, pngs = sorted(results.rglob("*.csv")), sorted(results.rglob("*.png"))
    assert len(csvs) > 40 and len(pngs) > 60
    for csv in csvs:
        assert len(pd.read_csv(csv)) >= 1, csv
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png

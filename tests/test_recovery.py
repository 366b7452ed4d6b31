"""After Snakemake itself is killed, the README's recovery commands finish the run; after a
training job alone is killed (a cluster's time limit), Snakemake's retry resumes it."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil

from conftest import CI_CONFIG, REPO, copy_workflow, snakemake

TARGET = "results/x+y/metric.csv"
SEEDS = [0, 1]  # the ci config's
RECOVERY_HEADING = "## Recovering a killed run"
# Long enough to kill the training job after its first resume-state save.
LONGER_TRAINING = "steps: 3000\ntrain: {save_every_s: 0.2}\n"


def recovery_commands() -> list[list[str]]:
    """The commands of the first bash block under the README's recovery heading."""
    section = (REPO / "README.md").read_text().split(RECOVERY_HEADING + "\n", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)
    return [shlex.split(line) for line in block.splitlines() if line.strip()]


def kill_snakemake_once_a_job_runs(workdir: Path) -> None:
    """Start Snakemake on TARGET and SIGKILL its whole process group once the training job has
    started (its log exists), as the OOM killer or a lost node would."""
    command = [sys.executable, "-m", "snakemake", "--configfile", CI_CONFIG, "-c1", TARGET]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    job_log = workdir / "results/logs/train/x+y.log"
    deadline = time.monotonic() + 60
    while not job_log.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert job_log.exists() and not (workdir / TARGET).exists(), "the run was not killed while its job ran"


def test_sigkilled_snakemake_is_locked_until_the_readme_recovery_commands_finish_the_run(tmp_path):
    workdir, reference = tmp_path / "killed", tmp_path / "reference"
    for folder in (workdir, reference):
        folder.mkdir()
        copy_workflow(folder)
    kill_snakemake_once_a_job_runs(workdir)

    plain_rerun = snakemake(workdir, "-c1", "--rerun-incomplete", TARGET, timeout=120)
    assert plain_rerun.returncode != 0
    assert "cannot be locked" in plain_rerun.stderr + plain_rerun.stdout

    commands = recovery_commands()
    assert [command[:2] for command in commands] == [["snakemake", "--unlock"], ["snakemake", "-c2"]]
    assert "--rerun-incomplete" in commands[1]
    environment = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command in commands:
        result = subprocess.run([*command, TARGET, "--configfile", CI_CONFIG], cwd=workdir, env=environment,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]

    uninterrupted = snakemake(reference, "-c1", TARGET, timeout=120)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    assert (workdir / TARGET).read_text() == (reference / TARGET).read_text()
    metrics = pd.read_csv(workdir / TARGET)
    assert sorted(metrics["seed"].unique()) == SEEDS and metrics["step"].max() == 40
    for seed in SEEDS:
        checkpoints = f"results/x+y/seed{seed}/checkpoints"
        names = sorted(os.listdir(workdir / checkpoints))
        assert names == sorted(os.listdir(reference / checkpoints))
        assert len(names) == (metrics["seed"] == seed).sum()
        for name in names:
            assert (workdir / checkpoints / name).read_bytes() == (reference / checkpoints / name).read_bytes()
    assert not (workdir / "results/train_state/x+y.pt").exists()
    up_to_date = snakemake(workdir, "-n", "-c1", TARGET, timeout=120)
    assert up_to_date.returncode == 0 and "Nothing to be done" in up_to_date.stdout + up_to_date.stderr


def kill_training_once_it_saved_state(snakemake_run: subprocess.Popen, state: Path) -> None:
    """SIGKILL the training job (not Snakemake) once it has saved its resume state, as a cluster
    does at a job's time limit."""
    deadline = time.monotonic() + 120
    while not state.exists() and snakemake_run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    training = [child for child in psutil.Process(snakemake_run.pid).children(recursive=True)
                if any(part.endswith("scripts/train.py") for part in child.cmdline())]
    assert state.exists() and training, "the training job finished before it could be killed"
    for process in training:
        process.kill()


def test_a_killed_training_job_is_retried_and_resumes_from_its_state(tmp_path):
    workdir, reference = tmp_path / "killed", tmp_path / "reference"
    for folder in (workdir, reference):
        folder.mkdir()
        copy_workflow(folder)
        (folder / "longer.yaml").write_text(LONGER_TRAINING)
    command = [sys.executable, "-m", "snakemake", "--configfile", CI_CONFIG, "longer.yaml", "-c1", TARGET]
    with open(tmp_path / "snakemake.log", "w") as log:
        run = subprocess.Popen(command, cwd=workdir, stdout=log, stderr=log, start_new_session=True)
        try:
            kill_training_once_it_saved_state(run, workdir / "results/train_state/x+y.pt")
            assert run.wait(timeout=300) == 0, (tmp_path / "snakemake.log").read_text()[-3000:]
        finally:
            if run.poll() is None:
                os.killpg(run.pid, signal.SIGKILL)
    assert "Trying to restart job" in (tmp_path / "snakemake.log").read_text()
    assert "resuming from step" in (workdir / "results/logs/train/x+y.log").read_text()
    uninterrupted = snakemake(reference, "-c1", TARGET, timeout=300, configfiles=(CI_CONFIG, "longer.yaml"))
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]
    assert (workdir / TARGET).read_text() == (reference / TARGET).read_text()
    for seed in SEEDS:
        checkpoints = Path(f"results/x+y/seed{seed}/checkpoints")
        names = sorted(os.listdir(reference / checkpoints))
        assert names == sorted(os.listdir(workdir / checkpoints))
        for name in names:
            assert (workdir / checkpoints / name).read_bytes() == (reference / checkpoints / name).read_bytes()

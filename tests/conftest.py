import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
CI_CONFIG = "workflow/configs/ci.yaml"


@pytest.fixture
def repo() -> Path:
    return REPO


def copy_workflow(root: Path) -> Path:
    """A runnable copy of the workflow (no results) in root."""
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, root / name)
    for name in ("workflow", "scripts", "envs"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def snakemake(workdir, *args, timeout=None, configfiles=(CI_CONFIG,)):
    """Snakemake on the ci config (then any further config files) in workdir. The run and
    everything it started locally are killed when the timeout passes (subprocess.TimeoutExpired
    is raised) or the test is interrupted."""
    command = [sys.executable, "-m", "snakemake", "--configfile", *configfiles, *args]
    with subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def planned_jobs(result) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run lists."""
    jobs = re.findall(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", result.stdout, flags=re.M)
    return [(rule, next(iter(re.findall(r"^    wildcards: (.*)$", block, flags=re.M)), ""))
            for rule, block in jobs]


def step_stack_and_singles(stack, singles, steps: int = 5) -> None:
    """Train a StackTrainer and one single-model trainer per model for `steps` steps, then check
    that model i of the stack holds exactly single i's weights (to float tolerance)."""
    for _ in range(steps):
        stack.train_step()
        for single in singles:
            single.train_step()
    for index, single in enumerate(singles):
        for name, tensor in single.model_tensors(0).items():
            torch.testing.assert_close(stack.model_tensors(index)[name], tensor, rtol=1e-5, atol=1e-6)

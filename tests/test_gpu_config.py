"""The GPU overlay (workflow/configs/gpu.yaml) on the full config, planned for a SLURM cluster:
every stage that gains from a GPU asks for one, with the time and memory its sizes need, and
train.stack_by splits the training into as many jobs as it says. Dry runs only; the bad-input
check runs where torch sees no GPU."""

import re

import pytest
import torch

from conftest import copy_workflow, snakemake

FULL_GPU = ("workflow/configs/full.yaml", "workflow/configs/gpu.yaml")
SLURM = ("--profile", "workflow/profiles/slurm")
GPU_RULES = {"train", "llc_rescaling", "llc_over_training", "llc_calibration", "lowrank_decay_phase_fraction",
             "lowrank_decay_mechanism", "table_connectivity_train", "lora_finetune"}
# One H200 trained the full config's 12 runs for 1,000,000 steps at 3.83 ms per step: 64 min
# (benchmarks/README.md); the SLT rescaling study of four ops took 7 min (docs/findings/slt.md).
MEASURED_MINUTES = {"train": 64, "llc_rescaling": 7}


def planned_resources(stdout: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job outside a group that a dry run lists."""
    jobs = re.findall(r"^(?:local)?rule (\w+):\n((?:    .*\n)*)", stdout, flags=re.M)
    return [(rule, dict(re.findall(r"(\w+)=([^,\n]+)", next(iter(re.findall(r"^    resources: (.*)$", block,
                                                                           flags=re.M)), ""))))
            for rule, block in jobs]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("gpu_config"))


@pytest.fixture(scope="module")
def full_gpu_plan(workdir):
    result = snakemake(workdir, "-n", *SLURM, "all", configfiles=FULL_GPU, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return planned_resources(result.stdout)


def test_every_stage_that_gains_from_a_gpu_asks_for_one_and_nothing_else_does(full_gpu_plan):
    asking = {rule for rule, resources in full_gpu_plan if resources.get("gpu") == "1"}
    assert asking == GPU_RULES


def test_gpu_jobs_get_host_memory_and_time_limits_above_what_they_were_measured_to_need(full_gpu_plan):
    for rule, resources in full_gpu_plan:
        if rule in GPU_RULES:
            assert int(resources["mem_mb"]) >= 16000, rule
        if rule in MEASURED_MINUTES:
            minutes = int(resources["runtime"])
            assert MEASURED_MINUTES[rule] < minutes < 4 * MEASURED_MINUTES[rule], (rule, minutes)


@pytest.mark.parametrize("stack_by, jobs", [("all", 1), ("op", 4), ("seed", 3)])
def test_stack_by_plans_one_training_job_per_stack(workdir, stack_by, jobs):
    (workdir / "stack.yaml").write_text(f"train: {{stack_by: {stack_by}}}\n")
    result = snakemake(workdir, "-n", *SLURM, "results/grokking_summary.csv",
                       configfiles=(*FULL_GPU, "stack.yaml"), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    training = [resources for rule, resources in planned_resources(result.stdout) if rule == "train"]
    assert len(training) == jobs and all(resources["gpu"] == "1" for resources in training)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_a_gpu_config_without_a_gpu_stops_before_any_job_naming_the_keys(workdir):
    result = snakemake(workdir, "-c1", "results/x+y/metric.csv", configfiles=("workflow/configs/ci.yaml",
                                                                              "workflow/configs/gpu.yaml"), timeout=300)
    assert result.returncode != 0
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: train.device, slt.device, lowrank_decay.device, table_connectivity.device, "
                            "lora.device ask for cuda"), error
    assert "Traceback" not in result.stderr and not (workdir / "results/x+y/training.json").exists()

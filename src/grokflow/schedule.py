"""The checkpoint schedule: log-spaced training steps, a pure function of the config, and the file
name of each step's checkpoint (torch-free: the workflow reads both while Snakemake parses it)."""

import math

import numpy as np

from .settings import TrainingSettings


def checkpoint_steps(total_steps: int, per_decade: int = TrainingSettings.per_decade, extra_steps=()) -> list[int]:
    """Steps at which a checkpoint is saved.

    Rounded 10^(k/per_decade) for k = 0 … per_decade·log10(total) (duplicates after rounding
    merge at the dense low end), plus 0, the `extra_steps` that are ≤ total, and the last step.
    """
    if total_steps < 1:
        raise ValueError("total_steps must be positive")
    n_points = math.ceil(per_decade * math.log10(total_steps)) + 1
    log_spaced = np.rint(np.logspace(0, math.log10(total_steps), n_points)).astype(int)
    steps = {0, total_steps, *log_spaced.tolist()}
    steps.update(s for s in extra_steps if 0 <= s <= total_steps)
    return sorted(steps)


def every_kth(steps: list[int], k: int) -> list[int]:
    """Every k-th step of the schedule, and always the last one."""
    picked = steps[::k]
    return picked if picked[-1] == steps[-1] else [*picked, steps[-1]]


def checkpoint_name(step: int) -> str:
    """The file name of the checkpoint at `step`."""
    return f"step{step:07d}.safetensors"

"""A results folder's training runs as objects, for notebooks and scripts.

The folder holds docs/design.md's layout: `{op}/seed{seed}/checkpoints/step{step:07d}.safetensors`,
`{op}/seed{seed}/metric.csv` (one run's table) and `{op}/metric.csv` (every seed of the op).
One call loads a checkpoint with everything needed to study it:

    from grokflow.runs import load
    loaded = load("results", "x+y", seed=0)           # the last step; step=500 for another
    loaded.model, loaded.split, loaded.metrics        # GrokTransformer, data split, metric table

`Results("results").runs()` lists the runs, `Results(...).run(op, seed).steps` a run's steps.
"""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
import re

import pandas as pd

from .checkpoints import CheckpointInfo, checkpoint_name, load_model
from .data import OPS, Split
from .errors import GrokflowError
from .io import read_csv
from .metrics.model_access import checkpoint_split
from .model import GrokTransformer
from .training import METRIC_COLUMNS

CHECKPOINT_PATTERN = re.compile(r"step(\d{7})\.safetensors")
SEED_PATTERN = re.compile(r"seed(\d+)")


@dataclass(frozen=True)
class LoadedCheckpoint:
    """A checkpoint's model (eval mode), its facts, the data split its run was trained on, and the
    run's metric table (seed, step, train_loss, train_acc, test_loss, test_acc)."""

    model: GrokTransformer
    info: CheckpointInfo
    split: Split
    metrics: pd.DataFrame


@dataclass(frozen=True)
class TrainedRun:
    """One (op, seed) of a results folder."""

    folder: Path
    op: str
    seed: int

    @cached_property
    def steps(self) -> list[int]:
        """The steps with a checkpoint, ascending."""
        names = (CHECKPOINT_PATTERN.fullmatch(path.name) for path in (self.folder / "checkpoints").iterdir())
        return sorted(int(match[1]) for match in names if match)

    def checkpoint_path(self, step: int | None = None) -> Path:
        """The checkpoint of `step` (the last one when None); a GrokflowError naming the nearest
        steps when the run has no checkpoint there."""
        if not self.steps:
            raise GrokflowError(f"{self.folder / 'checkpoints'} holds no checkpoint")
        if step is None:
            step = self.steps[-1]
        if step not in self.steps:
            raise GrokflowError(f"{self.folder} has no checkpoint at step {step}; {self._nearest_steps(step)}")
        return self.folder / "checkpoints" / checkpoint_name(step)

    def _nearest_steps(self, step: int) -> str:
        below = [s for s in self.steps if s < step]
        above = [s for s in self.steps if s > step]
        nearest = ", ".join(str(s) for s in (below[-1:] + above[:1]))
        return f"nearest: {nearest} ({len(self.steps)} steps from {self.steps[0]} to {self.steps[-1]})"

    def metrics(self) -> pd.DataFrame:
        """The run's metric table (its own metric.csv, written when its training finished)."""
        return read_csv(self.folder / "metric.csv", METRIC_COLUMNS)

    def load(self, step: int | None = None) -> LoadedCheckpoint:
        """The model of `step` (the last one when None) with its facts, split and metric table."""
        model, info = load_model(self.checkpoint_path(step))
        return LoadedCheckpoint(model, info, checkpoint_split(info), self.metrics())


class Results:
    """A results folder of docs/design.md's layout."""

    def __init__(self, folder):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise GrokflowError(f"results folder {self.folder} does not exist")

    def runs(self, op: str | None = None) -> list[TrainedRun]:
        """Every finished or running run (a seed folder with checkpoints), by op then seed."""
        ops = OPS if op is None else (op,)
        return [TrainedRun(seed_folder, name, int(match[1]))
                for name in ops
                for seed_folder, match in self._seed_folders(name)]

    def _seed_folders(self, op: str) -> list[tuple[Path, re.Match]]:
        op_folder = self.folder / op
        if not op_folder.is_dir():
            return []
        matches = ((path, SEED_PATTERN.fullmatch(path.name)) for path in op_folder.iterdir())
        found = [(path, match) for path, match in matches if match and (path / "checkpoints").is_dir()]
        return sorted(found, key=lambda pair: int(pair[1][1]))

    def run(self, op: str, seed: int) -> TrainedRun:
        """The run of (op, seed); a GrokflowError listing the runs there are when it is absent."""
        if op not in OPS:
            raise GrokflowError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
        runs = self.runs()
        for run in runs:
            if (run.op, run.seed) == (op, seed):
                return run
        found = ", ".join(f"{run.op} seed {run.seed}" for run in runs) or "none"
        raise GrokflowError(f"{self.folder} has no run of {op} seed {seed} (runs: {found})")

    def metrics(self, op: str) -> pd.DataFrame:
        """Every seed's metric table of one op (`{op}/metric.csv`)."""
        return read_csv(self.folder / op / "metric.csv", METRIC_COLUMNS)


def load(results, op: str, seed: int = 0, step: int | None = None) -> LoadedCheckpoint:
    """The checkpoint of (op, seed, step) of a results folder (the last step when None)."""
    return Results(results).run(op, seed).load(step)

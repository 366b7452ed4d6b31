"""Run a per-checkpoint measure over many checkpoints and write one long-format CSV.

Every metric script is this runner plus a function `measure(tensors, info) -> list[dict]`;
the rows get `seed` and `step` first so that each metric CSV joins `metric.csv` on (seed, step).
"""

import argparse
from collections.abc import Callable

import pandas as pd
from tqdm import tqdm

from ..checkpoints import CheckpointInfo, load_checkpoint
from ..errors import run_main
from ..io import write_csv

Measure = Callable[[dict, CheckpointInfo], list[dict]]


def checkpoint_table(paths, measure: Measure) -> pd.DataFrame:
    """measure() applied to every checkpoint, as one frame sorted by (seed, step)."""
    rows = []
    for path in tqdm(paths, desc="checkpoints", unit="ckpt", mininterval=2.0):
        tensors, info = load_checkpoint(path)
        rows.extend({"seed": info.seed, "step": info.step} | row for row in measure(tensors, info))
    frame = pd.DataFrame(rows)
    return frame.sort_values(["seed", "step"], kind="stable", ignore_index=True)


def metric_main(description: str, measure: Measure) -> None:
    """The command line shared by the metric scripts: checkpoints in, one CSV out."""
    run_main(lambda: _metric_cli(description, measure))


def _metric_cli(description: str, measure: Measure, argv=None) -> None:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files (any seeds, any steps)")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    args = parser.parse_args(argv)
    write_csv(checkpoint_table(args.checkpoints, measure), args.output)

#!/usr/bin/env python
"""Progress measures against the training step (Nanda et al. 2023): train, test, restricted and
excluded loss (cross-entropy over the p number outputs, on a log axis), the chance level log p as a
dashed line, and train and test accuracy on a twin axis.

Each loss is the geometric mean over seeds with a band of ± one std of log10(loss)
(grokflow.plotting.log_seed_band), so that the band stays positive on the log axis.
"""

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import require_columns
from grokflow.plotting import (PALETTE, against_step_parser, baseline_line, finish_against_step, log_seed_band,
                               new_figure, positive_steps)

COLUMNS = ("seed", "step", "restricted_loss", "excluded_loss", "train_loss", "test_loss", "chance_loss")
LOSSES = {"train_loss": ("train loss", PALETTE[0], "--"), "test_loss": ("test loss", PALETTE[0], "-"),
          "restricted_loss": ("restricted loss", PALETTE[2], "-"),
          "excluded_loss": ("excluded loss", PALETTE[1], "-")}


def plot_progress(progress: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    ax.set_yscale("log")
    rows = positive_steps(progress)
    for column, (label, color, linestyle) in LOSSES.items():
        log_seed_band(ax, rows, column, color=color, linestyle=linestyle, label=label)
    chance = float(progress["chance_loss"].iloc[0])
    baseline_line(ax, chance, color=PALETTE[3], label=f"chance, log p = {chance:.2f}")
    finish_against_step(fig, ax, "loss (cross-entropy)", metrics, png_path)


def main(argv=None) -> None:
    parser = against_step_parser(__doc__, "progress_measures")
    args = parser.parse_args(argv)
    progress, metrics = pd.read_csv(args.table), pd.read_csv(args.metrics)
    require_columns(progress, COLUMNS, args.table)
    require_columns(metrics, ("seed", "step", "train_acc", "test_acc"), args.metrics)
    plot_progress(progress, metrics, args.output)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Circuit competition against the training step: the share of ‖W_E‖² (solid) and ‖W_U‖² (dashed)
in S_fourier (each seed's own key frequencies) and in S_memo (mean ± std over seeds), each beside
the share a random direction would have (dotted, mean over seeds), with train and test accuracy on
a twin axis."""

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import require_columns
from grokflow.plotting import (PALETTE, against_step_parser, baseline_line, finish_against_step, math_name, new_figure,
                               positive_steps, seed_band)

COLUMNS = ("seed", "step", "matrix", "fourier_share", "memo_share", "fourier_baseline", "memo_baseline")
SHARES = {"fourier_share": ("Fourier", PALETTE[0]), "memo_share": ("memo", PALETTE[1])}
BASELINES = {"fourier_share": "fourier_baseline", "memo_share": "memo_baseline"}
LINESTYLES = {"W_E": "-", "W_U": "--"}


def plot_competition(competition: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    rows = positive_steps(competition)
    for matrix, linestyle in LINESTYLES.items():
        matrix_rows = rows[rows["matrix"] == matrix]
        for column, (name, color) in SHARES.items():
            seed_band(ax, matrix_rows, column, color=color, linestyle=linestyle,
                      label=f"{name}, {math_name(matrix)}")
    for column, (name, color) in SHARES.items():
        baseline = competition[BASELINES[column]].mean()
        baseline_line(ax, baseline, color=color, label=f"{name}, random direction ({baseline:.2g})")
    ax.set_ylim(-0.02, 1.02)
    finish_against_step(fig, ax, "share of squared norm", metrics, png_path)


def main(argv=None) -> None:
    parser = against_step_parser(__doc__, "circuit_competition")
    args = parser.parse_args(argv)
    competition, metrics = pd.read_csv(args.table), pd.read_csv(args.metrics)
    require_columns(competition, COLUMNS, args.table)
    plot_competition(competition, metrics, args.output)


if __name__ == "__main__":
    run_main(main)

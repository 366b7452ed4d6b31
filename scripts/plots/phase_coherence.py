#!/usr/bin/env python
"""Phase coherence of W_E (R² of the unwrapped DFT phase over the op's group against frequency,
mean over columns weighted by column norm; mean ± std over seeds) against the training step, with
train and test accuracy on a twin axis: one figure, written as PNG and PDF. R² measures whether a
column is one bump on the number line; it is blind to Fourier features (arbitrary phase per
frequency), so it need not move at grokking. R² lies in [0, 1]; the y axis shows that whole span
whenever the curve moves by less than a third of it (grokflow.plotting.meaningful_ylim)."""

import pandas as pd

from grokflow.errors import run_main
from grokflow.metrics.phase_coherence import MEAN_COLUMN
from grokflow.plotting import against_step_parser, finish_against_step, new_figure, positive_steps, seed_band


def plot(phase: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    rows = positive_steps(phase[phase["column"] == MEAN_COLUMN])
    seed_band(ax, rows, "r2", label="phase $R^2$ of $W_E$ (norm-weighted mean)")
    finish_against_step(fig, ax, "phase coherence $R^2$", metrics, png_path, span=(0.0, 1.0))


def main(argv=None) -> None:
    parser = against_step_parser(__doc__, "phase_coherence")
    args = parser.parse_args(argv)
    plot(pd.read_csv(args.table), pd.read_csv(args.metrics), args.output)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Effective rank of each weight matrix against the training step, one line per layer
(mean ± std over seeds), with train and test accuracy on a twin axis: one figure per matrix,
written as OUTDIR/{matrix}.png and .pdf.

The effective rank lies in [1, min(m, n)] for an m × n matrix (1: rank one); the table does not
hold the matrix shapes, so the y axis always reaches down to the bound 1
(grokflow.plotting.meaningful_ylim): a curve near its maximum rank, e.g. W_U, or W_pos (n_ctx ×
d_model: at most 3), is not magnified into dynamics."""

import argparse
import math
from pathlib import Path

import pandas as pd

from grokflow.errors import run_main
from grokflow.metrics.matrix_names import MATRICES
from grokflow.plotting import finish_against_step, math_name, new_figure, positive_steps, seed_band

ERANK_SPAN = (1.0, None)  # erank = exp(spectral entropy) ≥ 1; ≤ min(matrix dims), not in the table


def plot_matrix(erank: pd.DataFrame, metrics: pd.DataFrame, matrix: str, png_path) -> None:
    fig, ax = new_figure()
    rows = positive_steps(erank[erank["matrix"] == matrix])
    for layer, layer_rows in rows.groupby("layer"):
        label = math_name(matrix) if layer < 0 else f"{math_name(matrix)}, layer {layer}"
        seed_band(ax, layer_rows, "erank", label=label)
    finish_against_step(fig, ax, f"effective rank of {math_name(matrix)}", metrics, png_path, span=ERANK_SPAN,
                        flat_share=math.inf)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--erank", required=True, help="results/{op}/effective_rank.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--outdir", required=True, help="folder for {matrix}.png and .pdf")
    args = parser.parse_args(argv)
    erank, metrics = pd.read_csv(args.erank), pd.read_csv(args.metrics)
    for matrix in MATRICES:
        plot_matrix(erank, metrics, matrix, Path(args.outdir) / f"{matrix}.png")


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Share of the layer-0 QK circuit's 2-D DFT power (over the op's group, summed over heads) on the
diagonals k2 = ±k1 against the training step (mean ± std over seeds), beside its random baseline
(the share of the diagonal cells, dotted), with train and test accuracy on a twin axis. The share
lies in [0, 1] (grokflow.plotting.meaningful_ylim)."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.mechanism import require_columns
from grokflow.plotting import baseline_line, finish_against_step, new_figure, positive_steps, seed_band

HEAD = -1
COLUMNS = ("seed", "step", "layer", "head", "diagonal_fraction", "random_baseline")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--diagonal", required=True, help="results/{op}/qk_circuit_diagonal.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    diagonal, metrics = pd.read_csv(args.diagonal), pd.read_csv(args.metrics)
    require_columns(diagonal, COLUMNS, args.diagonal)
    fig, ax = new_figure()
    rows = positive_steps(diagonal[diagonal["head"] == HEAD])
    line = seed_band(ax, rows, "diagonal_fraction", label="layer 0, heads summed")
    baseline = float(rows["random_baseline"].iloc[0])
    baseline_line(ax, baseline, color=line.get_color(), label=f"evenly spread power ({baseline:.3g})")
    finish_against_step(fig, ax, "QK power on $k_2 = \\pm k_1$ (fraction)", metrics, args.output, span=(0.0, 1.0))


if __name__ == "__main__":
    run_main(main)

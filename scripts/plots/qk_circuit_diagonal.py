#!/usr/bin/env python
"""Share of the QK circuit's 2-D DFT power on the diagonals k2 = ±k1 (summed over heads) against
the training step, one line per layer (mean ± std over seeds), with train and test accuracy on a
twin axis."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import finish_against_step, new_figure, positive_steps, seed_band

HEAD = -1


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--diagonal", required=True, help="results/{op}/qk_circuit_diagonal.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    diagonal, metrics = pd.read_csv(args.diagonal), pd.read_csv(args.metrics)
    fig, ax = new_figure()
    rows = positive_steps(diagonal[diagonal["head"] == HEAD])
    for layer, layer_rows in rows.groupby("layer"):
        seed_band(ax, layer_rows, "diagonal_fraction", label=f"layer {layer}")
    finish_against_step(fig, ax, "QK power on $k_2 = \\pm k_1$ (fraction)", metrics, args.output)


if __name__ == "__main__":
    run_main(main)

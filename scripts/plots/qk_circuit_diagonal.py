#!/usr/bin/env python
"""Share of the layer-0 QK circuit's 2-D DFT power (over the op's group, summed over heads) on the
diagonals k2 = ±k1 against the training step (mean ± std over seeds), beside its random baseline
(the share of the diagonal cells, dotted), with train and test accuracy on a twin axis. The share
lies in [0, 1] (grokflow.plotting.meaningful_ylim)."""

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import require_columns
from grokflow.plotting import (against_step_parser, baseline_line, finish_against_step, new_figure, positive_steps,
                               seed_band)

HEAD = -1
COLUMNS = ("seed", "step", "layer", "head", "diagonal_fraction", "random_baseline")


def main(argv=None) -> None:
    parser = against_step_parser(__doc__, "qk_circuit_diagonal")
    args = parser.parse_args(argv)
    diagonal, metrics = pd.read_csv(args.table), pd.read_csv(args.metrics)
    require_columns(diagonal, COLUMNS, args.table)
    fig, ax = new_figure()
    rows = positive_steps(diagonal[diagonal["head"] == HEAD])
    line = seed_band(ax, rows, "diagonal_fraction", label="layer 0, heads summed")
    baseline = float(rows["random_baseline"].iloc[0])
    baseline_line(ax, baseline, color=line.get_color(), label=f"evenly spread power ({baseline:.3g})")
    finish_against_step(fig, ax, "QK power on $k_2 = \\pm k_1$ (fraction)", metrics, args.output, span=(0.0, 1.0))


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Group-representation test against the training step: the principal-subspace shift residual ε_R
and the rank-free held-out residual (left axis, both relative residuals; a dotted line at 1, the
held-out residual of predicting 0, which a random embedding reaches or exceeds), the orthogonality defect
δ_orth (outer right axis) and train/test accuracy (right axis), each mean ± std over seeds; one
figure, PNG + PDF beside it. Each axis is coloured like its curves (residuals blue, δ_orth orange,
accuracy grey). Y ranges by meaning (grokflow.plotting.meaningful_ylim), both always from their
bound 0: ε_R lies in [0, 1] (R = 0 gives 1), the held-out residual is ≥ 0 with its reference 1,
δ_orth ≥ 0 (0 for a rotation)."""

import math

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import require_columns
from grokflow.plotting import (PALETTE, accuracy_twin, against_step_parser, baseline_line, color_axis, combined_legend,
                               log_step_axis, meaningful_ylim, new_figure, positive_steps, save_figure, seed_band,
                               third_axis)

COLUMNS = ("seed", "step", "residual", "heldout_residual", "orth_defect")
METRIC_COLUMNS = ("seed", "step", "train_acc", "test_acc")
RESIDUAL_COLOR, DEFECT_COLOR = PALETTE[0], PALETTE[1]


def plot_group_representation(group: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    rows = positive_steps(group)
    seed_band(ax, rows, "residual", color=RESIDUAL_COLOR, label=r"shift residual $\varepsilon_R$ (principal)")
    seed_band(ax, rows, "heldout_residual", color=RESIDUAL_COLOR, linestyle="--",
              label="held-out residual (full $d$)")
    baseline_line(ax, 1.0, color=RESIDUAL_COLOR, label="held-out = 1: no better than 0")
    ax.set_ylabel("relative residual")
    color_axis(ax, RESIDUAL_COLOR, "left")
    meaningful_ylim(ax, 0.0, None, flat_share=math.inf)  # always from 0, as both residuals are
    log_step_axis(ax)
    defect_axis = third_axis(ax, color=DEFECT_COLOR)
    seed_band(defect_axis, rows, "orth_defect", color=DEFECT_COLOR,
              label=r"orthogonality defect $\delta_{\mathrm{orth}}$ (outer right axis)")
    defect_axis.set_ylabel(r"$\delta_{\mathrm{orth}} = \|R^{\top}R - I\|_F$")
    meaningful_ylim(defect_axis, 0.0, None, flat_share=math.inf)
    twin = accuracy_twin(ax, metrics)
    combined_legend(ax, defect_axis, twin)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = against_step_parser(__doc__, "group_representation")
    args = parser.parse_args(argv)
    group, metrics = pd.read_csv(args.table), pd.read_csv(args.metrics)
    require_columns(group, COLUMNS, args.table)
    require_columns(metrics, METRIC_COLUMNS, args.metrics)
    plot_group_representation(group, metrics, args.output)


if __name__ == "__main__":
    run_main(main)

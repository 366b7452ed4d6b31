#!/usr/bin/env python
"""Group-representation test against the training step: the principal-subspace shift residual ε_R
and the rank-free held-out residual (left axis, both relative residuals; a dotted line at 1, the
held-out residual of predicting 0, which a random embedding reaches or exceeds), the orthogonality defect
δ_orth (outer right axis) and train/test accuracy (right axis), each mean ± std over seeds; one
figure, PNG + PDF beside it."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.mechanism import require_columns
from grokflow.plotting import (PALETTE, accuracy_twin, baseline_line, combined_legend, log_step_axis, new_figure,
                               positive_steps, save_figure, seed_band, third_axis)

COLUMNS = ("seed", "step", "residual", "heldout_residual", "orth_defect")
METRIC_COLUMNS = ("seed", "step", "train_acc", "test_acc")


def plot_group_representation(group: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    rows = positive_steps(group)
    seed_band(ax, rows, "residual", color=PALETTE[0], label=r"shift residual $\varepsilon_R$ (principal)")
    seed_band(ax, rows, "heldout_residual", color=PALETTE[2], label="held-out residual (full $d$)")
    baseline_line(ax, 1.0, color=PALETTE[2], label="held-out = 1: no better than 0")
    ax.set_ylabel("relative residual")
    ax.set_ylim(bottom=0)
    log_step_axis(ax)
    defect_axis = third_axis(ax)
    seed_band(defect_axis, rows, "orth_defect", color=PALETTE[1],
              label=r"orthogonality defect $\delta_{\mathrm{orth}}$")
    defect_axis.set_ylabel(r"$\delta_{\mathrm{orth}} = \|R^{\top}R - I\|_F$")
    defect_axis.set_ylim(bottom=0)
    twin = accuracy_twin(ax, metrics)
    combined_legend(ax, defect_axis, twin, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--group", required=True, help="results/{op}/group_representation.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--output", required=True, help="PNG to write (PDF beside it)")
    args = parser.parse_args(argv)
    group, metrics = pd.read_csv(args.group), pd.read_csv(args.metrics)
    require_columns(group, COLUMNS, args.group)
    require_columns(metrics, METRIC_COLUMNS, args.metrics)
    plot_group_representation(group, metrics, args.output)


if __name__ == "__main__":
    run_main(main)

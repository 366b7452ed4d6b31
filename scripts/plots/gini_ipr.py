#!/usr/bin/env python
"""Gini index (left axis) and IPR (outer right axis, log scale) of W_E's Fourier power spectrum
against the training step, per_dimension solid and flattened dashed (mean ± std over seeds),
with train and test accuracy on the inner right axis: one figure, written as PNG and PDF."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import (PALETTE, accuracy_twin, combined_legend, log_seed_band, log_step_axis, new_figure,
                               positive_steps, save_figure, seed_band, third_axis)

VARIANT_STYLES = {"per_dimension": ("-", "per dimension"), "flattened": ("--", "flattened")}
GINI_COLOR, IPR_COLOR = PALETTE[0], PALETTE[1]


def plot(gini_ipr: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    twin = accuracy_twin(ax, metrics)
    ipr_axis = third_axis(ax)
    for variant, (linestyle, name) in VARIANT_STYLES.items():
        rows = positive_steps(gini_ipr[gini_ipr["variant"] == variant])
        seed_band(ax, rows, "gini", color=GINI_COLOR, linestyle=linestyle, label=f"Gini, {name}")
        log_seed_band(ipr_axis, rows, "ipr", color=IPR_COLOR, linestyle=linestyle, label=f"IPR, {name}")
    log_step_axis(ax)
    ax.set_ylabel("Gini index of the power spectrum", color=GINI_COLOR)
    ipr_axis.set_yscale("log")
    ipr_axis.set_ylabel("IPR of the power spectrum", color=IPR_COLOR)
    combined_legend(ax, twin, ipr_axis, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gini-ipr", required=True, help="results/{op}/gini_ipr.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--output", required=True, help="figure .png (a .pdf is written beside it)")
    args = parser.parse_args(argv)
    plot(pd.read_csv(args.gini_ipr), pd.read_csv(args.metrics), args.output)


if __name__ == "__main__":
    run_main(main)

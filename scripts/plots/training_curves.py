#!/usr/bin/env python
"""Grokking curves of one op: accuracy (train and test, mean ± std over seeds) and loss (geometric
mean, band of ± one std of log10 loss) against the training step, one figure each (PNG + PDF
beside it); accuracy on its whole span [0, 1], the legend above the axes."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import (ACCURACY_COLORS, combined_legend, log_seed_band, log_step_axis, new_figure,
                               positive_steps, save_figure, seed_band)


def plot_curves(metrics: pd.DataFrame, kind: str, png_path: str) -> None:
    """kind is 'acc' or 'loss'; loss is drawn on a log y axis."""
    fig, ax = new_figure()
    band = log_seed_band if kind == "loss" else seed_band
    for split in ("train", "test"):
        band(ax, positive_steps(metrics), f"{split}_{kind}", color=ACCURACY_COLORS[f"{split}_acc"],
             linestyle="--" if split == "train" else "-", label=split)
    log_step_axis(ax)
    if kind == "loss":
        ax.set_yscale("log")
        ax.set_ylabel("cross-entropy loss")
    else:
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("accuracy")
    combined_legend(ax)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--accuracy", required=True, help="PNG to write (PDF beside it)")
    parser.add_argument("--loss", required=True, help="PNG to write (PDF beside it)")
    args = parser.parse_args(argv)
    metrics = pd.read_csv(args.metrics)
    plot_curves(metrics, "acc", args.accuracy)
    plot_curves(metrics, "loss", args.loss)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""The SGLD LLC and λ_eff (thermodynamic integration) against the training step, one figure each
(mean ± std over seeds of the per-checkpoint means), with train and test accuracy on a twin axis.
Checkpoints whose every chain diverged are left out. A seed's negative estimate (its chains went
below L_n(w₀): w₀ is no minimum there, so the number estimates nothing) is left out of the mean
and marked at the foot of the axis, keyed with its count: one such value, which can be a hundred
times the estimates in size, would otherwise set the axis and flatten every estimate to zero."""

import argparse

import numpy as np
import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import BASELINE_STYLE, finish_against_step, new_figure, positive_steps, seed_band

NEGATIVE_FOOT = 0.06  # the marks of negative estimates sit this share of the axis height below zero
NEGATIVE_STYLE = {"marker": "v", "markersize": 4, "markerfacecolor": "white", "color": "black", "linestyle": "none"}


def plot(table: pd.DataFrame, column: str, label: str, ylabel: str, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    rows = positive_steps(table).dropna(subset=[column])
    negative = rows[rows[column] < 0]
    seed_band(ax, rows[rows[column] >= 0], column, label=label)
    if len(negative):
        ax.axhline(0.0, color="#9E9E9E", **BASELINE_STYLE)
        top = ax.get_ylim()[1]
        ax.set_ylim(-NEGATIVE_FOOT * top, top)
        ax.plot(negative["step"], np.full(len(negative), -NEGATIVE_FOOT * top), **NEGATIVE_STYLE, clip_on=False,
                label=f"negative estimate (w₀ no minimum), at the foot; {len(negative)} of {len(rows)}")
    finish_against_step(fig, ax, ylabel, metrics, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--llc", required=True, help="results/{op}/llc.csv")
    parser.add_argument("--flatness", required=True, help="results/{op}/flatness_slt.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--llc-output", required=True, help="LLC figure PNG (a PDF is written beside it)")
    parser.add_argument("--flatness-output", required=True, help="λ_eff figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    metrics = pd.read_csv(args.metrics)
    plot(pd.read_csv(args.llc), "llc_mean", r"SGLD $\hat\lambda$", r"local learning coefficient $\hat\lambda$",
         metrics, args.llc_output)
    plot(pd.read_csv(args.flatness), "lambda_mean", r"$\lambda_{\mathrm{eff}}$",
         r"$\lambda_{\mathrm{eff}}$ (thermodynamic integration)", metrics, args.flatness_output)


if __name__ == "__main__":
    run_main(main)

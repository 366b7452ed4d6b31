#!/usr/bin/env python
"""Calibration of the samplers: LLC against the step size ε (log-log), one line per nβ (mean ±
std over chains), one file per sampler. A × on the top edge: every chain diverged at that ε; the
dotted vertical line is the configured step size (--chosen)."""

import argparse
from pathlib import Path

import matplotlib.transforms as transforms
import numpy as np
import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import PALETTE, combined_legend, new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES, method_value


def plot_method(rows: pd.DataFrame, method: str, chosen: float | None, png_path) -> None:
    fig, ax = new_figure()
    top = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    for color, (nbeta, line) in zip(PALETTE, rows.groupby("nbeta")):
        line = line.sort_values("epsilon")
        finite = line[line["llc_mean"] > 0]
        ax.errorbar(finite["epsilon"], finite["llc_mean"], yerr=finite["llc_std"].fillna(0), color=color,
                    marker="o", markersize=3, capsize=2, label=f"$n\\beta$ = {nbeta:g}")
        lost = line[line["llc_mean"].isna()]
        ax.plot(lost["epsilon"], np.full(len(lost), 0.97), "x", color=color, transform=top, clip_on=False)
    if chosen is not None:
        ax.axvline(chosen, color="black", linestyle=":", linewidth=1.0, label=f"chosen ε = {chosen:g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"step size $\\epsilon$ ({DISPLAY_NAMES[method]})")
    ax.set_ylabel(r"LLC $\hat\lambda$")
    combined_legend(ax, loc="upper left")
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calibration", required=True, help="results/{op}/llc_calibration.csv")
    parser.add_argument("--chosen", nargs="*", type=method_value, default=[], metavar="METHOD=EPS",
                        help="the configured step size of each sampler, marked on its figure")
    parser.add_argument("--outdir", required=True, help="folder for {method}.png and .pdf")
    args = parser.parse_args(argv)
    chosen = dict(args.chosen)
    for method, rows in pd.read_csv(args.calibration).groupby("method"):
        plot_method(rows, method, chosen.get(method), Path(args.outdir) / f"{method}.png")


if __name__ == "__main__":
    run_main(main)

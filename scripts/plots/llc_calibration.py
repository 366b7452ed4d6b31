#!/usr/bin/env python
"""Calibration of the samplers: LLC against the step size ε (log ε; the LLC on a symmetric-log
axis, linear within ±0.01, since an LLC below the minibatch noise can come out negative), one
line per nβ (mean ± std over chains), one file per sampler. A × on the top edge: every chain
diverged at that ε; the dotted vertical line is the configured step size (--chosen)."""

import argparse
from pathlib import Path

import matplotlib.transforms as transforms
import numpy as np
import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import PALETTE, combined_legend, new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES, method_value

LINEAR_WITHIN = 0.01


def plot_method(rows: pd.DataFrame, method: str, chosen: float | None, png_path) -> None:
    fig, ax = new_figure()
    top = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    for k, (color, (nbeta, line)) in enumerate(zip(PALETTE, rows.groupby("nbeta"))):
        line = line.sort_values("epsilon")
        finite = line[line["llc_mean"].notna()]
        std = finite["llc_std"].fillna(0)
        ax.plot(finite["epsilon"], finite["llc_mean"], color=color, marker="o", markersize=3,
                label=f"$n\\beta$ = {nbeta:g}")
        ax.fill_between(finite["epsilon"], finite["llc_mean"] - std, finite["llc_mean"] + std, color=color,
                        alpha=0.18, lw=0)
        lost = line[line["llc_mean"].isna()]
        ax.plot(lost["epsilon"], np.full(len(lost), 0.97), "x", color=color, transform=top, clip_on=False,
                label="every chain diverged" if k == 0 and len(lost) else None)
    if chosen is not None:
        ax.axvline(chosen, color="black", linestyle=":", linewidth=1.0, label=f"configured $\\epsilon$ = {chosen:g}")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=LINEAR_WITHIN)
    lowest = rows["llc_mean"].min()
    ax.set_ylim(bottom=min(0.0, 2 * lowest) if np.isfinite(lowest) else None)
    ax.set_xlabel(f"step size $\\epsilon$ ({DISPLAY_NAMES[method]})")
    ax.set_ylabel(r"LLC $\hat\lambda$ (mean ± std over chains)")
    combined_legend(ax, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
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

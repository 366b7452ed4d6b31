#!/usr/bin/env python
"""Per-chain traces of one op's LLC estimate at the unscaled point α = β = 1, one file per sampler:
nβ (L_B(w_t) − L_B(w₀)) (the excess loss on the step's minibatch B) against the sampler step,
each chain in its own colour, the burn-in shaded grey; the dashed line is the LLC (mean over the
draws of the finite chains). On the right axis (grey, dotted), each chain's distance ‖w_t − w₀‖
from the point it started at."""

import argparse
from pathlib import Path

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd

from grokflow.errors import run_main
from grokflow.io import bool_column, read_csv
from grokflow.plotting import PALETTE, new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES

COLUMNS = ("method", "chain", "step", "loss", "baseline", "nbeta", "draw", "distance")
BURNIN_COLOR = "#DDDDDD"
DISTANCE_COLOR = "#6E6E6E"


def plot_traces(rows: pd.DataFrame, method: str, png_path) -> None:
    rows = rows.assign(scaled=rows["nbeta"] * (rows["loss"] - rows["baseline"]), draw=bool_column(rows["draw"]))
    rows = rows.sort_values(["chain", "step"])
    fig, ax = new_figure()
    first, last = rows["step"].min(), rows["step"].max()
    burnin = rows.loc[rows["draw"], "step"].min() if rows["draw"].any() else last
    if burnin > first:
        ax.axvspan(first, burnin, color=BURNIN_COLOR, lw=0, zorder=0)
    twin = ax.twinx()
    finite_draws = []
    for chain, trace in rows.groupby("chain"):
        ax.plot(trace["step"], trace["scaled"], color=PALETTE[int(chain) % len(PALETTE)], linewidth=0.9,
                label=f"chain {chain}")
        twin.plot(trace["step"], trace["distance"], color=DISTANCE_COLOR, linestyle=":", linewidth=1.0)
        if np.isfinite(trace["scaled"]).all():
            finite_draws.append(trace.loc[trace["draw"], "scaled"])
    handles, _ = ax.get_legend_handles_labels()
    if burnin > first:
        handles.append(Patch(facecolor=BURNIN_COLOR, edgecolor="#9E9E9E", linewidth=0.6, label="burn-in"))
    draws = pd.concat(finite_draws) if finite_draws else pd.Series(dtype=float)
    if len(draws):
        llc = draws.mean()
        handles.append(ax.axhline(llc, color="black", linestyle="--", linewidth=1.0,
                                  label=f"LLC $\\hat\\lambda$ = {llc:.3g} (mean over the finite chains' draws)"))
    else:
        handles.append(Patch(facecolor="none", edgecolor="none", label="no finite chain with draws: no LLC"))
    handles.append(Line2D([], [], color=DISTANCE_COLOR, linestyle=":", linewidth=1.0,
                          label=r"$\|w_t - w_0\|$ of each chain (right axis)"))
    ax.set_xlabel("sampler step $t$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"$n\\beta\\,(L_B(w_t) - L_B(w_0))$, {DISPLAY_NAMES.get(method, method)}")
    ax.set_xlim(first, last)
    twin.set_ylim(bottom=0)
    twin.set_ylabel(r"distance $\|w_t - w_0\|$", color=DISTANCE_COLOR)
    twin.tick_params(axis="y", colors=DISTANCE_COLOR)
    twin.spines["right"].set_color(DISTANCE_COLOR)
    twin.spines["top"].set_visible(False)
    twin.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", required=True, help="results/{op}/llc_traces.csv")
    parser.add_argument("--outdir", required=True, help="folder for {method}.png and .pdf")
    args = parser.parse_args(argv)
    for method, rows in read_csv(args.traces, COLUMNS).groupby("method"):
        plot_traces(rows, method, Path(args.outdir) / f"{method}.png")


if __name__ == "__main__":
    run_main(main)

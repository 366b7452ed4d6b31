#!/usr/bin/env python
"""Per-chain traces of one op's LLC estimate at the unscaled point, one file per sampler:
nβ (L_B(w_t) − L_B(w₀)) (the excess loss on the step's minibatch B) against the sampler step,
each chain in its own colour, the burn-in shaded; the dashed line is the LLC (mean over the
draws of the finite chains)."""

import argparse
from pathlib import Path

from matplotlib.ticker import MaxNLocator
import numpy as np
import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import PALETTE, combined_legend, new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES


def plot_traces(rows: pd.DataFrame, method: str, png_path) -> None:
    rows = rows.assign(scaled=rows["nbeta"] * (rows["loss"] - rows["baseline"]))
    fig, ax = new_figure()
    burnin = rows.loc[rows["draw"], "step"].min()
    ax.axvspan(rows["step"].min(), burnin, color="#EEEEEE", lw=0, label="burn-in")
    finite_draws = []
    for chain, trace in rows.groupby("chain"):
        ax.plot(trace["step"], trace["scaled"], color=PALETTE[chain % len(PALETTE)], linewidth=0.9,
                label=f"chain {chain}")
        if np.isfinite(trace["scaled"]).all():
            finite_draws.append(trace.loc[trace["draw"], "scaled"])
    if finite_draws:
        llc = pd.concat(finite_draws).mean()
        ax.axhline(llc, color="black", linestyle="--", linewidth=1.0, label=f"LLC = {llc:.3g}")
    ax.set_xlabel("sampler step $t$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(f"$n\\beta\\,(L_B(w_t) - L_B(w_0))$, {DISPLAY_NAMES[method]}")
    combined_legend(ax, loc="upper left", ncol=2)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--traces", required=True, help="results/{op}/llc_traces.csv")
    parser.add_argument("--outdir", required=True, help="folder for {method}.png and .pdf")
    args = parser.parse_args(argv)
    for method, rows in pd.read_csv(args.traces).groupby("method"):
        plot_traces(rows, method, Path(args.outdir) / f"{method}.png")


if __name__ == "__main__":
    run_main(main)

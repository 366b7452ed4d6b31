#!/usr/bin/env python
"""2-D DFT power of the layer-0 QK circuit of the number tokens over the op's group, summed over
heads (head −1), as a k1 × k2 heatmap of each cell's share of the circuit's total power on a log10
colour scale: one figure per seed and step in the CSV (seeds are never averaged: each grokks with
its own frequencies), written as OUTDIR/seed{seed}/step{step}.png and .pdf. Shares, not raw power
(weight decay shrinks the circuit by orders of magnitude over training), on one colour scale for
every figure of the op, so that steps and seeds can be compared."""

import argparse
from pathlib import Path

from matplotlib.colors import LogNorm
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.io import require_columns, table_group
from grokflow.plotting import GROUP_VARIABLES, new_figure, save_figure

LAYER, HEAD = 0, -1
COLORMAP = "plasma"
COLUMNS = ("seed", "step", "group", "layer", "head", "k1", "k2", "power")


def power_shares(spectra: pd.DataFrame) -> pd.DataFrame:
    """The rows of layer 0, head −1 (one per seed, step, k1, k2) with `share`: power / Σ power of
    the same seed and step."""
    rows = spectra[(spectra["layer"] == LAYER) & (spectra["head"] == HEAD)]
    if rows.empty:
        raise GrokflowError(f"the spectra CSV has no rows of layer {LAYER}, head {HEAD}")
    totals = rows.groupby(["seed", "step"])["power"].transform("sum")
    return rows.assign(share=rows["power"] / totals.where(totals > 0))


def shared_norm(rows: pd.DataFrame) -> LogNorm | None:
    """One log colour scale over every positive share of the op."""
    positive = rows.loc[rows["share"] > 0, "share"]
    return LogNorm(vmin=positive.min(), vmax=positive.max()) if len(positive) else None


def plot_step(step_rows: pd.DataFrame, group: str, norm, png_path) -> None:
    """One heatmap: k1 on x, k2 on y, log-scaled share of the power as colour."""
    grid = step_rows.pivot(index="k2", columns="k1", values="share").sort_index().sort_index(axis=1)
    extent = (grid.columns[0] - 0.5, grid.columns[-1] + 0.5, grid.index[0] - 0.5, grid.index[-1] + 0.5)
    fig, ax = new_figure()
    image = ax.imshow(grid.to_numpy(), origin="lower", extent=extent, cmap=COLORMAP, norm=norm,
                      interpolation="nearest")
    variable = GROUP_VARIABLES[group]
    ax.set_xlabel(f"$k_1$ over {variable} (query token)")
    ax.set_ylabel(f"$k_2$ over {variable} (key token)")
    fig.colorbar(image, ax=ax, label="share of the power $|F(k_1, k_2)|^2$")
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spectra", required=True, help="results/{op}/qk_circuit.csv")
    parser.add_argument("--outdir", required=True, help="folder for seed{seed}/step{step}.png and .pdf")
    args = parser.parse_args(argv)
    spectra = pd.read_csv(args.spectra)
    require_columns(spectra, COLUMNS, args.spectra)
    group, rows = table_group(spectra, args.spectra), power_shares(spectra)
    norm = shared_norm(rows)
    for (seed, step), step_rows in rows.groupby(["seed", "step"]):
        plot_step(step_rows, group, norm, Path(args.outdir) / f"seed{seed}" / f"step{step}.png")


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""2-D DFT power of the layer-0 QK circuit of the number tokens, summed over heads (head −1),
mean over seeds, as a k1 × k2 heatmap on a log10 colour scale: one figure per step in the CSV,
written as OUTDIR/step{step}.png and .pdf."""

import argparse
from pathlib import Path

from matplotlib.colors import LogNorm
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.plotting import new_figure, save_figure

LAYER, HEAD = 0, -1
COLORMAP = "plasma"


def mean_spectra(spectra: pd.DataFrame) -> pd.DataFrame:
    """Power of layer 0, head −1, averaged over seeds: one row per (step, k1, k2)."""
    rows = spectra[(spectra["layer"] == LAYER) & (spectra["head"] == HEAD)]
    if rows.empty:
        raise GrokflowError(f"the spectra CSV has no rows of layer {LAYER}, head {HEAD}")
    return rows.groupby(["step", "k1", "k2"], as_index=False)["power"].mean()


def plot_step(step_rows: pd.DataFrame, png_path) -> None:
    """One heatmap: k1 on x, k2 on y, log-scaled power as colour."""
    grid = step_rows.pivot(index="k2", columns="k1", values="power").sort_index().sort_index(axis=1)
    positive = grid.to_numpy()[grid.to_numpy() > 0]
    norm = LogNorm(vmin=positive.min(), vmax=positive.max()) if positive.size else None
    extent = (grid.columns[0] - 0.5, grid.columns[-1] + 0.5, grid.index[0] - 0.5, grid.index[-1] + 0.5)
    fig, ax = new_figure()
    image = ax.imshow(grid.to_numpy(), origin="lower", extent=extent, cmap=COLORMAP, norm=norm,
                      interpolation="nearest")
    ax.set_xlabel("$k_1$ (query token)")
    ax.set_ylabel("$k_2$ (key token)")
    fig.colorbar(image, ax=ax, label="power $|F(k_1, k_2)|^2$")
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spectra", required=True, help="results/{op}/qk_circuit.csv")
    parser.add_argument("--outdir", required=True, help="folder for step{step}.png and .pdf")
    args = parser.parse_args(argv)
    for step, step_rows in mean_spectra(pd.read_csv(args.spectra)).groupby("step"):
        plot_step(step_rows, Path(args.outdir) / f"step{step}.png")


if __name__ == "__main__":
    run_main(main)

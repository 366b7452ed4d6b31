#!/usr/bin/env python
"""Heatmaps of one op's LLC over the α × β rescaling grid, one file per sampler, α and β on log
axes, colormap plasma (brighter = larger LLC) on one colour scale shared by the op's samplers:
symmetric-log (linear within ±0.01), since the samplers' LLCs differ by orders of magnitude.
Grey cells: every chain diverged; a white dot: some chains diverged; a white + marks α = β = 1."""

import argparse
from pathlib import Path

import matplotlib
from matplotlib.colors import SymLogNorm
import numpy as np
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.plotting import new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES, METHODS

COLORMAP = matplotlib.colormaps["plasma"].with_extremes(bad="#BDBDBD")
LINEAR_WITHIN = 0.01

def log_edges(values: np.ndarray) -> np.ndarray:
    """Cell edges of a log-spaced axis: half a log-step beyond each value."""
    logs = np.log10(values)
    half = (logs[1] - logs[0]) / 2 if len(logs) > 1 else 0.5
    return 10 ** np.append(logs - half, logs[-1] + half)


def plot_heatmap(table: pd.DataFrame, method: str, norm: SymLogNorm, png_path) -> None:
    grid = table.pivot(index="beta", columns="alpha", values="llc_mean").sort_index().sort_index(axis=1)
    partial = table[(table["n_diverged"] > 0) & table["llc_mean"].notna()]
    fig, ax = new_figure()
    mesh = ax.pcolormesh(log_edges(grid.columns.to_numpy()), log_edges(grid.index.to_numpy()),
                         np.ma.masked_invalid(grid.to_numpy()), cmap=COLORMAP, norm=norm, shading="flat")
    ax.scatter(partial["alpha"], partial["beta"], s=6, color="white", label="some chains diverged")
    ax.plot([1.0], [1.0], marker="+", color="white", markersize=9, markeredgewidth=1.5, linestyle="none")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\alpha$ (residual-stream writers $\times\,\alpha$)")
    ax.set_ylabel(r"$\beta$ ($W_{\mathrm{in}} \times \beta$, $W_{\mathrm{out}} / \beta$)")
    fig.colorbar(mesh, ax=ax, label=f"LLC $\\hat\\lambda$, {DISPLAY_NAMES[method]}")
    save_figure(fig, png_path)


def shared_norm(tables: dict[str, pd.DataFrame]) -> SymLogNorm:
    values = pd.concat([t["llc_mean"] for t in tables.values()]).dropna()
    low, high = (values.min(), values.max()) if len(values) else (0.0, 1.0)
    return SymLogNorm(linthresh=LINEAR_WITHIN, vmin=min(low, 0.0), vmax=max(high, LINEAR_WITHIN))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", nargs="+", required=True, help="results/{op}/llc_rescaling/{method}.csv")
    parser.add_argument("--outdir", required=True, help="folder for {method}.png and .pdf")
    args = parser.parse_args(argv)
    if unknown := {Path(path).stem for path in args.tables} - set(METHODS):
        raise GrokflowError(f"tables must be named after a sampler ({', '.join(METHODS)}), got {sorted(unknown)}")
    tables = {Path(path).stem: pd.read_csv(path) for path in args.tables}
    norm = shared_norm(tables)
    for method, table in tables.items():
        plot_heatmap(table, method, norm, Path(args.outdir) / f"{method}.png")


if __name__ == "__main__":
    run_main(main)

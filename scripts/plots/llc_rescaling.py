#!/usr/bin/env python
"""Heatmaps of one op's LLC over the α × β rescaling grid under one localisation variant, one file
per sampler: α and β on log axes, colormap plasma (brighter = larger LLC) on the sampler's OWN log
colour scale (its positive finite estimates; the samplers' LLCs differ by orders of magnitude).
Grey cells: every chain diverged; hatched cells: a negative estimate (no place on a log scale); a
white dot: some chains diverged; an outlined cell (a +, between the points of an even grid; a
square, for a point off the grid): α = β = 1. All keyed in the legend below the axes."""

import argparse
from pathlib import Path

import matplotlib
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
import matplotlib.patheffects as patheffects
import numpy as np
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.io import read_csv
from grokflow.plotting import new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES, METHODS

COLUMNS = ("alpha", "beta", "llc_mean", "n_diverged", "variant")
MIN_RATIO = 2.0  # the narrowest colour range: a factor 2 (±41% around the centre)
COLORMAP = matplotlib.colormaps["plasma"]
DIVERGED_COLOR = "#A0A0A0"
NEGATIVE_STYLE = {"facecolor": "white", "edgecolor": "#404040", "hatch": "////", "linewidth": 0}
PARTIAL_STYLE = {"marker": "o", "markerfacecolor": "white", "markeredgecolor": "black", "markeredgewidth": 0.6,
                 "linestyle": "none"}
UNSCALED_STYLE = {"facecolor": "none", "edgecolor": "black", "linewidth": 1.3}
BETWEEN_STYLE = {"marker": "+", "markersize": 9, "markeredgewidth": 1.6, "color": "black", "linestyle": "none"}
VARIANT_NAMES = {"fixed": r"fixed $\gamma$", "scaled": r"scaled $\gamma/s^2$"}
FIGSIZE = (4.2, 3.2)


def read_table(path) -> pd.DataFrame:
    """One sampler's grid CSV; a GrokflowError naming the file and the columns it lacks."""
    table = read_csv(path, COLUMNS)
    if table.duplicated(["alpha", "beta"]).any():
        raise GrokflowError(f"{path} has more than one row for some (alpha, beta)")
    if not ((table["alpha"] > 0) & (table["beta"] > 0)).all():
        raise GrokflowError(f"{path}: alpha and beta must be > 0 (log axes)")
    return table


def table_variant(tables: dict[str, pd.DataFrame], paths: dict[str, str]) -> str:
    """The one localisation variant of all the tables."""
    variants = {method: set(table["variant"].astype(str)) for method, table in tables.items()}
    every = set().union(*variants.values())
    if len(every) != 1:
        where = "; ".join(f"{paths[method]}: {', '.join(sorted(found))}" for method, found in variants.items())
        raise GrokflowError(f"the tables must hold one variant, got {where}")
    return every.pop()


def grid_values(values: pd.Series) -> np.ndarray:
    """The values of a grid axis: those that occur at more than one point (a single extra point,
    such as an unscaled α = β = 1 off an even grid, does not make a row of the grid)."""
    counts = values.value_counts()
    on_grid = counts[counts > 1].index if (counts > 1).any() else counts.index
    return np.sort(on_grid.to_numpy(dtype=float))


def log_edges(values: np.ndarray) -> np.ndarray:
    """Cell edges of a log-spaced axis: halfway (in log) between neighbours, half a step beyond the ends."""
    logs = np.log10(values)
    if len(logs) == 1:
        return 10 ** np.array([logs[0] - 0.5, logs[0] + 0.5])
    middles = (logs[1:] + logs[:-1]) / 2
    return 10 ** np.concatenate([[2 * logs[0] - middles[0]], middles, [2 * logs[-1] - middles[-1]]])


def own_norm(llc: pd.Series) -> LogNorm | None:
    """A log colour scale over the positive finite estimates, spanning at least a factor
    MIN_RATIO around their geometric centre, so that an estimate that barely moves (an invariant
    sampler) is drawn in one colour rather than stretched over the whole map; None when there are
    no positive estimates."""
    positive = llc[np.isfinite(llc) & (llc > 0)]
    if positive.empty:
        return None
    low, high = positive.min(), positive.max()
    if high / low < MIN_RATIO:
        centre = np.sqrt(low * high)
        low, high = centre / np.sqrt(MIN_RATIO), centre * np.sqrt(MIN_RATIO)
    return LogNorm(vmin=low, vmax=high)


def cell(alpha_edges, beta_edges, i, j, **style) -> Rectangle:
    """The rectangle of grid cell (β index i, α index j)."""
    return Rectangle((alpha_edges[j], beta_edges[i]), alpha_edges[j + 1] - alpha_edges[j],
                     beta_edges[i + 1] - beta_edges[i], **style)


def plot_heatmap(table: pd.DataFrame, method: str, variant: str, png_path) -> None:
    llc = table["llc_mean"]
    diverged, negative = llc.isna(), llc <= 0
    partial = (table["n_diverged"] > 0) & ~diverged
    alphas, betas = grid_values(table["alpha"]), grid_values(table["beta"])
    on_grid = table["alpha"].isin(alphas) & table["beta"].isin(betas)
    alpha_edges, beta_edges = log_edges(alphas), log_edges(betas)
    norm = own_norm(llc)
    name = f"{DISPLAY_NAMES[method]}, {VARIANT_NAMES.get(variant, variant)}"
    fig, ax = new_figure(FIGSIZE)
    handles = []

    grid = table[on_grid].pivot(index="beta", columns="alpha", values="llc_mean").reindex(index=betas, columns=alphas)
    values = grid.to_numpy(dtype=float)
    if norm is not None:
        mesh = ax.pcolormesh(alpha_edges, beta_edges, np.ma.masked_where(~(values > 0), values), cmap=COLORMAP,
                             norm=norm, shading="flat")
        colorbar = fig.colorbar(mesh, ax=ax)
        colorbar.set_label(f"LLC $\\hat\\lambda$, {name}")
    column, row = {a: j for j, a in enumerate(alphas)}, {b: i for i, b in enumerate(betas)}
    for _, point in table[on_grid & (diverged | negative)].iterrows():
        style = {"facecolor": DIVERGED_COLOR, "linewidth": 0} if np.isnan(point["llc_mean"]) else NEGATIVE_STYLE
        ax.add_patch(cell(alpha_edges, beta_edges, row[point["beta"]], column[point["alpha"]], **style))
    if diverged.any():
        handles.append(Patch(facecolor=DIVERGED_COLOR, label="every chain diverged"))
    if negative.any():
        handles.append(Patch(**NEGATIVE_STYLE, label="negative estimate" if (llc < 0)[negative].all()
                             else r"estimate $\leq$ 0"))

    # points off the grid (an unscaled α = β = 1 beside an even grid): squares in their cell's colour
    for _, point in table[~on_grid].iterrows():
        value = point["llc_mean"]
        face = DIVERGED_COLOR if np.isnan(value) else "white" if value <= 0 else COLORMAP(norm(value))
        ax.plot(point["alpha"], point["beta"], marker="s", markersize=7, markerfacecolor=face,
                markeredgecolor="black", markeredgewidth=1.3, linestyle="none", zorder=4,
                path_effects=[patheffects.withStroke(linewidth=3.0, foreground="white")])

    unscaled = np.isclose(table["alpha"], 1.0) & np.isclose(table["beta"], 1.0)
    if (unscaled & on_grid).any():
        point = table[unscaled & on_grid].iloc[0]
        i, j = row[point["beta"]], column[point["alpha"]]
        outline = cell(alpha_edges, beta_edges, i, j, **UNSCALED_STYLE, zorder=5)
        outline.set_path_effects([patheffects.withStroke(linewidth=3.0, foreground="white")])
        ax.add_patch(outline)
    if unscaled.any():
        handles.append(Patch(**UNSCALED_STYLE, label=r"$\alpha = \beta = 1$ (unscaled)"))
    elif alphas[0] <= 1.0 <= alphas[-1] and betas[0] <= 1.0 <= betas[-1]:  # an even grid: 1 between points
        stroke = [patheffects.withStroke(linewidth=3.2, foreground="white")]
        ax.plot([1.0], [1.0], zorder=6, path_effects=stroke, **BETWEEN_STYLE)
        handles.append(Line2D([], [], **BETWEEN_STYLE, label=r"$\alpha = \beta = 1$ (between grid points)"))

    if partial.any():
        size = float(np.clip(120 / max(len(alphas), len(betas)), 2.0, 5.0))
        ax.plot(table.loc[partial, "alpha"], table.loc[partial, "beta"], markersize=size, zorder=6, **PARTIAL_STYLE)
        handles.append(Line2D([], [], markersize=5, **PARTIAL_STYLE, label="some chains diverged"))

    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(alpha_edges[0], alpha_edges[-1])
    ax.set_ylim(beta_edges[0], beta_edges[-1])
    ax.set_xlabel(r"$\alpha$ (residual-stream writers $\times\,\alpha$)")
    ax.set_ylabel(r"$\beta$ ($W_{\mathrm{in}} \times \beta$, $W_{\mathrm{out}} / \beta$)")
    title = None if norm is not None else f"{name}: no positive estimate"  # no colour bar to name them
    if handles or title:
        ax.legend(handles=handles, title=title, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2,
                  handlelength=1.4, handleheight=1.2)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tables", nargs="+", required=True,
                        help="results/{op}/llc_rescaling/{variant}/{method}.csv of one op and one variant")
    parser.add_argument("--outdir", required=True, help="folder for {method}.png and .pdf")
    args = parser.parse_args(argv)
    paths = {Path(path).stem: path for path in args.tables}
    if unknown := set(paths) - set(METHODS):
        raise GrokflowError(f"tables must be named after a sampler ({', '.join(METHODS)}), got {sorted(unknown)}")
    if len(paths) != len(args.tables):
        raise GrokflowError("give one table per sampler")
    tables = {method: read_table(path) for method, path in paths.items()}
    variant = table_variant(tables, paths)
    for method, table in tables.items():
        plot_heatmap(table, method, variant, Path(args.outdir) / f"{method}.png")


if __name__ == "__main__":
    run_main(main)

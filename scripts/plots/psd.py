#!/usr/bin/env python
"""Fourier power spectrum of the number embeddings over training, one figure per seed (each seed
grokks with its own frequencies, so seeds are never averaged): a frequency × step heatmap of
each frequency's share of the power (frequency 0 included), over the op's group (x for x+y and
x−y, log_g x for x×y and x÷y); step 0 is dropped for the log10 step axis. Written as
OUTDIR/seed{seed}.png and .pdf, every seed on one colour range (0 to the largest share of the op),
so that the seeds' files compare."""

import argparse
from pathlib import Path

from matplotlib.colors import Normalize
import numpy as np
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.io import require_columns, table_group
from grokflow.plotting import frequency_label, log_step_axis, new_figure, positive_steps, save_figure

COLORMAP = "plasma"
COLUMNS = ("seed", "step", "group", "frequency", "power_fraction")


def geometric_edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis: geometric midpoints between steps, half a step-ratio outside the
    ends (a factor √10 either side of a single step)."""
    if len(steps) == 1:
        return steps[0] * np.array([10**-0.5, 10**0.5])
    middles = np.sqrt(steps[1:] * steps[:-1])
    first, last = steps[0] ** 2 / middles[0], steps[-1] ** 2 / middles[-1]
    return np.concatenate([[first], middles, [last]])


def shared_norm(psd: pd.DataFrame) -> Normalize:
    """One linear colour scale for every seed of the op: 0 to the largest power share."""
    return Normalize(vmin=0, vmax=float(psd["power_fraction"].max()))


def plot_seed(rows: pd.DataFrame, group: str, norm: Normalize, png_path) -> None:
    """One heatmap of a seed's power fractions: frequency against step."""
    grid = rows.pivot_table(index="frequency", columns="step", values="power_fraction")
    steps, frequencies = grid.columns.to_numpy(dtype=float), grid.index.to_numpy(dtype=float)
    fig, ax = new_figure()
    mesh = ax.pcolormesh(geometric_edges(steps), np.append(frequencies - 0.5, frequencies[-1] + 0.5),
                         grid.to_numpy(), cmap=COLORMAP, norm=norm, shading="flat")
    log_step_axis(ax)
    ax.set_ylabel(frequency_label(group))
    fig.colorbar(mesh, ax=ax, label="share of the embedding's Fourier power")
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--psd", required=True, help="results/{op}/psd.csv")
    parser.add_argument("--outdir", required=True, help="folder for seed{seed}.png and .pdf")
    args = parser.parse_args(argv)
    psd = pd.read_csv(args.psd)
    require_columns(psd, COLUMNS, args.psd)
    group = table_group(psd, args.psd)
    psd = positive_steps(psd)
    if psd.empty:
        raise GrokflowError(f"{args.psd} has no rows with step > 0")
    norm = shared_norm(psd)
    for seed, rows in psd.groupby("seed"):
        plot_seed(rows, group, norm, Path(args.outdir) / f"seed{seed}.png")


if __name__ == "__main__":
    run_main(main)

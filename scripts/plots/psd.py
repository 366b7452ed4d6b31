#!/usr/bin/env python
"""Fourier power spectrum of the number embeddings over training: a frequency × step heatmap of
each frequency's share of the power (frequency 0 included), mean over seeds; step 0 is dropped
for the log10 step axis."""

import argparse

from matplotlib.colors import Normalize
import numpy as np
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.plotting import log_step_axis, new_figure, positive_steps, save_figure

COLORMAP = "plasma"


def geometric_edges(steps: np.ndarray) -> np.ndarray:
    """Cell edges on a log axis: geometric midpoints between steps, half a step-ratio outside the
    ends (a factor √10 either side of a single step)."""
    if len(steps) == 1:
        return steps[0] * np.array([10**-0.5, 10**0.5])
    middles = np.sqrt(steps[1:] * steps[:-1])
    first, last = steps[0] ** 2 / middles[0], steps[-1] ** 2 / middles[-1]
    return np.concatenate([[first], middles, [last]])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--psd", required=True, help="results/{op}/psd.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    psd = positive_steps(pd.read_csv(args.psd))
    if psd.empty:
        raise GrokflowError(f"{args.psd} has no rows with step > 0")
    grid = psd.pivot_table(index="frequency", columns="step", values="power_fraction", aggfunc="mean")
    steps, frequencies = grid.columns.to_numpy(dtype=float), grid.index.to_numpy(dtype=float)
    fig, ax = new_figure()
    mesh = ax.pcolormesh(geometric_edges(steps), np.append(frequencies - 0.5, frequencies[-1] + 0.5),
                         grid.to_numpy(), cmap=COLORMAP, norm=Normalize(vmin=0), shading="flat")
    log_step_axis(ax)
    ax.set_ylabel("frequency $k$")
    fig.colorbar(mesh, ax=ax, label="share of the embedding's Fourier power")
    save_figure(fig, args.output)


if __name__ == "__main__":
    run_main(main)

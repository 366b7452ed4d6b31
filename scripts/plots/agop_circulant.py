#!/usr/bin/env python
"""AGOP figures against the training step (mean ± std over seeds), with train and test accuracy
on a twin axis: the effective rank of the whole input-embedding AGOP over the train and the test
samples (--erank-output), and the circulant deviation of W_E's Gram matrix and of the train AGOP's
x block pulled back to the numbers (--circulant-output). Each is written as PNG and PDF.
Natural bounds for the y range (grokflow.plotting.meaningful_ylim): the effective rank is ≥ 1 (its
axis always starts there, as in every effective-rank figure), a circulant deviation ≥ 0 (0 for a
circulant matrix)."""

import argparse
import math

import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.plotting import finish_against_step, new_figure, positive_steps, seed_band


def rows_of(agop: pd.DataFrame, split: str, block: str) -> pd.DataFrame:
    """The rows of one split and block with step > 0; an error if there are none."""
    rows = positive_steps(agop[(agop["split"] == split) & (agop["block"] == block)])
    if rows.empty:
        raise GrokflowError(f"the AGOP table has no rows with split {split!r}, block {block!r} and step > 0")
    return rows


def plot_erank(agop: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    for split in ("train", "test"):
        seed_band(ax, rows_of(agop, split, "full"), "agop_erank", label=f"AGOP erank, {split} samples")
    finish_against_step(fig, ax, "effective rank of the AGOP", metrics, png_path, span=(1.0, None),
                        flat_share=math.inf)


def plot_circulant(agop: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    rows = rows_of(agop, "train", "x")
    seed_band(ax, rows, "gram_circulant_deviation", label=r"Gram $EE^\top$")
    seed_band(ax, rows, "agop_circulant_deviation", label=r"$E\,\mathrm{AGOP}_{xx}E^\top$ (train)")
    finish_against_step(fig, ax, "circulant deviation", metrics, png_path, span=(0.0, None))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agop", required=True, help="results/{op}/agop_circulant.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--erank-output", required=True, help="PNG of the AGOP effective rank (PDF beside)")
    parser.add_argument("--circulant-output", required=True, help="PNG of the circulant deviations (PDF beside)")
    args = parser.parse_args(argv)
    agop, metrics = pd.read_csv(args.agop), pd.read_csv(args.metrics)
    plot_erank(agop, metrics, args.erank_output)
    plot_circulant(agop, metrics, args.circulant_output)


if __name__ == "__main__":
    run_main(main)

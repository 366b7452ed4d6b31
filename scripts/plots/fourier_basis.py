#!/usr/bin/env python
"""Fourier-basis sparsity of W_E and W_U against the training step (mean ± std over seeds),
with train and test accuracy on a twin axis: the ℓ1/ℓ2 ratio of the coefficient norms in one
figure, the energy share of the top-k frequencies in another, each written as PNG and PDF.

Y ranges by meaning (grokflow.plotting.meaningful_ylim): ℓ1/ℓ2 lies in [1, √n] (n the group's
order; a random embedding sits just under √n), the top-k share in [0, 1]; the value at step 0 (the
random initialisation, mean over seeds and both matrices) is drawn as a dotted reference, so a
curve that stays at its random level reads as such."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.metrics.fourier_basis import MATRICES
from grokflow.plotting import (finish_against_step, initial_value_line, math_name, new_figure, positive_steps,
                               seed_band)

FIGURES = {"l1_l2_ratio": "ℓ1/ℓ2 of Fourier coefficients (lower = sparser)",
           "top_k_energy": "energy share of the top-k frequencies"}
# natural bounds: ℓ1/ℓ2 of n coefficient norms is in [1, √n] (n is not in the table); a share in [0, 1]
SPANS = {"l1_l2_ratio": (1.0, None), "top_k_energy": (0.0, 1.0)}


def plot(fourier: pd.DataFrame, metrics: pd.DataFrame, column: str, png_path) -> None:
    fig, ax = new_figure()
    for matrix in MATRICES:
        seed_band(ax, positive_steps(fourier[fourier["matrix"] == matrix]), column, label=math_name(matrix))
    initial_value_line(ax, fourier, column)
    finish_against_step(fig, ax, FIGURES[column], metrics, png_path, span=SPANS[column])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fourier", required=True, help="results/{op}/fourier_basis.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--sparsity-output", required=True, help="ℓ1/ℓ2 figure .png (+ .pdf beside)")
    parser.add_argument("--energy-output", required=True, help="top-k energy figure .png (+ .pdf beside)")
    args = parser.parse_args(argv)
    fourier, metrics = pd.read_csv(args.fourier), pd.read_csv(args.metrics)
    plot(fourier, metrics, "l1_l2_ratio", args.sparsity_output)
    plot(fourier, metrics, "top_k_energy", args.energy_output)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Figures of the LoRA rank demo's matrices: the normalised singular spectrum σᵢ/σ₁ of each W₀
(log scale), and one heatmap per matrix of rank_demo.py's --matrices file, written as
{out-dir}/{source}_{matrix}.png (+ PDF), colour scale symmetric about 0."""

import argparse
from pathlib import Path

import pandas as pd
from safetensors.torch import load_file

from grokflow.errors import run_main
from grokflow.plotting import new_figure, save_figure

SOURCE_LABELS = {"gaussian": r"Gaussian $W_0$", "grokked": r"grokked $W_0$"}
MATRIX_LABELS = {"W0": "$W_0$", "delta": r"$\Delta W$", "W": r"$W_0+\Delta W$", "truncated": "best rank-$r$ $W_0$"}


def plot_spectrum(spectrum: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    for source, rows in spectrum.groupby("source", sort=False):
        values = rows["singular_value"]
        ax.plot(rows["index"], values / values.max(), label=SOURCE_LABELS.get(source, source))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("index $i$")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$")
    ax.legend()
    save_figure(fig, path)


def plot_heatmap(matrix, label: str, path) -> None:
    limit = float(matrix.abs().quantile(0.99)) or 1.0
    fig, ax = new_figure((3.6, 3.0))
    image = ax.imshow(matrix.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    ax.set_xlabel("output index")
    ax.set_ylabel("input index")
    fig.colorbar(image, ax=ax, label=f"entry of {label}")
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spectrum-csv", required=True, help="rank_demo.py's singular values")
    parser.add_argument("--spectrum-output", required=True, help="spectrum figure PNG (a PDF beside it)")
    parser.add_argument("--matrices", required=True, help="rank_demo.py's safetensors of matrices")
    parser.add_argument("--out-dir", required=True, help="folder of the heatmaps")
    args = parser.parse_args(argv)
    plot_spectrum(pd.read_csv(args.spectrum_csv), args.spectrum_output)
    for name, matrix in load_file(args.matrices).items():
        source, _, kind = name.partition(".")
        plot_heatmap(matrix, MATRIX_LABELS[kind], Path(args.out_dir) / f"{source}_{kind}.png")


if __name__ == "__main__":
    run_main(main)

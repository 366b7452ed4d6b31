#!/usr/bin/env python
"""Figures of the LoRA rank demo's matrices: the normalised singular spectrum σᵢ/σ₁ of each W₀
(log scale), and one heatmap per matrix of rank_demo.py's --matrices file, written as
{out-dir}/{source}_{matrix}.png (+ PDF).

The four heatmaps of one source (W₀, ΔW, W₀ + ΔW, best rank-r W₀) share one colour scale, symmetric
about 0 on a diverging map: W₀'s (± its largest |entry|), so that W₀ and its truncation show
their structure on one scale. A matrix whose entries run past it (the random ΔW, and W₀ + ΔW,
which ΔW dominates) is drawn clipped, the colour bar's arrows and label saying so and by how much.
"""

import argparse
from pathlib import Path

import pandas as pd
from safetensors.torch import load_file
import torch

from grokflow.errors import run_main
from grokflow.plotting import new_figure, save_figure

SOURCE_LABELS = {"gaussian": r"Gaussian $W_0$", "grokked": r"grokked $W_0$"}
MATRIX_LABELS = {"W0": "$W_0$", "delta": r"$\Delta W$", "W": r"$W_0+\Delta W$", "truncated": "best rank-{rank} $W_0$"}
DIVERGING = "RdBu_r"  # signed data, as the project's other signed heatmaps (connectivity, low-rank decay)
LEGEND = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.02), "ncol": 2}


def plot_spectrum(spectrum: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    for source, rows in spectrum.groupby("source", sort=False):
        values = rows["singular_value"]
        ax.plot(rows["index"], values / values.max(), label=SOURCE_LABELS.get(source, source))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("index $i$")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$")
    ax.spines["right"].set_visible(False)
    ax.legend(**LEGEND)
    save_figure(fig, path)


def magnitude(matrix) -> float:
    """The largest |entry| of a matrix."""
    return float(matrix.abs().max())


def numerical_rank(matrix, rtol: float = 1e-4) -> int:
    """The rank of a matrix stored in float32: singular values above rtol·σ₁ (float32 rounding
    leaves the others at ~1e-7·σ₁)."""
    return int(torch.linalg.matrix_rank(matrix.double(), rtol=rtol))


def row_limits(matrices: dict) -> dict[str, float]:
    """One symmetric colour limit per source, shared by all of its heatmaps: W₀'s largest |entry|
    (the largest of the source's matrices if it has no W0; 1 if that is 0)."""
    by_source: dict[str, dict] = {}
    for name, matrix in matrices.items():
        source, _, kind = name.partition(".")
        by_source.setdefault(source, {})[kind] = matrix
    return {source: (magnitude(kinds["W0"]) if "W0" in kinds else max(map(magnitude, kinds.values()))) or 1.0
            for source, kinds in by_source.items()}


def colorbar_label(label: str, matrix, limit: float) -> tuple[str, bool]:
    """The colour bar's label and whether the matrix is drawn clipped (entries past ±limit); a
    clipped one says how far its entries run past the shared scale."""
    reach = magnitude(matrix)
    if reach > limit * (1 + 1e-6):
        ratio = reach / limit
        times = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.2g}"
        return f"entry of {label}, clipped to $W_0$'s scale\n(|entries| up to {reach:.2g}, {times}× it)", True
    return f"entry of {label}\n($W_0$'s scale, shared by its 4 heatmaps)", False


def plot_heatmap(matrix, label: str, limit: float, path) -> None:
    """One heatmap on the shared symmetric scale ±limit."""
    fig, ax = new_figure((3.6, 3.0))
    image = ax.imshow(matrix.numpy(), cmap=DIVERGING, vmin=-limit, vmax=limit, aspect="auto", interpolation="nearest")
    ax.set_xlabel("output index")
    ax.set_ylabel("input index")
    text, clipped = colorbar_label(label, matrix, limit)
    fig.colorbar(image, ax=ax, label=text, extend="both" if clipped else "neither")
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spectrum-csv", required=True, help="rank_demo.py's singular values")
    parser.add_argument("--spectrum-output", required=True, help="spectrum figure PNG (a PDF beside it)")
    parser.add_argument("--matrices", required=True, help="rank_demo.py's safetensors of matrices")
    parser.add_argument("--out-dir", required=True, help="folder of the heatmaps")
    args = parser.parse_args(argv)
    plot_spectrum(pd.read_csv(args.spectrum_csv), args.spectrum_output)
    matrices = load_file(args.matrices)
    limits = row_limits(matrices)
    for name, matrix in matrices.items():
        source, _, kind = name.partition(".")
        label = MATRIX_LABELS[kind].format(rank=numerical_rank(matrix) if kind == "truncated" else None)
        plot_heatmap(matrix, label, limits[source], Path(args.out_dir) / f"{source}_{kind}.png")


if __name__ == "__main__":
    run_main(main)

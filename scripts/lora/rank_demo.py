#!/usr/bin/env python
"""LoRA rank demo, with its extensions.

For a Gaussian W₀ ~ N(0, 1) of size d × d and, when --checkpoint is given, a structured W₀ (a
weight of a grokked checkpoint), and for each rank r: the Frobenius error ‖W₀ − (W₀ + ΔW)‖_F of
the demo's untrained update ΔW = (α/r) B A (A, B ~ N(0, 1)), beside the error of the best rank-r
approximation, √(Σ_{i>r} σᵢ²). Prints the table; writes it as CSV, W₀'s singular values as CSV,
the matrices the heatmaps show (W0, delta, W = W0 + delta, truncated = best rank-r approximation
at --heatmap-rank) as safetensors, and the figure lora_rank_error.png (+ PDF).
--pseudo-code prints the LoRALinear forward pass instead.
"""

import argparse

import pandas as pd
from safetensors.torch import save_file
import torch

from grokflow.arguments import positive_int
from grokflow.checkpoints import load_checkpoint
from grokflow.errors import GrokflowError, run_main
from grokflow.io import atomic_path, write_csv
from grokflow.lora.adapters import PSEUDO_CODE, LoraConfig, as_matrix, random_update, svd_truncation_error, truncated
from grokflow.plotting import new_figure, save_figure
from grokflow.settings import LoraDemoSettings

SOURCE_LABELS = {"gaussian": r"Gaussian $W_0$", "grokked": r"grokked $W_0$"}
DEFAULTS = LoraDemoSettings()


def structured_weight(checkpoint, name: str) -> torch.Tensor:
    """A checkpoint tensor as an (in × out) matrix, in float64."""
    tensors, _ = load_checkpoint(checkpoint)
    if name not in tensors:
        raise GrokflowError(f"{checkpoint} has no tensor {name!r}; it has {', '.join(sorted(tensors))}")
    return as_matrix(name.rpartition(".")[2], tensors[name]).double()


def rank_errors(source: str, weight: torch.Tensor, config: LoraConfig, generator) -> list[dict]:
    singular_values = torch.linalg.svdvals(weight)
    norm = float(weight.norm())
    return [{"source": source, "rank": rank,
             "lora_error": float(random_update(weight.shape, rank, config.alpha, generator).norm()),
             "svd_error": svd_truncation_error(singular_values, rank), "weight_norm": norm}
            for rank in config.rank_candidates]


def heatmap_matrices(source: str, weight: torch.Tensor, rank: int, alpha: float, generator) -> dict:
    delta = random_update(weight.shape, rank, alpha, generator)
    return {f"{source}.W0": weight, f"{source}.delta": delta, f"{source}.W": weight + delta,
            f"{source}.truncated": truncated(weight, rank)}


def plot_errors(table: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    gaussian = table[table["source"] == "gaussian"]
    ax.plot(gaussian["rank"], gaussian["lora_error"] / gaussian["weight_norm"], marker="o",
            label=r"random $\Delta W=\frac{\alpha}{r}BA$, Gaussian $W_0$")
    for source, rows in table.groupby("source", sort=False):
        ax.plot(rows["rank"], rows["svd_error"] / rows["weight_norm"], marker="s", linestyle="--",
                label=f"best rank $r$, {SOURCE_LABELS[source]}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("rank $r$")
    ax.set_ylabel(r"error / $\|W_0\|_F$")
    ax.spines["right"].set_visible(False)  # no right axis
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=1)
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pseudo-code", action="store_true", help="print the LoRALinear forward and exit")
    parser.add_argument("--hidden-size", type=positive_int, default=DEFAULTS.hidden_size, help="d of the Gaussian W₀")
    parser.add_argument("--ranks", type=positive_int, nargs="+", default=DEFAULTS.ranks)
    parser.add_argument("--alpha", type=float, default=DEFAULTS.alpha, help="LoRA α (scale α/r)")
    parser.add_argument("--heatmap-rank", type=positive_int, default=DEFAULTS.heatmap_rank,
                        help="rank of the heatmaps' ΔW and truncation")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--checkpoint", help="a grokked checkpoint whose weight is the structured W₀")
    parser.add_argument("--weight", default=DEFAULTS.weight,
                        help=f"that weight's tensor name (default {DEFAULTS.weight})")
    parser.add_argument("--csv", help="rank error table to write")
    parser.add_argument("--spectrum-csv", help="singular values of each W₀ to write")
    parser.add_argument("--matrices", help="safetensors file of the heatmaps' matrices to write")
    parser.add_argument("--figure", help="lora_rank_error.png to write (a PDF beside it)")
    args = parser.parse_args(argv)
    if args.pseudo_code:
        print(PSEUDO_CODE)
        return
    config = LoraConfig(args.hidden_size, tuple(args.ranks), args.alpha)
    generator = torch.Generator().manual_seed(args.seed)
    weights = {"gaussian": torch.randn(config.hidden_size, config.hidden_size, generator=generator, dtype=torch.float64)}
    if args.checkpoint:
        weights["grokked"] = structured_weight(args.checkpoint, args.weight)
    table = pd.DataFrame([row for source, weight in weights.items()
                          for row in rank_errors(source, weight, config, generator)])
    print(table.to_string(index=False))
    if args.csv:
        write_csv(table, args.csv)
    if args.spectrum_csv:
        write_csv(pd.DataFrame([{"source": source, "index": index + 1, "singular_value": float(value)}
                                for source, weight in weights.items()
                                for index, value in enumerate(torch.linalg.svdvals(weight))]), args.spectrum_csv)
    if args.matrices:
        matrices = {}
        for source, weight in weights.items():
            matrices |= heatmap_matrices(source, weight, args.heatmap_rank, config.alpha, generator)
        with atomic_path(args.matrices) as tmp:
            save_file({name: m.float().contiguous() for name, m in matrices.items()}, str(tmp))
    if args.figure:
        plot_errors(table, args.figure)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Figures of the table-connectivity study: the local and global attention masks, the positional
Gram matrix P Pᵀ of a trained low-rank and dense model, validation accuracy against step for
every model and depth, and final validation accuracy by hop distance between s and t."""

import argparse
from pathlib import Path

from matplotlib.colors import ListedColormap
import pandas as pd
from safetensors.torch import load_file

from grokflow.connectivity.model import ConnectivityTransformer, NetConfig, global_mask, local_mask
from grokflow.connectivity.task import DISCONNECTED, TaskConfig
from grokflow.errors import run_main
from grokflow.plotting import PALETTE, new_figure, save_figure

FIGURES = ("mask_local", "mask_global", "positional_gram_lowrank", "positional_gram_dense", "accuracy",
           "accuracy_by_hop")
MODEL_LABELS = {"lowrank": "low-rank + masks", "dense": "dense"}


def plot_mask(mask, path) -> None:
    fig, ax = new_figure((3.4, 3.0))
    ax.imshow(mask.numpy(), cmap=ListedColormap(["#FFFFFF", PALETTE[0]]), interpolation="nearest")
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    ax.text(1.0, 1.02, f"{int(mask.sum())} of {mask.numel()} pairs", transform=ax.transAxes, ha="right", fontsize=8)
    save_figure(fig, path)


def trained_positions(weights_path, task: TaskConfig, lowrank: bool):
    """P (L, d) of a trained model."""
    tensors = load_file(weights_path)
    d_model = tensors["head.weight"].shape[1]
    depth = len({name.split(".")[1] for name in tensors if name.startswith("blocks.")})
    model = ConnectivityTransformer(task, NetConfig(d_model, 1, depth, lowrank=lowrank))
    model.load_state_dict(tensors)
    return model.positions().detach()


def plot_gram(positions, path) -> None:
    gram = positions @ positions.T
    limit = float(gram.abs().max()) or 1.0
    fig, ax = new_figure((3.6, 3.0))
    image = ax.imshow(gram.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xlabel("position")
    ax.set_ylabel("position")
    fig.colorbar(image, ax=ax, label=r"$P P^\top$")
    save_figure(fig, path)


def model_lines(table: pd.DataFrame):
    """(label, colour, linestyle, rows) per (model, depth)."""
    depths = sorted(table["depth"].unique())
    for (model, depth), rows in table.groupby(["model", "depth"]):
        style = "-" if model == "lowrank" else "--"
        yield f"{MODEL_LABELS[model]}, {depth} layers", PALETTE[depths.index(depth)], style, rows


def plot_curves(curves: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    for label, color, style, rows in model_lines(curves):
        ax.plot(rows["step"], rows["val_acc"], color=color, linestyle=style, label=label)
    ax.axhline(0.5, color="#9E9E9E", linewidth=0.8, linestyle=":")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0.4, 1.02)
    ax.legend(loc="best")
    save_figure(fig, path)


def plot_by_hop(by_hop: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    hops = sorted(h for h in by_hop["hop"].unique() if h != DISCONNECTED)
    positions = {hop: index for index, hop in enumerate([*hops, DISCONNECTED])}
    for label, color, style, rows in model_lines(by_hop):
        rows = rows.assign(x=rows["hop"].map(positions)).sort_values("x")
        ax.plot(rows["x"], rows["accuracy"], color=color, linestyle=style, marker="o", label=label)
    ax.set_xticks(list(positions.values()), [*map(str, hops), "not\nconnected"])
    ax.axhline(0.5, color="#9E9E9E", linewidth=0.8, linestyle=":")
    ax.set_xlabel("hop distance between $s$ and $t$")
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best")
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--V", type=int, required=True)
    parser.add_argument("--C", type=int, required=True)
    parser.add_argument("--n-dims", type=int, required=True)
    parser.add_argument("--training", required=True, help="combined learning curves CSV")
    parser.add_argument("--by-hop", required=True, help="combined accuracy-by-hop CSV")
    parser.add_argument("--lowrank-weights", required=True)
    parser.add_argument("--dense-weights", required=True)
    parser.add_argument("--out-dir", required=True, help=f"folder of the figures: {', '.join(FIGURES)} (.png, .pdf)")
    args = parser.parse_args(argv)
    task = TaskConfig(args.V, args.C, n_dims=args.n_dims)
    out = Path(args.out_dir)
    plot_mask(local_mask(args.V, args.C), out / "mask_local.png")
    plot_mask(global_mask(args.V, args.C), out / "mask_global.png")
    plot_gram(trained_positions(args.lowrank_weights, task, lowrank=True), out / "positional_gram_lowrank.png")
    plot_gram(trained_positions(args.dense_weights, task, lowrank=False), out / "positional_gram_dense.png")
    plot_curves(pd.read_csv(args.training), out / "accuracy.png")
    plot_by_hop(pd.read_csv(args.by_hop), out / "accuracy_by_hop.png")


if __name__ == "__main__":
    run_main(main)

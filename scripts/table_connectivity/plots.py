#!/usr/bin/env python
"""Figures of the table-connectivity study: the local and global attention masks, the positional
Gram matrix P Pᵀ of a trained low-rank and dense model (one colour range for both), validation
accuracy against step (log axis) for every model and depth with the chance level, and final
validation accuracy by hop distance between s and t, against the accuracy of the constant
majority answer at each hop distance (a model that always answers "connected" scores 1 at every
finite hop distance and 0 on the pairs that are not connected)."""

import argparse
from pathlib import Path

from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
import numpy as np
import pandas as pd
from safetensors.torch import load_file

from grokflow.table_connectivity.model import ConnectivityTransformer, NetConfig, global_mask, local_mask
from grokflow.table_connectivity.task import DISCONNECTED, TaskConfig, constant_answer
from grokflow.errors import run_main
from grokflow.plotting import (PALETTE, baseline_line, decade_limits, log_step_axis, new_figure, positive_steps,
                               save_figure)
from grokflow.settings import TableConnectivitySettings, TableConnectivitySizes

FIGURES = ("mask_local", "mask_global", "positional_gram_lowrank", "positional_gram_dense", "accuracy",
           "accuracy_by_hop")
MODEL_LABELS = {"lowrank": "low-rank + masks", "dense": "dense"}
MARKERS = ("o", "s", "^", "D", "v", "P")
CHANCE = 0.5
REFERENCE_COLOR = "#6E6E6E"
DIVERGING = "RdBu_r"  # signed data, as in the project's other signed heatmaps


def plot_mask(mask, path) -> None:
    fig, ax = new_figure((3.4, 3.0))
    ax.imshow(mask.numpy(), cmap=ListedColormap(["#FFFFFF", PALETTE[0]]), interpolation="nearest")
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    ax.legend(handles=[Patch(facecolor=PALETTE[0], label=f"attended: {int(mask.sum())} of {mask.numel()} pairs"),
                       Patch(facecolor="#FFFFFF", edgecolor="#9E9E9E", linewidth=0.6, label="masked")],
              loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
    save_figure(fig, path)


def trained_positions(weights_path, task: TaskConfig, lowrank: bool):
    """P (L, d) of a trained model."""
    tensors = load_file(weights_path)
    d_model = tensors["head.weight"].shape[1]
    depth = len({name.split(".")[1] for name in tensors if name.startswith("blocks.")})
    # The local layers' count sets masks (buffers), not weights: any value rebuilds the positions.
    model = ConnectivityTransformer(task, NetConfig(d_model, 1, depth, TableConnectivitySettings.local_layers,
                                                    lowrank=lowrank))
    model.load_state_dict(tensors)
    return model.positions().detach()


def plot_gram(positions, path, limit: float) -> None:
    """P Pᵀ on the colour range ±limit (one range for both models, so that the two files compare)."""
    gram = positions @ positions.T
    fig, ax = new_figure((3.6, 3.0))
    image = ax.imshow(gram.numpy(), cmap=DIVERGING, vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_xlabel("position")
    ax.set_ylabel("position")
    fig.colorbar(image, ax=ax, label=r"$P P^\top$ (same colour range for both models)")
    save_figure(fig, path)


def gram_limit(*positions) -> float:
    """The largest |P Pᵀ| entry over every model: the shared colour range of the Gram figures."""
    return max(float((p @ p.T).abs().max()) for p in positions) or 1.0


def model_lines(table: pd.DataFrame):
    """(label, colour, linestyle, marker, rows) per (model, depth): a colour and a marker of its own
    for each, the line solid for the low-rank model and dashed for the dense one."""
    for index, ((model, depth), rows) in enumerate(table.groupby(["model", "depth"])):
        style = "-" if model == "lowrank" else "--"
        yield (f"{MODEL_LABELS[model]}, {depth} layers", PALETTE[index % len(PALETTE)], style,
               MARKERS[index % len(MARKERS)], rows)


def chance_line(ax):
    return baseline_line(ax, CHANCE, color=REFERENCE_COLOR, label=f"chance ({CHANCE:g}: balanced labels)")


def plot_curves(curves: pd.DataFrame, path) -> None:
    """Validation accuracy against step (log axis), one colour per model and depth, with chance."""
    curves = positive_steps(curves)
    fig, ax = new_figure()
    for label, color, style, _, rows in model_lines(curves):
        rows = rows.sort_values("step")
        ax.plot(rows["step"], rows["val_acc"], color=color, linestyle=style, label=label)
    chance_line(ax)
    log_step_axis(ax)
    ax.set_xlim(*decade_limits(curves["step"]))
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(0.4, 1.02)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
    save_figure(fig, path)


def plot_by_hop(by_hop: pd.DataFrame, path) -> None:
    """Final validation accuracy by hop distance, per model and depth (a colour, a marker and a small
    horizontal offset each, so that equal values stay visible), against the accuracy of the constant
    majority answer at each hop and chance; the tick labels give the number of validation pairs."""
    hops = sorted(h for h in by_hop["hop"].unique() if h != DISCONNECTED)
    positions = {hop: index for index, hop in enumerate([*hops, DISCONNECTED])}
    per_model = by_hop.pivot_table(index="hop", columns=["model", "depth"], values="count", fill_value=0)
    same_pairs = (per_model.nunique(axis=1) == 1).all()  # every model scored on the same validation set
    counts = per_model.iloc[:, 0] if same_pairs else per_model.sum(axis=1)
    constant = constant_answer(counts.index, counts.to_numpy())
    fig, ax = new_figure((4.6, 3.0))
    groups = by_hop.groupby(["model", "depth"]).ngroup().nunique()
    offsets = np.linspace(-0.12, 0.12, groups) if groups > 1 else [0.0]
    for offset, (label, color, style, marker, rows) in zip(offsets, model_lines(by_hop)):
        rows = rows.assign(x=rows["hop"].map(positions) + offset).sort_values("x")
        points = {"color": color, "marker": marker, "markersize": 5, "markerfacecolor": "white",
                  "markeredgewidth": 1.2, "zorder": 3}
        apart = rows["hop"] == DISCONNECTED  # a category of its own: not joined to the hop distances
        ax.plot(rows.loc[~apart, "x"], rows.loc[~apart, "accuracy"], linestyle=style, label=label, **points)
        ax.plot(rows.loc[apart, "x"], rows.loc[apart, "accuracy"], linestyle="none", **points)
    answer = "connected" if constant.label else "not connected"
    ax.plot([positions[hop] for hop in constant.accuracy], list(constant.accuracy.values()), linestyle="none",
            marker="_", markersize=26, markeredgewidth=2.0, color=REFERENCE_COLOR, zorder=2,
            label=f"constant answer “{answer}” (majority; {constant.connected_fraction:.0%} of pairs "
                  "connected)")
    chance_line(ax)
    names = [*map(str, hops), "not\nconnected"]
    if same_pairs:
        names = [f"{name}\nn={int(counts.get(hop, 0))}" for hop, name in zip(positions, names)]
    ax.set_xticks(list(positions.values()), names)
    ax.set_xlim(-0.5, len(positions) - 0.5)
    ax.set_xlabel("hop distance between $s$ and $t$" + (" (n: validation pairs)" if same_pairs else ""))
    ax.set_ylabel("validation accuracy")
    ax.set_ylim(-0.02, 1.04)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=1)
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--V", type=int, default=TableConnectivitySizes.V)
    parser.add_argument("--C", type=int, default=TableConnectivitySizes.C)
    parser.add_argument("--n-dims", type=int, default=TableConnectivitySizes.n_dims)
    parser.add_argument("--training", required=True, help="combined learning curves CSV")
    parser.add_argument("--by-hop", required=True, help="combined accuracy-by-hop CSV")
    parser.add_argument("--lowrank-weights", required=True)
    parser.add_argument("--dense-weights", required=True)
    parser.add_argument("--out-dir", required=True, help=f"folder of the figures: {', '.join(FIGURES)} (.png, .pdf)")
    args = parser.parse_args(argv)
    task = TaskConfig(args.V, args.C, TableConnectivitySettings.rho, args.n_dims)  # ρ only samples graphs
    out = Path(args.out_dir)
    plot_mask(local_mask(args.V, args.C), out / "mask_local.png")
    plot_mask(global_mask(args.V, args.C), out / "mask_global.png")
    lowrank = trained_positions(args.lowrank_weights, task, lowrank=True)
    dense = trained_positions(args.dense_weights, task, lowrank=False)
    limit = gram_limit(lowrank, dense)
    plot_gram(lowrank, out / "positional_gram_lowrank.png", limit)
    plot_gram(dense, out / "positional_gram_dense.png", limit)
    plot_curves(pd.read_csv(args.training), out / "accuracy.png")
    plot_by_hop(pd.read_csv(args.by_hop), out / "accuracy_by_hop.png")


if __name__ == "__main__":
    run_main(main)

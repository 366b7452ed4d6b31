#!/usr/bin/env python
"""Figures of the low-rank decay study, one per file (PNG + PDF):

- from phase_diagram.py's --summary: validation accuracy over train fraction × strength for L2
  (--l2-output) and low-rank decay (--lowrank-output), and their difference, low-rank − L2
  (--difference-output); the mean over seeds, the value printed in each cell;
- from mechanism.py's CSVs: validation accuracy against step (--accuracy-output), Q/K stable
  rank against step (--stable-rank-output), layer 1's W_Q normalised spectrum (--spectrum-output)
  and, per method, head 0's attention from the last position ({attention-prefix}_{method}.png).
"""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.lowrank_decay.study import METHODS
from grokflow.plotting import PALETTE, new_figure, save_figure

METHOD_LABELS = {"l2": "L2 weight decay", "lowrank": "low-rank decay"}
METHOD_COLORS = dict(zip(METHODS, PALETTE))
POSITION_LABELS = ["x", "y", "="]


def heatmap(table: pd.DataFrame, label: str, path, cmap: str, limits) -> None:
    """Cells of `table` (fractions × strengths) with their values printed."""
    fig, ax = new_figure((4.2, 3.2))
    image = ax.imshow(table.to_numpy(), cmap=cmap, vmin=limits[0], vmax=limits[1], origin="lower", aspect="auto")
    ax.set_xticks(range(table.shape[1]), [f"{s:g}" for s in table.columns], rotation=45)
    ax.set_yticks(range(table.shape[0]), [f"{f:g}" for f in table.index])
    ax.set_xlabel("decay strength (L2: × l2_factor)")
    ax.set_ylabel("train fraction")
    for (row, column), value in pd.DataFrame(table.to_numpy()).stack().items():
        ax.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=6.5,
                color="white" if (value - limits[0]) / (limits[1] - limits[0]) < 0.5 else "black")
    fig.colorbar(image, ax=ax, label=label)
    save_figure(fig, path)


def phase_figures(summary: pd.DataFrame, args) -> None:
    tables = {method: rows.pivot_table(index="train_fraction", columns="strength", values="val_acc")
              for method, rows in summary.groupby("method")}
    for method, path in (("l2", args.l2_output), ("lowrank", args.lowrank_output)):
        heatmap(tables[method], f"validation accuracy ({METHOD_LABELS[method]})", path, "viridis", (0, 1))
    heatmap(tables["lowrank"] - tables["l2"], "accuracy: low-rank − L2", args.difference_output, "RdBu_r", (-1, 1))


def against_step(curves: pd.DataFrame, columns: list[str], ylabel: str, path, log_y: bool = False) -> None:
    fig, ax = new_figure()
    for method, rows in curves.groupby("method", sort=False):
        for column, style in zip(columns, ("-", "--", ":", "-.")):
            name = column.removeprefix("stable_rank_").replace("layer", "layer ").replace("_", " ")
            label = METHOD_LABELS[method] + ("" if len(columns) == 1 else f", {name}")
            ax.plot(rows["step"], rows[column], style, color=METHOD_COLORS[method], label=label)
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.legend(ncol=1 if len(columns) == 1 else 2, fontsize=6.5)
    save_figure(fig, path)


def spectrum_figure(spectrum: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    for method, rows in spectrum.groupby("method", sort=False):
        ax.plot(rows["index"] + 1, rows["normalised"], color=METHOD_COLORS[method], label=METHOD_LABELS[method])
    ax.set_yscale("log")
    ax.set_xlabel("index $i$")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$ of layer 1's $W_Q$")
    ax.legend()
    save_figure(fig, path)


def attention_figure(rows: pd.DataFrame, method: str, path) -> None:
    table = rows.pivot(index="example", columns="position", values="weight")
    fig, ax = new_figure((3.0, 3.4))
    image = ax.imshow(table.to_numpy(), cmap="viridis", vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(table.shape[1]), POSITION_LABELS[: table.shape[1]])
    ax.set_xlabel("attended position")
    ax.set_ylabel("validation example")
    fig.colorbar(image, ax=ax, label=f"head 0 attention from '=' ({METHOD_LABELS[method]})")
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--summary", required=True, help="phase_diagram.py's --summary CSV")
    parser.add_argument("--curves", required=True, help="mechanism.py's --curves CSV")
    parser.add_argument("--spectrum", required=True, help="mechanism.py's --spectrum CSV")
    parser.add_argument("--attention", required=True, help="mechanism.py's --attention CSV")
    for name in ("l2", "lowrank", "difference", "accuracy", "stable-rank", "spectrum"):
        parser.add_argument(f"--{name}-output", required=True, help="figure PNG (a PDF beside it)")
    parser.add_argument("--attention-prefix", required=True, help="attention figures: PREFIX_{method}.png")
    args = parser.parse_args(argv)
    phase_figures(pd.read_csv(args.summary), args)
    curves = pd.read_csv(args.curves)
    against_step(curves, ["val_acc"], "validation accuracy", args.accuracy_output)
    ranks = [column for column in curves.columns if column.startswith("stable_rank")]
    against_step(curves, ranks, "stable rank of $W_Q$, $W_K$", args.stable_rank_output, log_y=True)
    spectrum_figure(pd.read_csv(args.spectrum), args.spectrum_output)
    for method, rows in pd.read_csv(args.attention).groupby("method"):
        attention_figure(rows, method, f"{args.attention_prefix}_{method}.png")


if __name__ == "__main__":
    run_main(main)

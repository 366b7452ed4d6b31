#!/usr/bin/env python
"""Figures of LoRA fine-tuning: test accuracy against fine-tuning step, one line per rank and one
for full fine-tuning; and trainable parameters (log scale) against final test accuracy."""

import argparse

import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.plotting import PALETTE, new_figure, save_figure

FULL_COLOR = "#000000"


def run_label(method: str, rank) -> str:
    return "full fine-tuning" if method == "full" else f"LoRA $r={int(rank)}$"


def runs(table: pd.DataFrame):
    """(label, colour, rows) of each run: LoRA by increasing rank, then full fine-tuning."""
    lora = table[table["method"] == "lora"]
    for index, (rank, rows) in enumerate(lora.groupby("rank")):
        yield run_label("lora", rank), PALETTE[index % (len(PALETTE) - 1)], rows
    yield run_label("full", None), FULL_COLOR, table[table["method"] == "full"]


def plot_accuracy(table: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    for label, color, rows in runs(table):
        ax.plot(rows["step"], rows["test_acc"], color=color, label=label)
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best")
    save_figure(fig, path)


def plot_parameters(table: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    for label, color, rows in runs(table):
        last = rows[rows["step"] == rows["step"].max()]
        ax.scatter(last["trainable_params"], last["test_acc"], color=color, label=label,
                   marker="D" if color == FULL_COLOR else "o", zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("final test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="best")
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--finetune", required=True, help="results/lora/finetune.csv")
    parser.add_argument("--accuracy-output", required=True, help="accuracy figure PNG (a PDF beside it)")
    parser.add_argument("--params-output", required=True, help="parameters figure PNG (a PDF beside it)")
    args = parser.parse_args(argv)
    table = pd.read_csv(args.finetune)
    if missing := {"method", "rank", "trainable_params", "step", "test_acc"} - set(table.columns):
        raise GrokflowError(f"{args.finetune} lacks the columns {', '.join(sorted(missing))}")
    plot_accuracy(table, args.accuracy_output)
    plot_parameters(table, args.params_output)


if __name__ == "__main__":
    run_main(main)

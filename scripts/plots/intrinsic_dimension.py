#!/usr/bin/env python
"""Two figures against the training step, mean ± std over seeds, with train and test accuracy on a
twin axis: the TwoNN intrinsic dimension of W_E and W_U (--id-output), and the effective rank of
each layer's W_QK with its spectral entropy on a third axis (--qk-output). Each is written as PNG
and PDF."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import (accuracy_twin, combined_legend, finish_against_step, log_step_axis, math_name,
                               new_figure, positive_steps, save_figure, seed_band, third_axis)


def plot_twonn(table: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    for matrix in ("W_E", "W_U"):
        seed_band(ax, table[table["matrix"] == matrix], "twonn_id", label=math_name(matrix))
    finish_against_step(fig, ax, "TwoNN intrinsic dimension", metrics, png_path)


def plot_qk(table: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    entropy_ax = third_axis(ax)
    for layer, layer_rows in table[table["matrix"] == "W_QK"].groupby("layer"):
        color = f"C{layer}"
        seed_band(ax, layer_rows, "erank", color=color, label=f"erank, layer {layer}")
        seed_band(entropy_ax, layer_rows, "spectral_entropy", color=color, linestyle=":",
                  label=f"entropy, layer {layer}")
    log_step_axis(ax)
    ax.set_ylabel(f"effective rank of {math_name('W_QK')}")
    entropy_ax.set_ylabel("spectral entropy (nats)")
    twin = accuracy_twin(ax, metrics)
    combined_legend(ax, entropy_ax, twin, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--id", required=True, help="results/{op}/intrinsic_dimension.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--id-output", required=True, help="PNG of the TwoNN ID of W_E and W_U (PDF beside)")
    parser.add_argument("--qk-output", required=True, help="PNG of the W_QK erank and entropy (PDF beside)")
    args = parser.parse_args(argv)
    table, metrics = positive_steps(pd.read_csv(args.id)), pd.read_csv(args.metrics)
    plot_twonn(table, metrics, args.id_output)
    plot_qk(table, metrics, args.qk_output)


if __name__ == "__main__":
    run_main(main)

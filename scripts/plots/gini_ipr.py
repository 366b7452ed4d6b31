#!/usr/bin/env python
"""Gini index (left axis, blue) and IPR (outer right axis, orange, log scale) of W_E's Fourier power
spectrum against the training step, per_dimension solid and flattened dashed (mean ± std over
seeds; the IPR's band geometric), with train and test accuracy on the inner right axis (greys): one
figure, written as PNG and PDF. Each axis is coloured like its curves and every legend entry names
its axis. The Gini index lies in [0, 1] (the y range shows that span whenever the curves barely
move: grokflow.plotting.meaningful_ylim)."""

import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import (LEGEND_ABOVE, PALETTE, accuracy_twin, against_step_parser, color_axis, log_seed_band,
                               log_step_axis, meaningful_ylim, new_figure, positive_steps, save_figure, seed_band,
                               third_axis)

VARIANT_STYLES = {"per_dimension": ("-", "per dimension"), "flattened": ("--", "flattened")}
GINI_COLOR, IPR_COLOR = PALETTE[0], PALETTE[1]
GINI_SPAN = (0.0, 1.0)


def plot(gini_ipr: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    twin = accuracy_twin(ax, metrics)
    ipr_axis = third_axis(ax, color=IPR_COLOR)
    columns = {variant: [] for variant in VARIANT_STYLES}  # legend: one column per variant
    for variant, (linestyle, name) in VARIANT_STYLES.items():
        rows = positive_steps(gini_ipr[gini_ipr["variant"] == variant])
        columns[variant].append(seed_band(ax, rows, "gini", color=GINI_COLOR, linestyle=linestyle,
                                          label=f"Gini, {name} (left axis)"))
        columns[variant].append(log_seed_band(ipr_axis, rows, "ipr", color=IPR_COLOR, linestyle=linestyle,
                                              label=f"IPR, {name} (outer right, log)"))
    accuracy = [line for line in twin.lines if not line.get_label().startswith("_")]
    for line in accuracy:
        line.set_label(f"{line.get_label()} (inner right)")
    log_step_axis(ax)
    ax.set_ylabel("Gini index of the power spectrum")
    color_axis(ax, GINI_COLOR, "left")
    meaningful_ylim(ax, *GINI_SPAN)
    ipr_axis.set_yscale("log")
    ipr_axis.set_ylabel("IPR of the power spectrum")
    handles = columns["per_dimension"] + accuracy[:1] + columns["flattened"] + accuracy[1:]
    twin.legend(handles, [handle.get_label() for handle in handles], **LEGEND_ABOVE)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = against_step_parser(__doc__, "gini_ipr")
    args = parser.parse_args(argv)
    plot(pd.read_csv(args.table), pd.read_csv(args.metrics), args.output)


if __name__ == "__main__":
    run_main(main)

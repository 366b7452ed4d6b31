#!/usr/bin/env python
"""Two figures against the training step, mean ± std over seeds, with train and test accuracy on a
twin axis, each written as PNG and PDF:

--id-output: the TwoNN intrinsic dimension (solid) and the participation ratio (dashed) of W_E and
  W_U (one colour each), with the step ranges where TwoNN is degenerate for a matrix hatched in its
  colour: there the seed-mean twonn_tie_share exceeds 0.5, i.e. most points' two nearest neighbours
  are within 1% of each other (r₂/r₁ < 1.01), as on a circle, and the TwoNN value is not a
  dimension.
--qk-output: the effective rank of each layer's W_QK (left axis, ≥ 1; always shown from 1, as in
  every effective-rank figure: grokflow.plotting.meaningful_ylim), read also as its spectral
  entropy H = ln(erank) on the outer right axis (the same curves on a second scale, not other
  curves; the mean over seeds is of erank, so the scale reads ln of that mean)."""

import argparse
import math

import matplotlib.patches as mpatches
from matplotlib.ticker import FixedLocator
import numpy as np
import pandas as pd

from grokflow.errors import run_main
from grokflow.io import require_columns
from grokflow.metrics.intrinsic_dimension import DEGENERATE_TIE_SHARE, TIE_RATIO
from grokflow.op_summary import METRIC_COLUMNS
from grokflow.plotting import (PALETTE, accuracy_twin, combined_legend, log_step_axis, math_name, meaningful_ylim,
                               new_figure, positive_steps, save_figure, seed_band)

ID_COLUMNS = ("seed", "step", "matrix", "layer", "twonn_id", "twonn_tie_share", "participation_ratio")
QK_COLUMNS = ("erank", "spectral_entropy")
MATRICES = {"W_E": (PALETTE[0], "////"), "W_U": (PALETTE[1], "\\\\\\\\")}
ENTROPY_AXIS_AT = 1.18  # the outer right axis, beside accuracy's


def degenerate_spans(tie_share: pd.Series) -> list[tuple[float, float]]:
    """The step ranges (lo, hi) of the runs of consecutive checkpoints whose value of `tie_share`
    (indexed by positive steps, sorted) exceeds DEGENERATE_TIE_SHARE. Each checkpoint owns the
    range halfway (on the log axis) to its neighbours; the first and last reach as far out as in."""
    steps = tie_share.index.to_numpy(dtype=float)
    if len(steps) == 0:
        return []
    flags = (tie_share > DEGENERATE_TIE_SHARE).to_numpy()
    inner = np.sqrt(steps[1:] * steps[:-1])
    if len(steps) == 1:
        first, last = steps[0] / 1.1, steps[0] * 1.1
    else:
        first, last = steps[0] ** 2 / inner[0], steps[-1] ** 2 / inner[-1]
    edges = np.concatenate([[first], inner, [last]])
    spans = []
    for i in np.flatnonzero(flags):
        if spans and flags[i - 1]:
            spans[-1] = (spans[-1][0], edges[i + 1])
        else:
            spans.append((edges[i], edges[i + 1]))
    return spans


def plot_twonn(table: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    hatches = []
    for matrix, (color, hatch) in MATRICES.items():
        rows = table[table["matrix"] == matrix]
        seed_band(ax, rows, "twonn_id", color=color, label=f"TwoNN, {math_name(matrix)}")
        seed_band(ax, rows, "participation_ratio", color=color, linestyle="--",
                  label=f"participation ratio, {math_name(matrix)}")
        for lo, hi in degenerate_spans(rows.groupby("step")["twonn_tie_share"].mean().sort_index()):
            ax.axvspan(lo, hi, facecolor="none", edgecolor=color, hatch=hatch, alpha=0.5, linewidth=0, zorder=0)
        hatches.append(mpatches.Patch(facecolor="none", edgecolor=color, hatch=hatch, alpha=0.6,
                                      label=f"TwoNN degenerate, {math_name(matrix)}"))
    ax.set_ylim(bottom=0)
    log_step_axis(ax)
    ax.set_ylabel("intrinsic dimension")
    twin = accuracy_twin(ax, metrics)
    handles, labels = ax.get_legend_handles_labels()
    twin_handles, twin_labels = twin.get_legend_handles_labels()
    share = f"{DEGENERATE_TIE_SHARE:.0%}"
    twin.legend(handles + hatches + twin_handles, labels + [h.get_label() for h in hatches] + twin_labels,
                loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2,
                title=f"hatched: TwoNN degenerate, r₂/r₁ < {TIE_RATIO} for > {share} of the points",
                title_fontsize=7.5, alignment="left")
    save_figure(fig, png_path)


def entropy_of_erank(erank):
    """H = ln(erank), the secondary scale of the QK figure (ranks below 1 only in the margin)."""
    return np.log(np.clip(erank, 1e-3, None))


def entropy_ticks(low: float, high: float, gap: float = 0.05) -> list[int]:
    """Whole-nat ticks H ≥ 0 of an erank axis from low to high, from the top down, each at least
    `gap` of the axis away from the one above (exp(H) crowds them at the bottom)."""
    ticks = []
    for value in range(int(np.floor(np.log(high))), -1, -1):
        if np.exp(value) >= low and (not ticks or np.exp(ticks[-1]) - np.exp(value) >= gap * (high - low)):
            ticks.append(value)
    return ticks


def plot_qk(table: pd.DataFrame, metrics: pd.DataFrame, png_path) -> None:
    fig, ax = new_figure()
    for layer, layer_rows in table[table["matrix"] == "W_QK"].groupby("layer"):
        seed_band(ax, layer_rows, "erank", color=f"C{layer}", label=f"layer {layer}")
    log_step_axis(ax)
    ax.set_ylabel(f"effective rank of {math_name('W_QK')}")
    meaningful_ylim(ax, 1.0, None, flat_share=math.inf)
    entropy_ax = ax.secondary_yaxis(ENTROPY_AXIS_AT, functions=(entropy_of_erank, np.exp))
    entropy_ax.yaxis.set_major_locator(FixedLocator(entropy_ticks(*ax.get_ylim())))
    entropy_ax.set_ylabel("spectral entropy $H = \\ln(\\mathrm{erank})$ (nats)")
    twin = accuracy_twin(ax, metrics)
    combined_legend(ax, twin)
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--id", required=True, help="results/{op}/intrinsic_dimension.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--id-output", required=True,
                        help="PNG of the TwoNN ID and participation ratio of W_E and W_U (PDF beside)")
    parser.add_argument("--qk-output", required=True, help="PNG of the W_QK erank and entropy (PDF beside)")
    args = parser.parse_args(argv)
    table, metrics = pd.read_csv(args.id), pd.read_csv(args.metrics)
    require_columns(table, ID_COLUMNS + QK_COLUMNS, args.id)
    require_columns(metrics, METRIC_COLUMNS, args.metrics)
    table = positive_steps(table)
    plot_twonn(table, metrics, args.id_output)
    plot_qk(table, metrics, args.qk_output)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Figures of the low-rank decay study, one per file (PNG + PDF):

- from phase_diagram.py's --summary: validation accuracy over train fraction × strength for L2
  (--l2-output) and low-rank decay (--lowrank-output), and their difference, low-rank − L2
  (--difference-output); the mean over seeds, the value printed in each cell;
- from mechanism.py's CSVs: validation accuracy against step (--accuracy-output), Q/K stable
  rank against step (--stable-rank-output), both on a log step axis, layer 0's W_Q normalised
  spectrum (--spectrum-output) and, per method, layer 0 head 0's attention from the last position
  ({attention-prefix}_{method}.png).

Layers are numbered as in the code (blocks.0 is layer 0); sequential heatmaps use plasma, the
difference a diverging map centred on 0; cell labels are dark on light cells, white on dark ones.
"""

import argparse
import re

from matplotlib.lines import Line2D
from matplotlib.patheffects import withStroke
import pandas as pd

from grokflow.arguments import positive_int
from grokflow.errors import run_main
from grokflow.lowrank_decay.study import METHODS, StudySettings
from grokflow.plotting import (PALETTE, baseline_line, decade_limits, log_step_axis, new_figure, positive_steps,
                               save_figure)
from grokflow.settings import ModulusSettings

METHOD_LABELS = {"l2": "L2 weight decay", "lowrank": "low-rank decay"}
METHOD_COLORS = dict(zip(METHODS, PALETTE))
POSITION_LABELS = ["x", "y", "="]
SEQUENTIAL = "plasma"  # the project's colour map for sequential heatmaps
DIVERGING = "RdBu_r"  # and for signed ones (a difference), centred on 0
REFERENCE_COLOR = "#6E6E6E"
STRENGTH_LABELS = {
    "l2": "decay strength $s$ (AdamW weight decay = L2 factor × $s$)",
    "lowrank": "decay strength $s$ (singular values of $W_Q$, $W_K$\nlowered by $s$ per step)",
    "difference": "decay strength $s$ (L2: weight decay = L2 factor × $s$;\n"
                  "low-rank: singular values lowered by $s$ per step)",
}
# CSV columns stable_rank_layer{n}_{Q|K} count layers from 1 (n = code's block index + 1)
STABLE_RANK_COLUMN = re.compile(r"stable_rank_layer(\d+)_([QK])")
LINESTYLES = ("-", "--", ":", "-.")


def text_color(rgba) -> str:
    """Dark text on light cells, white on dark ones: by the cell colour's relative luminance
    (sRGB, WCAG), so that a label is readable on every colour of any colour map."""
    def linear(channel):
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(channel) for channel in rgba[:3])
    return "black" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.179 else "white"


def heatmap(table: pd.DataFrame, label: str, xlabel: str, path, cmap: str, limits,
            chance: float | None = None) -> None:
    """Cells of `table` (fractions × strengths) with their values printed, horizontal ticks; `chance`,
    if given, marked on the colour bar and keyed above the axes."""
    fig, ax = new_figure((4.2, 3.2))
    image = ax.imshow(table.to_numpy(), cmap=cmap, vmin=limits[0], vmax=limits[1], origin="lower", aspect="auto")
    ax.set_xticks(range(table.shape[1]), [f"{s:g}" for s in table.columns])
    ax.set_yticks(range(table.shape[0]), [f"{f:g}" for f in table.index])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("train fraction (of all pairs)")
    for (row, column), value in pd.DataFrame(table.to_numpy()).stack().items():
        text = f"{value:+.2f}".replace("-", "−") if limits[0] < 0 else f"{value:.2f}"
        ax.text(column, row, text, ha="center", va="center",
                fontsize=6.5, color=text_color(image.cmap(image.norm(value))))
    bar = fig.colorbar(image, ax=ax, label=label)
    if chance is not None:
        style = {"color": "white", "linewidth": 1.4, "path_effects": [withStroke(linewidth=3.0, foreground="black")]}
        bar.ax.axhline(chance, **style)
        ax.legend(handles=[Line2D([], [], label=f"chance (1/p = {chance:.2g}), on the colour bar", **style)],
                  loc="lower left", bbox_to_anchor=(0.0, 1.02))
    save_figure(fig, path)


def phase_figures(summary: pd.DataFrame, args, chance: float | None = None) -> None:
    tables = {method: rows.pivot_table(index="train_fraction", columns="strength", values="val_acc")
              for method, rows in summary.groupby("method")}
    for method, path in (("l2", args.l2_output), ("lowrank", args.lowrank_output)):
        heatmap(tables[method], f"validation accuracy at the stop\n({METHOD_LABELS[method]})",
                STRENGTH_LABELS[method], path, SEQUENTIAL, (0, 1), chance)
    heatmap(tables["lowrank"] - tables["l2"], "validation accuracy:\nlow-rank − L2", STRENGTH_LABELS["difference"],
            args.difference_output, DIVERGING, (-1, 1))


def column_label(column: str) -> str:
    """A curve column in words, its layer numbered as in the code (blocks.0 is layer 0)."""
    match = STABLE_RANK_COLUMN.fullmatch(column)
    if match is None:
        return column.replace("_", " ")
    return f"layer {int(match.group(1)) - 1} $W_{match.group(2)}$"


def against_step(curves: pd.DataFrame, columns: list[str], ylabel: str, path, log_y: bool = False,
                 chance: float | None = None) -> None:
    """`columns` against the step (log axis, step 0 left out), a colour per method and a line style per
    column; a run that stopped early (its target met) ends in a keyed ×; `chance`, if given, as a
    keyed dotted line (the accuracy of a uniform guess)."""
    curves = positive_steps(curves)
    last_step = curves["step"].max()
    fig, ax = new_figure()
    stopped = False
    for method, rows in curves.groupby("method", sort=False):
        rows = rows.sort_values("step")
        for column, style in zip(columns, LINESTYLES):
            label = METHOD_LABELS[method] + ("" if len(columns) == 1 else f", {column_label(column)}")
            ax.plot(rows["step"], rows[column], style, color=METHOD_COLORS[method], label=label)
            if rows["step"].iloc[-1] < last_step:
                ax.plot(rows["step"].iloc[-1], rows[column].iloc[-1], "x", color=METHOD_COLORS[method],
                        markersize=6, markeredgewidth=1.4)
                stopped = True
    if chance is not None:
        baseline_line(ax, chance, color=REFERENCE_COLOR, label=f"chance (1/p = {chance:.2g})")
    log_step_axis(ax)
    ax.set_xlim(*decade_limits(curves["step"]))
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    else:
        ax.set_ylim(-0.02, 1.02)
    handles, _ = ax.get_legend_handles_labels()
    if stopped:
        handles.append(Line2D([], [], linestyle="none", marker="x", color="black", markeredgewidth=1.4,
                              label=f"run stopped: validation accuracy > {StudySettings.target:g}\n"
                                    f"at {StudySettings.patience} measurements in a row"))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2, fontsize=6.5)
    save_figure(fig, path)


def spectrum_figure(spectrum: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    for method, rows in spectrum.groupby("method", sort=False):
        ax.plot(rows["index"] + 1, rows["normalised"], color=METHOD_COLORS[method], label=METHOD_LABELS[method])
    ax.set_yscale("log")
    ax.set_xlabel("singular value index $i$ (largest first)")
    ax.set_ylabel(r"$\sigma_i / \sigma_1$ of layer 0's $W_Q$ at the stop")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2)
    save_figure(fig, path)


def attention_figure(rows: pd.DataFrame, method: str, path) -> None:
    table = rows.pivot(index="example", columns="position", values="weight")
    fig, ax = new_figure((3.0, 3.4))
    image = ax.imshow(table.to_numpy(), cmap=SEQUENTIAL, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(table.shape[1]), POSITION_LABELS[: table.shape[1]])
    ax.set_xlabel("attended position")
    ax.set_ylabel("validation example")
    fig.colorbar(image, ax=ax, label=f"attention weight from '=', layer 0 head 0\n({METHOD_LABELS[method]})")
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
    parser.add_argument("--p", type=positive_int, default=ModulusSettings.p,
                        help="modulus of x+y: marks the chance level 1/p on the accuracy figures")
    args = parser.parse_args(argv)
    chance = 1 / args.p
    phase_figures(pd.read_csv(args.summary), args, chance)
    curves = pd.read_csv(args.curves)
    against_step(curves, ["val_acc"], "validation accuracy", args.accuracy_output, chance=chance)
    ranks = [column for column in curves.columns if column.startswith("stable_rank")]
    against_step(curves, ranks, "stable rank of $W_Q$, $W_K$", args.stable_rank_output, log_y=True)
    spectrum_figure(pd.read_csv(args.spectrum), args.spectrum_output)
    for method, rows in pd.read_csv(args.attention).groupby("method"):
        attention_figure(rows, method, f"{args.attention_prefix}_{method}.png")


if __name__ == "__main__":
    run_main(main)

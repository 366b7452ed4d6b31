#!/usr/bin/env python
"""Figures of LoRA fine-tuning, one axes per file (PNG + PDF beside it):

- --accuracy-output: test accuracy against fine-tuning step (log axis, so step 0 is not drawn), one
  line per rank and one for full fine-tuning, the chance accuracy 1/p dotted (when the table has
  chance_acc) and the last tenth of the steps shaded;
- --params-output: trainable parameters (log scale) against the final test accuracy, taken as the
  mean over the last tenth of the steps (a single evaluation can fall in a loss spike), with a bar
  from the lowest to the highest accuracy in that window.
"""

import argparse

from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, NullFormatter
import numpy as np
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.plotting import (PALETTE, baseline_line, decade_limits, log_step_axis, new_figure, positive_steps,
                               save_figure)

FULL_COLOR = "#000000"
CHANCE_COLOR = "#9E9E9E"
WINDOW_COLOR = "#E6E6E6"
LAST_FRACTION = 0.1
COLUMNS = {"method", "rank", "trainable_params", "step", "test_acc"}
LEGEND = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.02), "ncol": 2}


def run_label(method: str, rank) -> str:
    return "full fine-tuning" if method == "full" else f"LoRA $r={int(rank)}$"


def runs(table: pd.DataFrame):
    """(label, colour, rows) of each run: LoRA by increasing rank, then full fine-tuning."""
    lora = table[table["method"] == "lora"]
    for index, (rank, rows) in enumerate(lora.groupby("rank")):
        yield run_label("lora", rank), PALETTE[index % (len(PALETTE) - 1)], rows
    yield run_label("full", None), FULL_COLOR, table[table["method"] == "full"]


def window_start(steps: pd.Series, fraction: float = LAST_FRACTION) -> float:
    """The step after which the last `fraction` of a run's steps lie: last − fraction·(last − first)."""
    first, last = float(steps.min()), float(steps.max())
    return last - fraction * (last - first)


def last_tenth(rows: pd.DataFrame, fraction: float = LAST_FRACTION) -> pd.DataFrame:
    """The evaluations of one run in the last `fraction` of its steps (step > window_start); the
    last evaluation is always among them."""
    return rows[rows["step"] > window_start(rows["step"], fraction)]


def final_value(rows: pd.DataFrame, column: str = "test_acc", fraction: float = LAST_FRACTION) -> float:
    """The "final" value of a spiky curve: the mean of `column` over the evaluations in the last
    `fraction` (a tenth) of the run's steps, not its last point, which may sit in a loss spike."""
    return float(last_tenth(rows, fraction)[column].mean())


def chance_line(ax, table: pd.DataFrame):
    """The dotted chance accuracy 1/p, when the table has it (chance_acc); its handle or None."""
    if "chance_acc" not in table.columns:
        print("no chance_acc column (a table written before it was added): no chance line")
        return None
    chance = float(table["chance_acc"].iloc[0])
    return baseline_line(ax, chance, color=CHANCE_COLOR, label=f"chance, $1/p$ = {chance:.3f}")


def label_minor_steps(ax, mantissas=(2, 5)) -> None:
    """Plain labels (50, 200, 500) at the minor ticks m·10ⁿ of a log step axis, for the m in
    `mantissas`, beside log_step_axis's 10ⁿ: a run of a few hundred steps spans less than one decade."""
    def label(value, _):
        exponent = np.floor(np.log10(value) + 1e-9)
        return f"{value:.0f}" if round(value / 10**exponent) in mantissas else ""

    ax.xaxis.set_minor_formatter(FuncFormatter(label))


def plot_accuracy(table: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    start, last = window_start(table["step"]), table["step"].max()
    ax.axvspan(start, last, color=WINDOW_COLOR, lw=0, zorder=0)
    for label, color, rows in runs(table):
        rows = positive_steps(rows).sort_values("step")
        ax.plot(rows["step"], rows["test_acc"], color=color, label=label)
    chance_line(ax, table)
    log_step_axis(ax, "fine-tuning step (step 0 not drawn)")
    label_minor_steps(ax)
    ax.set_xlim(positive_steps(table)["step"].min(), last)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.spines["right"].set_visible(False)
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor=WINDOW_COLOR, edgecolor="#9E9E9E", linewidth=0.6,
                         label="last tenth of the steps (averaged in the parameters figure)"))
    ax.legend(handles=handles, **LEGEND)
    save_figure(fig, path)


def plot_parameters(table: pd.DataFrame, path) -> None:
    fig, ax = new_figure()
    handles = []
    for label, color, rows in runs(table):
        window = last_tenth(rows)
        mean = final_value(rows)
        last = rows.loc[rows["step"].idxmax(), "test_acc"]
        print(f"{label.replace('$', '')}: test accuracy {mean:.3f}, the mean over steps "
              f"{', '.join(map(str, window['step']))} (last evaluation: {last:.3f})")
        spread = [[mean - window["test_acc"].min()], [window["test_acc"].max() - mean]]
        handles.append(ax.errorbar(rows["trainable_params"].iloc[0], mean, yerr=spread, color=color, label=label,
                                   marker="D" if color == FULL_COLOR else "o", markersize=5, linestyle="none",
                                   capsize=2.5, elinewidth=1.0, zorder=3))
    if (chance := chance_line(ax, table)) is not None:
        handles.append(chance)
    ax.set_xscale("log")
    ax.set_xlim(*decade_limits(table["trainable_params"]))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("test accuracy, mean over\nthe last tenth of the steps")
    ax.set_ylim(-0.02, 1.02)
    ax.spines["right"].set_visible(False)
    handles.append(ax.errorbar([np.nan], [np.nan], yerr=[1.0], color="#3B3B3B", linestyle="none", capsize=2.5,
                               elinewidth=1.0, label="bar: lowest to highest in the last tenth"))
    ax.legend(handles=handles, **LEGEND)
    save_figure(fig, path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--finetune", required=True, help="results/lora/finetune.csv")
    parser.add_argument("--accuracy-output", required=True, help="accuracy figure PNG (a PDF beside it)")
    parser.add_argument("--params-output", required=True, help="parameters figure PNG (a PDF beside it)")
    args = parser.parse_args(argv)
    table = pd.read_csv(args.finetune)
    if missing := COLUMNS - set(table.columns):
        raise GrokflowError(f"{args.finetune} lacks the columns {', '.join(sorted(missing))}")
    plot_accuracy(table, args.accuracy_output)
    plot_parameters(table, args.params_output)


if __name__ == "__main__":
    run_main(main)

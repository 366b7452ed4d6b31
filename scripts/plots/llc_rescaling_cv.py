#!/usr/bin/env python
"""The rescaling study's answer: each sampler's coefficient of variation (std/|mean|) of the LLC
over the α × β grid, per op, under both localisation variants (filled: γ/s² per rescaled tensor,
under which an exact sampler's LLC is the same at every point; hatched: the seed's γ fixed), on a
log axis (lower = closer to the invariance the LLC promises). The cv of an op and variant is over
the grid points where every sampler stayed finite (their count is under each op); a × at the
bottom: no such point, so no cv. The legend counts each sampler's grid points whose every chain
diverged and, where there are any, those with a negative estimate (chains that went below
L_n(w₀)), summed over the ops; a ∘ above a bar: the op has negative estimates, so its cv is no
spread of LLCs."""

import argparse

import matplotlib.transforms as transforms
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
import numpy as np
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.io import read_csv
from grokflow.plotting import PALETTE, new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES, METHODS, VARIANTS

COLUMNS = ("op", "variant", "method", "points", "points_common", "cv", "points_diverged", "points_negative")
VARIANT_LABELS = {"fixed": r"fixed $\gamma$ at every point", "scaled": r"$\gamma/s^2$ per rescaled tensor"}
VARIANT_BARS = {"fixed": {"alpha": 0.35, "hatch": "////"}, "scaled": {"alpha": 1.0, "hatch": None}}
KEY_GREY = "#606060"
UNDEFINED = {"marker": "x", "markersize": 6, "markeredgewidth": 1.4, "linestyle": "none"}
ZERO = {"marker": "v", "markersize": 5, "linestyle": "none"}
NEGATIVE = {"marker": "o", "markersize": 4, "markerfacecolor": "none", "markeredgewidth": 0.9, "linestyle": "none"}


def read_summary(path) -> pd.DataFrame:
    """The summary CSV; a GrokflowError naming the file and what is wrong with it."""
    summary = read_csv(path, COLUMNS)
    if unknown := set(summary["variant"].astype(str)) - set(VARIANTS):
        raise GrokflowError(f"{path}: unknown variant(s) {', '.join(sorted(unknown))}; expected {', '.join(VARIANTS)}")
    if summary.duplicated(["op", "variant", "method"]).any():
        raise GrokflowError(f"{path} has more than one row for some (op, variant, method)")
    return summary


def bar_rows(summary: pd.DataFrame, method: str, variant: str, ops: list) -> pd.DataFrame:
    return summary[(summary["method"] == method) & (summary["variant"] == variant)].set_index("op").reindex(ops)


def points_label(summary: pd.DataFrame, method: str, variants: list) -> str:
    """'SGLD — diverged points: fixed 3/100, scaled 0/100' (summed over ops), or, when any
    estimate is negative, 'SGLD — diverged / negative points: fixed 3 / 5 of 100, scaled 0 / 5 of 100'."""
    rows = summary[summary["method"] == method]
    with_negative = rows["points_negative"].sum() > 0
    counts = []
    for variant in variants:
        own = rows[rows["variant"] == variant]
        if len(own):
            negative = f" / {own['points_negative'].sum():.0f} of " if with_negative else "/"
            counts.append(f"{variant} {own['points_diverged'].sum():.0f}{negative}{own['points'].sum():.0f}")
    kinds = "diverged / negative points" if with_negative else "diverged points"
    return f"{DISPLAY_NAMES.get(method, method)} — {kinds}: {', '.join(counts)}"


def common_label(summary: pd.DataFrame, op, variants: list) -> str:
    """The op's tick label: its name, then per variant the common finite points of the grid."""
    lines = [str(op)]
    for variant in variants:
        rows = summary[(summary["op"] == op) & (summary["variant"] == variant)]
        if len(rows):
            lines.append(f"{variant} {rows['points_common'].min():.0f}/{rows['points'].max():.0f}")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--summary", required=True, help="results/llc_rescaling_summary.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    summary = read_summary(args.summary)
    summary["variant"] = summary["variant"].astype(str)
    ops = list(dict.fromkeys(summary["op"]))
    present = set(summary["method"])
    methods = [m for m in METHODS if m in present] + sorted(present - set(METHODS))
    variants = [v for v in VARIANTS if v in set(summary["variant"])]
    bars = len(methods) * len(variants)
    width = 0.84 / bars
    fig, ax = new_figure((max(4.2, 1.4 + 0.17 * bars * len(ops)), 3.0))
    bottom = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    undefined_x, undefined_c, zero_x, zero_c, negative_x, negative_y, negative_c = [], [], [], [], [], [], []
    for k, method in enumerate(methods):
        color = PALETTE[k % len(PALETTE)]
        for v, variant in enumerate(variants):
            rows = bar_rows(summary, method, variant, ops)
            x = np.arange(len(ops)) + (k * len(variants) + v - (bars - 1) / 2) * width
            cv = rows["cv"].to_numpy(dtype=float)
            shown = np.isfinite(cv) & (cv > 0)
            style = VARIANT_BARS[variant]
            ax.bar(x[shown], cv[shown], width, color=color, alpha=style["alpha"], linewidth=0)
            if style["hatch"]:
                ax.bar(x[shown], cv[shown], width, facecolor="none", edgecolor=color, hatch=style["hatch"],
                       linewidth=0.6)
            measured = rows["method"].notna().to_numpy()  # an op this sampler has no row for stays empty
            undefined = measured & np.isnan(cv)
            undefined_x += list(x[undefined])
            undefined_c += [color] * int(undefined.sum())
            negative = shown & (rows["points_negative"].to_numpy(dtype=float) > 0)
            negative_x += list(x[negative])
            negative_y += list(cv[negative] * 1.6)
            negative_c += [color] * int(negative.sum())
            zero = np.isfinite(cv) & (cv <= 0)
            zero_x += list(x[zero])
            zero_c += [color] * int(zero.sum())
    for xs, colors, style in ((undefined_x, undefined_c, UNDEFINED), (zero_x, zero_c, ZERO)):
        for xi, color in zip(xs, colors):
            ax.plot([xi], [0.04], color=color, transform=bottom, clip_on=False, zorder=5, **style)
    for xi, yi, color in zip(negative_x, negative_y, negative_c):
        ax.plot([xi], [yi], color=color, clip_on=False, zorder=5, **NEGATIVE)

    positive = summary["cv"][np.isfinite(summary["cv"]) & (summary["cv"] > 0)]
    ax.set_yscale("log")
    if len(positive):
        ax.set_ylim(positive.min() / 4, positive.max() * 3)
    ax.set_xticks(np.arange(len(ops)), [common_label(summary, op, variants) for op in ops], fontsize=7)
    ax.set_xlim(-0.5, len(ops) - 0.5)
    ax.set_ylabel("CV of the LLC over the rescaling grid")
    ax.set_xlabel("task (mod $p$), and per variant the grid points where every sampler stayed finite",
                  fontsize=7.5)

    handles = [Patch(facecolor=KEY_GREY, alpha=VARIANT_BARS[v]["alpha"], hatch=VARIANT_BARS[v]["hatch"],
                     edgecolor=KEY_GREY if VARIANT_BARS[v]["hatch"] else "none", linewidth=0.6,
                     label=f"{v}: {VARIANT_LABELS[v]}") for v in variants]
    if undefined_x:
        handles.append(Line2D([], [], color="black", **UNDEFINED,
                              label="no cv: no grid point where every sampler stayed finite"))
    if zero_x:
        handles.append(Line2D([], [], color="black", **ZERO, label="cv = 0 (below the log axis)"))
    if negative_x:
        handles.append(Line2D([], [], color="black", **NEGATIVE,
                              label="negative estimates at some grid points: the cv is no spread of LLCs"))
    handles += [Patch(facecolor=PALETTE[k % len(PALETTE)], label=points_label(summary, method, variants))
                for k, method in enumerate(methods)]
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=1,
              title="cv = std/|mean| over the grid points where every sampler stayed finite",
              title_fontsize=7.5, alignment="left")
    save_figure(fig, args.output)


if __name__ == "__main__":
    run_main(main)

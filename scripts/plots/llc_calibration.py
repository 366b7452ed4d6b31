#!/usr/bin/env python
"""Calibration of the samplers, one file per sampler: the LLC against the step size ε (log ε),
mean ± std over chains, one solid line per nβ at the default γ (the median γ of the table) and,
at the default nβ (--nbeta), dashed and dotted lines (that nβ's colour) for the other γ (γ/10,
10γ). The LLC axis is logarithmic when every finite estimate is positive, else symmetric-log
(linear within ± the smallest decade of the estimates, the grey line at 0). × at the bottom edge:
every chain diverged at that ε (one row per line, in its colour); open triangles: negative
estimates; green band: the ε that meets the calibration criteria; dotted vertical line: the
configured step size (--chosen); on the right axis, the MALA acceptance at the default nβ and γ."""

import argparse
import math
from pathlib import Path

import matplotlib.transforms as transforms
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
import numpy as np
import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.io import bool_column, read_csv
from grokflow.plotting import PALETTE, new_figure, save_figure
from grokflow.settings import CalibrationFigureSettings
from grokflow.slt.methods import DISPLAY_NAMES, method_value, positive_float

DEFAULTS = CalibrationFigureSettings()
CALIBRATION_COLUMNS = ("method", "epsilon", "nbeta", "gamma", "llc_mean", "llc_std", "acceptance")
CRITERIA_COLUMNS = ("method", "epsilon", "meets_criteria")
GAMMA_STYLES = {-1: "--", 1: ":"}  # below / above the default γ
ACCEPTANCE_COLOR = "#7A7A7A"
ZERO_COLOR = "#BBBBBB"
CRITERIA_COLOR = "#009E73"
DIVERGED = {"marker": "x", "markersize": 5, "markeredgewidth": 1.3, "linestyle": "none"}
NEGATIVE = {"marker": "v", "markersize": 5, "markerfacecolor": "white", "markeredgewidth": 1.1, "linestyle": "none"}
DIVERGED_ROW = 0.04  # axes height of each line's row of × at the bottom
MAX_TICKS = 8


def power_of_ten(value: float) -> str:
    """10^k as mathtext when value is a power of ten, else value:g."""
    exponent = math.log10(value) if value > 0 else math.nan
    return f"$10^{{{round(exponent)}}}$" if math.isclose(exponent, round(exponent), abs_tol=1e-9) else f"{value:g}"


def gamma_name(ratio: float) -> str:
    if math.isclose(ratio, 0.1):
        return r"$\gamma/10$"
    if math.isclose(ratio, 10.0):
        return r"$10\gamma$"
    return f"${ratio:g}\\gamma$"


def default_gamma(rows: pd.DataFrame) -> float:
    """The median γ of the rows, snapped to the γ of the table nearest to it (in log)."""
    gammas = np.sort(rows["gamma"].unique())
    median = np.median(rows["gamma"])
    return float(gammas[np.argmin(np.abs(np.log(gammas) - np.log(median)))])


def series_of(rows: pd.DataFrame, nbeta: float, gamma: float) -> list[dict]:
    """The lines of one sampler's figure: each nβ at the default γ, then the other γ at the default nβ."""
    at_gamma = rows[np.isclose(rows["gamma"], gamma)]
    series = []
    for k, (value, line) in enumerate(at_gamma.groupby("nbeta")):
        default = math.isclose(value, nbeta)
        series.append({"rows": line, "color": PALETTE[k % len(PALETTE)], "linestyle": "-", "default": default,
                       "label": f"$n\\beta$ = {value:g}" + (" (default)" if default else "")})
    color = next(s["color"] for s in series if s["default"])
    at_nbeta = rows[np.isclose(rows["nbeta"], nbeta) & ~np.isclose(rows["gamma"], gamma)]
    for value, line in at_nbeta.groupby("gamma"):
        series.append({"rows": line, "color": color, "linestyle": GAMMA_STYLES[1 if value > gamma else -1],
                       "default": False, "label": f"{gamma_name(value / gamma)} at $n\\beta$ = {nbeta:g}"})
    return series


def decade_ticks(low: float, high: float) -> list[int]:
    """Exponents from low to high, thinned to at most MAX_TICKS."""
    exponents = list(range(low, high + 1))
    step = math.ceil(len(exponents) / MAX_TICKS)
    return exponents[::-1][::step][::-1]


def symlog_axis(ax, values: np.ndarray) -> float:
    """A symmetric-log LLC axis, linear within ± the smallest decade of |values|; ticks at ±10^k
    only (no 0 beside 10^k: the grey line marks 0). Returns linthresh."""
    magnitudes = np.abs(values[values != 0])
    smallest = math.floor(math.log10(magnitudes.min())) if len(magnitudes) else -2
    linthresh = 10.0 ** smallest
    ax.set_yscale("symlog", linthresh=linthresh, linscale=0.5)
    ticks = []
    for sign, present in ((-1, (values < 0).any()), (1, (values > 0).any())):
        if present:
            top = math.ceil(math.log10(np.abs(values[np.sign(values) == sign]).max()))
            ticks += [sign * 10.0 ** k for k in decade_ticks(smallest, max(top, smallest))]
    ax.yaxis.set_major_locator(FixedLocator(sorted(ticks)))
    ax.yaxis.set_major_formatter(FuncFormatter(
        lambda y, _: "" if y == 0 else f"${'-' if y < 0 else ''}10^{{{round(math.log10(abs(y)))}}}$"))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.axhline(0.0, color=ZERO_COLOR, linewidth=0.8, zorder=0)
    return linthresh


def leave_room_below(ax, values: np.ndarray, fraction: float) -> None:
    """y limits that keep the data above the bottom `fraction` of the axes (the × rows)."""
    scale = ax.yaxis.get_transform()
    low, high = scale.transform(np.array([[values.min()], [values.max()]]))[:, 0]
    pad = 0.06 * (high - low) if high > low else 0.5
    high = high + pad
    low = low - pad - fraction * (high - low + pad) / (1 - fraction)
    inverse = scale.inverted()
    ax.set_ylim(*inverse.transform(np.array([[low], [high]]))[:, 0])


def plot_method(rows: pd.DataFrame, criteria: pd.DataFrame, method: str, nbeta: float, chosen: float | None,
                png_path) -> None:
    gamma = default_gamma(rows)
    series = series_of(rows, nbeta, gamma)
    fig, ax = new_figure((4.2, 3.0))
    bottom = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    finite = rows["llc_mean"][np.isfinite(rows["llc_mean"])].to_numpy()
    extra = []
    if len(finite) and (finite > 0).all():
        ax.set_yscale("log")
    elif len(finite):
        linthresh = symlog_axis(ax, finite)
        extra.append(Line2D([], [], color=ZERO_COLOR, linewidth=0.8,
                            label=f"0 (axis linear within $\\pm${power_of_ten(linthresh)})"))
    any_diverged = any_negative = False
    for s, line in enumerate(series):
        data = line["rows"].sort_values("epsilon")
        ok = data[np.isfinite(data["llc_mean"])]
        std = ok["llc_std"].fillna(0)
        ax.plot(ok["epsilon"], ok["llc_mean"], color=line["color"], linestyle=line["linestyle"], marker="o",
                markersize=2.5, label=line["label"], zorder=3)
        if line["linestyle"] == "-":
            ax.fill_between(ok["epsilon"], ok["llc_mean"] - std, ok["llc_mean"] + std, color=line["color"],
                            alpha=0.15, lw=0)
        negative = ok[ok["llc_mean"] < 0]
        ax.plot(negative["epsilon"], negative["llc_mean"], markeredgecolor=line["color"], zorder=4, **NEGATIVE)
        lost = data[data["llc_mean"].isna()]
        ax.plot(lost["epsilon"], np.full(len(lost), 0.025 + DIVERGED_ROW * (s + 0.5)), color=line["color"],
                transform=bottom, clip_on=False, zorder=5, **DIVERGED)
        any_diverged |= len(lost) > 0
        any_negative |= len(negative) > 0
    if len(finite):
        leave_room_below(ax, finite, 0.03 + DIVERGED_ROW * len(series) if any_diverged else 0.0)
    else:
        ax.set_yticks([])  # no finite estimate: no LLC scale to read

    epsilons = np.sort(rows["epsilon"].unique())
    half = np.median(np.diff(np.log10(epsilons))) / 2 if len(epsilons) > 1 else 0.25
    meets = criteria[(criteria["method"] == method) & bool_column(criteria["meets_criteria"])]
    for k, epsilon in enumerate(np.sort(meets["epsilon"].unique())):
        ax.axvspan(epsilon / 10 ** half, epsilon * 10 ** half, color=CRITERIA_COLOR, alpha=0.22, lw=0, zorder=0,
                   label="meets criteria" if k == 0 else None)
    if meets.empty:
        extra.append(Patch(facecolor="none", edgecolor="none", label="no $\\epsilon$ meets the criteria"))
    if chosen is not None:
        ax.axvline(chosen, color="black", linestyle=":", linewidth=1.1,
                   label=f"configured $\\epsilon$ = {power_of_ten(chosen)}")
    if any_diverged:
        extra.append(Line2D([], [], color="black", **DIVERGED, label="every chain diverged (in the line's colour)"))
    if any_negative:
        extra.append(Line2D([], [], markeredgecolor="black", **NEGATIVE, label="negative estimate"))
    ax.set_xscale("log")
    ax.set_xlabel(f"step size $\\epsilon$ ({DISPLAY_NAMES.get(method, method)})")
    ax.set_ylabel(r"LLC $\hat\lambda$ (mean ± std over chains)")

    twin = ax.twinx()
    accepted = rows[np.isclose(rows["nbeta"], nbeta) & np.isclose(rows["gamma"], gamma)].sort_values("epsilon")
    accepted = accepted[np.isfinite(accepted["acceptance"])]
    twin.plot(accepted["epsilon"], accepted["acceptance"], color=ACCEPTANCE_COLOR, linestyle="-.", linewidth=1.1,
              marker="s", markersize=2.5, label=f"MALA acceptance ($n\\beta$ = {nbeta:g}, $\\gamma$), right axis")
    twin.set_ylim(-0.02, 1.02)
    twin.set_ylabel("MALA acceptance", color=ACCEPTANCE_COLOR)
    twin.tick_params(axis="y", colors=ACCEPTANCE_COLOR)
    twin.spines["right"].set_color(ACCEPTANCE_COLOR)
    twin.spines["top"].set_visible(False)

    handles, labels = ax.get_legend_handles_labels()
    more_handles, more_labels = twin.get_legend_handles_labels()
    handles, labels = handles + more_handles + extra, labels + more_labels + [h.get_label() for h in extra]
    twin.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.0, 1.02), ncol=2,
                title=f"default $\\gamma$ = {power_of_ten(gamma)}", title_fontsize=7.5, alignment="left")
    save_figure(fig, png_path)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calibration", required=True, help="results/{op}/llc_calibration.csv")
    parser.add_argument("--criteria", required=True, help="results/{op}/llc_calibration_criteria.csv")
    parser.add_argument("--nbeta", type=positive_float, default=DEFAULTS.nbeta,
                        help="the default nβ (its line carries the γ/10 and 10γ lines and the acceptance)")
    parser.add_argument("--chosen", nargs="*", type=method_value, default=list(DEFAULTS.chosen.items()),
                        metavar="METHOD=EPS",
                        help="the configured step size of each sampler, marked on its figure")
    parser.add_argument("--outdir", required=True, help="folder for {method}.png and .pdf")
    args = parser.parse_args(argv)
    chosen = dict(args.chosen)
    calibration = read_csv(args.calibration, CALIBRATION_COLUMNS)
    criteria = read_csv(args.criteria, CRITERIA_COLUMNS)
    if not ((calibration["epsilon"] > 0) & (calibration["gamma"] > 0)).all():
        raise GrokflowError(f"{args.calibration}: epsilon and gamma must be > 0")
    for method, rows in calibration.groupby("method"):
        if not np.isclose(rows["nbeta"], args.nbeta).any():
            raise GrokflowError(f"--nbeta {args.nbeta:g} is not an nbeta of {method} in {args.calibration} "
                                f"({', '.join(f'{v:g}' for v in sorted(rows['nbeta'].unique()))})")
        if not np.isclose(rows["nbeta"], args.nbeta)[np.isclose(rows["gamma"], default_gamma(rows))].any():
            raise GrokflowError(f"{args.calibration}: {method} has no row at nbeta {args.nbeta:g} and the default "
                                f"gamma {default_gamma(rows):g}")
        plot_method(rows, criteria, method, args.nbeta, chosen.get(method), Path(args.outdir) / f"{method}.png")


if __name__ == "__main__":
    run_main(main)

"""The one figure style of the project.

One axes per file, PNG (200 dpi) and PDF, no titles or panel letters, the Okabe–Ito palette
(readable with colour-vision deficiencies), DejaVu Sans (ships with matplotlib, so every machine
draws the same glyphs), training step on a log10 axis with 10ⁿ ticks, accuracy on a twin axis,
and seed variation as a light mean ± std band around the mean line (geometric on log axes:
log_seed_band), with the seeds themselves drawn thinly when there are fewer than three.

Honesty at a glance: y ranges chosen by meaning (meaningful_ylim: a curve that barely moves is
drawn inside its quantity's natural span, so it looks flat), legends above the axes (off the
data), no right spine unless a right axis is drawn there, and on multi-axis figures each axis
coloured like its curves (color_axis).
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
from matplotlib.colors import to_hex  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import LogLocator, LogFormatterMathtext, NullFormatter  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .io import atomic_path  # noqa: E402

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
ACCURACY_COLORS = {"train_acc": "#9E9E9E", "test_acc": "#3B3B3B"}
ACCURACY_LABELS = {"train_acc": "train accuracy", "test_acc": "test accuracy"}
FIGSIZE = (4.2, 3.0)
PNG_DPI = 200
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.labelsize": 9,
    "legend.fontsize": 7.5,
    "legend.frameon": False,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False,
    "lines.linewidth": 1.4,
    "savefig.bbox": "tight",
    "pdf.fonttype": 42,
}
plt.rcParams.update(STYLE)


GROUP_VARIABLES = {"additive": "$x$", "multiplicative": r"$\log_g x$"}
BASELINE_STYLE = {"linestyle": ":", "linewidth": 1.0}
LOG_FLOOR = 1e-12
SEED_LINES_BELOW = 3
# meaningful_ylim: lines spanning less than this share of their quantity's natural span are drawn
# inside that whole span (a margin of SPAN_MARGIN of it either side): an automatic range never
# magnifies a curve more than 3× against the span its quantity can take.
FLAT_SHARE = 1 / 3
SPAN_MARGIN = 0.02
LEGEND_ABOVE = {"loc": "lower left", "bbox_to_anchor": (0.0, 1.02), "ncol": 2}


def frequency_label(group: str, symbol: str = "k", what: str = "frequency") -> str:
    """An axis label naming the variable the frequency runs over: x in Z_p, log_g x in (Z/pZ)^×."""
    return f"{what} ${symbol}$ over {GROUP_VARIABLES[group]}"


def baseline_line(ax, value: float, **kwargs):
    """A horizontal dotted reference line (a random baseline), labelled for the legend."""
    return ax.axhline(value, **(BASELINE_STYLE | kwargs))


def math_name(matrix: str) -> str:
    """A weight's name as mathtext: 'W_in' → $W_{\\mathrm{in}}$, 'W_Q' → $W_{Q}$."""
    base, _, sub = matrix.partition("_")
    if not sub:
        return f"${base}$"
    if len(sub) > 1:
        sub = r"\mathrm{" + sub + "}"
    return f"${base}_{{{sub}}}$"


def new_figure(figsize=FIGSIZE):
    """A figure with its single axes; no top or right spine (a twin axis brings its own right
    spine, with its ticks)."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.spines["right"].set_visible(False)
    return fig, ax


def color_axis(axis, color: str, side: str = "left") -> None:
    """Colour one y axis of a multi-axis figure like its curves: label, ticks, tick labels and spine."""
    axis.yaxis.label.set_color(color)
    axis.tick_params(axis="y", colors=color)
    axis.spines[side].set_color(color)


def curve_color(ax) -> str | None:
    """The one colour of ax's labelled lines (curves and reference lines), None if they differ."""
    colors = {to_hex(line.get_color()) for line in ax.lines if not line.get_label().startswith("_")}
    return colors.pop() if len(colors) == 1 else None


def color_axis_like_curves(axis, side: str = "left") -> None:
    """color_axis in the colour of the axis's curves, where they share one (else left as it is)."""
    color = curve_color(axis)
    if color is not None:
        color_axis(axis, color, side)


def data_lines(ax) -> list:
    """The lines of ax whose y values are data coordinates (every plotted line and axhline; not
    axvlines, whose y runs over the axes)."""
    return [line for line in ax.lines if line.get_transform().contains_branch_seperately(ax.transData)[1]]


def meaningful_ylim(ax, low: float | None = None, high: float | None = None, flat_share: float = FLAT_SHARE) -> None:
    """Y limits by meaning, for a linear y axis, called once everything is drawn on ax.

    low and high are the natural bounds of the quantity (either may be None: unbounded on that
    side; e.g. 0 and 1 for a fraction, 1 for an effective rank). Its natural span runs from low
    (else the lowest value drawn, bands included) to high (else the highest); reference lines
    drawn with axhline count as drawn values, so the span always reaches them. If the plotted
    lines (means, seeds, references) move by less than `flat_share` of that span, the axis shows
    the whole span (so that a curve that barely moves looks flat, and its level reads against
    the bound); otherwise the automatic range is kept, cut at the bounds (a mean ± std band may
    reach past a bound the quantity cannot cross). flat_share=math.inf: always the natural span.
    """
    values = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in data_lines(ax)] or [[]])
    values = values[np.isfinite(values)]
    if not len(values):
        return
    lowest, highest = values.min(), values.max()
    drawn_low, drawn_high = ax.dataLim.intervaly if ax.dataLim.height >= 0 else (lowest, highest)
    # a bound never hides a line (only the part of a band beyond it)
    bottom = min(lowest, drawn_low) if low is None else min(low, lowest)
    top = max(highest, drawn_high) if high is None else max(high, highest)
    span = top - bottom
    margin = SPAN_MARGIN * span if span > 0 else 0.05 * max(abs(top), 1.0)
    if highest - lowest < flat_share * span or span <= 0:
        ax.set_ylim(bottom - margin, top + margin)
        return
    ax.autoscale_view(scalex=False)
    auto_low, auto_high = ax.get_ylim()
    ax.set_ylim(auto_low if low is None else max(auto_low, bottom - margin),
                auto_high if high is None else min(auto_high, top + margin))


def log_step_axis(ax, label: str = "training step") -> None:
    """Log10 x axis with major ticks at 10ⁿ only, labelled 10ⁿ."""
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, numticks=12))
    ax.xaxis.set_major_formatter(LogFormatterMathtext(base=10))
    ax.xaxis.set_minor_locator(LogLocator(base=10, subs=range(2, 10), numticks=12))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(label)


def decade_limits(values) -> tuple[float, float]:
    """The powers of ten around the (positive) values: limits of a log axis whose data span less
    than a decade, so that a labelled 10ⁿ tick stands at each end."""
    values = np.asarray(values, dtype=float)
    return 10.0 ** np.floor(np.log10(values.min())), 10.0 ** np.ceil(np.log10(values.max()))


def positive_steps(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with step > 0, the ones a log axis can show."""
    return frame[frame["step"] > 0]


def seed_band(ax, frame: pd.DataFrame, y: str, x: str = "step", **line_kwargs):
    """Mean over seeds as a line, mean ± std over seeds as a light band around that same line, at
    every x (no smoothing, so the line never leaves its band); with fewer than SEED_LINES_BELOW
    seeds, each seed also as a thin line, since a std of two values says little.

    `frame` holds one row per (seed, x); the band is drawn only where there are ≥ 2 seeds.
    """
    stats = frame.groupby(x)[y].agg(["mean", "std"]).sort_index()
    (line,) = ax.plot(stats.index, stats["mean"], **line_kwargs)
    seeds = frame["seed"].nunique()
    if seeds > 1:
        std = stats["std"].fillna(0)
        ax.fill_between(stats.index, stats["mean"] - std, stats["mean"] + std, color=line.get_color(), alpha=0.18,
                        lw=0)
    if 1 < seeds < SEED_LINES_BELOW:
        for _, rows in frame.groupby("seed"):
            rows = rows.sort_values(x)
            ax.plot(rows[x], rows[y], color=line.get_color(), linewidth=0.5, alpha=0.45,
                    linestyle=line_kwargs.get("linestyle", "-"))
    return line


class Exponentiated:
    """An axes for seed_band whose y values are log10 of what is drawn: plot and fill_between
    draw 10^y on the wrapped (log-scaled) axes."""

    def __init__(self, ax):
        self.ax = ax

    def plot(self, x, y, **kwargs):
        return self.ax.plot(x, np.power(10.0, y), **kwargs)

    def fill_between(self, x, low, high, **kwargs):
        return self.ax.fill_between(x, np.power(10.0, low), np.power(10.0, high), **kwargs)


def log_seed_band(ax, frame: pd.DataFrame, column: str, **line_kwargs):
    """seed_band of log10(column), drawn on a log y axis: the geometric mean over seeds and a band of
    ± one std of log10 (always positive); values below LOG_FLOOR are drawn at LOG_FLOOR."""
    logged = frame[["seed", "step"]].assign(**{column: np.log10(frame[column].clip(lower=LOG_FLOOR))})
    return seed_band(Exponentiated(ax), logged, column, **line_kwargs)


def accuracy_twin(ax, metrics: pd.DataFrame, which=("train_acc", "test_acc")):
    """A twin y axis (right) with train and test accuracy, mean ± std over seeds, in greys (the
    axis in the darker one)."""
    twin = ax.twinx()
    metrics = positive_steps(metrics)
    for column in which:
        seed_band(twin, metrics, column, color=ACCURACY_COLORS[column], label=ACCURACY_LABELS[column],
                  linestyle="--" if column == "train_acc" else "-", linewidth=1.1)
    twin.set_ylim(-0.02, 1.02)
    twin.set_ylabel("accuracy")
    twin.spines["top"].set_visible(False)
    color_axis(twin, ACCURACY_COLORS["test_acc"], "right")
    return twin


def third_axis(ax, offset: float = 1.18, color: str | None = None):
    """A second right-hand y axis, its spine moved outwards, for three-axis figures; coloured
    (color_axis) when its curves share one colour."""
    third = ax.twinx()
    third.spines["right"].set_position(("axes", offset))
    third.spines["top"].set_visible(False)
    if color is not None:
        color_axis(third, color, "right")
    return third


def combined_legend(ax, *others, **kwargs) -> None:
    """One legend for the lines of several (twin) axes, drawn on the top-most one, above the axes
    (off the data) unless kwargs place it elsewhere."""
    handles, labels = ax.get_legend_handles_labels()
    for other in others:
        more_handles, more_labels = other.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    (others[-1] if others else ax).legend(handles, labels, **(LEGEND_ABOVE | kwargs))


def initial_value_line(ax, frame: pd.DataFrame, column: str, what: str = "step 0 (random initialisation)", **kwargs):
    """A dotted reference line at the mean of `column` over the step-0 rows of `frame` (the value
    at random initialisation), labelled with it; None if the frame has no step 0."""
    initial = frame.loc[frame["step"] == 0, column].mean()
    if not np.isfinite(initial):
        return None
    return baseline_line(ax, initial, **({"color": "#6E6E6E", "label": f"{what}: {initial:.3g}"} | kwargs))


def finish_against_step(fig, ax, ylabel: str, metrics: pd.DataFrame, png_path,
                        span: tuple[float | None, float | None] | None = None, flat_share: float = FLAT_SHARE) -> None:
    """The common end of a metric-against-step figure: log10 step axis, the y label (coloured like
    the curves where they share one colour), the y range by meaning when the quantity's natural
    bounds `span` = (low, high) are given (meaningful_ylim), train and test accuracy on a twin
    axis, one legend above the axes, saved as PNG + PDF."""
    log_step_axis(ax)
    ax.set_ylabel(ylabel)
    if span is not None:
        meaningful_ylim(ax, *span, flat_share=flat_share)
    color_axis_like_curves(ax)
    twin = accuracy_twin(ax, metrics)
    combined_legend(ax, twin)
    save_figure(fig, png_path)


def save_figure(fig, png_path) -> None:
    """Save as PNG (PNG_DPI) and as PDF beside it (same stem), atomically, then close.

    Both files share one tight bounding box, measured once (`bbox_inches="tight"` would draw the
    figure an extra time per file to measure it), after the PNG's folder proved writable. It is
    measured at the PNG's dpi: text is wider there than at the figure's own dpi, and a box
    measured at that one cut the right end of a wide legend off the PNG."""
    png_path = Path(png_path)
    with atomic_path(png_path) as tmp:
        fig.set_dpi(PNG_DPI)
        fig.canvas.draw()
        bbox = fig.get_tightbbox(fig.canvas.get_renderer()).padded(plt.rcParams["savefig.pad_inches"])
        fig.savefig(tmp, format="png", dpi=PNG_DPI, bbox_inches=bbox)
    with atomic_path(png_path.with_suffix(".pdf")) as tmp:
        fig.savefig(tmp, format="pdf", bbox_inches=bbox)
    plt.close(fig)


def against_step_parser(description: str, table: str) -> argparse.ArgumentParser:
    """The command line shared by the figures of one metric table against step with accuracy
    (the metric_figure rule's scripts/plots/{table}.py): --table, --metrics and --output."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--table", required=True, help=f"results/{{op}}/{table}.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    return parser

"""The mechanism summary of an op (results/{op}/summary.md) and of all ops (results/summary.md),
generated from the CSVs, never written by hand.

Per seed, the memorisation step (first checkpoint with train accuracy ≥ 0.99), the grokking
step (first with test accuracy ≥ 0.95) and the loss spikes after grokking (stretches where test
accuracy falls back below 0.9) come from grokflow.grokking. The key frequencies are each seed's
own, in the group the Fourier metrics read the op in (metrics.groups). Every headline series of
the catalogue's HEADLINES whose table is given is reduced to its seed-mean series m(t) (mean over seeds at each
step) and summarised by:

- initialisation: m at the series' first checkpoint (step 0 where saved);
- before grokking: m at the series' checkpoint nearest (in step) the median memorisation step;
- at grokking: m at the series' checkpoint nearest the median grokking step, the median taken
  over the seeds that grokked;
- end: m at the series' last checkpoint;
- random baseline: the value the metric has for structure-free weights, where it has one (the
  mean over seeds of its baseline column);
- largest change: over the checkpoints with step > 0, the step t_j where |m(t_j) − m(t_{j−1})|
  is largest (the checkpoint at which the jump has happened), its size, and its phase: by
  memorisation (t_j ≤ M), between memorisation and grokking (M < t_j < G/1.25), at grokking
  (G/1.25 ≤ t_j ≤ 1.25·G), after grokking (t_j > 1.25·G), with M and G the median memorisation
  and grokking steps (1.25 is two checkpoints of the default 20 per decade).

Each value is shown with the checkpoint step it was read at, since some metrics are saved at a
few steps only.
"""

from dataclasses import dataclass
import math
import os
from pathlib import Path

import pandas as pd

from .arithmetic import MULTIPLICATIVE, smallest_primitive_root
from .catalogue import HEADLINES, SUMMARY_TABLES, Headline
from .errors import GrokflowError
from .io import atomic_path, require_columns, table_group
from .grokking import GROKKED_ACC, MEMORISED_ACC, SPIKE_ACC, grokking_summary, spikes_after_grokking

MISSING = "—"
METRIC_COLUMNS = ("seed", "step", "train_acc", "test_acc")
KEY_FREQUENCY_COLUMNS = ("group", "seed", "rank", "frequency", "power_fraction", "cumulative_fraction")
AT_GROKKING_FACTOR = 1.25


TABLE_NAMES = SUMMARY_TABLES


def require_files(paths, what: str) -> None:
    """A GrokflowError naming the paths that are not files (a summary links only what exists)."""
    missing = [str(path) for path in paths if not Path(path).is_file()]
    if missing:
        raise GrokflowError(f"no such {what}: {', '.join(missing)}")


def write_markdown(text: str, path) -> None:
    """Write the markdown atomically, UTF-8."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def headline_rows(headline: Headline, table: pd.DataFrame) -> pd.DataFrame:
    """The table's rows selected by the headline's filter: one per (seed, step), else an error."""
    baselines = dict(headline.baselines).values()
    require_columns(table, ("seed", "step", *dict(headline.where), *headline.columns, *baselines),
                    f"{headline.table}.csv")
    selected = table
    for column, value in headline.where:
        selected = selected[selected[column] == value]
    if selected.duplicated(["seed", "step"]).any():
        raise GrokflowError(f"{headline.table}.csv: the rows {dict(headline.where)} are not one per (seed, step)")
    return selected


def seed_mean(rows: pd.DataFrame, column: str) -> pd.Series:
    """m(t): the column's mean over seeds at each step, indexed by step (sorted)."""
    return rows.groupby("step")[column].mean().sort_index()


def value_near(series: pd.Series, step: float) -> tuple[float, float]:
    """(step, value) of the series' checkpoint nearest `step` (the earlier one on a tie); NaN if
    `step` is NaN or the series is empty."""
    if math.isnan(step) or series.empty:
        return math.nan, math.nan
    nearest = (series.index.to_series() - step).abs().idxmin()
    return float(nearest), float(series[nearest])


def largest_change(series: pd.Series) -> tuple[float, float]:
    """(step t_j, size) of the largest |m(t_j) − m(t_{j−1})| over checkpoints with step > 0; the
    step is NaN for a flat series (size 0) and both are NaN for fewer than two checkpoints."""
    change = series[series.index > 0].diff().abs().dropna()
    if not change.notna().any():
        return math.nan, math.nan
    size = float(change.max())
    return (float(change.idxmax()) if size > 0 else math.nan), size


@dataclass(frozen=True)
class Landmarks:
    """The reference steps of an op's runs: median memorisation and grokking steps over seeds."""

    memorised_step: float
    grokked_step: float

    @classmethod
    def of(cls, grokking: pd.DataFrame) -> "Landmarks":
        return cls(float(grokking["memorised_step"].median()), float(grokking["grokked_step"].median()))

    def phase(self, step: float) -> str:
        """When a change at `step` happened relative to memorisation and grokking (module docstring)."""
        if math.isnan(step):
            return MISSING
        if step <= self.memorised_step:
            return "by memorisation"
        if math.isnan(self.grokked_step):
            return "after memorisation (no grokking)"
        if step < self.grokked_step / AT_GROKKING_FACTOR:
            return "between memorisation and grokking"
        if step <= self.grokked_step * AT_GROKKING_FACTOR:
            return "at grokking"
        return "after grokking"


def series_summary(series: pd.Series, landmarks: Landmarks, baseline: float = math.nan) -> dict:
    """(step, value) at initialisation, before grokking, at grokking and at the end; the random
    baseline; the step, size and phase of the largest change."""
    first = (float(series.index[0]), float(series.iloc[0])) if len(series) else (math.nan, math.nan)
    last = (float(series.index[-1]), float(series.iloc[-1])) if len(series) else (math.nan, math.nan)
    change_step, size = largest_change(series)
    return {
        "initial": first,
        "before": value_near(series, landmarks.memorised_step),
        "at": value_near(series, landmarks.grokked_step),
        "end": last,
        "baseline": baseline,
        "largest_change_step": change_step,
        "largest_change": size,
        "phase": landmarks.phase(change_step),
    }


def headline_summaries(tables: dict[str, pd.DataFrame], landmarks: Landmarks) -> dict[str, dict]:
    """series_summary() of every headline series whose table is in `tables`, by label."""
    summaries = {}
    for headline in HEADLINES:
        if headline.table not in tables:
            continue
        rows = headline_rows(headline, tables[headline.table])
        baselines = dict(headline.baselines)
        for column, label in zip(headline.columns, headline.labels()):
            baseline = float(rows[baselines[column]].mean()) if column in baselines else math.nan
            summaries[label] = series_summary(seed_mean(rows, column), landmarks, baseline)
    return summaries


def format_step(step: float) -> str:
    """A step (or a median of steps, which may end in .5); — for NaN (never reached)."""
    if math.isnan(step):
        return MISSING
    return str(int(step)) if step == int(step) else f"{step:.1f}"


def format_value(step_value: tuple[float, float]) -> str:
    step, value = step_value
    return MISSING if math.isnan(value) else f"{value:.4g} (step {format_step(step)})"


def format_number(value: float) -> str:
    return MISSING if math.isnan(value) else f"{value:.4g}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def relative_link(target, markdown_path) -> str:
    """`target` relative to the folder of the markdown file, with / separators."""
    return Path(os.path.relpath(Path(target).resolve(), Path(markdown_path).resolve().parent)).as_posix()


def spike_text(spikes: list[dict]) -> str:
    """The loss spikes of one run as text: steps, lowest test accuracy, recovery."""
    if not spikes:
        return "none"
    parts = []
    for spike in spikes:
        steps = format_step(spike["start"])
        if spike["end"] > spike["start"]:
            steps += f"–{format_step(spike['end'])}"
        recovered = "" if spike["recovered"] else ", not recovered by the last checkpoint"
        parts.append(f"{steps} (test acc {spike['lowest_acc']:.3g} at {format_step(spike['lowest_step'])}{recovered})")
    return "; ".join(parts)


def run_spikes(metrics: pd.DataFrame, grokking: pd.DataFrame) -> dict[int, list[dict]]:
    """Each seed's loss spikes after grokking (none for a seed that never grokked)."""
    grokked = grokking.set_index("seed")["grokked_step"]
    return {seed: [] if math.isnan(grokked[seed]) else spikes_after_grokking(run, grokked[seed])
            for seed, run in metrics.groupby("seed")}


def grokking_section(grokking: pd.DataFrame, landmarks: Landmarks, spikes: dict[int, list[dict]]) -> str:
    rows = [[str(row.seed), format_step(row.memorised_step), format_step(row.grokked_step),
             MISSING if math.isnan(row.delay_ratio) else f"{row.delay_ratio:.3g}", spike_text(spikes[row.seed])]
            for row in grokking.itertuples()]
    table = markdown_table(["seed", f"memorisation step (train acc ≥ {MEMORISED_ACC})",
                            f"grokking step (test acc ≥ {GROKKED_ACC})", "delay ratio",
                            f"after grokking, test acc < {SPIKE_ACC} (steps)"], rows)
    grokked = int(grokking["grokked_step"].notna().sum())
    return (f"## Memorisation and grokking\n\n{table}\n\n"
            f"Median over seeds: memorisation step {format_step(landmarks.memorised_step)}, grokking step "
            f"{format_step(landmarks.grokked_step)} ({grokked} of {len(grokking)} seeds grokked). The last "
            "column lists every stretch of checkpoints after grokking where test accuracy fell back below "
            f"{SPIKE_ACC}: loss spikes of the run, not noise of the measurement.\n")


def group_section(group: str, modulus: int | None) -> str:
    if group != MULTIPLICATIVE:
        return ("## Group\n\nadditive: the Fourier metrics read the numbers as Z_p in their natural order; "
                "frequency k means cos(2πkx/p).\n")
    generator = "g" if modulus is None else f"g = {smallest_primitive_root(modulus)}"
    return ("## Group\n\nmultiplicative: the Fourier metrics read the nonzero numbers in discrete-log order "
            f"x = gⁱ ({generator}, the smallest primitive root), i = 0 … p−2; frequency k means "
            "cos(2πk·i/(p−1)). Token 0 is not in the group and is left out of them.\n")


def seed_frequencies(key_frequencies: pd.DataFrame) -> dict[int, pd.DataFrame]:
    return {int(seed): rows.sort_values("rank") for seed, rows in key_frequencies.groupby("seed")}


def key_frequency_section(key_frequencies: pd.DataFrame) -> str:
    rows = [[str(seed), ", ".join(str(int(k)) for k in rows["frequency"]), str(len(rows)),
             f"{rows['cumulative_fraction'].iloc[-1]:.3f}"]
            for seed, rows in seed_frequencies(key_frequencies).items()]
    table = markdown_table(["seed", "key frequencies k (strongest first)", "count", "share of the power"], rows)
    return ("## Key frequencies\n\nEach seed's own: the fewest frequencies of its final embedding that hold "
            f"the configured share of its non-constant Fourier power. Seeds are never pooled.\n\n{table}\n")


def change_text(summary: dict) -> str:
    """'step: size (phase)' of a series' largest change, or 'none' for a flat series."""
    if math.isnan(summary["largest_change_step"]):
        return "none" if summary["largest_change"] == 0 else MISSING
    step, size = format_step(summary["largest_change_step"]), format_number(summary["largest_change"])
    return f"{step}: {size} ({summary['phase']})"


def headline_section(summaries: dict[str, dict]) -> str:
    if not summaries:
        return "## Headline series\n\nNo metric table was given.\n"
    rows = [[label, format_value(s["initial"]), format_value(s["before"]), format_value(s["at"]),
             format_value(s["end"]), format_number(s["baseline"]),
             change_text(s)]
            for label, s in summaries.items()]
    table = markdown_table(["series", "initialisation", "before grokking", "at grokking", "end",
                            "random baseline", "largest change: step, size (phase)"], rows)
    return ("## Headline series\n\n"
            "Each series is the mean over seeds at each checkpoint. *Initialisation* is its value at the "
            "first checkpoint, *before grokking* at the checkpoint nearest the median memorisation step, "
            "*at grokking* at the checkpoint nearest the median grokking step (over the seeds that "
            "grokked), *end* at the last checkpoint; the step each value was read at is in brackets. "
            "*Random baseline* is the value for structure-free weights where the metric has one (a share "
            "of a random subspace, evenly spread power, chance-level loss): a value means structure only "
            "as far as it stands from it. *Largest change* is the checkpoint (step > 0) reached by the "
            "largest absolute change between consecutive checkpoints, its size, and when it happened "
            f"relative to memorisation and grokking.\n\n{table}\n")


def figure_section(figures: list, markdown_path) -> str:
    links = []
    for figure in figures:
        link = relative_link(figure, markdown_path)
        links.append(f"![{Path(link).with_suffix('').as_posix()}]({link})")
    return "## Figures\n\n" + "\n\n".join(links) + "\n"


def op_summary(op: str, metrics: pd.DataFrame, key_frequencies: pd.DataFrame,
               tables: dict[str, pd.DataFrame], figures: list, markdown_path, modulus: int | None = None) -> str:
    """The markdown of results/{op}/summary.md; figure links relative to markdown_path's folder."""
    require_columns(metrics, METRIC_COLUMNS, "the metrics CSV")
    require_columns(key_frequencies, KEY_FREQUENCY_COLUMNS, "the key-frequencies CSV")
    grokking = grokking_summary(metrics)
    landmarks = Landmarks.of(grokking)
    sections = [
        f"# Mechanism summary: {op}\n\nGenerated by scripts/op_summary.py from the CSVs of this op; "
        "do not edit by hand.\n",
        group_section(table_group(key_frequencies, "the key-frequencies CSV"), modulus),
        grokking_section(grokking, landmarks, run_spikes(metrics, grokking)),
        key_frequency_section(key_frequencies),
        headline_section(headline_summaries(tables, landmarks)),
        figure_section(figures, markdown_path),
    ]
    return "\n".join(sections)


def step_list(steps: pd.Series) -> str:
    return ", ".join(format_step(step) for step in steps)


def all_ops_summary(ops: list[str], metrics: list[pd.DataFrame], key_frequencies: list[pd.DataFrame],
                    summaries: list, markdown_path) -> str:
    """The markdown of results/summary.md: one row per op, linking each op's summary."""
    rows = []
    for op, op_metrics, op_frequencies, summary in zip(ops, metrics, key_frequencies, summaries, strict=True):
        require_columns(op_frequencies, KEY_FREQUENCY_COLUMNS, f"the key-frequencies CSV of {op}")
        grokking = grokking_summary(op_metrics)
        spikes = run_spikes(op_metrics, grokking)
        frequencies = "; ".join(f"{seed}: {', '.join(str(int(k)) for k in rows['frequency'])}"
                                for seed, rows in seed_frequencies(op_frequencies).items())
        rows.append([op, table_group(op_frequencies, f"the key-frequencies CSV of {op}"), step_list(grokking["seed"]),
                     step_list(grokking["memorised_step"]), step_list(grokking["grokked_step"]),
                     ", ".join(str(len(spikes[seed])) for seed in grokking["seed"]), frequencies,
                     f"[{op}]({relative_link(summary, markdown_path)})"])
    header = ["op", "group", "seeds", f"memorisation step (train acc ≥ {MEMORISED_ACC}), per seed",
              f"grokking step (test acc ≥ {GROKKED_ACC}), per seed",
              f"stretches of test acc < {SPIKE_ACC} after grokking, per seed", "key frequencies, per seed",
              "summary"]
    return ("# Mechanism summary: all ops\n\nGenerated by scripts/all_ops_summary.py from the CSVs; "
            f"do not edit by hand. {MISSING} means never reached. The Fourier metrics read x×y and x÷y in "
            "the multiplicative group (discrete-log order, token 0 left out) unless the group column says "
            f"additive.\n\n{markdown_table(header, rows)}\n")

"""The mechanism summary of an op (results/{op}/summary.md) and of all ops (results/summary.md),
generated from the CSVs, never written by hand.

Per seed, the memorisation step (first checkpoint with train accuracy ≥ 0.99) and the grokking
step (first with test accuracy ≥ 0.95) come from grokflow.summary.grokking_summary. Every
headline series of HEADLINES whose table is given is reduced to its seed-mean series m(t)
(mean over seeds at each step) and summarised by:

- before grokking: m at the series' checkpoint nearest (in step) the median memorisation step;
- at grokking: m at the series' checkpoint nearest the median grokking step, the median taken
  over the seeds that grokked;
- end: m at the series' last checkpoint;
- step of largest change: over the checkpoints with step > 0, the step t_j where
  |m(t_j) − m(t_{j−1})| is largest (the checkpoint at which the jump has happened).

Each value is shown with the checkpoint step it was read at, since some metrics are saved at a
few steps only.
"""

from dataclasses import dataclass
import math
import os
from pathlib import Path

import pandas as pd

from .errors import GrokflowError
from .io import atomic_path
from .summary import GROKKED_ACC, MEMORISED_ACC, grokking_summary

MISSING = "—"
METRIC_COLUMNS = ("seed", "step", "train_acc", "test_acc")
KEY_FREQUENCY_COLUMNS = ("rank", "frequency", "power_fraction", "cumulative_fraction")


@dataclass(frozen=True)
class Headline:
    """Value columns of one metric table, on the rows where every `where` column equals its value;
    labelled column(subject)."""

    table: str
    where: tuple[tuple[str, object], ...]
    columns: tuple[str, ...]
    subject: str

    def labels(self) -> list[str]:
        return [f"{column}({self.subject})" for column in self.columns]


HEADLINES = (
    Headline("effective_rank", (("matrix", "W_E"), ("layer", -1)), ("erank",), "W_E"),
    Headline("effective_rank", (("matrix", "W_U"),), ("erank",), "W_U"),
    Headline("gini_ipr", (("variant", "per_dimension"),), ("gini", "ipr"), "W_E per dimension"),
    Headline("phase_coherence", (("column", -1),), ("r2",), "W_E phase"),
    Headline("fourier_basis", (("matrix", "W_E"),), ("l1_l2_ratio", "top_k_energy"), "W_E"),
    Headline("group_representation", (), ("residual", "orth_defect"), "W_E shift"),
    Headline("cosine", (), ("cosine",), "neighbouring W_E rows"),
    Headline("qk_circuit_diagonal", (("layer", 0), ("head", -1)), ("diagonal_fraction",), "layer 0 QK"),
    Headline("intrinsic_dimension", (("matrix", "W_E"),), ("twonn_id",), "W_E"),
    Headline("intrinsic_dimension", (("matrix", "W_QK"), ("layer", 0)), ("erank",), "layer 0 W_QK"),
    Headline("agop_circulant", (("split", "train"), ("block", "full")), ("agop_erank", "agop_top_share"), "train AGOP"),
    Headline("agop_circulant", (("split", "train"), ("block", "x")),
             ("gram_circulant_deviation", "agop_circulant_deviation"), "W_E Gram / pulled-back AGOP"),
    Headline("circuit_competition", (("matrix", "W_E"),), ("fourier_share", "memo_share", "neither_share"), "W_E"),
    Headline("circuit_competition", (("matrix", "W_U"),), ("fourier_share", "memo_share", "neither_share"), "W_U"),
)
TABLE_NAMES = tuple(dict.fromkeys(headline.table for headline in HEADLINES))


def require_columns(frame: pd.DataFrame, columns, name: str) -> None:
    """A GrokflowError naming the columns of `columns` that the CSV `name` lacks."""
    missing = [column for column in columns if column not in frame]
    if missing:
        raise GrokflowError(f"{name} lacks the column(s) {', '.join(missing)}")


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
    require_columns(table, ("seed", "step", *dict(headline.where), *headline.columns), f"{headline.table}.csv")
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


def largest_change_step(series: pd.Series) -> float:
    """The step t_j > 0 with the largest |m(t_j) − m(t_{j−1})| over checkpoints with step > 0."""
    change = series[series.index > 0].diff().abs().dropna()
    return float(change.idxmax()) if change.notna().any() else math.nan


@dataclass(frozen=True)
class Landmarks:
    """The reference steps of an op's runs: median memorisation and grokking steps over seeds."""

    memorised_step: float
    grokked_step: float

    @classmethod
    def of(cls, grokking: pd.DataFrame) -> "Landmarks":
        return cls(float(grokking["memorised_step"].median()), float(grokking["grokked_step"].median()))


def series_summary(series: pd.Series, landmarks: Landmarks) -> dict[str, tuple[float, float]]:
    """(step, value) before grokking, at grokking and at the end, and the step of largest change."""
    last = (float(series.index[-1]), float(series.iloc[-1])) if len(series) else (math.nan, math.nan)
    return {
        "before": value_near(series, landmarks.memorised_step),
        "at": value_near(series, landmarks.grokked_step),
        "end": last,
        "largest_change_step": largest_change_step(series),
    }


def headline_summaries(tables: dict[str, pd.DataFrame], landmarks: Landmarks) -> dict[str, dict]:
    """series_summary() of every headline series whose table is in `tables`, by label."""
    summaries = {}
    for headline in HEADLINES:
        if headline.table not in tables:
            continue
        rows = headline_rows(headline, tables[headline.table])
        for column, label in zip(headline.columns, headline.labels()):
            summaries[label] = series_summary(seed_mean(rows, column), landmarks)
    return summaries


def format_step(step: float) -> str:
    """A step (or a median of steps, which may end in .5); — for NaN (never reached)."""
    if math.isnan(step):
        return MISSING
    return str(int(step)) if step == int(step) else f"{step:.1f}"


def format_value(step_value: tuple[float, float]) -> str:
    step, value = step_value
    return MISSING if math.isnan(value) else f"{value:.4g} (step {format_step(step)})"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def relative_link(target, markdown_path) -> str:
    """`target` relative to the folder of the markdown file, with / separators."""
    return Path(os.path.relpath(Path(target).resolve(), Path(markdown_path).resolve().parent)).as_posix()


def grokking_section(grokking: pd.DataFrame, landmarks: Landmarks) -> str:
    rows = [[str(row.seed), format_step(row.memorised_step), format_step(row.grokked_step),
             MISSING if math.isnan(row.delay_ratio) else f"{row.delay_ratio:.3g}"]
            for row in grokking.itertuples()]
    table = markdown_table(["seed", f"memorisation step (train acc ≥ {MEMORISED_ACC})",
                            f"grokking step (test acc ≥ {GROKKED_ACC})", "delay ratio"], rows)
    grokked = int(grokking["grokked_step"].notna().sum())
    return (f"## Memorisation and grokking\n\n{table}\n\n"
            f"Median over seeds: memorisation step {format_step(landmarks.memorised_step)}, grokking step "
            f"{format_step(landmarks.grokked_step)} ({grokked} of {len(grokking)} seeds grokked).\n")


def key_frequency_section(key_frequencies: pd.DataFrame) -> str:
    rows = [[str(int(row.rank)), str(int(row.frequency)), f"{row.power_fraction:.3f}",
             f"{row.cumulative_fraction:.3f}"] for row in key_frequencies.sort_values("rank").itertuples()]
    table = markdown_table(["rank", "frequency k", "power fraction", "cumulative fraction"], rows)
    return f"## Key frequencies\n\n{table}\n"


def headline_section(summaries: dict[str, dict]) -> str:
    if not summaries:
        return "## Headline series\n\nNo metric table was given.\n"
    rows = [[label, format_value(s["before"]), format_value(s["at"]), format_value(s["end"]),
             format_step(s["largest_change_step"])] for label, s in summaries.items()]
    table = markdown_table(["series", "before grokking", "at grokking", "end", "step of largest change"], rows)
    return ("## Headline series\n\n"
            "Each series is the mean over seeds at each checkpoint. *Before grokking* is its value at "
            "the checkpoint nearest the median memorisation step, *at grokking* at the checkpoint "
            "nearest the median grokking step (over the seeds that grokked), *end* at the last "
            "checkpoint; the step each value was read at is in brackets. *Step of largest change* is "
            "the checkpoint (step > 0) reached by the largest absolute change between consecutive "
            f"checkpoints.\n\n{table}\n")


def figure_section(figures: list, markdown_path) -> str:
    links = []
    for figure in figures:
        link = relative_link(figure, markdown_path)
        links.append(f"![{Path(link).with_suffix('').as_posix()}]({link})")
    return "## Figures\n\n" + "\n\n".join(links) + "\n"


def op_summary(op: str, metrics: pd.DataFrame, key_frequencies: pd.DataFrame,
               tables: dict[str, pd.DataFrame], figures: list, markdown_path) -> str:
    """The markdown of results/{op}/summary.md; figure links relative to markdown_path's folder."""
    require_columns(metrics, METRIC_COLUMNS, "the metrics CSV")
    require_columns(key_frequencies, KEY_FREQUENCY_COLUMNS, "the key-frequencies CSV")
    grokking = grokking_summary(metrics)
    landmarks = Landmarks.of(grokking)
    sections = [
        f"# Mechanism summary: {op}\n\nGenerated by scripts/summary.py from the CSVs of this op; "
        "do not edit by hand.\n",
        grokking_section(grokking, landmarks),
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
        grokking = grokking_summary(op_metrics)
        frequencies = ", ".join(str(int(k)) for k in op_frequencies.sort_values("rank")["frequency"])
        rows.append([op, step_list(grokking["seed"]), step_list(grokking["memorised_step"]),
                     step_list(grokking["grokked_step"]), frequencies,
                     f"[{op}]({relative_link(summary, markdown_path)})"])
    header = ["op", "seeds", f"memorisation step (train acc ≥ {MEMORISED_ACC}), per seed",
              f"grokking step (test acc ≥ {GROKKED_ACC}), per seed", "key frequencies", "summary"]
    return ("# Mechanism summary: all ops\n\nGenerated by scripts/summary_all.py from the CSVs; "
            f"do not edit by hand. {MISSING} means never reached.\n\n{markdown_table(header, rows)}\n")

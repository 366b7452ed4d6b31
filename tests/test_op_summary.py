import math
import subprocess
import sys

import pandas as pd
import pytest

from grokflow.errors import GrokflowError
from grokflow.op_summary import Landmarks, all_ops_summary, headline_summaries, op_summary
from grokflow.grokking import grokking_summary

STEPS = [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
MEMORISED = {0: 10, 1: 20, 2: 20}  # median 20
GROKKED = {0: 200, 1: 500, 2: 1000}  # median 500


def metrics_frame(grokked=GROKKED):
    rows = [{"seed": seed, "step": step, "train_loss": 1.0, "test_loss": 1.0,
             "train_acc": 1.0 if step >= MEMORISED[seed] else 0.5,
             "test_acc": 1.0 if step >= grokked[seed] else 0.1}
            for seed in MEMORISED for step in STEPS]
    return pd.DataFrame(rows)


def step_change(step, change_step, before, after):
    return before if step < change_step else after


def group_table():
    """residual: 0.5 + 0.01·seed, dropping by 0.4 at step 500 (and an excluded jump 0 → 1);
    orth_defect: 3 before step 50, 1 from it."""
    rows = [{"seed": seed, "step": step,
             "residual": (100.0 if step == 0 else step_change(step, 500, 0.5, 0.1)) + 0.01 * seed,
             "orth_defect": step_change(step, 50, 3.0, 1.0), "rank": 4, "heldout_residual": 0.5}
            for seed in MEMORISED for step in STEPS]
    return pd.DataFrame(rows)


def erank_table():
    """W_E: 10 until step 200, then 4; W_U constant 7; a W_Q row with a larger jump at step 5."""
    rows = []
    for seed in MEMORISED:
        for step in STEPS:
            rows += [{"seed": seed, "step": step, "layer": -1, "matrix": "W_E", "erank": step_change(step, 200, 10.0, 4.0)},
                     {"seed": seed, "step": step, "layer": -1, "matrix": "W_U", "erank": 7.0},
                     {"seed": seed, "step": step, "layer": 0, "matrix": "W_Q", "erank": step_change(step, 5, 90.0, 1.0)}]
    return pd.DataFrame(rows)


def qk_table():
    """Saved at a few steps only; the head −1 rows are 0.2 then 0.9 from step 500."""
    rows = [{"seed": seed, "step": step, "layer": 0, "head": head,
             "diagonal_fraction": step_change(step, 500, 0.2, 0.9) if head == -1 else 0.0, "random_baseline": 0.0625}
            for seed in MEMORISED for step in (0, 100, 500, 1000) for head in (-1, 0)]
    return pd.DataFrame(rows)


def key_frequency_table(group="additive"):
    """Seed 0: k = 4 then 11; seed 1: k = 7; seed 2: k = 2, 3."""
    return pd.DataFrame({"group": group, "seed": [0, 0, 1, 2, 2], "rank": [2, 1, 1, 1, 2],
                         "frequency": [11, 4, 7, 2, 3], "power_fraction": [0.3, 0.5, 0.9, 0.6, 0.3],
                         "cumulative_fraction": [0.8, 0.5, 0.9, 0.6, 0.9]})


def landmarks():
    return Landmarks.of(grokking_summary(metrics_frame()))


def test_landmarks_are_median_memorisation_and_grokking_steps():
    assert landmarks() == Landmarks(memorised_step=20.0, grokked_step=500.0)


def test_step_change_gives_before_at_end_and_step_of_largest_change():
    summaries = headline_summaries({"group_representation": group_table()}, landmarks())
    residual = summaries["residual(W_E shift)"]
    assert residual["before"] == (20.0, pytest.approx(0.51))
    assert residual["at"] == (500.0, pytest.approx(0.11))
    assert residual["end"] == (1000.0, pytest.approx(0.11))
    assert residual["largest_change_step"] == 500.0  # not the larger jump 0 → 1: step 0 is excluded
    defect = summaries["orth_defect(W_E shift)"]
    assert (defect["before"][1], defect["at"][1], defect["largest_change_step"]) == (3.0, 1.0, 50.0)


def test_row_filters_select_the_headline_rows():
    summaries = headline_summaries({"effective_rank": erank_table()}, landmarks())
    assert set(summaries) == {"erank(W_E)", "erank(W_U)"}
    assert summaries["erank(W_E)"]["largest_change_step"] == 200.0  # not W_Q's jump at step 5
    assert summaries["erank(W_E)"]["at"] == (500.0, 4.0)
    assert summaries["erank(W_U)"]["end"] == (1000.0, 7.0)


def test_sparse_series_are_read_at_their_nearest_checkpoint():
    summary = headline_summaries({"qk_circuit_diagonal": qk_table()}, landmarks())["diagonal_fraction(layer 0 QK)"]
    assert summary["before"] == (0.0, pytest.approx(0.2))  # step 0 is nearer to 20 than step 100
    assert summary["at"] == (500.0, pytest.approx(0.9)) and summary["largest_change_step"] == 500.0


def test_no_grokking_gives_no_value_at_grokking():
    never = {seed: math.inf for seed in MEMORISED}
    marks = Landmarks.of(grokking_summary(metrics_frame(never)))
    residual = headline_summaries({"group_representation": group_table()}, marks)["residual(W_E shift)"]
    assert math.isnan(residual["at"][1]) and residual["end"][1] == pytest.approx(0.11)


def test_table_with_several_rows_per_checkpoint_is_refused():
    with pytest.raises(GrokflowError, match="not one per"):
        headline_summaries({"cosine": erank_table().rename(columns={"erank": "cosine"})}, landmarks())


def test_table_missing_a_column_is_refused():
    with pytest.raises(GrokflowError, match="gini_ipr.csv lacks the column.*ipr"):
        headline_summaries({"gini_ipr": group_table().assign(variant="per_dimension", gini=0.5)}, landmarks())


def test_markdown_has_steps_frequencies_table_and_relative_figure_links(tmp_path):
    figures = [tmp_path / "x+y" / "figures" / "accuracy.png", tmp_path / "x+y" / "figures" / "effective_rank" / "W_E.png"]
    markdown = op_summary("x+y", metrics_frame(), key_frequency_table(), {"group_representation": group_table()},
                          figures, tmp_path / "x+y" / "summary.md")
    assert "# Mechanism summary: x+y" in markdown
    for seed in MEMORISED:
        assert f"| {seed} | {MEMORISED[seed]} | {GROKKED[seed]} |" in markdown
    assert "memorisation step 20, grokking step 500" in markdown
    assert "| 0 | 4, 11 | 2 | 0.800 |" in markdown and "| 1 | 7 | 1 | 0.900 |" in markdown  # each seed's own
    assert "| heldout_residual(W_E shift) | 0.5 (step 0) |" in markdown and "| none |" in markdown  # flat
    assert ("| residual(W_E shift) | 100 (step 0) | 0.51 (step 20) | 0.11 (step 500) | 0.11 (step 1000) | — "
            "| 500: 0.4 (at grokking) |") in markdown
    assert "additive: the Fourier metrics read the numbers as Z_p" in markdown
    assert "erank(W_E)" not in markdown  # a table not given is skipped
    assert "(figures/accuracy.png)" in markdown and "(figures/effective_rank/W_E.png)" in markdown
    assert str(tmp_path) not in markdown


def write_op_inputs(folder, grokked=GROKKED):
    folder.mkdir(parents=True)
    metrics_frame(grokked).to_csv(folder / "metric.csv", index=False)
    key_frequency_table().to_csv(folder / "key_frequencies.csv", index=False)
    group_table().to_csv(folder / "group_representation.csv", index=False)
    (folder / "figures").mkdir()
    (folder / "figures" / "accuracy.png").write_bytes(b"png")


def run_script(repo, script, *args):
    return subprocess.run([sys.executable, str(repo / "scripts" / script), *map(str, args)],
                          capture_output=True, text=True, cwd=repo)


def summarise_op(repo, results, op):
    folder = results / op
    return run_script(repo, "op_summary.py", "--op", op, "--metrics", folder / "metric.csv",
                      "--key-frequencies", folder / "key_frequencies.csv",
                      "--tables", f"group_representation={folder / 'group_representation.csv'}",
                      "--figures", folder / "figures" / "accuracy.png", "--output", folder / "summary.md")


def test_summary_scripts_write_linked_markdown(repo, tmp_path):
    ops = ["x+y", "x×y"]
    write_op_inputs(tmp_path / "x+y")
    write_op_inputs(tmp_path / "x×y", {0: 200, 1: math.inf, 2: 1000})
    for op in ops:
        assert summarise_op(repo, tmp_path, op).returncode == 0
    assert "](figures/accuracy.png)" in (tmp_path / "x+y" / "summary.md").read_text(encoding="utf-8")
    done = run_script(repo, "all_ops_summary.py", "--ops", *ops,
                      "--metrics", *(tmp_path / op / "metric.csv" for op in ops),
                      "--key-frequencies", *(tmp_path / op / "key_frequencies.csv" for op in ops),
                      "--summaries", *(tmp_path / op / "summary.md" for op in ops),
                      "--output", tmp_path / "summary.md")
    assert done.returncode == 0, done.stderr
    markdown = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "[x+y](x+y/summary.md)" in markdown and "[x×y](x×y/summary.md)" in markdown
    assert "| x+y | additive | 0, 1, 2 | 10, 20, 20 | 200, 500, 1000 | 0, 0, 0 | 0: 4, 11; 1: 7; 2: 2, 3 |" in markdown
    assert "| 200, —, 1000 |" in markdown


def test_summary_script_reports_user_mistakes_in_one_line(repo, tmp_path):
    write_op_inputs(tmp_path / "x+y")
    (tmp_path / "x+y" / "figures" / "accuracy.png").unlink()
    missing_figure = summarise_op(repo, tmp_path, "x+y")
    assert missing_figure.returncode == 1 and missing_figure.stderr.strip().startswith("error: no such figure")
    unknown_table = run_script(repo, "op_summary.py", "--op", "x+y", "--metrics", "m.csv", "--key-frequencies", "k.csv",
                               "--tables", "erank=e.csv", "--output", tmp_path / "s.md")
    assert unknown_table.returncode == 2 and "unknown table 'erank'" in unknown_table.stderr


def test_all_ops_summary_needs_aligned_lists(tmp_path):
    with pytest.raises(ValueError):
        all_ops_summary(["x+y", "x-y"], [metrics_frame()], [key_frequency_table()], [tmp_path / "s.md"],
                        tmp_path / "summary.md")


def test_baselines_and_phases_of_the_headline_series():
    summary = headline_summaries({"qk_circuit_diagonal": qk_table()}, landmarks())["diagonal_fraction(layer 0 QK)"]
    assert summary["baseline"] == pytest.approx(0.0625) and summary["initial"] == (0.0, pytest.approx(0.2))
    assert summary["largest_change"] == pytest.approx(0.7) and summary["phase"] == "at grokking"
    marks = landmarks()
    assert [marks.phase(step) for step in (20, 100, 450, 600, 1000)] == [
        "by memorisation", "between memorisation and grokking", "at grokking", "at grokking", "after grokking"]
    with pytest.raises(GrokflowError, match="random_baseline"):
        headline_summaries({"qk_circuit_diagonal": qk_table().drop(columns="random_baseline")}, landmarks())


def test_spikes_after_grokking_are_listed_with_their_steps():
    metrics = metrics_frame()
    dips = (metrics["seed"] == 0) & metrics["step"].isin([500, 1000])  # seed 0 grokked at 200, then dips
    metrics.loc[dips, "test_acc"] = [0.4, 0.85]
    markdown = op_summary("x×y", metrics, key_frequency_table("multiplicative"), {}, [], "summary.md", modulus=31)
    assert "500–1000 (test acc 0.4 at 500, not recovered by the last checkpoint)" in markdown
    assert "multiplicative: the Fourier metrics read the nonzero numbers in discrete-log order x = gⁱ (g = 3" in markdown
    all_ops = all_ops_summary(["x×y"], [metrics], [key_frequency_table("multiplicative")], ["x/summary.md"],
                              "summary.md")
    assert "| x×y | multiplicative | 0, 1, 2 | 10, 20, 20 | 200, 500, 1000 | 1, 0, 0 |" in all_ops


def test_mixed_groups_are_refused():
    mixed = key_frequency_table().assign(group=["additive"] * 4 + ["multiplicative"])
    with pytest.raises(GrokflowError, match="group column"):
        op_summary("x+y", metrics_frame(), mixed, {}, [], "summary.md")

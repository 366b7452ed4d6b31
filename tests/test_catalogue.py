"""The catalogue of op metrics (grokflow.catalogue) is the one list the rules, the summary, the
report and the SLURM profile read: each entry names code that exists, a metric added to it is
planned by the workflow with its figure and nothing else to edit, and the profile bundles exactly
the short rules it names."""

import importlib
import os
import re
import shutil

import yaml

from grokflow import catalogue
from grokflow.catalogue import EVERY_CHECKPOINT, METRICS

from conftest import REPO, copy_workflow, planned_jobs, snakemake

TOY_SCRIPT = '''"""Frobenius norm of W_E at every checkpoint. Output columns: seed, step, norm."""

from grokflow.metric_runner import metric_main


def norm_rows(stacked, infos, args):
    return [[{"norm": float(w.norm())}] for w in stacked["W_E"]]


if __name__ == "__main__":
    metric_main(__doc__, norm_rows, lambda model: ["W_E"])
'''
TOY_PLOT = '''"""The toy norm against step."""
'''
TOY_ENTRY = '''    Metric("toy_norm", "toy:norm_rows", "W_E", against_step=True, caption="the norm of W_E",
           figures=("toy_norm",)),
'''


def test_every_entry_names_a_library_function_and_its_scripts():
    for metric in METRICS:
        module, _, name = metric.function.partition(":")
        assert callable(getattr(importlib.import_module(module), name)), metric.name
        assert (REPO / f"scripts/metrics/{metric.name}.py").is_file(), metric.name
        if metric.against_step:
            assert (REPO / f"scripts/plots/{metric.name}.py").is_file(), metric.name
            assert metric.caption, metric.name


def test_names_are_unique_and_headlines_read_their_own_table():
    names = [metric.name for metric in METRICS]
    assert len(names) == len(set(names))
    for metric in METRICS:
        assert all(headline.table == metric.name for headline in metric.headlines), metric.name
    assert catalogue.SUMMARY_TABLES == tuple(dict.fromkeys(headline.table for headline in catalogue.HEADLINES))


def test_the_slurm_profile_bundles_exactly_the_short_rules_of_the_catalogue():
    profile = yaml.safe_load((REPO / "workflow/profiles/slurm/config.yaml").read_text())
    assert dict(entry.split("=") for entry in profile["groups"]) == catalogue.slurm_groups()
    rules = {name for path in (REPO / "workflow/rules").glob("*.smk")
             for name in re.findall(r"^rule (\w+):", path.read_text(), flags=re.M)}
    assert set(catalogue.slurm_groups()) <= rules, set(catalogue.slurm_groups()) - rules


def test_a_metric_added_to_the_catalogue_is_planned_with_its_figure_and_summary(tmp_path, monkeypatch):
    workdir = copy_workflow(tmp_path)
    shutil.copytree(REPO / "src/grokflow", tmp_path / "src/grokflow", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "src"), prepend=os.pathsep)
    (workdir / "scripts/metrics/toy_norm.py").write_text(TOY_SCRIPT)
    (workdir / "scripts/plots/toy_norm.py").write_text(TOY_PLOT)
    source = tmp_path / "src/grokflow/catalogue.py"
    text = source.read_text()
    end_of_metrics = "\n)\nBY_NAME = "
    assert end_of_metrics in text
    source.write_text(text.replace(end_of_metrics, "\n" + TOY_ENTRY.rstrip("\n") + end_of_metrics))

    result = snakemake(workdir, "-n", "-p", "all")
    assert result.returncode == 0, result.stderr
    jobs = planned_jobs(result)
    for op in ("x+y", "x-y", "x×y", "x÷y"):
        assert (EVERY_CHECKPOINT, f"op={op}, metric=toy_norm") in jobs
        assert ("metric_figure", f"op={op}, figure=toy_norm") in jobs
    assert "--table results/x+y/toy_norm.csv" in result.stdout
    summary = next(line for line in result.stdout.splitlines() if "scripts/op_summary.py --op x+y " in line)
    assert "results/x+y/figures/toy_norm.png" in summary

"""The Snakefile itself: parsing it imports no torch, it runs from another working directory, and
a change of library code reruns exactly the jobs whose scripts import it."""

import os
from pathlib import Path
import re
import shutil
import subprocess
import sys
import time
import tomllib

import pytest
import yaml

import grokflow
from grokflow.import_graph import library_files

from conftest import CI_CONFIG, REPO, copy_workflow, planned_jobs, snakemake

PACKAGE = Path(grokflow.__file__).resolve().parent
OPS = yaml.safe_load((REPO / CI_CONFIG).read_text())["ops"]
PNG = b"\x89PNG\r\n\x1a\n"
# Every rule whose script draws with grokflow.plotting, and what reads their figures.
PLOTTING_RULES = {
    "training_curves", "plot_effective_rank", "metric_figure", "qk_circuit_spectrum", "psd_heatmap",
    "fourier_basis_figures", "intrinsic_dimension_figures", "agop_figures", "llc_rescaling_figures",
    "llc_trace_figures", "slt_against_step_figures", "llc_calibration_figures", "llc_rescaling_cv_figure",
    "lora_rank_demo", "lora_matrix_figures", "lora_finetune_figures", "table_connectivity_figures",
    "lowrank_decay_figures", "op_summary", "all_ops_summary", "all",
}


@pytest.mark.parametrize("statement", ["import grokflow.metrics.gini_ipr as gini",
                                       "from grokflow.metrics import gini_ipr",
                                       "from grokflow.metrics.gini_ipr import gini_ipr_rows"])
def test_every_form_of_import_reaches_the_module(tmp_path, statement):
    script = tmp_path / "script.py"
    script.write_text(f"{statement}\n")
    module = PACKAGE / "metrics/gini_ipr.py"
    # The module, the packages on the way to it, and what the module itself imports.
    assert library_files(script) == sorted(
        {PACKAGE / "__init__.py", PACKAGE / "metrics/__init__.py", module, *library_files(module)})


def test_library_files_follow_relative_imports_and_skip_other_code():
    files = library_files(REPO / "scripts/metrics/gini_ipr.py")
    # runner.py: `from ..model import ModelConfig`; checkpoints.py: `from .io import atomic_path`.
    assert {PACKAGE / "metric_runner.py", PACKAGE / "model.py", PACKAGE / "io.py"} <= set(files)
    assert PACKAGE / "plotting.py" not in files
    assert all(file.is_relative_to(PACKAGE) for file in files)


def test_parsing_the_workflow_imports_no_torch(tmp_path):
    workdir = copy_workflow(tmp_path)
    command = [sys.executable, "-X", "importtime", "-m", "snakemake", "--configfile", CI_CONFIG, "-n", "all"]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    imported = re.findall(r"^import time:.*\|\s*(\S+)$", result.stderr, flags=re.M)
    assert {"grokflow.config", "grokflow.import_graph"} <= set(imported)
    assert not [name for name in imported if name.split(".")[0] == "torch"]


def test_min_version_is_the_pinned_snakemake():
    minimum = re.search(r'^min_version\("([\d.]+)"\)$', (REPO / "Snakefile").read_text(), flags=re.M).group(1)
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert f"snakemake>={minimum},<10" in dependencies


def shell_commands(result) -> list[str]:
    return sorted(re.findall(r"^Shell command: (.*)$", result.stdout, flags=re.M))


def test_the_workflow_runs_from_another_directory(tmp_path):
    repo, elsewhere = tmp_path / "repo", tmp_path / "run"
    copy_workflow(repo.mkdir() or repo)
    configfiles = (str(repo / CI_CONFIG),)
    relocated = ("-s", str(repo / "Snakefile"), "-d", str(elsewhere))
    in_place = snakemake(repo, "-n", "-p", "all")
    moved = snakemake(tmp_path, *relocated, "-n", "-p", "all", configfiles=configfiles)
    assert moved.returncode == 0, moved.stderr[-3000:]
    # The same commands: scripts found in the repository, config.yaml's values under ci.yaml's.
    assert shell_commands(in_place) and shell_commands(moved) == [
        command.replace("python scripts/", f"python {repo}/scripts/") for command in shell_commands(in_place)]
    target = "results/x+y/figures/gini_ipr.png"
    run = snakemake(tmp_path, *relocated, "-c2", target, configfiles=configfiles, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (elsewhere / target).read_bytes()[:8] == PNG
    assert not (repo / "results").exists()


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A copy of the workflow and of the grokflow package (first on PYTHONPATH, so that the rules
    declare the copy's modules) with every output of the ci DAG in place, newer than its code;
    and the jobs that built them."""
    workdir = copy_workflow(tmp_path)
    shutil.copytree(PACKAGE, tmp_path / "src/grokflow", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "src"), prepend=os.pathsep)
    dry = snakemake(workdir, "-n", "all")
    now = time.time()
    for line in re.findall(r"^    output: (.*)$", dry.stdout, flags=re.M):
        for output in map(workdir.joinpath, line.split(", ")):
            output.parent.mkdir(parents=True, exist_ok=True)
            output.touch()
            os.utime(output, (now, now))
    assert "Nothing to be done" in snakemake(workdir, "-n", "all").stdout
    return workdir, planned_jobs(dry)


def edit(module: Path) -> None:
    with module.open("a") as file:
        file.write("\n# edited\n")


def test_a_metric_change_reruns_its_jobs_and_what_reads_them(built):
    workdir, _ = built
    edit(workdir / "src/grokflow/metrics/gini_ipr.py")
    expected = [("all_ops_summary", ""), ("all", "")] + [
        job for op in OPS for job in (("checkpoint_metric", f"op={op}, metric=gini_ipr"),
                                      ("metric_figure", f"op={op}, figure=gini_ipr"), ("op_summary", f"op={op}"))]
    assert sorted(planned_jobs(snakemake(workdir, "-n", "all"))) == sorted(expected)


def test_a_plotting_change_reruns_every_figure(built):
    workdir, every_job = built
    edit(workdir / "src/grokflow/plotting.py")
    expected = [job for job in every_job if job[0] in PLOTTING_RULES]
    assert sorted(planned_jobs(snakemake(workdir, "-n", "all"))) == sorted(expected)

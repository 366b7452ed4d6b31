"""End to end: the ci config's whole DAG in a temporary copy of the workflow."""

import os
import re
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from grokflow.checkpoints import load_checkpoint, read_info, save_checkpoint
from grokflow.config import schedule, validate_config
from grokflow.metrics.effective_rank import MATRICES

from conftest import REPO

CI_CONFIG = "workflow/configs/ci.yaml"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("workflow")
    for name in ("Snakefile", "config.yaml"):
        shutil.copy(REPO / name, root / name)
    for name in ("workflow", "scripts", "envs"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    return root


@pytest.fixture(scope="module")
def ci_config():
    config = yaml.safe_load((REPO / CI_CONFIG).read_text())
    return validate_config(config, REPO / "workflow/schemas/config.schema.yaml")


def snakemake(workdir, *args):
    command = [sys.executable, "-m", "snakemake", "--configfile", CI_CONFIG, *args]
    return subprocess.run(command, cwd=workdir, capture_output=True, text=True)


def planned_jobs(result) -> list[tuple[str, str]]:
    """(rule, wildcards) of every job a dry run lists."""
    return re.findall(r"^rule (\w+):\n(?:.*\n)*?(?:    wildcards: (.*)\n|\n)", result.stdout, flags=re.M)


@pytest.fixture(scope="module")
def finished(workdir):
    """Runs before the full run: a single target builds only what it needs."""
    dry = snakemake(workdir, "-n", "-c8", "results/x-y/effective_rank.csv")
    assert dry.returncode == 0, dry.stderr
    single_target_jobs = sorted(planned_jobs(dry))
    result = snakemake(workdir, "-c2", "all")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return single_target_jobs


def test_single_target_builds_only_its_inputs(finished):
    assert finished == [("effective_rank", "op=x-y"), ("train", "op=x-y, seed=0"), ("train", "op=x-y, seed=1")]


def test_every_checkpoint_exists_and_loads(workdir, ci_config, finished):
    for op in ci_config["ops"]:
        for seed in ci_config["seeds"]:
            folder = workdir / f"results/{op}/seed{seed}"
            assert not (folder / "train_state.pt").exists()
            for step in schedule(ci_config):
                info = read_info(folder / f"checkpoints/step{step:07d}.safetensors")
                assert (info.op, info.seed, info.step) == (op, seed, step)


def test_csvs_are_well_formed_and_join(workdir, ci_config, finished):
    steps = schedule(ci_config)
    for op in ci_config["ops"]:
        metrics = pd.read_csv(workdir / f"results/{op}/metric.csv")
        assert list(metrics.columns) == ["seed", "step", "train_loss", "train_acc", "test_loss", "test_acc"]
        assert len(metrics) == len(steps) * len(ci_config["seeds"])
        assert metrics[["train_acc", "test_acc"]].stack().between(0, 1).all()
        erank = pd.read_csv(workdir / f"results/{op}/effective_rank.csv")
        assert list(erank.columns) == ["seed", "step", "layer", "matrix", "spectral_entropy", "erank"]
        assert set(erank["matrix"]) == set(MATRICES)
        assert erank["erank"].notna().all() and (erank["erank"] >= 1).all()
        joined = erank.merge(metrics, on=["seed", "step"], how="left")
        assert joined["test_acc"].notna().all()


def test_grokking_summary_has_every_run(workdir, ci_config, finished):
    summary = pd.read_csv(workdir / "results/grokking_summary.csv")
    assert list(summary.columns) == ["op", "seed", "memorised_step", "grokked_step", "delay_ratio",
                                     "final_train_acc", "final_test_acc"]
    assert sorted(zip(summary["op"], summary["seed"])) == sorted(
        (op, seed) for op in ci_config["ops"] for seed in ci_config["seeds"])


def test_every_figure_is_a_png_and_a_pdf(workdir, ci_config, finished):
    for op in ci_config["ops"]:
        figures = workdir / f"results/{op}/figures"
        stems = ["accuracy", "loss"] + [f"effective_rank/{m}" for m in MATRICES]
        for stem in stems:
            assert (figures / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert (figures / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"


def test_a_changed_checkpoint_reruns_only_its_op(workdir, ci_config, finished):
    assert "Nothing to be done" in snakemake(workdir, "-n", "all").stdout
    final = workdir / f"results/x+y/seed0/checkpoints/step{ci_config['steps']:07d}.safetensors"
    expected = [("all", ""), ("effective_rank", "op=x+y"), ("plot_effective_rank", "op=x+y")]
    # Snakemake >= 9.18 skips a touched input whose checksum is unchanged (files < 1 MB) ...
    os.utime(final)
    assert sorted(planned_jobs(snakemake(workdir, "-n", "all", "--max-checksum-file-size", "0"))) == expected
    # ... and reruns on a real change of content.
    tensors, info = load_checkpoint(final)
    save_checkpoint(final, tensors | {"W_U": 1.01 * tensors["W_U"]}, info)
    assert sorted(planned_jobs(snakemake(workdir, "-n", "all"))) == expected


def test_dag_is_valid_dot(workdir):
    result = snakemake(workdir, "--dag")
    assert result.returncode == 0
    dot = result.stdout.strip()
    assert dot.startswith("digraph") and dot.endswith("}")
    nodes = set(re.findall(r"^\s*(\d+)\[label", dot, flags=re.M))
    edges = re.findall(r"^\s*(\d+) -> (\d+)", dot, flags=re.M)
    assert edges and all(a in nodes and b in nodes for a, b in edges)


def test_lint_is_clean():
    result = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0
    assert "Congratulations" in result.stdout + result.stderr

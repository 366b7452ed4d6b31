"""A training's identity (issue 26): a training change replans the training whatever the target,
a broken checkpoint stops Snakemake in one line before any job, and checkpoints of two trainings
never mix."""

import json
import re
import subprocess
import sys
from dataclasses import asdict, replace

import pytest
import torch
from safetensors.torch import save_file

from grokflow.checkpoints import METADATA_KEY, CheckpointInfo, read_info, save_checkpoint
from grokflow.errors import GrokflowError
from grokflow.manifest import checkpoint_problem, manifest_text, training_id
from grokflow.metric_runner import load_stack
from grokflow.model import ModelConfig
from grokflow.schedule import checkpoint_name, checkpoint_steps
from grokflow.settings import TrainingSettings, flags
from grokflow.training import OptimConfig, Run, TrainingJob

from conftest import REPO, copy_workflow, planned_jobs, snakemake

CFG = ModelConfig(p=11, n_layers=1, d_model=16, n_heads=2, d_mlp=32)
ONE_RUN = ("--config", 'ops=["x+y"]', "seeds=[0]")  # the ci config cut to one op and one seed
RETRAINING = {("training_manifest", "op=x+y"), ("train", "op=x+y")}


def checkpoint(path, training=None, step=0):
    save_checkpoint(path, {"W_E": torch.zeros(12, 16)}, CheckpointInfo("x+y", 0, step, 0.5, CFG, training))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The ci config's x+y seed 0 trained by Snakemake, with its metric tables and summary."""
    workdir = copy_workflow(tmp_path_factory.mktemp("workflow"))
    result = snakemake(workdir, "-c2", "results/grokking_summary.csv", *ONE_RUN, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return workdir


@pytest.mark.parametrize("target", ["results/grokking_summary.csv", "results/x+y/metric.csv"])
def test_a_training_change_replans_the_training_whatever_the_target(trained, target):
    assert "Nothing to be done" in snakemake(trained, "-n", target, *ONE_RUN).stdout
    changed = snakemake(trained, "-n", target, *ONE_RUN, "steps=30")
    assert changed.returncode == 0, changed.stderr[-3000:]
    assert RETRAINING | {("metric_table", "op=x+y")} <= set(planned_jobs(changed))
    assert (("grokking_summary", "") in planned_jobs(changed)) == (target == "results/grokking_summary.csv")


def test_the_checkpoints_name_the_training_of_the_manifest(trained):
    manifest = json.loads((trained / "results/x+y/training.json").read_text())
    assert manifest["settings"]["steps"] == 40
    final = trained / "results/x+y/seed0/checkpoints" / checkpoint_name(40)
    assert read_info(final).training == manifest["training"]


def test_a_truncated_checkpoint_stops_snakemake_in_one_line_before_any_job(trained):
    broken = trained / "results/x+y/seed0/checkpoints" / checkpoint_name(10)
    good = broken.read_bytes()
    table = trained / "results/x+y/metric.csv"
    before = table.stat().st_mtime_ns
    try:
        broken.write_bytes(good[: len(good) // 2])
        result = snakemake(trained, "-c1", "results/x+y/gini_ipr.csv", *ONE_RUN)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        retrain = "--forcerun results/x+y/training.json"
        # After the DAG's job counts, one line and no job started.
        assert result.returncode != 0 and "Traceback" not in result.stderr
        assert lines[-1] == (f"error: results/x+y/seed0/checkpoints/{broken.name} is truncated "
                             f"({len(good) // 2} of {len(good)} bytes); retrain x+y by adding {retrain} "
                             "to the snakemake command")
        assert not re.search(r"^(local)?rule ", result.stderr, flags=re.M)
        assert table.stat().st_mtime_ns == before and not (trained / "results/x+y/gini_ipr.csv").exists()
        forced = snakemake(trained, "-n", "results/x+y/gini_ipr.csv", *ONE_RUN, *retrain.split())
        assert forced.returncode == 0, forced.stderr[-3000:]
        assert RETRAINING | {("checkpoint_metric", "op=x+y, metric=gini_ipr")} <= set(planned_jobs(forced))
    finally:
        broken.write_bytes(good)


def test_checkpoint_problem_reads_only_the_header(tmp_path):
    good = checkpoint(tmp_path / "good.safetensors").read_bytes()
    cases = {b"": "is truncated (0 bytes)", good[:4]: "is truncated (4 bytes)",
             good[:20]: "is truncated (20 bytes, shorter than its header)",
             good[:-1]: f"is truncated ({len(good) - 1} of {len(good)} bytes)",
             good + b"x": "is corrupt (1 bytes more than its header describes)",
             len(b"[1]").to_bytes(8, "little") + b"[1]": "is not a safetensors file (unreadable header)"}
    assert checkpoint_problem(tmp_path / "good.safetensors") is None
    for content, problem in cases.items():
        (tmp_path / "bad.safetensors").write_bytes(content)
        assert checkpoint_problem(tmp_path / "bad.safetensors") == problem


def test_the_training_id_follows_what_decides_the_checkpoints():
    settings = TrainingSettings()
    assert training_id(replace(settings, save_every_s=1.0)) == training_id(settings)
    for change in ({"steps": 10}, {"lr": 2e-3}, {"p": 11}, {"extra_steps": (7,)}):
        assert training_id(replace(settings, **change)) != training_id(settings)
    assert json.loads(manifest_text(settings))["training"] == training_id(settings)


def test_the_train_script_writes_the_training_id_of_its_settings(tmp_path):
    settings = TrainingSettings(p=11, train_fraction=0.5, steps=3, n_layers=1, d_model=16, n_heads=2, d_mlp=32,
                                per_decade=1, extra_steps=())
    command = [sys.executable, str(REPO / "scripts/train.py"), "--ops", "x+y", *flags(settings).split(),
               "--out-template", str(tmp_path / "{op}"), "--state", str(tmp_path / "state.pt")]
    subprocess.run(command, check=True, capture_output=True)
    assert read_info(tmp_path / "x+y/checkpoints" / checkpoint_name(3)).training == training_id(settings)


def test_a_checkpoint_without_a_training_id_stays_readable(tmp_path):
    fields = {"op": "x+y", "seed": 0, "step": 0, "train_fraction": 0.5, "model": asdict(CFG)}
    save_file({"W_E": torch.zeros(12, 16)}, str(tmp_path / "old.safetensors"), {METADATA_KEY: json.dumps(fields)})
    assert read_info(tmp_path / "old.safetensors") == CheckpointInfo("x+y", 0, 0, 0.5, CFG)


@pytest.mark.parametrize("script, outputs", [
    ("metrics/effective_rank.py", ["--output"]),
    ("slt/llc_over_training.py", ["--llc-output", "--flatness-output"]),
])
def test_checkpoints_of_two_trainings_are_refused_in_one_line(tmp_path, script, outputs):
    paths = [checkpoint(tmp_path / "a.safetensors", "aaaa"), checkpoint(tmp_path / "b.safetensors", "bbbb", 1)]
    with pytest.raises(GrokflowError, match="different trainings"):
        load_stack(paths, lambda model: ["W_E"])
    files = [tmp_path / f"out{index}.csv" for index in range(len(outputs))]
    command = [sys.executable, str(REPO / "scripts" / script), *map(str, paths),
               *(str(item) for option, file in zip(outputs, files) for item in (option, file))]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1 and not any(file.exists() for file in files)
    assert [line for line in result.stderr.splitlines() if line.strip()] == [
        f"error: {paths[1]} (training bbbb) and {paths[0]} (training aaaa) come from different trainings; "
        "give the checkpoints of one training only"]


def test_retraining_under_a_new_configuration_removes_the_old_checkpoints(tmp_path):
    def train(steps):
        schedule = checkpoint_steps(steps, 5)
        TrainingJob([Run("x+y", 0, 0.5, CFG)], OptimConfig(), steps, schedule, [tmp_path], tmp_path / "state.pt",
                    training=f"steps{steps}").run()
        return schedule

    train(30)
    schedule = train(12)
    checkpoints = sorted((tmp_path / "checkpoints").iterdir())
    assert [path.name for path in checkpoints] == [checkpoint_name(step) for step in schedule]
    assert {read_info(path).training for path in checkpoints} == {"steps12"}

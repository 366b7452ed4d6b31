"""grokflow.runs on the ci config's training outputs, and examples/explore_a_run.py on them.

The outputs are the ci config's `train` and `metric_table` jobs for x+y (both seeds), made with the
training engine the train rule's script runs and written in docs/design.md's layout: a second or two,
not a Snakemake run of the whole DAG (tests/test_workflow.py runs that).
"""

import subprocess
import sys

import pandas as pd
import pytest
import torch
import yaml

from grokflow.checkpoints import load_checkpoint
from grokflow.config import schedule, validate_config
from grokflow.data import train_test_split
from grokflow.errors import GrokflowError
from grokflow.io import write_csv
from grokflow.model import ModelConfig
from grokflow.runs import Results, load
from grokflow.training import OptimConfig, Run, TrainingJob

from conftest import CI_CONFIG, REPO

OP = "x+y"


def ci_config() -> dict:
    return validate_config(yaml.safe_load((REPO / CI_CONFIG).read_text()), REPO / "workflow/schemas/config.schema.yaml")


def train_ci_results(root, op: str = OP):
    """results/{op}/seed{seed}/… and results/{op}/metric.csv of the ci config's runs of `op` in
    root/results, as its train and metric_table rules write them."""
    config = ci_config()
    model = ModelConfig(p=config["modulus"], **{key: config["model"][key]
                                                for key in ("n_layers", "d_model", "n_heads", "d_mlp")})
    optimizer = config["optimizer"]
    optim = OptimConfig(lr=optimizer["lr"], betas=tuple(optimizer["betas"]), weight_decay=optimizer["weight_decay"])
    results = root / "results"
    runs = [Run(op, seed, config["train_fraction"], model) for seed in config["seeds"]]
    folders = [results / op / f"seed{seed}" for seed in config["seeds"]]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a model this small runs no faster on more threads
    try:
        TrainingJob(runs, optim, config["steps"], schedule(config), folders, root / "train_state.pt").run()
    finally:
        torch.set_num_threads(threads)
    write_csv(pd.concat([pd.read_csv(folder / "metric.csv") for folder in folders]), results / op / "metric.csv")
    return results


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return train_ci_results(tmp_path_factory.mktemp("ci"))


def test_runs_and_steps_are_found(results):
    config = ci_config()
    runs = Results(results).runs()
    assert [(run.op, run.seed) for run in runs] == [(OP, seed) for seed in config["seeds"]]
    assert runs[1].steps == schedule(config)
    assert Results(results).runs("x-y") == []


def test_load_gives_the_checkpoint_its_split_and_the_metrics_it_was_trained_to(results):
    loaded = load(results, OP, seed=1, step=10)
    assert (loaded.info.op, loaded.info.seed, loaded.info.step) == (OP, 1, 10)
    tensors, _ = load_checkpoint(results / OP / "seed1/checkpoints/step0000010.safetensors")
    for name, tensor in loaded.model.state_dict().items():
        assert torch.equal(tensor, tensors[name]), name
    expected = train_test_split(OP, loaded.info.model.p, 1, loaded.info.train_fraction)
    assert torch.equal(loaded.split.train_inputs, expected.train_inputs)
    assert torch.equal(loaded.split.test_labels, expected.test_labels)
    # The training engine measured this step's accuracies; the loaded model and split give them again.
    row = loaded.metrics.set_index("step").loc[10]
    with torch.no_grad():
        for part in ("train", "test"):
            inputs, labels = getattr(loaded.split, f"{part}_inputs"), getattr(loaded.split, f"{part}_labels")
            accuracy = (loaded.model(inputs).argmax(-1) == labels).double().mean()
            assert float(accuracy) == pytest.approx(row[f"{part}_acc"], abs=1e-6)
    op_table = Results(results).metrics(OP)
    pd.testing.assert_frame_equal(op_table[op_table["seed"] == 1].reset_index(drop=True), loaded.metrics)


def test_the_last_step_is_the_default(results):
    assert load(results, OP, seed=0).info.step == schedule(ci_config())[-1]


@pytest.mark.parametrize("arguments, message", [
    ((OP, 0, 7), "has no checkpoint at step 7; nearest: 5, 8"),
    ((OP, 5, None), "has no run of x+y seed 5 (runs: x+y seed 0, x+y seed 1)"),
    (("x*y", 0, None), "unknown op 'x*y'"),
])
def test_bad_selections_are_one_line_errors(results, arguments, message):
    with pytest.raises(GrokflowError) as error:
        load(results, *arguments)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_missing_results_folder_is_an_error(tmp_path):
    with pytest.raises(GrokflowError, match="does not exist"):
        Results(tmp_path / "nowhere")


def run_example(*arguments):
    return subprocess.run([sys.executable, str(REPO / "examples/explore_a_run.py"), *map(str, arguments)],
                          check=False, capture_output=True, text=True, timeout=120)


def test_example_runs_on_the_ci_outputs(results, tmp_path):
    output = tmp_path / "explore"
    done = run_example("--results", results, "--op", OP, "--seed", 1, "--output", output)
    assert done.returncode == 0, done.stderr[-3000:]
    for stem in (f"attention_{OP}_seed1", f"fourier_W_E_{OP}_seed1"):
        assert (output / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (output / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
    assert sorted(p.name for p in (output / f"hf-gpt2_{OP}_seed1").iterdir()) == ["config.json", "model.safetensors"]
    bad = run_example("--results", results, "--op", OP, "--seed", 5, "--output", output)
    assert bad.returncode == 1 and bad.stderr.strip().count("\n") == 0
    assert bad.stderr.startswith("error:") and "no run of x+y seed 5" in bad.stderr

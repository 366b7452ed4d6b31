import math
from argparse import Namespace
from pathlib import Path
import subprocess
import sys

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.data import OPS, train_test_split
from grokflow.errors import GrokflowError
from grokflow.metrics.groups import number_group
from grokflow.metrics.progress_measures import (answer_index, group_inputs, key_directions, progress_losses,
                                                progress_rows, train_mask)
from grokflow.metric_runner import load_stack
from grokflow.metrics.model_access import parameter_names
from grokflow.model import GrokTransformer, ModelConfig

REPO_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TINY = ModelConfig(p=7, n_layers=1, d_model=16, n_heads=4, d_mlp=32)
COLUMNS = ["seed", "step", "group", "restricted_loss", "excluded_loss", "train_loss", "test_loss", "chance_loss",
           "key_frequencies"]
MISSING = -1e4  # logit of outputs outside the group: a constant over the inputs, exp(−1e4) = 0


def key_fourier_logits(inputs, frequencies, amplitude=3.0):
    """L[(i, j), z] = A·Σ_k cos(2πk(c(i, j) − index(z))/n) for group outputs z, MISSING for the other
    number outputs, and a large logit +50 for '=' (which must be dropped)."""
    p, n, group = inputs.p, inputs.group.order, inputs.group
    logits = torch.full((len(inputs.labels), p + 1), MISSING, dtype=torch.float64)
    c = inputs.answer.double()[:, None]
    z = torch.arange(n, dtype=torch.float64)[None]
    logits[:, group.index] = amplitude * sum(torch.cos(2 * math.pi * k * (c - z) / n) for k in frequencies)
    logits[:, p] = 50.0
    return logits


def random_train(count, seed=0):
    return torch.rand(count, generator=torch.Generator().manual_seed(seed)) < 0.5


CASES = [("x+y", 11, [1, 3]), ("x-y", 7, [2]), ("x×y", 11, [2, 5]), ("x÷y", 13, [1, 4, 6])]


@pytest.mark.parametrize("op, p, frequencies", CASES)
def test_key_frequency_logits_have_full_restricted_and_chance_excluded_loss(op, p, frequencies):
    group = number_group(op, p)
    inputs = group_inputs(op, p, group)
    logits = key_fourier_logits(inputs, frequencies)
    train = random_train(len(inputs.labels))
    losses = progress_losses(logits, inputs, frequencies, train)
    full_loss = float(F.cross_entropy(logits[:, :p], inputs.labels))
    assert losses["restricted_loss"] == pytest.approx(full_loss, abs=1e-10)
    assert losses["restricted_loss"] < math.log(group.order) - 1  # the logits do predict the answer
    assert losses["excluded_loss"] == pytest.approx(math.log(group.order), abs=1e-10)  # chance over n outputs
    assert losses["train_loss"] == pytest.approx(float(F.cross_entropy(logits[train, :p], inputs.labels[train])))
    assert losses["test_loss"] == pytest.approx(float(F.cross_entropy(logits[~train, :p], inputs.labels[~train])))
    assert losses["chance_loss"] == pytest.approx(math.log(p))


@pytest.mark.parametrize("op, p, frequencies", CASES)
def test_other_frequencies_neither_restrict_nor_exclude(op, p, frequencies):
    inputs = group_inputs(op, p, number_group(op, p))
    others = [k for k in range(1, inputs.group.order // 2 + 1) if k not in frequencies][:2]
    logits = key_fourier_logits(inputs, frequencies)
    losses = progress_losses(logits, inputs, others, random_train(len(inputs.labels)))
    assert losses["restricted_loss"] == pytest.approx(math.log(inputs.group.order), abs=1e-10)
    assert losses["excluded_loss"] == pytest.approx(losses["train_loss"], abs=1e-10)


def test_excluded_logits_keep_the_constant_over_inputs():
    op, p, frequencies = "x+y", 7, [2]
    inputs = group_inputs(op, p, number_group(op, p))
    bias = torch.linspace(-1, 2, p, dtype=torch.float64)
    logits = key_fourier_logits(inputs, frequencies)[:, :p] + bias
    train = random_train(len(inputs.labels), seed=3)
    expected = float(F.cross_entropy(bias.expand(int(train.sum()), p), inputs.labels[train]))
    assert progress_losses(logits, inputs, frequencies, train)["excluded_loss"] == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("n, frequencies", [(11, [1, 4]), (10, [3, 5]), (12, [6])])
def test_directions_are_orthonormal_and_span_constant_and_key_waves(n, frequencies):
    i, j = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")
    c = answer_index("x+y", i.flatten(), j.flatten(), n)
    q = key_directions(c, n, frequencies)
    c = c.double()
    expected_rank = 1 + sum(1 if 2 * k == n else 2 for k in frequencies)
    assert q.shape == (n * n, expected_rank)
    torch.testing.assert_close(q.T @ q, torch.eye(expected_rank, dtype=torch.float64))
    waves = [torch.ones(n * n, dtype=torch.float64)] + [f(2 * math.pi * k * c / n) for k in frequencies
                                                         for f in (torch.cos, torch.sin)]
    for wave in waves:
        torch.testing.assert_close(q @ (q.T @ wave), wave, atol=1e-10, rtol=0)
    assert torch.allclose(q[:, 0].abs(), torch.full((n * n,), 1 / n, dtype=torch.float64))


def test_frequency_outside_the_group_is_an_error():
    with pytest.raises(GrokflowError, match="outside 1 … 5"):
        key_directions(torch.arange(10), 10, [6])


def python_answer(op, x, y, p):
    if op == "x+y":
        return (x + y) % p
    if op == "x-y":
        return (x - y) % p
    if op == "x×y":
        return x * y % p
    return x * pow(y, p - 2, p) % p


@pytest.mark.parametrize("p", [7, 11])
@pytest.mark.parametrize("op", OPS)
def test_answer_index_gives_the_label_of_every_group_input(op, p):
    group = number_group(op, p)
    inputs = group_inputs(op, p, group)
    n = group.order
    assert len(inputs.labels) == n * n  # the full grid of group elements
    x, y = (group.index[index] for index in (inputs.i, inputs.j))
    assert torch.equal(x, inputs.tokens[:, 0]) and torch.equal(y, inputs.tokens[:, 1])
    c = answer_index(op, inputs.i, inputs.j, n)
    assert torch.equal(c, inputs.answer)
    assert group.index[c].tolist() == [python_answer(op, int(a), int(b), p) for a, b in zip(x, y)]
    assert torch.equal(group.index[c], inputs.labels)
    if op in ("x×y", "x÷y"):
        assert 0 not in inputs.tokens[:, :2]
    wrong_sign = answer_index("x+y" if op in ("x-y", "x÷y") else "x-y", inputs.i, inputs.j, n)
    assert not torch.equal(group.index[wrong_sign], inputs.labels)


def test_additive_reading_of_a_product_uses_the_answer_token():
    inputs = group_inputs("x×y", 7, number_group("x×y", 7, "additive"))
    assert len(inputs.labels) == 49
    assert torch.equal(inputs.answer, inputs.labels)


def info(op="x+y", seed=0, step=0, model=TINY):
    return CheckpointInfo(op=op, seed=seed, step=step, train_fraction=0.5, model=model)


@pytest.mark.parametrize("op", ["x+y", "x×y"])
def test_train_mask_is_the_split_restricted_to_the_group(op):
    checkpoint = info(op, seed=1)
    inputs = group_inputs(op, TINY.p, number_group(op, TINY.p))
    mask = train_mask(checkpoint, inputs)
    split = train_test_split(op, TINY.p, 1, 0.5)
    in_group = {(int(x), int(y)) for x, y in split.train_inputs[:, :2] if x != 0 and y != 0 or op == "x+y"}
    assert {(int(x), int(y)) for x, y in inputs.tokens[mask, :2]} == in_group


def write_checkpoints(tmp_path, op, seeds=(0, 1), steps=(0, 10)):
    paths = []
    for seed in seeds:
        for step in steps:
            path = tmp_path / f"{op}_seed{seed}_step{step}.safetensors"
            save_checkpoint(path, GrokTransformer(TINY, seed=10 * seed + step).state_dict(), info(op, seed, step))
            paths.append(path)
    return paths


def write_key_frequencies(path, group, sets):
    rows = [{"group": group, "seed": seed, "rank": rank, "frequency": k, "power_fraction": 0.1,
             "cumulative_fraction": 0.1 * rank} for seed, ks in sets.items() for rank, k in enumerate(ks, 1)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def run_script(relative_path, *args):
    return subprocess.run([sys.executable, str(REPO_SCRIPTS / relative_path), *map(str, args)],
                          capture_output=True, text=True)


def error_line(result) -> str:
    """The one 'error: …' line a failed script printed (after any progress bar), no traceback."""
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and result.stderr.rstrip().endswith(errors[0])
    return errors[0]


def test_missing_seed_is_a_one_line_error(tmp_path):
    paths = write_checkpoints(tmp_path, "x+y", seeds=(0,), steps=(0,))
    key = write_key_frequencies(tmp_path / "key.csv", "additive", {1: [1, 2]})
    stacked, infos = load_stack(paths, parameter_names)
    with pytest.raises(GrokflowError, match="no key frequencies for seed 0") as error:
        progress_rows(stacked, infos, Namespace(key_frequencies=key, fourier_group="auto"))
    assert "\n" not in str(error.value)
    result = run_script("metrics/progress_measures.py", *paths, "-o", tmp_path / "out.csv", "--key-frequencies", key)
    assert "no key frequencies for seed 0" in error_line(result) and not (tmp_path / "out.csv").exists()


def test_key_frequencies_of_another_group_are_an_error(tmp_path):
    paths = write_checkpoints(tmp_path, "x×y", seeds=(0,), steps=(0,))
    key = write_key_frequencies(tmp_path / "key.csv", "additive", {0: [1]})
    result = run_script("metrics/progress_measures.py", *paths, "-o", tmp_path / "out.csv", "--key-frequencies", key)
    assert "this metric reads the multiplicative group" in error_line(result)


@pytest.mark.parametrize("op, group, sets", [("x+y", "additive", {0: [1, 3], 1: [2]}),
                                             ("x×y", "multiplicative", {0: [3], 1: [1, 2]})])
def test_scripts_write_csv_and_figure(tmp_path, op, group, sets):
    paths = write_checkpoints(tmp_path, op)
    key = write_key_frequencies(tmp_path / "key.csv", group, sets)
    csv = tmp_path / "progress_measures.csv"
    result = run_script("metrics/progress_measures.py", *paths, "-o", csv, "--key-frequencies", key)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(csv, dtype={"key_frequencies": str})
    assert list(table.columns) == COLUMNS
    assert len(table) == 4 and set(table["group"]) == {group}
    assert table[COLUMNS[3:8]].gt(0).all().all() and table[COLUMNS[3:8]].notna().all().all()
    assert table["chance_loss"].tolist() == pytest.approx([math.log(TINY.p)] * 4)
    for seed, ks in sets.items():
        assert set(table.loc[table["seed"] == seed, "key_frequencies"]) == {" ".join(map(str, ks))}
    # train and test loss are the model's own cross-entropy over the p number outputs of the group inputs
    model = GrokTransformer(TINY, seed=10).double().eval()
    split = train_test_split(op, TINY.p, 1, 0.5)
    keep = (split.test_inputs[:, :2] != 0).all(dim=1) | (op == "x+y")  # multiplicative: x, y ≠ 0
    with torch.no_grad():
        expected = float(F.cross_entropy(model(split.test_inputs[keep])[:, :TINY.p], split.test_labels[keep]))
    row = table[(table["seed"] == 1) & (table["step"] == 0)].iloc[0]
    assert row["test_loss"] == pytest.approx(expected, rel=1e-10)

    pd.DataFrame({"seed": [0, 0, 1, 1], "step": [0, 10] * 2, "train_acc": 0.5, "test_acc": 0.2}).to_csv(
        tmp_path / "metric.csv", index=False)
    png = tmp_path / "fig.png"
    result = run_script("plots/progress_measures.py", "--table", csv, "--metrics", tmp_path / "metric.csv",
                        "--output", png)
    assert result.returncode == 0, result.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


def test_figure_with_a_missing_column_is_a_one_line_error(tmp_path):
    pd.DataFrame({"seed": [0], "step": [1], "train_loss": [1.0], "test_loss": [1.0], "chance_loss": [2.0],
                  "excluded_loss": [1.0]}).to_csv(tmp_path / "progress.csv", index=False)
    pd.DataFrame({"seed": [0], "step": [1], "train_acc": [0.5], "test_acc": [0.2]}).to_csv(
        tmp_path / "metric.csv", index=False)
    result = run_script("plots/progress_measures.py", "--table", tmp_path / "progress.csv", "--metrics",
                        tmp_path / "metric.csv", "--output", tmp_path / "fig.png")
    assert error_line(result) == f"error: {tmp_path / 'progress.csv'} lacks the column(s) restricted_loss"

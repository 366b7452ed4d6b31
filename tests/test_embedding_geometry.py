import math
from pathlib import Path
import subprocess
import sys

import pandas as pd
import pytest
import torch

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.metrics.embedding_geometry import cosine_rows, neighbour_cosine, power_fraction, psd_rows
from grokflow.metrics.fourier import number_embeddings, power_per_frequency
from grokflow.metrics.groups import additive_group, number_group
from grokflow.model import GrokTransformer, ModelConfig

REPO_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TINY = ModelConfig(p=7, n_layers=2, d_model=16, n_heads=4, d_mlp=32)


def fourier_embedding(p, k, d=6, phase=0.0):
    """E_x = [cos(2πkx/p + φ), sin(2πkx/p + φ), 0, …] (p × d)."""
    angle = 2 * math.pi * k * torch.arange(p, dtype=torch.float64) / p + phase
    embedding = torch.zeros(p, d, dtype=torch.float64)
    embedding[:, 0], embedding[:, 1] = angle.cos(), angle.sin()
    return embedding


def model_stack(n_checkpoints, model=TINY):
    """The state dicts of n freshly initialised models, stacked on a leading axis."""
    states = [GrokTransformer(model).state_dict() for _ in range(n_checkpoints)]
    return {name: torch.stack([state[name] for state in states]) for name in states[0]}


def checkpoint_infos(n_checkpoints, model=TINY):
    """Metadata of n checkpoints of one seed, steps 0 … n−1."""
    return [CheckpointInfo(op="x+y", seed=0, step=step, train_fraction=0.3, model=model)
            for step in range(n_checkpoints)]


def write_checkpoints(folder, model=TINY, seeds=(0, 1), steps=(0, 10, 100)):
    """Random-model checkpoints for every (seed, step); their paths."""
    paths = []
    for seed in seeds:
        for step in steps:
            path = folder / f"seed{seed}_step{step}.safetensors"
            info = CheckpointInfo(op="x+y", seed=seed, step=step, train_fraction=0.3, model=model)
            save_checkpoint(path, GrokTransformer(model).state_dict(), info)
            paths.append(str(path))
    return paths


def assert_batched_rows_equal_single(rows_of, stacked, infos):
    """rows_of() on the whole stack gives the rows it gives each checkpoint alone."""
    n_checkpoints = len(infos)
    batched = pd.DataFrame([row for rows in rows_of(stacked, infos) for row in rows])
    singles = pd.DataFrame([row for i in range(n_checkpoints)
                            for row in rows_of({name: t[i : i + 1] for name, t in stacked.items()}, infos[i : i + 1])[0]])
    pd.testing.assert_frame_equal(batched, singles)


def write_metrics(path):
    """A metric.csv for two seeds at steps 10 and 100."""
    pd.DataFrame({"seed": [0, 0, 1, 1], "step": [10, 100] * 2, "train_loss": 1.0, "train_acc": 0.5,
                  "test_loss": 1.0, "test_acc": 0.2}).to_csv(path, index=False)


def run_script(relative_path, *args):
    """Run scripts/<relative_path> with args; fail the test with its stderr if it fails."""
    result = subprocess.run([sys.executable, str(REPO_SCRIPTS / relative_path), *map(str, args)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def assert_png_and_pdf(png_path):
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png_path.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


@pytest.mark.parametrize(("p", "k"), [(31, 1), (31, 7), (31, 15), (12, 5), (12, 6)])
def test_pure_frequency_puts_all_power_on_it(p, k):
    embedding = 3.0 * fourier_embedding(p, k, phase=0.4)
    power = power_per_frequency(embedding)
    expected = torch.zeros(p // 2 + 1, dtype=torch.float64)
    expected[k] = 1.0
    torch.testing.assert_close(power_fraction(power), expected, atol=1e-12, rtol=0)
    assert float(power.sum()) == pytest.approx(p * float(embedding.square().sum()))


@pytest.mark.parametrize("p", [13, 16])
def test_batched_power_equals_one_at_a_time(p):
    batch = torch.randn(3, 2, p, 5, generator=torch.Generator().manual_seed(p), dtype=torch.float64)
    one_by_one = torch.stack([torch.stack([power_per_frequency(m) for m in row]) for row in batch])
    torch.testing.assert_close(power_per_frequency(batch), one_by_one)


@pytest.mark.parametrize(("p", "k"), [(31, 1), (31, 4), (31, 15), (10, 5)])
def test_cosine_of_pure_frequency(p, k):
    assert float(neighbour_cosine(fourier_embedding(p, k, phase=1.1))) == pytest.approx(math.cos(2 * math.pi * k / p))


def test_cosine_ignores_norms_and_sees_identical_rows():
    scales = torch.linspace(0.5, 4.0, 31, dtype=torch.float64)[:, None]
    assert float(neighbour_cosine(scales * fourier_embedding(31, 3))) == pytest.approx(math.cos(2 * math.pi * 3 / 31))
    assert float(neighbour_cosine(torch.ones(9, 4))) == pytest.approx(1.0)


def test_number_embeddings_of_a_stack_drop_the_equals_row():
    stacked = model_stack(3)
    embeddings = number_embeddings(stacked, additive_group(TINY.p))
    assert embeddings.shape == (3, TINY.p, TINY.d_model)
    torch.testing.assert_close(embeddings[2], stacked["W_E"][2, : TINY.p].double())


def test_multiplicative_number_embeddings_are_in_discrete_log_order():
    stacked = model_stack(2)
    embeddings = number_embeddings(stacked, number_group("x×y", TINY.p))  # p = 7, g = 3: 1, 3, 2, 6, 4, 5
    assert embeddings.shape == (2, TINY.p - 1, TINY.d_model)
    torch.testing.assert_close(embeddings[1], stacked["W_E"][1, [1, 3, 2, 6, 4, 5]].double())


def test_rows_batched_equal_one_at_a_time():
    stacked = model_stack(3)
    for rows_of in (psd_rows, cosine_rows):
        assert_batched_rows_equal_single(rows_of, stacked, checkpoint_infos(3))
    (first, *_) = psd_rows(stacked, checkpoint_infos(3))
    assert [row["frequency"] for row in first] == list(range(TINY.p // 2 + 1))
    assert sum(row["power_fraction"] for row in first) == pytest.approx(1.0)


def test_scripts_write_csvs_and_figures(tmp_path):
    checkpoints = write_checkpoints(tmp_path)
    run_script("metrics/psd.py", *checkpoints, "-o", tmp_path / "psd.csv")
    run_script("metrics/cosine.py", *checkpoints, "-o", tmp_path / "cosine.csv")
    psd, cosine = pd.read_csv(tmp_path / "psd.csv"), pd.read_csv(tmp_path / "cosine.csv")
    assert list(psd.columns) == ["seed", "step", "group", "frequency", "power", "power_fraction"]
    assert list(cosine.columns) == ["seed", "step", "group", "cosine"]
    assert len(psd) == 6 * (TINY.p // 2 + 1) and len(cosine) == 6
    write_metrics(tmp_path / "metric.csv")
    run_script("plots/psd.py", "--psd", tmp_path / "psd.csv", "--outdir", tmp_path / "psd")
    run_script("plots/cosine.py", "--table", tmp_path / "cosine.csv", "--metrics", tmp_path / "metric.csv",
               "--output", tmp_path / "cosine.png")
    for seed in sorted(set(psd["seed"])):
        assert_png_and_pdf(tmp_path / "psd" / f"seed{seed}.png")
    assert_png_and_pdf(tmp_path / "cosine.png")

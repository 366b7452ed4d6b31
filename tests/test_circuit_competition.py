import math
from argparse import Namespace
from pathlib import Path
import subprocess
import sys

import pandas as pd
import pytest
import torch

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.metrics.circuit_competition import (competition_rows, embedding_loss, fourier_rows, memo_samples,
                                                  per_sample_gradients, subspace_shares)
from grokflow.metrics.groups import additive_group
from grokflow.model import GrokTransformer, ModelConfig

REPO_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TINY = ModelConfig(p=7, n_layers=2, d_model=16, n_heads=4, d_mlp=32)
COLUMNS = ["seed", "step", "group", "matrix", "fourier_share", "memo_share", "neither_share", "fourier_baseline",
           "memo_baseline"]


def fourier_embedding(p, k, d=6):
    """E_x = [cos(2πkx/p), sin(2πkx/p), 0, …] (p × d)."""
    angle = 2 * math.pi * k * torch.arange(p, dtype=torch.float64) / p
    embedding = torch.zeros(p, d, dtype=torch.float64)
    embedding[:, 0], embedding[:, 1] = angle.cos(), angle.sin()
    return embedding


def random_gradients(p, d, samples=10, seed=0):
    return torch.randn(1, samples, p, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def info(seed=0, step=0, model=TINY):
    return CheckpointInfo(op="x+y", seed=seed, step=step, train_fraction=0.5, model=model)


@pytest.mark.parametrize("p, k", [(11, 1), (11, 3), (13, 6)])
def test_pure_fourier_embedding_lies_in_s_fourier(p, k):
    shares = subspace_shares(fourier_embedding(p, k)[None], fourier_rows(p, [k, 2]), random_gradients(p, 6), 4)
    assert float(shares["fourier_share"]) == pytest.approx(1.0)
    assert float(shares["neither_share"]) == pytest.approx(0.0, abs=1e-12)


def test_embedding_of_other_frequencies_has_no_fourier_share():
    p = 11
    embedding = fourier_embedding(p, 4) + 0.5  # ‖Fourier part‖² = p, ‖constant part‖² = 0.25 · p · 6
    shares = subspace_shares(embedding[None], fourier_rows(p, [1, 3]), random_gradients(p, 6), 4)
    assert float(shares["fourier_share"]) == pytest.approx(0.0, abs=1e-12)
    all_frequencies = subspace_shares(embedding[None], fourier_rows(p, None), random_gradients(p, 6), 4)
    assert float(all_frequencies["fourier_share"]) == pytest.approx(p / (p + 1.5 * p))


def test_gradients_along_the_matrix_give_memo_share_one():
    p, d = 7, 5
    matrix = torch.randn(p, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    gradients = torch.stack([scale * matrix for scale in (1.0, -2.0, 0.5)])[None]
    shares = subspace_shares(matrix[None], fourier_rows(p, [1]), gradients, 1)
    assert float(shares["memo_share"]) == pytest.approx(1.0)
    assert float(shares["neither_share"]) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("rank", [1, 4, 12])
def test_shares_are_fractions_and_neither_is_the_rest(rank):
    p, d = 11, 6
    matrices = torch.randn(3, p, d, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    gradients = torch.randn(3, 12, p, d, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    shares = subspace_shares(matrices, fourier_rows(p, [2, 5]), gradients, rank)
    for values in shares.values():
        assert ((values >= -1e-12) & (values <= 1 + 1e-12)).all()
    assert (shares["neither_share"] <= 1 - torch.maximum(shares["fourier_share"], shares["memo_share"]) + 1e-12).all()
    assert (shares["neither_share"] < 1 - shares["fourier_share"] - 1e-6).all()


def test_vmap_gradients_equal_autograd_one_sample_at_a_time():
    model = GrokTransformer(TINY, seed=3).double().eval()
    tokens, labels = memo_samples(info(), 5)
    batched = per_sample_gradients(model, tokens, labels, additive_group(TINY.p))
    for index in range(len(labels)):
        W_E, W_U = model.W_E.detach().clone().requires_grad_(), model.W_U.detach().clone().requires_grad_()
        embedding_loss(model, W_E, W_U, tokens[index], labels[index]).backward()
        torch.testing.assert_close(batched["W_E"][index], W_E.grad[: TINY.p])
        torch.testing.assert_close(batched["W_U"][index], W_U.grad[:, : TINY.p].T)
    assert batched["W_E"].abs().sum() > 0


def test_memo_loss_is_the_model_loss():
    model = GrokTransformer(TINY, seed=4).double().eval()
    tokens, labels = memo_samples(info(), 3)
    expected = torch.nn.functional.cross_entropy(model(tokens), labels, reduction="none")
    found = torch.stack([embedding_loss(model, model.W_E, model.W_U, x, y) for x, y in zip(tokens, labels)])
    torch.testing.assert_close(found, expected)


def test_rows_batched_equal_one_at_a_time():
    states = [GrokTransformer(TINY, seed=seed).state_dict() for seed in (0, 1)]
    stacked = {name: torch.stack([state[name] for state in states]) for name in states[0]}
    infos = [info(step=step) for step in (0, 1)]
    args = Namespace(frequencies="all", key_frequencies=None, memo_samples=6, memo_rank=3)
    batched = competition_rows(stacked, infos, args)
    singles = [competition_rows({n: t[i : i + 1] for n, t in stacked.items()}, infos[i : i + 1], args)[0] for i in (0, 1)]
    assert pd.DataFrame(sum(batched, [])).equals(pd.DataFrame(sum(singles, [])))


def run_script(relative_path, *args):
    result = subprocess.run([sys.executable, str(REPO_SCRIPTS / relative_path), *map(str, args)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_scripts_write_csv_and_figure(tmp_path):
    paths = []
    for seed in (0, 1):
        for step in (0, 10, 100):
            path = tmp_path / f"seed{seed}_step{step}.safetensors"
            save_checkpoint(path, GrokTransformer(TINY, seed=step).state_dict(), info(seed, step))
            paths.append(path)
    pd.DataFrame({"group": "additive", "seed": [0, 0, 1], "rank": [1, 2, 1], "frequency": [2, 3, 1]}).to_csv(
        tmp_path / "key.csv", index=False)
    csv = tmp_path / "circuit_competition.csv"
    run_script("metrics/circuit_competition.py", *paths, "-o", csv, "--key-frequencies", tmp_path / "key.csv",
               "--memo-samples", 8, "--memo-rank", 4)
    table = pd.read_csv(csv)
    assert list(table.columns) == COLUMNS
    assert len(table) == 2 * 6 and set(table["matrix"]) == {"W_E", "W_U"}
    assert table[COLUMNS[4:]].apply(lambda share: share.between(0, 1)).all().all()
    assert table.loc[table["seed"] == 0, "fourier_baseline"].tolist() == pytest.approx([4 / 7] * 6)  # k = 2, 3
    assert table.loc[table["seed"] == 1, "fourier_baseline"].tolist() == pytest.approx([2 / 7] * 6)
    pd.DataFrame({"seed": [0, 0, 1, 1], "step": [10, 100] * 2, "train_acc": 0.5, "test_acc": 0.2}).to_csv(
        tmp_path / "metric.csv", index=False)
    png = tmp_path / "fig.png"
    run_script("plots/circuit_competition.py", "--table", csv, "--metrics", tmp_path / "metric.csv",
               "--output", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"

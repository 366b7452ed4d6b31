import math

import pytest
import torch

from grokflow.metrics.effective_rank import effective_rank, effective_rank_rows, spectral_entropy
from grokflow.model import GrokTransformer, ModelConfig


def random_orthogonal(n, seed):
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def test_identity_has_full_effective_rank():
    assert float(effective_rank(torch.eye(12))) == pytest.approx(12)
    assert float(spectral_entropy(torch.eye(12))) == pytest.approx(math.log(12))


@pytest.mark.parametrize("k", [1, 3, 7])
def test_rank_k_with_equal_singular_values(k):
    n = 10
    diagonal = torch.zeros(n, dtype=torch.float64)
    diagonal[:k] = 2.5
    matrix = random_orthogonal(n, 0) @ torch.diag(diagonal) @ random_orthogonal(n, 1)
    assert float(effective_rank(matrix)) == pytest.approx(k, rel=1e-9)


def test_unequal_spectrum_matches_formula_and_is_scale_free():
    sigma = torch.tensor([4.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    p = sigma / sigma.sum()
    expected = math.exp(float(-(p * p.log()).sum()))
    matrix = random_orthogonal(4, 2) @ torch.diag(sigma) @ random_orthogonal(4, 3)
    assert float(effective_rank(matrix)) == pytest.approx(expected)
    assert float(effective_rank(1e3 * matrix)) == pytest.approx(expected)
    assert 1 < expected < 4


def test_zero_matrix_has_no_entropy():
    assert float(spectral_entropy(torch.zeros(3, 3))) == 0.0


def test_batched_matches_one_at_a_time():
    batch = torch.randn(5, 2, 6, 4, generator=torch.Generator().manual_seed(0))
    one_by_one = torch.stack([torch.stack([spectral_entropy(m) for m in row]) for row in batch])
    torch.testing.assert_close(spectral_entropy(batch), one_by_one)


def test_rows_cover_every_linear_map_of_the_model():
    cfg = ModelConfig(p=7, n_layers=2, d_model=16, n_heads=4, d_mlp=32)
    stacked = {name: t[None] for name, t in GrokTransformer(cfg).state_dict().items()}
    (rows,) = effective_rank_rows(stacked)
    names = {(row["layer"], row["matrix"]) for row in rows}
    assert {(-1, "W_E"), (-1, "W_pos"), (-1, "W_U")} <= names
    assert {(layer, m) for layer in (0, 1) for m in ("W_Q", "W_K", "W_V", "W_O", "W_in", "W_out")} <= names
    assert len(rows) == 3 + 2 * 6
    assert all(1 <= row["erank"] <= 32 for row in rows)

import math

import numpy as np
import pytest
import torch

from grokflow.metrics.phase_coherence import (norm_weighted_mean, phase_coherence_rows, phase_fit, unwrap,
                                              weighted_line_fit)
from grokflow.checkpoints import CheckpointInfo
from grokflow.model import ModelConfig

P = 31


def bump(x0, p=P, width=2.0):
    """exp(−d²/σ²) with d the wrapped distance of x to x0: symmetric about x0."""
    x = torch.arange(p, dtype=torch.float64)
    distance = torch.remainder(x - x0 + p / 2, p) - p / 2
    return torch.exp(-distance.square() / width**2)


@pytest.mark.parametrize("x0, signed_x0", [(0, 0), (3, 3), (5, 5), (12, 12), (25, -6), (30, -1)])
def test_symmetric_bump_is_coherent_with_slope_minus_2_pi_x0_over_p(x0, signed_x0):
    slope, r2 = phase_fit(bump(x0)[:, None])
    assert float(r2[0]) == pytest.approx(1, abs=1e-9)
    assert float(slope[0]) == pytest.approx(-2 * math.pi * signed_x0 / P, abs=1e-9)


def test_random_columns_are_incoherent():
    columns = torch.randn(P, 400, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    _, r2 = phase_fit(columns)
    assert float(r2.median()) < 0.6  # an unwrapped random phase is a random walk: median R² ≈ 0.45
    assert float((r2 > 0.99).double().mean()) < 0.02


def test_unwrap_matches_numpy():
    phases = torch.rand(3, 40, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 14 - 7
    torch.testing.assert_close(unwrap(phases), torch.from_numpy(np.unwrap(phases.numpy(), axis=-1)))


def test_weighted_fit_of_an_exact_line_and_of_a_noisy_one():
    k = torch.arange(1.0, 9.0, dtype=torch.float64)
    weights = torch.rand(8, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    slope, r2 = weighted_line_fit(k, 0.3 - 1.7 * k, weights)
    assert float(slope) == pytest.approx(-1.7) and float(r2) == pytest.approx(1)
    noisy = 0.3 - 1.7 * k + torch.tensor([0.5, -0.5] * 4, dtype=torch.float64)
    slope, r2 = weighted_line_fit(k, noisy, torch.ones(8, dtype=torch.float64))
    expected = np.corrcoef(k.numpy(), noisy.numpy())[0, 1] ** 2
    assert float(r2) == pytest.approx(expected) and float(r2) < 1


def test_a_zero_weight_point_does_not_change_the_fit():
    k = torch.arange(1.0, 6.0, dtype=torch.float64)
    y = torch.tensor([0.0, -1.0, -2.1, -2.9, 100.0], dtype=torch.float64)
    weights = torch.tensor([1.0, 1.0, 1.0, 1.0, 0.0], dtype=torch.float64)
    slope, r2 = weighted_line_fit(k, y, weights)
    reference_slope, reference_r2 = weighted_line_fit(k[:4], y[:4], weights[:4])
    assert float(slope) == pytest.approx(float(reference_slope)) and float(r2) == pytest.approx(float(reference_r2))


def test_mean_row_weights_columns_by_norm_and_skips_zero_columns():
    noise = torch.randn(P, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    embedding = torch.stack([3 * bump(4), noise, torch.zeros(P, dtype=torch.float64)], dim=1)
    _, r2 = phase_fit(embedding)
    assert math.isnan(float(r2[2]))
    norms = embedding.norm(dim=0)
    expected = (norms[0] * r2[0] + norms[1] * r2[1]) / (norms[0] + norms[1])
    assert float(norm_weighted_mean(r2, embedding)) == pytest.approx(float(expected))


def test_rows_and_batched_matches_one_at_a_time():
    embeddings = torch.randn(3, P, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    embeddings[1, :, 0] = bump(7)
    W_E = torch.cat([embeddings, torch.ones(3, 1, 5, dtype=torch.float64)], dim=1)
    info = CheckpointInfo(op="x+y", seed=0, step=0, train_fraction=0.3,
                          model=ModelConfig(p=P, n_layers=1, d_model=5, n_heads=1, d_mlp=8))
    rows = phase_coherence_rows({"W_E": W_E}, [info] * 3)
    assert [row["column"] for row in rows[1]] == [-1, 0, 1, 2, 3, 4]
    assert math.isnan(rows[1][0]["slope"])
    assert rows[1][1]["r2"] == pytest.approx(1) and rows[1][1]["slope"] == pytest.approx(-2 * math.pi * 7 / P)
    for index in range(3):
        single = phase_coherence_rows({"W_E": W_E[index : index + 1]}, [info])[0]
        for batched_row, single_row in zip(rows[index], single, strict=True):
            assert batched_row["r2"] == pytest.approx(single_row["r2"], rel=1e-12)

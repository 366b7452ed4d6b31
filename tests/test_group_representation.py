import argparse
import math

import pytest
import torch

from grokflow.checkpoints import CheckpointInfo
from grokflow.metrics.group_representation import group_representation, group_representation_rows, shift_fit
from grokflow.model import ModelConfig


def random_orthogonal(n, seed):
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def fourier_embedding(p, d, frequencies, seed=0, amplitudes=None):
    """E_x = [a cos(2πkx/p), a sin(2πkx/p) for k in frequencies], zero-padded to d columns, rotated."""
    x = torch.arange(p, dtype=torch.float64)[:, None]
    angles = 2 * math.pi * torch.tensor(frequencies, dtype=torch.float64)[None] * x / p
    scale = torch.tensor(amplitudes or [1.0] * len(frequencies), dtype=torch.float64)
    features = torch.cat([scale * angles.cos(), scale * angles.sin()], dim=1)
    padded = torch.cat([features, torch.zeros(p, d - features.shape[1], dtype=torch.float64)], dim=1)
    return padded @ random_orthogonal(d, seed)


def gaussian_embeddings(n, p, d, seed=0):
    return torch.randn(n, p, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


@pytest.mark.parametrize(("p", "d", "frequencies"), [(31, 64, [3]), (31, 64, [1, 5, 12]), (113, 128, [4, 17])])
def test_fourier_embedding_is_a_rotation_representation(p, d, frequencies):
    ranks, residual, orth_defect = group_representation(fourier_embedding(p, d, frequencies)[None])
    assert ranks.tolist() == [2 * len(frequencies)]
    assert float(residual) < 1e-20
    assert float(orth_defect) < 1e-10


def test_scaled_fourier_embedding_keeps_the_rotation():
    embedding = 7.5 * fourier_embedding(31, 64, [2, 9], seed=3)
    _, residual, orth_defect = group_representation(embedding[None])
    assert float(residual) < 1e-20 and float(orth_defect) < 1e-10


@pytest.mark.parametrize(("p", "d"), [(31, 64), (113, 128)])
def test_gaussian_embedding_is_no_representation(p, d):
    """Measured over 200 draws: ε_R in [0.45, 0.59] (p=31) and [0.49, 0.52] (p=113), δ_orth in
    [2.27, 2.83] and [5.0, 5.4]; the rank hits the cap ⌊(p−1)/2⌋."""
    ranks, residual, orth_defect = group_representation(gaussian_embeddings(50, p, d))
    assert (ranks == (p - 1) // 2).all()
    assert (residual > 0.3).all() and (orth_defect > 1.5).all()


def test_plain_least_squares_would_be_exact_but_the_principal_fit_is_not():
    """Why the principal subspace: with p ≤ d every embedding is mapped exactly by some R."""
    embedding = gaussian_embeddings(1, 31, 64)[0]
    r_transposed = torch.linalg.lstsq(embedding, embedding.roll(-1, 0)).solution
    torch.testing.assert_close(embedding @ r_transposed, embedding.roll(-1, 0))
    _, residual, _ = group_representation(embedding[None])
    assert float(residual) > 0.3


def test_rank_energy_picks_the_principal_planes():
    """Amplitudes 10 and 1: the strong plane alone holds 100/101 > 0.9 of ‖E‖²_F, 0.999 needs both."""
    embedding = fourier_embedding(31, 64, [2, 7], seed=1, amplitudes=[10.0, 1.0])
    assert group_representation(embedding[None], 0.9)[0].tolist() == [2]
    assert group_representation(embedding[None], 0.999)[0].tolist() == [4]
    assert float(group_representation(embedding[None], 0.9)[1]) < 1e-20


def test_shift_fit_matches_the_normal_equations_of_x_to_x_plus_1():
    """R = (Σ_x z_{x+1} z_xᵀ)(Σ_x z_x z_xᵀ)⁻¹, written out with the index x+1 mod p."""
    p, r = 9, 3
    z = torch.randn(p, r, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    cross = sum(torch.outer(z[(x + 1) % p], z[x]) for x in range(p))
    gram = sum(torch.outer(z[x], z[x]) for x in range(p))
    shift = cross @ torch.linalg.inv(gram)
    misfit = sum(float((z[(x + 1) % p] - shift @ z[x]).square().sum()) for x in range(p))
    expected_residual = misfit / float(z.square().sum())
    expected_defect = float(torch.linalg.matrix_norm(shift.T @ shift - torch.eye(r, dtype=torch.float64)))
    residual, orth_defect = shift_fit(z[None])
    assert float(residual) == pytest.approx(expected_residual, rel=1e-10)
    assert float(orth_defect) == pytest.approx(expected_defect, rel=1e-10)


def test_batched_matches_one_at_a_time():
    batch = torch.cat([fourier_embedding(31, 64, [3], seed=2)[None], gaussian_embeddings(3, 31, 64, seed=5),
                       fourier_embedding(31, 64, [1, 4, 6], seed=4)[None] + 0.1 * gaussian_embeddings(1, 31, 64)])
    batched = group_representation(batch)
    singles = [group_representation(embedding[None]) for embedding in batch]
    for index, single in enumerate(zip(*singles)):
        torch.testing.assert_close(batched[index], torch.cat(single))
    assert len(set(batched[0].tolist())) > 1  # several ranks in one batch


def test_rows_drop_the_equals_token_and_read_the_rank_energy():
    p, d = 31, 64
    equals_row = 1e3 * torch.ones(1, d, dtype=torch.float64)
    w_e = torch.cat([fourier_embedding(p, d, [5]), equals_row])[None]
    info = CheckpointInfo(op="x+y", seed=0, step=10, train_fraction=0.3,
                          model=ModelConfig(p=p, n_layers=1, d_model=d, n_heads=4, d_mlp=32))
    (rows,) = group_representation_rows({"W_E": w_e.float()}, [info], argparse.Namespace(rank_energy=0.9))
    assert set(rows[0]) == {"rank", "residual", "orth_defect"}
    assert rows[0]["rank"] == 2 and rows[0]["residual"] < 1e-10 and rows[0]["orth_defect"] < 1e-5

import argparse
import math

import pytest
import torch

from grokflow.checkpoints import CheckpointInfo
from grokflow.metrics.fourier import number_embeddings
from grokflow.metrics.group_representation import (group_representation, group_representation_rows, heldout_residual,
                                                   heldout_split, principal_rank, rank_cap, shift_fit)
from grokflow.metrics.groups import discrete_log_tokens, number_group
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


def multiplicative_fourier_w_e(p, d, frequencies, seed=0):
    """W_E (p+1 rows: numbers, '=') with E[gⁱ] = [cos(2πki/(p−1)), sin(2πki/(p−1))] (rotated), a
    Fourier embedding of the multiplicative group; token 0 and '=' get random rows of similar norm."""
    in_log_order = fourier_embedding(p - 1, d, frequencies, seed)
    w_e = torch.randn(p + 1, d, generator=torch.Generator().manual_seed(seed + 100), dtype=torch.float64)
    w_e = w_e * math.sqrt(len(frequencies) / d)
    w_e[list(discrete_log_tokens(p))] = in_log_order
    return w_e


def checkpoint_info(op, p, d):
    return CheckpointInfo(op=op, seed=0, step=10, train_fraction=0.3,
                          model=ModelConfig(p=p, n_layers=1, d_model=d, n_heads=4, d_mlp=32))


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
    """The rank hits the even cap (14 for p=31, 56 for p=113); ε_R and δ_orth are of order 1."""
    ranks, residual, orth_defect = group_representation(gaussian_embeddings(50, p, d))
    assert (ranks == 2 * ((p - 1) // 4)).all()
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
    (rows,) = group_representation_rows({"W_E": w_e.float()}, [checkpoint_info("x+y", p, d)],
                                        argparse.Namespace(rank_energy=0.9))
    assert set(rows[0]) == {"rank", "residual", "heldout_residual", "orth_defect"}
    assert rows[0]["rank"] == 2 and rows[0]["residual"] < 1e-10 and rows[0]["orth_defect"] < 1e-5
    assert rows[0]["heldout_residual"] < 1e-5


@pytest.mark.parametrize(("n", "d", "cap"), [(31, 64, 14), (30, 64, 14), (113, 128, 56), (112, 128, 54),
                                             (31, 8, 8), (31, 7, 6)])
def test_rank_cap_is_even_and_overdetermined(n, d, cap):
    assert rank_cap(n, d) == cap


def test_principal_rank_rounds_up_to_whole_pairs():
    """Energy 0.9 reached after 1, 2, 3, 5 singular values → ranks 2, 2, 4, 6; the cap 4 clamps 6."""
    sigma = torch.tensor([[100.0, 1.0, 1.0, 1.0, 1.0, 1.0],
                          [5.0, 5.0, 0.5, 0.3, 0.1, 0.1],
                          [3.0, 3.0, 3.0, 0.1, 0.1, 0.1],
                          [1.0, 1.0, 1.0, 1.0, 1.0, 0.1]], dtype=torch.float64).sqrt()
    assert principal_rank(sigma, 0.9, 6).tolist() == [2, 2, 4, 6]
    assert principal_rank(sigma, 0.9, 4).tolist() == [2, 2, 4, 4]


@pytest.mark.parametrize(("p", "d"), [(31, 64), (113, 128)])
def test_rank_is_always_even(p, d):
    """Random embeddings of every spread of energy, and Fourier planes plus a constant row (an odd
    principal dimension before rounding)."""
    spread = torch.logspace(0, -3, d, dtype=torch.float64) ** torch.linspace(0, 2, 40, dtype=torch.float64)[:, None]
    embeddings = gaussian_embeddings(40, p, d, seed=3) * spread[:, None, :]
    offset = fourier_embedding(p, d, [2, 9]) + 3.0 * torch.ones(p, d, dtype=torch.float64) / math.sqrt(d)
    for energy in (0.5, 0.9, 0.99):
        ranks, _, _ = group_representation(torch.cat([embeddings, offset[None]]), energy)
        assert (ranks % 2 == 0).all() and (ranks >= 2).all() and (ranks <= rank_cap(p, d)).all()
        assert len(set(ranks.tolist())) > 1


def test_constant_offset_is_kept_with_its_pair():
    """A constant row c (fixed by the shift) plus one Fourier plane: 3 directions, rounded to 4, and the
    fit stays exact."""
    embedding = fourier_embedding(31, 64, [4]) + 2.0 * torch.ones(31, 64, dtype=torch.float64) / 8
    ranks, residual, _ = group_representation(embedding[None], 0.99)
    assert ranks.tolist() == [4] and float(residual) < 1e-20


def test_heldout_split_is_a_fixed_half():
    fit, held = heldout_split(31)
    assert len(fit) == 15 and len(held) == 16
    assert sorted(torch.cat([fit, held]).tolist()) == list(range(31))
    torch.testing.assert_close(heldout_split(31)[0], fit)
    assert fit.tolist() != list(range(15))


@pytest.mark.parametrize(("p", "d", "frequencies"), [(31, 64, [3]), (31, 64, [1, 5, 12]), (113, 128, [4, 17, 40])])
def test_fourier_embedding_has_zero_heldout_residual(p, d, frequencies):
    assert float(heldout_residual(fourier_embedding(p, d, frequencies)[None])) < 1e-3
    assert float(heldout_residual(50.0 * fourier_embedding(p, d, frequencies)[None])) < 1e-3


def test_heldout_residual_holds_for_a_weak_plane():
    """One plane 10× weaker in amplitude (1 % of the energy) is still predicted: the ridge is relative."""
    embedding = fourier_embedding(31, 64, [2, 7], seed=1, amplitudes=[10.0, 1.0])
    assert float(heldout_residual(embedding[None])) < 1e-3


@pytest.mark.parametrize(("p", "d"), [(31, 64), (113, 128)])
def test_gaussian_embedding_has_heldout_residual_near_one(p, d):
    """Measured: 1.18–1.43 (p=31, d=64) and 1.70–1.90 (p=113, d=128) over 50 draws."""
    heldout = heldout_residual(gaussian_embeddings(50, p, d, seed=1))
    assert (heldout > 0.5).all() and (heldout < 3).all()


def test_heldout_residual_is_not_the_in_sample_fit():
    """In sample (fit and score on every x) a Gaussian embedding would be mapped almost exactly."""
    embedding = gaussian_embeddings(1, 31, 64)[0]
    following = embedding.roll(-1, 0)
    gram = embedding.T @ embedding
    r_transposed = torch.linalg.solve(gram + 1e-3 * gram.trace() / 64 * torch.eye(64, dtype=torch.float64),
                                      embedding.T @ following)
    in_sample = (following - embedding @ r_transposed).square().sum() / following.square().sum()
    assert float(in_sample) < 0.01
    assert float(heldout_residual(embedding[None])) > 0.5


def test_heldout_residual_matches_a_written_out_ridge_fit():
    """R from the ridge normal equations over x ∈ A, scored over x ∈ B with x+1 mod n, one x at a time."""
    n, d = 11, 6
    embedding = torch.randn(n, d, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    fit, held = heldout_split(n)
    gram = sum(torch.outer(embedding[x], embedding[x]) for x in fit.tolist())
    cross = sum(torch.outer(embedding[(x + 1) % n], embedding[x]) for x in fit.tolist())
    shift = cross @ torch.linalg.inv(gram + 1e-3 * gram.trace() / d * torch.eye(d, dtype=torch.float64))
    misfit = sum(float((embedding[(x + 1) % n] - shift @ embedding[x]).square().sum()) for x in held.tolist())
    total = sum(float(embedding[(x + 1) % n].square().sum()) for x in held.tolist())
    assert float(heldout_residual(embedding[None])) == pytest.approx(misfit / total, rel=1e-10)


def test_heldout_batched_matches_one_at_a_time():
    batch = torch.cat([fourier_embedding(31, 64, [3], seed=2)[None], gaussian_embeddings(3, 31, 64, seed=5)])
    torch.testing.assert_close(heldout_residual(batch), torch.cat([heldout_residual(e[None]) for e in batch]))


@pytest.mark.parametrize(("p", "d", "frequencies"), [(31, 64, [4]), (31, 64, [2, 7, 11]), (113, 128, [5, 23])])
def test_multiplicative_fourier_embedding_is_a_representation_of_its_group(p, d, frequencies):
    """E[gⁱ] = [cos(2πki/(p−1)), sin(…)] read in the multiplicative group: the shift gⁱ ↦ gⁱ⁺¹ is a rotation."""
    w_e = multiplicative_fourier_w_e(p, d, frequencies)
    embeddings = number_embeddings({"W_E": w_e[None]}, number_group("x×y", p))
    assert embeddings.shape == (1, p - 1, d)
    ranks, residual, orth_defect = group_representation(embeddings)
    assert ranks.tolist() == [2 * len(frequencies)]
    assert float(residual) < 1e-20 and float(orth_defect) < 1e-10
    assert float(heldout_residual(embeddings)) < 1e-3


@pytest.mark.parametrize(("p", "d", "frequencies"), [(31, 64, [4]), (31, 64, [2, 7, 11]), (113, 128, [5, 23])])
def test_multiplicative_fourier_embedding_read_in_z_p_is_no_representation(p, d, frequencies):
    """The same W_E read as Z_p (x ↦ x+1, token 0 included) has no shift map: large residuals."""
    w_e = multiplicative_fourier_w_e(p, d, frequencies)
    embeddings = number_embeddings({"W_E": w_e[None]}, number_group("x×y", p, "additive"))
    assert embeddings.shape == (1, p, d)
    _, residual, _ = group_representation(embeddings)
    assert float(heldout_residual(embeddings)) > 0.5
    assert float(residual) > 0.3


def test_rows_read_the_op_group_and_the_fourier_group_argument():
    """group_representation_rows on an x×y W_E: auto reads the multiplicative group (≈ 0), additive Z_p (large)."""
    p, d = 31, 64
    w_e = multiplicative_fourier_w_e(p, d, [3, 8])[None].float()
    info = checkpoint_info("x×y", p, d)
    (auto,) = group_representation_rows({"W_E": w_e}, [info], argparse.Namespace(rank_energy=0.9))
    (additive,) = group_representation_rows({"W_E": w_e}, [info],
                                            argparse.Namespace(rank_energy=0.9, fourier_group="additive"))
    assert auto[0]["rank"] == 4 and auto[0]["residual"] < 1e-8 and auto[0]["heldout_residual"] < 1e-3
    assert additive[0]["heldout_residual"] > 0.5 and additive[0]["residual"] > 0.3

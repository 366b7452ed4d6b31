import pandas as pd
import pytest
import torch

from grokflow.metrics.groups import additive_group
from grokflow.metrics.qk_circuit import (centred_frequencies, centred_power, circuit_spectra, diagonal_fraction,
                                         diagonal_mask, diagonal_rows, qk_circuits, spectrum_rows, tensor_names)
from test_embedding_geometry import (TINY, assert_batched_rows_equal_single, assert_png_and_pdf, checkpoint_infos,
                                     fourier_embedding, model_stack, run_script, write_checkpoints,
                                     write_metrics)


def identity_heads(d_model, d_head, n_heads=1):
    """W_Q = W_K whose every head projects onto the first d_head coordinates: (heads, d, d_head)."""
    return torch.eye(d_model, d_head, dtype=torch.float64).expand(n_heads, d_model, d_head)


def random_heads(n_heads, d_model, d_head, seed):
    return torch.randn(n_heads, d_model, d_head, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def grid_index(p, k1, k2):
    """Index of the cell (k1, k2) in the centred p × p grid."""
    frequencies = centred_frequencies(p).tolist()
    return frequencies.index(k1), frequencies.index(k2)


@pytest.mark.parametrize(("p", "expected"), [(7, [-3, -2, -1, 0, 1, 2, 3]), (6, [-3, -2, -1, 0, 1, 2])])
def test_centred_frequencies(p, expected):
    assert centred_frequencies(p).tolist() == expected


@pytest.mark.parametrize("p", [7, 31, 8, 12])
def test_diagonal_mask_counts_each_cell_once_and_skips_the_origin(p):
    mask = diagonal_mask(p)
    shared_cells = 2 if p % 2 == 0 else 1  # k2 ≡ k1 and k2 ≡ −k1 meet at (0, 0), and at (−p/2, −p/2) for even p
    assert int(mask.sum()) == 2 * p - shared_cells - 1
    assert not mask[grid_index(p, 0, 0)]
    assert mask[grid_index(p, 2, -2)] and mask[grid_index(p, -3, -3)] and not mask[grid_index(p, 1, 2)]


@pytest.mark.parametrize(("p", "k"), [(31, 3), (31, 15), (13, 5)])
def test_single_frequency_circuit_puts_power_on_k_minus_k(p, k):
    embedding = fourier_embedding(p, k, d=8)
    weights = identity_heads(8, 4)
    (circuit,) = qk_circuits(embedding, weights, weights)
    x = torch.arange(p, dtype=torch.float64)
    torch.testing.assert_close(circuit, torch.cos(2 * torch.pi * k * (x[:, None] - x[None, :]) / p))
    power = centred_power(circuit)
    expected = torch.zeros(p, p, dtype=torch.float64)
    expected[grid_index(p, k, -k)] = expected[grid_index(p, -k, k)] = p**4 / 4
    torch.testing.assert_close(power, expected, atol=1e-8, rtol=1e-9)
    assert float(diagonal_fraction(power)) == pytest.approx(1.0)


def test_single_frequency_with_random_heads_stays_on_the_diagonals():
    p, k = 31, 4
    embedding = fourier_embedding(p, k, d=8)
    circuits = qk_circuits(embedding, random_heads(3, 8, 2, seed=0), random_heads(3, 8, 2, seed=1))
    torch.testing.assert_close(diagonal_fraction(centred_power(circuits)), torch.ones(3, dtype=torch.float64))


def test_random_embedding_has_a_small_diagonal_fraction():
    p, d = 31, 64
    embedding = torch.randn(p, d, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    circuits = qk_circuits(embedding, random_heads(4, d, 16, seed=3), random_heads(4, d, 16, seed=4))
    fractions = diagonal_fraction(centred_power(circuits))
    assert bool((fractions < 0.2).all())  # the diagonals hold (2p − 2) / (p² − 1) ≈ 0.065 of the cells


def test_parseval():
    circuits = torch.randn(2, 3, 11, 11, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    torch.testing.assert_close(centred_power(circuits).sum(dim=(-2, -1)), 11**2 * circuits.square().sum(dim=(-2, -1)))


def test_head_sum_is_the_circuit_of_the_whole_layer():
    stacked = model_stack(2)
    spectra = circuit_spectra(stacked, additive_group(TINY.p))
    assert spectra.shape == (2, TINY.n_heads + 1, TINY.p, TINY.p)
    embeddings = stacked["W_E"][:, : TINY.p].double()
    whole = {name: stacked[f"blocks.0.{name}"].double().transpose(-3, -2).flatten(-2) for name in ("W_Q", "W_K")}
    layer_circuit = embeddings @ whole["W_Q"] @ whole["W_K"].transpose(-1, -2) @ embeddings.transpose(-1, -2)
    torch.testing.assert_close(spectra[:, -1], centred_power(layer_circuit))


def test_only_layer_zero_is_read():
    assert tensor_names(TINY) == ["W_E", "blocks.0.W_Q", "blocks.0.W_K"]


def test_rows_batched_equal_one_at_a_time():
    stacked = model_stack(3)
    for rows_of in (spectrum_rows, diagonal_rows):
        assert_batched_rows_equal_single(rows_of, stacked, checkpoint_infos(3))
    (rows, *_) = diagonal_rows(stacked, checkpoint_infos(3))
    assert [(row["layer"], row["head"]) for row in rows] == [(0, head) for head in (0, 1, 2, 3, -1)]
    assert [row["random_baseline"] for row in rows] == pytest.approx([12 / 48] * 5)  # p = 7: 2·7 − 2 diagonal cells


def test_scripts_write_csvs_and_figures(tmp_path):
    checkpoints = write_checkpoints(tmp_path)
    run_script("metrics/qk_circuit.py", *checkpoints, "-o", tmp_path / "qk_circuit.csv")
    run_script("metrics/qk_circuit_diagonal.py", *checkpoints, "-o", tmp_path / "qk_circuit_diagonal.csv")
    spectra, diagonal = pd.read_csv(tmp_path / "qk_circuit.csv"), pd.read_csv(tmp_path / "qk_circuit_diagonal.csv")
    assert list(spectra.columns) == ["seed", "step", "group", "layer", "head", "k1", "k2", "power"]
    assert list(diagonal.columns) == ["seed", "step", "group", "layer", "head", "diagonal_fraction", "random_baseline"]
    assert len(spectra) == 6 * (TINY.n_heads + 1) * TINY.p**2
    assert len(diagonal) == 6 * (TINY.n_heads + 1)
    write_metrics(tmp_path / "metric.csv")
    run_script("plots/qk_circuit_spectrum.py", "--spectra", tmp_path / "qk_circuit.csv", "--outdir", tmp_path / "qk")
    run_script("plots/qk_circuit_diagonal.py", "--table", tmp_path / "qk_circuit_diagonal.csv",
               "--metrics", tmp_path / "metric.csv", "--output", tmp_path / "diagonal.png")
    written = sorted(path.relative_to(tmp_path / "qk").as_posix() for path in (tmp_path / "qk").rglob("*.png"))
    assert written == [f"seed{seed}/step{step}.png" for seed in (0, 1) for step in (0, 10, 100)]
    for png in [*(tmp_path / "qk").rglob("*.png"), tmp_path / "diagonal.png"]:
        assert_png_and_pdf(png)

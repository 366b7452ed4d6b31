import argparse
import math
import subprocess
import sys

import pandas as pd
import pytest
import torch

from grokflow.metrics.agop import (agop_blocks, agop_rows, circulant_deviation, circulant_score,
                                   correct_logit_function, gradient_outer_product, input_gradients, model_agop,
                                   sample_subset, shift_rows_left, top_eigenvalue_share)
from grokflow.metrics.effective_rank import effective_rank
from grokflow.model import GrokTransformer
from test_embedding_geometry import (REPO_SCRIPTS, TINY, assert_batched_rows_equal_single, assert_png_and_pdf,
                                     checkpoint_infos, model_stack, run_script, write_checkpoints, write_metrics)

COLUMNS = ["seed", "step", "group", "split", "block", "agop_erank", "agop_top_share", "gram_circulant_score",
           "gram_circulant_deviation", "agop_circulant_score", "agop_circulant_deviation", "train_loss",
           "train_acc", "test_loss", "test_acc"]


def randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def circulant(first_row):
    """A[i, j] = c[(j − i) mod p]."""
    p = len(first_row)
    return first_row[(torch.arange(p)[None, :] - torch.arange(p)[:, None]) % p]


def agop_of(function, inputs):
    return gradient_outer_product(input_gradients(function, inputs, torch.zeros(len(inputs))))


def test_agop_of_a_linear_model_is_w_w_transpose():
    w, inputs = randn(6, seed=1), randn(50, 6, seed=2)
    torch.testing.assert_close(agop_of(lambda v, t: v @ w, inputs), torch.outer(w, w))


def test_agop_of_a_squared_projection_matches_its_closed_form():
    a, inputs = randn(5, seed=3), randn(40, 5, seed=4)
    expected = 4 * (inputs @ a).square().mean() * torch.outer(a, a)  # g = 2(a·v)a
    torch.testing.assert_close(agop_of(lambda v, t: (v @ a) ** 2, inputs), expected)


def test_a_model_that_ignores_y_has_a_zero_y_block():
    d = 4
    blocks = agop_blocks(agop_of(lambda v, t: torch.sin(v[:, :d]).sum(dim=-1) * v[:, 1], randn(30, 2 * d, seed=5)))
    assert blocks["y"].shape == (d, d) and blocks["x"].shape == (d, d)
    assert torch.count_nonzero(blocks["y"]) == 0
    assert float(blocks["x"].abs().max()) > 0.1
    assert math.isnan(float(top_eigenvalue_share(blocks["y"])))


def test_per_sample_gradients_of_one_backward_pass_equal_a_loop():
    w, inputs = randn(3, 6, seed=6), randn(20, 6, seed=7)
    targets = torch.nn.functional.one_hot(torch.arange(20) % 3, 3).double()

    def function(v, t):
        return (torch.tanh(v @ w.T) * t).sum(dim=-1)

    loop = torch.stack([torch.func.grad(lambda u: function(u[None], t[None])[0])(v) for v, t in zip(inputs, targets)])
    torch.testing.assert_close(input_gradients(function, inputs, targets), loop)


def test_transformer_gradients_match_autograd_through_the_full_forward():
    model = GrokTransformer(TINY).double().eval()
    tokens = torch.tensor([[1, 4, 7], [6, 2, 7], [0, 5, 7]])  # x ≠ y, so W_E's rows x and y get one position each
    labels = torch.tensor([3, 0, 6])
    gradients = []
    for row, label in zip(tokens, labels):
        W_E = model.W_E
        (row_gradient,) = torch.autograd.grad(model(row[None])[0, label], W_E)
        gradients.append(torch.cat([row_gradient[row[0]], row_gradient[row[1]]]))
    gradients = torch.stack(gradients)
    one_hot = torch.nn.functional.one_hot(labels, TINY.vocab).double()
    pairs = model.W_E.detach()[tokens[:, :2]].flatten(-2)
    torch.testing.assert_close(input_gradients(correct_logit_function(model), pairs, one_hot), gradients)
    torch.testing.assert_close(model_agop(model, tokens, labels), gradients.T @ gradients / 3)


@pytest.mark.parametrize("p", [7, 12, 31])
def test_circulant_matrix_has_score_one_and_deviation_zero(p):
    matrix = circulant(randn(p, seed=p))
    assert float(circulant_score(matrix)) == pytest.approx(1.0, abs=1e-12)
    assert float(circulant_deviation(matrix)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(("p", "tolerance"), [(7, 0.5), (31, 0.2)])
def test_random_matrix_is_far_from_circulant(p, tolerance):
    matrix = randn(p, p, seed=p)
    assert float(circulant_score(matrix)) < 3 / p  # expected 1/p: p of the p² cells
    # i.i.d. entries: Σ_j Var_i ≈ p·(p − 1)/p·σ² over ‖A‖² ≈ p²σ²
    assert float(circulant_deviation(matrix)) == pytest.approx((p - 1) / p**2, rel=tolerance)


def test_deviation_of_a_diagonal_bump_matches_the_formula():
    p = 5
    matrix = torch.zeros(p, p, dtype=torch.float64)
    matrix[0, 0] = 1.0  # S keeps it at (0, 0): one column with values (1, 0, …, 0), variance (p − 1)/p²
    assert float(circulant_deviation(matrix)) == pytest.approx((p - 1) / p**2)


def test_shift_rows_left_moves_row_i_by_i():
    matrix = torch.arange(9.0).view(3, 3)
    assert shift_rows_left(matrix).tolist() == [[0, 1, 2], [4, 5, 3], [8, 6, 7]]


def test_circulant_scores_batched_equal_one_at_a_time():
    batch = randn(3, 2, 7, 7, seed=8)
    for score in (circulant_score, circulant_deviation):
        one_by_one = torch.stack([torch.stack([score(m) for m in row]) for row in batch])
        torch.testing.assert_close(score(batch), one_by_one)


def test_spectrum_of_a_known_psd_matrix():
    q, _ = torch.linalg.qr(randn(4, 4, seed=9))
    eigenvalues = torch.tensor([4.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    matrix = q @ torch.diag(eigenvalues) @ q.T
    shares = eigenvalues / eigenvalues.sum()
    assert float(top_eigenvalue_share(matrix)) == pytest.approx(0.5)
    assert float(effective_rank(matrix)) == pytest.approx(math.exp(float(-(shares * shares.log()).sum())))


def test_sample_subset_keeps_small_splits_and_draws_a_fixed_subset_of_large_ones():
    inputs, labels = torch.arange(30).view(10, 3), torch.arange(10)
    assert sample_subset(inputs, labels, None)[1].tolist() == list(range(10))
    assert sample_subset(inputs, labels, 10)[1].tolist() == list(range(10))
    chosen_inputs, chosen_labels = sample_subset(inputs, labels, 4)
    assert len(chosen_labels) == 4 and len(set(chosen_labels.tolist())) == 4
    assert torch.equal(chosen_inputs, inputs[chosen_labels])  # rows stay paired with their labels
    assert torch.equal(sample_subset(inputs, labels, 4)[1], chosen_labels)  # the same subset every time


def test_agop_over_a_subset_is_the_agop_of_those_samples():
    stacked, infos = model_stack(1), checkpoint_infos(1)
    capped = pd.DataFrame(agop_rows(stacked, infos, argparse.Namespace(samples=5))[0])
    full = pd.DataFrame(agop_rows(stacked, infos)[0])
    assert not capped["agop_erank"].equals(full["agop_erank"])
    assert (capped["agop_erank"] <= 5 + 1e-9).all()  # a mean of 5 outer products has rank ≤ 5
    assert capped["gram_circulant_score"].equals(full["gram_circulant_score"])  # no samples involved


def test_rows_batched_equal_one_at_a_time_and_repeat_the_checkpoint_columns():
    stacked, infos = model_stack(2), checkpoint_infos(2)
    assert_batched_rows_equal_single(agop_rows, stacked, infos)
    rows = pd.DataFrame(agop_rows(stacked, infos)[0])
    assert list(zip(rows["split"], rows["block"])) == [(s, b) for s in ("train", "test") for b in ("full", "x", "y")]
    assert rows["gram_circulant_score"].nunique() == 1
    assert rows.groupby("split")["agop_circulant_deviation"].nunique().eq(1).all()
    assert rows["agop_top_share"].between(0, 1).all() and (rows["agop_erank"] >= 1).all()


def test_scripts_write_the_joined_csv_and_both_figures(tmp_path):
    paths = write_checkpoints(tmp_path, seeds=(0, 1), steps=(10, 100))
    write_metrics(tmp_path / "metric.csv")
    run_script("metrics/agop_circulant.py", *paths, "-o", tmp_path / "agop.csv", "--metrics", tmp_path / "metric.csv")
    table = pd.read_csv(tmp_path / "agop.csv")
    assert list(table.columns) == COLUMNS
    assert len(table) == 2 * 2 * 6
    assert (table["train_acc"] == 0.5).all() and (table["test_acc"] == 0.2).all()
    run_script("plots/agop_circulant.py", "--agop", tmp_path / "agop.csv", "--metrics", tmp_path / "metric.csv",
               "--erank-output", tmp_path / "F1.png", "--circulant-output", tmp_path / "F2.png")
    assert_png_and_pdf(tmp_path / "F1.png")
    assert_png_and_pdf(tmp_path / "F2.png")


def test_missing_metric_rows_are_one_line_errors(tmp_path):
    paths = write_checkpoints(tmp_path, seeds=(0,), steps=(10, 50))
    write_metrics(tmp_path / "metric.csv")
    result = subprocess.run([sys.executable, str(REPO_SCRIPTS / "metrics/agop_circulant.py"), *paths,
                             "-o", str(tmp_path / "agop.csv"), "--metrics", str(tmp_path / "metric.csv")],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "error: metric.csv has no row for seed 0, step 50 (1 checkpoints missing)"
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "agop.csv").exists()

import importlib.util
import math
from pathlib import Path
import subprocess
import sys

import pandas as pd
import pytest
import torch

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.metrics.intrinsic_dimension import (TIE_RATIO, intrinsic_dimension_rows, neighbour_ratios,
                                                  participation_ratio, qk_circuits, twonn_degeneracy, twonn_dimension)
from grokflow.model import GrokTransformer, ModelConfig

REPO_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TINY = ModelConfig(p=11, n_layers=2, d_model=16, n_heads=4, d_mlp=32)
COLUMNS = ["seed", "step", "matrix", "layer", "twonn_id", "twonn_median_ratio", "twonn_tie_share",
           "participation_ratio", "erank", "spectral_entropy"]
POINT_CLOUD_COLUMNS = ["twonn_id", "twonn_median_ratio", "twonn_tie_share", "participation_ratio"]


def generator(seed):
    return torch.Generator().manual_seed(seed)


def embedded_gaussian(d, n=2000, ambient=64, noise=1e-3, seed=0):
    """n standard-Gaussian points in d dimensions, mapped by a random linear map into `ambient`
    dimensions, plus isotropic noise of standard deviation `noise`."""
    latent = torch.randn(n, d, generator=generator(seed), dtype=torch.float64)
    mapping = torch.randn(d, ambient, generator=generator(seed + 1), dtype=torch.float64)
    return latent @ mapping + noise * torch.randn(n, ambient, generator=generator(seed + 2), dtype=torch.float64)


def random_orthogonal(n, seed):
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=generator(seed), dtype=torch.float64))
    return q


@pytest.mark.parametrize("d", [2, 5, 10])
def test_twonn_recovers_the_dimension_of_an_embedded_gaussian(d):
    assert float(twonn_dimension(embedded_gaussian(d))) == pytest.approx(d, rel=0.15)


def test_neighbour_ratios_on_a_line_and_duplicates_are_dropped():
    line = torch.tensor([[0.0], [1.0], [3.0]])
    torch.testing.assert_close(neighbour_ratios(line), torch.tensor([3.0, 2.0, 1.5], dtype=torch.float64))
    with_duplicate = torch.tensor([[0.0], [0.0], [1.0], [3.0]])
    assert neighbour_ratios(with_duplicate)[:2].isinf().all()
    assert math.isnan(float(twonn_dimension(torch.zeros(5, 3))))


def test_twonn_batched_matches_one_at_a_time():
    clouds = torch.stack([embedded_gaussian(d, n=200, seed=d) for d in (2, 3, 4)])
    torch.testing.assert_close(twonn_dimension(clouds), torch.stack([twonn_dimension(c) for c in clouds]))


def fourier_embedding(p, frequencies, ambient=64, seed=0, offset=3.0):
    """E_x = [cos(2πk_j x/p), sin(2πk_j x/p)]_j (x = 0 … p−1): m = len(frequencies) circles of equal
    radius in orthogonal planes, rotated into `ambient` dimensions and shifted off the origin."""
    x = torch.arange(p, dtype=torch.float64)[:, None]
    angle = 2 * math.pi * torch.tensor(frequencies, dtype=torch.float64) * x / p
    circles = torch.stack([angle.cos(), angle.sin()], dim=-1).reshape(p, -1)
    return circles @ random_orthogonal(ambient, seed)[: circles.shape[1]] + offset


def isotropic_gaussian(d, n=20000, ambient=64, seed=0):
    """n standard-Gaussian points in a random d-dimensional subspace of `ambient` dimensions."""
    latent = torch.randn(n, d, generator=generator(seed), dtype=torch.float64)
    return latent @ random_orthogonal(ambient, seed + 1)[:d]


@pytest.mark.parametrize("p, frequencies", [(31, [1]), (31, [3, 7]), (113, [4, 11, 29, 40]),
                                            (97, [1, 2, 3, 5, 8, 13, 21, 34, 48])])
def test_participation_ratio_of_m_fourier_circles_is_2m(p, frequencies):
    assert abs(float(participation_ratio(fourier_embedding(p, frequencies))) - 2 * len(frequencies)) < 1e-10
    assert abs(float(participation_ratio(fourier_embedding(p, frequencies).float())) - 2 * len(frequencies)) < 1e-4


@pytest.mark.parametrize("d", [1, 3, 10, 30])
def test_participation_ratio_of_an_isotropic_gaussian_is_its_dimension(d):
    assert float(participation_ratio(isotropic_gaussian(d))) == pytest.approx(d, rel=0.01)


def test_participation_ratio_of_known_variances_and_of_a_cloud_without_variance():
    # Two equal circles of radii 1 and 2 in orthogonal planes: λ ∝ (1, 1, 4, 4), PR = 10² / 34.
    unequal = torch.cat([fourier_embedding(31, [2], ambient=2, offset=0.0),
                         2 * fourier_embedding(31, [5], ambient=2, offset=0.0)], dim=1)
    assert float(participation_ratio(unequal)) == pytest.approx(100 / 34, rel=1e-12)
    assert math.isnan(float(participation_ratio(torch.zeros(5, 3))))
    assert math.isnan(float(participation_ratio(torch.full((7, 3), 0.1, dtype=torch.float64))))


def test_participation_ratio_batched_matches_one_at_a_time():
    clouds = torch.stack([fourier_embedding(31, [1, 2]), isotropic_gaussian(3, n=31), torch.zeros(31, 64)])
    torch.testing.assert_close(participation_ratio(clouds), torch.stack([participation_ratio(c) for c in clouds]),
                               equal_nan=True)


@pytest.mark.parametrize("p", [31, 97, 113])
def test_degeneracy_of_a_perfect_circle(p):
    median, tie_share = twonn_degeneracy(fourier_embedding(p, [1]))
    assert float(median) == pytest.approx(1.0, abs=1e-9)
    assert float(tie_share) == 1.0
    assert float(participation_ratio(fourier_embedding(p, [1]))) == pytest.approx(2.0, abs=1e-10)


@pytest.mark.parametrize("d", [2, 5, 10])
def test_degeneracy_of_a_gaussian_cloud_follows_the_pareto_law(d):
    """Under TwoNN's model μ is Pareto: median 2^(1/d), P(μ < 1.01) = 1 − 1.01^(−d)."""
    median, tie_share = twonn_degeneracy(isotropic_gaussian(d, n=2000, seed=d))
    assert float(median) == pytest.approx(2 ** (1 / d), rel=0.02)
    assert float(tie_share) == pytest.approx(1 - TIE_RATIO ** -d, abs=0.02)
    assert float(tie_share) < 0.15


def test_degeneracy_ignores_duplicates_and_is_nan_without_neighbours():
    # μ = 3, 2, 1.5 on the line 0, 1, 3; the duplicated points have μ = inf and are left out.
    median, tie_share = twonn_degeneracy(torch.tensor([[0.0], [1.0], [3.0]]))
    assert (float(median), float(tie_share)) == (2.0, 0.0)
    median, tie_share = twonn_degeneracy(torch.tensor([[10.0], [10.0], [0.0], [1.0], [3.0]]))
    assert (float(median), float(tie_share)) == (2.0, 0.0)  # with μ = inf kept, the median would be 3
    # 0, 1, 2.005: the middle point's neighbours are 1 and 1.005 away (μ = 1.005 < 1.01), a tie.
    assert float(twonn_degeneracy(torch.tensor([[0.0], [1.0], [2.005]]))[1]) == pytest.approx(1 / 3)
    assert all(math.isnan(float(value)) for value in twonn_degeneracy(torch.zeros(4, 2)))


def test_degeneracy_batched_matches_one_at_a_time():
    clouds = torch.stack([fourier_embedding(31, [1]), isotropic_gaussian(3, n=31), embedded_gaussian(2, n=31)])
    for batched, singles in zip(twonn_degeneracy(clouds), zip(*map(twonn_degeneracy, clouds)), strict=True):
        torch.testing.assert_close(batched, torch.stack(singles))


def test_qk_circuit_erank_and_entropy_from_known_singular_values():
    d_model, n_heads, d_head = 8, 2, 4
    sigma = torch.tensor([5.0, 3.0, 2.0, 1.0, 1.0, 0.5, 0.0, 0.0], dtype=torch.float64)
    left, right = random_orthogonal(d_model, 0), random_orthogonal(d_model, 1)
    heads = [slice(h * d_head, (h + 1) * d_head) for h in range(n_heads)]
    tensors = {"blocks.0.W_Q": torch.stack([left[:, cols] * sigma[cols] for cols in heads])[None],
               "blocks.0.W_K": torch.stack([right[:, cols] for cols in heads])[None]}
    torch.testing.assert_close(qk_circuits(tensors, 1)[0, 0], left @ torch.diag(sigma) @ right.T)
    shares = sigma[sigma > 0] / sigma.sum()
    entropy = float(-(shares * shares.log()).sum())
    info = CheckpointInfo(op="x+y", seed=0, step=0, train_fraction=0.3,
                          model=ModelConfig(p=7, n_layers=1, d_model=d_model, n_heads=n_heads, d_mlp=8))
    tensors |= {"W_E": torch.randn(1, 8, d_model, generator=generator(2)),
                "W_U": torch.randn(1, d_model, 8, generator=generator(3))}
    (rows,) = intrinsic_dimension_rows(tensors, [info])
    (qk,) = [row for row in rows if row["matrix"] == "W_QK"]
    assert qk["spectral_entropy"] == pytest.approx(entropy)
    assert qk["erank"] == pytest.approx(math.exp(entropy))
    assert 1 < qk["erank"] < 6


def info(seed=0, step=0):
    return CheckpointInfo(op="x+y", seed=seed, step=step, train_fraction=0.3, model=TINY)


@pytest.mark.parametrize("op", ["x+y", "x×y"])
def test_id_rows_measure_every_number_token_of_w_e_and_w_u(op):
    """W_E's number rows and W_U's number columns hold three circles (PR 6, every μ = 1), for every
    op: all p tokens, token 0 included; the other rows and columns (=, op tokens) are noise."""
    p, d_model = 31, 16
    model = ModelConfig(p=p, n_layers=1, d_model=d_model, n_heads=2, d_mlp=8)
    circles = fourier_embedding(p, [1, 4, 9], ambient=d_model)
    vocab = GrokTransformer(model, seed=0).state_dict()["W_E"].shape[0]
    noise = torch.randn(vocab - p, d_model, generator=generator(5), dtype=torch.float64)
    tensors = {"W_E": torch.cat([circles, noise])[None], "W_U": torch.cat([circles, noise]).T[None],
               "blocks.0.W_Q": torch.randn(1, 2, d_model, 8, generator=generator(6)),
               "blocks.0.W_K": torch.randn(1, 2, d_model, 8, generator=generator(7))}
    info = CheckpointInfo(op=op, seed=0, step=0, train_fraction=0.3, model=model)
    (rows,) = intrinsic_dimension_rows(tensors, [info])
    for row in rows[:2]:
        assert row["participation_ratio"] == pytest.approx(6.0, abs=1e-10)
        assert row["twonn_median_ratio"] == pytest.approx(1.0, abs=1e-9) and row["twonn_tie_share"] == 1.0
    assert all(math.isnan(rows[-1][column]) for column in POINT_CLOUD_COLUMNS)


def test_rows_batched_match_one_at_a_time():
    states = [GrokTransformer(TINY, seed=seed).state_dict() for seed in (0, 1, 2)]
    stacked = {name: torch.stack([state[name] for state in states]) for name in states[0]}
    infos = [info(step=step) for step in range(3)]
    batched = intrinsic_dimension_rows(stacked, infos)
    singles = [intrinsic_dimension_rows({n: t[i : i + 1] for n, t in stacked.items()}, infos[i : i + 1])[0]
               for i in range(3)]
    pd.testing.assert_frame_equal(pd.DataFrame(sum(batched, [])), pd.DataFrame(sum(singles, [])))
    assert [(row["matrix"], row["layer"]) for row in batched[0]] == [("W_E", -1), ("W_U", -1),
                                                                    ("W_QK", 0), ("W_QK", 1)]


def run_script(relative_path, *args):
    return subprocess.run([sys.executable, str(REPO_SCRIPTS / relative_path), *map(str, args)],
                          capture_output=True, text=True)


def test_scripts_write_csv_and_figures(tmp_path):
    paths = []
    for seed in (0, 1):
        for step in (0, 10, 100):
            path = tmp_path / f"seed{seed}_step{step}.safetensors"
            save_checkpoint(path, GrokTransformer(TINY, seed=10 * seed + step).state_dict(), info(seed, step))
            paths.append(path)
    csv = tmp_path / "intrinsic_dimension.csv"
    assert run_script("metrics/intrinsic_dimension.py", *paths, "-o", csv).returncode == 0
    table = pd.read_csv(csv)
    assert list(table.columns) == COLUMNS
    assert len(table) == 6 * 4
    qk, clouds = table[table["matrix"] == "W_QK"], table[table["matrix"] != "W_QK"]
    assert qk[POINT_CLOUD_COLUMNS].isna().all().all() and qk["erank"].between(1, TINY.d_model).all()
    assert clouds["twonn_id"].gt(0).all() and clouds["twonn_median_ratio"].gt(1).all()
    assert clouds["twonn_tie_share"].between(0, 1).all()
    assert clouds["participation_ratio"].between(1, TINY.p - 1).all()
    assert clouds[["erank", "spectral_entropy"]].isna().all().all()
    pd.DataFrame({"seed": [0, 0, 1, 1], "step": [10, 100] * 2, "train_acc": 0.5, "test_acc": 0.2}).to_csv(
        tmp_path / "metric.csv", index=False)
    id_png, qk_png = tmp_path / "id.png", tmp_path / "qk.png"
    result = run_script("plots/intrinsic_dimension.py", "--id", csv, "--metrics", tmp_path / "metric.csv",
                        "--id-output", id_png, "--qk-output", qk_png)
    assert result.returncode == 0, result.stderr
    for png in (id_png, qk_png):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"


def test_plot_script_reports_a_missing_file_in_one_line(tmp_path):
    result = run_script("plots/intrinsic_dimension.py", "--id", tmp_path / "missing.csv", "--metrics",
                        tmp_path / "missing.csv", "--id-output", tmp_path / "a.png", "--qk-output", tmp_path / "b.png")
    assert result.returncode != 0 and "Traceback" not in result.stderr


def test_plot_script_reports_a_missing_column_in_one_line(tmp_path):
    table = pd.DataFrame({"seed": [0, 0], "step": [1, 10], "matrix": "W_E", "layer": -1, "twonn_id": 3.0,
                          "twonn_tie_share": 0.1, "erank": math.nan, "spectral_entropy": math.nan})
    table.to_csv(tmp_path / "id.csv", index=False)
    pd.DataFrame({"seed": [0], "step": [1], "train_acc": [0.5], "test_acc": [0.1]}).to_csv(
        tmp_path / "metric.csv", index=False)
    result = run_script("plots/intrinsic_dimension.py", "--id", tmp_path / "id.csv", "--metrics",
                        tmp_path / "metric.csv", "--id-output", tmp_path / "a.png", "--qk-output", tmp_path / "b.png")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "participation_ratio" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def plot_module():
    spec = importlib.util.spec_from_file_location("intrinsic_dimension_plot",
                                                  REPO_SCRIPTS / "plots" / "intrinsic_dimension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_degenerate_spans_cover_the_runs_of_checkpoints_with_mostly_ties():
    spans = plot_module().degenerate_spans
    tie_share = pd.Series([0.6, 0.7, 0.1, 0.9, 0.5, 0.8], index=[1, 4, 16, 64, 256, 1024])
    assert spans(tie_share) == [(0.5, 8.0), (32.0, 128.0), (512.0, 2048.0)]
    assert spans(pd.Series([0.2, 0.5], index=[1, 10])) == []
    assert spans(pd.Series([0.6], index=[10])) == [(10 / 1.1, 11.0)]

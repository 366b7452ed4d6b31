import math
from pathlib import Path
import subprocess
import sys

import pandas as pd
import pytest
import torch

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.metrics.intrinsic_dimension import (intrinsic_dimension_rows, neighbour_ratios, qk_circuits,
                                                  twonn_dimension)
from grokflow.model import GrokTransformer, ModelConfig

REPO_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
TINY = ModelConfig(p=11, n_layers=2, d_model=16, n_heads=4, d_mlp=32)
COLUMNS = ["seed", "step", "matrix", "layer", "twonn_id", "erank", "spectral_entropy"]


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
    qk = table[table["matrix"] == "W_QK"]
    assert qk["twonn_id"].isna().all() and qk["erank"].between(1, TINY.d_model).all()
    assert table.loc[table["matrix"] != "W_QK", "twonn_id"].gt(0).all()
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

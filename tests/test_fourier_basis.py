"""Fourier-spectrum metrics of the number embeddings: fourier_basis, gini_ipr, key_frequencies,
and the command lines of every script of this area (metrics and plots)."""

import math
import subprocess
import sys

import pandas as pd
import pytest
import torch

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.metrics.fourier_basis import (coefficient_norms, fourier_basis_rows, frequency_energy,
                                            l1_l2_ratio, top_k_energy)
from grokflow.metrics.gini_ipr import flattened_power, gini_ipr_rows
from grokflow.metrics.key_frequencies import key_frequency_table, power_fractions
from grokflow.model import GrokTransformer, ModelConfig

P = 31
REPO_SCRIPTS = "scripts"


def circle_embedding(p, frequencies, amplitudes=None, d_model=None):
    """E_x = [a_1 cos(2πk_1x/p), a_1 sin(2πk_1x/p), a_2 cos(…), …], zero-padded to d_model columns."""
    amplitudes = amplitudes or [1.0] * len(frequencies)
    x = torch.arange(p, dtype=torch.float64)[:, None]
    columns = [a * f(2 * math.pi * k * x / p) for k, a in zip(frequencies, amplitudes) for f in (torch.cos, torch.sin)]
    embedding = torch.cat(columns, dim=1)
    return torch.nn.functional.pad(embedding, (0, (d_model or embedding.shape[1]) - embedding.shape[1]))


def random_embedding(p, d, seed=0, count=None):
    shape = (p, d) if count is None else (count, p, d)
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def model_config(d_model):
    return ModelConfig(p=P, n_layers=1, d_model=d_model, n_heads=2, d_mlp=16)


def info(d_model, seed=0, step=0):
    return CheckpointInfo(op="x+y", seed=seed, step=step, train_fraction=0.3, model=model_config(d_model))


def stack(embeddings):
    """W_E (with an '=' row) and W_U = Eᵀ (with an '=' column) for a stack of (N, p, d) embeddings."""
    n, _, d = embeddings.shape
    W_E = torch.cat([embeddings, torch.full((n, 1, d), 7.0, dtype=torch.float64)], dim=1)
    return {"W_E": W_E, "W_U": W_E.transpose(1, 2)}, [info(d)] * n


@pytest.mark.parametrize("frequencies", [[3], [2, 9], [1, 5, 14]])
def test_circle_embedding_puts_all_energy_on_its_frequencies(frequencies):
    m = len(frequencies)
    norms = coefficient_norms(circle_embedding(P, frequencies))
    assert float(l1_l2_ratio(norms)) == pytest.approx(math.sqrt(2 * m))
    energy = frequency_energy(norms)
    assert energy.shape == (P // 2 + 1,)
    assert set((energy > 1e-9 * energy.sum()).nonzero().flatten().tolist()) == set(frequencies)
    assert float(top_k_energy(energy, m)) == pytest.approx(1)
    assert float(top_k_energy(energy, 1)) == pytest.approx(1 / m)


def test_constant_columns_are_frequency_zero():
    norms = coefficient_norms(torch.ones(P, 4, dtype=torch.float64))
    assert float(l1_l2_ratio(norms)) == pytest.approx(1)
    assert float(frequency_energy(norms)[0]) == pytest.approx(4 * P)
    assert float(top_k_energy(frequency_energy(norms), 1)) == pytest.approx(1)


def test_energy_is_parseval_and_top_k_above_count_is_one():
    embedding = random_embedding(P, 16)
    energy = frequency_energy(coefficient_norms(embedding))
    assert float(energy.sum()) == pytest.approx(float(embedding.square().sum()))
    assert float(top_k_energy(energy, 100)) == pytest.approx(1)


def test_random_embedding_is_dense_in_the_fourier_basis():
    ratio = float(l1_l2_ratio(coefficient_norms(random_embedding(P, 256))))
    assert 0.97 * math.sqrt(P) < ratio <= math.sqrt(P)


def test_fourier_basis_rows_measure_W_E_and_W_U():
    embeddings = torch.stack([circle_embedding(P, [4], d_model=4), circle_embedding(P, [2, 6])])
    stacked, infos = stack(embeddings)
    rows = fourier_basis_rows(stacked, infos, None)
    for checkpoint_rows, m in zip(rows, (1, 2)):
        assert [row["matrix"] for row in checkpoint_rows] == ["W_E", "W_U"]
        for row in checkpoint_rows:
            assert row["l1_l2_ratio"] == pytest.approx(math.sqrt(2 * m))
            assert row["top_k_energy"] == pytest.approx(1)


def test_fourier_basis_batched_matches_one_at_a_time():
    embeddings = random_embedding(P, 6, count=3)
    batched = l1_l2_ratio(coefficient_norms(embeddings))
    torch.testing.assert_close(batched, torch.stack([l1_l2_ratio(coefficient_norms(e)) for e in embeddings]))


def gini_ipr_by_variant(embedding):
    stacked, infos = stack(embedding[None])
    (rows,) = gini_ipr_rows(stacked, infos)
    return {row["variant"]: row for row in rows}


@pytest.mark.parametrize("frequencies", [[7], [2, 11], [1, 4, 9, 15]])
def test_per_dimension_spectrum_of_circles(frequencies):
    m, n = len(frequencies), P // 2
    row = gini_ipr_by_variant(circle_embedding(P, frequencies, d_model=10))["per_dimension"]
    assert row["ipr"] == pytest.approx(1 / m)
    assert row["gini"] == pytest.approx((n - m) / n)


def test_flattened_spectrum_of_one_cosine_column():
    # d = 1: the flattened vector is the column; rfft bins 0 … 15, all power in bin 5
    row = gini_ipr_by_variant(circle_embedding(P, [5])[:, :1])["flattened"]
    assert row["ipr"] == pytest.approx(1)
    assert row["gini"] == pytest.approx(15 / 16)


def test_random_embedding_has_a_flat_per_dimension_spectrum():
    n = P // 2
    row = gini_ipr_by_variant(random_embedding(P, 64))["per_dimension"]
    assert 1 / n <= row["ipr"] < 1.1 / n  # Σ over 64 columns: relative spread ≈ 1/8
    assert row["gini"] < 0.15


def test_random_embedding_has_an_exponential_flattened_spectrum():
    # white noise: each rfft bin's power is exponential, whose Gini is 1/2 and n·IPR → 2
    row = gini_ipr_by_variant(random_embedding(P, 64))["flattened"]
    n = P * 64 // 2 + 1
    assert row["gini"] == pytest.approx(0.5, abs=0.05)
    assert n * row["ipr"] == pytest.approx(2, abs=0.3)


def test_gini_ipr_batched_matches_one_at_a_time():
    embeddings = random_embedding(P, 6, count=3)
    stacked, infos = stack(embeddings)
    batched = gini_ipr_rows(stacked, infos)
    assert batched == [gini_ipr_rows(*stack(e[None]))[0] for e in embeddings]
    torch.testing.assert_close(flattened_power(embeddings)[1], flattened_power(embeddings[1]))


def test_key_frequencies_of_circles_are_exactly_their_frequencies():
    (fractions,) = power_fractions(circle_embedding(P, [3, 8, 13])[None])
    table = key_frequency_table(fractions, 0.8)
    assert list(table.columns) == ["rank", "frequency", "power_fraction", "cumulative_fraction"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert sorted(table["frequency"]) == [3, 8, 13]
    assert table["power_fraction"].tolist() == pytest.approx([1 / 3] * 3)
    assert table["cumulative_fraction"].iloc[-1] == pytest.approx(1)


def test_key_frequencies_stop_at_the_energy_fraction():
    # power 9:1 on k = 2, 5 → fractions 0.9, 0.1
    (fractions,) = power_fractions(circle_embedding(P, [2, 5], [3.0, 1.0])[None])
    assert float(fractions[1]) == pytest.approx(0.9) and float(fractions[4]) == pytest.approx(0.1)
    assert key_frequency_table(fractions, 0.85)["frequency"].tolist() == [2]
    assert key_frequency_table(fractions, 0.95)["frequency"].tolist() == [2, 5]


def test_four_of_five_equal_frequencies_reach_eighty_percent():
    (fractions,) = power_fractions(circle_embedding(P, [1, 2, 3, 4, 5])[None])
    table = key_frequency_table(fractions, 0.8)  # equal up to rounding: which four is arbitrary
    assert len(table) == 4 and set(table["frequency"]) < {1, 2, 3, 4, 5}
    assert table["cumulative_fraction"].iloc[-1] == pytest.approx(0.8)


# ---- command lines ------------------------------------------------------------------------------

def write_checkpoint(path, embedding, seed, step):
    d_model = embedding.shape[1]
    tensors = GrokTransformer(model_config(d_model)).state_dict()
    tensors["W_E"][:P] = embedding.float()
    save_checkpoint(path, tensors, info(d_model, seed, step))
    return str(path)


def run_script(repo, script, *args):
    return subprocess.run([sys.executable, str(repo / REPO_SCRIPTS / script), *map(str, args)],
                          capture_output=True, text=True)


@pytest.fixture
def checkpoints(tmp_path):
    """Two seeds × two steps of a d_model = 8 model whose final embeddings are circles at k = 3, 8
    (seed 0) and k = 5, 8 (seed 1)."""
    paths = []
    for seed, frequencies in ((0, [3, 8]), (1, [5, 8])):
        paths.append(write_checkpoint(tmp_path / f"s{seed}a.safetensors", random_embedding(P, 8, seed), seed, 0))
        paths.append(write_checkpoint(tmp_path / f"s{seed}b.safetensors",
                                      circle_embedding(P, frequencies, d_model=8), seed, 100))
    return paths


@pytest.mark.parametrize("script, extra, columns", [
    ("gini_ipr.py", [], ["seed", "step", "group", "variant", "gini", "ipr"]),
    ("phase_coherence.py", [], ["seed", "step", "group", "column", "r2", "slope"]),
    ("fourier_basis.py", ["--top-k", "2"], ["seed", "step", "group", "matrix", "l1_l2_ratio", "top_k_energy"]),
])
def test_metric_scripts_write_their_columns(repo, tmp_path, checkpoints, script, extra, columns):
    output = tmp_path / "out.csv"
    result = run_script(repo, f"metrics/{script}", *checkpoints, "-o", output, *extra)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(output)
    assert list(frame.columns) == columns
    assert sorted(set(zip(frame["seed"], frame["step"]))) == [(0, 0), (0, 100), (1, 0), (1, 100)]


def test_fourier_basis_script_uses_top_k(repo, tmp_path, checkpoints):
    output = tmp_path / "out.csv"
    assert run_script(repo, "metrics/fourier_basis.py", *checkpoints, "-o", output, "--top-k", "1").returncode == 0
    final_W_E = pd.read_csv(output).query("step == 100 and matrix == 'W_E'")
    assert final_W_E["top_k_energy"].tolist() == pytest.approx([0.5, 0.5], rel=1e-6)
    assert run_script(repo, "metrics/fourier_basis.py", *checkpoints, "-o", output, "--top-k", "0").returncode == 2


def test_key_frequencies_script(repo, tmp_path, checkpoints):
    output = tmp_path / "key.csv"
    final = [path for path in checkpoints if path.endswith("b.safetensors")]
    result = run_script(repo, "metrics/key_frequencies.py", *final, "-o", output, "--energy-fraction", "0.9")
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(output)
    assert list(table.columns) == ["group", "seed", "rank", "frequency", "power_fraction", "cumulative_fraction"]
    assert set(table["group"]) == {"additive"}
    assert {seed: sorted(rows["frequency"]) for seed, rows in table.groupby("seed")} == {0: [3, 8], 1: [5, 8]}


@pytest.mark.parametrize("args, message", [
    (["--energy-fraction", "1.5"], "--energy-fraction"),
    ([], "one (final) checkpoint per seed"),
])
def test_key_frequencies_script_refuses_bad_input_in_one_line(repo, tmp_path, checkpoints, args, message):
    result = run_script(repo, "metrics/key_frequencies.py", *checkpoints, "-o", tmp_path / "k.csv", *args)
    assert result.returncode == 1
    assert result.stderr.startswith("error:") and message in result.stderr and "Traceback" not in result.stderr


def tiny_metric_csvs(tmp_path):
    steps, seeds = [0, 10, 100, 1000], [0, 1]
    grid = pd.DataFrame([(s, t) for s in seeds for t in steps], columns=["seed", "step"])
    ramp = grid["step"] / 1000
    metrics = grid.assign(train_loss=1 - ramp, train_acc=ramp ** 0.2, test_loss=1 - ramp, test_acc=ramp)
    gini_ipr = pd.concat([grid.assign(variant=v, gini=ramp * f, ipr=0.05 + ramp * f)
                          for v, f in (("per_dimension", 0.8), ("flattened", 0.3))])
    phase = pd.concat([grid.assign(column=c, r2=ramp, slope=math.nan if c < 0 else 0.1) for c in (-1, 0, 1)])
    fourier = pd.concat([grid.assign(matrix=m, l1_l2_ratio=5 - ramp, top_k_energy=ramp) for m in ("W_E", "W_U")])
    paths = {}
    for name, frame in (("metric", metrics), ("gini_ipr", gini_ipr), ("phase", phase), ("fourier", fourier)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return paths


def test_plot_scripts_write_png_and_pdf(repo, tmp_path):
    csv = tiny_metric_csvs(tmp_path)
    figures = tmp_path / "figures"
    commands = [
        ("plots/gini_ipr.py", "--table", csv["gini_ipr"], "--output", figures / "gini_ipr.png"),
        ("plots/phase_coherence.py", "--table", csv["phase"], "--output", figures / "phase.png"),
        ("plots/fourier_basis.py", "--fourier", csv["fourier"], "--sparsity-output", figures / "l1.png",
         "--energy-output", figures / "energy.png"),
    ]
    for script, *args in commands:
        result = run_script(repo, script, *args, "--metrics", csv["metric"])
        assert result.returncode == 0, result.stderr
    for stem in ("gini_ipr", "phase", "l1", "energy"):
        for suffix in (".png", ".pdf"):
            assert (figures / f"{stem}{suffix}").stat().st_size > 1000


def test_plot_script_reports_a_missing_file_in_one_line(repo, tmp_path):
    result = run_script(repo, "plots/phase_coherence.py", "--table", tmp_path / "none.csv",
                        "--metrics", tmp_path / "none.csv", "--output", tmp_path / "x.png")
    assert result.returncode == 1 and result.stderr.startswith("error:")

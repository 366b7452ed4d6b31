"""The group the Fourier metrics read an op in: primitive roots, discrete-log order, and what the
metrics see of an embedding built in the multiplicative group."""

from argparse import Namespace
import math
import subprocess
import sys

import pandas as pd
import pytest
import torch

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.errors import GrokflowError
from grokflow.metrics.circuit_competition import competition_rows
from grokflow.metrics.fourier import number_embeddings
from grokflow.metrics.groups import (ADDITIVE, MULTIPLICATIVE, discrete_log_tokens, number_group,
                                     smallest_primitive_root)
from grokflow.metrics.key_frequencies import key_frequency_table, power_fractions, read_key_frequencies
from grokflow.metrics.qk_circuit import centred_power, diagonal_fraction, diagonal_rows, random_diagonal_fraction
from grokflow.model import GrokTransformer, ModelConfig

P = 31


def brute_force_primitive_root(p):
    """The smallest g whose powers mod p reach every nonzero residue."""
    return next(g for g in range(1, p) if {pow(g, i, p) for i in range(p - 1)} == set(range(1, p)))


@pytest.mark.parametrize("p", [2, 3, 5, 7, 11, 13, 31, 41, 97, 113])
def test_primitive_root_and_discrete_log_match_brute_force(p):
    g = smallest_primitive_root(p)
    assert g == brute_force_primitive_root(p)
    tokens = discrete_log_tokens(p)
    assert sorted(tokens) == list(range(1, p))  # every nonzero residue once
    for i, x in enumerate(tokens):  # log_g x = i, checked by search
        assert next(j for j in range(p - 1) if pow(g, j, p) == x) == i


def test_groups_of_the_ops():
    assert number_group("x+y", P).tokens == tuple(range(P)) and number_group("x-y", P).name == ADDITIVE
    for op in ("x×y", "x÷y"):
        group = number_group(op, P)
        assert group.name == MULTIPLICATIVE and group.order == P - 1 and group.tokens[:3] == (1, 3, 9)
        assert number_group(op, P, "additive").name == ADDITIVE


@pytest.mark.parametrize("op, p, fourier_group, message", [
    ("x^y", P, "auto", "unknown op"),
    ("x×y", 12, "auto", "cyclic only for prime p, but p = 12"),
    ("x+y", P, "both", "fourier group must be one of"),
])
def test_bad_input_is_one_clear_error(op, p, fourier_group, message):
    with pytest.raises(GrokflowError, match=message):
        number_group(op, p, fourier_group)


def log_circle_embedding(p, k, d_model=6):
    """E[gⁱ] = [cos(2πki/(p−1)), sin(2πki/(p−1))] on the nonzero tokens, E[0] random, zero-padded."""
    embedding = torch.zeros(p + 1, d_model, dtype=torch.float64)
    angle = 2 * math.pi * k * torch.arange(p - 1, dtype=torch.float64) / (p - 1)
    embedding[list(discrete_log_tokens(p)), :2] = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    embedding[0] = torch.randn(d_model, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return embedding


def test_a_discrete_log_circle_has_one_key_frequency_only_in_its_own_group():
    W_E = log_circle_embedding(P, 7)[None]
    (multiplicative,) = power_fractions(number_embeddings({"W_E": W_E}, number_group("x×y", P)))
    assert key_frequency_table(multiplicative, 0.99)["frequency"].tolist() == [7]
    assert float(multiplicative[6]) == pytest.approx(1.0, abs=1e-12)
    (additive,) = power_fractions(number_embeddings({"W_E": W_E}, number_group("x×y", P, "additive")))
    assert len(key_frequency_table(additive, 0.8)) >= 8  # spread over Z_31's frequencies
    assert float(additive.max()) < 0.2


def qk_model(p, k):
    """A one-layer model whose layer-0 QK circuit of the group's elements is cos(2πk(i − j)/(p−1))."""
    cfg = ModelConfig(p=p, n_layers=1, d_model=6, n_heads=1, d_mlp=8)
    tensors = GrokTransformer(cfg).state_dict()
    tensors["W_E"] = log_circle_embedding(p, k).float()
    tensors["blocks.0.W_Q"] = torch.zeros_like(tensors["blocks.0.W_Q"])
    tensors["blocks.0.W_K"] = torch.zeros_like(tensors["blocks.0.W_K"])
    tensors["blocks.0.W_Q"][0, :2, :2] = torch.eye(2)
    tensors["blocks.0.W_K"][0, :2, :2] = torch.eye(2)
    return {name: tensor[None] for name, tensor in tensors.items()}, cfg


def test_qk_diagonal_of_a_multiplicative_circuit_and_its_baseline():
    stacked, cfg = qk_model(P, 4)
    infos = [CheckpointInfo(op="x÷y", seed=0, step=0, train_fraction=0.5, model=cfg)]
    rows = {row["head"]: row for row in diagonal_rows(stacked, infos)[0]}
    assert rows[-1]["diagonal_fraction"] == pytest.approx(1.0)
    assert rows[-1]["random_baseline"] == pytest.approx(57 / 899)  # n = 30: k2 ≡ ±k1 meet at k1 = 0, 15
    additive = diagonal_rows(stacked, infos, Namespace(fourier_group="additive"))[0]
    assert additive[-1]["diagonal_fraction"] < 0.5 and additive[-1]["random_baseline"] == pytest.approx(60 / 960)


def test_random_diagonal_fraction_is_the_share_of_an_iid_matrix():
    circuits = torch.randn(400, P, P, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert float(diagonal_fraction(centred_power(circuits)).mean()) == pytest.approx(random_diagonal_fraction(P),
                                                                                       rel=0.05)


def write_key_frequencies(path, sets, group=MULTIPLICATIVE):
    rows = [{"group": group, "seed": seed, "rank": rank, "frequency": k, "power_fraction": 0.1,
             "cumulative_fraction": 0.1 * rank} for seed, ks in sets.items() for rank, k in enumerate(ks, 1)]
    pd.DataFrame(rows).to_csv(path, index=False)


def test_read_key_frequencies_keeps_each_seed_and_checks_the_group(tmp_path):
    path = tmp_path / "k.csv"
    write_key_frequencies(path, {0: [7, 2], 1: [5]})
    assert read_key_frequencies(path, MULTIPLICATIVE) == {0: [2, 7], 1: [5]}
    with pytest.raises(GrokflowError, match="multiplicative group, but this metric reads the additive"):
        read_key_frequencies(path, ADDITIVE)
    pd.DataFrame({"frequency": [1]}).to_csv(path, index=False)
    with pytest.raises(GrokflowError, match="lacks the column"):
        read_key_frequencies(path)


def competition_args(path, frequencies="key"):
    return Namespace(fourier_group="auto", frequencies=frequencies, key_frequencies=path, memo_samples=4, memo_rank=2)


def test_circuit_competition_uses_each_seeds_own_set_and_reports_baselines(tmp_path):
    stacked, cfg = qk_model(P, 4)
    stacked = {name: tensor.expand(2, *tensor.shape[1:]) for name, tensor in stacked.items()}
    infos = [CheckpointInfo(op="x×y", seed=seed, step=0, train_fraction=0.5, model=cfg) for seed in (0, 1)]
    path = tmp_path / "k.csv"
    write_key_frequencies(path, {0: [4], 1: [9, 11]})
    seed0, seed1 = (rows[0] for rows in competition_rows(stacked, infos, competition_args(path)))
    assert seed0["fourier_share"] == pytest.approx(1.0) and seed1["fourier_share"] == pytest.approx(0.0, abs=1e-12)
    assert seed0["fourier_baseline"] == pytest.approx(2 / 30) and seed1["fourier_baseline"] == pytest.approx(4 / 30)
    assert seed0["memo_baseline"] == pytest.approx(2 / (30 * 6))
    write_key_frequencies(path, {0: [4]})
    with pytest.raises(GrokflowError, match="no key frequencies for seed 1"):
        competition_rows(stacked, infos, competition_args(path))


def test_metric_script_refuses_a_non_prime_multiplicative_reading_in_one_line(repo, tmp_path):
    cfg = ModelConfig(p=12, n_layers=1, d_model=4, n_heads=1, d_mlp=4)
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, GrokTransformer(cfg).state_dict(),
                    CheckpointInfo(op="x×y", seed=0, step=0, train_fraction=0.5, model=cfg))
    command = [sys.executable, str(repo / "scripts/metrics/psd.py"), str(path), "-o", str(tmp_path / "psd.csv")]
    result = subprocess.run(command, capture_output=True, text=True)
    last_line = result.stderr.strip().splitlines()[-1]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert last_line.startswith("error:") and "cyclic only for prime p, but p = 12" in last_line
    additive = subprocess.run([*command, "--fourier-group", "additive"], capture_output=True, text=True)
    assert additive.returncode == 0, additive.stderr
    assert set(pd.read_csv(tmp_path / "psd.csv")["group"]) == {"additive"}

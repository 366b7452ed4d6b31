import math

import pandas as pd
import pytest
import torch
from torch import nn

from grokflow.lora import (ADAPTED, LoRALinear, LowRankUpdate, adapt_transformer, as_matrix, from_matrix, inject_lora,
                           svd_truncation_error, trainable_parameters, truncated)
from grokflow.model import GrokTransformer
from test_embedding_geometry import TINY, assert_png_and_pdf, run_script, write_checkpoints


class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.encoder = nn.Sequential(nn.Linear(6, 5), nn.ReLU())
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        return self.head(self.encoder(x))


def randomise_updates(model):
    """Non-zero B, as after some training."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, LowRankUpdate):
                module.B.normal_(generator=torch.Generator().manual_seed(1))


def test_zero_b_at_init_leaves_outputs_unchanged():
    model, x = TwoLayers(), torch.randn(4, 6, generator=torch.Generator().manual_seed(2))
    before = model(x)
    inject_lora(model, ["encoder.0", "head"], rank=2, alpha=4.0)
    torch.testing.assert_close(model(x), before, rtol=0, atol=0)


def test_merged_and_unmerged_forward_agree_and_unmerge_restores_the_weights():
    layer = LoRALinear(nn.Linear(6, 4), rank=3, alpha=6.0)
    randomise_updates(layer)
    weight, x = layer.base.weight.detach().clone(), torch.randn(5, 6)
    unmerged = layer(x)
    expected_delta = 2.0 * layer.update.B @ layer.update.A  # α/r = 6/3
    layer.merge()
    torch.testing.assert_close(layer.base.weight, weight + expected_delta)
    torch.testing.assert_close(layer(x), unmerged)
    layer.unmerge()
    torch.testing.assert_close(layer.base.weight, weight)
    torch.testing.assert_close(layer(x), unmerged)


@pytest.mark.parametrize("rank", [1, 2, 4])
def test_trainable_parameters_are_r_times_in_plus_out_and_the_base_is_frozen(rank):
    model = inject_lora(TwoLayers(), ["encoder.0", "head"], rank=rank, alpha=8.0)
    assert trainable_parameters(model) == rank * (6 + 5) + rank * (5 + 3)
    assert not any(p.requires_grad for name, p in model.named_parameters() if ".base." in name)


def test_injecting_into_a_non_linear_module_is_refused():
    with pytest.raises(TypeError, match="encoder.1 is a ReLU"):
        inject_lora(TwoLayers(), ["encoder.1"], rank=1, alpha=1.0)


@pytest.mark.parametrize("name", ADAPTED)
def test_matrix_view_of_each_transformer_weight_round_trips(name):
    weight = getattr(GrokTransformer(TINY).blocks[0], name).detach()
    matrix = as_matrix(name, weight)
    d, inner = TINY.d_model, TINY.n_heads * TINY.d_head
    expected = {"W_O": (inner, d), "W_in": (d, TINY.d_mlp), "W_out": (TINY.d_mlp, d)}.get(name, (d, inner))
    assert matrix.shape == expected
    torch.testing.assert_close(from_matrix(name, matrix, weight.shape), weight)


def test_attention_matrix_view_is_the_map_the_model_applies():
    block = GrokTransformer(TINY).blocks[0]
    x = torch.randn(3, TINY.d_model, generator=torch.Generator().manual_seed(3))
    per_head = torch.einsum("pd,hde->hpe", x, block.W_Q.detach())  # as in Block.attention
    torch.testing.assert_close((x @ as_matrix("W_Q", block.W_Q.detach())).view(3, TINY.n_heads, -1).transpose(0, 1),
                               per_head)


def test_adapted_transformer_starts_unchanged_trains_only_adapters_and_counts_them():
    tokens = torch.tensor([[1, 2, 7], [3, 5, 7]])
    model = GrokTransformer(TINY)
    before = model(tokens)
    adapt_transformer(model, rank=2, alpha=4.0)
    torch.testing.assert_close(model(tokens), before, rtol=0, atol=0)
    d, inner, mlp = TINY.d_model, TINY.n_heads * TINY.d_head, TINY.d_mlp
    per_block = 3 * 2 * (d + inner) + 2 * (inner + d) + 2 * (d + mlp) + 2 * (mlp + d)
    assert trainable_parameters(model) == TINY.n_layers * per_block
    randomise_updates(model)
    model(tokens)[:, 0].sum().backward()
    grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
    assert grads and all(".update." in name for name in grads)


def test_svd_truncation_error_matches_the_formula_and_falls_with_rank():
    q1, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(4), dtype=torch.float64))
    q2, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(5), dtype=torch.float64))
    sigma = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.1], dtype=torch.float64)
    matrix = q1 @ torch.diag(sigma) @ q2.T
    errors = [svd_truncation_error(torch.linalg.svdvals(matrix), rank) for rank in range(7)]
    for rank, error in enumerate(errors):
        assert error == pytest.approx(math.sqrt(float(sigma[rank:].square().sum())))
        assert float((matrix - truncated(matrix, rank)).norm()) == pytest.approx(error, abs=1e-10)
    assert all(a > b for a, b in zip(errors, errors[1:]))
    assert errors[-1] == 0


def test_demo_and_finetune_scripts_write_their_tables_and_figures(tmp_path):
    (checkpoint,) = write_checkpoints(tmp_path, seeds=(0,), steps=(100,))
    out = tmp_path / "lora"
    run_script("lora/rank_demo.py", "--hidden-size", 8, "--ranks", 1, 2, "--heatmap-rank", 2, "--checkpoint", checkpoint,
               "--csv", out / "rank_error.csv", "--spectrum-csv", out / "spectrum.csv",
               "--matrices", out / "m.safetensors", "--figure", out / "lora_rank_error.png")
    table = pd.read_csv(out / "rank_error.csv")
    assert list(table["source"]) == ["gaussian"] * 2 + ["grokked"] * 2
    assert (table["svd_error"] <= table["weight_norm"]).all()
    assert_png_and_pdf(out / "lora_rank_error.png")
    run_script("lora/plot_matrices.py", "--spectrum-csv", out / "spectrum.csv", "--spectrum-output",
               out / "spectrum.png", "--matrices", out / "m.safetensors", "--out-dir", out / "heatmaps")
    assert_png_and_pdf(out / "heatmaps/grokked_truncated.png")
    run_script("lora/finetune.py", "--checkpoint", checkpoint, "--target-op", "x-y", "--ranks", 1, 2,
               "--steps", 3, "--eval-every", 2, "-o", out / "finetune.csv")
    runs = pd.read_csv(out / "finetune.csv")
    assert runs.groupby(["method", "rank"], dropna=False)["step"].apply(list).tolist() == [[0, 2, 3]] * 3
    last = runs.drop_duplicates("method", keep="last").set_index("method")
    assert last.loc["full", "trainable_params"] == sum(
        t.numel() for t in GrokTransformer(TINY).parameters())
    run_script("lora/plot_finetune.py", "--finetune", out / "finetune.csv", "--accuracy-output",
               out / "acc.png", "--params-output", out / "params.png")
    assert_png_and_pdf(out / "params.png")

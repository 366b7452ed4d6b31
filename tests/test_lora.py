import importlib.util
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from safetensors.torch import save_file
import torch
from torch import nn

from grokflow.lora.adapters import (ADAPTED, LoRALinear, LowRankUpdate, adapt_transformer, as_matrix, from_matrix, inject_lora,
                           svd_truncation_error, trainable_parameters, truncated)
from grokflow.model import GrokTransformer
from test_embedding_geometry import TINY, assert_png_and_pdf, run_script, write_checkpoints

LORA_SCRIPTS = Path(__file__).resolve().parents[1] / "scripts" / "lora"


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
    assert (runs["chance_acc"] == 1 / TINY.p).all()
    last = runs.drop_duplicates("method", keep="last").set_index("method")
    assert last.loc["full", "trainable_params"] == sum(
        t.numel() for t in GrokTransformer(TINY).parameters())
    run_script("lora/plot_finetune.py", "--finetune", out / "finetune.csv", "--accuracy-output",
               out / "acc.png", "--params-output", out / "params.png")
    assert_png_and_pdf(out / "params.png")


# --- the figures: drawn in-process, save_figure captured ---------------------------------

def lora_script(name: str):
    spec = importlib.util.spec_from_file_location(f"lora_{name}", LORA_SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def captured(monkeypatch):
    """A function loading a script of scripts/lora whose save_figure keeps {file name: figure}."""
    figures = {}

    def load(name: str):
        module = lora_script(name)
        monkeypatch.setattr(module, "save_figure", lambda fig, path: figures.__setitem__(Path(path).name, fig))
        return module

    yield load, figures
    for fig in figures.values():
        plt.close(fig)


def finetune_table(steps=range(0, 601, 25)) -> pd.DataFrame:
    """Three LoRA ranks and full fine-tuning; r = 16 and full fine-tuning end in a spike."""
    rows = []
    for method, rank, params in (("lora", 1, 2304), ("lora", 4, 9216), ("lora", 16, 36864), ("full", None, 104000)):
        for step in steps:
            acc = 0.25 if rank == 1 else min(0.9, step / 400)
            if step == max(steps) and rank in (16, None):
                acc = 0.5
            rows.append({"method": method, "rank": rank, "trainable_params": params, "step": step,
                         "test_acc": acc, "chance_acc": 1 / 31})
    return pd.DataFrame(rows).astype({"rank": "Int64"})


def assert_legend_above_the_axes(fig, ax):
    fig.canvas.draw()
    legend = ax.get_legend() or fig.legends[0]
    assert legend.get_window_extent().y0 >= ax.get_window_extent().y1


def test_final_value_is_the_mean_over_the_last_tenth_of_the_steps_not_the_last_point():
    module = lora_script("plot_finetune")
    rows = pd.DataFrame({"step": range(0, 601, 25), "test_acc": [0.9] * 24 + [0.5]})
    assert list(module.last_tenth(rows)["step"]) == [550, 575, 600]  # steps > 540
    assert module.final_value(rows) == pytest.approx((0.9 + 0.9 + 0.5) / 3)
    assert module.final_value(rows.assign(train_acc=1.0), "train_acc") == 1.0
    short = pd.DataFrame({"step": [0, 2, 3], "test_acc": [0.1, 0.2, 0.3]})
    assert module.final_value(short) == pytest.approx(0.3)  # the last evaluation is always in the window


def test_finetune_figures_log_steps_chance_line_legends_off_the_data_and_the_last_tenth_mean(tmp_path, captured):
    load, figures = captured
    path = tmp_path / "finetune.csv"
    finetune_table().to_csv(path, index=False)
    load("plot_finetune").main(["--finetune", str(path), "--accuracy-output", str(tmp_path / "acc.png"),
                                "--params-output", str(tmp_path / "params.png")])
    accuracy, params = (figures[name].axes[0] for name in ("acc.png", "params.png"))
    assert accuracy.get_xscale() == "log" and params.get_xscale() == "log"
    for ax in (accuracy, params):
        assert not ax.get_title() and not ax.spines["right"].get_visible()
        assert_legend_above_the_axes(ax.figure, ax)
        labels = ax.get_legend().get_texts()
        assert any(text.get_text().startswith("chance") for text in labels)
        assert all("_" not in text.get_text().replace("W_0", "") for text in labels)  # words, no code names
    assert [line.get_xdata().min() for line in accuracy.lines[:4]] == [25] * 4  # step 0 is off the log axis
    assert "last tenth" in params.get_ylabel()
    finals = {container.get_label(): float(container.lines[0].get_ydata()[0]) for container in params.containers}
    assert finals == pytest.approx({"LoRA $r=1$": 0.25, "LoRA $r=4$": 0.9, "LoRA $r=16$": (0.9 + 0.9 + 0.5) / 3,
                                    "full fine-tuning": (0.9 + 0.9 + 0.5) / 3,
                                    "bar: lowest to highest in the last tenth": np.nan}, nan_ok=True)


def heatmap_matrices() -> dict:
    """rank_demo.py's matrices for two sources, ΔW ~1000× W₀ in the second."""
    generator = torch.Generator().manual_seed(0)
    matrices = {}
    for source, scale in (("gaussian", 1.0), ("grokked", 0.02)):
        w0 = scale * torch.randn(12, 8, generator=generator)
        delta = 20.0 * torch.randn(12, 2, generator=generator) @ torch.randn(2, 8, generator=generator)
        matrices |= {f"{source}.W0": w0, f"{source}.delta": delta, f"{source}.W": w0 + delta,
                     f"{source}.truncated": truncated(w0.double(), 2).float()}
    return matrices


def test_heatmaps_of_one_source_share_w0s_symmetric_scale_and_clipped_ones_say_so(tmp_path, captured):
    load, figures = captured
    matrices = heatmap_matrices()
    save_file(matrices, str(tmp_path / "m.safetensors"))
    pd.DataFrame({"source": ["gaussian"] * 3, "index": [1, 2, 3], "singular_value": [3.0, 2.0, 1.0]}).to_csv(
        tmp_path / "spectrum.csv", index=False)
    load("plot_matrices").main(["--spectrum-csv", str(tmp_path / "spectrum.csv"), "--spectrum-output",
                                str(tmp_path / "spectrum.png"), "--matrices", str(tmp_path / "m.safetensors"),
                                "--out-dir", str(tmp_path / "heatmaps")])
    spectrum = figures.pop("spectrum.png").axes[0]
    assert not spectrum.spines["right"].get_visible()
    assert_legend_above_the_axes(spectrum.figure, spectrum)
    for source in ("gaussian", "grokked"):
        limit = float(matrices[f"{source}.W0"].abs().max())
        for kind in ("W0", "delta", "W", "truncated"):
            fig = figures[f"{source}_{kind}.png"]
            ax, colorbar_ax = fig.axes
            (image,) = ax.get_images()
            assert image.get_clim() == pytest.approx((-limit, limit))  # one symmetric range per row: W₀'s
            assert image.get_cmap().name == "RdBu_r"
            label = colorbar_ax.get_ylabel()
            clipped = float(matrices[f"{source}.{kind}"].abs().max()) > limit * (1 + 1e-6)
            assert ("clipped" in label) == clipped and (kind in ("delta", "W")) == clipped
            assert all(tick.get_rotation() == 0 for tick in ax.get_xticklabels() + ax.get_yticklabels())
        assert "rank-2" in colorbar_ax.get_ylabel()  # the truncation's rank, read from the matrix
    grokked = matrices["grokked.delta"].abs().max() / matrices["grokked.W0"].abs().max()
    assert f"{float(grokked):.0f}× it" in figures["grokked_delta.png"].axes[1].get_ylabel()  # how far past the scale


def test_rank_error_figure_has_no_right_spine_and_its_legend_above(tmp_path, captured):
    load, figures = captured
    table = pd.DataFrame([{"source": source, "rank": rank, "lora_error": 10.0 / rank, "svd_error": 1.0 / rank,
                           "weight_norm": 2.0} for source in ("gaussian", "grokked") for rank in (1, 2, 4)])
    load("rank_demo").plot_errors(table, tmp_path / "lora_rank_error.png")
    ax = figures["lora_rank_error.png"].axes[0]
    assert not ax.spines["right"].get_visible() and not ax.get_title()
    assert_legend_above_the_axes(ax.figure, ax)

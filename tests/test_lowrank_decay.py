"""The low-rank decay study: Newton–Schulz polar factor, nuclear-norm step, per-model decay,
the study's model options and the early stop."""

from dataclasses import replace
import importlib.util
import math
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest
import torch

from grokflow.lowrank_decay.decay import (StackRegularizer, as_matrix, from_matrix, newton_schulz, polar_factor,
                                          stable_rank)
from grokflow.lowrank_decay.study import Cell, CellResult, StudySettings, _record, regularizer, study_model
from grokflow.model import GrokTransformer, ModelConfig
from grokflow.training import OptimConfig, Run, StackTrainer

from grokflow.settings import LowrankDecaySettings
from conftest import step_stack_and_singles


def with_singular_values(singular: torch.Tensor, rows: int, seed: int = 0):
    """A rows × k float64 matrix U diag(singular) Vᵀ with random orthonormal U, V, and U Vᵀ."""
    generator = torch.Generator().manual_seed(seed)
    u, _ = torch.linalg.qr(torch.randn(rows, len(singular), generator=generator, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(len(singular), len(singular), generator=generator, dtype=torch.float64))
    return u @ torch.diag(singular.double()) @ v.T, u @ v.T


def test_newton_schulz_converges_to_the_polar_factor_inside_root_three():
    singular = torch.linspace(0.05, 1.7, 12)
    matrix, polar = with_singular_values(singular, 20)
    torch.testing.assert_close(newton_schulz(matrix, 30), polar, atol=1e-10, rtol=0)


def test_newton_schulz_fails_outside_root_three():
    """σ = 2.5 > √3 maps to ½·2.5·(3 − 6.25) < −√3 and grows without bound: the bound is real."""
    matrix, polar = with_singular_values(torch.tensor([0.5, 2.5]), 4)
    assert not torch.allclose(newton_schulz(matrix, 10), polar, atol=1e-3)


def test_the_decay_step_lowers_every_singular_value_by_the_rate():
    singular = torch.tensor([3.0, 2.0, 1.5, 1.0, 0.7, 0.4], dtype=torch.float64)
    matrix, _ = with_singular_values(singular, 9, seed=1)
    rate = 0.25
    stepped = matrix - rate * polar_factor(matrix, 60)
    torch.testing.assert_close(torch.linalg.svdvals(stepped), singular - rate, atol=1e-9, rtol=0)


def test_stable_rank_of_known_singular_values():
    matrix, _ = with_singular_values(torch.tensor([3.0, 1.0, 1.0]), 5)
    assert stable_rank(matrix).item() == pytest.approx(11 / 9)


def test_headed_weights_as_matrices_are_their_linear_maps():
    weight = torch.randn(4, 16, 8)  # (heads, d_model, d_head)
    x = torch.randn(16)
    heads_output = torch.einsum("d,hde->he", x, weight).flatten()
    torch.testing.assert_close(x @ as_matrix(weight, "blocks.0.W_Q"), heads_output)
    stacked = torch.randn(3, 4, 16, 8)
    torch.testing.assert_close(from_matrix(as_matrix(stacked, "W_K"), "W_K", stacked.shape), stacked)


CFG = ModelConfig(p=11, n_layers=1, d_model=16, n_heads=2, d_mlp=32)
DEFAULTS = LowrankDecaySettings()


def study_settings(**options) -> StudySettings:
    """The study on CFG at the settings' defaults but for `options`."""
    shared = {name: getattr(DEFAULTS, name) for name in ("lr", "betas", "patterns", "newton_schulz_steps",
                                                         "other_weight_decay", "l2_factor")}
    return StudySettings(CFG, **(shared | options))


def test_per_model_weight_decay_is_adamw_weight_decay():
    """Two models with decoupled decay λ₁, λ₂ from the regularizer follow the runs of
    torch.optim.AdamW with weight_decay λ₁ and λ₂."""
    runs = [Run("x+y", 0, 0.5, CFG), Run("x+y", 1, 0.5, CFG)]
    decays = [0.3, 2.0]
    names = [name for name, _ in GrokTransformer(CFG).named_parameters()]
    rule = StackRegularizer(3e-3, {name: torch.tensor(decays) for name in names}, [], torch.zeros(2), 5)
    stack = StackTrainer(runs, OptimConfig(lr=3e-3, weight_decay=0.0), regularizer=rule)
    singles = [StackTrainer([run], OptimConfig(lr=3e-3, weight_decay=decay)) for run, decay in zip(runs, decays)]
    step_stack_and_singles(stack, singles)


def test_the_methods_decay_what_seed_000_decays():
    settings = study_settings(steps=10, eval_every=5, other_weight_decay=0.1, l2_factor=10.0)
    cells = [Cell("l2", 0.5, 0.01, 0), Cell("lowrank", 0.5, 0.01, 0)]
    rule = regularizer(cells, settings, ["blocks.0.W_Q", "blocks.0.W_K", "blocks.0.W_V", "W_E"], "cpu")
    assert rule.lowrank_names == ["blocks.0.W_Q", "blocks.0.W_K"]
    assert rule.lowrank_rate.tolist() == pytest.approx([0.0, 0.01])
    assert rule.weight_decay["blocks.0.W_Q"].tolist() == pytest.approx([0.1, 0.0])
    assert rule.weight_decay["W_E"].tolist() == pytest.approx([0.1, 0.1])


def test_seed_000_model_has_no_biases_and_its_logits_ignore_the_scale_of_queries_and_keys():
    """With QK-norm, multiplying W_Q and W_K by positive constants leaves the function unchanged;
    without it, it does not."""
    tokens = torch.tensor([[1, 2, 11], [5, 7, 11]])
    for qk_norm in (True, False):
        config = replace(study_model(11, 2, 16, 2, 32), qk_norm=qk_norm)
        model = GrokTransformer(config).double()
        before = model(tokens)
        with torch.no_grad():
            model.blocks[0].W_Q.mul_(3.0)
            model.blocks[1].W_K.mul_(0.2)
        unchanged = torch.allclose(model(tokens), before, atol=1e-6)
        assert unchanged == qk_norm
    names = [name for name, _ in GrokTransformer(study_model(11, 2, 16, 2, 32)).named_parameters()]
    assert not [name for name in names if ".b_" in name or name.endswith(".bias")]
    assert "blocks.0.q_norm.weight" in names and "blocks.0.ln1.weight" in names


def test_a_run_stops_after_two_measurements_above_the_target():
    weights = {"blocks.0.W_Q": torch.randn(2, 2, 16, 8), "blocks.0.W_K": torch.randn(2, 2, 16, 8)}
    accuracies = iter([[0.5, 0.995], [0.999, 0.98], [0.995, 0.999], [0.999, 0.999], [1.0, 1.0]])
    trainer = SimpleNamespace(step=0, params=weights, runs=[SimpleNamespace(model=CFG)],
                              model_tensors=lambda index: {"index": torch.tensor(index)})
    trainer.evaluate = lambda: {"test_acc": torch.tensor(next(accuracies))}
    results, streaks = [CellResult(Cell("l2", 0.5, 0.01, 0), []), CellResult(Cell("lowrank", 0.5, 0.01, 0), [])], [0, 0]
    settings = study_settings(steps=100, eval_every=10)
    for step in range(0, 50, 10):
        trainer.step = step
        _record(trainer, results, streaks, settings)
    assert [row["step"] for row in results[0].rows] == [0, 10, 20]
    assert [row["step"] for row in results[1].rows] == [0, 10, 20, 30]
    first = results[0].summary(0.99)
    assert (first["steps_to_target"], first["stop_step"], first["val_acc"]) == (10, 20, pytest.approx(0.995))
    assert results[1].summary(0.99)["steps_to_target"] == 0
    assert not math.isnan(first["stable_rank_layer1_Q"])


def lowrank_plots():
    path = Path(__file__).resolve().parents[1] / "scripts/lowrank_decay/plots.py"
    spec = importlib.util.spec_from_file_location("lowrank_decay_plots", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def drawn_figure(monkeypatch, module, draw, *args, **kwargs):
    """The figure that `draw` saves, kept open (its save replaced)."""
    saved = []
    monkeypatch.setattr(module, "save_figure", lambda fig, path: saved.append(fig))
    draw(*args, path="unused.png", **kwargs)
    (figure,) = saved
    figure.canvas.draw()
    return figure, figure.axes[0]


def mechanism_curves() -> pd.DataFrame:
    """Both methods of a 2-layer model; the low-rank run stops early, at step 300."""
    rows = []
    for method, last in (("l2", 500), ("lowrank", 300)):
        for step in range(0, last + 1, 100):
            rows.append({"method": method, "step": step, "val_acc": min(1.0, step / 300),
                         **{f"stable_rank_layer{n}_{kind}": 10.0 - step / 100 for n in (1, 2) for kind in "QK"}})
    return pd.DataFrame(rows)


def test_mechanism_figures_have_a_log_step_axis_0_based_layers_and_a_keyed_stop(monkeypatch):
    plots = lowrank_plots()
    curves = mechanism_curves()
    ranks = [column for column in curves.columns if column.startswith("stable_rank")]
    _, ax = drawn_figure(monkeypatch, plots, plots.against_step, curves, ranks, "stable rank",
                         log_y=True)
    assert ax.get_xscale() == "log" and min(min(line.get_xdata()) for line in ax.get_lines()) > 0
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert any("layer 0 $W_Q$" in text for text in legend) and any("layer 1 $W_K$" in text for text in legend)
    assert not any("layer 2" in text for text in legend) and any("run stopped" in text for text in legend)
    assert ax.get_legend().get_window_extent().y0 >= ax.get_window_extent().y1 - 1
    _, ax = drawn_figure(monkeypatch, plots, plots.against_step, curves, ["val_acc"], "validation accuracy",
                              chance=1 / 31)
    assert ax.get_xscale() == "log" and ax.get_ylim() == pytest.approx((-0.02, 1.02))
    (chance,) = [line for line in ax.get_lines() if line.get_label().startswith("chance")]
    assert list(chance.get_ydata()) == pytest.approx([1 / 31] * 2)
    assert any(text.get_text().startswith("chance") for text in ax.get_legend().get_texts())


def test_phase_heatmaps_use_plasma_horizontal_ticks_words_and_readable_cell_labels(monkeypatch):
    plots = lowrank_plots()
    table = pd.DataFrame([[0.2, 0.9], [-0.01, 0.6]], index=[0.5, 0.8], columns=[0.001, 0.01])
    figure, ax = drawn_figure(monkeypatch, plots, plots.heatmap, table.abs(), "accuracy", plots.STRENGTH_LABELS["l2"],
                              cmap=plots.SEQUENTIAL, limits=(0, 1), chance=1 / 31)
    assert ax.images[0].get_cmap().name == "plasma" and "_" not in ax.get_xlabel()
    assert ax.get_legend().get_texts()[0].get_text().startswith("chance (1/p = 0.032)")
    assert figure.axes[1].get_lines()[0].get_ydata()[0] == pytest.approx(1 / 31)  # marked on the colour bar
    assert all(label.get_rotation() == 0 for label in ax.get_xticklabels())
    figure, ax = drawn_figure(monkeypatch, plots, plots.heatmap, table, "difference",
                              plots.STRENGTH_LABELS["difference"], cmap=plots.DIVERGING, limits=(-1, 1))
    near_white = [text for text in ax.texts if text.get_text() == "−0.01" or text.get_text() == "-0.01"]
    assert len(near_white) == 1 and near_white[0].get_color() == "black"


def test_cell_text_is_dark_on_light_cells_and_white_on_dark_ones():
    plots = lowrank_plots()
    plasma = matplotlib.colormaps["plasma"]
    assert plots.text_color((1.0, 1.0, 1.0, 1.0)) == "black" and plots.text_color(plasma(0.0)) == "white"
    assert plots.text_color(plasma(1.0)) == "black"


def test_attention_figure_uses_plasma_and_names_layer_0(monkeypatch):
    plots = lowrank_plots()
    rows = pd.DataFrame([{"method": "l2", "example": e, "position": p, "weight": w}
                         for e in range(2) for p, w in enumerate((0.2, 0.3, 0.5))])
    figure, ax = drawn_figure(monkeypatch, plots, plots.attention_figure, rows, "l2")
    assert ax.images[0].get_cmap().name == "plasma"
    assert "layer 0" in figure.axes[1].get_ylabel()

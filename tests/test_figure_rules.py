"""The figure rules that can be checked mechanically, over every figure of an op: each
script of scripts/plots/ (the SLT study's llc_*.py have tests/test_slt_figures.py) runs in this
process on small synthetic CSVs, with grokflow.plotting.save_figure replaced by a recorder, so
that the Figure objects themselves are inspected:

- no title (nor suptitle) on any axes;
- a log x axis wherever the x axis is the training step, and a step axis on every figure but the
  QK spectra;
- no legend box over any plotted line (its points and the segments between them), in display
  coordinates after drawing;
- one colour range across the files of a family (the QK spectra of an op, the PSD heatmaps of its
  seeds), and a colour bar for every heatmap;
- no band edge at or below zero on a log y axis;
- no right spine without a right axis, and on multi-axis figures every axis whose curves share one
  colour labelled in that colour;
- quantities that barely move drawn inside their natural span (meaningful_ylim), every
  effective-rank axis from rank 1.
"""

from collections import defaultdict
import importlib.util
import math
from pathlib import Path

from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colors import to_hex
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import grokflow.plotting
from grokflow.metrics.effective_rank import MATRICES

PLOTS = Path(__file__).resolve().parents[1] / "scripts" / "plots"
SEEDS = (0, 1)
STEPS = (0, 1, 3, 10, 30, 100, 300, 1000, 3000)
P = 7


# ---- fixture CSVs -------------------------------------------------------------------------------

def grid(**columns) -> pd.DataFrame:
    """One row per (seed, step) with `t` = log10(step + 1) / log10(last step + 1) in [0, 1]."""
    frame = pd.DataFrame([(seed, step) for seed in SEEDS for step in STEPS], columns=["seed", "step"])
    t = np.log10(frame["step"] + 1) / np.log10(STEPS[-1] + 1)
    return frame.assign(t=t, **columns)


def over(frame: pd.DataFrame, column: str, values) -> pd.DataFrame:
    """frame repeated once per value of `column`."""
    return pd.concat([frame.assign(**{column: value}) for value in values], ignore_index=True)


def wiggle(frame: pd.DataFrame, scale: float) -> pd.Series:
    """A small deterministic seed-to-seed difference."""
    return scale * np.sin(3.0 * frame["step"] + 2.0 * frame["seed"] + 1.0)


def metric_table() -> pd.DataFrame:
    frame = grid()
    t = frame["t"]
    # losses spread over decades between the seeds: a linear mean ± std would go below zero
    spread = np.where(frame["seed"] == 0, 1.0, 1e-3)
    return frame.assign(train_loss=3.0 * (1 - t) * spread + 1e-6, test_loss=3.0 * (1 - t ** 4) * spread + 1e-5,
                        train_acc=np.clip(t * 1.4, 0, 1), test_acc=t ** 4).drop(columns="t")


def effective_rank_table() -> pd.DataFrame:
    frames = []
    for matrix in MATRICES:
        layers = [-1] if matrix in ("W_E", "W_pos", "W_U") else [0, 1]
        frame = over(grid(matrix=matrix), "layer", layers)
        if matrix == "W_U":  # near its maximum rank, moving by 1.6 (the W_U.png)
            erank = 28.8 + 1.6 * frame["t"] + wiggle(frame, 0.05)
        elif matrix == "W_pos":
            erank = 2.90 + 0.05 * frame["t"] + wiggle(frame, 0.005)
        else:
            erank = 20.0 - 15.0 * frame["t"] + wiggle(frame, 0.3) + frame["layer"]
        frames.append(frame.assign(erank=erank, spectral_entropy=np.log(erank)))
    return pd.concat(frames, ignore_index=True).drop(columns="t")


def fourier_table(group: str) -> pd.DataFrame:
    frame = over(grid(group=group), "matrix", ["W_E", "W_U"])
    flat = group == "multiplicative"  # x×y: at its maximum √n, 5.50–5.57 (the figure)
    l1_l2 = 5.57 - 0.07 * frame["t"] if flat else 5.5 - 3.0 * frame["t"]
    return frame.assign(l1_l2_ratio=l1_l2 + wiggle(frame, 0.005), top_k_energy=0.2 + 0.7 * frame["t"]).drop(
        columns="t")


def csv_tables() -> dict[str, pd.DataFrame]:
    base = grid()
    t = base["t"]
    k1, k2 = np.meshgrid(np.arange(-(P // 2), P // 2 + 1), np.arange(-(P // 2), P // 2 + 1))
    cells = pd.DataFrame({"k1": k1.ravel(), "k2": k2.ravel()})
    spectra = base[base["step"].isin([1, 3000])].merge(cells, how="cross")
    # spread evenly at step 1, on the diagonal k2 = −k1 (orders of magnitude apart) at step 3000:
    # the files compare only on one shared colour range
    diagonal = np.exp(-5.0 * np.abs(spectra["k1"] + spectra["k2"]))
    power = np.where(spectra["step"] == 1, 1.0 + 0.1 * spectra["k1"] ** 2, diagonal) * (1 + spectra["seed"])
    spectra = spectra.assign(group="additive", layer=0, head=-1, power=power)
    frequencies = base.merge(pd.DataFrame({"frequency": range(P // 2 + 1)}), how="cross")
    share = np.where(frequencies["frequency"] == 1 + frequencies["seed"], 0.2 + 0.7 * frequencies["t"], 0.1)
    psd = frequencies.assign(group="additive", power=share, power_fraction=share / (1 + frequencies["seed"]))
    return {
        "metric": metric_table(),
        "effective_rank": effective_rank_table(),
        "fourier_additive": fourier_table("additive"),
        "fourier_multiplicative": fourier_table("multiplicative"),
        "gini_ipr": over(base, "variant", ["per_dimension", "flattened"]).assign(
            group="additive", gini=lambda f: 0.2 + 0.7 * f["t"], ipr=lambda f: 0.05 + 0.6 * f["t"]),
        # phase R² between 0.43 and 0.54 (the phase_coherence.png)
        "phase": over(base, "column", [-1, 0]).assign(group="additive", r2=lambda f: 0.43 + 0.11 * f["t"],
                                                      slope=0.1),
        "cosine": base.assign(group="additive", cosine=0.1 + 0.8 * t),
        "diagonal": base.assign(layer=0, head=-1, diagonal_fraction=0.1 + 0.8 * t, random_baseline=2 / P),
        "group": base.assign(residual=0.9 - 0.8 * t, heldout_residual=1.1 - 0.9 * t, orth_defect=2.0 - 1.8 * t),
        "competition": over(base, "matrix", ["W_E", "W_U"]).assign(
            fourier_share=lambda f: 0.1 + 0.8 * f["t"], memo_share=lambda f: 0.8 - 0.7 * f["t"],
            fourier_baseline=0.1, memo_baseline=0.2),
        "progress": base.assign(restricted_loss=np.exp(-5 * t), excluded_loss=1 + t, train_loss=np.exp(-8 * t),
                                test_loss=np.exp(-4 * t ** 4), chance_loss=math.log(P)),
        "spectra": spectra,
        "psd": psd,
        "intrinsic_dimension": pd.concat([
            over(base, "matrix", ["W_E", "W_U"]).assign(layer=-1, twonn_id=lambda f: 5 - 3 * f["t"],
                                                        twonn_tie_share=lambda f: f["t"],
                                                        participation_ratio=lambda f: 6 - 4 * f["t"],
                                                        erank=math.nan, spectral_entropy=math.nan),
            over(base.assign(matrix="W_QK"), "layer", [0, 1]).assign(
                twonn_id=math.nan, twonn_tie_share=math.nan, participation_ratio=math.nan,
                erank=lambda f: 12 - 8 * f["t"] + f["layer"], spectral_entropy=lambda f: np.log(f["erank"])),
        ], ignore_index=True),
        "agop": pd.concat([base.assign(split=split, block=block, agop_erank=10 - 6 * t,
                                       gram_circulant_deviation=0.1 * (1 - t), agop_circulant_deviation=0.12 * (1 - t))
                           for split in ("train", "test") for block in ("full", "x")], ignore_index=True),
        "llc": base.assign(llc_mean=5 + 20 * t),
        "flatness": base.assign(lambda_mean=4 + 18 * t),
    }


def commands(csv: dict[str, Path], out: Path) -> list[tuple[str, list]]:
    metrics = ["--metrics", csv["metric"]]
    return [
        ("training_curves", [*metrics, "--accuracy", out / "accuracy.png", "--loss", out / "loss.png"]),
        ("effective_rank", ["--erank", csv["effective_rank"], *metrics, "--outdir", out / "effective_rank"]),
        ("fourier_basis", ["--fourier", csv["fourier_additive"], *metrics, "--sparsity-output",
                           out / "fourier_sparsity.png", "--energy-output", out / "fourier_top_k.png"]),
        ("fourier_basis", ["--fourier", csv["fourier_multiplicative"], *metrics, "--sparsity-output",
                           out / "x×y" / "fourier_sparsity.png", "--energy-output",
                           out / "x×y" / "fourier_top_k.png"]),
        ("gini_ipr", ["--table", csv["gini_ipr"], *metrics, "--output", out / "gini_ipr.png"]),
        ("phase_coherence", ["--table", csv["phase"], *metrics, "--output", out / "phase_coherence.png"]),
        ("cosine", ["--table", csv["cosine"], *metrics, "--output", out / "cosine.png"]),
        ("qk_circuit_diagonal", ["--table", csv["diagonal"], *metrics, "--output", out / "qk_circuit_diagonal.png"]),
        ("group_representation", ["--table", csv["group"], *metrics, "--output", out / "group_representation.png"]),
        ("circuit_competition", ["--table", csv["competition"], *metrics, "--output",
                                 out / "circuit_competition.png"]),
        ("progress_measures", ["--table", csv["progress"], *metrics, "--output", out / "progress_measures.png"]),
        ("qk_circuit_spectrum", ["--spectra", csv["spectra"], "--outdir", out / "qk_circuit"]),
        ("psd", ["--psd", csv["psd"], "--outdir", out / "psd"]),
        ("intrinsic_dimension", ["--id", csv["intrinsic_dimension"], *metrics, "--id-output",
                                 out / "intrinsic_dimension.png", "--qk-output", out / "qk_effective_rank.png"]),
        ("agop_circulant", ["--agop", csv["agop"], *metrics, "--erank-output", out / "agop_erank.png",
                            "--circulant-output", out / "agop_circulant.png"]),
        ("slt_against_step", ["--llc", csv["llc"], "--flatness", csv["flatness"], *metrics, "--llc-output",
                              out / "llc.png", "--flatness-output", out / "flatness_slt.png"]),
    ]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"figure_rules_{name}", PLOTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    """{figure path relative to the output folder: Figure} of every op figure script."""
    folder = tmp_path_factory.mktemp("figure_rules")
    csv = {}
    for name, frame in csv_tables().items():
        csv[name] = folder / f"{name}.csv"
        frame.to_csv(csv[name], index=False)
    out = folder / "figures"
    recorded = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(plt.rcParams, "figure.max_open_warning", 0)  # every figure stays open to be checked
        patch.setattr(grokflow.plotting, "save_figure",
                      lambda fig, png_path: recorded.setdefault(Path(png_path).relative_to(out).as_posix(), fig))
        for name, argv in commands(csv, out):
            load_script(name).main([str(arg) for arg in argv])  # loaded after the patch: binds the recorder
    for fig in recorded.values():
        fig.canvas.draw()
    yield recorded
    for fig in recorded.values():
        plt.close(fig)


def figure_names():
    """The figure names the fixture records (fixed by the commands above)."""
    return ["accuracy.png", "loss.png", *(f"effective_rank/{m}.png" for m in MATRICES), "fourier_sparsity.png",
             "fourier_top_k.png", "x×y/fourier_sparsity.png", "x×y/fourier_top_k.png", "gini_ipr.png",
             "phase_coherence.png", "cosine.png", "qk_circuit_diagonal.png", "group_representation.png",
             "circuit_competition.png", "progress_measures.png",
             *(f"qk_circuit/seed{s}/step{t}.png" for s in SEEDS for t in (1, 3000)),
             *(f"psd/seed{s}.png" for s in SEEDS), "intrinsic_dimension.png", "qk_effective_rank.png",
             "agop_erank.png", "agop_circulant.png", "llc.png", "flatness_slt.png"]


FIGURES = figure_names()


# ---- helpers ------------------------------------------------------------------------------------

def is_colorbar(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def plot_axes(fig) -> list:
    return [ax for ax in fig.axes if not is_colorbar(ax)]


def heatmaps(fig) -> list:
    return [m for ax in plot_axes(fig) for m in [*ax.images, *(c for c in ax.collections if isinstance(c, QuadMesh))]]


def line_points(line, samples: int = 25) -> np.ndarray:
    """A line's points in display coordinates, and `samples` points on each segment between them
    (drawn straight in display space) unless it is drawn without a line style."""
    xy = line.get_transform().transform(np.asarray(line.get_xydata(), dtype=float))
    xy = xy[np.isfinite(xy).all(axis=1)]
    if len(xy) < 2 or line.get_linestyle() in ("None", "none", ""):
        return xy
    fractions = np.linspace(0.0, 1.0, samples)[None, :, None]
    return (xy[:-1, None, :] + fractions * (xy[1:, None, :] - xy[:-1, None, :])).reshape(-1, 2)


# ---- the rules ----------------------------------------------------------------------------------

def test_every_op_figure_script_ran(figures):
    assert sorted(figures) == sorted(FIGURES)
    scripts = {path.stem for path in PLOTS.glob("*.py") if not path.stem.startswith("llc_")}
    assert scripts == {name for name, _ in commands(defaultdict(Path), Path())}


@pytest.mark.parametrize("name", FIGURES)
def test_no_title(figures, name):
    fig = figures[name]
    assert fig.get_suptitle() == ""
    for ax in fig.axes:
        assert [ax.get_title(loc=loc) for loc in ("left", "center", "right")] == ["", "", ""]


@pytest.mark.parametrize("name", FIGURES)
def test_step_axes_are_log(figures, name):
    fig = figures[name]
    step_axes = [ax for ax in plot_axes(fig) if "step" in ax.get_xlabel()]
    assert step_axes or name.startswith("qk_circuit/"), "a figure against the training step needs a step axis"
    for ax in step_axes:
        assert ax.get_xscale() == "log"


@pytest.mark.parametrize("name", FIGURES)
def test_legend_covers_no_line(figures, name):
    fig = figures[name]
    renderer = fig.canvas.get_renderer()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in plot_axes(fig):
            inside_axes = ax.bbox
            for line in ax.lines:
                if not line.get_visible():
                    continue
                xy = line_points(line)
                x, y = xy[:, 0], xy[:, 1]
                drawn = (x >= inside_axes.x0) & (x <= inside_axes.x1) & (y >= inside_axes.y0) & (y <= inside_axes.y1)
                covered = drawn & (x > box.x0) & (x < box.x1) & (y > box.y0) & (y < box.y1)
                assert not covered.any(), f"the legend covers {line.get_label()!r} in {name}"


@pytest.mark.parametrize("name", FIGURES)
def test_log_bands_stay_positive(figures, name):
    for ax in plot_axes(figures[name]):
        if ax.get_yscale() != "log":
            continue
        for band in (c for c in ax.collections if isinstance(c, PolyCollection)):
            for path in band.get_paths():
                assert (path.vertices[:, 1] > 0).all(), f"a band edge ≤ 0 on the log axis of {name}"


@pytest.mark.parametrize("name", FIGURES)
def test_right_spine_only_with_a_right_axis(figures, name):
    for ax in plot_axes(figures[name]):
        if ax.spines["right"].get_visible():
            assert ax.yaxis.get_label_position() == "right" and ax.yaxis.get_ticks_position() == "right", name


@pytest.mark.parametrize("name", FIGURES)
def test_axes_of_multi_axis_figures_are_coloured_like_their_curves(figures, name):
    axes = plot_axes(figures[name])
    if len(axes) < 2:
        return
    for ax in axes:
        colors = {to_hex(line.get_color()) for line in ax.lines if not line.get_label().startswith("_")}
        if len(colors) == 1:
            assert to_hex(ax.yaxis.label.get_color()) == colors.pop(), f"{ax.get_ylabel()!r} in {name}"


@pytest.mark.parametrize("family", ["qk_circuit/", "psd/"])
def test_a_family_shares_one_colour_range(figures, family):
    ranges = set()
    for name in (n for n in FIGURES if n.startswith(family)):
        (mappable,) = heatmaps(figures[name])
        assert mappable.colorbar is not None, f"{name} has no colour bar"
        ranges.add((mappable.norm.vmin, mappable.norm.vmax))
    assert len(ranges) == 1, ranges


@pytest.mark.parametrize("name, low, high", [
    ("effective_rank/W_U.png", 1.0, None),       # erank ≥ 1; the fixture moves 28.8 → 30.4
    ("effective_rank/W_pos.png", 1.0, None),     # 2.90 → 2.95
    ("x×y/fourier_sparsity.png", 1.0, None),     # ℓ1/ℓ2 ∈ [1, √n]; 5.57 → 5.50
    ("phase_coherence.png", 0.0, 1.0),           # R² ∈ [0, 1]; 0.43 → 0.54
])
def test_a_flat_quantity_is_drawn_in_its_natural_span(figures, name, low, high):
    ax = plot_axes(figures[name])[0]
    bottom, top = ax.get_ylim()
    assert bottom <= low and (high is None or top >= high)


def test_every_effective_rank_axis_starts_at_rank_one(figures):
    for name in [*(f"effective_rank/{m}.png" for m in MATRICES), "agop_erank.png", "qk_effective_rank.png"]:
        assert plot_axes(figures[name])[0].get_ylim()[0] <= 1.0, name


def test_a_moving_quantity_keeps_its_own_range(figures):
    bottom, top = plot_axes(figures["gini_ipr.png"])[0].get_ylim()  # Gini 0.26 → 0.9 of [0, 1]
    assert 0.1 < bottom < 0.3 and 0.85 < top <= 1.0 + 0.02  # autoscaled: neither 0 nor 1 shown

"""The SLT study's figure scripts (scripts/plots/llc_*.py) on small synthetic CSVs of the study's
contracts: every figure is written as PNG and PDF, including the awkward cells (every chain
diverged, a negative estimate, no cv), and a CSV that lacks a column is one clear error."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import grokflow.plotting
from grokflow.errors import GrokflowError
from grokflow.slt.methods import METHODS

PLOTS = Path(__file__).resolve().parents[1] / "scripts" / "plots"
GRID = np.geomspace(0.1, 10.0, 5)


def plot_script(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_plot", PLOTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rescaling_table(method: str, variant: str, grid=GRID, unscaled_off_grid=False, seed=0) -> pd.DataFrame:
    """One sampler's α × β grid: LLC over three decades, with a diverged cell, a negative cell and
    partly diverged cells."""
    rng = np.random.default_rng(seed)
    rows = [(a, b) for b in grid for a in grid] + ([(1.0, 1.0)] if unscaled_off_grid else [])
    alpha, beta = np.array(rows).T
    llc = 10 ** (np.log10(alpha) + 0.5 * np.log10(beta) + rng.normal(0, 0.1, len(rows)))
    if method == "psgld":
        llc = llc * 1e3  # another sampler, another scale
    chains = 4
    n_diverged = np.zeros(len(rows), int)
    n_diverged[[1, 7]] = [1, 2]
    n_diverged[-1 - len(grid)] = chains
    llc[n_diverged == chains] = np.nan
    llc[3] = -0.05
    return pd.DataFrame({
        "alpha": alpha, "beta": beta, "llc_mean": llc, "llc_std": 0.1 * np.abs(llc), "init_loss": 1e-3,
        "n_diverged": n_diverged, "negative": llc < 0, "max_logit_change": 1e-6,
        "max_logit_change_fixed_ln_eps": 1e-3, "chains": chains, "epsilon": 1e-7, "nbeta": 100.0,
        "gamma": 1e6, "variant": variant, "reference": "final"})


def rescaling_tables(folder, variant: str, **kwargs) -> list[str]:
    paths = []
    for seed, method in enumerate(METHODS):
        path = folder / variant / f"{method}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        rescaling_table(method, variant, seed=seed, **kwargs).to_csv(path, index=False)
        paths.append(str(path))
    return paths


def summary_table() -> pd.DataFrame:
    """Two ops, both variants, every sampler; one op and variant without a common finite point."""
    rows = []
    for op in ("x+y", "x×y"):
        for variant in ("fixed", "scaled"):
            common = 0 if (op, variant) == ("x×y", "fixed") else 20
            for k, method in enumerate(METHODS):
                diverged = 11 if (method == "rsgld" and variant == "fixed") else k
                cv = math.nan if common == 0 else 10.0 ** (k - 2) * (3 if variant == "fixed" else 1)
                rows.append({"op": op, "variant": variant, "method": method, "points": 25,
                             "points_common": common, "llc_grid_mean": 1.0, "llc_grid_std": cv, "llc_min": 0.1,
                             "llc_max": 10.0, "cv": cv, "points_diverged": diverged, "n_diverged": 4 * diverged,
                             "points_negative": 1, "cv_own": cv, "max_logit_change": 1e-6})
    return pd.DataFrame(rows)


def calibration_tables(nbetas=(30.0, 100.0, 300.0), nbeta=100.0, gamma=1e6):
    """Every nβ at the default γ and γ/10, 10γ at the default nβ, per sampler and ε; the smallest
    ε gives negative estimates, the largest diverges; one ε meets the criteria."""
    epsilons = np.geomspace(1e-10, 1e-4, 7)
    rows, criteria = [], []
    for method in METHODS:
        settings = [(nb, gamma) for nb in nbetas] + [(nbeta, gamma / 10), (nbeta, 10 * gamma)]
        for nb, g in settings:
            for i, epsilon in enumerate(epsilons):
                llc = nb / 100 * (1 + i) * (1.3 if g > gamma else 0.8 if g < gamma else 1.0)
                if method == "sgld" and i == 0:
                    llc = -0.02 * nb / 100
                diverged = i == len(epsilons) - 1 or (i == len(epsilons) - 2 and nb == max(nbetas))
                rows.append({"method": method, "epsilon": epsilon, "nbeta": nb, "gamma": g,
                             "llc_mean": math.nan if diverged else llc, "llc_std": 0.1 * abs(llc),
                             "init_loss": 1e-3, "n_diverged": 4 if diverged else 0, "negative": llc < 0,
                             "llc_late_mean": llc, "acceptance": math.nan if diverged else 1 - i / len(epsilons),
                             "distance": 1e-3 * (i + 1), "grad_norm": 1.0})
        for i, epsilon in enumerate(epsilons):
            criteria.append({"method": method, "epsilon": epsilon, "gamma": gamma, "nbeta": nbeta, "llc_mean": 1.0,
                             "diverged": i == len(epsilons) - 1, "negative": False, "nbeta_slope": 1.0,
                             "gamma_spread": 0.1, "epsilon_change": 0.1, "acceptance": 0.9,
                             "meets_criteria": i == 3 and method != "psgld"})
    return pd.DataFrame(rows), pd.DataFrame(criteria)


def traces_table(chains=3, steps=40, burnin=15) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for method in METHODS:
        for chain in range(chains):
            loss = 1e-3 + 0.02 * (1 - np.exp(-np.arange(steps) / 5)) + rng.normal(0, 2e-3, steps)
            if method == "rsgld" and chain == 1:
                loss[25:] = math.nan  # a diverged chain
            for step in range(steps):
                rows.append({"method": method, "chain": chain, "step": step, "loss": loss[step],
                             "baseline": 1e-3 + rng.normal(0, 1e-4), "init_loss": 1e-3, "nbeta": 100.0,
                             "draw": step >= burnin, "distance": 0.05 * np.sqrt(step) * (1 + 0.2 * chain),
                             "acceptance": math.nan if step == steps - 1 else 0.9, "grad_norm": 1.0,
                             "reference": "final"})
    return pd.DataFrame(rows)


def assert_figures(folder, stems):
    for stem in stems:
        assert (folder / f"{stem}.png").is_file() and (folder / f"{stem}.pdf").is_file(), stem


def test_rescaling_heatmaps_are_written_for_every_sampler(tmp_path):
    tables = rescaling_tables(tmp_path, "fixed")
    plot_script("llc_rescaling").main(["--tables", *tables, "--outdir", str(tmp_path / "figures")])
    assert_figures(tmp_path / "figures", METHODS)


def test_rescaling_heatmap_of_an_even_grid_marks_the_unscaled_point_between_cells(tmp_path):
    tables = rescaling_tables(tmp_path, "scaled", grid=np.geomspace(0.1, 10.0, 6))
    plot_script("llc_rescaling").main(["--tables", *tables, "--outdir", str(tmp_path / "figures")])
    assert_figures(tmp_path / "figures", METHODS)


def test_rescaling_heatmap_colour_scale_is_the_samplers_own_log_scale():
    module = plot_script("llc_rescaling")
    table = rescaling_table("sgld", "fixed")
    norm = module.own_norm(table["llc_mean"])
    positive = table["llc_mean"][table["llc_mean"] > 0]
    assert norm.vmin == positive.min() and norm.vmax == positive.max()
    assert module.own_norm(pd.Series([-1.0, math.nan])) is None
    # an estimate that barely moves is drawn in one colour, not stretched over the map
    flat = module.own_norm(pd.Series([0.05190, 0.05192]))
    assert flat.vmax / flat.vmin == pytest.approx(module.MIN_RATIO)
    assert flat.vmin < 0.05190 and flat.vmax > 0.05192


def test_rescaling_heatmaps_refuse_tables_of_two_variants(tmp_path):
    tables = rescaling_tables(tmp_path, "fixed")[:2] + rescaling_tables(tmp_path, "scaled")[2:]
    with pytest.raises(GrokflowError, match="one variant"):
        plot_script("llc_rescaling").main(["--tables", *tables, "--outdir", str(tmp_path / "figures")])


def test_rescaling_cv_figure_is_written(tmp_path):
    summary_table().to_csv(tmp_path / "summary.csv", index=False)
    plot_script("llc_rescaling_cv").main(["--summary", str(tmp_path / "summary.csv"),
                                          "--output", str(tmp_path / "figures" / "cv.png")])
    assert_figures(tmp_path / "figures", ["cv"])


def test_rescaling_cv_legend_counts_diverged_and_negative_points_per_variant():
    module = plot_script("llc_rescaling_cv")
    summary = summary_table()
    label = module.points_label(summary, "rsgld", ["fixed", "scaled"])
    assert label == "Riemannian SGLD — diverged / negative points: fixed 22 / 2 of 50, scaled 4 / 2 of 50"
    summary["points_negative"] = 0
    label = module.points_label(summary, "rsgld", ["fixed", "scaled"])
    assert label == "Riemannian SGLD — diverged points: fixed 22/50, scaled 4/50"


def test_calibration_figures_are_written(tmp_path):
    calibration, criteria = calibration_tables()
    calibration.to_csv(tmp_path / "calibration.csv", index=False)
    criteria.to_csv(tmp_path / "criteria.csv", index=False)
    plot_script("llc_calibration").main([
        "--calibration", str(tmp_path / "calibration.csv"), "--criteria", str(tmp_path / "criteria.csv"),
        "--nbeta", "100", "--chosen", "sgld=1e-7", "rsgld=1e-5", "--outdir", str(tmp_path / "figures")])
    assert_figures(tmp_path / "figures", METHODS)


def test_calibration_default_gamma_is_the_median_and_the_nbeta_must_be_in_the_table(tmp_path):
    module = plot_script("llc_calibration")
    calibration, criteria = calibration_tables()
    assert module.default_gamma(calibration) == 1e6
    calibration.to_csv(tmp_path / "calibration.csv", index=False)
    criteria.to_csv(tmp_path / "criteria.csv", index=False)
    with pytest.raises(GrokflowError, match="--nbeta 50"):
        module.main(["--calibration", str(tmp_path / "calibration.csv"), "--criteria", str(tmp_path / "criteria.csv"),
                     "--nbeta", "50", "--outdir", str(tmp_path / "figures")])


def test_trace_figures_are_written(tmp_path):
    traces_table().to_csv(tmp_path / "traces.csv", index=False)
    plot_script("llc_traces").main(["--traces", str(tmp_path / "traces.csv"), "--outdir", str(tmp_path / "figures")])
    assert_figures(tmp_path / "figures", METHODS)


@pytest.mark.parametrize("script, write, column", [
    ("llc_rescaling", lambda d: rescaling_tables(d, "fixed"), "n_diverged"),
    ("llc_rescaling_cv", lambda d: [summary_table().to_csv(d / "summary.csv", index=False), d / "summary.csv"][1:],
     "points_common"),
    ("llc_calibration", lambda d: [calibration_tables()[0].to_csv(d / "calibration.csv", index=False),
                                   d / "calibration.csv"][1:], "acceptance"),
    ("llc_traces", lambda d: [traces_table().to_csv(d / "traces.csv", index=False), d / "traces.csv"][1:], "distance"),
])
def test_a_csv_lacking_a_column_is_a_grokflow_error_naming_file_and_column(tmp_path, script, write, column):
    paths = [str(path) for path in write(tmp_path)]
    broken = paths[0]
    pd.read_csv(broken).drop(columns=column).to_csv(broken, index=False)
    criteria = tmp_path / "criteria.csv"
    calibration_tables()[1].to_csv(criteria, index=False)
    argv = {"llc_rescaling": ["--tables", *paths, "--outdir", str(tmp_path / "figures")],
            "llc_rescaling_cv": ["--summary", broken, "--output", str(tmp_path / "cv.png")],
            "llc_calibration": ["--calibration", broken, "--criteria", str(criteria), "--nbeta", "100",
                                "--outdir", str(tmp_path / "figures")],
            "llc_traces": ["--traces", broken, "--outdir", str(tmp_path / "figures")]}[script]
    with pytest.raises(GrokflowError) as error:
        plot_script(script).main(argv)
    assert column in str(error.value) and broken in str(error.value)
    assert len(str(error.value).splitlines()) == 1


def test_a_criteria_csv_lacking_a_column_is_named(tmp_path):
    calibration, criteria = calibration_tables()
    calibration.to_csv(tmp_path / "calibration.csv", index=False)
    criteria.drop(columns="meets_criteria").to_csv(tmp_path / "criteria.csv", index=False)
    with pytest.raises(GrokflowError, match="criteria.csv lacks the column.s. meets_criteria"):
        plot_script("llc_calibration").main([
            "--calibration", str(tmp_path / "calibration.csv"), "--criteria", str(tmp_path / "criteria.csv"),
            "--nbeta", "100", "--outdir", str(tmp_path / "figures")])


def test_negative_estimates_over_training_are_marked_and_keyed(tmp_path, monkeypatch):
    """A checkpoint whose LLC is negative (w₀ no minimum) is drawn with a keyed mark at the foot of
    the axis and left out of the mean."""
    figures = []
    monkeypatch.setattr(grokflow.plotting, "save_figure", lambda fig, path: figures.append(fig))
    steps = [1, 10, 100, 1000]
    llc = pd.DataFrame({"seed": 0, "step": steps, "llc_mean": [1.0, 2.0, 3.0, -5.0]})
    flatness = pd.DataFrame({"seed": 0, "step": steps, "lambda_mean": [1.0, 2.0, 3.0, 4.0]})
    metrics = pd.DataFrame({"seed": 0, "step": steps, "train_acc": 1.0, "test_acc": 0.5})
    paths = {}
    for name, frame in (("llc", llc), ("flatness", flatness), ("metrics", metrics)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    plot_script("slt_against_step").main(["--llc", str(paths["llc"]), "--flatness", str(paths["flatness"]),
                                          "--metrics", str(paths["metrics"]), "--llc-output", str(tmp_path / "a.png"),
                                          "--flatness-output", str(tmp_path / "b.png")])
    legends = [[t.get_text() for t in fig.legends[0].get_texts()] if fig.legends else
               [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
               for fig in figures]
    assert any("negative estimate" in text and "1 of 4" in text for text in legends[0])
    assert not any("negative estimate" in text for text in legends[1])
    llc_axes = figures[0].axes[0]
    assert -5.0 < llc_axes.get_ylim()[0] < 0.0, "a negative estimate sets the axis instead of sitting at its foot"
    assert list(llc_axes.lines[0].get_ydata()) == [1.0, 2.0, 3.0], "a negative estimate entered the mean"

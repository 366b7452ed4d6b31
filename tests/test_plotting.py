"""The figure style's rules: for seed variation (line and band are one statistic, bands on log axes
are geometric and positive, few seeds are drawn individually), for y ranges by meaning
(meaningful_ylim), and for spines, legends and axis colours. tests/test_figure_rules.py checks
the rules on every op figure."""

import numpy as np
import pandas as pd

from matplotlib.colors import to_hex
from matplotlib.image import imread

from grokflow.plotting import (PALETTE, accuracy_twin, baseline_line, color_axis_like_curves, combined_legend,
                               log_seed_band, meaningful_ylim, new_figure, save_figure, seed_band)


def two_seeds(values_0, values_1):
    steps = np.arange(1, len(values_0) + 1)
    return pd.DataFrame({"seed": np.repeat([0, 1], len(steps)), "step": np.tile(steps, 2),
                         "y": np.concatenate([values_0, values_1])})


def band_edges(ax):
    """Lower and upper edge of the (one) band drawn on ax."""
    vertices = ax.collections[0].get_paths()[0].vertices
    return vertices[:, 1].min(), vertices[:, 1].max()


def test_the_line_stays_inside_its_band_at_a_one_step_dip():
    # seed 0 dips at step 5 only: a smoothed band would leave the raw mean outside it
    frame = two_seeds([1.0] * 4 + [0.2] + [1.0] * 4, [1.0] * 9)
    fig, ax = new_figure()
    line = seed_band(ax, frame, "y")
    mean, std = 0.6, np.std([0.2, 1.0], ddof=1)
    band = ax.collections[0].get_paths()[0].vertices
    at_dip = band[np.isclose(band[:, 0], 5.0), 1]
    assert line.get_ydata()[4] == mean
    assert np.isclose(at_dip.min(), mean - std) and np.isclose(at_dip.max(), mean + std)
    assert len(ax.lines) == 3  # the mean and each of the two seeds


def test_a_log_band_is_geometric_and_positive():
    frame = two_seeds([1e-3, 1e-2, 1.0], [1e-1, 1e-2, 1e-4])
    fig, ax = new_figure()
    ax.set_yscale("log")
    line = log_seed_band(ax, frame, "y")
    assert np.allclose(line.get_ydata(), [1e-2, 1e-2, 1e-2])  # geometric means
    low, high = band_edges(ax)
    assert low > 0 and np.isclose(low, 1e-2 * 10 ** -np.std([-4, 0], ddof=1))


def test_three_seeds_are_drawn_as_their_mean_and_band_only():
    frame = pd.concat([two_seeds([1.0, 2.0], [2.0, 3.0]),
                       pd.DataFrame({"seed": 2, "step": [1, 2], "y": [3.0, 4.0]})])
    fig, ax = new_figure()
    seed_band(ax, frame, "y")
    assert len(ax.lines) == 1 and len(ax.collections) == 1


def curve(ax, values, **kwargs):
    """A line through `values` at steps 1, 2, …"""
    return ax.plot(np.arange(1, len(values) + 1), values, **kwargs)[0]


def test_a_flat_curve_is_drawn_in_its_natural_span():
    fig, ax = new_figure()
    curve(ax, [0.43, 0.50, 0.54])  # moves by 0.11, of a span of 1
    meaningful_ylim(ax, 0.0, 1.0)
    bottom, top = ax.get_ylim()
    assert bottom < 0 and top > 1 and top - bottom < 1.1


def test_a_flat_curve_with_one_bound_reaches_down_to_it_and_keeps_its_band():
    fig, ax = new_figure()
    frame = two_seeds([28.8, 29.5, 30.4], [28.9, 29.8, 30.3])
    seed_band(ax, frame, "y")
    meaningful_ylim(ax, 1.0, None)  # an effective rank: ≥ 1
    bottom, top = ax.get_ylim()
    assert bottom <= 1.0 and top >= band_edges(ax)[1]


def test_a_moving_curve_keeps_its_automatic_range_cut_at_the_bounds():
    fig, ax = new_figure()
    frame = two_seeds([0.05, 0.5, 0.98], [0.0, 0.6, 1.0])  # mean ± std reaches below 0 and above 1
    seed_band(ax, frame, "y")
    meaningful_ylim(ax, 0.0, 1.0)
    bottom, top = ax.get_ylim()
    assert -0.03 < bottom < 0 and 1 < top < 1.03


def test_a_reference_line_is_part_of_the_span_and_a_bound_never_hides_a_line():
    fig, ax = new_figure()
    curve(ax, [0.80, 0.82])
    baseline_line(ax, 1.0)
    meaningful_ylim(ax, 0.0, None)
    assert ax.get_ylim()[0] < 0 and ax.get_ylim()[1] > 1.0
    fig, ax = new_figure()
    curve(ax, [-0.5, 2.0])  # outside a (wrongly given) span: still drawn whole
    meaningful_ylim(ax, 0.0, 1.0)
    assert ax.get_ylim()[0] <= -0.5 and ax.get_ylim()[1] >= 2.0


def test_only_a_twin_axis_has_a_right_spine():
    frame = two_seeds([0.1, 0.5], [0.2, 0.6])
    metrics = frame.rename(columns={"y": "train_acc"}).assign(test_acc=frame["y"])
    fig, ax = new_figure()
    assert not ax.spines["right"].get_visible() and not ax.spines["top"].get_visible()
    twin = accuracy_twin(ax, metrics)
    assert twin.spines["right"].get_visible() and twin.yaxis.get_label_position() == "right"


def test_the_legend_is_above_the_axes_and_a_one_colour_axis_is_coloured_like_its_curves():
    fig, ax = new_figure()
    curve(ax, [1.0, 2.0], color=PALETTE[1], label="a")
    baseline_line(ax, 1.5, color=PALETTE[1], label="reference")
    color_axis_like_curves(ax)
    assert to_hex(ax.yaxis.label.get_color()) == PALETTE[1].lower()
    combined_legend(ax)
    fig.canvas.draw()
    assert ax.get_legend().get_window_extent().y0 >= ax.bbox.y1
    fig, ax = new_figure()
    curve(ax, [1.0, 2.0], color=PALETTE[0], label="a")
    curve(ax, [1.0, 2.0], color=PALETTE[1], label="b")
    color_axis_like_curves(ax)  # two colours: the axis stays black
    assert to_hex(ax.yaxis.label.get_color()) == "#000000"


def test_a_wide_legend_lies_whole_inside_the_png(tmp_path):
    """The PNG's box is measured at its own dpi: at the figure's, the wider text of the PNG ran
    past the box and the legend's right column was cut at the image's edge."""
    fig, ax = new_figure()
    curve(ax, [1.0, 2.0], color=PALETTE[0], label="SGLD estimate")
    curve(ax, [2.0, 1.0], color=PALETTE[1], label="negative estimate, w\u2080 no minimum (58 of 480)")
    twin = accuracy_twin(ax, two_seeds([0.1, 0.5], [0.2, 0.6]).rename(columns={"y": "train_acc"}).assign(
        test_acc=lambda frame: frame["train_acc"]))
    combined_legend(ax, twin)
    png = tmp_path / "wide.png"
    save_figure(fig, png)
    pixels = imread(png)[..., :3]
    assert (pixels[:, -10:] == 1.0).all(), "something is drawn in the PNG's right margin"

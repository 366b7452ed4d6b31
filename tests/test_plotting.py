"""The figure style's rule for seed variation: line and band are one statistic, bands on log axes
are geometric and positive, and few seeds are drawn individually."""

import numpy as np
import pandas as pd

from grokflow.plotting import log_seed_band, new_figure, seed_band


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

"""The SLT studies' answers: calibration criteria, the rescaling summary over common points, and
the polished reference point."""

import numpy as np
import pandas as pd
import pytest
import torch

from grokflow.data import all_pairs
from grokflow.slt.reference import Reference, full_loss, reference_point
from grokflow.slt.studies import calibration_combos
from grokflow.slt.summary import calibration_criteria, nbeta_slope, rescaling_summary
from test_slt_rescaling import CFG, trained_like

EPSILONS = [1e-6, 1e-5, 1e-4]
NBETAS = [10.0, 100.0, 1000.0]
GAMMA = 100.0


def calibration(llc) -> pd.DataFrame:
    """A calibration table whose estimate is llc(ε, nβ, γ), no chain diverged."""
    rows = [{"method": "sgld", "epsilon": e, "nbeta": b, "gamma": GAMMA * g, "llc_mean": llc(e, b, GAMMA * g),
             "n_diverged": 0, "acceptance": 0.9} for e, b, g in calibration_combos(EPSILONS, NBETAS, 100.0)]
    return pd.DataFrame(rows)


def test_loss_bound_chains_meet_the_criteria_and_localisation_bound_ones_do_not():
    loss_bound = calibration_criteria(calibration(lambda e, b, g: 5.0 * b**0.1), nbeta=100.0)
    assert loss_bound["nbeta_slope"].to_numpy() == pytest.approx([0.1] * 3)
    assert loss_bound["gamma_spread"].to_numpy() == pytest.approx([1.0] * 3)
    assert loss_bound["meets_criteria"].iloc[1:].all()
    assert np.isnan(loss_bound["epsilon_change"].iloc[0])  # no smaller ε to compare with
    # λ̂ = nβ h d/(2γ): proportional to nβ and to 1/γ
    bound = calibration_criteria(calibration(lambda e, b, g: b * 50.0 / g), nbeta=100.0)
    assert bound["nbeta_slope"].to_numpy() == pytest.approx([1.0] * 3)
    assert bound["gamma_spread"].to_numpy() == pytest.approx([100.0] * 3)
    assert not bound["meets_criteria"].any()
    # no plateau in ε: the estimate doubles per step size
    drifting = calibration_criteria(calibration(lambda e, b, g: 1e5 * e * b**0.1), nbeta=100.0)
    assert drifting["epsilon_change"].iloc[1:].to_numpy() == pytest.approx([0.9] * 2)
    assert not drifting["meets_criteria"].any()
    assert loss_bound["recommended"].tolist() == [False, False, True]  # the largest ε on the plateau
    assert drifting["recommended"].tolist() == [False, False, True]  # no plateau: the largest accurate ε


def test_negative_or_diverged_settings_never_meet_the_criteria():
    table = calibration(lambda e, b, g: 5.0 * b**0.1)
    table.loc[(table["epsilon"] == 1e-4) & (table["nbeta"] == 1000.0), "n_diverged"] = 1
    table.loc[table["epsilon"] == 1e-5, "llc_mean"] *= -1
    criteria = calibration_criteria(table, nbeta=100.0).set_index("epsilon")
    assert criteria.loc[1e-4, "diverged"] and criteria.loc[1e-5, "negative"]
    assert not criteria.loc[[1e-5, 1e-4], "meets_criteria"].any()
    assert np.isnan(nbeta_slope(table[(table["epsilon"] == 1e-5) & (table["gamma"] == GAMMA)]))
    table["acceptance"] = 0.5  # no plateau and no accurate step: nothing recommended
    assert not calibration_criteria(table, nbeta=100.0)["recommended"].any()


def grid_table(llc) -> pd.DataFrame:
    return pd.DataFrame({"alpha": [0.5, 0.5, 2.0, 2.0], "beta": [0.5, 2.0, 0.5, 2.0], "llc_mean": llc,
                         "n_diverged": [0 if np.isfinite(v) else 2 for v in llc], "max_logit_change": 1e-7})


def test_the_rescaling_summary_compares_every_sampler_over_the_same_points():
    tables = {("x+y", "fixed", "sgld"): grid_table([1.0, 2.0, 3.0, 100.0]),
              ("x+y", "fixed", "rsgld"): grid_table([1.0, 1.0, 1.0, np.nan]),
              ("x+y", "scaled", "sgld"): grid_table([1.0, 1.0, -1.0, 1.0]),
              ("x+y", "scaled", "rsgld"): grid_table([2.0, 2.0, 2.0, 2.0])}
    summary = rescaling_summary(tables).set_index(["variant", "method"])
    sgld, rsgld = summary.loc[("fixed", "sgld")], summary.loc[("fixed", "rsgld")]
    assert sgld["points_common"] == rsgld["points_common"] == 3
    assert sgld["cv"] == pytest.approx(np.std([1.0, 2.0, 3.0]) / 2.0)  # the diverged point left out for both
    assert sgld["cv_own"] > sgld["cv"] and rsgld["points_diverged"] == 1 and rsgld["cv"] == 0.0
    scaled = summary.loc[("scaled", "sgld")]
    assert scaled["points_common"] == 4 and scaled["points_negative"] == 1
    assert scaled["cv"] == pytest.approx(np.std([1.0, 1.0, -1.0, 1.0]) / 0.5)  # the negative point is kept


def test_the_polished_reference_lowers_the_loss_and_the_checkpoint_reference_keeps_the_weights():
    weights = {name: w.detach() for name, w in trained_like().state_dict().items()}
    data = all_pairs("x+y", CFG.p)
    kept, columns = reference_point(CFG, weights, data, Reference("checkpoint"))
    assert kept is weights and columns["reference"] == "checkpoint" and columns["polish_steps"] == 0
    polished, columns = reference_point(CFG, weights, data, Reference("polished", steps=20, lr=1e-2))
    assert columns["checkpoint_loss"] == pytest.approx(full_loss(CFG, weights, data))
    assert full_loss(CFG, polished, data) < 0.95 * columns["checkpoint_loss"]
    assert all(not torch.equal(polished[name], weights[name]) for name in weights if "W_" in name)
    with pytest.raises(ValueError, match="unknown reference"):
        Reference("minimum")

"""The SLT studies' answers from their tables (pandas only): the rescaling study's spread per
sampler and variant, and which calibration settings meet the criteria of chains that feel the
loss."""

import numpy as np
import pandas as pd

# Calibration criteria (at the study's nβ and each sampler's γ): see `calibration_criteria`.
MAX_NBETA_SLOPE = 0.5
MAX_GAMMA_SPREAD = 1.5
MAX_EPSILON_CHANGE = 0.25
MIN_ACCEPTANCE = 0.9  # the fallback recommendation: a step the dynamics integrate accurately
GRID_KEYS = ["alpha", "beta"]


def coefficient_of_variation(values: pd.Series) -> float:
    """std/|mean| (population std) of the finite values; NaN for none."""
    finite = values.dropna()
    return finite.std(ddof=0) / abs(finite.mean()) if len(finite) else float("nan")


def rescaling_summary(tables: dict[tuple[str, str, str], pd.DataFrame]) -> pd.DataFrame:
    """One row per (op, variant, method) from the grid tables {(op, variant, method): table}.

    The comparison is over the same points: cv, llc_grid_mean/std/min/max are over
    points_common, the grid points where every sampler of the op and variant has a finite
    estimate; cv_own is over the sampler's own finite points. points_diverged counts the points
    whose every chain diverged, n_diverged the chains, points_negative the negative estimates
    (kept in every statistic: a negative LLC is a finding, not noise to drop)."""
    rows = []
    for (op, variant), group in by_op_and_variant(tables):
        finite = [t.set_index(GRID_KEYS)["llc_mean"].notna() for t in group.values()]
        common = pd.concat(finite, axis=1).all(axis=1)
        for method, table in group.items():
            llc = table.set_index(GRID_KEYS)["llc_mean"][common]
            rows.append({"op": op, "variant": variant, "method": method, "points": len(table),
                         "points_common": int(common.sum()), "llc_grid_mean": llc.mean(),
                         "llc_grid_std": llc.std(ddof=0), "llc_min": llc.min(), "llc_max": llc.max(),
                         "cv": coefficient_of_variation(llc),
                         "points_diverged": int(table["llc_mean"].isna().sum()),
                         "n_diverged": int(table["n_diverged"].sum()),
                         "points_negative": int((table["llc_mean"] < 0).sum()),
                         "cv_own": coefficient_of_variation(table["llc_mean"]),
                         "max_logit_change": table["max_logit_change"].max()})
    return pd.DataFrame(rows)


def by_op_and_variant(tables: dict[tuple[str, str, str], pd.DataFrame]):
    """(op, variant) → {method: table}, in the order of first appearance."""
    groups: dict[tuple[str, str], dict[str, pd.DataFrame]] = {}
    for (op, variant, method), table in tables.items():
        groups.setdefault((op, variant), {})[method] = table
    return groups.items()


def nbeta_slope(rows: pd.DataFrame) -> float:
    """Least-squares slope of log LLC against log nβ: 1 when the localisation, not the loss,
    confines the chains (λ̂ ∝ nβ); well below 1 when the loss does. NaN unless every estimate is
    positive and there are two nβ values."""
    llc = rows["llc_mean"].to_numpy()
    if len(rows) < 2 or not (llc > 0).all():
        return float("nan")
    return float(np.polyfit(np.log(rows["nbeta"].to_numpy()), np.log(llc), 1)[0])


def calibration_criteria(table: pd.DataFrame, nbeta: float) -> pd.DataFrame:
    """One row per (method, ε) of a calibration table, at the study's nβ and the method's γ:

    - nbeta_slope: `nbeta_slope` over the nβ values at γ;
    - gamma_spread: max/min of the estimates at γ/10, γ and 10γ (1 = insensitive to γ);
    - epsilon_change: |λ̂(ε) − λ̂(ε′)| / |λ̂(ε)|, ε′ the next smaller step size (small on a plateau);
    - diverged: some chain diverged at any of this ε's settings; negative: λ̂ < 0 at nβ, γ;
    - meets_criteria: not diverged, not negative, nbeta_slope < MAX_NBETA_SLOPE,
      gamma_spread ≤ MAX_GAMMA_SPREAD and epsilon_change ≤ MAX_EPSILON_CHANGE;
    - recommended: the method's largest ε that meets the criteria; if none does, its largest ε with
      no chain diverged, a positive estimate and MALA acceptance ≥ MIN_ACCEPTANCE (accurate steps,
      though not a plateau: the table says which); if none, nothing.
    """
    rows = []
    for method, by_method in table.groupby("method", sort=False):
        gamma = by_method["gamma"].median()
        at_default = by_method[(by_method["nbeta"] == nbeta) & (by_method["gamma"] == gamma)].sort_values("epsilon")
        previous = np.nan
        for _, row in at_default.iterrows():
            same_epsilon = by_method[by_method["epsilon"] == row["epsilon"]]
            gammas = same_epsilon[same_epsilon["nbeta"] == nbeta]["llc_mean"]
            rows.append({"method": method, "epsilon": row["epsilon"], "gamma": gamma, "nbeta": nbeta,
                         "llc_mean": row["llc_mean"], "diverged": bool((same_epsilon["n_diverged"] > 0).any()),
                         "negative": bool(row["llc_mean"] < 0),
                         "nbeta_slope": nbeta_slope(same_epsilon[same_epsilon["gamma"] == gamma]),
                         "gamma_spread": gammas.max() / gammas.min() if (gammas > 0).all() else np.nan,
                         "epsilon_change": abs(row["llc_mean"] - previous) / abs(row["llc_mean"]),
                         "acceptance": row["acceptance"]})
            previous = row["llc_mean"]
    criteria = pd.DataFrame(rows)
    criteria["meets_criteria"] = (~criteria["diverged"] & ~criteria["negative"]
                                  & (criteria["nbeta_slope"] < MAX_NBETA_SLOPE)
                                  & (criteria["gamma_spread"] <= MAX_GAMMA_SPREAD)
                                  & (criteria["epsilon_change"] <= MAX_EPSILON_CHANGE))
    criteria["recommended"] = False
    for _, rows in criteria.groupby("method", sort=False):
        accurate = ~rows["diverged"] & (rows["llc_mean"] > 0) & (rows["acceptance"] >= MIN_ACCEPTANCE)
        candidates = rows[rows["meets_criteria"]] if rows["meets_criteria"].any() else rows[accurate]
        if len(candidates):
            criteria.loc[candidates["epsilon"].idxmax(), "recommended"] = True
    return criteria

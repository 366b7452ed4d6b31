"""The rescaling study's answer from its tables (pandas only)."""

import pandas as pd


def rescaling_spread(table: pd.DataFrame) -> dict:
    """How much one method's LLC moves over the rescaling grid (the study's answer).

    cv = std/mean of llc_mean over the grid points with at least one finite chain (population
    std); points_diverged: points whose every chain diverged; n_diverged: diverged chains in all.
    """
    finite = table["llc_mean"].dropna()
    mean = finite.mean()
    return {"points": len(table), "points_diverged": int(table["llc_mean"].isna().sum()),
            "n_diverged": int(table["n_diverged"].sum()), "llc_grid_mean": mean, "llc_grid_std": finite.std(ddof=0),
            "llc_min": finite.min(), "llc_max": finite.max(),
            "cv": finite.std(ddof=0) / abs(mean) if len(finite) else float("nan"),
            "max_logit_change": table["max_logit_change"].max()}

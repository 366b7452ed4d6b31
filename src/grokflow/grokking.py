"""When did each run memorise and when did it grok?"""

import pandas as pd

MEMORISED_ACC = 0.99
GROKKED_ACC = 0.95
SPIKE_ACC = 0.9


def first_step(rows: pd.DataFrame, column: str, threshold: float) -> float:
    """The first checkpoint step where `column` ≥ threshold (NaN if never)."""
    reached = rows.loc[rows[column] >= threshold, "step"]
    return float(reached.min()) if len(reached) else float("nan")


def grokking_summary(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per seed: memorised_step (train acc ≥ 0.99), grokked_step (test acc ≥ 0.95), their ratio
    (grokking shows as a ratio well above 1) and the final train and test accuracy."""
    rows = []
    for seed, run in metrics.sort_values("step").groupby("seed"):
        memorised = first_step(run, "train_acc", MEMORISED_ACC)
        grokked = first_step(run, "test_acc", GROKKED_ACC)
        rows.append({
            "seed": seed,
            "memorised_step": memorised,
            "grokked_step": grokked,
            "delay_ratio": grokked / memorised if memorised > 0 else float("nan"),
            "final_train_acc": run["train_acc"].iloc[-1],
            "final_test_acc": run["test_acc"].iloc[-1],
        })
    return pd.DataFrame(rows)


def spikes_after_grokking(run: pd.DataFrame, grokked_step: float) -> list[dict]:
    """Every stretch of consecutive checkpoints after `grokked_step` (one run, sorted by step) where
    test accuracy has fallen back below SPIKE_ACC: its first and last step, its lowest test accuracy
    and where, and whether test accuracy came back (≥ SPIKE_ACC) before the last checkpoint."""
    after = run[run["step"] > grokked_step].sort_values("step")
    below = (after["test_acc"] < SPIKE_ACC).to_numpy()
    stretches, start = [], None
    for position, is_below in enumerate([*below, False]):
        if is_below and start is None:
            start = position
        elif not is_below and start is not None:
            rows = after.iloc[start:position]
            lowest = rows["test_acc"].idxmin()
            stretches.append({"start": float(rows["step"].iloc[0]), "end": float(rows["step"].iloc[-1]),
                              "lowest_acc": float(rows.loc[lowest, "test_acc"]),
                              "lowest_step": float(rows.loc[lowest, "step"]), "recovered": position < len(below)})
            start = None
    return stretches

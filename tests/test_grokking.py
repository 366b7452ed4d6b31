import math

import pandas as pd

from grokflow.grokking import grokking_summary


def test_summary_finds_first_crossings_per_seed():
    metrics = pd.DataFrame({
        "seed": [0] * 5 + [1] * 5,
        "step": [0, 10, 100, 1000, 2000] * 2,
        "train_acc": [0.0, 0.5, 0.995, 1.0, 1.0, 0.0, 0.99, 1.0, 1.0, 1.0],
        "test_acc": [0.0, 0.0, 0.1, 0.96, 0.5, 0.0, 0.0, 0.0, 0.2, 0.4],
    })
    summary = grokking_summary(metrics).set_index("seed")
    assert summary.loc[0, "memorised_step"] == 100 and summary.loc[0, "grokked_step"] == 1000
    assert summary.loc[0, "delay_ratio"] == 10 and summary.loc[0, "final_test_acc"] == 0.5
    assert summary.loc[1, "memorised_step"] == 10 and math.isnan(summary.loc[1, "grokked_step"])

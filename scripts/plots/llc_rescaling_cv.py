#!/usr/bin/env python
"""The rescaling study's answer: each sampler's coefficient of variation of the LLC over the
α × β grid, grouped by op (lower = closer to the invariance the LLC promises). A number above a
bar counts grid points whose every chain diverged."""

import argparse

import numpy as np
import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import PALETTE, new_figure, save_figure
from grokflow.slt.methods import DISPLAY_NAMES


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--summary", required=True, help="results/llc_rescaling_summary.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    summary = pd.read_csv(args.summary)
    ops, methods = list(dict.fromkeys(summary["op"])), list(dict.fromkeys(summary["method"]))
    width = 0.8 / len(methods)
    fig, ax = new_figure()
    for k, (color, method) in enumerate(zip(PALETTE, methods)):
        rows = summary[summary["method"] == method].set_index("op").reindex(ops)
        x = np.arange(len(ops)) + (k - (len(methods) - 1) / 2) * width
        ax.bar(x, rows["cv"], width, color=color, label=DISPLAY_NAMES.get(method, method))
        for xi, cv, lost in zip(x, rows["cv"], rows["points_diverged"]):
            if lost > 0:
                ax.annotate(f"{lost:.0f}", (xi, 0 if np.isnan(cv) else cv), ha="center", va="bottom", fontsize=6)
    ax.set_xticks(np.arange(len(ops)), ops)
    ax.set_ylabel("CV of the LLC over the rescaling grid")
    ax.set_xlabel("task (mod $p$)")
    ax.legend(loc="upper left", ncol=2)
    save_figure(fig, args.output)


if __name__ == "__main__":
    run_main(main)

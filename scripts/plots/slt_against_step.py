#!/usr/bin/env python
"""An SLT estimate against the training step (mean ± std over seeds of the per-checkpoint means)
with train and test accuracy on a twin axis: the SGLD LLC (--llc) or λ_eff by thermodynamic
integration (--flatness). Checkpoints whose every chain diverged are left out."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.plotting import finish_against_step, new_figure, positive_steps, seed_band

# table flag → (column, line label, y label)
KINDS = {
    "llc": ("llc_mean", r"SGLD $\hat\lambda$", r"local learning coefficient $\hat\lambda$"),
    "flatness": ("lambda_mean", r"$\lambda_{\mathrm{eff}}$", r"$\lambda_{\mathrm{eff}}$ (thermodynamic integration)"),
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    tables = parser.add_mutually_exclusive_group(required=True)
    tables.add_argument("--llc", help="results/{op}/llc.csv")
    tables.add_argument("--flatness", help="results/{op}/flatness_slt.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    kind = "llc" if args.llc else "flatness"
    column, label, ylabel = KINDS[kind]
    table = positive_steps(pd.read_csv(args.llc or args.flatness)).dropna(subset=[column])
    fig, ax = new_figure()
    seed_band(ax, table, column, label=label)
    finish_against_step(fig, ax, ylabel, pd.read_csv(args.metrics), args.output)


if __name__ == "__main__":
    run_main(main)

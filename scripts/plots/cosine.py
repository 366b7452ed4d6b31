#!/usr/bin/env python
"""Mean cosine similarity of the embeddings of neighbouring elements of the op's group (x and x+1
mod p for x+y and x−y; x and g·x for x×y and x÷y) against the training step (mean ± std over
seeds), with train and test accuracy on a twin axis. A cosine lies in [−1, 1]: the y axis shows
that span whenever the curve barely moves (grokflow.plotting.meaningful_ylim)."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.mechanism import table_group
from grokflow.plotting import finish_against_step, new_figure, positive_steps, seed_band


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cosine", required=True, help="results/{op}/cosine.csv")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--output", required=True, help="figure PNG (a PDF is written beside it)")
    args = parser.parse_args(argv)
    cosine, metrics = pd.read_csv(args.cosine), pd.read_csv(args.metrics)
    fig, ax = new_figure()
    label = {"additive": "$\\cos(E_x, E_{x+1})$", "multiplicative": "$\\cos(E_x, E_{gx})$"}
    seed_band(ax, positive_steps(cosine), "cosine", label=label[table_group(cosine, args.cosine)])
    finish_against_step(fig, ax, "mean neighbour cosine similarity", metrics, args.output, span=(-1.0, 1.0))


if __name__ == "__main__":
    run_main(main)

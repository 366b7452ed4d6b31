#!/usr/bin/env python
"""Mean cosine similarity of the embeddings of neighbouring elements of the op's group (x and x+1
mod p for x+y and x−y; x and g·x for x×y and x÷y) against the training step (mean ± std over
seeds), with train and test accuracy on a twin axis. A cosine lies in [−1, 1]: the y axis shows
that span whenever the curve barely moves (grokflow.plotting.meaningful_ylim)."""

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import table_group
from grokflow.plotting import against_step_parser, finish_against_step, new_figure, positive_steps, seed_band


def main(argv=None) -> None:
    parser = against_step_parser(__doc__, "cosine")
    args = parser.parse_args(argv)
    cosine, metrics = pd.read_csv(args.table), pd.read_csv(args.metrics)
    fig, ax = new_figure()
    label = {"additive": "$\\cos(E_x, E_{x+1})$", "multiplicative": "$\\cos(E_x, E_{gx})$"}
    seed_band(ax, positive_steps(cosine), "cosine", label=label[table_group(cosine, args.table)])
    finish_against_step(fig, ax, "mean neighbour cosine similarity", metrics, args.output, span=(-1.0, 1.0))


if __name__ == "__main__":
    run_main(main)

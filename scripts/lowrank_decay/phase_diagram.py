#!/usr/bin/env python
"""Phase diagram of the low-rank decay study: train fraction × decay strength, L2 against low-rank decay, on x+y.

The runs of one train fraction, every (method, strength, seed), train as one stack of models
(vmapped; a CUDA graph with --device cuda), one fraction after the other, in one process. L2
runs use weight decay --l2-factor × strength on every tensor; the low-rank runs use no weight
decay on the --patterns tensors, --other-weight-decay on the rest, and the low-rank decay at
rate = strength. A run stops once its validation accuracy has been above 0.99 at two
measurements in a row.

--summary: one row per run: method, train_fraction, strength, seed, val_acc (at the stop),
stable ranks of every W_Q and W_K (at the stop), steps_to_target (first measured step above
0.99; empty if never), stop_step. --curves: every measurement of every run.
"""

import argparse

import pandas as pd
from tqdm import tqdm

from grokflow.arguments import unit_fraction
from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.lowrank_decay.cli import add_study_arguments, study_settings
from grokflow.lowrank_decay.study import grid, train_grid
from grokflow.settings import PhaseDiagramSettings

DEFAULTS = PhaseDiagramSettings()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_study_arguments(parser, DEFAULTS)
    parser.add_argument("--fractions", type=unit_fraction, nargs="+", default=DEFAULTS.fractions)
    parser.add_argument("--strengths", type=float, nargs="+", default=DEFAULTS.strengths)
    parser.add_argument("--seeds", type=int, nargs="+", default=DEFAULTS.seeds)
    parser.add_argument("--summary", required=True, help="CSV of one row per run")
    parser.add_argument("--curves", required=True, help="CSV of every measurement")
    args = parser.parse_args(argv)
    settings = study_settings(args)
    cells = grid(args.fractions, args.strengths, args.seeds)
    total = settings.steps * len(args.fractions)
    with tqdm(total=total, desc=f"{len(cells)} runs, one fraction at a time", unit="step", mininterval=5) as progress:
        results = train_grid(cells, settings, args.device, progress)
    write_csv(pd.DataFrame([result.summary(settings.target) for result in results]).astype(
        {"steps_to_target": "Int64"}), args.summary)
    write_csv(pd.DataFrame([vars(result.cell) | row for result in results for row in result.rows]), args.curves)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Calibration sweep: the LLC of one checkpoint for every sampler over a log-spaced range of step
sizes ε and a list of nβ values, all through the batched engine.

Output columns: method, epsilon, nbeta, llc_mean, llc_std, init_loss, n_diverged, llc_late_mean
(the LLC of the last half of the draws alone; near llc_mean when the chains are stationary).
"""

import argparse

from grokflow.arguments import positive_int
from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.slt.cli import add_chain_arguments, chains_setup, setup_torch
from grokflow.slt.methods import METHODS, positive_float
from grokflow.slt.rescaling import log_grid
from grokflow.slt.studies import calibration_table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--checkpoint", required=True, help="the checkpoint to calibrate on")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="samplers to sweep")
    parser.add_argument("--epsilon-range", nargs=2, type=positive_float, required=True, metavar=("LOW", "HIGH"))
    parser.add_argument("--epsilon-count", type=positive_int, default=8, help="log-spaced step sizes")
    parser.add_argument("--nbetas", nargs="+", type=positive_float, required=True, help="nβ values")
    add_chain_arguments(parser, epsilon="none", nbeta=False)
    args = parser.parse_args(argv)
    device = setup_torch(args)
    setup = chains_setup(args)
    epsilons = log_grid(*args.epsilon_range, args.epsilon_count)
    write_csv(calibration_table(args.checkpoint, args.methods, epsilons, args.nbetas, setup, device), args.output)


if __name__ == "__main__":
    run_main(main)

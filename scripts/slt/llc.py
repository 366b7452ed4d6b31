#!/usr/bin/env python
"""SGLD estimate of the local learning coefficient at every given checkpoint (any seeds, steps).

Output columns: seed, step, llc_mean, llc_std (over chains), init_loss (L_n at the checkpoint),
n_diverged, chains. Every checkpoint runs with its own run's training set, all in one batch.
"""

import argparse

from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.slt.cli import add_chain_arguments, chain_settings, sampler_settings, setup_torch
from grokflow.slt.studies import Chains, llc_table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    add_chain_arguments(parser)
    args = parser.parse_args(argv)
    device = setup_torch(args)
    setup = Chains(sampler_settings(args), chain_settings(args), args.burnin, args.chunk)
    write_csv(llc_table(args.checkpoints, args.epsilon, args.nbeta, setup, device), args.output)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Effective learning coefficient λ_eff of every given checkpoint by thermodynamic integration.

SGLD chains at the inverse temperatures nβ·t for each t of --temperatures give
U(b) = E_b[n L_n]; with n L_n(w₀) Δb taken out, λ_eff = ΔF / Δlog b (see grokflow.slt.llc).
Output columns: seed, step, lambda_mean, lambda_std (over chains), init_loss, n_diverged,
nbeta_low, nbeta_high, chains.
"""

import argparse

from grokflow.errors import GrokflowError, run_main
from grokflow.io import write_csv
from grokflow.slt.cli import add_chain_arguments, chain_settings, sampler_settings, setup_torch
from grokflow.slt.methods import positive_float
from grokflow.slt.studies import Chains, flatness_table


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    parser.add_argument("--temperatures", nargs="+", type=positive_float, default=[0.5, 0.71, 1.0, 1.41, 2.0],
                        help="inverse temperatures as multiples of nβ (at least two distinct)")
    add_chain_arguments(parser)
    args = parser.parse_args(argv)
    if len(set(args.temperatures)) < 2:
        raise GrokflowError("--temperatures needs at least two distinct values")
    device = setup_torch(args)
    setup = Chains(sampler_settings(args), chain_settings(args), args.burnin, args.chunk)
    table = flatness_table(args.checkpoints, args.epsilon, args.nbeta, sorted(set(args.temperatures)), setup, device)
    write_csv(table, args.output)


if __name__ == "__main__":
    run_main(main)

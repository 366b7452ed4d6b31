#!/usr/bin/env python
"""Calibration sweep: the LLC and chain diagnostics of one checkpoint for every sampler over a
log-spaced range of step sizes ε, a list of nβ values, and γ/10, γ and 10γ at the study's nβ, all
through the batched engine; and which ε meet the criteria of chains that feel the loss.

--output columns: method, epsilon, nbeta, gamma, llc_mean, llc_std, init_loss, n_diverged,
negative, llc_late_mean (the LLC of the last half of the draws alone; near llc_mean when the chains
are stationary), acceptance (mean MALA acceptance), distance (mean final ‖w_t − w₀‖), grad_norm
(‖∇L_n(w₀)‖), reference, polish_steps, checkpoint_loss.
--criteria columns (one row per method and ε, see grokflow.slt.summary.calibration_criteria):
method, epsilon, gamma, nbeta, llc_mean, diverged, negative, nbeta_slope, gamma_spread,
epsilon_change, acceptance, meets_criteria.
"""

import argparse

from grokflow.arguments import positive_int
from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.settings import CalibrationSettings
from grokflow.slt.cli import add_chain_arguments, chains_setup, per_method, setup_torch
from grokflow.slt.methods import positive_float
from grokflow.slt.rescaling import log_grid
from grokflow.slt.studies import calibration_table
from grokflow.slt.summary import calibration_criteria

DEFAULTS = CalibrationSettings()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--checkpoint", required=True, help="the checkpoint to calibrate on")
    parser.add_argument("--output", "-o", required=True, help="CSV of every setting to write")
    parser.add_argument("--criteria", required=True, help="CSV of the criteria per method and ε to write")
    parser.add_argument("--epsilon-range", nargs=2, type=positive_float, default=DEFAULTS.epsilon_range,
                        metavar=("LOW", "HIGH"))
    parser.add_argument("--epsilon-count", type=positive_int, default=DEFAULTS.epsilon_count,
                        help="log-spaced step sizes")
    parser.add_argument("--nbetas", nargs="+", type=positive_float, default=DEFAULTS.nbetas,
                        help="nβ values of the sweep (--nbeta joins them)")
    add_chain_arguments(parser, DEFAULTS, mode="sweep")
    args = parser.parse_args(argv)
    device = setup_torch(args)
    setup = chains_setup(args)
    epsilons = log_grid(*args.epsilon_range, args.epsilon_count)
    table = calibration_table(args.checkpoint, per_method(args, "gamma"), epsilons, args.nbetas, args.nbeta, setup, device)
    write_csv(table, args.output)
    write_csv(calibration_criteria(table, args.nbeta), args.criteria)


if __name__ == "__main__":
    run_main(main)

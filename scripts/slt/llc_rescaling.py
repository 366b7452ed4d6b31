#!/usr/bin/env python
"""LLC of checkpoints under the function-preserving (α, β) rescalings, for every sampler.

α multiplies the residual-stream writers, β multiplies W_in and b_in and divides W_out; the grid is
log-spaced in both. Two variants of the localisation (grokflow.slt.rescaling): "fixed" (γ at every
point) and "scaled" (γ/s² per rescaled tensor, under which the exact LLC is the same everywhere).
For each checkpoint, writes OUTDIR/{variant}/{method}.csv (alpha, beta, max_logit_change,
max_logit_change_fixed_ln_eps, llc_mean, llc_std, init_loss, n_diverged, negative, chains,
epsilon, nbeta, gamma, variant, reference, polish_steps, checkpoint_loss) and the diagnosed
per-chain traces of the unscaled network (TRACES: method, chain, step, loss, baseline,
init_loss, nbeta, draw, distance, acceptance, grad_norm and the reference columns). The
checkpoints run one after the other in this process, so that with --compile each sampler's step
is compiled once for all of them.
"""

import argparse
from pathlib import Path

from grokflow.arguments import positive_int
from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.settings import RescalingSettings
from grokflow.slt.cli import add_chain_arguments, chains_setup, method_steps, setup_torch
from grokflow.slt.methods import positive_float
from grokflow.slt.rescaling import log_grid
from grokflow.slt.studies import rescaling_tables

DEFAULTS = RescalingSettings()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--checkpoints", nargs="+", required=True, help="the checkpoints to rescale (ops' final ones)")
    parser.add_argument("--outdirs", nargs="+", required=True, help="folder for {variant}/{method}.csv, one per checkpoint")
    parser.add_argument("--traces", nargs="+", required=True,
                        help="CSV of the unscaled network's loss traces, one per checkpoint")
    parser.add_argument("--alpha-range", nargs=2, type=positive_float, default=DEFAULTS.alpha_range,
                        metavar=("LOW", "HIGH"))
    parser.add_argument("--beta-range", nargs=2, type=positive_float, default=DEFAULTS.beta_range,
                        metavar=("LOW", "HIGH"))
    parser.add_argument("--grid", type=positive_int, default=DEFAULTS.grid,
                        help="values of α and of β (grid × grid points)")
    add_chain_arguments(parser, DEFAULTS, mode="per_method")
    args = parser.parse_args(argv)
    if not len(args.checkpoints) == len(args.outdirs) == len(args.traces):
        parser.error("give as many --outdirs and --traces as --checkpoints")
    device = setup_torch(args)
    setup = chains_setup(args)
    steps = method_steps(args)
    alphas, betas = log_grid(*args.alpha_range, args.grid), log_grid(*args.beta_range, args.grid)
    for checkpoint, outdir, traces_path in zip(args.checkpoints, args.outdirs, args.traces):
        tables, traces = rescaling_tables(checkpoint, steps, args.nbeta, alphas, betas, setup, device)
        for (variant, method), table in tables.items():
            write_csv(table, Path(outdir) / variant / f"{method}.csv")
        write_csv(traces, traces_path)


if __name__ == "__main__":
    run_main(main)

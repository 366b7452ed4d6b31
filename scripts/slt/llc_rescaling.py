#!/usr/bin/env python
"""LLC of one checkpoint under the function-preserving (α, β) rescalings, for every sampler.

α multiplies the residual-stream writers, β multiplies W_in and b_in and divides W_out; the grid is
log-spaced in both. Writes OUTDIR/{method}.csv (alpha, beta, llc_mean, llc_std, init_loss,
max_logit_change, max_logit_change_fixed_ln_eps, n_diverged, chains, epsilon, nbeta) and the
per-chain loss traces of the unscaled network (--traces: method, chain, step, loss, baseline,
init_loss, nbeta, draw).
"""

import argparse
from pathlib import Path

from grokflow.arguments import positive_int
from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.slt.cli import add_chain_arguments, chains_setup, epsilon_by_method, setup_torch
from grokflow.slt.methods import positive_float
from grokflow.slt.rescaling import log_grid
from grokflow.slt.studies import rescaling_tables


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--checkpoint", required=True, help="the checkpoint to rescale (an op's final one)")
    parser.add_argument("--outdir", required=True, help="folder for {method}.csv")
    parser.add_argument("--traces", required=True, help="CSV of the unscaled network's loss traces")
    parser.add_argument("--alpha-range", nargs=2, type=positive_float, default=(0.1, 10.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--beta-range", nargs=2, type=positive_float, default=(0.1, 10.0), metavar=("LOW", "HIGH"))
    parser.add_argument("--grid", type=positive_int, default=30, help="values of α and of β (grid × grid points)")
    add_chain_arguments(parser, epsilon="per_method")
    args = parser.parse_args(argv)
    device = setup_torch(args)
    setup = chains_setup(args)
    tables, traces = rescaling_tables(args.checkpoint, epsilon_by_method(args), args.nbeta,
                                      log_grid(*args.alpha_range, args.grid), log_grid(*args.beta_range, args.grid),
                                      setup, device)
    for method, table in tables.items():
        write_csv(table, Path(args.outdir) / f"{method}.csv")
    write_csv(traces, args.traces)


if __name__ == "__main__":
    run_main(main)

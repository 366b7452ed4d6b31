#!/usr/bin/env python
"""One row per (op, method) of the rescaling study: how far each sampler's LLC moves over the
α × β grid (coefficient of variation), with its range and diverged points.

Output columns: op, method, points, points_diverged, n_diverged, llc_grid_mean, llc_grid_std,
llc_min, llc_max, cv, max_logit_change.
"""

import argparse

import pandas as pd

from grokflow.errors import GrokflowError, run_main
from grokflow.io import write_csv
from grokflow.slt.methods import METHODS
from grokflow.slt.summary import rescaling_spread


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--ops", nargs="+", required=True, help="the ops, in the order of --tables")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--tables", nargs="+", required=True,
                        help="results/{op}/llc_rescaling/{method}.csv for every op (outer) and method (inner)")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    args = parser.parse_args(argv)
    pairs = [(op, method) for op in args.ops for method in args.methods]
    if len(pairs) != len(args.tables):
        raise GrokflowError(f"expected {len(pairs)} tables (ops × methods), got {len(args.tables)}")
    rows = [{"op": op, "method": method} | rescaling_spread(pd.read_csv(path))
            for (op, method), path in zip(pairs, args.tables)]
    write_csv(pd.DataFrame(rows), args.output)


if __name__ == "__main__":
    run_main(main)

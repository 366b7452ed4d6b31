#!/usr/bin/env python
"""One row per (op, variant, method) of the rescaling study: how far each sampler's LLC moves over
the α × β grid (coefficient of variation) over the points where every sampler stayed finite, with
its own diverged and negative points (see grokflow.slt.summary.rescaling_summary).

Output columns: op, variant, method, points, points_common, llc_grid_mean, llc_grid_std, llc_min,
llc_max, cv, points_diverged, n_diverged, points_negative, cv_own, max_logit_change.
"""

import argparse
import itertools

from grokflow.errors import GrokflowError, run_main
from grokflow.io import read_csv, write_csv
from grokflow.slt.methods import METHODS, VARIANTS
from grokflow.slt.summary import rescaling_summary

COLUMNS = ["alpha", "beta", "llc_mean", "n_diverged", "max_logit_change"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("--ops", nargs="+", required=True, help="the ops, in the order of --tables")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--tables", nargs="+", required=True,
                        help="results/{op}/llc_rescaling/{variant}/{method}.csv for every op (outer), variant "
                             f"({', '.join(VARIANTS)}) and method (inner)")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    args = parser.parse_args(argv)
    keys = list(itertools.product(args.ops, VARIANTS, args.methods))
    if len(keys) != len(args.tables):
        raise GrokflowError(f"expected {len(keys)} tables (ops × variants × methods), got {len(args.tables)}")
    tables = {key: read_csv(path, COLUMNS) for key, path in zip(keys, args.tables)}
    write_csv(rescaling_summary(tables), args.output)


if __name__ == "__main__":
    run_main(main)

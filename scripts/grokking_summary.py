#!/usr/bin/env python
"""Memorisation and grokking steps of every run: one table over ops and seeds.

Columns: op, seed, memorised_step (first train accuracy ≥ 0.99), grokked_step (first test
accuracy ≥ 0.95), delay_ratio = grokked / memorised, final_train_acc, final_test_acc.
"""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.grokking import grokking_summary


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--metrics", nargs="+", required=True, help="results/{op}/metric.csv files")
    parser.add_argument("--ops", nargs="+", required=True, help="the op of each metrics file, in order")
    parser.add_argument("--output", "-o", required=True)
    args = parser.parse_args(argv)
    if len(args.ops) != len(args.metrics):
        parser.error("give one --ops name per --metrics file")
    tables = [grokking_summary(pd.read_csv(path)).assign(op=op) for op, path in zip(args.ops, args.metrics)]
    summary = pd.concat(tables, ignore_index=True)
    write_csv(summary[["op", *summary.columns.drop("op")]], args.output)


if __name__ == "__main__":
    run_main(main)

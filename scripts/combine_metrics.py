#!/usr/bin/env python
"""Concatenate CSVs of the same columns into one, sorted: the per-seed metric.csv files of one op
into results/{op}/metric.csv, or a study's per-job tables into one."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import write_csv


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csvs", nargs="+", help="CSV files, e.g. results/{op}/seed{seed}/metric.csv")
    parser.add_argument("--sort-by", nargs="+", default=["seed", "step"], help="columns to sort by (default seed step)")
    parser.add_argument("--output", "-o", required=True)
    args = parser.parse_args(argv)
    frame = pd.concat([pd.read_csv(path) for path in args.csvs], ignore_index=True)
    write_csv(frame.sort_values(args.sort_by, kind="stable", ignore_index=True), args.output)


if __name__ == "__main__":
    run_main(main)

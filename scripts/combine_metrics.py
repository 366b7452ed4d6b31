#!/usr/bin/env python
"""Concatenate the per-seed metric.csv files of one op into results/{op}/metric.csv."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import write_csv


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("seed_csvs", nargs="+", help="results/{op}/seed{seed}/metric.csv files")
    parser.add_argument("--output", "-o", required=True)
    args = parser.parse_args(argv)
    frame = pd.concat([pd.read_csv(path) for path in args.seed_csvs], ignore_index=True)
    write_csv(frame.sort_values(["seed", "step"], ignore_index=True), args.output)


if __name__ == "__main__":
    run_main(main)

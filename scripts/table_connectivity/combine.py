#!/usr/bin/env python
"""Concatenate the per-model tables of the table-connectivity study into one CSV."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.io import write_csv


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("csvs", nargs="+", help="per-model CSVs with model and depth columns")
    parser.add_argument("--output", "-o", required=True)
    args = parser.parse_args(argv)
    frame = pd.concat([pd.read_csv(path) for path in args.csvs], ignore_index=True)
    write_csv(frame, args.output)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Mechanism summary of all ops as markdown: one table across ops (memorisation and grokking
steps per seed, key frequencies) with a link to each op's summary (relative to the output's
folder). The lists --metrics, --key-frequencies and --summaries are aligned with --ops."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.op_summary import all_ops_summary, require_files, write_markdown


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ops", nargs="+", required=True, help="the ops, e.g. x+y x-y")
    parser.add_argument("--metrics", nargs="+", required=True, help="results/{op}/metric.csv, one per op")
    parser.add_argument("--key-frequencies", nargs="+", required=True,
                        help="results/{op}/key_frequencies.csv, one per op")
    parser.add_argument("--summaries", nargs="+", required=True, help="results/{op}/summary.md, one per op")
    parser.add_argument("--output", required=True, help="results/summary.md")
    args = parser.parse_args(argv)
    if not len(args.ops) == len(args.metrics) == len(args.key_frequencies) == len(args.summaries):
        parser.error("give one --metrics, --key-frequencies and --summaries file per --ops name")
    require_files(args.summaries, "op summary")
    markdown = all_ops_summary(args.ops, [pd.read_csv(path) for path in args.metrics],
                               [pd.read_csv(path) for path in args.key_frequencies], args.summaries, args.output)
    write_markdown(markdown, args.output)


if __name__ == "__main__":
    run_main(main)

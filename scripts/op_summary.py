#!/usr/bin/env python
"""Mechanism summary of one op as markdown, generated from its CSVs: the group its Fourier metrics
read the numbers in, memorisation and grokking steps and the loss spikes after grokking per seed,
each seed's key frequencies, the headline series (at initialisation, before grokking, at grokking,
at the end, beside their random baseline, with the step, size and phase of the largest change) of
every metric table given, and links to the figures (relative to the output's folder). Tables are
given as NAME=CSV; a headline table not given is skipped."""

import argparse

import pandas as pd

from grokflow.errors import run_main
from grokflow.op_summary import TABLE_NAMES, op_summary, require_files, write_markdown
from grokflow.settings import ModulusSettings


def table_argument(text: str) -> tuple[str, str]:
    """NAME=CSV with NAME one of the headline tables."""
    name, sep, path = text.partition("=")
    if not sep or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=CSV, got {text!r}")
    if name not in TABLE_NAMES:
        raise argparse.ArgumentTypeError(f"unknown table {name!r}; known: {', '.join(TABLE_NAMES)}")
    return name, path


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--op", required=True, help="the op, e.g. x+y")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv")
    parser.add_argument("--key-frequencies", required=True, help="results/{op}/key_frequencies.csv")
    parser.add_argument("--tables", nargs="+", type=table_argument, default=[], metavar="NAME=CSV",
                        help=f"metric tables; NAME is one of {', '.join(TABLE_NAMES)}")
    parser.add_argument("--figures", nargs="+", default=[], metavar="PNG", help="figures to link")
    parser.add_argument("--p", type=int, default=ModulusSettings.p,
                        help="the modulus, to name the primitive root of a multiplicative group")
    parser.add_argument("--output", required=True, help="results/{op}/summary.md")
    args = parser.parse_args(argv)
    names = [name for name, _ in args.tables]
    if len(set(names)) < len(names):
        parser.error("each table NAME may be given once")
    require_files(args.figures, "figure")
    tables = {name: pd.read_csv(path) for name, path in args.tables}
    markdown = op_summary(args.op, pd.read_csv(args.metrics), pd.read_csv(args.key_frequencies), tables,
                          args.figures, args.output, args.p)
    write_markdown(markdown, args.output)


if __name__ == "__main__":
    run_main(main)

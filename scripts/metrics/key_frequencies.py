#!/usr/bin/env python
"""Key frequencies of the number embeddings W_E[:p] at the end of training: per-dimension DFT
power over x (frequencies 1 … ⌊p/2⌋), as fractions per seed, averaged over seeds; the fewest
frequencies, strongest first, whose fractions sum to ≥ the energy fraction.

Input: the final checkpoint of each seed of one op. Output columns: rank (1 = strongest),
frequency, power_fraction, cumulative_fraction; one row per key frequency.
"""

import argparse

from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.metrics.key_frequencies import ENERGY_FRACTION, key_frequencies


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="the final checkpoint of each seed")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    parser.add_argument("--energy-fraction", type=float, default=ENERGY_FRACTION,
                        help=f"share of the power the key frequencies must reach (default {ENERGY_FRACTION})")
    args = parser.parse_args(argv)
    write_csv(key_frequencies(args.checkpoints, args.energy_fraction), args.output)


if __name__ == "__main__":
    run_main(main)

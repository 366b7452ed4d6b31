#!/usr/bin/env python
"""Key frequencies of the number embeddings at the end of training, one set per seed: the
per-dimension DFT power of the final W_E over the op's group (x×y, x÷y: the multiplicative group
in discrete-log order, token 0 left out; x+y, x−y: Z_p), frequencies 1 … ⌊n/2⌋, as fractions;
the fewest frequencies, strongest first, whose fractions sum to ≥ the energy fraction.

Input: the final checkpoint of each seed of one op. Output columns: group (additive |
multiplicative), seed, rank (1 = strongest), frequency, power_fraction, cumulative_fraction; one
row per key frequency of each seed.
"""

from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.metric_runner import checkpoints_parser
from grokflow.metrics.groups import add_group_argument
from grokflow.metrics.key_frequencies import ENERGY_FRACTION, key_frequencies


def main(argv=None) -> None:
    parser = checkpoints_parser(__doc__, "the final checkpoint of each seed")
    parser.add_argument("--energy-fraction", type=float, default=ENERGY_FRACTION,
                        help=f"share of the power the key frequencies must reach (default {ENERGY_FRACTION})")
    add_group_argument(parser)
    args = parser.parse_args(argv)
    write_csv(key_frequencies(args.checkpoints, args.energy_fraction, args.fourier_group), args.output)


if __name__ == "__main__":
    run_main(main)

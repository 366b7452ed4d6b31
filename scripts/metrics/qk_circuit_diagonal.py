#!/usr/bin/env python
"""Share of layer 0's QK circuit's 2-D DFT power over the op's group (x×y, x÷y: discrete-log order,
token 0 left out) on the diagonals k2 = ±k1, excluding (0, 0), per head (head −1: summed over
heads), of every checkpoint, beside its random baseline (the share of the diagonal cells).

Output columns: seed, step, group (additive | multiplicative), layer (0), head, diagonal_fraction,
random_baseline.
"""

from grokflow.metrics.qk_circuit import diagonal_rows, tensor_names
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, diagonal_rows, tensor_names, group_aware=True)

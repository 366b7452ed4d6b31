#!/usr/bin/env python
"""Share of the QK circuit's 2-D DFT power on the diagonals k2 = ±k1, excluding (0, 0), per layer
and head (head −1: summed over heads), of every checkpoint.

Output columns: seed, step, layer, head, diagonal_fraction.
"""

from grokflow.metrics.qk_circuit import diagonal_rows, tensor_names
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, diagonal_rows, tensor_names)

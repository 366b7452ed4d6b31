#!/usr/bin/env python
"""Centred 2-D DFT power of the QK circuit A = E W_Q W_Kᵀ Eᵀ of the p number tokens, per layer and
head (head −1: summed over heads), of every checkpoint given (the rule passes the extra steps).

Output columns: seed, step, layer, head, k1, k2, power (k1, k2 from −⌊p/2⌋ to ⌈p/2⌉−1).
"""

from grokflow.metrics.qk_circuit import spectrum_rows, tensor_names
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, spectrum_rows, tensor_names)

#!/usr/bin/env python
"""Centred 2-D DFT power of layer 0's QK circuit A = E W_Q W_Kᵀ Eᵀ of the number tokens, read in the
op's group (x×y, x÷y: the multiplicative group in discrete-log order, token 0 left out, n = p−1;
x+y, x−y: Z_p, n = p), per head (head −1: summed over heads), of every checkpoint given (the rule
passes the extra steps). Later layers read a mixed residual stream, not E, and are left out.

Output columns: seed, step, group (additive | multiplicative), layer (0), head, k1, k2, power
(k1, k2 from −⌊n/2⌋ to ⌈n/2⌉−1).
"""

from grokflow.metrics.qk_circuit import spectrum_rows, tensor_names
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, spectrum_rows, tensor_names, group_aware=True)

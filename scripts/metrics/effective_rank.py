#!/usr/bin/env python
"""Effective rank (Roy–Vetterli) and spectral entropy of every 2-D linear map of every checkpoint.

Output columns: seed, step, layer (−1 for W_E, W_pos, W_U), matrix, spectral_entropy, erank.
"""

from grokflow.metrics.effective_rank import effective_rank_rows, tensor_names
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, effective_rank_rows, tensor_names)

#!/usr/bin/env python
"""Fourier power spectrum of the number embeddings over the op's group (x×y, x÷y: the multiplicative
group in discrete-log order, token 0 left out, n = p−1; x+y, x−y: Z_p, n = p), summed over
dimensions, of every checkpoint.

Output columns: seed, step, group (additive | multiplicative), frequency (0 … ⌊n/2⌋), power,
power_fraction (share of the total).
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.embedding_geometry import psd_rows
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, psd_rows, embedding_only, group_aware=True)

#!/usr/bin/env python
"""Fourier power spectrum over x of the number embeddings W_E[:p], summed over dimensions, of every
checkpoint.

Output columns: seed, step, frequency (0 … ⌊p/2⌋), power, power_fraction (share of the total).
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.embedding_geometry import psd_rows
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, psd_rows, embedding_only)

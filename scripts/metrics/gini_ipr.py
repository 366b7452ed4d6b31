#!/usr/bin/env python
"""Gini index (Hurley–Rickard) and IPR = Σp²/(Σp)² of the Fourier power spectrum of the number
embeddings W_E[:p] of every checkpoint, in two variants: per_dimension (DFT of each column over
x, power summed over columns, frequencies 1 … ⌊p/2⌋) and flattened (rfft of W_E[:p] flattened
row by row, every bin).

Output columns: seed, step, variant (per_dimension | flattened), gini, ipr.
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.gini_ipr import gini_ipr_rows
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, gini_ipr_rows, embedding_only)

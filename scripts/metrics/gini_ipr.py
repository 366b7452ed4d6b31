#!/usr/bin/env python
"""Gini index (Hurley–Rickard) and IPR = Σp²/(Σp)² of the Fourier power spectrum of the number
embeddings of every checkpoint, read in the op's group (x×y, x÷y: the multiplicative group in
discrete-log order, token 0 left out, n = p−1; x+y, x−y: Z_p, n = p), in two variants:
per_dimension (DFT of each column over the group, power summed over columns, frequencies
1 … ⌊n/2⌋) and flattened (rfft of the n rows flattened row by row, every bin).

Output columns: seed, step, group (additive | multiplicative), variant (per_dimension |
flattened), gini, ipr.
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.gini_ipr import gini_ipr_rows
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, gini_ipr_rows, embedding_only, group_aware=True)

#!/usr/bin/env python
"""Phase coherence of the number embeddings of every checkpoint, read in the op's group (x×y, x÷y:
discrete-log order, token 0 left out): for each column, the DFT over the group (k = 1 … ⌊n/2⌋),
its phase unwrapped over k, and the amplitude-weighted R² and slope of the line phase ≈ a + b·k;
plus the mean R² over columns weighted by the column norms. R² measures whether a column is one
bump localised on the number line; it is blind to Fourier features, whose phases are arbitrary
per frequency (see grokflow.metrics.phase_coherence).

Output columns: seed, step, group (additive | multiplicative), column (−1 = norm-weighted mean
over columns), r2, slope (NaN on the mean row).
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.phase_coherence import phase_coherence_rows
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, phase_coherence_rows, embedding_only, group_aware=True)

#!/usr/bin/env python
"""Phase coherence of the number embeddings W_E[:p] of every checkpoint: for each column, the
DFT over x (k = 1 … ⌊p/2⌋), its phase unwrapped over k, and the amplitude-weighted R² and slope
of the line phase ≈ a + b·k; plus the mean R² over columns weighted by the column norms.

Output columns: seed, step, column (−1 = norm-weighted mean over columns), r2, slope (NaN on
the mean row).
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.phase_coherence import phase_coherence_rows
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, phase_coherence_rows, embedding_only)

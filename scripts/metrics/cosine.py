#!/usr/bin/env python
"""Mean over x of the cosine similarity of the embeddings of x and (x+1) mod p, of every checkpoint.

Output columns: seed, step, cosine.
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.embedding_geometry import cosine_rows
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, cosine_rows, embedding_only)

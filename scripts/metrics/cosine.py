#!/usr/bin/env python
"""Mean over the group's elements x of the cosine similarity of the embeddings of x and of the next
element (x+1 mod p for x+y, x−y; g·x mod p for x×y, x÷y, g the smallest primitive root, token 0
left out), of every checkpoint.

Output columns: seed, step, group (additive | multiplicative), cosine.
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.embedding_geometry import cosine_rows
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, cosine_rows, embedding_only, group_aware=True)

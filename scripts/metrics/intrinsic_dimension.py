#!/usr/bin/env python
"""TwoNN intrinsic dimension (Facco et al. 2017) of the number rows of W_E and of W_Uᵀ, and the
effective rank and spectral entropy of each layer's QK circuit W_QK = Σ_h W_Q[h] W_K[h]ᵀ.

Output columns: seed, step, matrix (W_E | W_U | W_QK), layer (−1 for W_E, W_U), twonn_id (NaN for
W_QK), erank, spectral_entropy (NaN for W_E, W_U).
"""

from grokflow.metrics.intrinsic_dimension import intrinsic_dimension_rows, tensor_names
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, intrinsic_dimension_rows, tensor_names)

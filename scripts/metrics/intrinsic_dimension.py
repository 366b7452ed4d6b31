#!/usr/bin/env python
"""Intrinsic dimension of the p number rows of W_E and of W_Uᵀ (every token 0 … p−1, any op):
the TwoNN estimate (Facco et al. 2017) with its degeneracy diagnostic, and the participation
ratio of the covariance spectrum; and the effective rank and spectral entropy of each layer's QK
circuit W_QK = Σ_h W_Q[h] W_K[h]ᵀ.

TwoNN is unreliable on points that lie on circles, as a grokked network's do: each point's two
nearest neighbours are then almost equally far (μ = r₂/r₁ ≈ 1) and the estimate explodes. Where
twonn_tie_share > 0.5 (median μ < 1.01) twonn_id is not a dimension; participation_ratio, which
counts the directions holding the variance (2m for m equal circles in orthogonal planes), stays
meaningful there.

Output columns: seed, step, matrix (W_E | W_U | W_QK), layer (−1 for W_E, W_U),
  twonn_id              TwoNN intrinsic dimension
  twonn_median_ratio    median of μ = r₂/r₁ over the points (≈ 1: ties, TwoNN degenerate)
  twonn_tie_share       share of points with μ < 1.01 (> 0.5: TwoNN degenerate)
  participation_ratio   (Σλ)² / Σλ², λ the eigenvalues of the points' covariance
  (these four NaN for W_QK),
  erank, spectral_entropy   of W_QK (NaN for W_E, W_U).
"""

from grokflow.metrics.intrinsic_dimension import intrinsic_dimension_rows, tensor_names
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, intrinsic_dimension_rows, tensor_names)

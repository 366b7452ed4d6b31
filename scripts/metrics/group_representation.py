#!/usr/bin/env python
"""Group-representation test of the number embedding E = W_E[:p] for every checkpoint.

Fits the shift x → x+1 as one linear map R in the principal subspace of E (the fewest top right
singular vectors holding ≥ --rank-energy of ‖E‖²_F, at most ⌊(p−1)/2⌋, so the fit is
overdetermined): ε_R = Σ‖z_{x+1} − R z_x‖² / Σ‖z_{x+1}‖² on the projected rows z_x, and
δ_orth = ‖RᵀR − I‖_F. Both are 0 for a Fourier (rotation) representation.

Output columns: seed, step, rank, residual (ε_R), orth_defect (δ_orth).
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.group_representation import add_arguments, group_representation_rows
from grokflow.metrics.runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, group_representation_rows, embedding_only, add_arguments)

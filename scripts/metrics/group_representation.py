#!/usr/bin/env python
"""Group-representation test of the number embedding E for every checkpoint.

E is W_E's rows of the op's group in its element order (x+y, x−y: Z_p, tokens 0 … p−1;
x×y, x÷y: the multiplicative group, tokens gⁱ in discrete-log order, token 0 left out; n = the
group's order), so the shift x → x+1 is the group's generator (t ↦ t+1, or t ↦ g·t mod p).

- rank, residual (ε_R), orth_defect (δ_orth): the shift fitted as one linear map R in the
  principal subspace of E (the fewest top right singular vectors holding ≥ --rank-energy of
  ‖E‖²_F, rounded up to whole cos/sin pairs, so the rank is even, at most the largest even number
  ≤ ⌊(n−1)/2⌋, so the fit is overdetermined): ε_R = Σ‖z_{x+1} − R z_x‖² / Σ‖z_{x+1}‖² on the
  projected rows z_x, and δ_orth = ‖RᵀR − I‖_F.
- heldout_residual: rank-free; R (d_model × d_model) fitted by ridge regression on the pairs
  (E_x, E_{x+1}) of a fixed random half of the elements (seed 0), scored on the other half B:
  Σ_B‖E_{x+1} − R E_x‖² / Σ_B‖E_{x+1}‖².

All are ≈ 0 for a Fourier (rotation) representation; for a random embedding ε_R ≈ 0.5 and the
held-out residual ≈ 1 or above (no better than predicting 0).

Output columns: seed, step, group (additive | multiplicative), rank, residual (ε_R),
heldout_residual, orth_defect (δ_orth).
"""

from grokflow.metrics.fourier import embedding_only
from grokflow.metrics.group_representation import add_arguments, group_representation_rows
from grokflow.metric_runner import metric_main

if __name__ == "__main__":
    metric_main(__doc__, group_representation_rows, embedding_only, add_arguments, group_aware=True)

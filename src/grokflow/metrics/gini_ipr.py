"""Gini index and inverse participation ratio (grokflow.metrics.sparsity) of the Fourier power
spectrum of the number embeddings E (n × d: W_E's rows of the op's group, in its element order,
groups.py), in two variants:

- "flattened" (as the original request asks; docs/design.md): E's rows concatenated into one vector v of length n·d
  (v[i·d + j] = E[i, j]), P(q) = |Σ_m v_m e^{−2πiqm/(nd)}|² for q = 0 … ⌊nd/2⌋ (rfft bins, q = 0
  included, no doubling). This mixes frequencies over the group and over the embedding dimension.
- "per_dimension": P(k) = Σ_j |F_j(k)|², F_j the DFT over the group of column j, k = 1 … ⌊n/2⌋
  (fourier.power_per_frequency without frequency 0, the column means). For m pure frequencies
  of equal amplitude, IPR = 1/m and Gini = (N − m)/N with N = ⌊n/2⌋.
"""

import torch

from .fourier import number_embeddings
from .fourier_basis import nonzero_frequency_power
from .groups import chunk_group
from .sparsity import gini, ipr


def flattened_power(embeddings: torch.Tensor) -> torch.Tensor:
    """|rfft|² of each (…, p, d) matrix flattened row by row: (…, ⌊pd/2⌋ + 1)."""
    return torch.fft.rfft(embeddings.double().flatten(-2), dim=-1).abs().square()


VARIANTS = {"per_dimension": nonzero_frequency_power, "flattened": flattened_power}


def gini_ipr_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row per variant: variant, gini, ipr."""
    embeddings = number_embeddings(stacked, chunk_group(infos, args))
    rows: list[list[dict]] = [[] for _ in infos]
    for variant, spectrum in VARIANTS.items():
        power = spectrum(embeddings)
        for checkpoint_rows, g, i in zip(rows, gini(power).tolist(), ipr(power).tolist(), strict=True):
            checkpoint_rows.append({"variant": variant, "gini": g, "ipr": i})
    return rows

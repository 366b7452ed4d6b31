"""Geometry of the number embeddings E (n × d: W_E's rows of the op's group, in its element order
x = 0 … n−1, groups.py): their Fourier power spectrum over the group and the similarity of
neighbouring elements.

psd: for each embedding dimension j, the DFT over the group, F_j(k) = Σ_x E[x, j] e^{−2πikx/n};
power(k) = Σ_j |F_j(k)|² for k = 0 … ⌊n/2⌋, doubled for 0 < k < n/2 (k and n−k carry the same
power), so Σ_k power(k) = n·‖E‖²_F (Parseval); power_fraction(k) = power(k) / Σ_k' power(k').
A Fourier-feature embedding (Nanda et al. 2023, "Progress measures for grokking via mechanistic
interpretability") concentrates it on a few key frequencies.

cosine: the mean over x of cos(E_x, E_{(x+1) mod n}) = E_x·E_{x+1} / (‖E_x‖ ‖E_{x+1}‖), the next
element by the group's generator (x+1 in Z_p, g·x in the multiplicative group); it equals
cos(2πk/n) for the pure frequency-k embedding E_x = [cos(2πkx/n), sin(2πkx/n)].
"""

import torch

from .fourier import number_embeddings, power_per_frequency
from .groups import chunk_group


def power_fraction(power: torch.Tensor) -> torch.Tensor:
    """Each frequency's share of its spectrum (last axis)."""
    return power / power.sum(dim=-1, keepdim=True)


def neighbour_cosine(embeddings: torch.Tensor) -> torch.Tensor:
    """Mean over x of cos(E_x, E_{(x+1) mod n}) for E (..., n, d): shape (...)."""
    embeddings = embeddings.double()
    following = embeddings.roll(-1, dims=-2)
    return torch.nn.functional.cosine_similarity(embeddings, following, dim=-1).mean(dim=-1)


def psd_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row per frequency k = 0 … ⌊n/2⌋: frequency, power, power_fraction."""
    power = power_per_frequency(number_embeddings(stacked, chunk_group(infos, args)))
    return [[{"frequency": k, "power": value, "power_fraction": share}
             for k, (value, share) in enumerate(zip(spectrum.tolist(), fractions.tolist(), strict=True))]
            for spectrum, fractions in zip(power, power_fraction(power), strict=True)]


def cosine_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row: cosine."""
    cosines = neighbour_cosine(number_embeddings(stacked, chunk_group(infos, args)))
    return [[{"cosine": value}] for value in cosines.tolist()]

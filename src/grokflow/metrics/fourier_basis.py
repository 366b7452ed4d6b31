"""Projection of W_E and W_U on the real orthonormal Fourier basis of the op's group (groups.py:
Z_p, or the multiplicative group in discrete-log order), and the helpers on stacks of checkpoints
that the Fourier metrics of this package share.

With n the group's order, B the n × n basis of `fourier.fourier_basis(n)` (rows: constant,
√(2/n)cos, √(2/n)sin of frequency k) and M the n × d matrix of the group's number rows (E from
W_E or U from W_Uᵀ, in the group's element order):
  C = B·M,  n_i = ‖C_i,:‖₂ (one per basis row),
  l1_l2_ratio = ‖n‖₁ / ‖n‖₂ ∈ [1, √n] (lower = sparser; the ℓ1/ℓ2 measure of Hurley & Rickard
  2009), e.g. √(2m) for an embedding made of m pure frequencies (cos and sin rows each),
  e_k = Σ_{i: freq(i) = k} n_i² (frequency 0, the constant row, is its own frequency; Σ_k e_k =
  ‖M‖²_F because B is orthonormal),
  top_k_energy = (sum of the K largest e_k) / Σ_k e_k.
Reference: Nanda et al. 2023, "Progress measures for grokking via mechanistic interpretability".
"""

import torch

from ..settings import FourierBasisSettings
from .fourier import fourier_basis, number_embeddings, number_unembeddings, power_per_frequency
from .groups import chunk_group

TOP_K = FourierBasisSettings.top_k


def nonzero_frequency_power(embeddings: torch.Tensor) -> torch.Tensor:
    """power_per_frequency of each (N, n, d) matrix over the group, frequencies 1 … ⌊n/2⌋ only."""
    return power_per_frequency(embeddings)[..., 1:]


def coefficient_norms(matrices: torch.Tensor) -> torch.Tensor:
    """n_i = ‖(B·M)_i,:‖₂ for every basis row i of every (…, n, d) matrix M: shape (…, n)."""
    basis, _ = fourier_basis(matrices.shape[-2])
    return (basis @ matrices.double()).norm(dim=-1)


def l1_l2_ratio(norms: torch.Tensor) -> torch.Tensor:
    """‖n‖₁ / ‖n‖₂ along the last axis."""
    return norms.sum(dim=-1) / norms.norm(dim=-1)


def frequency_energy(norms: torch.Tensor) -> torch.Tensor:
    """e_k = Σ of n_i² over the basis rows of frequency k, k = 0 … ⌊n/2⌋ (last axis)."""
    _, freqs = fourier_basis(norms.shape[-1])
    energy = norms.new_zeros(*norms.shape[:-1], int(freqs.max()) + 1)
    return energy.index_add_(-1, freqs, norms.square())


def top_k_energy(energy: torch.Tensor, k: int) -> torch.Tensor:
    """Share of Σ_k e_k held by the k strongest frequencies (all of them if k exceeds their number)."""
    strongest = energy.topk(min(k, energy.shape[-1]), dim=-1).values
    return strongest.sum(dim=-1) / energy.sum(dim=-1)


MATRICES = {"W_E": number_embeddings, "W_U": number_unembeddings}


def tensor_names(model) -> list[str]:
    """The checkpoint tensors fourier_basis_rows() reads (the same for every model)."""
    return list(MATRICES)


def fourier_basis_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row per matrix (W_E, W_U): matrix, l1_l2_ratio, top_k_energy."""
    k = getattr(args, "top_k", TOP_K)
    group = chunk_group(infos, args)
    rows: list[list[dict]] = [[] for _ in infos]
    for name, numbers in MATRICES.items():
        norms = coefficient_norms(numbers(stacked, group))
        ratios, shares = l1_l2_ratio(norms).tolist(), top_k_energy(frequency_energy(norms), k).tolist()
        for checkpoint_rows, ratio, share in zip(rows, ratios, shares, strict=True):
            checkpoint_rows.append({"matrix": name, "l1_l2_ratio": ratio, "top_k_energy": share})
    return rows

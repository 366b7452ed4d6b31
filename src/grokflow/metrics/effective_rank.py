"""Effective rank of a linear map (Roy & Vetterli 2007, "The effective rank: a measure of
effective dimensionality", EUSIPCO).

With singular values σ_i and p_i = σ_i / Σ_j σ_j, the spectral entropy is H = −Σ p_i log p_i
(0 log 0 = 0) and the effective rank is erank = exp(H): n for the n×n identity, k for a rank-k
matrix with k equal singular values, 1 for a rank-one matrix. Every function takes a batch of
matrices (..., m, n).
"""

import math

import torch

from ..model import ModelConfig
from .matrix_names import MATRICES

BLOCK_MATRICES = MATRICES[3:]


def spectral_entropy(matrices: torch.Tensor) -> torch.Tensor:
    """H = −Σ p_i log p_i of the normalised singular values (natural log); 0 for a zero matrix."""
    sigma = torch.linalg.svdvals(matrices.double())
    total = sigma.sum(dim=-1, keepdim=True)
    p = sigma / torch.where(total > 0, total, 1.0)
    return -torch.special.xlogy(p, p).sum(dim=-1)


def effective_rank(matrices: torch.Tensor) -> torch.Tensor:
    """erank = exp(H) (Roy–Vetterli)."""
    return spectral_entropy(matrices).exp()


def linear_maps(tensors: dict[str, torch.Tensor]) -> list[tuple[int, str, torch.Tensor]]:
    """Every 2-D linear map of (a stack of) GrokTransformer checkpoints as (layer, name, matrices).

    Embedding-level maps (W_E, W_pos, W_U) have layer −1. Per-head attention weights are joined
    into the layer's whole map: W_Q, W_K, W_V as d_model × (heads·d_head), W_O as
    (heads·d_head) × d_model. Any leading (checkpoint) axes are kept.
    """
    maps = [(-1, name, tensors[name]) for name in MATRICES[:3]]
    layer = 0
    while f"blocks.{layer}.W_Q" in tensors:
        block = {name: tensors[f"blocks.{layer}.{name}"] for name in BLOCK_MATRICES}
        for name in ("W_Q", "W_K", "W_V"):
            maps.append((layer, name, block[name].transpose(-3, -2).flatten(-2)))
        maps.append((layer, "W_O", block["W_O"].flatten(-3, -2)))
        maps.append((layer, "W_in", block["W_in"]))
        maps.append((layer, "W_out", block["W_out"]))
        layer += 1
    return maps


def tensor_names(model: ModelConfig) -> list[str]:
    """The checkpoint tensors linear_maps() reads."""
    blocks = (f"blocks.{layer}.{name}" for layer in range(model.n_layers) for name in BLOCK_MATRICES)
    return [*MATRICES[:3], *blocks]


def effective_rank_rows(stacked: dict[str, torch.Tensor], infos=None, args=None) -> list[list[dict]]:
    """For each checkpoint of the stack, one row per linear map: layer, matrix, spectral_entropy, erank."""
    n_checkpoints = len(next(iter(stacked.values())))
    rows: list[list[dict]] = [[] for _ in range(n_checkpoints)]
    for layer, name, matrices in linear_maps(stacked):
        for index, entropy in enumerate(spectral_entropy(matrices).tolist()):
            rows[index].append({"layer": layer, "matrix": name, "spectral_entropy": entropy,
                                "erank": math.exp(entropy)})
    return rows

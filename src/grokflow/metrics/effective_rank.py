"""Effective rank of a linear map (Roy & Vetterli 2007, "The effective rank: a measure of
effective dimensionality", EUSIPCO).

With singular values σ_i and p_i = σ_i / Σ_j σ_j, the spectral entropy is H = −Σ p_i log p_i
(0 log 0 = 0) and the effective rank is erank = exp(H): n for the n×n identity, k for a rank-k
matrix with k equal singular values, 1 for a rank-one matrix.
"""

import math

import torch


def spectral_entropy(matrix: torch.Tensor) -> float:
    """H = −Σ p_i log p_i of the normalised singular values (natural log)."""
    sigma = torch.linalg.svdvals(matrix.double())
    total = sigma.sum()
    if total == 0:
        return 0.0
    p = sigma / total
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def effective_rank(matrix: torch.Tensor) -> float:
    """erank = exp(H) (Roy–Vetterli)."""
    return math.exp(spectral_entropy(matrix))


MATRICES = ("W_E", "W_pos", "W_U", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out")
BLOCK_MATRICES = MATRICES[3:]


def linear_maps(tensors: dict[str, torch.Tensor]) -> list[tuple[int, str, torch.Tensor]]:
    """Every 2-D linear map of a GrokTransformer checkpoint as (layer, name, matrix).

    Embedding-level maps (W_E, W_pos, W_U) have layer −1. Per-head attention weights are joined
    into the layer's whole map: W_Q, W_K, W_V as d_model × (heads·d_head), W_O as
    (heads·d_head) × d_model.
    """
    maps = [(-1, name, tensors[name]) for name in MATRICES[:3]]
    layer = 0
    while f"blocks.{layer}.W_Q" in tensors:
        block = {name: tensors[f"blocks.{layer}.{name}"] for name in BLOCK_MATRICES}
        for name in ("W_Q", "W_K", "W_V"):
            heads, d_model, d_head = block[name].shape
            maps.append((layer, name, block[name].permute(1, 0, 2).reshape(d_model, heads * d_head)))
        maps.append((layer, "W_O", block["W_O"].flatten(0, 1)))
        maps.append((layer, "W_in", block["W_in"]))
        maps.append((layer, "W_out", block["W_out"]))
        layer += 1
    return maps


def effective_rank_rows(tensors: dict[str, torch.Tensor]) -> list[dict]:
    """One row per linear map: layer, matrix, spectral_entropy, erank."""
    rows = []
    for layer, name, matrix in linear_maps(tensors):
        entropy = spectral_entropy(matrix)
        rows.append({"layer": layer, "matrix": name, "spectral_entropy": entropy, "erank": math.exp(entropy)})
    return rows

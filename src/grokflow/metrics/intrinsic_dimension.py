"""Intrinsic dimension of the number embeddings and unembeddings, and the rank of each layer's
QK circuit.

TwoNN (Facco, d'Errico, Rodriguez & Laio 2017, "Estimating the intrinsic dimension of datasets
by a minimal neighborhood information", Sci. Rep. 7:12140): for each point, μ = r₂/r₁, the ratio of
its second to its first nearest-neighbour distance (points with r₁ = 0, duplicates, are dropped).
Under local uniformity μ is Pareto, F(μ) = 1 − μ^(−d), so −log(1 − F(μ)) = d·log μ. With the N
kept μ sorted and the empirical F(μ_i) = i/N (i = 1 … N), d is the least-squares slope through the
origin, d = Σ x_i y_i / Σ x_i² with x_i = log μ_i, y_i = −log(1 − i/N), over the points with
i/N ≤ 0.9 (the top 10% of μ discarded).

QK circuit of layer l: W_QK = Σ_h W_Q[h] W_K[h]ᵀ (d_model × d_model); its spectral entropy H and
effective rank erank = exp(H) (Roy & Vetterli 2007, see effective_rank.py).

Every function is batched over leading (checkpoint) axes.
"""

import math

import torch

from ..model import ModelConfig
from .effective_rank import spectral_entropy
from .fourier import number_embeddings, number_unembeddings

KEPT_FRACTION = 0.9
NAN = float("nan")


def neighbour_ratios(points: torch.Tensor) -> torch.Tensor:
    """μ = r₂/r₁ of every point of (… × n × d) point clouds: (… × n), +inf where r₁ = 0."""
    points = points.double()
    distances = torch.cdist(points, points, compute_mode="donot_use_mm_for_euclid_dist")
    distances.diagonal(dim1=-2, dim2=-1).fill_(torch.inf)
    r1, r2 = distances.topk(2, dim=-1, largest=False).values.unbind(-1)
    return torch.where(r1 > 0, r2 / torch.where(r1 > 0, r1, 1.0), torch.inf)


def twonn_dimension(points: torch.Tensor) -> torch.Tensor:
    """TwoNN intrinsic dimension of (… × n × d) point clouds: (…); NaN where it is undefined."""
    mu, _ = neighbour_ratios(points).sort(dim=-1)
    kept = mu.isfinite()
    count = kept.sum(dim=-1, keepdim=True)
    rank = torch.arange(1, mu.shape[-1] + 1, dtype=torch.float64)
    cdf = rank / count.clamp(min=1)
    fitted = kept & (cdf <= KEPT_FRACTION)
    x = torch.where(fitted, mu.log(), 0.0)
    y = torch.where(fitted, -torch.log1p(-cdf.clamp(max=KEPT_FRACTION)), 0.0)
    sum_xx = x.square().sum(dim=-1)
    return torch.where(sum_xx > 0, (x * y).sum(dim=-1) / sum_xx, NAN)


def qk_circuits(tensors: dict[str, torch.Tensor], n_layers: int) -> torch.Tensor:
    """W_QK = Σ_h W_Q[h] W_K[h]ᵀ of every layer: (… × n_layers × d_model × d_model), float64."""
    return torch.stack([
        torch.einsum("...hmd,...hnd->...mn", tensors[f"blocks.{layer}.W_Q"].double(),
                     tensors[f"blocks.{layer}.W_K"].double())
        for layer in range(n_layers)], dim=-3)


def tensor_names(model: ModelConfig) -> list[str]:
    """The checkpoint tensors intrinsic_dimension_rows() reads."""
    blocks = (f"blocks.{layer}.{name}" for layer in range(model.n_layers) for name in ("W_Q", "W_K"))
    return ["W_E", "W_U", *blocks]


def intrinsic_dimension_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint: a row for W_E and W_U (layer −1, twonn_id) and one per layer for W_QK
    (erank, spectral_entropy)."""
    model = infos[0].model
    embedding_ids = twonn_dimension(number_embeddings(stacked, model.p)).tolist()
    unembedding_ids = twonn_dimension(number_unembeddings(stacked, model.p)).tolist()
    entropies = spectral_entropy(qk_circuits(stacked, model.n_layers))
    rows = []
    for embedding_id, unembedding_id, layer_entropies in zip(embedding_ids, unembedding_ids,
                                                             entropies.tolist(), strict=True):
        checkpoint_rows = [id_row("W_E", embedding_id), id_row("W_U", unembedding_id)]
        checkpoint_rows += [qk_row(layer, entropy) for layer, entropy in enumerate(layer_entropies)]
        rows.append(checkpoint_rows)
    return rows


def id_row(matrix: str, twonn_id: float) -> dict:
    return {"matrix": matrix, "layer": -1, "twonn_id": twonn_id, "erank": NAN, "spectral_entropy": NAN}


def qk_row(layer: int, entropy: float) -> dict:
    return {"matrix": "W_QK", "layer": layer, "twonn_id": NAN,
            "erank": math.exp(entropy), "spectral_entropy": entropy}

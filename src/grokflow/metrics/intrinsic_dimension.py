"""Intrinsic dimension of the number embeddings and unembeddings, and the rank of each layer's
QK circuit.

The point clouds are the p number rows of W_E and the p number columns of W_U (as rows), every
number token 0 … p−1 for every op (groups.additive_group(p)): a dimension does not depend on the
order of the points, so no group reading is needed and none of the tokens is left out.

TwoNN (Facco, d'Errico, Rodriguez & Laio 2017, "Estimating the intrinsic dimension of datasets
by a minimal neighborhood information", Sci. Rep. 7:12140): for each point, μ = r₂/r₁, the ratio of
its second to its first nearest-neighbour distance (points with r₁ = 0, duplicates, are dropped).
Under local uniformity μ is Pareto, F(μ) = 1 − μ^(−d), so −log(1 − F(μ)) = d·log μ. With the N
kept μ sorted and the empirical F(μ_i) = i/N (i = 1 … N), d is the least-squares slope through the
origin, d = Σ x_i y_i / Σ x_i² with x_i = log μ_i, y_i = −log(1 − i/N), over the points with
i/N ≤ 0.9 (the top 10% of μ discarded).

Why TwoNN is unreliable here. A grokked network puts the p numbers on a few circles (a Fourier
embedding, E_x = [cos(2πk_j x/p), sin(2πk_j x/p)]_j): p points evenly spaced on a closed curve.
Then each point's two nearest neighbours are its two neighbours along the curve, nearly equally
far away, so μ → 1 for almost every point, every log μ is close to 0, and the slope d = Σxy/Σx²
is set by tiny deviations from the regular spacing, not by the dimension: 113 points on a perfect
circle read 10⁶ (float32) to 10¹⁴ (float64), with noise of 10⁻⁴ of the radius ~100, and a trained
W_U can read more than d_model. (TwoNN assumes locally uniform, Poisson-like sampling, which a
regular lattice of points is not.) Two diagnostics say when this happens:

- median_ratio: the median of μ over the points with finite μ. A locally uniform sample of
  dimension d has median μ = 2^(1/d) (1.41 for d = 2, 1.07 for d = 10); ≈ 1 means ties.
- tie_share: the share of those points with μ < TIE_RATIO = 1.01, i.e. whose two nearest
  neighbours are within 1% of each other. Under the Pareto law it is 1 − 1.01^(−d) (2% for d = 2,
  9% for d = 10). TwoNN is called degenerate where tie_share > DEGENERATE_TIE_SHARE = 0.5, i.e.
  where the median μ is below 1.01: under the Pareto law that needs d > log 2 / log 1.01 ≈ 70,
  more than the d_model of the models here, so the estimate cannot be read as a dimension.
  Random points in high dimension have many near-ties too (tie_share 0.2–0.35 for a Gaussian
  initialisation of 31 points in 64 dimensions). The flag catches the ties of a regular lattice;
  it does not catch every failure (a circle with small noise reads the dimension of the noise at
  the scale of the nearest neighbours, with few ties).

Participation ratio, a second estimate that stays meaningful on circles (Gao, Trautmann, Yu,
Santhanam, Ryu, Shenoy & Ganguli 2017, "A theory of multineuronal dimensionality, dynamics and
measurement", bioRxiv 214262; Recanatesi, Ocker, Buice & Shea-Brown 2019, "Dimensionality in
recurrent spiking networks: global trends in activity and local origins in connectivity", PLoS
Comput. Biol. 15:e1006446): with λ_i the eigenvalues of the covariance of the mean-centred points,
PR = (Σλ_i)² / Σλ_i², computed from the singular values s_i of the centred n × d matrix
(λ_i ∝ s_i², float64). It counts the directions that carry the variance: 1 ≤ PR ≤ min(n−1, d);
m circles of equal radius in orthogonal planes (a Fourier embedding with m frequencies) give
exactly 2m, an isotropic Gaussian cloud in d dimensions ≈ d (for n ≫ d). It is a linear measure:
it counts the dimensions of the span, not of a curved manifold within it. NaN for a cloud without
variance.

QK circuit of layer l: W_QK = Σ_h W_Q[h] W_K[h]ᵀ (d_model × d_model); its spectral entropy H and
effective rank erank = exp(H) (Roy & Vetterli 2007, see effective_rank.py).

Every function is batched over leading (checkpoint) axes.
"""

import math

import torch

from ..model import ModelConfig
from .effective_rank import spectral_entropy
from .fourier import number_embeddings, number_unembeddings
from .groups import additive_group

KEPT_FRACTION = 0.9
TIE_RATIO = 1.01
DEGENERATE_TIE_SHARE = 0.5
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


def twonn_degeneracy(points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(median_ratio, tie_share) of (… × n × d) point clouds, each (…): the median of μ = r₂/r₁
    and the share of points with μ < TIE_RATIO, both over the points with finite μ (the ones
    TwoNN keeps); NaN where there are none."""
    mu = neighbour_ratios(points)
    kept = mu.isfinite()
    count = kept.sum(dim=-1)
    median = torch.nanquantile(torch.where(kept, mu, NAN), 0.5, dim=-1)
    ties = (kept & (mu < TIE_RATIO)).sum(dim=-1)
    tie_share = torch.where(count > 0, ties.double() / count.clamp(min=1), NAN)
    return median, tie_share


def participation_ratio(points: torch.Tensor) -> torch.Tensor:
    """PR = (Σλ)² / Σλ² of (… × n × d) point clouds, λ the eigenvalues of the covariance of the
    mean-centred points: (…), float64; NaN where the cloud has no variance (beyond rounding)."""
    points = points.double()
    centred = points - points.mean(dim=-2, keepdim=True)
    variances = torch.linalg.svdvals(centred).square()
    total = variances.sum(dim=-1)
    # Rounding leaves centred entries of order eps·|x| in a cloud of identical points.
    rounding = (points.shape[-2] * torch.finfo(torch.float64).eps) ** 2 * points.square().sum(dim=(-2, -1))
    spread = total > rounding
    return torch.where(spread, total.square() / torch.where(spread, variances.square().sum(dim=-1), 1.0), NAN)


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


def point_cloud_columns(points: torch.Tensor) -> list[dict]:
    """For each (checkpoint's) point cloud of (… × n × d): twonn_id, twonn_median_ratio,
    twonn_tie_share and participation_ratio."""
    median, tie_share = twonn_degeneracy(points)
    columns = {"twonn_id": twonn_dimension(points), "twonn_median_ratio": median,
               "twonn_tie_share": tie_share, "participation_ratio": participation_ratio(points)}
    values = {name: column.reshape(-1).tolist() for name, column in columns.items()}
    return [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]


def intrinsic_dimension_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint: a row for W_E and W_U (layer −1: twonn_id, twonn_median_ratio,
    twonn_tie_share, participation_ratio) and one per layer for W_QK (erank, spectral_entropy)."""
    model = infos[0].model
    numbers = additive_group(model.p)
    embeddings = point_cloud_columns(number_embeddings(stacked, numbers))
    unembeddings = point_cloud_columns(number_unembeddings(stacked, numbers))
    entropies = spectral_entropy(qk_circuits(stacked, model.n_layers))
    rows = []
    for embedding, unembedding, layer_entropies in zip(embeddings, unembeddings, entropies.tolist(), strict=True):
        checkpoint_rows = [id_row("W_E", embedding), id_row("W_U", unembedding)]
        checkpoint_rows += [qk_row(layer, entropy) for layer, entropy in enumerate(layer_entropies)]
        rows.append(checkpoint_rows)
    return rows


def id_row(matrix: str, columns: dict) -> dict:
    return {"matrix": matrix, "layer": -1, **columns, "erank": NAN, "spectral_entropy": NAN}


def qk_row(layer: int, entropy: float) -> dict:
    return {"matrix": "W_QK", "layer": layer, "twonn_id": NAN, "twonn_median_ratio": NAN, "twonn_tie_share": NAN,
            "participation_ratio": NAN, "erank": math.exp(entropy), "spectral_entropy": entropy}

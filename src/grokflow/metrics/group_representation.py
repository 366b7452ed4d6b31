"""How close is the number embedding to a representation of the group Z_p?

If the model represents x ∈ Z_p by E_x = ρ(x) v for a representation ρ, the shift x → x+1 acts
on the embeddings as one fixed linear map R = ρ(1), and for an orthogonal representation (the
Fourier features of Nanda et al. 2023, "Progress measures for grokking via mechanistic
interpretability": cos/sin(2πkx/p)) R is a rotation. The group-representation metric asks
(DESIGN.md):

    R_t = argmin_R Σ_x ‖E_{(x+1) mod p} − R E_x‖²                    (least squares)
    ε_R = Σ_x ‖E_{x+1} − R E_x‖² / Σ_x ‖E_{x+1}‖²                    (relative residual)
    δ_orth = ‖RᵀR − I‖_F                                              (orthogonality defect)

with E = W_E[:p] (p × d_model, rows E_x, the '=' row dropped).

Principal subspace. When p ≤ d_model (31 < 64, 113 < 128) this least-squares problem is
underdetermined: p linearly independent rows E_x can be mapped onto any p targets exactly, so
ε_R = 0 for every embedding, and R is zero off the span of the E_x, so δ_orth measures the
dimension gap instead of the map. We therefore fit R in the principal subspace of E: with the
SVD E = U Σ Vᵀ, r is the fewest leading singular vectors that hold ≥ `rank_energy` (default 0.9)
of ‖E‖²_F = Σσ_i², capped at ⌊(p−1)/2⌋ so that the fit has p equations per unknown row of R
against r ≤ (p−1)/2 unknowns (overdetermined at least twice over); V_r = the top-r right singular
vectors, Z = E V_r (p × r, rows z_x), and

    R (r × r) = argmin_R Σ_x ‖z_{x+1} − R z_x‖²   (torch.linalg.lstsq on Z Rᵀ ≈ shift(Z)),
    ε_R = Σ_x ‖z_{x+1} − R z_x‖² / Σ_x ‖z_{x+1}‖²   (on Z, not on E),
    δ_orth = ‖RᵀR − I_r‖_F.

A Fourier embedding with m frequencies spans 2m dimensions on which the shift is a rotation by
2πk/p in each (cos, sin) plane: ε_R = 0 and δ_orth = 0 when r covers those planes. A random
embedding has no such map: ε_R and δ_orth are of order 1. Every function is batched over leading
(checkpoint) axes; checkpoints are grouped by their rank r, so one lstsq runs per distinct r.
"""

import argparse

import torch

from ..arguments import unit_fraction
from .fourier import number_embeddings

DEFAULT_RANK_ENERGY = 0.9


def principal_rank(singular_values: torch.Tensor, energy: float, max_rank: int) -> torch.Tensor:
    """The fewest leading σ_i with Σσ_i² ≥ energy·Σσ², clamped to [1, max_rank]; shape (...,)."""
    power = singular_values.square()
    cumulative = power.cumsum(dim=-1) / power.sum(dim=-1, keepdim=True)
    below = (cumulative < energy).sum(dim=-1)
    return (below + 1).clamp(min=1, max=min(max_rank, singular_values.shape[-1]))


def shift_fit(coordinates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ε_R and δ_orth of the least-squares shift map R of rows z_x (..., p, r); each shape (...,)."""
    shifted = coordinates.roll(-1, dims=-2)
    r_transposed = torch.linalg.lstsq(coordinates, shifted).solution
    misfit = shifted - coordinates @ r_transposed
    residual = misfit.square().sum(dim=(-2, -1)) / shifted.square().sum(dim=(-2, -1))
    gram = r_transposed @ r_transposed.transpose(-2, -1)
    identity = torch.eye(gram.shape[-1], dtype=gram.dtype)
    return residual, torch.linalg.matrix_norm(gram - identity)


def group_representation(embeddings: torch.Tensor, rank_energy: float = DEFAULT_RANK_ENERGY):
    """rank r, ε_R and δ_orth of a batch of number embeddings E (n, p, d); each shape (n,)."""
    p = embeddings.shape[-2]
    _, sigma, vh = torch.linalg.svd(embeddings, full_matrices=False)
    ranks = principal_rank(sigma, rank_energy, (p - 1) // 2)
    residual = torch.empty(len(embeddings), dtype=torch.float64)
    orth_defect = torch.empty_like(residual)
    for rank in ranks.unique().tolist():
        members = ranks == rank
        coordinates = embeddings[members] @ vh[members, :rank].transpose(-2, -1)
        residual[members], orth_defect[members] = shift_fit(coordinates)
    return ranks, residual, orth_defect


def group_representation_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint of the stack, one row: rank, residual (ε_R), orth_defect (δ_orth)."""
    rank_energy = args.rank_energy if args is not None else DEFAULT_RANK_ENERGY
    embeddings = number_embeddings(stacked, infos[0].model.p)
    ranks, residual, orth_defect = group_representation(embeddings, rank_energy)
    return [[{"rank": rank, "residual": eps, "orth_defect": delta}]
            for rank, eps, delta in zip(ranks.tolist(), residual.tolist(), orth_defect.tolist())]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rank-energy", type=unit_fraction, default=DEFAULT_RANK_ENERGY,
                        help="share of ‖E‖²_F the principal subspace must hold (default 0.9)")

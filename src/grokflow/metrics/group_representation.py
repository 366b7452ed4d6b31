"""How close is the number embedding to a representation of the op's group?

The number tokens are read as the elements x = 0 … n−1 of the op's cyclic group (groups.py): Z_p
for x+y, x−y (token x, n = p) and the multiplicative group for x×y, x÷y (token gⁱ, g the smallest
primitive root, token 0 left out, n = p−1). E (n × d_model, rows E_x) is W_E's rows in that order
(fourier.number_embeddings), so "the next element" x+1 is the group's generator applied to x: the
token t ↦ t+1 mod p in Z_p, t ↦ g·t mod p in the multiplicative group.

If the model represents the element x by E_x = ρ(x) v for a representation ρ, the generator acts
on the embeddings as one fixed linear map R = ρ(1), and for an orthogonal representation (the
Fourier features of Nanda et al. 2023, "Progress measures for grokking via mechanistic
interpretability": cos/sin(2πkx/n); Chughtai et al. 2023 for other groups) R is a rotation. The
group-representation metric asks (docs/design.md):

    R_t = argmin_R Σ_x ‖E_{(x+1) mod n} − R E_x‖²                    (least squares)
    ε_R = Σ_x ‖E_{x+1} − R E_x‖² / Σ_x ‖E_{x+1}‖²                    (relative residual)
    δ_orth = ‖RᵀR − I‖_F                                              (orthogonality defect)

Principal subspace (ε_R, δ_orth, rank). When n ≤ d_model (31 < 64, 113 < 128) this least-squares
problem is underdetermined: n linearly independent rows E_x can be mapped onto any n targets
exactly, so ε_R = 0 for every embedding, and R is zero off the span of the E_x, so δ_orth
measures the dimension gap instead of the map. We therefore fit R in the principal subspace of E:
with the SVD E = U Σ Vᵀ, r₀ is the fewest leading singular vectors that hold ≥ `rank_energy`
(default 0.9) of ‖E‖²_F = Σσ_i², and

    r = min(2·⌈r₀/2⌉, r_max),   r_max = the largest even number ≤ ⌊(n−1)/2⌋ (and ≤ d),

rounded UP to whole (cos, sin) pairs: a frequency spans a plane that the shift rotates, and an
odd r keeps half of a plane, whose one direction no linear map can shift onto itself, so ε_R
would jump whenever r changes parity rather than when the embedding changes. The cap keeps the fit
overdetermined (n equations per row of R against r ≤ (n−1)/2 unknowns). V_r = the top-r right
singular vectors, Z = E V_r (n × r, rows z_x), and

    R (r × r) = argmin_R Σ_x ‖z_{x+1} − R z_x‖²   (torch.linalg.lstsq on Z Rᵀ ≈ shift(Z), SVD driver;
                                                   a direction of Z with σ < 1e-10·σ_max, e.g. the
                                                   empty partner of a constant row, gets R = 0),
    ε_R = Σ_x ‖z_{x+1} − R z_x‖² / Σ_x ‖z_{x+1}‖²   (on Z, not on E),
    δ_orth = ‖RᵀR − I_r‖_F.

ε_R still depends on r (adding or dropping a pair changes it), so the rank is written beside it.

Held-out residual (heldout_residual). A rank-free check in the full d_model space: no principal
subspace is chosen, so nothing moves when the energy spectrum shifts. Split the elements once
into a fixed random half A (the first ⌊n/2⌋ of torch.randperm(n) with generator seed 0) and the
rest B; fit R (d × d) by ridge regression on the pairs (E_x, E_{x+1}), x ∈ A, and score it on B:

    Rᵀ = (E_Aᵀ E_A + λ I_d)⁻¹ E_Aᵀ E_{A+1},   λ = RIDGE · trace(E_Aᵀ E_A) / d,
    heldout_residual = Σ_{x∈B} ‖E_{x+1} − R E_x‖² / Σ_{x∈B} ‖E_{x+1}‖².

Held out, because with n ≤ d an in-sample fit is exact for any embedding (above); a map fitted on
⌊n/2⌋ pairs predicts the other half only if the embedding lies in ≲ n/2 dimensions on which the
generator acts linearly, i.e. a low-dimensional representation. The ridge term makes the d × d
normal equations solvable when E_A has rank < d and is scaled by the mean energy per dimension,
so the metric is invariant to the scale of E. RIDGE = 1e-3 shrinks a direction holding a share s
of ‖E_A‖²_F by about RIDGE/(d·s): a pure Fourier embedding scores ~1e-6 (< 1e-3 even with one
plane 100× weaker than another), a Fourier embedding plus isotropic noise holding a share s of
‖E‖²_F scores ≈ 2s (noise in input and target; the same from RIDGE = 1e-4 to 1e-2), and a random
Gaussian embedding scores ≈ 1 or above (about 1.2–1.5 for n = 31, d = 64; 1.7–1.9 for
n = 113, d = 128): its held-out E_x lie mostly outside span(E_A), and R maps the part inside onto
unrelated targets, which is worse than predicting 0. Values ≥ 1 thus mean "no shift map at all".

A Fourier embedding with m frequencies (2m ≤ ⌊n/2⌋) spans 2m dimensions on which the shift is a
rotation by 2πk/n in each (cos, sin) plane: ε_R = 0, δ_orth = 0 and heldout_residual ≈ 0. A
random embedding has no such map: ε_R, δ_orth and heldout_residual are of order 1. Every function
is batched over leading (checkpoint) axes, in float64; checkpoints are grouped by their rank r, so
one lstsq runs per distinct r.
"""

import argparse

import torch

from ..arguments import unit_fraction
from ..settings import GroupRepresentationSettings
from .fourier import number_embeddings
from .groups import chunk_group

DEFAULT_RANK_ENERGY = GroupRepresentationSettings.rank_energy
RIDGE = 1e-3
HELDOUT_SEED = 0
RCOND = 1e-10  # coordinates below this share of the top singular value are null: R is 0 there (SVD lstsq)


def rank_cap(n: int, width: int) -> int:
    """The largest even rank ≤ ⌊(n−1)/2⌋ and ≤ width (at least 2): whole (cos, sin) pairs,
    overdetermined fit."""
    return max(2, 2 * (min((n - 1) // 2, width) // 2))


def principal_rank(singular_values: torch.Tensor, energy: float, max_rank: int) -> torch.Tensor:
    """The fewest leading σ_i with Σσ_i² ≥ energy·Σσ², rounded up to even (whole cos/sin pairs) and
    clamped to [2, max_rank] (max_rank even); shape (...,)."""
    power = singular_values.square()
    cumulative = power.cumsum(dim=-1) / power.sum(dim=-1, keepdim=True)
    fewest = (cumulative < energy).sum(dim=-1) + 1
    return (2 * torch.div(fewest + 1, 2, rounding_mode="floor")).clamp(min=2, max=max_rank)


def shift_fit(coordinates: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ε_R and δ_orth of the least-squares shift map R of rows z_x (..., n, r); each shape (...,)."""
    shifted = coordinates.roll(-1, dims=-2)
    r_transposed = torch.linalg.lstsq(coordinates, shifted, rcond=RCOND, driver="gelsd").solution
    misfit = shifted - coordinates @ r_transposed
    residual = misfit.square().sum(dim=(-2, -1)) / shifted.square().sum(dim=(-2, -1))
    gram = r_transposed @ r_transposed.transpose(-2, -1)
    identity = torch.eye(gram.shape[-1], dtype=gram.dtype)
    return residual, torch.linalg.matrix_norm(gram - identity)


def group_representation(embeddings: torch.Tensor, rank_energy: float = DEFAULT_RANK_ENERGY):
    """rank r (even), ε_R and δ_orth of a batch of number embeddings E (b, n, d); each shape (b,)."""
    embeddings = embeddings.double()
    n, d = embeddings.shape[-2:]
    _, sigma, vh = torch.linalg.svd(embeddings, full_matrices=False)
    ranks = principal_rank(sigma, rank_energy, rank_cap(n, d))
    residual = torch.empty(len(embeddings), dtype=torch.float64)
    orth_defect = torch.empty_like(residual)
    for rank in ranks.unique().tolist():
        members = ranks == rank
        coordinates = embeddings[members] @ vh[members, :rank].transpose(-2, -1)
        residual[members], orth_defect[members] = shift_fit(coordinates)
    return ranks, residual, orth_defect


def heldout_split(n: int, seed: int = HELDOUT_SEED) -> tuple[torch.Tensor, torch.Tensor]:
    """The fit half A (⌊n/2⌋ elements) and the held-out half B of 0 … n−1, a fixed seeded draw."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return order[: n // 2], order[n // 2 :]


def heldout_residual(embeddings: torch.Tensor, ridge: float = RIDGE, seed: int = HELDOUT_SEED) -> torch.Tensor:
    """Σ_{x∈B}‖E_{x+1} − R E_x‖² / Σ_{x∈B}‖E_{x+1}‖² with R the ridge fit (full d) on the pairs of
    the seeded half A, for E (..., n, d); shape (...,)."""
    embeddings = embeddings.double()
    n, d = embeddings.shape[-2:]
    fit, held = heldout_split(n, seed)
    following = embeddings.roll(-1, dims=-2)
    inputs, targets = embeddings[..., fit, :], following[..., fit, :]
    gram = inputs.transpose(-2, -1) @ inputs
    trace = gram.diagonal(dim1=-2, dim2=-1).sum(dim=-1)
    identity = torch.eye(d, dtype=torch.float64)
    regularised = gram + (ridge * trace / d)[..., None, None] * identity
    r_transposed = torch.linalg.solve(regularised, inputs.transpose(-2, -1) @ targets)
    held_targets = following[..., held, :]
    misfit = held_targets - embeddings[..., held, :] @ r_transposed
    return misfit.square().sum(dim=(-2, -1)) / held_targets.square().sum(dim=(-2, -1))


def group_representation_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint of the stack, one row: rank, residual (ε_R), heldout_residual,
    orth_defect (δ_orth), in the chunk's group (args.fourier_group, default auto)."""
    rank_energy = getattr(args, "rank_energy", DEFAULT_RANK_ENERGY)
    embeddings = number_embeddings(stacked, chunk_group(infos, args))
    ranks, residual, orth_defect = group_representation(embeddings, rank_energy)
    heldout = heldout_residual(embeddings)
    return [[{"rank": rank, "residual": eps, "heldout_residual": held, "orth_defect": delta}]
            for rank, eps, held, delta in zip(ranks.tolist(), residual.tolist(), heldout.tolist(),
                                              orth_defect.tolist(), strict=True)]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rank-energy", type=unit_fraction, default=DEFAULT_RANK_ENERGY,
                        help="share of ‖E‖²_F the principal subspace must hold before rounding up to "
                             "whole cos/sin pairs (default 0.9)")

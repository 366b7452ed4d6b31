"""Estimates from the chains' loss traces: the local learning coefficient and thermodynamic
integration.

LLC (Lau, Furman, Wang, Murfet & Wei 2023): λ̂(w₀) = nβ (E_β[L_n(w)] − L_n(w₀)), the expectation over
the localised tempered posterior estimated by the mean over the draws after burn-in of the
excess minibatch loss L_B(w_t) − L_B(w₀) (see grokflow.slt.engine); per chain, then mean and
standard deviation over the chains that stayed finite.

Thermodynamic integration (Watanabe 2013): with F(b) = −log ∫ exp(−b L_n(w)) φ(w) dw,
dF/db = E_b[L_n], and near a minimum F(b) ≈ b L_n(w₀) + λ log b. Taking b L_n(w₀) out first (the
training loss is small but not zero),

    λ_eff = [F(b₂) − F(b₁) − L_n(w₀)(b₂ − b₁)] / log(b₂/b₁) = ∫ b (E_b[L_n] − L_n(w₀)) dlog b / log(b₂/b₁),

the mean of the per-temperature LLC λ̂(b) over log b, computed with the trapezoid rule over the
chains' temperatures b_k = nβ_k (U(β) = E_β[n L_n] of the seed is n E_b[L_n] with b = nβ).
"""

from dataclasses import dataclass

import numpy as np
import torch


def chain_llc(excess: torch.Tensor, nbeta: torch.Tensor, burnin: int) -> torch.Tensor:
    """λ̂ of every chain from its excess losses L_B(w_t) − L_B(w₀) (..., C, T) and nβ (...):
    (..., C), NaN for a chain that diverged."""
    if not 0 <= burnin < excess.shape[-1]:
        raise ValueError(f"burn-in {burnin} leaves no draws of {excess.shape[-1]} steps")
    llc = nbeta[..., None] * excess[..., burnin:].mean(dim=-1)
    return torch.where(diverged(excess), torch.nan, llc)


def diverged(losses: torch.Tensor) -> torch.Tensor:
    """Chains (..., C) whose loss became NaN or ±inf at any step."""
    return ~torch.isfinite(losses).all(dim=-1)


@dataclass
class ChainSummary:
    """Mean and standard deviation over the finite chains, and how many chains diverged."""

    mean: np.ndarray
    std: np.ndarray
    n_diverged: np.ndarray


def summarize(per_chain: torch.Tensor) -> ChainSummary:
    """Summary over the last axis (chains) of per-chain estimates, NaN marking a diverged chain.

    A point whose chains all diverged has mean and std NaN; std needs two finite chains.
    """
    values = per_chain.detach().cpu().double().numpy()
    finite = np.isfinite(values)
    count = finite.sum(axis=-1)
    safe = np.where(finite, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = safe.sum(axis=-1) / count
        variance = (np.where(finite, values - mean[..., None], 0.0) ** 2).sum(axis=-1) / (count - 1)
    return ChainSummary(mean, np.where(count > 1, np.sqrt(variance), np.nan), values.shape[-1] - count)


def thermodynamic_lambda(llc_by_temperature: torch.Tensor, nbetas) -> torch.Tensor:
    """λ_eff from per-temperature LLCs (..., K) at the increasing temperatures nβ_k (K ≥ 2).

    Trapezoid rule of ∫ λ̂(b) dlog b over [b₁, b_K], divided by log(b_K/b₁); NaN propagates, so
    a chain that diverged at any temperature gives NaN.
    """
    log_b = torch.log(torch.as_tensor(nbetas, dtype=llc_by_temperature.dtype, device=llc_by_temperature.device))
    if len(log_b) < 2 or not bool((log_b[1:] > log_b[:-1]).all()):
        raise ValueError("thermodynamic integration needs at least two increasing temperatures")
    widths = log_b[1:] - log_b[:-1]
    area = (0.5 * (llc_by_temperature[..., 1:] + llc_by_temperature[..., :-1]) * widths).sum(dim=-1)
    return area / (log_b[-1] - log_b[0])

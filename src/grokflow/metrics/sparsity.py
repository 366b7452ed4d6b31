"""Sparsity of a non-negative spectrum c_1 … c_N (e.g. a Fourier power spectrum), batched over
any leading axes (the spectrum is the last axis).

Gini index (Hurley & Rickard 2009, "Comparing measures of sparsity", IEEE Trans. Inf. Theory
55(10)): sort c ascending, c_(1) ≤ … ≤ c_(N); G = 1 − 2 Σ_k (c_(k)/‖c‖₁)·(N − k + ½)/N.
G = 0 for a flat spectrum, (N−1)/N for a single non-zero bin; scale-invariant.

Inverse participation ratio: IPR = Σ c_i² / (Σ c_i)², from 1/N (flat) to 1 (one bin); 1/IPR is
the number of bins that effectively carry the power.

Both are NaN for an all-zero spectrum (0/0): it has no sparsity.
"""

import torch


def gini(spectra: torch.Tensor) -> torch.Tensor:
    """Hurley–Rickard Gini index of each spectrum along the last axis."""
    ascending = spectra.double().abs().sort(dim=-1).values
    n = ascending.shape[-1]
    rank = torch.arange(1, n + 1, dtype=torch.float64)
    weights = (n - rank + 0.5) / n
    shares = ascending / ascending.sum(dim=-1, keepdim=True)
    return 1 - 2 * (shares * weights).sum(dim=-1)


def ipr(spectra: torch.Tensor) -> torch.Tensor:
    """Inverse participation ratio Σc²/(Σc)² of each spectrum along the last axis."""
    spectra = spectra.double()
    return spectra.square().sum(dim=-1) / spectra.sum(dim=-1).square()

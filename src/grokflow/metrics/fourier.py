"""Fourier analysis over Z_p shared by the representation metrics.

The number tokens 0 … p−1 are the group Z_p; a function f(x) on it has the DFT
F(k) = Σ_x f(x) e^{−2πikx/p}. For real f, frequencies k and p−k carry the same power, so the
spectrum is indexed by k = 0 … ⌊p/2⌋ (`torch.fft.rfft`). The real orthonormal Fourier basis has
the constant row 1/√p and rows √(2/p)·cos(2πkx/p), √(2/p)·sin(2πkx/p) for k = 1 … ⌊(p−1)/2⌋
(and (−1)^x/√p when p is even). Reference: Nanda et al. 2023, "Progress measures for grokking
via mechanistic interpretability".
"""

import math

import torch


def embedding_only(model) -> list[str]:
    """A runner `names` function for metrics that read W_E alone."""
    return ["W_E"]


def number_embeddings(tensors: dict[str, torch.Tensor], p: int) -> torch.Tensor:
    """E (… × p × d_model): the rows of W_E for the numbers 0 … p−1 (without '='), in float64."""
    return tensors["W_E"][..., :p, :].double()


def number_unembeddings(tensors: dict[str, torch.Tensor], p: int) -> torch.Tensor:
    """U (… × p × d_model): the columns of W_U for the numbers 0 … p−1, as rows, in float64."""
    return tensors["W_U"][..., :p].transpose(-1, -2).double()


def fourier_basis(p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The real orthonormal Fourier basis of Z_p as rows (p × p), and the frequency of each row."""
    x = torch.arange(p, dtype=torch.float64)
    rows, freqs = [torch.full((p,), 1 / math.sqrt(p), dtype=torch.float64)], [0]
    for k in range(1, (p - 1) // 2 + 1):
        angle = 2 * math.pi * k * x / p
        rows += [math.sqrt(2 / p) * torch.cos(angle), math.sqrt(2 / p) * torch.sin(angle)]
        freqs += [k, k]
    if p % 2 == 0:
        rows.append(torch.cos(math.pi * x) / math.sqrt(p))
        freqs.append(p // 2)
    return torch.stack(rows), torch.tensor(freqs)


def power_per_frequency(matrix: torch.Tensor) -> torch.Tensor:
    """|F(k)|² of every column of `matrix` (… × p × d) over x, summed over columns: (… × ⌊p/2⌋+1).

    Frequencies 1 … ⌈p/2⌉−1 stand for both k and p−k, so their power is doubled; the spectrum then
    sums to p·‖matrix‖²_F (Parseval).
    """
    p = matrix.shape[-2]
    power = torch.fft.rfft(matrix.double(), dim=-2).abs().square().sum(dim=-1)
    doubled = torch.ones_like(power)
    doubled[..., 1 : (p + 1) // 2] = 2.0
    return power * doubled

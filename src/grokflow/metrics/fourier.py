"""Fourier analysis over a cyclic group of order n, shared by the representation metrics.

The number tokens are read as the elements i = 0 … n−1 of the op's group (groups.NumberGroup:
Z_p with n = p, or the multiplicative group in discrete-log order with n = p−1); a function f(i)
on it has the DFT F(k) = Σ_i f(i) e^{−2πiki/n}. For real f, frequencies k and n−k carry the same
power, so the spectrum is indexed by k = 0 … ⌊n/2⌋ (`torch.fft.rfft`). The real orthonormal
Fourier basis has the constant row 1/√n and rows √(2/n)·cos(2πki/n), √(2/n)·sin(2πki/n) for
k = 1 … ⌊(n−1)/2⌋ (and (−1)^i/√n when n is even). Reference: Nanda et al. 2023, "Progress
measures for grokking via mechanistic interpretability".
"""

from collections.abc import Sequence
import math

import torch

from .groups import NumberGroup


def embedding_only(model) -> list[str]:
    """A runner `names` function for metrics that read W_E alone."""
    return ["W_E"]


def number_embeddings(tensors: dict[str, torch.Tensor], group: NumberGroup) -> torch.Tensor:
    """E (… × n × d_model): the rows of W_E of the group's elements, in its order, in float64."""
    return tensors["W_E"][..., group.index, :].double()


def number_unembeddings(tensors: dict[str, torch.Tensor], group: NumberGroup) -> torch.Tensor:
    """U (… × n × d_model): the columns of W_U of the group's elements, as rows, in float64."""
    return tensors["W_U"][..., group.index].transpose(-1, -2).double()


def fourier_basis(p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The real orthonormal Fourier basis of the cyclic group of order p as rows (p × p), and the
    frequency of each row."""
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


def fourier_rows(p: int, frequencies: Sequence[int] | None) -> torch.Tensor:
    """The rows of fourier_basis(p) whose frequency is in `frequencies`, in basis order (None:
    every frequency k ≠ 0, i.e. all but the constant row)."""
    basis, row_frequencies = fourier_basis(p)
    if frequencies is None:
        return basis[row_frequencies != 0]
    return basis[torch.isin(row_frequencies, torch.tensor(list(frequencies), dtype=row_frequencies.dtype))]


def power_per_frequency(matrix: torch.Tensor) -> torch.Tensor:
    """|F(k)|² of every column of `matrix` (… × n × d) over the group, summed over columns:
    (… × ⌊n/2⌋+1).

    Frequencies 1 … ⌈n/2⌉−1 stand for both k and n−k, so their power is doubled; the spectrum then
    sums to n·‖matrix‖²_F (Parseval).
    """
    p = matrix.shape[-2]
    power = torch.fft.rfft(matrix.double(), dim=-2).abs().square().sum(dim=-1)
    doubled = torch.ones_like(power)
    doubled[..., 1 : (p + 1) // 2] = 2.0
    return power * doubled

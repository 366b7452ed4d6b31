"""The layer-0 QK circuit of the number tokens and its 2-D Fourier spectrum over the op's group.

For head h of layer 0, with E the number embeddings in the group's element order (groups.py:
Z_p, n = p, for x+y and x−y; the multiplicative group in discrete-log order, n = p−1, token 0
left out, for x×y and x÷y), A_h = E W_Q[h] W_K[h]ᵀ Eᵀ (n × n): A[x, y] is the attention score
(before the 1/√d_head scale, without W_pos and LayerNorm) of a query token x for a key token y.
The sum over heads, head = −1, is Σ_h A_h = E W_Q W_Kᵀ Eᵀ with the layer's whole W_Q, W_K.
Only layer 0 reads the token embeddings; later layers read a residual stream that already mixes
the tokens, so E W_Q W_Kᵀ Eᵀ would not be their circuit, and they are left out.

Centred 2-D DFT power: F(k1, k2) = Σ_{x,y} A[x, y] e^{−2πi(k1·x + k2·y)/n},
P(k1, k2) = |F(k1, k2)|², with k1, k2 = −⌊n/2⌋ … ⌈n/2⌉−1 (fftshift order); Parseval gives
Σ P = n²·‖A‖²_F. A circuit that is a function of x − y (or of x + y) in the group — the Fourier
mechanism of Nanda et al. 2023, "Progress measures for grokking via mechanistic
interpretability" — puts its power on k2 = −k1 (or k2 = k1). The diagonal fraction is
Σ_{k2 ≡ ±k1 (mod n), (k1, k2) ≠ (0, 0)} P / Σ_{(k1, k2) ≠ (0, 0)} P, each cell counted once
(≡ mod n so that −n/2 pairs with itself for even n); it is NaN when A is constant. Its random
baseline is the share of those cells, |diagonal cells| / (n² − 1) (1/16 for n = 31): the
expected fraction when the power is spread evenly, as for a matrix of i.i.d. entries.
"""

import torch

from ..model import ModelConfig
from .fourier import number_embeddings
from .groups import NumberGroup, chunk_group

SUM_OVER_HEADS = -1
LAYER = 0


def qk_circuits(embeddings: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor) -> torch.Tensor:
    """A_h = E W_Q[h] W_K[h]ᵀ Eᵀ for E (..., n, d), W_Q and W_K (..., heads, d, d_head):
    shape (..., heads, n, n), float64."""
    queries = torch.einsum("...xd,...hde->...hxe", embeddings.double(), w_q.double())
    keys = torch.einsum("...yd,...hde->...hye", embeddings.double(), w_k.double())
    return queries @ keys.transpose(-1, -2)


def centred_power(circuits: torch.Tensor) -> torch.Tensor:
    """P(k1, k2) = |F(k1, k2)|² of the last two axes, zero frequency centred (fftshift)."""
    spectrum = torch.fft.fftshift(torch.fft.fft2(circuits.double()), dim=(-2, -1))
    return spectrum.abs().square()


def centred_frequencies(p: int) -> torch.Tensor:
    """The frequencies of the centred axes of a group of order p: −⌊p/2⌋ … ⌈p/2⌉−1."""
    return torch.fft.fftshift(torch.fft.fftfreq(p, d=1.0 / p)).round().long()


def diagonal_mask(p: int) -> torch.Tensor:
    """True on the cells k2 ≡ ±k1 (mod p) of the centred p × p grid, except (0, 0)."""
    k1, k2 = torch.meshgrid(centred_frequencies(p), centred_frequencies(p), indexing="ij")
    diagonal = ((k1 - k2) % p == 0) | ((k1 + k2) % p == 0)
    return diagonal & ~((k1 == 0) & (k2 == 0))


def diagonal_fraction(power: torch.Tensor) -> torch.Tensor:
    """Share of the non-(0, 0) power of centred spectra (..., p, p) on the diagonals k2 = ±k1."""
    p = power.shape[-1]
    mask = diagonal_mask(p)
    not_origin = torch.ones(p, p, dtype=torch.bool)
    not_origin[p // 2, p // 2] = False
    return (power * mask).sum(dim=(-2, -1)) / (power * not_origin).sum(dim=(-2, -1))


def random_diagonal_fraction(p: int) -> float:
    """The diagonal fraction of an evenly spread spectrum: diagonal cells / (p² − 1)."""
    return int(diagonal_mask(p).sum()) / (p * p - 1)


def tensor_names(model: ModelConfig) -> list[str]:
    """The checkpoint tensors the QK circuit reads: W_E and layer 0's W_Q, W_K."""
    return ["W_E", f"blocks.{LAYER}.W_Q", f"blocks.{LAYER}.W_K"]


def circuit_spectra(stacked: dict[str, torch.Tensor], group: NumberGroup) -> torch.Tensor:
    """Centred power of layer 0's circuits of a stack of checkpoints: (checkpoints, heads + 1, n, n);
    the last head index holds the sum over heads (head −1)."""
    embeddings = number_embeddings(stacked, group)
    heads = qk_circuits(embeddings, stacked[f"blocks.{LAYER}.W_Q"], stacked[f"blocks.{LAYER}.W_K"])
    return centred_power(torch.cat([heads, heads.sum(dim=-3, keepdim=True)], dim=-3))


def head_labels(model: ModelConfig) -> list[int]:
    """The head column of each index of circuit_spectra's head axis: 0 … heads−1, then −1."""
    return [*range(model.n_heads), SUM_OVER_HEADS]


def spectrum_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row per (head, k1, k2) of layer 0 with its power (long format)."""
    group = chunk_group(infos, args)
    spectra = circuit_spectra(stacked, group)
    frequencies = centred_frequencies(group.order).tolist()
    cells = [(head, k1, k2) for head in head_labels(infos[0].model) for k1 in frequencies for k2 in frequencies]
    return [[{"layer": LAYER, "head": head, "k1": k1, "k2": k2, "power": power}
             for (head, k1, k2), power in zip(cells, checkpoint.flatten().tolist(), strict=True)]
            for checkpoint in spectra]


def diagonal_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row per head of layer 0: diagonal_fraction and its random_baseline."""
    group = chunk_group(infos, args)
    fractions = diagonal_fraction(circuit_spectra(stacked, group))
    baseline = random_diagonal_fraction(group.order)
    return [[{"layer": LAYER, "head": head, "diagonal_fraction": value, "random_baseline": baseline}
             for head, value in zip(head_labels(infos[0].model), checkpoint.tolist(), strict=True)]
            for checkpoint in fractions]

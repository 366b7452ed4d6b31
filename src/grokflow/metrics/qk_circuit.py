"""The QK circuit of the number tokens and its 2-D Fourier spectrum.

For layer l and head h, with E = W_E[:p] (the p number tokens, the same E for every layer),
A_h = E W_Q[h] W_K[h]ᵀ Eᵀ (p × p): A[x, y] is the attention score (before the 1/√d_head
scale and without LayerNorm) of a query token x for a key token y. The sum over heads, head = −1,
is Σ_h A_h = E W_Q W_Kᵀ Eᵀ with the layer's whole W_Q, W_K (d_model × heads·d_head).

Centred 2-D DFT power: F(k1, k2) = Σ_{x,y} A[x, y] e^{−2πi(k1·x + k2·y)/p},
P(k1, k2) = |F(k1, k2)|², with k1, k2 = −⌊p/2⌋ … ⌈p/2⌉−1 (fftshift order); Parseval gives
Σ P = p²·‖A‖²_F. A circuit that is a function of x − y (or of x + y) — the Fourier mechanism of
Nanda et al. 2023, "Progress measures for grokking via mechanistic interpretability" — puts its
power on k2 = −k1 (or k2 = k1). The diagonal fraction is
Σ_{k2 ≡ ±k1 (mod p), (k1, k2) ≠ (0, 0)} P / Σ_{(k1, k2) ≠ (0, 0)} P, each cell counted once
(≡ mod p so that −p/2 pairs with itself for even p); it is NaN when A is constant.
"""

import torch

from ..model import ModelConfig
from .fourier import number_embeddings

SUM_OVER_HEADS = -1


def qk_circuits(embeddings: torch.Tensor, w_q: torch.Tensor, w_k: torch.Tensor) -> torch.Tensor:
    """A_h = E W_Q[h] W_K[h]ᵀ Eᵀ for E (..., p, d), W_Q and W_K (..., heads, d, d_head):
    shape (..., heads, p, p), float64."""
    queries = torch.einsum("...xd,...hde->...hxe", embeddings.double(), w_q.double())
    keys = torch.einsum("...yd,...hde->...hye", embeddings.double(), w_k.double())
    return queries @ keys.transpose(-1, -2)


def centred_power(circuits: torch.Tensor) -> torch.Tensor:
    """P(k1, k2) = |F(k1, k2)|² of the last two axes, zero frequency centred (fftshift)."""
    spectrum = torch.fft.fftshift(torch.fft.fft2(circuits.double()), dim=(-2, -1))
    return spectrum.abs().square()


def centred_frequencies(p: int) -> torch.Tensor:
    """The frequencies of the centred axes: −⌊p/2⌋ … ⌈p/2⌉−1."""
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


def tensor_names(model: ModelConfig) -> list[str]:
    """The checkpoint tensors the QK circuit reads: W_E and every layer's W_Q, W_K."""
    blocks = (f"blocks.{layer}.{name}" for layer in range(model.n_layers) for name in ("W_Q", "W_K"))
    return ["W_E", *blocks]


def circuit_spectra(stacked: dict[str, torch.Tensor], model: ModelConfig) -> torch.Tensor:
    """Centred power of every circuit of a stack of checkpoints: (checkpoints, layers, heads + 1, p, p);
    the last head index holds the sum over heads (head −1)."""
    embeddings = number_embeddings(stacked, model.p)
    per_layer = []
    for layer in range(model.n_layers):
        heads = qk_circuits(embeddings, stacked[f"blocks.{layer}.W_Q"], stacked[f"blocks.{layer}.W_K"])
        per_layer.append(torch.cat([heads, heads.sum(dim=-3, keepdim=True)], dim=-3))
    return centred_power(torch.stack(per_layer, dim=1))


def head_labels(model: ModelConfig) -> list[int]:
    """The head column of each index of circuit_spectra's head axis: 0 … heads−1, then −1."""
    return [*range(model.n_heads), SUM_OVER_HEADS]


def spectrum_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row per (layer, head, k1, k2) with its power (long format)."""
    model = infos[0].model
    spectra = circuit_spectra(stacked, model)
    frequencies = centred_frequencies(model.p).tolist()
    cells = [(layer, head, k1, k2) for layer in range(model.n_layers) for head in head_labels(model)
             for k1 in frequencies for k2 in frequencies]
    return [[{"layer": layer, "head": head, "k1": k1, "k2": k2, "power": power}
             for (layer, head, k1, k2), power in zip(cells, checkpoint.flatten().tolist(), strict=True)]
            for checkpoint in spectra]


def diagonal_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint, one row per (layer, head) with its diagonal_fraction."""
    model = infos[0].model
    fractions = diagonal_fraction(circuit_spectra(stacked, model))
    return [[{"layer": layer, "head": head, "diagonal_fraction": value}
             for layer, layer_values in enumerate(checkpoint.tolist())
             for head, value in zip(head_labels(model), layer_values, strict=True)]
            for checkpoint in fractions]

"""Phase coherence of the number embeddings E (n × d: W_E's rows of the op's group, in its element
order x = 0 … n−1, groups.py): how linear the DFT phase of each column is in the frequency.

For column j, F_j(k) = Σ_x E[x, j] e^{−2πikx/n} = |A_j(k)| e^{iφ_j(k)} for k = 1 … ⌊n/2⌋
(k = 0 is left out: its phase is 0 or π, the sign of the column mean, and says nothing about
position). φ_j is unwrapped over k as numpy.unwrap does (each step brought into [−π, π), a step of
exactly −π kept as +π when the raw step was positive). Then a weighted least-squares line
φ ≈ a + b·k with weights w_k = |A_j(k)|, and its weighted R² = S_kφ² / (S_kk · S_φφ), where
S_uv = Σ_k w_k (u_k − ū)(v_k − v̄) and ū = Σ w u / Σ w; b = S_kφ / S_kk is the slope.

A column that is a symmetric bump centred at x₀ has F(k) = e^{−2πikx₀/p}·G(k) with G real, so
R² = 1 and, after unwrapping, slope = −2πx₀'/n where x₀' ≡ x₀ (mod n) lies in (−n/2, n/2)
(unwrapping keeps the step per k within ±π). A phase that is constant in k (S_φφ below
PHASE_TOLERANCE² · Σw) is fitted exactly: R² = 1. A column with power at a single k has no
defined slope (NaN); an all-zero column has NaN R² and slope.

Summary row (column = −1): the mean of R² over columns weighted by the column norms ‖E[:, j]‖₂,
over the columns with a finite R²; its slope is NaN.

What it cannot see: R² asks whether a column is one bump localised in x (a phase linear in k).
A grokked model embeds x on circles (Nanda et al. 2023): each column is a sum of a few
cos(2πkx/n + θ_k) with phases θ_k that are arbitrary and unrelated across k, so its unwrapped
phase over the few strong k is no line, and R² need not move from where a random embedding has
it when the model groks. Phase coherence therefore measures localisation in
the number line, not Fourier structure; read the Fourier metrics (fourier_basis, gini_ipr,
key_frequencies) for that.
"""

import math

import torch

from .fourier import number_embeddings
from .groups import chunk_group

PHASE_TOLERANCE = 1e-9
MEAN_COLUMN = -1


def column_spectra(embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Amplitude |A_j(k)| and phase φ_j(k) of each column of (…, n, d), k = 1 … ⌊n/2⌋: (…, d, ⌊n/2⌋)."""
    spectrum = torch.fft.rfft(embeddings.double(), dim=-2)[..., 1:, :].transpose(-1, -2)
    return spectrum.abs(), spectrum.angle()


def unwrap(phase: torch.Tensor) -> torch.Tensor:
    """numpy.unwrap along the last axis (period 2π)."""
    step = phase.diff(dim=-1)
    wrapped = torch.remainder(step + math.pi, 2 * math.pi) - math.pi
    wrapped = torch.where((wrapped == -math.pi) & (step > 0), math.pi, wrapped)
    correction = torch.where(step.abs() < math.pi, 0.0, wrapped - step).cumsum(dim=-1)
    return phase + torch.nn.functional.pad(correction, (1, 0))


def weighted_line_fit(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Slope b and R² of the weighted least-squares line y ≈ a + b·x along the last axis."""
    total = weights.sum(dim=-1, keepdim=True)
    dx = x - (weights * x).sum(dim=-1, keepdim=True) / total
    dy = y - (weights * y).sum(dim=-1, keepdim=True) / total
    s_xx, s_xy, s_yy = ((weights * u * v).sum(dim=-1) for u, v in ((dx, dx), (dx, dy), (dy, dy)))
    constant = s_yy <= PHASE_TOLERANCE**2 * total.squeeze(-1)
    r2 = torch.where(constant, 1.0, s_xy.square() / (s_xx * s_yy))
    return s_xy / s_xx, r2


def phase_fit(embeddings: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Slope and R² of the unwrapped phase against k for every column of (…, n, d): (…, d) each."""
    amplitude, phase = column_spectra(embeddings)
    k = torch.arange(1, amplitude.shape[-1] + 1, dtype=torch.float64)
    return weighted_line_fit(k, unwrap(phase), amplitude)


def norm_weighted_mean(r2: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
    """Σ_j ‖E[:, j]‖ R²_j / Σ_j ‖E[:, j]‖ over the columns with a finite R²: (…,)."""
    weights = torch.where(r2.isfinite(), embeddings.double().norm(dim=-2), 0.0)
    return (weights * r2.nan_to_num()).sum(dim=-1) / weights.sum(dim=-1)


def phase_coherence_rows(stacked: dict[str, torch.Tensor], infos, args=None) -> list[list[dict]]:
    """For each checkpoint: the norm-weighted mean row (column −1), then one row per column j."""
    embeddings = number_embeddings(stacked, chunk_group(infos, args))
    slopes, r2 = phase_fit(embeddings)
    means = norm_weighted_mean(r2, embeddings)
    rows = []
    for mean, column_r2, column_slopes in zip(means.tolist(), r2.tolist(), slopes.tolist(), strict=True):
        rows.append([{"column": MEAN_COLUMN, "r2": mean, "slope": math.nan}]
                    + [{"column": j, "r2": value, "slope": slope}
                       for j, (value, slope) in enumerate(zip(column_r2, column_slopes, strict=True))])
    return rows

"""Key frequencies of the number embeddings at the end of training, over seeds.

For each seed's final checkpoint, P_s(k) = fourier.power_per_frequency(E)(k) for k = 1 … ⌊p/2⌋
(k = 0, the column means, left out), f_s(k) = P_s(k) / Σ_k P_s(k); the seeds' fractions are
averaged, f(k) = mean_s f_s(k). The key frequencies are the fewest frequencies, strongest first,
whose fractions sum to ≥ the energy fraction F (up to TOLERANCE, so that e.g. four of five equal
frequencies reach F = 0.8; among fractions equal up to rounding the order is arbitrary).
Reference: Nanda et al. 2023 (the handful of key frequencies a grokked model uses).
"""

from collections.abc import Sequence

import pandas as pd
import torch

from ..errors import GrokflowError
from .fourier import number_embeddings
from .fourier_basis import nonzero_frequency_power
from .runner import load_stack

ENERGY_FRACTION = 0.8
TOLERANCE = 1e-12


def mean_power_fractions(embeddings: torch.Tensor) -> torch.Tensor:
    """f(k) for k = 1 … ⌊p/2⌋ from a stack of embeddings (one per seed), (S, p, d) → (⌊p/2⌋,)."""
    power = nonzero_frequency_power(embeddings)
    return (power / power.sum(dim=-1, keepdim=True)).mean(dim=0)


def key_frequency_table(fractions: torch.Tensor, energy_fraction: float = ENERGY_FRACTION) -> pd.DataFrame:
    """rank, frequency, power_fraction, cumulative_fraction of the key frequencies of f(k), k = 1 …"""
    order = torch.sort(fractions, descending=True).indices
    cumulative = fractions[order].cumsum(dim=0)
    count = int((cumulative < energy_fraction - TOLERANCE).sum()) + 1
    return pd.DataFrame({"rank": range(1, count + 1), "frequency": (order[:count] + 1).tolist(),
                         "power_fraction": fractions[order[:count]].tolist(),
                         "cumulative_fraction": cumulative[:count].tolist()})


def final_embeddings(paths: Sequence) -> torch.Tensor:
    """E of each checkpoint, checking that they are one op's checkpoints of distinct seeds."""
    stacked, infos = load_stack(paths, lambda model: ["W_E"])
    seeds = [info.seed for info in infos]
    if len(set(seeds)) < len(seeds):
        raise GrokflowError(f"key frequencies take one (final) checkpoint per seed; got seeds {seeds}")
    if len({info.op for info in infos}) > 1:
        raise GrokflowError("key frequencies take the checkpoints of one op")
    return number_embeddings(stacked, infos[0].model.p)


def key_frequencies(paths: Sequence, energy_fraction: float = ENERGY_FRACTION) -> pd.DataFrame:
    """The key-frequency table of the final checkpoints `paths` (one per seed)."""
    if not 0 < energy_fraction <= 1:
        raise GrokflowError(f"--energy-fraction must be in (0, 1], got {energy_fraction}")
    return key_frequency_table(mean_power_fractions(final_embeddings(paths)), energy_fraction)

"""Key frequencies of the number embeddings at the end of training, one set per seed.

Each seed grokks with its own handful of frequencies, so the sets are never averaged. For a
seed's final checkpoint, with E its number embeddings read in the op's group (groups.py, order
n), P(k) = fourier.power_per_frequency(E)(k) for k = 1 … ⌊n/2⌋ (k = 0, the column means, left
out) and f(k) = P(k) / Σ_k P(k). The seed's key frequencies are the fewest frequencies, strongest
first, whose fractions sum to ≥ the energy fraction F (up to TOLERANCE, so that e.g. four of five
equal frequencies reach F = 0.8; among fractions equal up to rounding the order is arbitrary).
Reference: Nanda et al. 2023 (the handful of key frequencies a grokked model uses).

key_frequencies.csv: group, seed, rank, frequency, power_fraction, cumulative_fraction; one row
per key frequency of each seed.
"""

from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from ..errors import GrokflowError
from ..settings import KeyFrequencySettings
from .fourier import number_embeddings
from .fourier_basis import nonzero_frequency_power
from .groups import DEFAULT_FOURIER_GROUP, chunk_group
from ..metric_runner import load_stack

ENERGY_FRACTION = KeyFrequencySettings.energy_fraction
TOLERANCE = 1e-12
COLUMNS = ("group", "seed", "rank", "frequency", "power_fraction", "cumulative_fraction")


def power_fractions(embeddings: torch.Tensor) -> torch.Tensor:
    """f(k) for k = 1 … ⌊n/2⌋ of each embedding of a stack, (S, n, d) → (S, ⌊n/2⌋)."""
    power = nonzero_frequency_power(embeddings)
    return power / power.sum(dim=-1, keepdim=True)


def key_frequency_table(fractions: torch.Tensor, energy_fraction: float = ENERGY_FRACTION) -> pd.DataFrame:
    """rank, frequency, power_fraction, cumulative_fraction of the key frequencies of one f(k), k = 1 …"""
    order = torch.sort(fractions, descending=True).indices
    cumulative = fractions[order].cumsum(dim=0)
    count = int((cumulative < energy_fraction - TOLERANCE).sum()) + 1
    return pd.DataFrame({"rank": range(1, count + 1), "frequency": (order[:count] + 1).tolist(),
                         "power_fraction": fractions[order[:count]].tolist(),
                         "cumulative_fraction": cumulative[:count].tolist()})


def key_frequencies(paths: Sequence, energy_fraction: float = ENERGY_FRACTION,
                    fourier_group: str = DEFAULT_FOURIER_GROUP) -> pd.DataFrame:
    """The key-frequency table of the final checkpoints `paths` (one per seed of one op)."""
    if not 0 < energy_fraction <= 1:
        raise GrokflowError(f"--energy-fraction must be in (0, 1], got {energy_fraction}")
    stacked, infos = load_stack(paths, lambda model: ["W_E"])
    seeds = [info.seed for info in infos]
    if len(set(seeds)) < len(seeds):
        raise GrokflowError(f"key frequencies take one (final) checkpoint per seed; got seeds {seeds}")
    group = chunk_group(infos, Namespace(fourier_group=fourier_group))
    fractions = power_fractions(number_embeddings(stacked, group))
    tables = [key_frequency_table(seed_fractions, energy_fraction).assign(group=group.name, seed=seed)
              for seed, seed_fractions in zip(seeds, fractions, strict=True)]
    return pd.concat(tables, ignore_index=True)[list(COLUMNS)].sort_values(["seed", "rank"], ignore_index=True)


def read_key_frequencies(path, group: str | None = None) -> dict[int, list[int]]:
    """Each seed's key frequencies (sorted, without 0) from a key_frequencies.csv; with `group`,
    the CSV must have been computed in that group."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"key-frequencies CSV {path} does not exist")
    table = pd.read_csv(path)
    missing = [column for column in ("group", "seed", "frequency") if column not in table.columns]
    if missing:
        raise GrokflowError(f"{path} lacks the column(s) {', '.join(missing)} (one set per seed is needed)")
    if group is not None and set(table["group"]) != {group}:
        raise GrokflowError(f"{path} holds key frequencies of the {', '.join(sorted(set(table['group'])))} "
                            f"group, but this metric reads the {group} group; rerun key_frequencies")
    return {int(seed): sorted({int(k) for k in rows["frequency"] if k != 0})
            for seed, rows in table.groupby("seed")}


def seed_frequencies(sets: dict[int, list[int]], seed: int, path) -> list[int]:
    """The key frequencies of `seed` from read_key_frequencies(path), or a GrokflowError naming the
    seeds the CSV has."""
    if seed not in sets:
        have = ", ".join(str(s) for s in sorted(sets)) or "none"
        raise GrokflowError(f"{path} has no key frequencies for seed {seed} (it has seed(s) {have}); "
                            "rerun key_frequencies on every seed's final checkpoint")
    return sets[seed]

"""Modular-arithmetic datasets: all pairs (x, y), tokens [x, y, =], and the train/test split.

Division x÷y means x · y⁻¹ mod p with y ≠ 0 (y⁻¹ = y^(p−2) by Fermat, so p must be prime).
"""

from dataclasses import dataclass
import zlib

import numpy as np
import torch

from .arithmetic import OPS, is_prime
from .errors import GrokflowError


def answer(op: str, x: np.ndarray, y: np.ndarray, p: int) -> np.ndarray:
    """The label of (x, y) under `op`, mod p."""
    if op == "x+y":
        return (x + y) % p
    if op == "x-y":
        return (x - y) % p
    if op == "x×y":
        return (x * y) % p
    if op == "x÷y":
        inverse = np.array([pow(int(v), p - 2, p) for v in y], dtype=np.int64)
        return (x * inverse) % p
    raise GrokflowError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")


def all_pairs(op: str, p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every input of the task as tokens [x, y, =] (the '=' token is p) and its label.

    p² pairs, or p(p−1) for x÷y where y = 0 is excluded. Rows are ordered by x, then y.
    """
    if op == "x÷y" and not is_prime(p):
        raise GrokflowError(f"x÷y needs a prime modulus (y⁻¹ mod p), but p = {p}")
    x, y = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    x, y = x.ravel(), y.ravel()
    if op == "x÷y":
        x, y = x[y != 0], y[y != 0]
    labels = answer(op, x, y, p)
    tokens = np.stack([x, y, np.full_like(x, p)], axis=1)
    return torch.from_numpy(tokens), torch.from_numpy(labels)


@dataclass(frozen=True)
class Split:
    """Train and test tensors of one task."""

    train_inputs: torch.Tensor
    train_labels: torch.Tensor
    test_inputs: torch.Tensor
    test_labels: torch.Tensor


def split_seed(op: str, p: int, seed: int) -> list[int]:
    """Entropy for the split's permutation, stable across Python runs (crc32, not hash())."""
    return [seed, p, zlib.crc32(op.encode())]


def train_test_split(op: str, p: int, seed: int, train_fraction: float) -> Split:
    """Deterministic split of all pairs: the first round(fraction·N) of a seeded permutation.

    The permutation depends on (op, p, seed) only, so splits of one seed are nested in the
    fraction, and the split is a pure function of (p, op, seed, fraction).
    """
    inputs, labels = all_pairs(op, p)
    n_train = int(round(train_fraction * len(labels)))
    if not 0 < n_train < len(labels):
        raise GrokflowError(f"train fraction {train_fraction} leaves an empty train or test set")
    order = torch.from_numpy(np.random.default_rng(split_seed(op, p, seed)).permutation(len(labels)))
    train, test = order[:n_train], order[n_train:]
    return Split(inputs[train], labels[train], inputs[test], labels[test])

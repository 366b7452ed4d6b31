"""The group whose Fourier analysis reads an op's number tokens, and the order of its elements.

- x+y, x−y: the additive group Z_p; element i is token i, i = 0 … p−1 (order n = p).
- x×y, x÷y: the multiplicative group (Z/pZ)^× of the nonzero residues, cyclic of order n = p−1
  for prime p; element i is token gⁱ mod p, i = 0 … p−2 (discrete-log order), with g the
  smallest primitive root of p. Token 0 is not in the group and is left out.

Every Fourier metric reads the rows of W_E (and W_U) in the group's element order, so that the
Fourier basis of the cyclic group of order n (fourier.fourier_basis(n)) is the group's own: a
grokked x×y network builds its features from cos(2πk·log_g(x)/(p−1)), not from cos(2πkx/p), and
the step "to the next element" is x ↦ x+1 for Z_p and x ↦ g·x for (Z/pZ)^×. References: any
number-theory text for primitive roots; Chughtai et al. 2023, "A toy model of universality:
reverse engineering how networks learn group operations" (networks use the representations of
the task's group).

`fourier_group` chooses the reading: `auto` (the op's group) or `additive` (Z_p for every op).
"""

import argparse
from dataclasses import dataclass

import torch

from ..arithmetic import ADDITIVE, MULTIPLICATIVE, MULTIPLICATIVE_OPS, OPS, smallest_primitive_root
from ..errors import GrokflowError
from ..settings import GroupSettings

FOURIER_GROUPS = ("auto", ADDITIVE)
DEFAULT_FOURIER_GROUP = GroupSettings.fourier_group


@dataclass(frozen=True)
class NumberGroup:
    """A cyclic group of number tokens: its name and the token of each element i = 0 … n−1, in
    the order i ↦ i+1 of the group's generator."""

    name: str
    tokens: tuple[int, ...]

    @property
    def order(self) -> int:
        return len(self.tokens)

    @property
    def index(self) -> torch.Tensor:
        """The tokens as a LongTensor, for indexing W_E's rows."""
        return torch.tensor(self.tokens, dtype=torch.long)


def discrete_log_tokens(p: int) -> tuple[int, ...]:
    """gⁱ mod p for i = 0 … p−2, g the smallest primitive root of p."""
    g = smallest_primitive_root(p)
    return tuple(pow(g, i, p) for i in range(p - 1))


def additive_group(p: int) -> NumberGroup:
    """Z_p: every number token in its natural order."""
    return NumberGroup(ADDITIVE, tuple(range(p)))


def number_group(op: str, p: int, fourier_group: str = DEFAULT_FOURIER_GROUP) -> NumberGroup:
    """The group the op's numbers are read in (see the module docstring)."""
    if op not in OPS:
        raise GrokflowError(f"unknown op {op!r}; expected one of {', '.join(OPS)}")
    if fourier_group not in FOURIER_GROUPS:
        raise GrokflowError(f"fourier group must be one of {', '.join(FOURIER_GROUPS)}, got {fourier_group!r}")
    if fourier_group == "auto" and op in MULTIPLICATIVE_OPS:
        return NumberGroup(MULTIPLICATIVE, discrete_log_tokens(p))
    return additive_group(p)


def chunk_group(infos, args=None) -> NumberGroup:
    """The group of a chunk of one op's checkpoints, read as args.fourier_group says (auto if absent)."""
    ops = {info.op for info in infos}
    if len(ops) > 1:
        raise GrokflowError(f"a Fourier metric takes the checkpoints of one op; got {', '.join(sorted(ops))}")
    return number_group(infos[0].op, infos[0].model.p, getattr(args, "fourier_group", DEFAULT_FOURIER_GROUP))


def add_group_argument(parser: argparse.ArgumentParser) -> None:
    """The --fourier-group option of every group-aware script."""
    parser.add_argument("--fourier-group", choices=FOURIER_GROUPS, default=DEFAULT_FOURIER_GROUP,
                        help="auto: x×y and x÷y in the multiplicative group (discrete-log order, token 0 "
                             "left out), x+y and x−y in Z_p; additive: every op in Z_p (default auto)")

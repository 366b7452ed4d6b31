"""The table-connectivity task, re-specified (the original request's labels are mostly −1; see
docs/design.md).

An example is a random graph on V vertices with degree ≤ C: C random perfect matchings (one
vertex left out when V is odd), each edge kept with probability ρ. Slot c of vertex v holds its
partner in matching c, or nothing. Every vertex gets a fresh Gaussian code per example, so the
model cannot memorise vertex identities. The sequence is V blocks of C + 1 tokens, block v =
[the codes of v's neighbours in slots 0 … C−1 (an empty-slot token where there is none), v's own
code], then the tail [query marker, code of s, code of t]: length V(C+1) + 3. Each token has
n_dims channels: a code of n_dims − 1 channels and a token-type channel. The label, read at the
last position, is whether s and t lie in the same connected component; half the examples are
connected pairs, half not.
"""

from dataclasses import dataclass

import torch

NEIGHBOUR, OWN, EMPTY, QUERY, SOURCE, TARGET = range(6)
TOKEN_TYPES = 6
DISCONNECTED = -1


@dataclass(frozen=True)
class TaskConfig:
    """The task's sizes: V vertices, degree ≤ C, edge probability ρ, n_dims channels per token
    (defaults: grokflow.settings.TableConnectivitySettings)."""

    V: int
    C: int
    rho: float
    n_dims: int

    @property
    def length(self) -> int:
        return self.V * (self.C + 1) + 3


@dataclass(frozen=True)
class Batch:
    tokens: torch.Tensor     # (B, L, n_dims): code channels, then the token type
    labels: torch.Tensor     # (B,) 1.0 when s and t are connected
    hops: torch.Tensor       # (B,) shortest-path length from s to t, DISCONNECTED if none
    neighbours: torch.Tensor  # (B, V, C) slot partners, −1 for an empty slot


def random_neighbours(count: int, config: TaskConfig, generator) -> torch.Tensor:
    """(count, V, C): slot c of vertex v is its partner in random matching c, kept with
    probability ρ, else −1."""
    V, C = config.V, config.C
    order = torch.rand(count, C, V, generator=generator).argsort(dim=-1)
    pairs = order[..., : V - V % 2].view(count, C, -1, 2)
    partner = torch.full((count, C, V), -1)
    kept = torch.rand(count, C, V // 2, generator=generator) < config.rho
    first, second = pairs[..., 0], pairs[..., 1]
    partner.scatter_(-1, first, torch.where(kept, second, -1))
    partner.scatter_(-1, second, torch.where(kept, first, -1))
    return partner.transpose(1, 2)


def components(neighbours: torch.Tensor) -> torch.Tensor:
    """(B, V) component label of every vertex: the smallest vertex index it can reach
    (min-label propagation, V rounds)."""
    count, V, _ = neighbours.shape
    label = torch.arange(V).expand(count, V).clone()
    safe = neighbours.clamp(min=0)
    for _ in range(V):
        reached = torch.where(neighbours >= 0, label.gather(1, safe.flatten(1)).view_as(neighbours), V)
        label = torch.minimum(label, reached.min(dim=-1).values)
    return label


def hop_distances(neighbours: torch.Tensor, sources: torch.Tensor) -> torch.Tensor:
    """(B, V) breadth-first distance from each example's source, DISCONNECTED where unreachable."""
    count, V, _ = neighbours.shape
    infinity = V + 1
    distance = torch.full((count, V), infinity)
    distance[torch.arange(count), sources] = 0
    safe = neighbours.clamp(min=0)
    for _ in range(V):
        via = torch.where(neighbours >= 0, distance.gather(1, safe.flatten(1)).view_as(neighbours) + 1, infinity)
        distance = torch.minimum(distance, via.min(dim=-1).values)
    return torch.where(distance >= infinity, DISCONNECTED, distance)


def choose_pairs(labels: torch.Tensor, component: torch.Tensor, generator):
    """For each example, a source s and target t ≠ s that are connected (label 1) or not
    (label 0), uniformly among such pairs; `feasible` is False where the graph has none."""
    count, V = component.shape
    same = component[:, :, None] == component[:, None, :]
    allowed = torch.where(labels[:, None, None].bool(), same, ~same) & ~torch.eye(V, dtype=torch.bool)
    scores = torch.rand(count, V * V, generator=generator).masked_fill(~allowed.flatten(1), -1.0)
    pick = scores.argmax(dim=-1)
    return pick // V, pick % V, allowed.flatten(1).any(dim=-1)


def encode(neighbours, sources, targets, config: TaskConfig, generator) -> torch.Tensor:
    """The token sequences (B, L, n_dims) of graphs with fresh random vertex codes."""
    count, V, C = neighbours.shape
    code_dim = config.n_dims - 1
    codes = torch.randn(count, V, code_dim, generator=generator) / code_dim**0.5
    padded = torch.cat([codes, torch.zeros(count, 1, code_dim)], dim=1)  # index V: no code
    slots = torch.where(neighbours >= 0, neighbours, V)
    own = torch.arange(V).expand(count, V)[..., None]
    tail = torch.stack([torch.full_like(sources, V), sources, targets], dim=1)
    index = torch.cat([torch.cat([slots, own], dim=-1).flatten(1), tail], dim=1)
    block_types = torch.tensor([NEIGHBOUR] * C + [OWN]).repeat(count, V, 1)
    block_types = torch.where(torch.cat([neighbours >= 0, own >= 0], dim=-1), block_types, EMPTY)
    types = torch.cat([block_types.flatten(1), torch.tensor([QUERY, SOURCE, TARGET]).expand(count, 3)], dim=1)
    gathered = padded.gather(1, index[..., None].expand(-1, -1, code_dim))
    return torch.cat([gathered, types[..., None].float()], dim=-1)


def sample_batch(count: int, config: TaskConfig, generator) -> Batch:
    """`count` examples, labels balanced by construction (half 1, half 0, shuffled)."""
    labels = (torch.randperm(count, generator=generator) < count // 2).long()
    neighbours = torch.empty(count, config.V, config.C, dtype=torch.long)
    sources, targets = torch.empty(count, dtype=torch.long), torch.empty(count, dtype=torch.long)
    todo = torch.ones(count, dtype=torch.bool)
    while todo.any():
        graphs = random_neighbours(int(todo.sum()), config, generator)
        s, t, feasible = choose_pairs(labels[todo], components(graphs), generator)
        rows = todo.nonzero()[:, 0][feasible]
        neighbours[rows], sources[rows], targets[rows] = graphs[feasible], s[feasible], t[feasible]
        todo[rows] = False
    hops = hop_distances(neighbours, sources).gather(1, targets[:, None])[:, 0]
    tokens = encode(neighbours, sources, targets, config, generator)
    return Batch(tokens, labels.float(), hops, neighbours)


@dataclass(frozen=True)
class ConstantAnswer:
    """The constant predictor of the majority label, scored by hop distance (see constant_answer)."""

    label: int                   # the answer it always gives: 1 (connected) or 0 (not connected)
    connected_fraction: float    # the fraction of the scored pairs that are connected
    accuracy: dict[int, float]   # hop distance (DISCONNECTED for "not connected") → its accuracy


def constant_answer(hops, counts) -> ConstantAnswer:
    """The accuracy by hop distance of always answering the majority label of a scored set.

    `hops` and `counts` give, per hop distance of the scored pairs (DISCONNECTED where s and t are
    not connected), how many pairs there are, as in a by-hop table (hop, count, …). A pair at a
    finite hop distance is connected (label 1) and one at DISCONNECTED is not (label 0), so every
    hop group holds one label only: the constant answer is right on every pair of the groups of its
    label (accuracy 1) and wrong on every pair of the others (accuracy 0). Its overall accuracy is
    the majority-class fraction, max(connected_fraction, 1 − connected_fraction). A tie (the
    balanced labels sample_batch makes) goes to "connected", the answer that scores 1 at every
    finite hop distance.
    """
    counts = {int(hop): int(count) for hop, count in zip(hops, counts)}
    total = sum(counts.values())
    if total == 0:
        raise ValueError("constant_answer needs at least one scored pair")
    connected = sum(count for hop, count in counts.items() if hop != DISCONNECTED) / total
    label = int(connected >= 0.5)
    accuracy = {hop: float((hop != DISCONNECTED) == bool(label)) for hop in counts}
    return ConstantAnswer(label, connected, accuracy)

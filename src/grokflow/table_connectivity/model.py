"""The pre-LN transformer of the table-connectivity study, with low-rank or dense positions and a
boolean attention mask per layer (the original request's LowRankTransformerModel, written here).

Masks (True = may attend), sequence length L = V(C+1) + 3:
- local layers (the first `local_layers`): block-diagonal, each block of C+1 tokens attends within
  itself and each tail token only to itself: V(C+1)² + 3 pairs (323 of 6,889 at V=20, C=3);
- global layers (the rest): only among the V block-last tokens and the 3 tail tokens,
  (V+3)² pairs (529 of 6,889); every other row is empty, and its attention output is zero.
The dense baseline attends everywhere (L² pairs) with one learned position per token.
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from .task import TOKEN_TYPES, TaskConfig


@dataclass(frozen=True)
class NetConfig:
    """The network: width, heads, depth and how many of its first layers are local (defaults:
    grokflow.settings.TableConnectivitySettings; the depth is each job's)."""

    d_model: int
    n_heads: int
    n_layers: int
    local_layers: int
    lowrank: bool = True  # low-rank positions and block masks; False: the dense baseline


def local_mask(V: int, C: int) -> torch.Tensor:
    """Block-diagonal (L, L) mask: C+1 blocks attend within themselves, tail tokens to themselves."""
    block = torch.arange(V * (C + 1)) // (C + 1)
    group = torch.cat([block, V + torch.arange(3)])
    return group[:, None] == group[None, :]


def global_mask(V: int, C: int) -> torch.Tensor:
    """(L, L) mask among the block-last tokens and the 3 tail tokens only."""
    length = V * (C + 1) + 3
    key = torch.zeros(length, dtype=torch.bool)
    key[C :: C + 1] = True  # the block-last tokens, and (C+1 apart from the last one) the first tail token
    key[-3:] = True
    return key[:, None] & key[None, :]


def layer_masks(task: TaskConfig, net: NetConfig) -> list[torch.Tensor | None]:
    """Each layer's mask; None (attend everywhere) for the dense baseline."""
    if not net.lowrank:
        return [None] * net.n_layers
    return [local_mask(task.V, task.C) if layer < net.local_layers else global_mask(task.V, task.C)
            for layer in range(net.n_layers)]


def masked_attention(q, k, v, mask: torch.Tensor | None) -> torch.Tensor:
    """scaled_dot_product_attention under a boolean mask; rows with no allowed key give 0, not NaN."""
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v)
    empty = ~mask.any(dim=-1)
    safe = mask | torch.diag(empty)
    return F.scaled_dot_product_attention(q, k, v, attn_mask=safe).masked_fill(empty[:, None], 0.0)


class Block(nn.Module):
    def __init__(self, net: NetConfig):
        super().__init__()
        self.n_heads = net.n_heads
        self.ln1, self.ln2 = nn.LayerNorm(net.d_model), nn.LayerNorm(net.d_model)
        self.qkv = nn.Linear(net.d_model, 3 * net.d_model)
        self.out = nn.Linear(net.d_model, net.d_model)
        self.mlp = nn.Sequential(nn.Linear(net.d_model, 4 * net.d_model), nn.GELU(),
                                 nn.Linear(4 * net.d_model, net.d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(batch, length, 3, self.n_heads, -1).permute(2, 0, 3, 1, 4)
        attended = masked_attention(q, k, v, mask).transpose(1, 2).reshape(batch, length, d)
        x = x + self.out(attended)
        return x + self.mlp(self.ln2(x))


class ConnectivityTransformer(nn.Module):
    """tokens (B, L, n_dims) → logit (B,) of 'connected', read at the last position."""

    def __init__(self, task: TaskConfig, net: NetConfig):
        super().__init__()
        self.task, self.net = task, net
        d = net.d_model
        self.read_code = nn.Linear(task.n_dims - 1, d)
        self.type_embedding = nn.Embedding(TOKEN_TYPES, d)
        if net.lowrank:
            self.pos_shared = nn.Parameter(torch.randn(task.C + 1, d) * 0.02)
            self.pos_tail = nn.Parameter(torch.randn(3, d) * 0.02)
        else:
            self.pos_dense = nn.Parameter(torch.randn(task.length, d) * 0.02)
        self.blocks = nn.ModuleList(Block(net) for _ in range(net.n_layers))
        self.ln_final = nn.LayerNorm(d)
        self.head = nn.Linear(d, 1)
        for index, mask in enumerate(layer_masks(task, net)):
            self.register_buffer(f"mask{index}", mask, persistent=False)

    def positions(self) -> torch.Tensor:
        """(L, d): the shared block repeated V times, then the 3 tail positions (or dense)."""
        if self.net.lowrank:
            return torch.cat([self.pos_shared.repeat(self.task.V, 1), self.pos_tail])
        return self.pos_dense

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        types = tokens[..., -1].long()
        x = self.read_code(tokens[..., :-1]) + self.type_embedding(types) + self.positions()
        for index, block in enumerate(self.blocks):
            x = block(x, getattr(self, f"mask{index}"))
        return self.head(self.ln_final(x[:, -1]))[:, 0]


def positional_parameters(task: TaskConfig, net: NetConfig) -> int:
    """(C+1)·d + 3·d for low-rank positions, L·d for dense ones."""
    rows = task.C + 1 + 3 if net.lowrank else task.length
    return rows * net.d_model


def attended_pairs(task: TaskConfig, net: NetConfig) -> int:
    """Allowed (query, key) pairs summed over layers."""
    return sum(task.length**2 if mask is None else int(mask.sum()) for mask in layer_masks(task, net))

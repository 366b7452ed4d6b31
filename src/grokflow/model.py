"""The grokking transformer of DESIGN.md, with the named weights the metrics read.

Decoder-only, pre-LayerNorm, learned positions, ReLU MLP, final LayerNorm, untied unembedding.
Weights use the TransformerLens layout: W_Q, W_K, W_V are (heads, d_model, d_head), W_O is
(heads, d_head, d_model), W_in is (d_model, d_mlp), W_out is (d_mlp, d_model), W_E is
(vocab, d_model) and W_U is (d_model, vocab). Attention is written out over the few positions
(no fused kernel) so that `torch.func.vmap` batches it.
"""

from dataclasses import dataclass
import math

import torch
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the grokking transformer; vocab is p + 1 (the numbers and '=')."""

    p: int
    n_layers: int = 2
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    n_ctx: int = 3

    @property
    def vocab(self) -> int:
        return self.p + 1

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


def _init(generator: torch.Generator, *shape: int, fan_in: int) -> nn.Parameter:
    """A weight drawn from N(0, 1/fan_in)."""
    return nn.Parameter(torch.randn(*shape, generator=generator) / math.sqrt(fan_in))


class Block(nn.Module):
    """One pre-LN block: x += Attn(LN1(x)); x += MLP(LN2(x))."""

    def __init__(self, cfg: ModelConfig, generator: torch.Generator):
        super().__init__()
        d, h, dh = cfg.d_model, cfg.n_heads, cfg.d_head
        self.ln1 = nn.LayerNorm(d)
        self.W_Q = _init(generator, h, d, dh, fan_in=d)
        self.W_K = _init(generator, h, d, dh, fan_in=d)
        self.W_V = _init(generator, h, d, dh, fan_in=d)
        self.W_O = _init(generator, h, dh, d, fan_in=d)
        self.b_O = nn.Parameter(torch.zeros(d))
        self.ln2 = nn.LayerNorm(d)
        self.W_in = _init(generator, d, cfg.d_mlp, fan_in=d)
        self.b_in = nn.Parameter(torch.zeros(cfg.d_mlp))
        self.W_out = _init(generator, cfg.d_mlp, d, fan_in=cfg.d_mlp)
        self.b_out = nn.Parameter(torch.zeros(d))
        causal = torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool).tril()
        self.register_buffer("causal", causal, persistent=False)

    def attention(self, queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """Causal multi-head attention of the query positions (the last ones) over all keys."""
        q = torch.einsum("bpd,hde->bhpe", queries, self.W_Q)
        k = torch.einsum("bpd,hde->bhpe", keys, self.W_K)
        v = torch.einsum("bpd,hde->bhpe", keys, self.W_V)
        scores = torch.einsum("bhqe,bhke->bhqk", q, k) / math.sqrt(q.shape[-1])
        scores = scores.masked_fill(~self.causal[-q.shape[-2] :], float("-inf"))
        z = torch.einsum("bhqk,bhke->bhqe", scores.softmax(dim=-1), v)
        return torch.einsum("bhqe,hed->bqd", z, self.W_O) + self.b_O

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x @ self.W_in + self.b_in) @ self.W_out + self.b_out

    def forward(self, x: torch.Tensor, last_only: bool = False) -> torch.Tensor:
        """The block's output at every position, or (`last_only`) at the last one alone.

        The logits read only the last position, so the final block computes just that one
        (its keys and values still come from every position): same logits, less work.
        """
        h = self.ln1(x)
        if last_only:
            x, queries = x[:, -1:], h[:, -1:]
        else:
            queries = h
        x = x + self.attention(queries, h)
        return x + self.mlp(self.ln2(x))


class GrokTransformer(nn.Module):
    """tokens (batch, n_ctx) → logits (batch, vocab) read at the last position."""

    def __init__(self, cfg: ModelConfig, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        generator = torch.Generator().manual_seed(seed)
        self.W_E = _init(generator, cfg.vocab, cfg.d_model, fan_in=cfg.d_model)
        self.W_pos = _init(generator, cfg.n_ctx, cfg.d_model, fan_in=cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg, generator) for _ in range(cfg.n_layers))
        self.ln_final = nn.LayerNorm(cfg.d_model)
        self.W_U = _init(generator, cfg.d_model, cfg.vocab, fan_in=cfg.d_model)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.W_E[tokens] + self.W_pos
        for block in self.blocks[:-1]:
            x = block(x)
        x = self.blocks[-1](x, last_only=True)
        return self.ln_final(x[:, -1]) @ self.W_U

"""The grokking transformer of docs/design.md, with the named weights the metrics read.

Decoder-only, pre-LayerNorm, learned positions, ReLU MLP, final LayerNorm, untied unembedding.
Options (defaults give exactly that model) make the low-rank decay study's variant:
RMSNorm (x/rms(x) times a learned scale g, `torch.nn.RMSNorm`) instead of LayerNorm, SiLU
instead of ReLU, RMSNorm of each head's queries and keys (QK-norm), and no biases.
Weights use the TransformerLens layout: W_Q, W_K, W_V are (heads, d_model, d_head), W_O is
(heads, d_head, d_model), W_in is (d_model, d_mlp), W_out is (d_mlp, d_model), W_E is
(vocab, d_model) and W_U is (d_model, vocab). Attention is written out over the few positions
(no fused kernel) so that `torch.func.vmap` batches it: queries, keys and values come from one
product with W_Q, W_K and W_V side by side; scores and mixing are broadcast products summed over
the head dimension and the 3 positions, not millions of tiny batched matrix products (3 × 32 by
32 × 3 per sample and head), which GPUs run at a fraction of their speed and which torch.compile
fuses into the neighbouring element-wise kernels. The training engine builds the model with
`token_tables`: what depends on single tokens is computed once per token, not once per sample
(`GrokTransformer.last_stream_from_tables`); its small GPU stacks also with `row_chunks` > 1: the
attention's products then run over blocks of rows (`project`).
"""

from dataclasses import dataclass
import math

import torch
import torch.nn.functional as F
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
    norm: str = "layernorm"  # or "rmsnorm"
    activation: str = "relu"  # or "silu"
    qk_norm: bool = False
    bias: bool = True

    @property
    def vocab(self) -> int:
        return self.p + 1

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


ACTIVATIONS = {"relu": torch.relu, "silu": nn.functional.silu}


def _norm(cfg: ModelConfig, size: int) -> nn.Module:
    return nn.RMSNorm(size) if cfg.norm == "rmsnorm" else nn.LayerNorm(size, bias=cfg.bias)


def _bias(cfg: ModelConfig, size: int) -> nn.Parameter | None:
    return nn.Parameter(torch.zeros(size)) if cfg.bias else None


def _init(generator: torch.Generator, *shape: int, fan_in: int) -> nn.Parameter:
    """A weight drawn from N(0, 1/fan_in)."""
    return nn.Parameter(torch.randn(*shape, generator=generator) / math.sqrt(fan_in))


def _add_bias(x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return x if bias is None else x + bias


def project(x: torch.Tensor, weight: torch.Tensor, row_chunks: int = 1) -> torch.Tensor:
    """x @ weight for x (..., d) and weight (d, e), computed over `row_chunks` equal blocks of the
    rows of x (the largest count up to `row_chunks` that divides them).

    The same product; the blocks change only how the backward pass forms the weight's gradient
    xᵀg, a small d × e matrix summed over every row (11,493 in the full config's first layer): as
    one partial sum per block, added at the end (split-K). One long sum per model gives a GPU a
    handful of output tiles to work on, and a stack of a few models leaves most of it idle.
    One block is still one batched product, which vmap maps to one batched matrix multiply.
    """
    rows = x.shape[:-1].numel()
    chunks = max(c for c in range(1, row_chunks + 1) if rows % c == 0)
    blocks = x.reshape(chunks, rows // chunks, x.shape[-1])
    return torch.bmm(blocks, weight.expand(chunks, *weight.shape)).reshape(*x.shape[:-1], weight.shape[-1])


class Block(nn.Module):
    """One pre-LN block: x += Attn(LN1(x)); x += MLP(LN2(x))."""

    def __init__(self, cfg: ModelConfig, generator: torch.Generator, row_chunks: int = 1):
        super().__init__()
        self.row_chunks = row_chunks
        d, h, dh = cfg.d_model, cfg.n_heads, cfg.d_head
        self.ln1 = _norm(cfg, d)
        self.W_Q = _init(generator, h, d, dh, fan_in=d)
        self.W_K = _init(generator, h, d, dh, fan_in=d)
        self.W_V = _init(generator, h, d, dh, fan_in=d)
        self.W_O = _init(generator, h, dh, d, fan_in=d)
        self.b_O = _bias(cfg, d)
        self.ln2 = _norm(cfg, d)
        self.W_in = _init(generator, d, cfg.d_mlp, fan_in=d)
        self.b_in = _bias(cfg, cfg.d_mlp)
        self.W_out = _init(generator, cfg.d_mlp, d, fan_in=cfg.d_mlp)
        self.b_out = _bias(cfg, d)
        self.q_norm = nn.RMSNorm(dh) if cfg.qk_norm else nn.Identity()
        self.k_norm = nn.RMSNorm(dh) if cfg.qk_norm else nn.Identity()
        self.activation = ACTIVATIONS[cfg.activation]
        causal = torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool).tril()
        self.register_buffer("causal", causal, persistent=False)

    def qkv(self, x: torch.Tensor) -> torch.Tensor:
        """Queries, keys and values of x (..., d_model) side by side (..., 3·heads·d_head): one
        product with W_Q, W_K and W_V side by side, over blocks of rows (`project`) when the model
        was built with row_chunks > 1."""
        d_model = self.W_Q.shape[1]
        side_by_side = torch.cat([self.W_Q, self.W_K, self.W_V]).permute(1, 0, 2).reshape(d_model, -1)
        return project(x, side_by_side, self.row_chunks)

    def split_heads(self, qkv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The output of `qkv` (batch, positions, 3·heads·d_head) as queries, keys and values, each
        (batch, heads, positions, d_head)."""
        n_heads, _, d_head = self.W_Q.shape
        return qkv.unflatten(-1, (3, n_heads, d_head)).permute(2, 0, 3, 1, 4).unbind()

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values (batch, heads, positions, d_head) of x (batch, positions, d_model)."""
        return self.split_heads(self.qkv(x))

    def pattern(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        """Causal attention weights (batch, heads, query positions, key positions) of the queries q
        (the last positions) over the keys k."""
        q, k = self.q_norm(q), self.k_norm(k)
        scores = (q.unsqueeze(-2) * k.unsqueeze(-3)).sum(dim=-1) / math.sqrt(q.shape[-1])
        n_queries, n_keys = scores.shape[-2:]
        causal = self.causal[:n_keys, :n_keys][-n_queries:]
        return scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)

    def attention(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Causal multi-head attention of the queries q (the last positions) over keys k and values v."""
        z = (self.pattern(q, k).unsqueeze(-1) * v.unsqueeze(-3)).sum(dim=-2)
        heads_side_by_side = z.transpose(-3, -2).flatten(-2)  # (batch, query positions, heads · d_head)
        return _add_bias(project(heads_side_by_side, self.W_O.flatten(0, 1), self.row_chunks), self.b_O)

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.activation(_add_bias(x @ self.W_in, self.b_in))
        return _add_bias(hidden @ self.W_out, self.b_out)

    def forward(self, x: torch.Tensor, queries: int | None = None, qkv: torch.Tensor | None = None) -> torch.Tensor:
        """The block's output at the last `queries` positions of x (all of them by default).

        The logits read only the last position, so the final block computes just that one (its
        keys and values still cover every position): same logits, less work. `qkv` is
        `self.qkv(self.ln1(x))` when the caller has it already (see
        GrokTransformer.last_stream_from_tables).
        """
        queries = queries or x.shape[1]
        q, k, v = self.split_heads(self.qkv(self.ln1(x)) if qkv is None else qkv)
        x = x[:, -queries:] + self.attention(q[:, :, -queries:], k, v)
        return x + self.mlp(self.ln2(x))


class GrokTransformer(nn.Module):
    """tokens (batch, n_ctx) → logits (batch, vocab) read at the last position."""

    def __init__(self, cfg: ModelConfig, seed: int = 0, row_chunks: int = 1, token_tables: bool = False):
        """Two ways to compute the same model for the training engine, the same numbers to float
        rounding: `row_chunks` > 1 splits the attention products' weight gradients (see
        `project`); `token_tables` computes what depends on single tokens once per token (see
        `last_stream_from_tables`)."""
        super().__init__()
        self.cfg = cfg
        self.token_tables = token_tables
        generator = torch.Generator().manual_seed(seed)
        self.W_E = _init(generator, cfg.vocab, cfg.d_model, fan_in=cfg.d_model)
        self.W_pos = _init(generator, cfg.n_ctx, cfg.d_model, fan_in=cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg, generator, row_chunks) for _ in range(cfg.n_layers))
        self.ln_final = _norm(cfg, cfg.d_model)
        self.W_U = _init(generator, cfg.d_model, cfg.vocab, fan_in=cfg.d_model)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """The residual stream entering the first block: token plus position embeddings.

        `F.embedding`, not `W_E[tokens]`: on several CPU threads the indexing's backward
        (`index_put_` with accumulation) sums the rows of W_E's gradient in an order that varies
        between runs; the embedding's backward sums them in a fixed order."""
        return F.embedding(tokens, self.W_E) + self.W_pos

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits at the last position; through `last_stream_from_tables` for a model built with
        token_tables and a batch larger than the vocabulary (the same function, less work)."""
        if self.token_tables and tokens.shape[0] > self.cfg.vocab:
            return self.ln_final(self.last_stream_from_tables(tokens)) @ self.W_U
        return self.logits_from_stream(self.embed(tokens))

    def logits_from_stream(self, x: torch.Tensor) -> torch.Tensor:
        """Logits at the last position of the residual stream x (batch, n_ctx, d_model) entering
        the first block (`embed(tokens)`, or any other embedding of the inputs)."""
        for index, block in enumerate(self.blocks):
            x = block(x, 1 if index == len(self.blocks) - 1 else None)
        return self.ln_final(x[:, -1]) @ self.W_U

    def last_stream_from_tables(self, tokens: torch.Tensor) -> torch.Tensor:
        """The residual stream at the last position after the last block, with the work that
        depends on single tokens done once per token, not once per sample.

        Causal attention leaves the stream at position 0 a function of its token alone, so every
        block's queries, keys and values there are looked up (`F.embedding`) in a table computed
        on the vocabulary's one-token sequences, which go through the blocks alongside; and before
        the first attention the stream at any position i is W_E[t] + W_pos[i], so the first
        block's queries, keys and values are a table over the n_ctx · vocab pairs (i, t). The
        samples' rows then go through the products only at positions 1 and later: a third less
        work at n_ctx = 3, the same numbers up to float rounding.
        """
        n_ctx, vocab = self.cfg.n_ctx, self.cfg.vocab
        every_token = self.W_E + self.W_pos[:, None]  # (n_ctx, vocab, d_model): token t at position i
        first = every_token[0]  # position 0 of each one-token sequence, (vocab, d_model)
        later = self.embed(tokens)[:, 1:]  # positions 1 and later of the samples
        for index, block in enumerate(self.blocks):
            if index == 0:
                table = block.qkv(block.ln1(every_token))
                first_qkv = table[0]
                qkv = F.embedding(tokens + vocab * torch.arange(n_ctx, device=tokens.device), table.flatten(0, 1))
            else:
                first_qkv = block.qkv(block.ln1(first))
                qkv = torch.cat([F.embedding(tokens[:, :1], first_qkv), block.qkv(block.ln1(later))], dim=1)
            if index == len(self.blocks) - 1:
                return block(later, 1, qkv=qkv)[:, -1]
            later = block(later, n_ctx - 1, qkv=qkv)
            first = block(first.unsqueeze(1), qkv=first_qkv.unsqueeze(1)).squeeze(1)

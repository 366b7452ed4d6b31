"""Activations of a GrokTransformer, named as TransformerLens names them.

`run_with_cache(model, tokens)` runs the plain forward pass over every position (not the
training engine's last-position or token-table shortcuts) through the model's own layers and
returns the logits at every position and a dict of the intermediate tensors, with TransformerLens's
hook names and shapes (batch first, then positions; per-head tensors with the head after the
position; attention patterns as (batch, head, query position, key position)):

    hook_embed, hook_pos_embed                     (batch, pos, d_model)
    blocks.{l}.hook_resid_pre                      (batch, pos, d_model)
    blocks.{l}.ln1.hook_normalized                 (batch, pos, d_model)
    blocks.{l}.attn.hook_q, hook_k, hook_v, hook_z (batch, pos, head, d_head)
    blocks.{l}.attn.hook_pattern                   (batch, head, query_pos, key_pos)
    blocks.{l}.hook_attn_out, hook_resid_mid       (batch, pos, d_model)
    blocks.{l}.ln2.hook_normalized                 (batch, pos, d_model)
    blocks.{l}.mlp.hook_pre, hook_post             (batch, pos, d_mlp)   before / after the activation
    blocks.{l}.hook_mlp_out, hook_resid_post       (batch, pos, d_model)
    ln_final.hook_normalized                       (batch, pos, d_model)
    logits                                         (batch, pos, vocab)

The model's answer is `logits[:, -1]` (what `model(tokens)` returns). Reference: TransformerLens,
https://transformerlensorg.github.io/TransformerLens/ (HookedTransformer.run_with_cache).
"""

import torch
import torch.nn.functional as F

from .model import Block, GrokTransformer


def _with_bias(x: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    return x if bias is None else x + bias


def _per_head(x: torch.Tensor) -> torch.Tensor:
    """(batch, head, pos, d_head) → TransformerLens's (batch, pos, head, d_head)."""
    return x.transpose(1, 2)


def _block_with_cache(block: Block, x: torch.Tensor, cache: dict, prefix: str) -> torch.Tensor:
    """One pre-LN block over every position, x (batch, pos, d_model); records its activations."""
    cache[f"{prefix}.hook_resid_pre"] = x
    normalized = cache[f"{prefix}.ln1.hook_normalized"] = block.ln1(x)
    q, k, v = block.heads(normalized)
    pattern = cache[f"{prefix}.attn.hook_pattern"] = block.pattern(q, k)
    z = torch.einsum("bhqk,bhkd->bhqd", pattern, v)
    for name, tensor in (("q", q), ("k", k), ("v", v), ("z", z)):
        cache[f"{prefix}.attn.hook_{name}"] = _per_head(tensor)
    attn_out = cache[f"{prefix}.hook_attn_out"] = _with_bias(
        torch.einsum("bhqd,hdm->bqm", z, block.W_O), block.b_O)
    x = cache[f"{prefix}.hook_resid_mid"] = x + attn_out
    normalized = cache[f"{prefix}.ln2.hook_normalized"] = block.ln2(x)
    pre = cache[f"{prefix}.mlp.hook_pre"] = _with_bias(normalized @ block.W_in, block.b_in)
    post = cache[f"{prefix}.mlp.hook_post"] = block.activation(pre)
    mlp_out = cache[f"{prefix}.hook_mlp_out"] = _with_bias(post @ block.W_out, block.b_out)
    x = cache[f"{prefix}.hook_resid_post"] = x + mlp_out
    return x


@torch.no_grad()
def run_with_cache(model: GrokTransformer, tokens: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Logits at every position (batch, n_ctx, vocab) and the activations of tokens (batch, n_ctx),
    keyed by TransformerLens hook names (see the module docstring)."""
    cache = {"hook_embed": F.embedding(tokens, model.W_E), "hook_pos_embed": model.W_pos.expand(len(tokens), -1, -1)}
    x = cache["hook_embed"] + cache["hook_pos_embed"]
    for layer, block in enumerate(model.blocks):
        x = _block_with_cache(block, x, cache, f"blocks.{layer}")
    normalized = cache["ln_final.hook_normalized"] = model.ln_final(x)
    logits = cache["logits"] = normalized @ model.W_U
    return logits, cache

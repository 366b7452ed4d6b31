"""grokflow.hooks.run_with_cache against the model's own layers and forward pass."""

import pytest
import torch

from grokflow.hooks import run_with_cache
from grokflow.model import GrokTransformer, ModelConfig

CFG = ModelConfig(p=7, n_layers=2, d_model=16, n_heads=4, d_mlp=32)
TOKENS = torch.tensor([[x, y, 7] for x in range(7) for y in range(7)])


@pytest.fixture(scope="module")
def cached():
    model = GrokTransformer(CFG, seed=1).eval()
    logits, cache = run_with_cache(model, TOKENS)
    return model, logits, cache


def test_last_position_logits_are_the_models(cached):
    model, logits, cache = cached
    with torch.no_grad():
        torch.testing.assert_close(logits[:, -1], model(TOKENS))
    assert logits.shape == (len(TOKENS), 3, CFG.vocab) and torch.equal(cache["logits"], logits)


def test_each_block_is_the_models_block_at_every_position(cached):
    model, _, cache = cached
    with torch.no_grad():
        torch.testing.assert_close(cache["blocks.0.hook_resid_pre"], model.embed(TOKENS))
        for layer, block in enumerate(model.blocks):
            name = f"blocks.{layer}"
            resid_pre, resid_mid = cache[f"{name}.hook_resid_pre"], cache[f"{name}.hook_resid_mid"]
            torch.testing.assert_close(cache[f"{name}.hook_resid_post"], block(resid_pre))
            torch.testing.assert_close(cache[f"{name}.hook_attn_out"], block.attention(*block.heads(block.ln1(resid_pre))))
            torch.testing.assert_close(cache[f"{name}.hook_mlp_out"], block.mlp(block.ln2(resid_mid)))
            torch.testing.assert_close(cache[f"{name}.mlp.hook_post"], cache[f"{name}.mlp.hook_pre"].relu())
            torch.testing.assert_close(resid_mid, resid_pre + cache[f"{name}.hook_attn_out"])


def test_names_and_shapes_are_transformer_lens(cached):
    _, _, cache = cached
    batch, heads, d_head = len(TOKENS), CFG.n_heads, CFG.d_head
    assert cache["hook_embed"].shape == (batch, 3, CFG.d_model)
    for hook in ("q", "k", "v", "z"):
        assert cache[f"blocks.1.attn.hook_{hook}"].shape == (batch, 3, heads, d_head)
    assert cache["blocks.1.mlp.hook_post"].shape == (batch, 3, CFG.d_mlp)
    pattern = cache["blocks.0.attn.hook_pattern"]
    assert pattern.shape == (batch, heads, 3, 3)
    torch.testing.assert_close(pattern.sum(-1), torch.ones(batch, heads, 3))
    assert (pattern.triu(diagonal=1) == 0).all()  # a query never attends to a later position

from dataclasses import replace
import itertools

import torch

from grokflow.model import GrokTransformer, ModelConfig, project
from grokflow.slt.rescaling import rescale

CFG = ModelConfig(p=7, n_layers=2, d_model=16, n_heads=4, d_mlp=32)


def test_named_weights_and_shapes():
    shapes = {name: tuple(t.shape) for name, t in GrokTransformer(CFG).named_parameters()}
    assert shapes["W_E"] == (8, 16) and shapes["W_pos"] == (3, 16) and shapes["W_U"] == (16, 8)
    for layer in range(2):
        assert shapes[f"blocks.{layer}.W_Q"] == (4, 16, 4)
        assert shapes[f"blocks.{layer}.W_K"] == (4, 16, 4)
        assert shapes[f"blocks.{layer}.W_V"] == (4, 16, 4)
        assert shapes[f"blocks.{layer}.W_O"] == (4, 4, 16)
        assert shapes[f"blocks.{layer}.W_in"] == (16, 32)
        assert shapes[f"blocks.{layer}.W_out"] == (32, 16)


def test_forward_shape_and_seeded_init():
    tokens = torch.tensor([[1, 2, 7], [6, 0, 7]])
    logits = GrokTransformer(CFG, seed=1)(tokens)
    assert logits.shape == (2, 8)
    assert torch.equal(logits, GrokTransformer(CFG, seed=1)(tokens))
    assert not torch.equal(logits, GrokTransformer(CFG, seed=2)(tokens))


def test_last_position_shortcut_matches_full_computation():
    model = GrokTransformer(CFG, seed=0)
    tokens = torch.randint(0, 7, (5, 3))
    x = model.W_E[tokens] + model.W_pos
    for block in model.blocks:
        x = block(x)
    full = model.ln_final(x)[:, -1] @ model.W_U
    torch.testing.assert_close(model(tokens), full)


def test_queries_keys_and_values_are_the_per_head_products():
    """One product with the heads side by side, over row blocks or not, is x W per head."""
    x = torch.randn(5, 3, 16)
    for row_chunks in (1, 3):
        block = GrokTransformer(CFG, seed=0, row_chunks=row_chunks).blocks[0]
        for heads, weight in zip(block.heads(x), (block.W_Q, block.W_K, block.W_V), strict=True):
            torch.testing.assert_close(heads, torch.einsum("bpd,hde->bhpe", x, weight))


def test_row_blocks_leave_product_and_gradients_unchanged():
    """project over row blocks is x @ W, with the same gradients; the count falls to a divisor."""
    x = torch.randn(3, 5, 4, dtype=torch.float64)  # 15 rows: 4 blocks fall to 3
    weight = torch.randn(4, 6, dtype=torch.float64)
    torch.testing.assert_close(project(x, weight, row_chunks=4), x @ weight)
    tokens = torch.randint(0, 7, (12, 3), generator=torch.Generator().manual_seed(0))
    grads = []
    for row_chunks in (1, 4):
        model = GrokTransformer(CFG, seed=0, row_chunks=row_chunks).double()
        model(tokens).square().mean().backward()
        grads.append({name: t.grad for name, t in model.named_parameters()})
    assert grads[0].keys() == grads[1].keys()
    for name in grads[0]:
        torch.testing.assert_close(grads[1][name], grads[0][name], msg=name)


def test_token_tables_give_the_same_logits_and_gradients():
    """The engine's way (per-token tables; position 0 from the one-token sequences) computes the
    model's function: every variant and depth, over row blocks or not, any tokens."""
    tokens = torch.randint(0, 8, (40, 3), generator=torch.Generator().manual_seed(0))  # 40 > vocab
    variants = (CFG, replace(CFG, n_layers=1),
                replace(CFG, n_layers=3, norm="rmsnorm", activation="silu", qk_norm=True, bias=False))
    for cfg, row_chunks in itertools.product(variants, (1, 4)):
        results = []
        for token_tables in (False, True):
            model = GrokTransformer(cfg, seed=0, row_chunks=row_chunks, token_tables=token_tables).double()
            logits = model(tokens)
            logits.square().mean().backward()
            results.append((logits, {name: t.grad for name, t in model.named_parameters()}))
        assert torch.equal(logits, model.ln_final(model.last_stream_from_tables(tokens)) @ model.W_U)
        (plain, plain_grads), (tables, table_grads) = results
        torch.testing.assert_close(tables, plain)
        for name in plain_grads:
            torch.testing.assert_close(table_grads[name], plain_grads[name], msg=name)


def test_attention_is_causal():
    model = GrokTransformer(CFG, seed=0)
    x = torch.randn(2, 3, 16)
    changed = x.clone()
    changed[:, 2] += 1.0
    block = model.blocks[0]
    torch.testing.assert_close(block(x)[:, :2], block(changed)[:, :2])


def test_residual_and_mlp_rescalings_leave_logits_unchanged():
    """α on every residual writer (pre-LN undoes it) and β on W_in / 1/β on W_out (ReLU).

    Exact only without LayerNorm's ε (which adds ε to the variance that α² scales), so the test
    sets ε = 0; with the default ε the change depends on the inputs (up to ~2e-4 relative)."""
    model = GrokTransformer(CFG, seed=0).double()
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.eps = 0.0
    tokens = torch.randint(0, 7, (20, 3), generator=torch.Generator().manual_seed(0))
    reference = model(tokens)
    model.load_state_dict(rescale(model.state_dict(), alpha=7.0, beta=0.2))
    scale = reference.abs().max()
    assert (model(tokens) - reference).abs().max() < 1e-4 * scale

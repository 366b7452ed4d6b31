"""The batched chain engine: same chains batched or alone, streams per chain, divergence counted."""

import numpy as np
import pytest
import torch

from grokflow.model import GrokTransformer, ModelConfig
from grokflow.slt.engine import ChainSettings, Points, chain_seed, run_chains
from grokflow.slt.llc import chain_llc, summarize
from grokflow.slt.samplers import METHODS, SamplerSettings, make_sampler
from grokflow.slt.transformer import cross_entropy_loss, logits_function

CFG = ModelConfig(p=7, n_layers=1, d_model=8, n_heads=2, d_mlp=16)
SETTINGS = ChainSettings(chains=3, steps=6, batch_size=5, seed=11)


def tiny_points(count: int) -> Points:
    """`count` different models of CFG in float64, each with its own data, ε and nβ."""
    models = [GrokTransformer(CFG, seed=s).double().state_dict() for s in range(count)]
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, CFG.p, (count, 20, 3), generator=g)
    tokens[:, :, 2] = CFG.p
    labels = torch.randint(0, CFG.p, (count, 20), generator=g)
    eps = torch.tensor([1e-3 * (k + 1) for k in range(count)], dtype=torch.float64)
    nbeta = torch.tensor([10.0 + k for k in range(count)], dtype=torch.float64)
    scales = {"W_E": torch.tensor([1.0 + k for k in range(count)], dtype=torch.float64)}
    w0 = {name: torch.stack([m[name] for m in models]) for name in models[0]}
    w0["W_E"] = w0["W_E"] * scales["W_E"][:, None, None]
    return Points(w0, tokens, labels, eps, nbeta, scales)


@pytest.mark.parametrize("method", METHODS)
def test_batched_chains_equal_each_point_alone(method):
    points = tiny_points(3)
    sampler = make_sampler(method, SamplerSettings(gamma=10.0))
    loss = cross_entropy_loss(CFG)
    batched = run_chains(loss, sampler, points, SETTINGS)
    assert batched.losses.shape == (3, 3, 6)
    for p in range(3):
        alone = run_chains(loss, sampler, points.select(p, p + 1), SETTINGS)
        for part in ("losses", "baselines", "init_loss"):
            torch.testing.assert_close(getattr(alone, part)[0], getattr(batched, part)[p], rtol=1e-12, atol=1e-12)
    chunked = run_chains(loss, sampler, points, SETTINGS, chunk=2)
    torch.testing.assert_close(chunked.excess, batched.excess, rtol=1e-12, atol=1e-12)


def test_chains_of_one_point_differ_and_depend_on_the_seed():
    points = tiny_points(1)
    run = run_chains(cross_entropy_loss(CFG), make_sampler("sgld", SamplerSettings(gamma=1e6)), points, SETTINGS)
    steps = run.losses[0, :, 1:]
    assert not torch.equal(steps[0], steps[1]) and not torch.equal(steps[1], steps[2])
    other = run_chains(cross_entropy_loss(CFG), make_sampler("sgld", SamplerSettings(gamma=1e6)), points,
                       ChainSettings(3, 6, 5, seed=12))
    assert not torch.equal(other.losses, run.losses)


def test_first_loss_is_the_loss_at_w0_and_baselines_are_the_minibatch_losses_at_w0():
    points = tiny_points(2)
    loss = cross_entropy_loss(CFG)
    run = run_chains(loss, make_sampler("sgld", SamplerSettings(gamma=1e6)), points, ChainSettings(2, 3, 4))
    full_batch = run_chains(loss, make_sampler("sgld", SamplerSettings(gamma=1e6)), points, ChainSettings(2, 2, 20))
    for p in range(2):
        unscaled = {n: w[p] / points.scales[n][p] if n in points.scales else w[p] for n, w in points.w0.items()}
        full = loss(unscaled, points.inputs[p], points.targets[p]).mean()
        torch.testing.assert_close(run.init_loss[p], full)
        torch.testing.assert_close(run.excess[p, :, 0], torch.zeros(2, dtype=torch.float64), atol=1e-12, rtol=0)
        torch.testing.assert_close(full_batch.losses[p, :, 0], full.expand(2))  # batch ≥ n: the whole set
        torch.testing.assert_close(full_batch.baselines[p], full.expand(2, 2))
    g = torch.Generator().manual_seed(chain_seed(SETTINGS.seed, 1))  # chain 1's stream, step 1's indices
    torch.randint(20, (4,), generator=g)
    torch.randn(sum(w[0].numel() for w in points.w0.values()), generator=g, dtype=torch.float64)
    indices = torch.randint(20, (4,), generator=g)
    w0 = {n: w[0] / points.scales[n][0] if n in points.scales else w[0] for n, w in points.w0.items()}
    expected = loss(w0, points.inputs[0, indices], points.targets[0, indices]).mean()
    rerun = run_chains(loss, make_sampler("sgld", SamplerSettings(gamma=1e6)), points, ChainSettings(2, 3, 4, seed=SETTINGS.seed))
    torch.testing.assert_close(rerun.baselines[0, 1, 1], expected)


def linear_points(epsilons):
    """Least squares y = x·w (d = 2) at its minimum; one point per step size."""
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64)
    y = x @ torch.tensor([1.0, 2.0], dtype=torch.float64)
    k = len(epsilons)
    return Points({"w": torch.tensor([1.0, 2.0], dtype=torch.float64).expand(k, 2).clone()},
                  x.expand(k, 3, 2), y.expand(k, 3), torch.tensor(epsilons, dtype=torch.float64),
                  torch.full((k,), 100.0, dtype=torch.float64))


def squared_loss(params, x, y):
    return 0.5 * (y - x @ params["w"]) ** 2


def test_a_diverging_point_is_counted_and_never_averaged_in():
    # ε·nβ·h/2 ≫ 2 for the second point: its iterates grow geometrically to inf and NaN.
    points = linear_points([1e-3, 1.0])
    run = run_chains(squared_loss, make_sampler("sgld", SamplerSettings(gamma=0.0)), points,
                     ChainSettings(chains=4, steps=400, batch_size=3))
    llc = summarize(chain_llc(run.excess, points.nbeta, burnin=100))
    assert list(llc.n_diverged) == [0, 4]
    assert np.isfinite(llc.mean[0]) and np.isnan(llc.mean[1]) and np.isnan(llc.std[1])


def test_summary_skips_diverged_chains():
    per_chain = torch.tensor([[1.0, float("nan"), 3.0], [float("nan")] * 3, [2.0, float("nan"), float("nan")]])
    summary = summarize(per_chain)
    assert list(summary.n_diverged) == [1, 3, 2]
    assert summary.mean[0] == pytest.approx(2.0) and summary.std[0] == pytest.approx(np.sqrt(2.0))
    assert np.isnan(summary.mean[1]) and summary.mean[2] == 2.0 and np.isnan(summary.std[2])


def test_burnin_must_leave_draws():
    with pytest.raises(ValueError):
        chain_llc(torch.zeros(1, 2, 5), torch.ones(1), burnin=5)


def test_logits_function_is_the_model():
    model = GrokTransformer(CFG, seed=3).double()
    tokens = torch.tensor([[1, 2, 7], [3, 4, 7]])
    torch.testing.assert_close(logits_function(CFG)(dict(model.state_dict()), tokens), model(tokens))


def test_compiled_chains_equal_the_eager_chains():
    """torch.compile fuses the step's kernels; the chains stay the same up to float rounding."""
    points = tiny_points(2)
    sampler = make_sampler("sgld", SamplerSettings(gamma=10.0))
    eager = run_chains(cross_entropy_loss(CFG), sampler, points, SETTINGS)
    compiled = run_chains(cross_entropy_loss(CFG), sampler, points, SETTINGS, compiled=True)
    torch.testing.assert_close(compiled.losses, eager.losses, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(compiled.baselines, eager.baselines, rtol=1e-10, atol=1e-12)

"""The α and β rescalings at the grid's extremes leave the logits unchanged (float64)."""

import itertools
import subprocess
import sys

import pytest
import torch

from grokflow.data import all_pairs
from grokflow.model import GrokTransformer, ModelConfig
from grokflow.slt.rescaling import log_grid, max_logit_changes, rescale, rescaled_points, scale_factor
from grokflow.slt.transformer import cross_entropy_loss
from grokflow.slt.engine import ChainSettings, per_sample_losses, run_chains
from grokflow.slt.llc import chain_llc
from grokflow.slt.samplers import SamplerSettings, make_sampler
from test_embedding_geometry import REPO_SCRIPTS

CFG = ModelConfig(p=7, n_layers=2, d_model=16, n_heads=4, d_mlp=32)
# The full config's grid range: the extremes are its corners.
LOW, HIGH = 0.1, 10.0
CORNERS = list(itertools.product((LOW, HIGH), (LOW, HIGH)))


def trained_like(seed=0):
    """A float64 model whose weights are shrunk like weight decay's (residual variance ~ LN ε)."""
    model = GrokTransformer(CFG, seed=seed).double()
    with torch.no_grad():
        for name, weight in model.named_parameters():
            if "ln" not in name:
                weight *= 0.05
    return model


def with_ln_eps(model, eps):
    for module in model.modules():
        if isinstance(module, torch.nn.LayerNorm):
            module.eps = eps
    return model


@pytest.mark.parametrize(("alpha", "beta"), CORNERS)
def test_rescaling_with_layernorm_eps_zero_is_exact(alpha, beta):
    model = with_ln_eps(trained_like(), 0.0)
    tokens, _ = all_pairs("x+y", CFG.p)
    reference = model(tokens)
    model.load_state_dict(rescale(model.state_dict(), alpha, beta))
    assert (model(tokens) - reference).abs().max() < 1e-10 * reference.abs().max()


@pytest.mark.parametrize(("alpha", "beta"), CORNERS)
def test_sampled_network_is_the_rescaled_network_with_eps_times_alpha_squared(alpha, beta):
    model = trained_like()
    tokens, _ = all_pairs("x+y", CFG.p)
    reference = model(tokens)
    rescaled = with_ln_eps(trained_like(), 1e-5 * alpha**2)
    rescaled.load_state_dict(rescale(model.state_dict(), alpha, beta))
    assert (rescaled(tokens) - reference).abs().max() < 1e-10 * reference.abs().max()
    [(sampled, plain)] = max_logit_changes(dict(model.state_dict()), CFG, tokens, [(alpha, beta)])
    assert sampled < 1e-10 * reference.abs().max()
    if alpha != 1.0:  # with ε fixed, α is not a symmetry of these small weights
        assert plain > 1e-3 * reference.abs().max()


def test_rescaled_points_hold_the_rescaled_weights_and_the_same_loss():
    model = trained_like()
    weights = dict(model.state_dict())
    tokens, labels = all_pairs("x×y", CFG.p)
    alphas, betas = [LOW, 1.0, HIGH], [HIGH, 1.0, LOW]
    points = rescaled_points(weights, (tokens, labels), alphas, betas, epsilon=1e-6, nbeta=5.0)
    for k, (a, b) in enumerate(zip(alphas, betas)):
        for name, w in rescale(weights, a, b).items():
            torch.testing.assert_close(points.w0[name][k], w)
    losses = per_sample_losses(cross_entropy_loss(CFG), points)  # (points, samples)
    torch.testing.assert_close(losses, losses[1].expand(3, -1), rtol=1e-10, atol=1e-12)


def test_the_scaled_variant_divides_each_rescaled_tensors_localisation_by_its_scale_squared():
    weights = dict(trained_like().state_dict())
    data = all_pairs("x+y", CFG.p)
    fixed = rescaled_points(weights, data, [2.0], [0.5], epsilon=1e-6, nbeta=5.0)
    scaled = rescaled_points(weights, data, [2.0], [0.5], epsilon=1e-6, nbeta=5.0, variant="scaled")
    assert set(fixed.localisation) == set(scaled.localisation) == set(scaled.scales)
    assert all((factor == 1).all() for factor in fixed.localisation.values())
    assert scaled.localisation["blocks.0.W_out"].item() == pytest.approx(1 / 4.0**2)  # α/β = 4
    assert scaled.localisation["blocks.0.W_in"].item() == pytest.approx(1 / 0.5**2)


def variant_llcs(method: str, variant: str) -> torch.Tensor:
    """Per-chain LLC (points, chains) at (1, 1) and two far grid points, exact integrator."""
    weights = dict(trained_like().state_dict())
    points = rescaled_points(weights, all_pairs("x+y", CFG.p), [1.0, 0.3, 3.0], [1.0, 3.0, 0.3], epsilon=1e-2,
                             nbeta=10.0, variant=variant)
    settings = SamplerSettings(gamma=1e4, rsgld_delta=1e-30, sisgld_eps=1e-30)
    run = run_chains(cross_entropy_loss(CFG), make_sampler(method, settings), points,
                     ChainSettings(chains=2, steps=20, batch_size=16))
    return chain_llc(run.excess, points.nbeta, burnin=5)


@pytest.mark.parametrize("method", ["rsgld", "sisgld"])
def test_a_scale_equivariant_sampler_is_invariant_in_the_scaled_variant_only(method):
    """Riemannian SGLD and SI-SGLD scale their step with the tensor (D ∝ s²): with γ/s² their
    chains at (α, β) are the chains at (1, 1) rescaled, so the estimate is the same at every point;
    with γ fixed the localised posterior differs, and so does the estimate."""
    scaled = variant_llcs(method, "scaled")
    torch.testing.assert_close(scaled[1:], scaled[:1].expand(2, -1), rtol=1e-6, atol=1e-9)
    fixed = variant_llcs(method, "fixed")
    assert ((fixed[1:] - fixed[:1]).abs() > 1e-3 * fixed[:1].abs()).all()


def test_scale_factors_and_grid():
    assert scale_factor("blocks.1.W_out", 3.0, 2.0) == 1.5
    assert scale_factor("blocks.0.b_in", 3.0, 2.0) == 2.0
    assert scale_factor("W_E", 3.0, 2.0) == 3.0 and scale_factor("W_U", 3.0, 2.0) == 1.0
    assert scale_factor("blocks.0.ln1.weight", 3.0, 2.0) == 1.0
    grid = log_grid(0.1, 10.0, 5)
    assert grid[0] == pytest.approx(0.1) and grid[2] == pytest.approx(1.0) and grid[-1] == pytest.approx(10.0)


def test_the_script_wants_an_outdir_and_a_trace_file_per_checkpoint():
    result = subprocess.run([sys.executable, str(REPO_SCRIPTS / "slt/llc_rescaling.py"), "--checkpoints", "a", "b",
                             "--outdirs", "o", "--traces", "t", "--epsilon", "sgld=1e-7", "--gamma", "sgld=100", "--nbeta", "10"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "give as many --outdirs and --traces as --checkpoints" in result.stderr

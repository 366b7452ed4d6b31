"""The samplers' update rules against their formulas, and their LLC on a regular model (λ = d/2)."""

import math

import pytest
import torch

from grokflow.slt.engine import ChainSettings, Points, run_chains
from grokflow.slt.llc import chain_llc, summarize, thermodynamic_lambda
from grokflow.slt.samplers import INTEGRATORS, METHODS, SamplerSettings, langevin_proposal, make_sampler

SETTINGS = SamplerSettings(gamma=3.0, psgld_decay=0.9, psgld_lambda=1e-3, rsgld_delta=0.01, sisgld_eps=0.5,
                           integrator="euler")


def fixed_inputs():
    """Two tensors of different sizes and norms, with a fixed gradient and noise draw."""
    g = torch.Generator().manual_seed(0)
    draw = lambda *shape: torch.randn(*shape, generator=g, dtype=torch.float64)  # noqa: E731
    w = {"a": draw(3, 4), "b": 5 * draw(6)}
    w0 = {name: t + 0.1 * draw(*t.shape) for name, t in w.items()}
    grads = {name: draw(*t.shape) for name, t in w.items()}
    noise = {name: draw(*t.shape) for name, t in w.items()}
    return w, w0, grads, noise


EPS, NBETA = torch.tensor(1e-3, dtype=torch.float64), torch.tensor(50.0, dtype=torch.float64)


def step(method, w, w0, grads, noise, state=None):
    sampler = make_sampler(method, SETTINGS)
    state = sampler.init_state(w) if state is None else state
    return sampler.step(w, grads, w0, noise, state, EPS, NBETA)


def drift(w, w0, grads, name):
    return NBETA * grads[name] + SETTINGS.gamma * (w[name] - w0[name])


def test_sgld_update_is_the_formula():
    w, w0, grads, noise = fixed_inputs()
    new, _ = step("sgld", w, w0, grads, noise)
    for name in w:
        expected = w[name] - EPS / 2 * drift(w, w0, grads, name) + math.sqrt(EPS) * noise[name]
        torch.testing.assert_close(new[name], expected, rtol=0, atol=1e-14)


def test_psgld_update_is_the_formula_over_two_steps():
    w, w0, grads, noise = fixed_inputs()
    a, lam = SETTINGS.psgld_decay, SETTINGS.psgld_lambda
    first, state = step("psgld", w, w0, grads, noise)
    second, state = step("psgld", first, w0, grads, noise, state)
    for name in w:
        v1 = (1 - a) * grads[name] ** 2
        d1 = 1 / (lam + torch.sqrt(v1 / (1 - a)))
        expected1 = w[name] - EPS / 2 * d1 * drift(w, w0, grads, name) + torch.sqrt(EPS * d1) * noise[name]
        torch.testing.assert_close(first[name], expected1, rtol=0, atol=1e-12)
        v2 = a * v1 + (1 - a) * grads[name] ** 2
        d2 = 1 / (lam + torch.sqrt(v2 / (1 - a**2)))
        expected2 = first[name] - EPS / 2 * d2 * drift(first, w0, grads, name) + torch.sqrt(EPS * d2) * noise[name]
        torch.testing.assert_close(second[name], expected2, rtol=0, atol=1e-12)
        torch.testing.assert_close(state[f"v.{name}"], v2)


def test_rsgld_update_is_the_formula_with_its_correction():
    w, w0, grads, noise = fixed_inputs()
    new, _ = step("rsgld", w, w0, grads, noise)
    for name in w:
        metric = w[name] ** 2 + SETTINGS.rsgld_delta
        expected = (w[name] - EPS / 2 * metric * drift(w, w0, grads, name) + EPS / 2 * 2 * w[name]
                    + torch.sqrt(EPS * metric) * noise[name])
        torch.testing.assert_close(new[name], expected, rtol=0, atol=1e-12)


def test_sisgld_scales_drift_and_noise_variance_by_the_tensor_norm():
    w, w0, grads, noise = fixed_inputs()
    new, _ = step("sisgld", w, w0, grads, noise)
    sgld, _ = step("sgld", w, w0, grads, noise)
    for name in w:
        g = (w[name] ** 2).sum() + SETTINGS.sisgld_eps
        drift_part = -EPS / 2 * g * drift(w, w0, grads, name)
        noise_part = torch.sqrt(EPS * g) * noise[name]
        torch.testing.assert_close(new[name], w[name] + drift_part + noise_part, rtol=0, atol=1e-12)
        # against SGLD: the drift step is G times SGLD's, the noise variance G times SGLD's
        sgld_noise = sgld[name] - (w[name] - EPS / 2 * drift(w, w0, grads, name))
        torch.testing.assert_close(noise_part.var() / sgld_noise.var(), g)


def test_sisgld_noise_std_grows_linearly_with_the_tensor_scale():
    w, _, grads, noise = fixed_inputs()
    zero = {name: torch.zeros_like(t) for name, t in w.items()}
    for scale in (10.0, 1000.0):
        big = {name: scale * t for name, t in w.items()}
        moved, _ = step("sisgld", big, big, zero, noise)
        small_moved, _ = step("sisgld", w, w, zero, noise)
        for name in w:
            ratio = (moved[name] - big[name]).norm() / (small_moved[name] - w[name]).norm()
            exact = math.sqrt(((big[name] ** 2).sum() + SETTINGS.sisgld_eps) / ((w[name] ** 2).sum() + SETTINGS.sisgld_eps))
            assert ratio.item() == pytest.approx(exact, rel=1e-12)
            assert ratio.item() == pytest.approx(scale, rel=0.02)


def test_identity_preconditioner_is_sgld():
    w, w0, grads, _ = fixed_inputs()
    one = torch.ones((), dtype=torch.float64)
    for exact in (True, False):
        for name in w:
            with_one = langevin_proposal(w[name], grads[name], w0[name], EPS, NBETA, 3.0, precondition=one, exact=exact)
            plain = langevin_proposal(w[name], grads[name], w0[name], EPS, NBETA, 3.0, exact=exact)
            for a, b in zip(with_one, plain):
                torch.testing.assert_close(a, b)


def test_exact_localisation_is_the_ornstein_uhlenbeck_solution():
    """Without a loss gradient, the step is the OU transition: mean w₀ + e^{−εγD/2}(w − w₀),
    variance (1 − e^{−εγD})/γ; with one, the frozen force adds (1 − e^{−x})/x · ε f."""
    w, w0, grads, _ = fixed_inputs()
    gamma, d = 1e4, torch.tensor(0.3, dtype=torch.float64)
    decay = math.exp(-EPS.item() * gamma * d.item() / 2)
    for name in w:
        mean, std = langevin_proposal(w[name], 0 * grads[name], w0[name], EPS, NBETA, gamma, precondition=d)
        torch.testing.assert_close(mean, w0[name] + decay * (w[name] - w0[name]))
        torch.testing.assert_close(std, torch.full_like(std, math.sqrt((1 - decay**2) / gamma)))
        forced, _ = langevin_proposal(w[name], grads[name], w0[name], EPS, NBETA, gamma, precondition=d)
        x = EPS * gamma * d / 2
        torch.testing.assert_close(forced - mean, -(1 - decay) / x * EPS * 0.5 * NBETA * d * grads[name])


def test_exact_step_agrees_with_the_euler_step_to_first_order_in_epsilon():
    """The two integrators differ by O(ε²) in the mean and O(ε²) in the variance: halving ε
    quarters the difference."""
    w, w0, grads, _ = fixed_inputs()
    gaps = []
    for eps in (1e-3, 5e-4):
        epsilon = torch.tensor(eps, dtype=torch.float64)
        exact = langevin_proposal(w["a"], grads["a"], w0["a"], epsilon, NBETA, 30.0, exact=True)
        euler = langevin_proposal(w["a"], grads["a"], w0["a"], epsilon, NBETA, 30.0, exact=False)
        gaps.append([(a - b).abs().max().item() for a, b in ((exact[0], euler[0]), (exact[1] ** 2, euler[1] ** 2))])
    for big, small in zip(*gaps):
        assert small / big == pytest.approx(0.25, rel=0.02)


def test_exact_step_is_stable_where_the_euler_localisation_explodes():
    """ε γ = 10 > 4: the Euler step overshoots w₀ and grows; the exact step contracts towards it."""
    w, w0, grads, _ = fixed_inputs()
    epsilon = torch.tensor(1.0, dtype=torch.float64)
    for exact, grows in ((False, True), (True, False)):
        mean, _ = langevin_proposal(w["b"], 0 * grads["b"], w0["b"], epsilon, NBETA, 10.0, exact=exact)
        assert ((mean - w0["b"]).norm() > (w["b"] - w0["b"]).norm()) == grows


# A regular model: linear regression y = x·w* + N(0, σ²), loss = Gaussian NLL per sample; at the
# least-squares minimum the LLC is d/2 (Watanabe 2009: a regular model's λ is half its dimension).
D, N, SIGMA, BATCH = 6, 1000, 1.0, 100
NBETA_REGULAR = N / math.log(N)
# Per-sampler step sizes: ε · D · nβ · h / 4 ≈ 0.01–0.02 (small discretisation bias), with D the
# preconditioner's typical size on this problem; the localisation γ = 1 is ≪ nβ h ≈ 145.
REGULAR_EPS = {"sgld": 2e-4, "psgld": 2e-5, "rsgld": 1e-4, "sisgld": 1.5e-5}
REGULAR_SETTINGS = {integrator: SamplerSettings(gamma=1.0, psgld_decay=0.999, psgld_lambda=1e-5, rsgld_delta=1e-4,
                                                sisgld_eps=1e-4, integrator=integrator) for integrator in INTEGRATORS}
CHAINS, STEPS, BURNIN = 16, 1500, 300


def regression_loss(params, x, y):
    """Per-sample Gaussian negative log-likelihood (up to a constant)."""
    return 0.5 * (y - x @ params["w"]) ** 2 / SIGMA**2


@pytest.fixture(scope="module")
def regression():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(N, D, generator=g, dtype=torch.float64)
    w_true = 1.0 + torch.rand(D, generator=g, dtype=torch.float64)
    y = x @ w_true + SIGMA * torch.randn(N, generator=g, dtype=torch.float64)
    w_hat = torch.linalg.lstsq(x, y[:, None]).solution[:, 0]
    return x, y, w_hat


def regression_points(regression, epsilon, nbetas):
    x, y, w_hat = regression
    k = len(nbetas)
    as_tensor = lambda values: torch.tensor(values, dtype=torch.float64)  # noqa: E731
    return Points({"w": w_hat.expand(k, D).clone()}, x.expand(k, N, D), y.expand(k, N),
                  as_tensor([epsilon] * k), as_tensor(nbetas))


def regular_llc(regression, method, nbetas, settings=REGULAR_SETTINGS["exact"], epsilon=None, batch=BATCH):
    points = regression_points(regression, epsilon or REGULAR_EPS[method], nbetas)
    run = run_chains(regression_loss, make_sampler(method, settings), points,
                     ChainSettings(chains=CHAINS, steps=STEPS, batch_size=batch, seed=3))
    return chain_llc(run.excess, points.nbeta, BURNIN)


@pytest.mark.parametrize("integrator", INTEGRATORS)
@pytest.mark.parametrize("method", METHODS)
def test_every_sampler_finds_half_the_dimension_of_a_regular_model(regression, method, integrator):
    llc = summarize(regular_llc(regression, method, [NBETA_REGULAR], REGULAR_SETTINGS[integrator]))
    assert llc.n_diverged[0] == 0
    assert llc.mean[0] == pytest.approx(D / 2, rel=0.15)


def localised_llc(regression, nbeta, gamma):
    """The exact LLC of the localised tempered posterior of the regression: Gaussian with precision
    nβ H + γ I, so nβ E[L_n − L_n(ŵ)] = ½ Σ_i nβ h_i / (nβ h_i + γ), h_i the eigenvalues of H."""
    x = regression[0]
    h = torch.linalg.eigvalsh(x.T @ x / N / SIGMA**2)
    return 0.5 * (nbeta * h / (nbeta * h + gamma)).sum().item()


def test_a_strong_localisation_gives_an_estimate_proportional_to_nbeta(regression):
    """γ ≫ nβ h: the chains feel the localisation, not the loss; the estimate follows the closed
    form ½ Σ nβ h/(nβ h + γ) ≈ nβ tr H/(2γ), and its nβ-slope is near 1 (near 0 at γ ≪ nβ h).
    Full batches, since at ε γ = 2 minibatch gradient noise would outweigh the injected noise; the
    frozen loss force biases the variance by about nβ h/γ · (1 − e^{−εγ/2}), 7% at 10 nβ."""
    gamma, nbetas = 1e4, [NBETA_REGULAR, 10 * NBETA_REGULAR]
    settings = SamplerSettings(gamma=gamma)
    llc = summarize(regular_llc(regression, "sgld", nbetas, settings, epsilon=2e-4, batch=N))
    for estimate, nbeta in zip(llc.mean, nbetas):
        assert estimate == pytest.approx(localised_llc(regression, nbeta, gamma), rel=0.15)
    slope = math.log(llc.mean[1] / llc.mean[0]) / math.log(10)
    assert slope > 0.9


def test_thermodynamic_integration_finds_half_the_dimension(regression):
    nbetas = [NBETA_REGULAR / 2, NBETA_REGULAR, 2 * NBETA_REGULAR]
    per_chain = regular_llc(regression, "sgld", nbetas)  # (K, C)
    lam = summarize(thermodynamic_lambda(per_chain.T, nbetas)[None])
    assert lam.mean[0] == pytest.approx(D / 2, rel=0.15)


def test_thermodynamic_integration_of_a_constant_is_the_constant_and_of_c_over_b_is_exact():
    nbetas = torch.tensor([10.0, 20.0, 40.0, 80.0], dtype=torch.float64)
    assert thermodynamic_lambda(torch.full((4,), 3.0, dtype=torch.float64), nbetas).item() == pytest.approx(3.0)
    # λ̂(b) linear in log b: the trapezoid rule is exact, the mean is the midpoint value
    linear = 1.0 + torch.log(nbetas)
    expected = 1.0 + 0.5 * (math.log(10.0) + math.log(80.0))
    assert thermodynamic_lambda(linear, nbetas).item() == pytest.approx(expected)
    with pytest.raises(ValueError):
        thermodynamic_lambda(linear, nbetas.flip(0))


@pytest.mark.parametrize("integrator", INTEGRATORS)
def test_mala_acceptance_is_near_one_for_small_steps_and_falls_for_large_ones(regression, integrator):
    """The MALA acceptance measures the discretisation error of a step: near 1 at the small step
    that finds d/2 above, well below 1 at a step 40× larger (still stable: ε nβ h_max < 4)."""
    x, y, w_hat = regression
    points = Points({"w": w_hat.expand(2, D).clone()}, x.expand(2, N, D), y.expand(2, N),
                    torch.tensor([2e-4, 8e-3], dtype=torch.float64),
                    torch.tensor([NBETA_REGULAR] * 2, dtype=torch.float64))
    run = run_chains(regression_loss, make_sampler("sgld", REGULAR_SETTINGS[integrator]), points,
                     ChainSettings(chains=4, steps=200, batch_size=N, seed=3), diagnostics=True)
    acceptance = run.acceptance[..., 50:].mean(dim=(1, 2))
    assert acceptance[0] > 0.95 and acceptance[1] < 0.8
    assert run.grad_norm.shape == (2,) and run.grad_norm.max() < 1e-8  # ŵ is the least-squares minimum
    assert (run.distances[..., 0] == 0).all() and (run.distances[..., -1] > 0).all()

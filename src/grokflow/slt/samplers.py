"""The SGLD family: one Langevin update per method, on the named tensors of one model.

Every method samples the localised, tempered posterior of Lau et al. (2023),

    p(w) ∝ exp(−nβ L_n(w) − γ/2 ‖w − w₀‖²),

whose potential has the gradient  drift = nβ ∇L_batch(w) + γ (w − w₀)  (∇L_batch: the minibatch
estimate of ∇L_n). With a diagonal preconditioner D(w) (the inverse metric) and its correction
Γ_i(w) = Σ_j ∂D_ij/∂w_j, one step of length ε is (Ma, Chen & Fox 2015, "a complete recipe")

    w ← w − (ε/2) D ⊙ drift + (ε/2) Γ + √ε √D ⊙ ξ,      ξ ~ N(0, I).

- SGLD (Welling & Teh 2011; the update of Lau et al. 2023 and devinterp): D = 1, Γ = 0.
- pSGLD (Li, Chen, Carlson & Carin 2016): RMSProp's D = 1/(λ + √V̂), V ← a V + (1 − a) ∇L_batch²
  of the loss gradient only (the localisation term is known exactly), V̂ = V/(1 − aᵗ) bias-corrected
  as in Adam, so the first step already has a sensible scale; Γ is dropped, as Li et al. do.
- Riemannian SGLD (Girolami & Calderhead 2011; Patterson & Teh 2013): the position-dependent
  diagonal metric of log-magnitude coordinates, D_i(w) = w_i² + δ, with its exact correction
  Γ_i = ∂D_i/∂w_i = 2 w_i. Scaling a tensor by c scales its D by c² (up to δ), so the update of a
  rescaled tensor is the rescaled update: a candidate for invariance.
- SI-SGLD (scale-invariant SGLD): per tensor W one scalar G = ‖W‖²_F + ε_G scales the drift step and the
  noise variance, D = G, without a correction term: the noise's standard deviation grows
  linearly with the tensor's scale.

Integrators. "euler" is the update above (Euler–Maruyama, devinterp's SGLD). Its localisation
part alone is stable only for ε γ D < 4, so a strong localisation caps the step size long before
the loss does. "exact" (the default) integrates the linear localisation force exactly over the
step, with D, Γ and the loss gradient frozen at w (an exponential integrator: the
Ornstein–Uhlenbeck process dw = −(γD/2)(w − w₀) dt + f dt + √D dW, f = −(D/2) nβ ∇L + Γ/2):

    w ← w₀ + e^{−x} (w − w₀) + ε φ(x) f + √(ε D φ(2x)) ⊙ ξ,    x = ε γ D / 2,  φ(x) = (1 − e^{−x})/x,

which equals the Euler step to first order in ε and is stable for any ε γ D. Each rescaled tensor
may carry its own γ (the engine's `localisation` factors).

Every function here acts on one model (dicts of unbatched tensors); the engine vmaps it.
"""

from dataclasses import dataclass
import functools

import torch

from ..settings import SltSettings
from .methods import METHODS

Tensors = dict[str, torch.Tensor]
INTEGRATORS = ("exact", "euler")


@dataclass(frozen=True)
class SamplerSettings:
    """Hyperparameters shared by every point of a run (ε and nβ may differ per point).

    gamma: localisation strength γ; psgld_decay: RMSProp's a; psgld_lambda: pSGLD's λ;
    rsgld_delta: δ of the Riemannian metric; sisgld_eps: SI-SGLD's ε_G; integrator: "exact"
    (localisation integrated over the step) or "euler". Defaults: grokflow.settings.SltSettings;
    γ is each sampler's (grokflow.settings.SLT_GAMMA).
    """

    gamma: float
    psgld_decay: float = SltSettings.psgld_decay
    psgld_lambda: float = SltSettings.psgld_lambda
    rsgld_delta: float = SltSettings.rsgld_delta
    sisgld_eps: float = SltSettings.sisgld_eps
    integrator: str = SltSettings.integrator

    def __post_init__(self):
        if self.integrator not in INTEGRATORS:
            raise ValueError(f"unknown integrator {self.integrator!r}; expected one of {', '.join(INTEGRATORS)}")


def relative_decay(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = (1 − e^{−x})/x, with φ(0) = 1."""
    return torch.where(x > 0, -torch.expm1(-x) / x, torch.ones_like(x))


def langevin_proposal(w, grad, w0, epsilon, nbeta, gamma, precondition=None, correction=None, exact=True):
    """Mean and standard deviation of one step's Gaussian, w_next = mean + std ⊙ ξ, for one tensor.

    euler: mean = w − (ε/2) D ⊙ (nβ ∇L + γ (w − w₀)) + (ε/2) Γ, std = √(ε D);
    exact: the exponential integrator of the module docstring. D = 1, Γ = 0 if None; D may be a
    scalar (SGLD, SI-SGLD): std is expanded to w's shape either way."""
    d = torch.ones_like(epsilon) if precondition is None else precondition
    force = -0.5 * nbeta * d * grad
    if correction is not None:
        force = force + 0.5 * correction
    if not exact:
        return w + epsilon * (force - 0.5 * gamma * d * (w - w0)), torch.sqrt(epsilon * d).expand_as(w)
    x = 0.5 * epsilon * gamma * d
    mean = w0 + torch.exp(-x) * (w - w0) + epsilon * relative_decay(x) * force
    return mean, torch.sqrt(epsilon * d * relative_decay(2 * x)).expand_as(w)


def log_density(target: Tensors, means: Tensors, stds: Tensors) -> torch.Tensor:
    """log N(target; mean, diag(std²)) over every tensor, up to the constant −(d/2) log 2π."""
    return sum((-0.5 * ((target[name] - mean) / stds[name]) ** 2 - torch.log(stds[name])).sum()
               for name, mean in means.items())


class Sampler:
    """One update rule on the dicts of one model's tensors.

    A sampler defines `preconditioners(params, grads, state)`: the preconditioner D and correction
    Γ of every tensor (None for the identity and for none) and its next state; the default asks
    `metric(w)` of each tensor, for samplers whose D depends on the position alone."""

    name = "sgld"

    def __init__(self, settings: SamplerSettings):
        self.settings = settings

    def init_state(self, params: Tensors) -> Tensors:
        return {}

    def metric(self, w: torch.Tensor):
        return None, None

    def preconditioners(self, params: Tensors, grads: Tensors, state: Tensors) -> tuple[dict, Tensors]:
        return {name: self.metric(w) for name, w in params.items()}, state

    def proposal(self, params: Tensors, grads: Tensors, w0: Tensors, state: Tensors, epsilon: torch.Tensor,
                 nbeta: torch.Tensor, localisation: Tensors | None = None) -> tuple[Tensors, Tensors, Tensors]:
        """Means and standard deviations of the next parameters, and the next sampler state.

        `localisation` ({name: factor}) multiplies γ for the named tensors."""
        localisation = localisation or {}
        exact = self.settings.integrator == "exact"
        metrics, state = self.preconditioners(params, grads, state)
        means, stds = {}, {}
        for name, w in params.items():
            gamma = self.settings.gamma * localisation[name] if name in localisation else self.settings.gamma
            means[name], stds[name] = langevin_proposal(w, grads[name], w0[name], epsilon, nbeta, gamma,
                                                        *metrics[name], exact=exact)
        return means, stds, state

    def step(self, params: Tensors, grads: Tensors, w0: Tensors, noise: Tensors, state: Tensors,
             epsilon: torch.Tensor, nbeta: torch.Tensor, localisation: Tensors | None = None) -> tuple[Tensors, Tensors]:
        """The next parameters (mean + std ⊙ noise) and sampler state."""
        means, stds, state = self.proposal(params, grads, w0, state, epsilon, nbeta, localisation)
        return {name: torch.addcmul(mean, stds[name], noise[name]) for name, mean in means.items()}, state


class PSGLD(Sampler):
    name = "psgld"

    def init_state(self, params: Tensors) -> Tensors:
        state = {f"v.{name}": torch.zeros_like(w) for name, w in params.items()}
        some = next(iter(params.values()))
        return state | {"t": torch.zeros((), dtype=some.dtype, device=some.device)}

    def preconditioners(self, params, grads, state):
        s = self.settings
        t = state["t"] + 1
        metrics, new_state = {}, {"t": t}
        for name in params:
            v = s.psgld_decay * state[f"v.{name}"] + (1 - s.psgld_decay) * grads[name] ** 2
            metrics[name] = (1 / (s.psgld_lambda + torch.sqrt(v / (1 - s.psgld_decay**t))), None)
            new_state[f"v.{name}"] = v
        return metrics, new_state


class RSGLD(Sampler):
    name = "rsgld"

    def metric(self, w):
        return w**2 + self.settings.rsgld_delta, 2 * w


class SISGLD(Sampler):
    name = "sisgld"

    def metric(self, w):
        return (w**2).sum() + self.settings.sisgld_eps, None


@functools.cache
def make_sampler(method: str, settings: SamplerSettings) -> Sampler:
    """The sampler named `method` (one of METHODS); one object per (method, settings) in a process,
    so that the engine's compiled update built for it is reused."""
    classes = {cls.name: cls for cls in (Sampler, PSGLD, RSGLD, SISGLD)}
    if method not in classes:
        raise ValueError(f"unknown sampler {method!r}; expected one of {', '.join(METHODS)}")
    return classes[method](settings)

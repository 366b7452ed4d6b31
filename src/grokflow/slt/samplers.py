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
- SI-SGLD (seed 002): per tensor W one scalar G = ‖W‖²_F + ε_G scales the drift step and the
  noise variance, D = G, without a correction term: the noise's standard deviation grows
  linearly with the tensor's scale.

Every function here acts on one model (dicts of unbatched tensors); the engine vmaps it.
"""

from dataclasses import dataclass
import functools

import torch

from .methods import METHODS

Tensors = dict[str, torch.Tensor]


@dataclass(frozen=True)
class SamplerSettings:
    """Hyperparameters shared by every point of a run (ε and nβ may differ per point).

    gamma: localisation strength γ; psgld_decay: RMSProp's a; psgld_lambda: pSGLD's λ;
    rsgld_delta: δ of the Riemannian metric; sisgld_eps: SI-SGLD's ε_G.
    """

    gamma: float = 100.0
    psgld_decay: float = 0.99
    psgld_lambda: float = 1e-5
    rsgld_delta: float = 1e-6
    sisgld_eps: float = 1e-6


def langevin_step(w, grad, w0, noise, epsilon, nbeta, gamma, precondition=None, correction=None):
    """w − (ε/2) D ⊙ (nβ ∇L + γ (w − w₀)) + (ε/2) Γ + √(ε D) ⊙ ξ for one tensor (D = 1, Γ = 0 if None).

    Written as few fused passes over the tensor (addcmul), since this runs on every parameter of
    every chain at every step."""
    drift = torch.addcmul(gamma * (w - w0), grad, nbeta)
    if precondition is None:
        step = torch.addcmul(torch.addcmul(w, drift, -0.5 * epsilon), noise, torch.sqrt(epsilon))
    else:
        step = torch.addcmul(w, drift * precondition, -0.5 * epsilon)
        step = torch.addcmul(step, noise, torch.sqrt(epsilon * precondition))
    return step if correction is None else torch.addcmul(step, correction, 0.5 * epsilon)


class Sampler:
    """One update rule: `init_state(w0)` and `step(...)` on the dicts of one model's tensors.

    A stateless sampler only defines `metric(w)`: the preconditioner D and correction Γ of one
    tensor (None for the identity and for none)."""

    name = "sgld"

    def __init__(self, settings: SamplerSettings):
        self.settings = settings

    def init_state(self, params: Tensors) -> Tensors:
        return {}

    def metric(self, w: torch.Tensor):
        return None, None

    def step(self, params: Tensors, grads: Tensors, w0: Tensors, noise: Tensors, state: Tensors,
             epsilon: torch.Tensor, nbeta: torch.Tensor) -> tuple[Tensors, Tensors]:
        """The next parameters and sampler state."""
        new = {}
        for name, w in params.items():
            precondition, correction = self.metric(w)
            new[name] = langevin_step(w, grads[name], w0[name], noise[name], epsilon, nbeta, self.settings.gamma,
                                      precondition, correction)
        return new, state


class PSGLD(Sampler):
    name = "psgld"

    def init_state(self, params: Tensors) -> Tensors:
        state = {f"v.{name}": torch.zeros_like(w) for name, w in params.items()}
        some = next(iter(params.values()))
        return state | {"t": torch.zeros((), dtype=some.dtype, device=some.device)}

    def step(self, params, grads, w0, noise, state, epsilon, nbeta):
        s = self.settings
        t = state["t"] + 1
        new_params, new_state = {}, {"t": t}
        for name, w in params.items():
            v = s.psgld_decay * state[f"v.{name}"] + (1 - s.psgld_decay) * grads[name] ** 2
            precondition = 1 / (s.psgld_lambda + torch.sqrt(v / (1 - s.psgld_decay**t)))
            new_params[name] = langevin_step(w, grads[name], w0[name], noise[name], epsilon, nbeta,
                                             s.gamma, precondition)
            new_state[f"v.{name}"] = v
        return new_params, new_state


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

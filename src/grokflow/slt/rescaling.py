"""The two function-preserving rescalings of the grokking transformer (docs/design.md).

- α multiplies every weight that writes into the residual stream (W_E, W_pos, W_O, b_O, W_out,
  b_out): every LayerNorm sees α·x and normalises it away. This is exact only when LayerNorm's ε
  scales with α² too (LN_ε(αx) = LN_{ε/α²}(x)): weight decay 1 leaves residual-stream variances
  within a factor 10 of the default ε = 1e-5, so with a fixed ε the plain rescaled network is a
  different function (its `max_logit_change_fixed_ln_eps` in the study's CSVs).
- β multiplies W_in and b_in and divides W_out: ReLU(β z) = β ReLU(z) for β > 0 undoes it exactly.

The study samples the exactly equivalent network, written as the pull-back w′ ↦ L(w′ ⊘ s(α, β))
of the trained network's loss (the engine's `Points.scales`): the same function as the rescaled
weights with LayerNorm ε·α², so its LLC is exactly that of the unscaled network, and any change
across the grid is the estimator's.

Two variants of the study's localisation γ/2 ‖w − w₀‖²:

- "fixed" (the seed's): the same γ at every grid point. In the pulled-back coordinates w′ = s w
  the prior γ/2 ‖w′ − w₀′‖² = γ s²/2 ‖w − w₀‖² is stronger or weaker than at (1, 1), so the
  localised posterior itself, and with it the exact LLC, changes over the grid.
- "scaled": each rescaled tensor's γ is divided by s², so that the localised tempered posterior at
  (α, β) is exactly the push-forward of the one at (1, 1) and the exact LLC is the same at every
  point: any variation left is the sampler's own (discretisation, mixing).
"""

import numpy as np
import torch

from ..model import ModelConfig
from .engine import Points
from .methods import VARIANTS
from .transformer import logits_function

RESIDUAL_WRITERS = ("W_E", "W_pos", "W_O", "b_O", "W_out", "b_out")
MLP_INPUTS = ("W_in", "b_in")


def scale_factor(name: str, alpha: float, beta: float) -> float:
    """The factor the (α, β) rescaling applies to the tensor `name` (a state-dict key)."""
    leaf = name.split(".")[-1]
    factor = alpha if leaf in RESIDUAL_WRITERS else 1.0
    if leaf in MLP_INPUTS:
        factor *= beta
    if leaf == "W_out":
        factor /= beta
    return factor


def rescaled_names(names) -> list[str]:
    """The tensors some (α, β) rescaling changes."""
    return [name for name in names if name.split(".")[-1] in RESIDUAL_WRITERS + MLP_INPUTS]


def rescale(tensors: dict[str, torch.Tensor], alpha: float, beta: float) -> dict[str, torch.Tensor]:
    """The weights of the same function under the (α, β) rescaling (new tensors)."""
    return {name: tensor * scale_factor(name, alpha, beta) for name, tensor in tensors.items()}


def log_grid(low: float, high: float, count: int) -> np.ndarray:
    """`count` log-spaced values from `low` to `high` (both included; `low` alone if count is 1)."""
    return np.geomspace(low, high, count)


def rescaled_points(tensors: dict[str, torch.Tensor], data: tuple, alphas, betas, epsilon: float,
                    nbeta: float, variant: str = "fixed") -> Points:
    """One point per (α, β) pair: the rescaled weights and the pull-back scales of their loss, and
    each rescaled tensor's localisation factor: 1/s² with variant "scaled", 1 with "fixed"."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    some = next(iter(tensors.values()))
    as_tensor = lambda values: torch.tensor(values, dtype=some.dtype, device=some.device)  # noqa: E731
    w0 = {name: torch.stack([t * scale_factor(name, a, b) for a, b in zip(alphas, betas)])
          for name, t in tensors.items()}
    scales = {name: as_tensor([scale_factor(name, a, b) for a, b in zip(alphas, betas)])
              for name in rescaled_names(tensors)}
    tokens, labels = data
    count = len(alphas)
    # Both variants carry a factor per rescaled tensor (1 for "fixed"), so that a compiled update
    # built for one serves the other.
    localisation = {name: 1 / s**2 if variant == "scaled" else torch.ones_like(s) for name, s in scales.items()}
    return Points(w0, tokens.expand(count, *tokens.shape), labels.expand(count, *labels.shape),
                  as_tensor([epsilon] * count), as_tensor([nbeta] * count), scales, localisation)


@torch.no_grad()
def max_logit_changes(tensors, model_config: ModelConfig, tokens: torch.Tensor, grid) -> list[tuple[float, float]]:
    """max |Δlogit| over `tokens` of (the sampled network, the plain rescaled network with fixed ε)
    for every (α, β) of `grid`.

    The sampled network is the pull-back, so its change is float rounding only; the plain one
    shows how far the α rescaling is from a symmetry with LayerNorm's ε held fixed.
    """
    logits = logits_function(model_config, tokens.device)
    reference = logits(tensors, tokens)

    def change(weights) -> float:
        return (logits(weights, tokens) - reference).abs().max().item()

    changes = []
    for alpha, beta in grid:
        rescaled = rescale(tensors, alpha, beta)
        pulled_back = {name: t / scale_factor(name, alpha, beta) for name, t in rescaled.items()}
        changes.append((change(pulled_back), change(rescaled)))
    return changes

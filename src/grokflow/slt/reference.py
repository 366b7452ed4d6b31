"""The reference point w₀ of an LLC estimate.

The LLC λ̂(w₀) = nβ (E[L_n(w)] − L_n(w₀)) assumes w₀ is a local minimum of L_n. A network trained
with weight decay sits at a stationary point of L_n plus the decay, not of L_n: chains started
there can descend below L_n(w₀), and the estimate comes out small or negative. Two choices:

- "checkpoint": w₀ is the checkpoint as trained;
- "polished": w₀ is the checkpoint after `steps` full-batch Adam steps on L_n alone (the
  training's optimiser without weight decay), which lowers L_n and ‖∇L_n(w₀)‖. Its learning rate
  is a tenth of the training's by default: a fresh Adam moves every weight by about lr in its
  first steps, and at lr = 1e-3 that alone takes a weight-decay-1 network (weights ~0.01) to
  chance loss within five steps. Cross-entropy on a memorised training set has no exact minimum (scaling up the
  logits keeps lowering it), so the polish is short by design: it moves w₀ to where the loss is
  locally flat, not far along that direction.

Every SLT table reports the reference, the polish steps and the checkpoint's own L_n, so the
loss change of the polish is init_loss − checkpoint_loss.
"""

from dataclasses import dataclass

import torch

from ..model import ModelConfig
from ..settings import SltSettings
from .transformer import cross_entropy_loss

REFERENCES = ("checkpoint", "polished")


@dataclass(frozen=True)
class Reference:
    """kind: "checkpoint" or "polished"; steps, lr, betas: the polish's full-batch Adam."""

    kind: str = SltSettings.reference
    steps: int = SltSettings.polish_steps
    lr: float = SltSettings.polish_lr
    betas: tuple[float, float] = SltSettings.polish_betas

    def __post_init__(self):
        if self.kind not in REFERENCES:
            raise ValueError(f"unknown reference {self.kind!r}; expected one of {', '.join(REFERENCES)}")


def full_loss(model_config: ModelConfig, tensors: dict[str, torch.Tensor], data: tuple) -> float:
    """L_n of the weights on the data (tokens, labels)."""
    device = next(iter(tensors.values())).device
    with torch.no_grad():
        return cross_entropy_loss(model_config, device)(tensors, *data).mean().item()


def polish(model_config: ModelConfig, tensors: dict[str, torch.Tensor], data: tuple,
           reference: Reference) -> dict[str, torch.Tensor]:
    """The weights after `reference.steps` full-batch Adam steps on L_n (no weight decay)."""
    device = next(iter(tensors.values())).device
    loss = cross_entropy_loss(model_config, device)
    params = {name: t.detach().clone().requires_grad_() for name, t in tensors.items()}
    optimiser = torch.optim.Adam(params.values(), lr=reference.lr, betas=reference.betas)
    for _ in range(reference.steps):
        optimiser.zero_grad()
        loss(params, *data).mean().backward()
        optimiser.step()
    return {name: p.detach() for name, p in params.items()}


def reference_point(model_config: ModelConfig, tensors: dict[str, torch.Tensor], data: tuple,
                    reference: Reference) -> tuple[dict[str, torch.Tensor], dict]:
    """w₀ for the estimate, and the columns that report it: reference, polish_steps and
    checkpoint_loss (L_n of the checkpoint itself)."""
    columns = {"reference": reference.kind, "polish_steps": reference.steps if reference.kind == "polished" else 0,
               "checkpoint_loss": full_loss(model_config, tensors, data)}
    if reference.kind == "checkpoint":
        return tensors, columns
    return polish(model_config, tensors, data, reference), columns

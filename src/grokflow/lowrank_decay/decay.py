"""Low-rank (nuclear-norm) weight decay by Newton–Schulz iteration, and per-model weight decay.

For a weight W = U S Vᵀ, the polar factor U Vᵀ is a subgradient of the nuclear norm ‖W‖_* = Σ σᵢ,
so W ← W − r · U Vᵀ = U (S − r) Vᵀ lowers every non-zero singular value by r: a decay that
shrinks the small directions away relative to the large ones (low rank), where L2 decay
(W ← (1 − r) W) shrinks all of them by the same factor.

U Vᵀ comes from the cubic Newton–Schulz iteration Y ← ½ Y (3I − YᵀY) started at Y = W/‖W‖_F:
each singular value follows σ ← ½ σ (3 − σ²), which converges to 1 for σ in (0, √3) and leaves
the singular vectors alone (Higham, "Functions of Matrices", 2008, §8.3; the step of the seed's
`NewtonSchulzLowRankDecay`). Dividing by the Frobenius norm puts every σ in (0, 1].

Weights in the TransformerLens layout are treated as the linear maps they are (`as_matrix`).
"""

import torch


HEADED_INPUT = ("W_Q", "W_K", "W_V")  # (heads, d_model, d_head): d_model → heads·d_head
HEADED_OUTPUT = ("W_O",)  # (heads, d_head, d_model): heads·d_head → d_model


def as_matrix(weight: torch.Tensor, name: str) -> torch.Tensor:
    """The linear map of tensor `name` as a matrix (batched over leading axes): W_Q, W_K, W_V
    (..., heads, d_model, d_head) → (..., d_model, heads·d_head); W_O (..., heads, d_head,
    d_model) → (..., heads·d_head, d_model); every other weight is already (..., in, out)."""
    if name.endswith(HEADED_INPUT):
        heads, d_model, d_head = weight.shape[-3:]
        return weight.transpose(-3, -2).reshape(*weight.shape[:-3], d_model, heads * d_head)
    if name.endswith(HEADED_OUTPUT):
        return weight.flatten(-3, -2)
    return weight


def from_matrix(matrix: torch.Tensor, name: str, shape: torch.Size) -> torch.Tensor:
    """Inverse of `as_matrix` for tensor `name` of `shape`."""
    if name.endswith(HEADED_INPUT):
        heads, d_model, d_head = shape[-3:]
        return matrix.reshape(*shape[:-3], d_model, heads, d_head).transpose(-3, -2)
    return matrix.reshape(shape)


def newton_schulz(matrix: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` iterations of Y ← ½ Y (3I − YᵀY) from Y = matrix (batched over leading axes)."""
    y = matrix
    for _ in range(steps):
        y = 1.5 * y - 0.5 * y @ (y.transpose(-2, -1) @ y)
    return y


def polar_factor(matrix: torch.Tensor, steps: int) -> torch.Tensor:
    """The Newton–Schulz approximation of U Vᵀ: the iteration from matrix / ‖matrix‖_F."""
    norm = torch.linalg.matrix_norm(matrix, keepdim=True).clamp_min(1e-12)
    return newton_schulz(matrix / norm, steps)


def stable_rank(matrix: torch.Tensor) -> torch.Tensor:
    """‖S‖² / max(S)² = ‖W‖_F² / ‖W‖₂² (batched): how many directions carry the weight."""
    singular = torch.linalg.svdvals(matrix)
    return (singular**2).sum(dim=-1) / singular[..., 0] ** 2


class StackRegularizer:
    """Per-model weight decay and low-rank decay of a stack of models, for `StackTrainer`.

    `weight_decay[name]` (M,) is each model's decoupled (AdamW) weight decay of tensor `name`,
    applied before the Adam step as W ← W (1 − lr·λ), as torch.optim.AdamW does; the trainer's own
    AdamW then runs with weight decay 0. `lowrank_rate` (M,) is each model's low-rank decay rate r
    of the `lowrank_names` tensors, applied after the step: W ← W − r · polar_factor(W).
    """

    def __init__(self, lr: float, weight_decay: dict[str, torch.Tensor], lowrank_names: list[str],
                 lowrank_rate: torch.Tensor, newton_schulz_steps: int):
        self.lr = lr
        self.weight_decay = weight_decay
        self.lowrank_names = lowrank_names
        self.lowrank_rate = lowrank_rate
        self.steps = newton_schulz_steps

    def before_step(self, params: dict[str, torch.Tensor]) -> None:
        for name, decay in self.weight_decay.items():
            params[name].mul_(per_model(1 - self.lr * decay, params[name]))

    def after_step(self, params: dict[str, torch.Tensor]) -> None:
        for name in self.lowrank_names:
            weight = params[name]
            step = from_matrix(polar_factor(as_matrix(weight, name), self.steps), name, weight.shape)
            weight.sub_(per_model(self.lowrank_rate, weight) * step)


def per_model(values: torch.Tensor, stacked: torch.Tensor) -> torch.Tensor:
    """One value per model (M,), shaped to broadcast over a stacked tensor (M, ...)."""
    return values.view(-1, *[1] * (stacked.dim() - 1))

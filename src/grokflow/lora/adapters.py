"""LoRA: low-rank adaptation of frozen weights (Hu et al. 2021, "LoRA: Low-Rank Adaptation of
Large Language Models", arXiv:2106.09685), and the LoRA rank study.

A frozen weight W₀ (out × in) gets a trainable update ΔW = (α/r) B A with A (r × in) and
B (out × r); B starts at zero, so an adapted model starts as the frozen one. The update has
r(in + out) parameters instead of in · out. By Eckart–Young–Mirsky, no rank-r matrix is closer
to W₀ in Frobenius norm than its truncated SVD, whose error is √(Σ_{i>r} σᵢ²).
"""

from dataclasses import dataclass
import math

import torch
from torch import nn
from torch.nn.utils import parametrize

PSEUDO_CODE = """\
class LoRALinear(nn.Module):
    def __init__(self, base: nn.Linear, r: int, alpha: float):
        self.weight = base.weight            # W0 (out x in), frozen: requires_grad_(False)
        self.lora_a = Parameter(r, in)       # A, Kaiming-uniform
        self.lora_b = Parameter(out, r)      # B, zeros: the update starts at 0
        self.scale = alpha / r

    def forward(self, x):
        base = x @ W0.T                      # the frozen layer (plus its bias)
        update = (x @ A.T) @ B.T * scale     # the low-rank path, r(in + out) parameters
        return base + update
"""


@dataclass(frozen=True)
class LoraConfig:
    """The demo's sizes: a hidden_size × hidden_size weight, the ranks tried, and α (scale α/r);
    defaults: grokflow.settings.LoraDemoSettings."""

    hidden_size: int
    rank_candidates: tuple[int, ...]
    alpha: float


class LowRankUpdate(nn.Module):
    """The trainable part of LoRA: ΔW = (α/r) B A (out × in), A Kaiming-uniform, B zero."""

    def __init__(self, in_features: int, out_features: int, rank: int, alpha: float):
        super().__init__()
        self.rank, self.scale = rank, alpha / rank
        self.A = nn.Parameter(torch.empty(rank, in_features))
        self.B = nn.Parameter(torch.zeros(out_features, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))

    def delta(self) -> torch.Tensor:
        return self.scale * self.B @ self.A


class LoRALinear(nn.Module):
    """A frozen nn.Linear plus a low-rank update: y = x W₀ᵀ + b + dropout(x) Aᵀ Bᵀ · α/r.

    merge() adds ΔW into W₀ (inference at the base layer's cost); unmerge() takes it out again.
    """

    def __init__(self, base: nn.Linear, rank: int, alpha: float, dropout: float = 0.0):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.update = LowRankUpdate(base.in_features, base.out_features, rank, alpha)
        self.dropout = nn.Dropout(dropout)
        self.merged = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base(x)
        if self.merged:
            return out
        return out + (self.dropout(x) @ self.update.A.T) @ self.update.B.T * self.update.scale

    @torch.no_grad()
    def merge(self) -> None:
        if not self.merged:
            self.base.weight += self.update.delta()
            self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        if self.merged:
            self.base.weight -= self.update.delta()
            self.merged = False


def inject_lora(model: nn.Module, names, rank: int, alpha: float, dropout: float = 0.0) -> nn.Module:
    """Replace the nn.Linear submodules called `names` (dotted paths) by LoRALinear wrappers and
    freeze everything else, in place."""
    model.requires_grad_(False)
    for name in names:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name)
        base = getattr(parent, child)
        if not isinstance(base, nn.Linear):
            raise TypeError(f"{name} is a {type(base).__name__}, not an nn.Linear")
        setattr(parent, child, LoRALinear(base, rank, alpha, dropout))
    return model


def trainable_parameters(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


# --- the grokking transformer keeps its weights as raw tensors in the x @ W layout -------------

ATTENTION_IN = ("W_Q", "W_K", "W_V")  # (heads, d_model, d_head): d_model → heads·d_head
ADAPTED = (*ATTENTION_IN, "W_O", "W_in", "W_out")


def as_matrix(name: str, weight: torch.Tensor) -> torch.Tensor:
    """The (in × out) matrix M of a GrokTransformer weight, such that the layer maps x ↦ x M."""
    if name in ATTENTION_IN:
        return weight.permute(1, 0, 2).flatten(1)
    if name == "W_O":
        return weight.flatten(0, 1)
    return weight


def from_matrix(name: str, matrix: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """Inverse of as_matrix: the weight of `shape` whose matrix is `matrix`."""
    if name in ATTENTION_IN:
        heads, d_model, d_head = shape
        return matrix.view(d_model, heads, d_head).permute(1, 0, 2)
    return matrix.reshape(shape)


class LoRAWeight(nn.Module):
    """A parametrization W ↦ W + ΔW for a frozen GrokTransformer weight: in its (in × out)
    matrix layout the update is ΔWᵀ = (α/r) Aᵀ Bᵀ, i.e. x ↦ x W₀ + (x Aᵀ) Bᵀ α/r."""

    def __init__(self, name: str, weight: torch.Tensor, rank: int, alpha: float):
        super().__init__()
        self.name, self.shape = name, weight.shape
        in_features, out_features = as_matrix(name, weight).shape
        self.update = LowRankUpdate(in_features, out_features, rank, alpha)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight + from_matrix(self.name, self.update.delta().T, self.shape)


def adapt_transformer(model: nn.Module, rank: int, alpha: float) -> nn.Module:
    """Freeze the model and give every block's attention (W_Q, W_K, W_V, W_O) and MLP (W_in,
    W_out) weight a rank-`rank` LoRA update, in place."""
    model.requires_grad_(False)
    for block in model.blocks:
        for name in ADAPTED:
            weight = getattr(block, name)
            parametrize.register_parametrization(block, name, LoRAWeight(name, weight.detach(), rank, alpha))
            getattr(block.parametrizations, name).original.requires_grad_(False)
    return model


# --- the rank study -------------------------------------------------------------------------------

def random_update(shape: tuple[int, int], rank: int, alpha: float, generator: torch.Generator) -> torch.Tensor:
    """The demo's untrained update ΔW = (α/r) B A with A, B ~ N(0, 1)."""
    out_features, in_features = shape
    A = torch.randn(rank, in_features, generator=generator, dtype=torch.float64)
    B = torch.randn(out_features, rank, generator=generator, dtype=torch.float64)
    return alpha / rank * B @ A


def svd_truncation_error(singular_values: torch.Tensor, rank: int) -> float:
    """‖W − W_r‖_F of the best rank-r approximation: √(Σ_{i>r} σᵢ²) (Eckart–Young–Mirsky)."""
    return float(singular_values[rank:].square().sum().sqrt())


def truncated(matrix: torch.Tensor, rank: int) -> torch.Tensor:
    """The best rank-r approximation U_r Σ_r V_rᵀ of a matrix."""
    U, S, Vh = torch.linalg.svd(matrix, full_matrices=False)
    return U[:, :rank] * S[:rank] @ Vh[:rank]

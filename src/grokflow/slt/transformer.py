"""The grokking transformer as a chain-engine problem: its loss, and checkpoints as points."""

from collections.abc import Sequence
import functools

import torch
import torch.nn.functional as F
from torch.func import functional_call

from ..checkpoints import CheckpointInfo, load_checkpoint
from ..metrics.model_access import checkpoint_split
from ..model import GrokTransformer, ModelConfig
from .engine import Loss, Points


def logits_function(model_config: ModelConfig, device="cpu"):
    """logits(params, tokens) of a stateless copy of the model (its buffers on `device`)."""
    base = GrokTransformer(model_config).to(device)

    def logits(params, tokens):
        return functional_call(base, params, (tokens,))

    return logits


@functools.cache
def cross_entropy_loss(model_config: ModelConfig, device="cpu") -> Loss:
    """The training loss per sample, (params, tokens, labels) → (B,): cross-entropy of the answer.

    One loss per (model, device) in a process, so that the engine's compiled chains built for it
    serve every checkpoint and study."""
    logits = logits_function(model_config, device)

    def loss(params, tokens, labels):
        return F.cross_entropy(logits(params, tokens), labels, reduction="none")

    return loss


def load_run(path, dtype=torch.float32, device="cpu") -> tuple[dict[str, torch.Tensor], CheckpointInfo, tuple]:
    """A checkpoint's tensors, its metadata and its training set (tokens, labels)."""
    tensors, info = load_checkpoint(path)
    split = checkpoint_split(info)
    tensors = {name: t.to(device=device, dtype=dtype) for name, t in tensors.items()}
    return tensors, info, (split.train_inputs.to(device), split.train_labels.to(device))


def stack_points(weights: Sequence[dict[str, torch.Tensor]], data: Sequence[tuple], epsilon: Sequence[float],
                 nbeta: Sequence[float]) -> Points:
    """Points from per-point weights and (tokens, labels), with their ε and nβ."""
    some = next(iter(weights[0].values()))
    as_tensor = lambda values: torch.tensor(values, dtype=some.dtype, device=some.device)  # noqa: E731
    return Points({name: torch.stack([w[name] for w in weights]) for name in weights[0]},
                  torch.stack([tokens for tokens, _ in data]), torch.stack([labels for _, labels in data]),
                  as_tensor(epsilon), as_tensor(nbeta))

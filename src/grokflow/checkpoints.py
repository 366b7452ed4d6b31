"""Checkpoints: the model's tensors in safetensors, with the facts needed to rebuild it.

The metadata holds the model config, op, seed, step and train fraction (JSON under one key), so
that a checkpoint alone rebuilds the model and its data split, and the id of the training that
wrote it (grokflow.manifest.training_id; None in checkpoints written before it was recorded).
"""

from dataclasses import asdict, dataclass
import json
from pathlib import Path

from safetensors.torch import load_file, safe_open, save_file
import torch

from .errors import GrokflowError
from .io import atomic_path
from .model import GrokTransformer, ModelConfig
from .schedule import checkpoint_name  # noqa: F401 (the file name of a step's checkpoint, defined torch-free)

METADATA_KEY = "grokflow"


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint is: which run, which step, which model, which training."""

    op: str
    seed: int
    step: int
    train_fraction: float
    model: ModelConfig
    training: str | None = None

    def to_metadata(self) -> dict[str, str]:
        """One key holding sorted JSON: safetensors writes a metadata dict in hash order, which
        differs between processes, so several keys would make identical checkpoints differ."""
        fields = asdict(self) | {"model": asdict(self.model)}
        return {METADATA_KEY: json.dumps(fields, sort_keys=True)}

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> "CheckpointInfo":
        fields = json.loads(meta[METADATA_KEY])
        return cls(**(fields | {"model": ModelConfig(**fields["model"])}))


def save_checkpoint(path, tensors: dict[str, torch.Tensor], info: CheckpointInfo) -> None:
    """Write the tensors (copied to contiguous CPU memory) atomically."""
    cpu = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(cpu, str(tmp), metadata=info.to_metadata())


class InvalidCheckpoint(GrokflowError):
    """A file that is not a grokflow checkpoint."""


def read_info(path) -> CheckpointInfo:
    """The metadata of a checkpoint, without loading its tensors."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata()
    except Exception as err:  # safetensors raises its own error type for a malformed file
        raise InvalidCheckpoint(f"{path} is not a safetensors file ({err})") from None
    if not meta or METADATA_KEY not in meta:
        raise InvalidCheckpoint(f"{path} is not a grokflow checkpoint (no grokflow metadata)")
    return CheckpointInfo.from_metadata(meta)


def require_one_training(paths, infos: list[CheckpointInfo]) -> None:
    """A GrokflowError naming two of the checkpoints when they come from different trainings (an
    earlier configuration's files left beside the current ones), which one table must not mix."""
    first = infos[0]
    for path, info in zip(paths, infos):
        if info.training != first.training:
            raise GrokflowError(f"{path} (training {info.training}) and {paths[0]} (training {first.training}) "
                                "come from different trainings; give the checkpoints of one training only")


def load_checkpoint(path) -> tuple[dict[str, torch.Tensor], CheckpointInfo]:
    """The tensors and metadata of one checkpoint."""
    info = read_info(path)
    return load_file(str(path)), info


def load_model(path) -> tuple[GrokTransformer, CheckpointInfo]:
    """Rebuild the model of a checkpoint, in eval mode."""
    tensors, info = load_checkpoint(path)
    model = GrokTransformer(info.model)
    model.load_state_dict(tensors)
    return model.eval(), info

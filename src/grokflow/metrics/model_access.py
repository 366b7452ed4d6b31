"""The model and data behind a chunk of checkpoints, for metrics that run the network."""

import torch

from ..checkpoints import CheckpointInfo
from ..data import Split, train_test_split
from ..model import GrokTransformer


def parameter_names(model_config) -> list[str]:
    """Every tensor a GrokTransformer checkpoint holds (a `names` function for the runner)."""
    return list(GrokTransformer(model_config).state_dict())


def checkpoint_model(stacked: dict[str, torch.Tensor], infos: list[CheckpointInfo], index: int) -> GrokTransformer:
    """The model of checkpoint `index` of a stack, in float64 and eval mode."""
    model = GrokTransformer(infos[index].model)
    model.load_state_dict({name: tensor[index] for name, tensor in stacked.items()})
    return model.double().eval()


def checkpoint_split(info: CheckpointInfo) -> Split:
    """The train/test split the checkpoint's run was trained on."""
    return train_test_split(info.op, info.model.p, info.seed, info.train_fraction)

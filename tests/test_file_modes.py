"""Written files get the permissions of the user's umask, as a plain `open` would give them, so
that a group on shared storage can read the results; and they are still
written atomically (no temporary file is left beside them)."""

import os

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import torch

from grokflow.checkpoints import CheckpointInfo, save_checkpoint
from grokflow.export import HF_GPT2, export_model
from grokflow.io import atomic_path, write_csv
from grokflow.model import GrokTransformer, ModelConfig
from grokflow.plotting import save_figure


def write_a_csv(folder):
    write_csv(pd.DataFrame({"step": [1, 2]}), folder / "table.csv")
    return ["table.csv"]


def write_a_figure(folder):
    fig, ax = plt.subplots()
    ax.plot([1, 2])
    save_figure(fig, folder / "figure.png")
    return ["figure.png", "figure.pdf"]


def write_a_checkpoint(folder):
    info = CheckpointInfo(op="x+y", seed=0, step=1, train_fraction=0.3, model=ModelConfig(p=7))
    save_checkpoint(folder / "step1.safetensors", {"W_E": torch.zeros(2, 2)}, info)
    return ["step1.safetensors"]


def write_a_torch_file(folder):
    """The training's resume state is written like this (grokflow.training)."""
    with atomic_path(folder / "state.pt") as tmp:
        torch.save({"step": 1}, tmp)
    return ["state.pt"]


def write_an_export(folder):
    """A Hugging Face export: a folder and its two files (grokflow.export)."""
    export_model(GrokTransformer(ModelConfig(p=7)), CheckpointInfo("x+y", 0, 1, 0.3, ModelConfig(p=7)),
                 folder / "export", HF_GPT2)
    return ["export", "export/config.json", "export/model.safetensors"]


WRITERS = [write_a_csv, write_a_figure, write_a_checkpoint, write_a_torch_file, write_an_export]


@pytest.fixture(params=[0o022, 0o027], ids=["umask022", "umask027"])
def umask(request):
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.mark.parametrize("writer", WRITERS, ids=lambda writer: writer.__name__)
def test_a_written_file_has_the_mode_of_the_umask(tmp_path, umask, writer):
    names = writer(tmp_path)
    assert {name: oct(os.stat(tmp_path / name).st_mode & 0o777) for name in names} == \
        {name: oct((0o777 if (tmp_path / name).is_dir() else 0o666) & ~umask) for name in names}
    assert sorted(str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*")) == sorted(names)


def test_a_failed_write_leaves_neither_file_nor_temporary_file(tmp_path):
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "table.csv") as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []

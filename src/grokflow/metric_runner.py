"""Run a metric over many checkpoints and write one long-format CSV.

A metric is a function `measure(stacked, infos, args) -> list[list[dict]]` and a function
`names(model_config)` of the tensors it reads: `stacked` maps each of those names to the tensors
of a chunk of checkpoints stacked along a leading axis, so the linear algebra runs batched over
checkpoints; measure returns, for each checkpoint of the chunk, its rows. The runner adds `seed`
and `step` first, so that every metric CSV joins `metric.csv` on (seed, step), and writes the CSV
atomically.
"""

import argparse
from collections.abc import Callable, Sequence

import pandas as pd
from safetensors import safe_open
import torch
from tqdm import tqdm

from .checkpoints import CheckpointInfo, read_info, require_one_training
from .model import ModelConfig
from .errors import GrokflowError, run_main
from .io import write_csv
from .metrics.groups import add_group_argument, chunk_group

CHUNK = 64
Measure = Callable[[dict[str, torch.Tensor], list[CheckpointInfo], argparse.Namespace], list[list[dict]]]
TensorNames = Callable[[ModelConfig], Sequence[str]]


def load_stack(paths: Sequence, names: TensorNames,
               infos: Sequence[CheckpointInfo] | None = None) -> tuple[dict[str, torch.Tensor], list[CheckpointInfo]]:
    """The tensors names(model) of every checkpoint in `paths` (all of one training), stacked along
    a new first axis; `infos`: their metadata when the caller has read it already."""
    infos = [read_info(path) for path in paths] if infos is None else list(infos)
    require_one_training(paths, infos)
    if len({info.model for info in infos}) > 1:
        raise GrokflowError("the checkpoints given to one metric must share one model config")
    names = names(infos[0].model)
    tensors: dict[str, list[torch.Tensor]] = {name: [] for name in names}
    for path in paths:
        with safe_open(str(path), framework="pt") as handle:
            for name in names:
                tensors[name].append(handle.get_tensor(name))
    return {name: torch.stack(values) for name, values in tensors.items()}, infos


def checkpoint_table(paths: Sequence, measure: Measure, names: TensorNames, args=None,
                     chunk: int = CHUNK, group_aware: bool = False) -> pd.DataFrame:
    """measure() over every checkpoint, `chunk` at a time, as one frame sorted by (seed, step);
    with `group_aware`, a `group` column after them. Checkpoints of different trainings are refused."""
    every_info = [read_info(path) for path in paths]
    require_one_training(paths, every_info)
    rows = []
    with tqdm(total=len(paths), desc="checkpoints", unit="ckpt", mininterval=2.0) as bar:
        for start in range(0, len(paths), chunk):
            stacked, infos = load_stack(paths[start : start + chunk], names, every_info[start : start + chunk])
            group = {"group": chunk_group(infos, args).name} if group_aware else {}
            for info, checkpoint_rows in zip(infos, measure(stacked, infos, args), strict=True):
                rows.extend({"seed": info.seed, "step": info.step} | group | row for row in checkpoint_rows)
            bar.update(len(infos))
    frame = pd.DataFrame(rows)
    return frame.sort_values(["seed", "step"], kind="stable", ignore_index=True)


def checkpoints_parser(description: str, checkpoints: str) -> argparse.ArgumentParser:
    """The command line every metric script starts from: checkpoint files in, --output CSV out."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help=checkpoints)
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    return parser


def metric_main(description: str, measure: Measure, names: TensorNames, add_arguments=None,
                group_aware: bool = False) -> None:
    """The command line shared by the metric scripts: checkpoints in, one CSV out.

    `add_arguments(parser)` may add the metric's own options; they reach measure() as `args`.
    A `group_aware` metric gets --fourier-group and the CSV's `group` column.
    """
    def main():
        parser = checkpoints_parser(description, "checkpoint files (any seeds, any steps)")
        parser.add_argument("--chunk", type=int, default=CHUNK,
                            help=f"checkpoints measured in one batch (memory against speed; default {CHUNK})")
        if group_aware:
            add_group_argument(parser)
        if add_arguments:
            add_arguments(parser)
        args = parser.parse_args()
        if args.chunk < 1:
            parser.error("--chunk must be at least 1")
        table = checkpoint_table(args.checkpoints, measure, names, args, args.chunk, group_aware)
        write_csv(table, args.output)

    run_main(main)

"""Full-batch AdamW training of a stack of independent grokking transformers.

The core (`StackTrainer`) steps M models at once: their parameters are stacked along a leading
axis (`torch.func.stack_module_state`) and the per-model loss is `vmap`ped over a
`functional_call` of one stateless copy of the model. The sum of the M losses is differentiated:
model m's parameters receive exactly the gradient of model m's own loss, and AdamW acts element-
wise, so one `torch.optim.AdamW` over the stacked tensors is M independent optimizers.
On CPU a rule trains a stack of one (op, seed); the GPU engine stacks many.
"""

from dataclasses import dataclass
import copy
import math
import os
import shutil
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from .checkpoints import CheckpointInfo, checkpoint_name, save_checkpoint
from .data import train_test_split
from .errors import GrokflowError
from .io import atomic_path, write_csv
from .model import GrokTransformer, ModelConfig

METRIC_COLUMNS = ["seed", "step", "train_loss", "train_acc", "test_loss", "test_acc"]


@dataclass(frozen=True)
class Run:
    """One model to train: the task, its seed (split and initialisation) and the model size."""

    op: str
    seed: int
    train_fraction: float
    model: ModelConfig


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.98)
    weight_decay: float = 1.0


class TrainingDiverged(GrokflowError):
    """The training loss became NaN or infinite."""


class StackTrainer:
    """M independent models of one config, each with its own data split and initialisation."""

    def __init__(self, runs: list[Run], optim: OptimConfig):
        if len({run.model for run in runs}) != 1:
            raise ValueError("every model of a stack must share one ModelConfig")
        self.runs = runs
        models = [GrokTransformer(run.model, seed=run.seed) for run in runs]
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to("meta")
        splits = [train_test_split(run.op, run.model.p, run.seed, run.train_fraction) for run in runs]
        self.train_data = _stack_split(splits, "train")
        self.test_data = _stack_split(splits, "test")
        self.optimizer = torch.optim.AdamW(
            list(self.params.values()), lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay
        )
        self.step = 0

    def _logits(self, params, buffers, tokens):
        return functional_call(self.base, (params, buffers), (tokens,))

    def _loss(self, params, buffers, tokens, labels):
        return F.cross_entropy(self._logits(params, buffers, tokens), labels)

    def _loss_and_accuracy(self, params, buffers, tokens, labels):
        logits = self._logits(params, buffers, tokens)
        accuracy = (logits.argmax(dim=-1) == labels).to(logits.dtype).mean()
        return F.cross_entropy(logits, labels), accuracy

    def train_step(self) -> torch.Tensor:
        """One full-batch AdamW step of every model; returns the M losses before the step."""
        self.optimizer.zero_grad(set_to_none=True)
        losses = vmap(self._loss)(self.params, self.buffers, *self.train_data)
        losses.sum().backward()
        self.optimizer.step()
        self.step += 1
        return losses.detach()

    @torch.no_grad()
    def evaluate(self) -> dict[str, torch.Tensor]:
        """Loss and accuracy of every model on its train and test sets, each of shape (M,)."""
        evaluate = vmap(self._loss_and_accuracy)
        train_loss, train_acc = evaluate(self.params, self.buffers, *self.train_data)
        test_loss, test_acc = evaluate(self.params, self.buffers, *self.test_data)
        return {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc}

    def model_tensors(self, index: int) -> dict[str, torch.Tensor]:
        """The parameters of model `index`, named as in GrokTransformer.state_dict()."""
        return {name: stacked[index].detach() for name, stacked in self.params.items()}

    def state_dict(self) -> dict:
        return {
            "step": self.step,
            "params": {name: t.detach().clone() for name, t in self.params.items()},
            "optimizer": self.optimizer.state_dict(),
            "rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            for name, tensor in state["params"].items():
                self.params[name].copy_(tensor)
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        self.step = state["step"]


def _stack_split(splits, part: str) -> tuple[torch.Tensor, torch.Tensor]:
    inputs = [getattr(s, f"{part}_inputs") for s in splits]
    labels = [getattr(s, f"{part}_labels") for s in splits]
    if len({len(t) for t in labels}) != 1:
        raise ValueError(f"{part} sets of a stack must have one size (same op and fraction)")
    return torch.stack(inputs), torch.stack(labels)


class TrainingJob:
    """Train a stack to `total_steps`, checkpointing on a schedule and resuming after a kill.

    Files, per run with output folder `out`: `out/checkpoints/step*.safetensors` and
    `out/metric.csv` appear only when training is complete. Until then checkpoints are staged in
    `out/partial/` and the resume state (parameters, AdamW, RNG, metric rows) is written
    atomically to `state_path` at every checkpoint and every `save_every_s` seconds. A rerun
    resumes from that state, so it produces bitwise the same files as an uninterrupted run.
    """

    def __init__(self, runs, optim, total_steps, schedule, out_dirs, state_path, save_every_s=60.0):
        self.trainer = StackTrainer(runs, optim)
        self.total_steps = total_steps
        self.schedule = set(schedule)
        self.out_dirs = [Path(d) for d in out_dirs]
        self.state_path = Path(state_path)
        self.save_every_s = save_every_s
        self.rows: list[dict] = []
        self.spec = repr((runs, optim, total_steps, sorted(self.schedule)))

    def partial_path(self, index: int, step: int) -> Path:
        return self.out_dirs[index] / "partial" / checkpoint_name(step)

    def save_state(self) -> None:
        state = self.trainer.state_dict() | {"rows": self.rows, "spec": self.spec}
        with atomic_path(self.state_path) as tmp:
            torch.save(state, tmp)

    def resume(self) -> None:
        """Load the resume state if it belongs to this job; otherwise start from scratch."""
        if self.state_path.exists():
            state = torch.load(self.state_path, weights_only=True)
            if state.get("spec") == self.spec:
                self.trainer.load_state_dict(state)
                self.rows = state["rows"]
                return
            tqdm.write(f"{self.state_path} belongs to another configuration: starting afresh")
        for index in range(len(self.out_dirs)):
            for stale in self.partial_path(index, 0).parent.glob("*.safetensors"):
                stale.unlink()

    def record_checkpoint(self) -> None:
        """Evaluate every model, stage its checkpoint, append its metric row, save the state."""
        step = self.trainer.step
        metrics = {name: values.tolist() for name, values in self.trainer.evaluate().items()}
        for index, run in enumerate(self.trainer.runs):
            info = CheckpointInfo(run.op, run.seed, step, run.train_fraction, run.model)
            save_checkpoint(self.partial_path(index, step), self.trainer.model_tensors(index), info)
            row = {"index": index, "seed": run.seed, "step": step}
            self.rows.append(row | {name: values[index] for name, values in metrics.items()})
        self.save_state()

    def recorded(self, step: int) -> bool:
        return bool(self.rows) and self.rows[-1]["step"] == step

    def check_finite(self, losses: torch.Tensor) -> None:
        bad = [i for i, value in enumerate(losses.tolist()) if not math.isfinite(value)]
        if bad:
            run = self.trainer.runs[bad[0]]
            raise TrainingDiverged(
                f"training loss of {run.op} seed {run.seed} became {losses[bad[0]].item()} at step "
                f"{self.trainer.step - 1}; checkpoints so far are kept in "
                f"{self.out_dirs[bad[0]] / 'partial'}"
            )

    def run(self) -> None:
        self.resume()
        trainer = self.trainer
        last_save = time.monotonic()
        with tqdm(total=self.total_steps, initial=trainer.step, desc="train", unit="step",
                  mininterval=2.0) as bar:
            while True:
                if trainer.step in self.schedule and not self.recorded(trainer.step):
                    self.record_checkpoint()
                    last_save = time.monotonic()
                    bar.set_postfix(_postfix(self.rows[-1]), refresh=False)
                if trainer.step >= self.total_steps:
                    break
                self.check_finite(trainer.train_step())
                bar.update(1)
                if time.monotonic() - last_save > self.save_every_s:
                    self.save_state()
                    last_save = time.monotonic()
        self.finish()

    def finish(self) -> None:
        """Publish the staged checkpoints and metric.csv, then drop the resume state.

        Checkpoints are hard-linked, not moved: if the job dies here, Snakemake deletes the
        incomplete outputs, and the rerun resumes from the state and publishes the staged
        files again.
        """
        frame = pd.DataFrame(self.rows)
        for index, out in enumerate(self.out_dirs):
            (out / "checkpoints").mkdir(parents=True, exist_ok=True)
            for step in sorted(self.schedule):
                target = out / "checkpoints" / checkpoint_name(step)
                target.unlink(missing_ok=True)
                os.link(self.partial_path(index, step), target)
            write_csv(frame[frame["index"] == index][METRIC_COLUMNS], out / "metric.csv")
        self.state_path.unlink()
        for out in self.out_dirs:
            shutil.rmtree(out / "partial")


def _postfix(row: dict) -> dict[str, str]:
    return {"train_acc": f"{row['train_acc']:.3f}", "test_acc": f"{row['test_acc']:.3f}"}

"""Full-batch AdamW training of a stack of independent grokking transformers.

The core (`StackTrainer`) steps M models at once: their parameters are stacked along a leading
axis (`torch.func.stack_module_state`) and the per-model loss is `vmap`ped over a
`functional_call` of one stateless copy of the model. The sum of the M losses is differentiated:
model m's parameters receive exactly the gradient of model m's own loss, and AdamW acts element-
wise, so one `torch.optim.AdamW` over the stacked tensors is M independent optimizers.

Models of different ops share a stack: x÷y has p(p−1) pairs, the others p², so smaller splits
are padded and their loss and accuracy are weighted means over the real samples only.

On a GPU the whole step (forward, backward, AdamW) is captured once in a CUDA graph and replayed,
AdamW runs fused and `capturable` (its step count lives on the GPU), and nothing in the loop waits
for the GPU except evaluations at checkpoint steps. On CPU a rule trains a stack of one (op, seed).
"""

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
import copy
import math
import os
import pickle
import shutil
import sys
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
WARMUP_STEPS = 3  # eager steps on a side stream before CUDA-graph capture, as torch.cuda.graph asks
# Blocks of rows for the attention products' weight gradients (model.project), used on a GPU for
# stacks of 2 to 4 models, the sizes where one long weight-gradient sum per model leaves the GPU
# idle (benchmarks/README.md has the measurements); larger stacks and the CPU gain nothing.
GPU_ROW_CHUNKS = 16
SPLIT_STACK_SIZES = range(2, 5)


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


@dataclass(frozen=True)
class StackedSplit:
    """One part (train or test) of M splits: tokens (M, N, 3), labels (M, N) and, when the
    splits differ in size and were padded to the largest, weights (M, N) that are 1/n_m on
    model m's n_m real samples and 0 on its padding."""

    tokens: torch.Tensor
    labels: torch.Tensor
    weights: torch.Tensor | None

    def to(self, device) -> "StackedSplit":
        weights = None if self.weights is None else self.weights.to(device)
        return StackedSplit(self.tokens.to(device), self.labels.to(device), weights)


def stack_splits(splits, part: str) -> StackedSplit:
    """Stack the `part` ("train" or "test") of every split, padding to the largest."""
    inputs = [getattr(s, f"{part}_inputs") for s in splits]
    labels = [getattr(s, f"{part}_labels") for s in splits]
    sizes = [len(t) for t in labels]
    if len(set(sizes)) == 1:
        return StackedSplit(torch.stack(inputs), torch.stack(labels), None)
    size = max(sizes)
    weights = torch.zeros(len(sizes), size)
    for index, n in enumerate(sizes):
        weights[index, :n] = 1.0 / n
    return StackedSplit(
        torch.stack([F.pad(t, (0, 0, 0, size - len(t))) for t in inputs]),
        torch.stack([F.pad(t, (0, size - len(t))) for t in labels]),
        weights,
    )


def cpu_optimizer_state(optimizer: torch.optim.Optimizer) -> dict:
    """The optimizer's state_dict with every state tensor on the CPU (so that a GPU run resumes on
    any device)."""
    state = optimizer.state_dict()
    state["state"] = {key: {name: value.to("cpu") for name, value in values.items()}
                      for key, values in state["state"].items()}
    return state


def matching_state(path: Path, spec: str) -> dict | None:
    """The resume state saved at `path` if there is one and its "spec" is `spec`; None otherwise
    (saying so when a state of another configuration is set aside)."""
    if not path.exists():
        return None
    try:
        state = torch.load(path, weights_only=True)
    except (pickle.UnpicklingError, EOFError, RuntimeError) as err:
        raise GrokflowError(f"{path} is not a readable resume state ({type(err).__name__}): "
                            "delete it to start afresh") from err
    if state.get("spec") != spec:
        tqdm.write(f"{path} belongs to another configuration: starting afresh")
        return None
    return state


class StackTrainer:
    """M independent models of one config, each with its own data split and initialisation."""

    def __init__(self, runs: list[Run], optim: OptimConfig, device="cpu", regularizer=None, compiled=False):
        if len({run.model for run in runs}) != 1:
            raise ValueError("every model of a stack must share one ModelConfig")
        self.runs = runs
        self.device = torch.device(device)
        row_chunks = GPU_ROW_CHUNKS if self.device.type == "cuda" and len(runs) in SPLIT_STACK_SIZES else 1
        # token_tables: single-token work once per token (GrokTransformer.last_stream_from_tables).
        models = [GrokTransformer(run.model, seed=run.seed, row_chunks=row_chunks, token_tables=True).to(self.device)
                  for run in runs]
        self.params, self.buffers = stack_module_state(models)
        self.base = copy.deepcopy(models[0]).to("meta")
        splits = [train_test_split(run.op, run.model.p, run.seed, run.train_fraction) for run in runs]
        self.train_data = stack_splits(splits, "train").to(self.device)
        self.test_data = stack_splits(splits, "test").to(self.device)
        on_gpu = self.device.type == "cuda"
        self.optimizer = torch.optim.AdamW(
            list(self.params.values()), lr=optim.lr, betas=optim.betas, weight_decay=optim.weight_decay,
            capturable=on_gpu, fused=on_gpu or None,
        )
        self.regularizer = regularizer
        # torch.compile fuses the many small element-wise kernels (LayerNorm, softmax, masking)
        # of the forward and backward pass; the CUDA graph then replays the compiled kernels.
        self._train_losses = torch.compile(self._per_model) if compiled else self._per_model
        self.step = 0
        self._graph: torch.cuda.CUDAGraph | None = None
        self._eager_steps = 0

    def _logits(self, params, buffers, tokens):
        return functional_call(self.base, (params, buffers), (tokens,))

    def _loss_and_accuracy(self, params, buffers, tokens, labels, weights=None):
        """Mean cross-entropy and accuracy; weighted by `weights` on a padded split."""
        logits = self._logits(params, buffers, tokens)
        correct = (logits.argmax(dim=-1) == labels).to(logits.dtype)
        if weights is None:
            return F.cross_entropy(logits, labels), correct.mean()
        return (F.cross_entropy(logits, labels, reduction="none") * weights).sum(), (correct * weights).sum()

    def _per_model(self, data: StackedSplit):
        """(loss, accuracy) of every model on `data`, each of shape (M,)."""
        if data.weights is None:
            return vmap(self._loss_and_accuracy)(self.params, self.buffers, data.tokens, data.labels)
        return vmap(self._loss_and_accuracy)(self.params, self.buffers, data.tokens, data.labels, data.weights)

    def _eager_step(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self._backward_and_update()

    def _backward_and_update(self) -> None:
        """Gradients of every model's loss, then AdamW, with the regularizer's updates (if any)
        just before and after it."""
        losses, _ = self._train_losses(self.train_data)
        losses.sum().backward()
        with torch.no_grad():
            if self.regularizer is not None:
                self.regularizer.before_step(self.params)
            self.optimizer.step()
            if self.regularizer is not None:
                self.regularizer.after_step(self.params)

    def train_step(self) -> None:
        """One full-batch AdamW step of every model.

        On a GPU the first WARMUP_STEPS steps run eagerly on a side stream, then the step is
        captured in a CUDA graph and every later step is one replay of it (same kernels, same
        numbers, none of the Python and launch overhead).
        """
        if self.device.type != "cuda":
            self._eager_step()
        elif self._graph is not None:
            self._graph.replay()
        elif self._eager_steps < WARMUP_STEPS:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                self._eager_step()
            torch.cuda.current_stream().wait_stream(side)
            self._eager_steps += 1
        else:
            self._capture()
            self._graph.replay()
        self.step += 1

    def _capture(self) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self._graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self._graph):
            self._backward_and_update()

    @torch.no_grad()
    def evaluate(self) -> dict[str, torch.Tensor]:
        """Loss and accuracy of every model on its train and test sets, each of shape (M,)."""
        train_loss, train_acc = self._per_model(self.train_data)
        test_loss, test_acc = self._per_model(self.test_data)
        return {"train_loss": train_loss, "train_acc": train_acc, "test_loss": test_loss, "test_acc": test_acc}

    def model_tensors(self, index: int) -> dict[str, torch.Tensor]:
        """A copy of the parameters of model `index` on the CPU, named as in
        GrokTransformer.state_dict(). A copy even on the CPU: the checkpoint writer serialises it in
        the background while the optimiser keeps updating the stack in place."""
        return {name: stacked[index].detach().to("cpu", copy=True) for name, stacked in self.params.items()}

    def state_dict(self) -> dict:
        """Everything needed to resume, on the CPU (so that a GPU run resumes on any device)."""
        return {
            "step": self.step,
            "params": {name: t.detach().to("cpu") for name, t in self.params.items()},
            "optimizer": cpu_optimizer_state(self.optimizer),
            "rng": torch.get_rng_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        if self._graph is not None:
            raise RuntimeError("load the state before the first step: the CUDA graph holds the old tensors")
        with torch.no_grad():
            for name, tensor in state["params"].items():
                self.params[name].copy_(tensor)
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"])
        self.step = state["step"]


class TrainingJob:
    """Train a stack to `total_steps`, checkpointing on a schedule and resuming after a kill.

    Files, per run with output folder `out`: `out/checkpoints/step*.safetensors` and
    `out/metric.csv` appear only when training is complete. Until then checkpoints are staged in
    `out/partial/` by a background thread, and every `save_every_s` seconds, once the staged
    files are on disk, the resume state (parameters, AdamW, RNG, metric rows) is written
    atomically to `state_path`. A rerun resumes from that state, so it produces bitwise the same
    files as an uninterrupted run. `tf32` lets CUDA matmuls use TensorFloat-32 (part of the
    job's identity, so a state is never resumed at another precision); `compiled` runs the
    forward and backward pass through torch.compile (same numbers to float rounding). `training`
    (grokflow.manifest.training_id) goes into every checkpoint's metadata; publishing removes the
    checkpoints of an earlier training that are not on this job's schedule.
    """

    def __init__(self, runs, optim, total_steps, schedule, out_dirs, state_path, save_every_s=60.0,
                 device="cpu", tf32=False, compiled=False, training=None):
        torch.backends.cuda.matmul.allow_tf32 = tf32
        self.trainer = StackTrainer(runs, optim, device, compiled=compiled)
        self.total_steps = total_steps
        self.schedule = set(schedule)
        self.out_dirs = [Path(d) for d in out_dirs]
        self.state_path = Path(state_path)
        self.save_every_s = save_every_s
        self.rows: list[dict] = []
        self.training = training
        # The training id too: a state whose staged checkpoints lack it (or name another) is not resumed.
        self.spec = repr((runs, optim, total_steps, sorted(self.schedule), tf32, training))
        self.writer = ThreadPoolExecutor(max_workers=1)
        self.pending: list[Future] = []

    def partial_path(self, index: int, step: int) -> Path:
        return self.out_dirs[index] / "partial" / checkpoint_name(step)

    def flush(self) -> None:
        """Wait until every staged checkpoint is on disk (re-raising a failed write)."""
        for future in self.pending:
            future.result()
        self.pending = []

    def save_state(self) -> None:
        self.flush()
        state = self.trainer.state_dict() | {"rows": self.rows, "spec": self.spec}
        with atomic_path(self.state_path) as tmp:
            torch.save(state, tmp)

    def resume(self) -> None:
        """Load the resume state if it belongs to this job; otherwise start from scratch."""
        state = matching_state(self.state_path, self.spec)
        if state is not None:
            self.trainer.load_state_dict(state)
            self.rows = state["rows"]
            print(f"resuming from step {self.trainer.step} of {self.state_path}", file=sys.stderr, flush=True)
            return
        for index in range(len(self.out_dirs)):
            for stale in self.partial_path(index, 0).parent.glob("*.safetensors"):
                stale.unlink()

    def record_checkpoint(self) -> None:
        """Evaluate every model, check that it has not diverged, stage its checkpoint (written in
        the background) and append its metric row."""
        step = self.trainer.step
        metrics = {name: values.tolist() for name, values in self.trainer.evaluate().items()}
        self.check_finite(metrics["train_loss"])
        for index, run in enumerate(self.trainer.runs):
            info = CheckpointInfo(run.op, run.seed, step, run.train_fraction, run.model, self.training)
            tensors = self.trainer.model_tensors(index)
            self.pending.append(self.writer.submit(save_checkpoint, self.partial_path(index, step), tensors, info))
            row = {"index": index, "seed": run.seed, "step": step}
            self.rows.append(row | {name: values[index] for name, values in metrics.items()})

    def recorded(self, step: int) -> bool:
        return bool(self.rows) and self.rows[-1]["step"] == step

    def check_finite(self, losses: list[float]) -> None:
        """Divergence is looked for at checkpoints only, so that the loop never waits for the GPU."""
        bad = [i for i, value in enumerate(losses) if not math.isfinite(value)]
        if bad:
            run = self.trainer.runs[bad[0]]
            last_good = self.rows[-1]["step"] if self.rows else 0
            self.flush()
            raise TrainingDiverged(
                f"training loss of {run.op} seed {run.seed} became {losses[bad[0]]} between step "
                f"{last_good} and step {self.trainer.step}; checkpoints so far are kept in "
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
                    bar.set_postfix(_postfix(self.rows[-1]), refresh=False)
                if trainer.step >= self.total_steps:
                    break
                trainer.train_step()
                bar.update(1)
                if time.monotonic() - last_save > self.save_every_s:
                    self.save_state()
                    last_save = time.monotonic()
        self.save_state()  # so that a job killed while publishing resumes at the end
        self.finish()

    def finish(self) -> None:
        """Publish the staged checkpoints and metric.csv, then drop the resume state.

        Checkpoints are hard-linked, not moved: if the job dies here, Snakemake deletes the
        incomplete outputs, and the rerun resumes from the state and publishes the staged
        files again.
        """
        frame = pd.DataFrame(self.rows)
        names = {checkpoint_name(step) for step in self.schedule}
        for index, out in enumerate(self.out_dirs):
            (out / "checkpoints").mkdir(parents=True, exist_ok=True)
            for orphan in (path for path in (out / "checkpoints").glob("step*.safetensors") if path.name not in names):
                orphan.unlink()  # an earlier training's, which a glob over the folder would mix with these
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

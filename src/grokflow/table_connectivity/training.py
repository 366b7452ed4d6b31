"""Training and evaluation of the connectivity models: AdamW on fresh batches (a new graph and
new codes every example), binary cross-entropy on the last position, a fixed validation set.

Training resumes after a kill: every `save_every_s` seconds, at the end, and when stopped (SIGTERM,
or a step limit of the run) the step, weights, AdamW state, data-generator state and curve rows so
far are written atomically to a state file, and a rerun with the same configuration continues from
it, bitwise as an uninterrupted run would (on the CPU). Batches are sampled on the CPU in one
background thread, a few ahead, from the single data generator in its sequential order, so that
the GPU does not wait for them. Nothing in the loop waits for the device except evaluations and
saves.
"""

from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
import signal
import threading
import time

import pandas as pd
import torch
from torch.nn import functional as F
from tqdm import tqdm

from ..io import atomic_path
from ..training import cpu_optimizer_state, matching_state
from .model import ConnectivityTransformer, NetConfig
from .task import Batch, TaskConfig, sample_batch

VALIDATION_SEED_OFFSET = 1_000_003
PREFETCH_DEPTH = 4
SIGTERM_EXIT = 128 + signal.SIGTERM
STEP_LIMIT_EXIT = 75  # EX_TEMPFAIL: not finished yet, run again


@dataclass(frozen=True)
class TrainConfig:
    """AdamW on fresh batches (defaults: grokflow.settings.TableConnectivitySettings)."""

    steps: int
    batch_size: int
    lr: float
    weight_decay: float
    eval_every: int
    validation_size: int
    seed: int


class TrainingStopped(Exception):
    """Training stopped before its last step, its state saved; `exit_code` is the status a script exits with."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


def loss_and_accuracy(model, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(batch.tokens)
    loss = F.binary_cross_entropy_with_logits(logits, batch.labels)
    return loss, ((logits > 0).float() == batch.labels).float().mean()


def evaluate(model, batch: Batch) -> tuple[float, float, torch.Tensor]:
    """Loss, accuracy and the per-example correctness on a fixed batch."""
    model.eval()
    with torch.no_grad():
        logits = model(batch.tokens)
        loss = F.binary_cross_entropy_with_logits(logits, batch.labels)
    model.train()
    correct = (logits > 0).float() == batch.labels
    return float(loss), float(correct.float().mean()), correct


def to_device(batch: Batch, device) -> Batch:
    """The batch with its model inputs (tokens, labels) on `device`, copied asynchronously where
    they are in pinned memory; hops and neighbours stay on the CPU."""
    return replace(batch, tokens=batch.tokens.to(device, non_blocking=True),
                   labels=batch.labels.to(device, non_blocking=True))


class Prefetcher:
    """Training batches sampled in one background thread, PREFETCH_DEPTH ahead, from one generator in
    its sequential order (so the same batches as sampling them one by one). `state` is the generator
    state that samples the next batch to be taken: what a resume state must hold. `pin` puts tokens
    and labels in pinned memory, for asynchronous copies to a GPU."""

    def __init__(self, batch_size: int, task: TaskConfig, generator_state: torch.Tensor, pin: bool = False):
        self.batch_size, self.task, self.pin = batch_size, task, pin
        self.generator = torch.Generator()
        self.generator.set_state(generator_state)
        self.state = generator_state
        self.executor = ThreadPoolExecutor(max_workers=1)
        self.pending = deque(self.executor.submit(self._sample) for _ in range(PREFETCH_DEPTH))

    def _sample(self) -> tuple[Batch, torch.Tensor]:
        """The next batch and the generator state after it."""
        batch = sample_batch(self.batch_size, self.task, self.generator)
        if self.pin:
            batch = replace(batch, tokens=batch.tokens.pin_memory(), labels=batch.labels.pin_memory())
        return batch, self.generator.get_state()

    def next(self) -> Batch:
        """The next batch (waiting for it if need be); sampling of a later one starts."""
        batch, self.state = self.pending.popleft().result()
        self.pending.append(self.executor.submit(self._sample))
        return batch

    def __enter__(self) -> "Prefetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.executor.shutdown(cancel_futures=True)


@contextmanager
def sigterm_event():
    """An event that SIGTERM sets while the block runs (instead of ending the process)."""
    event = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: event.set())
    try:
        yield event
    finally:
        signal.signal(signal.SIGTERM, previous)


class ConnectivityTraining:
    """One model's resumable training; `run()` trains it to `config.steps`.

    The global torch RNG seeds the initialisation only, and the data generator (`config.seed`) every
    training batch, so the resume state holds the data generator's state and not the global one."""

    def __init__(self, task: TaskConfig, net: NetConfig, config: TrainConfig, state_path, device="cpu",
                 save_every_s: float = 60.0):
        torch.manual_seed(config.seed)
        self.task, self.config, self.device = task, config, torch.device(device)
        self.model = ConnectivityTransformer(task, net).to(self.device)
        self.on_gpu = self.device.type == "cuda"
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay,
                                           fused=self.on_gpu or None)
        self.validation = to_device(sample_batch(config.validation_size, task, torch.Generator().manual_seed(
            config.seed + VALIDATION_SEED_OFFSET)), self.device)
        self.state_path, self.save_every_s = Path(state_path), save_every_s
        self.spec = repr((task, net, config))
        self.step, self.rows = 0, []
        self.data_state = torch.Generator().manual_seed(config.seed).get_state()

    def save_state(self, data_state: torch.Tensor) -> None:
        """Write the resume state atomically; `data_state` samples the next training batch."""
        weights = {name: tensor.detach().to("cpu") for name, tensor in self.model.state_dict().items()}
        state = {"step": self.step, "model": weights, "optimizer": cpu_optimizer_state(self.optimizer),
                 "data": data_state, "rows": self.rows, "spec": self.spec}
        with atomic_path(self.state_path) as tmp:
            torch.save(state, tmp)

    def resume(self) -> None:
        """Load the resume state if there is one of this configuration; otherwise start afresh."""
        state = matching_state(self.state_path, self.spec)
        if state is None:
            return
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.rows, self.data_state = state["step"], state["rows"], state["data"]

    def train_step(self, batch: Batch) -> None:
        """One AdamW step on `batch`; at an evaluation step, the curve row (which waits for the device)."""
        loss, accuracy = loss_and_accuracy(self.model, to_device(batch, self.device))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.step += 1
        if self.step % self.config.eval_every == 0 or self.step == self.config.steps:
            val_loss, val_acc, _ = evaluate(self.model, self.validation)
            self.rows.append({"step": self.step, "train_loss": loss.item(), "train_acc": accuracy.item(),
                              "val_loss": val_loss, "val_acc": val_acc})

    def run(self, label: str, stop_after_steps: int | None = None) -> None:
        """Resume, then train to the last step, saving the state on the way and at the end. Raises
        TrainingStopped, the state saved, on SIGTERM or after `stop_after_steps` steps of this run."""
        self.resume()
        limit = self.step + stop_after_steps if stop_after_steps is not None else None
        with (Prefetcher(self.config.batch_size, self.task, self.data_state, self.on_gpu) as batches,
              sigterm_event() as terminated,
              tqdm(total=self.config.steps, initial=self.step, desc=label, mininterval=5) as bar):
            last_save = time.monotonic()
            while self.step < self.config.steps:
                if terminated.is_set() or self.step == limit:
                    self.stop(batches.state, terminated.is_set())
                self.train_step(batches.next())
                bar.update(1)
                if time.monotonic() - last_save > self.save_every_s:
                    self.save_state(batches.state)
                    last_save = time.monotonic()
            self.save_state(batches.state)

    def stop(self, data_state: torch.Tensor, terminated: bool) -> None:
        """Save the state and raise TrainingStopped (on SIGTERM, or at the step limit of the run)."""
        self.save_state(data_state)
        cause, code = ("SIGTERM", SIGTERM_EXIT) if terminated else ("the step limit of this run", STEP_LIMIT_EXIT)
        raise TrainingStopped(f"stopped by {cause} at step {self.step} of {self.config.steps}; the state is "
                              f"saved in {self.state_path}: run the same command again to resume", code)

    def by_hop(self) -> pd.DataFrame:
        """Validation accuracy by hop distance (hop, count, accuracy)."""
        _, _, correct = evaluate(self.model, self.validation)
        return (pd.DataFrame({"hop": self.validation.hops.numpy(), "correct": correct.cpu().numpy()})
                .groupby("hop")["correct"].agg(count="size", accuracy="mean").reset_index())


def train(task: TaskConfig, net: NetConfig, config: TrainConfig, label: str, state_path, device="cpu",
          save_every_s: float = 60.0, stop_after_steps: int | None = None):
    """The trained model (on `device`), its curve (step, train_loss, train_acc, val_loss, val_acc) and the
    validation accuracy by hop distance (hop, count, accuracy) at the end. Resumes from, and saves to,
    `state_path` (see ConnectivityTraining.run for `stop_after_steps` and TrainingStopped)."""
    training = ConnectivityTraining(task, net, config, state_path, device, save_every_s)
    training.run(label, stop_after_steps)
    return training.model, pd.DataFrame(training.rows), training.by_hop()

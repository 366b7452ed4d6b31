"""Training and evaluation of the connectivity models: AdamW on fresh batches (a new graph and
new codes every example), binary cross-entropy on the last position, a fixed validation set."""

from dataclasses import dataclass

import pandas as pd
import torch
from torch.nn import functional as F
from tqdm import tqdm

from .model import ConnectivityTransformer, NetConfig
from .task import Batch, TaskConfig, sample_batch

VALIDATION_SEED_OFFSET = 1_000_003


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 20000
    batch_size: int = 128
    lr: float = 3e-4
    weight_decay: float = 0.01
    eval_every: int = 500
    validation_size: int = 4096
    seed: int = 0


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
    return Batch(*(tensor.to(device) for tensor in (batch.tokens, batch.labels, batch.hops, batch.neighbours)))


def train(task: TaskConfig, net: NetConfig, config: TrainConfig, label: str, device="cpu"):
    """The trained model (on `device`), its curve (step, train_loss, train_acc, val_loss, val_acc) and the
    validation accuracy by hop distance (hop, count, accuracy) at the end."""
    torch.manual_seed(config.seed)
    model = ConnectivityTransformer(task, net).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    data = torch.Generator().manual_seed(config.seed)
    validation = to_device(sample_batch(config.validation_size, task,
                                        torch.Generator().manual_seed(config.seed + VALIDATION_SEED_OFFSET)), device)
    rows = []
    for step in tqdm(range(1, config.steps + 1), desc=label, mininterval=5):
        loss, accuracy = loss_and_accuracy(model, to_device(sample_batch(config.batch_size, task, data), device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % config.eval_every == 0 or step == config.steps:
            val_loss, val_acc, _ = evaluate(model, validation)
            rows.append({"step": step, "train_loss": loss.item(), "train_acc": accuracy.item(),
                         "val_loss": val_loss, "val_acc": val_acc})
    _, _, correct = evaluate(model, validation)
    by_hop = (pd.DataFrame({"hop": validation.hops.cpu().numpy(), "correct": correct.cpu().numpy()})
              .groupby("hop")["correct"].agg(count="size", accuracy="mean").reset_index())
    return model, pd.DataFrame(rows), by_hop

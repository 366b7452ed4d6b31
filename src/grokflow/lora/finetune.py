"""Fine-tuning a grokked model to a new op: LoRA at each rank against full fine-tuning.

Every run starts from the same checkpoint, trains full batch with AdamW on the new op's training
split (the checkpoint's train fraction and seed), and records loss and accuracy on both splits at
step 0, every `eval_every` steps and at the end, with the chance accuracy 1/p of guessing one of the
p outputs (chance_acc), the reference the figures draw.
"""

from dataclasses import dataclass, fields

import torch
from torch.nn import functional as F
from tqdm import tqdm

from ..checkpoints import load_model
from ..data import Split, train_test_split
from .adapters import adapt_transformer, trainable_parameters


@dataclass(frozen=True)
class FinetuneSettings:
    """One fine-tuning's AdamW and schedule (defaults: grokflow.settings.LoraFinetuneSettings)."""

    target_op: str
    steps: int
    lr: float
    eval_every: int
    weight_decay: float
    betas: tuple[float, float]
    seed: int


def evaluate(model, split: Split) -> dict[str, float]:
    """Cross-entropy and accuracy on both splits."""
    row = {}
    with torch.no_grad():
        for part in ("train", "test"):
            logits = model(getattr(split, f"{part}_inputs"))
            labels = getattr(split, f"{part}_labels")
            row[f"{part}_loss"] = float(F.cross_entropy(logits, labels))
            row[f"{part}_acc"] = float((logits.argmax(dim=-1) == labels).float().mean())
    return row


def finetune(model, split: Split, settings: FinetuneSettings, label: str) -> list[dict]:
    """Full-batch AdamW on the model's trainable parameters; rows of metrics."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=settings.lr,
                                  betas=settings.betas, weight_decay=settings.weight_decay)
    rows = [{"step": 0} | evaluate(model, split)]
    for step in tqdm(range(1, settings.steps + 1), desc=label, mininterval=5):
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(split.train_inputs), split.train_labels).backward()
        optimizer.step()
        if step % settings.eval_every == 0 or step == settings.steps:
            rows.append({"step": step} | evaluate(model, split))
    return rows


def finetune_all(checkpoint, ranks, alpha: float, settings: FinetuneSettings, device="cpu") -> list[dict]:
    """LoRA at every rank, then full fine-tuning, each from the checkpoint, on the torch `device`
    (the adapters are initialised on the CPU, so every device starts from the same ones): one row
    per (method, rank, evaluated step) with the run's trainable parameter count and the chance
    accuracy 1/p."""
    _, info = load_model(checkpoint)
    split = train_test_split(settings.target_op, info.model.p, info.seed, info.train_fraction)
    split = Split(**{item.name: getattr(split, item.name).to(device) for item in fields(Split)})
    runs = [("lora", rank) for rank in ranks] + [("full", None)]
    chance = 1 / info.model.p
    rows = []
    for method, rank in runs:
        torch.manual_seed(settings.seed)
        model = load_model(checkpoint)[0].train()
        if method == "lora":
            adapt_transformer(model, rank, alpha)
        model.to(device)
        label = f"LoRA r={rank}" if rank else "full fine-tuning"
        count = trainable_parameters(model)
        rows += [{"method": method, "rank": rank, "trainable_params": count} | row | {"chance_acc": chance}
                 for row in finetune(model, split, settings, label)]
    return rows

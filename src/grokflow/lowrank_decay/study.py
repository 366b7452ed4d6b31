"""The low-rank decay study: L2 against low-rank decay on x+y, trained as one stack of models.

Every run (`Cell`: method, train fraction, strength, seed) is a model of one `StackTrainer`
stack, so a whole grid trains in one process (vmapped; a CUDA graph on a GPU):

- l2 (the baseline): AdamW with weight decay `l2_factor` × strength on every tensor;
- lowrank (the method): AdamW without weight decay on the tensors matching `patterns`,
  `other_weight_decay` on the others, and after each step the low-rank decay of the matched
  tensors at rate = strength (`decay.StackRegularizer`).

Every `eval_every` steps each run records its validation (held-out) accuracy and the stable rank
of every W_Q and W_K; a run stops (its record ends, its weights are kept) once its validation
accuracy has exceeded `target` at `patience` evaluations in a row, as the original request specifies.
"""

from dataclasses import dataclass

import torch

from ..model import GrokTransformer, ModelConfig
from ..training import OptimConfig, Run, StackTrainer
from .decay import StackRegularizer, as_matrix, stable_rank

METHODS = ("l2", "lowrank")
OP = "x+y"


@dataclass(frozen=True)
class StudySettings:
    """What every run of a study shares (defaults: grokflow.settings.LowrankDecaySettings); a
    run stops after `patience` evaluations in a row above `target` validation accuracy."""

    model: ModelConfig
    steps: int
    eval_every: int
    lr: float
    betas: tuple[float, float]
    patterns: tuple[str, ...]
    newton_schulz_steps: int
    other_weight_decay: float
    l2_factor: float
    target: float = 0.99
    patience: int = 2


@dataclass(frozen=True)
class Cell:
    method: str
    train_fraction: float
    strength: float
    seed: int


def study_model(p: int, n_layers: int, d_model: int, n_heads: int, d_mlp: int) -> ModelConfig:
    """Seed 000's transformer: RMSNorm, QK-norm, SiLU MLP, no biases."""
    return ModelConfig(p=p, n_layers=n_layers, d_model=d_model, n_heads=n_heads, d_mlp=d_mlp,
                       norm="rmsnorm", activation="silu", qk_norm=True, bias=False)


def regularizer(cells: list[Cell], settings: StudySettings, names: list[str], device) -> StackRegularizer:
    """Each cell's weight decay per tensor and low-rank rate, for the whole stack."""
    matched = [name for name in names if any(pattern in name for pattern in settings.patterns)]

    def decay(cell: Cell, name: str) -> float:
        if cell.method == "l2":
            return settings.l2_factor * cell.strength
        return 0.0 if name in matched else settings.other_weight_decay

    weight_decay = {name: torch.tensor([decay(cell, name) for cell in cells], device=device) for name in names}
    rate = torch.tensor([cell.strength if cell.method == "lowrank" else 0.0 for cell in cells], device=device)
    return StackRegularizer(settings.lr, weight_decay, matched, rate, settings.newton_schulz_steps)


def qk_names(model: ModelConfig) -> dict[str, str]:
    """{parameter name: column name} of every W_Q and W_K, layers counted from 1."""
    return {f"blocks.{layer}.W_{kind}": f"stable_rank_layer{layer + 1}_{kind}"
            for layer in range(model.n_layers) for kind in ("Q", "K")}


def qk_stable_ranks(trainer: StackTrainer) -> dict[str, list[float]]:
    return {column: stable_rank(as_matrix(trainer.params[name].detach(), name)).tolist()
            for name, column in qk_names(trainer.runs[0].model).items()}


@dataclass
class CellResult:
    """A cell's evaluation rows (step, val_acc, stable ranks) and its weights where it stopped."""

    cell: Cell
    rows: list[dict]
    tensors: dict[str, torch.Tensor] | None = None

    @property
    def stopped(self) -> bool:
        return self.tensors is not None

    def summary(self, target: float) -> dict:
        """The cell, its last row (validation accuracy and stable ranks at the stop), the first
        evaluated step with validation accuracy above `target` (None if never) and the stop step."""
        last = self.rows[-1]
        above = [row["step"] for row in self.rows if row["val_acc"] > target]
        return vars(self.cell) | last | {"steps_to_target": above[0] if above else None, "stop_step": last["step"]}


def train_cells(cells: list[Cell], settings: StudySettings, device="cpu", progress=None) -> list[CellResult]:
    """Train every cell in one stack; each cell's evaluation rows and its weights at its stop."""
    names = [name for name, _ in GrokTransformer(settings.model).named_parameters()]
    runs = [Run(OP, cell.seed, cell.train_fraction, settings.model) for cell in cells]
    trainer = StackTrainer(runs, OptimConfig(settings.lr, settings.betas, 0.0), device,
                           regularizer(cells, settings, names, device))
    results = [CellResult(cell, []) for cell in cells]
    streaks = [0] * len(cells)
    while True:
        if trainer.step % settings.eval_every == 0 or trainer.step == settings.steps:
            _record(trainer, results, streaks, settings)
        if trainer.step >= settings.steps or all(result.stopped for result in results):
            break
        trainer.train_step()
        if progress is not None:
            progress.update(1)
    for index, result in enumerate(results):
        if not result.stopped:
            result.tensors = trainer.model_tensors(index)
    return results


def _record(trainer: StackTrainer, results: list[CellResult], streaks: list[int], settings: StudySettings) -> None:
    """One evaluation row per running cell; stop the cells that have met the target often enough."""
    accuracy = trainer.evaluate()["test_acc"].tolist()
    ranks = qk_stable_ranks(trainer)
    for index, result in enumerate(results):
        if result.stopped:
            continue
        result.rows.append({"step": trainer.step, "val_acc": accuracy[index]}
                           | {column: values[index] for column, values in ranks.items()})
        streaks[index] = streaks[index] + 1 if accuracy[index] > settings.target else 0
        if streaks[index] >= settings.patience:
            result.tensors = trainer.model_tensors(index)


def train_grid(cells: list[Cell], settings: StudySettings, device="cpu", progress=None) -> list[CellResult]:
    """Train the cells one train fraction at a time: a stack per fraction, whose splits all have
    one size (no padding), and a GPU holds one fraction's runs where it could not hold them all."""
    fractions = sorted({cell.train_fraction for cell in cells})
    results = {}
    for fraction in fractions:
        group = [cell for cell in cells if cell.train_fraction == fraction]
        results |= dict(zip(group, train_cells(group, settings, device, progress)))
    return [results[cell] for cell in cells]


def grid(fractions, strengths, seeds) -> list[Cell]:
    return [Cell(method, fraction, strength, seed)
            for method in METHODS for fraction in fractions for strength in strengths for seed in seeds]


def head_pattern(model_config: ModelConfig, tensors: dict[str, torch.Tensor], tokens: torch.Tensor,
                 head: int = 0) -> torch.Tensor:
    """Layer 0's (blocks[0]) attention weights of `head` from the last position to every position (B, n_ctx)."""
    model = GrokTransformer(model_config)
    model.load_state_dict(tensors)
    with torch.no_grad():
        block = model.blocks[0]
        q, k, _ = block.heads(block.ln1(model.embed(tokens)))
        return block.pattern(q, k)[:, head, -1, :]

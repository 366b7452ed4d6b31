"""Each stage's settings, defined once: one dataclass per script family, whose fields are the
script's options (field `n_layers` is the option --n-layers) and whose defaults are the only
defaults. The scripts take their command-line defaults from here; the workflow builds each from
the validated config (`from_config`) and hands it to the script with flags(); tests/test_settings.py
checks that the config schema's defaults and every script's defaults equal these.

No torch import: the Snakefile imports this module when it is parsed."""

from dataclasses import dataclass, field, fields
import shlex


def flags(settings) -> str:
    """The command-line options of a settings dataclass, one per field in field order: `--name
    value` (underscores become hyphens), a sequence as its values, a dict as KEY=VALUE pairs,
    a bool as --name or --no-name; a None field is left out."""
    return " ".join(
        option(item.name.replace("_", "-"), getattr(settings, item.name))
        for item in fields(settings)
        if getattr(settings, item.name) is not None
    )


def option(name: str, value) -> str:
    """One field as `--name value…` (see flags)."""
    if isinstance(value, bool):
        return f"--{name}" if value else f"--no-{name}"
    if isinstance(value, dict):
        value = [f"{key}={item}" for key, item in value.items()]
    values = value if isinstance(value, (list, tuple)) else [value]
    return " ".join([f"--{name}", *(shlex.quote(str(item)) for item in values)])


@dataclass(frozen=True)
class TrainingSettings:
    """scripts/train.py: the task, model, optimiser and checkpoint schedule of each run."""

    p: int = 113
    train_fraction: float = 0.3
    steps: int = 1_000_000
    n_layers: int = 2
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.98)
    weight_decay: float = 1.0
    per_decade: int = 40
    extra_steps: tuple[int, ...] = (100, 500, 1000, 5000, 10000, 50000, 990000)
    save_every_s: float = 60.0

    @classmethod
    def from_config(cls, config: dict) -> "TrainingSettings":
        model, optimizer, checkpoints = config["model"], config["optimizer"], config["checkpoints"]
        return cls(config["modulus"], config["train_fraction"], config["steps"], model["n_layers"],
                   model["d_model"], model["n_heads"], model["d_mlp"], optimizer["lr"], tuple(optimizer["betas"]),
                   optimizer["weight_decay"], checkpoints["per_decade"], tuple(checkpoints["extra_steps"]),
                   config["train"]["save_every_s"])


@dataclass(frozen=True)
class ModulusSettings:
    """The scripts that need only the modulus p: scripts/op_summary.py (the primitive root it
    names) and scripts/lowrank_decay/plots.py (the chance level 1/p)."""

    p: int = TrainingSettings.p

    @classmethod
    def from_config(cls, config: dict) -> "ModulusSettings":
        return cls(config["modulus"])


@dataclass(frozen=True)
class EngineSettings:
    """How scripts/train.py runs a job, not what it computes: the torch device and, on a GPU, the
    config's tf32 and compile. A CPU job runs eager float32, as a hand run of the script does."""

    device: str = "cpu"
    tf32: bool = False
    compile: bool = False

    @classmethod
    def from_config(cls, config: dict) -> "EngineSettings":
        train = config["train"]
        return cls() if train["device"] == "cpu" else cls(train["device"], train["tf32"], train["compile"])


# The config's `metrics` key of each metric option whose name differs.
METRIC_CONFIG_KEYS = {"top_k": "fourier_top_k", "rank_energy": "group_rank_energy",
                      "energy_fraction": "key_energy_fraction", "frequencies": "competition_frequencies",
                      "samples": "agop_samples"}


@dataclass(frozen=True)
class GroupSettings:
    """A group-aware metric script: the group its Fourier analysis reads the numbers in."""

    fourier_group: str = "auto"

    @classmethod
    def from_config(cls, config: dict) -> "GroupSettings":
        metrics = config["metrics"]
        return cls(**{item.name: metrics[METRIC_CONFIG_KEYS.get(item.name, item.name)] for item in fields(cls)})


@dataclass(frozen=True)
class FourierBasisSettings(GroupSettings):
    """scripts/metrics/fourier_basis.py."""

    top_k: int = 5


@dataclass(frozen=True)
class GroupRepresentationSettings(GroupSettings):
    """scripts/metrics/group_representation.py."""

    rank_energy: float = 0.9


@dataclass(frozen=True)
class KeyFrequencySettings(GroupSettings):
    """scripts/metrics/key_frequencies.py."""

    energy_fraction: float = 0.8


@dataclass(frozen=True)
class CircuitCompetitionSettings(GroupSettings):
    """scripts/metrics/circuit_competition.py."""

    frequencies: str = "key"
    memo_samples: int = 64
    memo_rank: int = 8


@dataclass(frozen=True)
class AgopSettings(GroupSettings):
    """scripts/metrics/agop_circulant.py."""

    samples: int = 2048


@dataclass(frozen=True)
class LoraSettings:
    """The LoRA rank study's options shared by its two scripts."""

    ranks: tuple[int, ...] = (2, 4, 8, 16, 32)
    alpha: float = 16.0
    seed: int = 0


@dataclass(frozen=True)
class LoraDemoSettings(LoraSettings):
    """scripts/lora/rank_demo.py."""

    hidden_size: int = 512
    heatmap_rank: int = 8
    weight: str = "W_E"

    @classmethod
    def from_config(cls, config: dict) -> "LoraDemoSettings":
        lora = config["lora"]
        return cls(tuple(lora["rank_candidates"]), lora["alpha"], lora["seed"], lora["hidden_size"],
                   lora["heatmap_rank"], lora["structured_weight"])


@dataclass(frozen=True)
class LoraFinetuneSettings(LoraSettings):
    """scripts/lora/finetune.py; the betas are the training optimiser's."""

    target_op: str = "x-y"
    steps: int = 5000
    lr: float = 3e-3
    weight_decay: float = 1.0
    betas: tuple[float, float] = TrainingSettings.betas
    eval_every: int = 100
    device: str = "cpu"

    @classmethod
    def from_config(cls, config: dict) -> "LoraFinetuneSettings":
        lora = config["lora"]
        return cls(tuple(lora["rank_candidates"]), lora["alpha"], lora["seed"], lora["target_op"], lora["steps"],
                   lora["lr"], lora["weight_decay"], tuple(config["optimizer"]["betas"]), lora["eval_every"],
                   lora["device"])


@dataclass(frozen=True)
class TableConnectivitySizes:
    """The connectivity task's sizes, all that scripts/table_connectivity/plots.py reads."""

    V: int = 20
    C: int = 3
    n_dims: int = 17

    @classmethod
    def from_config(cls, config: dict) -> "TableConnectivitySizes":
        study = config["table_connectivity"]
        return cls(study["V"], study["C"], study["n_dims"])


@dataclass(frozen=True)
class TableConnectivitySettings(TableConnectivitySizes):
    """scripts/table_connectivity/train.py (the depth and the model are each job's)."""

    rho: float = 0.5
    d_model: int = 128
    n_heads: int = 4
    local_layers: int = 2
    steps: int = 20000
    batch_size: int = 128
    lr: float = 3e-4
    weight_decay: float = 0.01
    eval_every: int = 500
    validation_size: int = 4096
    seed: int = 0
    device: str = "cpu"

    @classmethod
    def from_config(cls, config: dict) -> "TableConnectivitySettings":
        study = config["table_connectivity"]
        return cls(**{item.name: study[item.name] for item in fields(cls)})


@dataclass(frozen=True)
class LowrankDecaySettings:
    """The low-rank decay study's options shared by its two training scripts."""

    p: int = TrainingSettings.p
    n_layers: int = 2
    d_model: int = 128
    n_heads: int = 4
    d_mlp: int = 512
    eval_every: int = 200
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.98)
    patterns: tuple[str, ...] = ("W_Q", "W_K")
    newton_schulz_steps: int = 5
    other_weight_decay: float = 0.1
    l2_factor: float = 10.0
    device: str = "cpu"
    threads: int = 1

    @classmethod
    def shared(cls, config: dict) -> dict:
        """The shared fields' values in the config."""
        study = config["lowrank_decay"]
        return study["model"] | {
            "p": config["modulus"], "betas": tuple(study["betas"]), "patterns": tuple(study["patterns"]),
            **{name: study[name] for name in ("eval_every", "lr", "newton_schulz_steps", "other_weight_decay",
                                              "l2_factor", "device", "threads")},
        }


@dataclass(frozen=True)
class PhaseDiagramSettings(LowrankDecaySettings):
    """scripts/lowrank_decay/phase_diagram.py (the rule runs one fraction per job)."""

    steps: int = 2500
    fractions: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
    strengths: tuple[float, ...] = (1e-4, 5e-4, 2.5e-3, 1e-2, 5e-2)
    seeds: tuple[int, ...] = (0,)

    @classmethod
    def from_config(cls, config: dict) -> "PhaseDiagramSettings":
        study = config["lowrank_decay"]
        return cls(**cls.shared(config), steps=study["steps"], fractions=tuple(study["fractions"]),
                   strengths=tuple(study["strengths"]), seeds=tuple(study["seeds"]))


@dataclass(frozen=True)
class MechanismSettings(LowrankDecaySettings):
    """scripts/lowrank_decay/mechanism.py: one cell, the study's first seed."""

    steps: int = 4000
    fraction: float = 0.3
    strength: float = 1e-2
    seed: int = 0

    @classmethod
    def from_config(cls, config: dict) -> "MechanismSettings":
        study = config["lowrank_decay"]
        mechanism = study["mechanism"]
        return cls(**cls.shared(config), steps=mechanism["steps"], fraction=mechanism["train_fraction"],
                   strength=mechanism["strength"], seed=study["seeds"][0])


# Each sampler's step size ε and localisation γ (slt.methods.METHODS order).
SLT_EPSILON = {"sgld": 1e-9, "psgld": 1e-11, "rsgld": 1e-11, "sisgld": 1e-9}
SLT_GAMMA = {"sgld": 1e3, "psgld": 1e3, "rsgld": 1e3, "sisgld": 1e3}


@dataclass(frozen=True)
class SltSettings:
    """The options of every SLT script: nβ, the samplers, the reference point, the chains and
    their execution. The polish uses the training optimiser's betas; chunk 0: all points at once."""

    nbeta: float = 460.0
    integrator: str = "exact"
    reference: str = "checkpoint"
    polish_steps: int = 100
    polish_lr: float = 1e-4
    polish_betas: tuple[float, float] = TrainingSettings.betas
    psgld_decay: float = 0.999
    psgld_lambda: float = 1e-4
    rsgld_delta: float = 1e-6
    sisgld_eps: float = 1e-6
    chains: int = 4
    burnin: int = 100
    draws: int = 100
    batch_size: int = 32
    seed: int = 0
    chunk: int = 512
    device: str = "auto"
    threads: int = 4
    tf32: bool = True
    compile: bool = False

    @classmethod
    def shared(cls, config: dict) -> dict:
        """The shared fields' values in the config."""
        slt = config["slt"]
        names = [item.name for item in fields(SltSettings) if item.name != "polish_betas"]
        return {name: slt[name] for name in names} | {"polish_betas": tuple(config["optimizer"]["betas"])}


@dataclass(frozen=True)
class CalibrationFigureSettings:
    """scripts/plots/llc_calibration.py: the nβ of the figures' main lines and each sampler's ε."""

    nbeta: float = SltSettings.nbeta
    chosen: dict[str, float] = field(default_factory=lambda: dict(SLT_EPSILON))

    @classmethod
    def from_config(cls, config: dict) -> "CalibrationFigureSettings":
        slt = config["slt"]
        return cls(slt["nbeta"], slt["epsilon"])


@dataclass(frozen=True)
class RescalingSettings(SltSettings):
    """scripts/slt/llc_rescaling.py."""

    epsilon: dict[str, float] = field(default_factory=lambda: dict(SLT_EPSILON))
    gamma: dict[str, float] = field(default_factory=lambda: dict(SLT_GAMMA))
    alpha_range: tuple[float, float] = (0.1, 10.0)
    beta_range: tuple[float, float] = (0.1, 10.0)
    grid: int = 30

    @classmethod
    def from_config(cls, config: dict) -> "RescalingSettings":
        slt = config["slt"]
        grid = slt["rescaling"]
        return cls(**cls.shared(config), epsilon=slt["epsilon"], gamma=slt["gamma"],
                   alpha_range=tuple(grid["alpha_range"]), beta_range=tuple(grid["beta_range"]), grid=grid["grid"])


@dataclass(frozen=True)
class OverTrainingSettings(SltSettings):
    """scripts/slt/llc_over_training.py: SGLD only."""

    epsilon: float = SLT_EPSILON["sgld"]
    gamma: float = SLT_GAMMA["sgld"]
    temperatures: tuple[float, ...] = (0.5, 0.71, 1.0, 1.41, 2.0)

    @classmethod
    def from_config(cls, config: dict) -> "OverTrainingSettings":
        slt = config["slt"]
        return cls(**cls.shared(config), epsilon=slt["epsilon"]["sgld"], gamma=slt["gamma"]["sgld"],
                   temperatures=tuple(slt["temperatures"]))


@dataclass(frozen=True)
class CalibrationSettings(SltSettings):
    """scripts/slt/llc_calibration.py: the sweep over ε and nβ at each sampler's γ."""

    gamma: dict[str, float] = field(default_factory=lambda: dict(SLT_GAMMA))
    epsilon_range: tuple[float, float] = (1e-11, 1e-4)
    epsilon_count: int = 8
    nbetas: tuple[float, ...] = (115.0, 460.0, 1840.0)

    @classmethod
    def from_config(cls, config: dict) -> "CalibrationSettings":
        slt = config["slt"]
        sweep = slt["calibration"]
        return cls(**cls.shared(config), gamma=slt["gamma"], epsilon_range=tuple(sweep["epsilon_range"]),
                   epsilon_count=sweep["epsilon_count"], nbetas=tuple(sweep["nbetas"]))

# Included first by the Snakefile: config validation, the checkpoint schedule, paths and input functions.
import math
import sys

from grokflow.checkpoints import checkpoint_name
from grokflow.config import ConfigError, schedule, validate_config
from grokflow.metrics.effective_rank import MATRICES


try:
    validate_config(config, workflow.source_path("../schemas/config.schema.yaml"))
except ConfigError as err:
    sys.exit(f"error: {err}")


OPS = config["ops"]
SEEDS = config["seeds"]
SCHEDULE = schedule(config)
RUN_DIR = "results/{op}/seed{seed}"
CHECKPOINTS = [f"{RUN_DIR}/checkpoints/{checkpoint_name(step)}" for step in SCHEDULE]
ENV = "../../envs/grokflow.yaml"


def run_checkpoints(wildcards):
    """Every checkpoint of every seed of the op."""
    return [path.format(op=wildcards.op, seed=seed) for seed in SEEDS for path in CHECKPOINTS]


def seed_metric_csvs(wildcards):
    return [f"{RUN_DIR}/metric.csv".format(op=wildcards.op, seed=seed) for seed in SEEDS]


def train_flags():
    """The command-line flags of scripts/train.py that come from the config."""
    model, opt, ckpt, train = config["model"], config["optimizer"], config["checkpoints"], config["train"]
    extra = " ".join(str(s) for s in ckpt["extra_steps"])
    return (
        f"--p {config['modulus']} --train-fraction {config['train_fraction']} --steps {config['steps']} "
        f"--n-layers {model['n_layers']} --d-model {model['d_model']} --n-heads {model['n_heads']} "
        f"--d-mlp {model['d_mlp']} --lr {opt['lr']} --betas {opt['betas'][0]} {opt['betas'][1]} "
        f"--weight-decay {opt['weight_decay']} --per-decade {ckpt['per_decade']} "
        f"--extra-steps {extra} --save-every-s {train['save_every_s']}"
    )


def train_runtime_minutes():
    """A generous wall-time estimate for one CPU training job (about 50 ms per step)."""
    return 10 + math.ceil(config["steps"] * 0.05 / 60)

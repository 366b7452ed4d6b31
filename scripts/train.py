#!/usr/bin/env python
"""Train grokking transformers on (x op y) mod p with full-batch AdamW: one (op, seed), or every
pair of --ops × --seeds as one stack of independent models (the GPU engine: `--device cuda`).

Each run writes OUT/checkpoints/step*.safetensors on the log-spaced schedule and OUT/metric.csv,
where OUT is --out-template with {op} and {seed} filled in. A job killed at any point resumes
from --state when started again with the same flags.
"""

import argparse
from dataclasses import fields

import torch

from grokflow.arguments import add_settings, torch_device
from grokflow.data import OPS
from grokflow.manifest import training_id
from grokflow.model import ModelConfig
from grokflow.schedule import checkpoint_steps
from grokflow.settings import EngineSettings, TrainingSettings
from grokflow.errors import run_main
from grokflow.training import OptimConfig, Run, TrainingJob

DEFAULTS = TrainingSettings()
ENGINE = EngineSettings()


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", required=True, nargs="+", choices=OPS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    add_settings(parser, DEFAULTS, helps={
        "p": "modulus", "per_decade": "log-spaced checkpoints per decade", "extra_steps": "steps always checkpointed",
        "save_every_s": "seconds between resume-state saves"})
    add_settings(parser, ENGINE, types={"device": torch_device}, helps={
        "device": "torch device, e.g. cpu or cuda", "tf32": "let CUDA matmuls use TensorFloat-32",
        "compile": "torch.compile the forward and backward pass (fuses the small kernels; tens of seconds of "
                   "compilation at the start; needs a C compiler on a CPU)"})
    parser.add_argument("--out-template", required=True,
                        help="output folder of each run, with {op} and {seed}, e.g. results/{op}/seed{seed}")
    parser.add_argument("--state", required=True, help="resume-state file of the job")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # subnormal floats make CPU kernels several times slower
    model = ModelConfig(p=args.p, n_layers=args.n_layers, d_model=args.d_model,
                        n_heads=args.n_heads, d_mlp=args.d_mlp)
    pairs = [(op, seed) for op in args.ops for seed in args.seeds]
    runs = [Run(op=op, seed=seed, train_fraction=args.train_fraction, model=model) for op, seed in pairs]
    out_dirs = [args.out_template.format(op=op, seed=seed) for op, seed in pairs]
    optim = OptimConfig(lr=args.lr, betas=tuple(args.betas), weight_decay=args.weight_decay)
    schedule = checkpoint_steps(args.steps, args.per_decade, args.extra_steps)
    settings = TrainingSettings(**{field.name: getattr(args, field.name) for field in fields(TrainingSettings)})
    job = TrainingJob(runs, optim, args.steps, schedule, out_dirs, state_path=args.state,
                      save_every_s=args.save_every_s, device=args.device, tf32=args.tf32,
                      compiled=args.compile, training=training_id(settings))
    job.run()


if __name__ == "__main__":
    run_main(main)

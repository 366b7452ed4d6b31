#!/usr/bin/env python
"""Train one grokking transformer on (x op y) mod p with full-batch AdamW.

Writes OUT/checkpoints/step*.safetensors on the log-spaced schedule and OUT/metric.csv. A run
killed at any point resumes from OUT/train_state.pt when started again with the same flags.
"""

import argparse

import torch

from grokflow.data import OPS
from grokflow.model import ModelConfig
from grokflow.schedule import checkpoint_steps
from grokflow.errors import run_main
from grokflow.training import OptimConfig, Run, TrainingJob


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--op", required=True, choices=OPS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--p", type=int, required=True, help="modulus")
    parser.add_argument("--train-fraction", type=float, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--n-layers", type=int, default=2)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--n-heads", type=int, default=4)
    parser.add_argument("--d-mlp", type=int, default=512)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--betas", type=float, nargs=2, default=(0.9, 0.98))
    parser.add_argument("--weight-decay", type=float, default=1.0)
    parser.add_argument("--per-decade", type=int, default=40, help="log-spaced checkpoints per decade")
    parser.add_argument("--extra-steps", type=int, nargs="*", default=[], help="steps always checkpointed")
    parser.add_argument("--out", required=True, help="output folder of this run")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--save-every-s", type=float, default=60.0, help="seconds between resume-state saves")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # subnormal floats make CPU kernels several times slower
    model = ModelConfig(p=args.p, n_layers=args.n_layers, d_model=args.d_model,
                        n_heads=args.n_heads, d_mlp=args.d_mlp)
    run = Run(op=args.op, seed=args.seed, train_fraction=args.train_fraction, model=model)
    optim = OptimConfig(lr=args.lr, betas=tuple(args.betas), weight_decay=args.weight_decay)
    schedule = checkpoint_steps(args.steps, args.per_decade, args.extra_steps)
    job = TrainingJob([run], optim, args.steps, schedule, [args.out],
                      state_path=f"{args.out}/train_state.pt", save_every_s=args.save_every_s)
    job.run()


if __name__ == "__main__":
    run_main(main)

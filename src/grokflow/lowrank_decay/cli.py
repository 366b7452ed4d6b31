"""Command-line options shared by the low-rank decay scripts (the seed's --steps and --device)."""

import argparse

import torch

from ..arguments import positive_int, torch_device
from ..errors import GrokflowError
from .study import StudySettings, study_model


def add_study_arguments(parser: argparse.ArgumentParser, default_steps: int) -> None:
    parser.add_argument("--p", type=positive_int, default=113, help="modulus of x+y (default 113)")
    parser.add_argument("--n-layers", type=positive_int, default=2)
    parser.add_argument("--d-model", type=positive_int, default=128)
    parser.add_argument("--n-heads", type=positive_int, default=4)
    parser.add_argument("--d-mlp", type=positive_int, default=512)
    parser.add_argument("--steps", type=positive_int, default=default_steps, help="training steps per run")
    parser.add_argument("--eval-every", type=positive_int, default=200, help="steps between measurements")
    parser.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    parser.add_argument("--betas", type=float, nargs=2, default=(0.9, 0.98), metavar=("BETA1", "BETA2"))
    parser.add_argument("--patterns", nargs="+", default=["W_Q", "W_K"],
                        help="tensors (name substrings) under low-rank decay (default W_Q W_K)")
    parser.add_argument("--newton-schulz-steps", type=positive_int, default=5)
    parser.add_argument("--other-weight-decay", type=float, default=0.1,
                        help="the low-rank method's AdamW weight decay of the other tensors")
    parser.add_argument("--l2-factor", type=float, default=10.0, help="L2 weight decay = this × strength")
    parser.add_argument("--device", type=torch_device, default="cpu", help="torch device, e.g. cuda (default cpu)")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")


def study_settings(args: argparse.Namespace) -> StudySettings:
    """The settings of the parsed options; a wrong value stops with one line."""
    if args.d_model % args.n_heads:
        raise GrokflowError(f"d_model {args.d_model} is not divisible by n_heads {args.n_heads}")
    torch.set_num_threads(args.threads)
    model = study_model(args.p, args.n_layers, args.d_model, args.n_heads, args.d_mlp)
    return StudySettings(model, args.steps, args.eval_every, args.lr, tuple(args.betas), tuple(args.patterns),
                         args.newton_schulz_steps, args.other_weight_decay, args.l2_factor)

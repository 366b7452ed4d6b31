"""Command-line options shared by the low-rank decay scripts, with the defaults of their settings."""

import argparse

import torch

from ..arguments import positive_int, torch_device
from ..errors import GrokflowError
from ..settings import LowrankDecaySettings
from .study import StudySettings, study_model


def add_study_arguments(parser: argparse.ArgumentParser, defaults: LowrankDecaySettings) -> None:
    """The options of the study's model and training; `defaults` is the script's settings (its steps too)."""
    parser.add_argument("--p", type=positive_int, default=defaults.p, help=f"modulus of x+y (default {defaults.p})")
    parser.add_argument("--n-layers", type=positive_int, default=defaults.n_layers)
    parser.add_argument("--d-model", type=positive_int, default=defaults.d_model)
    parser.add_argument("--n-heads", type=positive_int, default=defaults.n_heads)
    parser.add_argument("--d-mlp", type=positive_int, default=defaults.d_mlp)
    parser.add_argument("--steps", type=positive_int, default=defaults.steps, help="training steps per run")
    parser.add_argument("--eval-every", type=positive_int, default=defaults.eval_every,
                        help="steps between measurements")
    parser.add_argument("--lr", type=float, default=defaults.lr, help="AdamW learning rate")
    parser.add_argument("--betas", type=float, nargs=2, default=defaults.betas, metavar=("BETA1", "BETA2"))
    parser.add_argument("--patterns", nargs="+", default=defaults.patterns,
                        help=f"tensors (name substrings) under low-rank decay (default {' '.join(defaults.patterns)})")
    parser.add_argument("--newton-schulz-steps", type=positive_int, default=defaults.newton_schulz_steps)
    parser.add_argument("--other-weight-decay", type=float, default=defaults.other_weight_decay,
                        help="the low-rank method's AdamW weight decay of the other tensors")
    parser.add_argument("--l2-factor", type=float, default=defaults.l2_factor,
                        help="L2 weight decay = this × strength")
    parser.add_argument("--device", type=torch_device, default=defaults.device,
                        help=f"torch device, e.g. cuda (default {defaults.device})")
    parser.add_argument("--threads", type=positive_int, default=defaults.threads, help="torch CPU threads")


def study_settings(args: argparse.Namespace) -> StudySettings:
    """The settings of the parsed options; a wrong value stops with one line."""
    if args.d_model % args.n_heads:
        raise GrokflowError(f"d_model {args.d_model} is not divisible by n_heads {args.n_heads}")
    torch.set_num_threads(args.threads)
    model = study_model(args.p, args.n_layers, args.d_model, args.n_heads, args.d_mlp)
    return StudySettings(model, args.steps, args.eval_every, args.lr, tuple(args.betas), tuple(args.patterns),
                         args.newton_schulz_steps, args.other_weight_decay, args.l2_factor)

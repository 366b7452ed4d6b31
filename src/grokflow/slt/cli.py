"""Command-line options shared by the SLT scripts: sampler hyperparameters, chain sizes, device."""

import argparse

import torch

from ..arguments import positive_int
from ..errors import GrokflowError
from .engine import ChainSettings
from .methods import METHODS, method_value, positive_float
from .samplers import SamplerSettings
from .studies import Chains


def add_chain_arguments(parser: argparse.ArgumentParser, epsilon: str = "single", nbeta: bool = True) -> None:
    """The sampler and chain options. `epsilon`: "single" (an SGLD step size), "per_method"
    (--methods and one ε per method) or "none" (the script sweeps ε); `nbeta`: whether --nbeta
    is one fixed value."""
    group = parser.add_argument_group("sampler")
    if epsilon == "per_method":
        group.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="samplers to run")
        group.add_argument("--epsilon", nargs="+", type=method_value, required=True, metavar="METHOD=EPS",
                           help="step size ε of each sampler, e.g. sgld=1e-7 psgld=1e-9")
    elif epsilon == "single":
        group.add_argument("--epsilon", type=positive_float, required=True, help="SGLD step size ε")
    if nbeta:
        group.add_argument("--nbeta", type=positive_float, required=True, help="inverse temperature times n (nβ)")
    group.add_argument("--gamma", type=float, default=SamplerSettings.gamma, help="localisation strength γ")
    group.add_argument("--psgld-decay", type=float, default=SamplerSettings.psgld_decay, help="pSGLD's RMSProp decay a")
    group.add_argument("--psgld-lambda", type=positive_float, default=SamplerSettings.psgld_lambda, help="pSGLD's λ")
    group.add_argument("--rsgld-delta", type=positive_float, default=SamplerSettings.rsgld_delta,
                       help="δ of Riemannian SGLD's metric w² + δ")
    group.add_argument("--sisgld-eps", type=positive_float, default=SamplerSettings.sisgld_eps,
                       help="ε_G of SI-SGLD's per-tensor ‖W‖² + ε_G")
    group.add_argument("--chains", type=positive_int, default=4, help="chains per point")
    group.add_argument("--burnin", type=int, default=100, help="steps discarded before the draws")
    group.add_argument("--draws", type=positive_int, default=100, help="steps averaged after the burn-in")
    group.add_argument("--batch-size", type=positive_int, default=64, help="minibatch size of every step")
    group.add_argument("--seed", type=int, default=0, help="seed of the chains' random streams")
    run = parser.add_argument_group("execution")
    run.add_argument("--chunk", type=positive_int, default=None, help="points per batch (default: all at once)")
    run.add_argument("--device", default="auto", help="torch device: auto (cuda if available), cpu, cuda, ...")
    run.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    run.add_argument("--tf32", action="store_true",
                     help="let CUDA matrix products use TF32 (about 2× faster on an H100; ~1e-3 relative rounding)")
    run.add_argument("--compile", action="store_true",
                     help="torch.compile the chains' step (2-2.5× faster on an H100 for the full-size model, after "
                          "tens of seconds of compilation, once per process and sampler; needs a C compiler on a CPU)")


def sampler_settings(args: argparse.Namespace) -> SamplerSettings:
    return SamplerSettings(gamma=args.gamma, psgld_decay=args.psgld_decay, psgld_lambda=args.psgld_lambda,
                           rsgld_delta=args.rsgld_delta, sisgld_eps=args.sisgld_eps)


def chain_settings(args: argparse.Namespace) -> ChainSettings:
    if args.burnin < 0:
        raise GrokflowError(f"--burnin must be ≥ 0, got {args.burnin}")
    return ChainSettings(chains=args.chains, steps=args.burnin + args.draws, batch_size=args.batch_size, seed=args.seed)


def epsilon_by_method(args: argparse.Namespace) -> dict[str, float]:
    """The step size of every selected method; each must be given."""
    given = dict(args.epsilon)
    if missing := [m for m in args.methods if m not in given]:
        raise GrokflowError(f"--epsilon lacks a value for {', '.join(missing)}")
    return {method: given[method] for method in args.methods}


def chains_setup(args: argparse.Namespace) -> Chains:
    """Sampler, chain sizes, burn-in and execution options of a study, from the command line."""
    return Chains(sampler_settings(args), chain_settings(args), args.burnin, args.chunk, compiled=args.compile)


def setup_torch(args: argparse.Namespace) -> torch.device:
    """Threads, denormal flushing (tiny weights make denormals) and the device of the run."""
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    if args.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(args.device)

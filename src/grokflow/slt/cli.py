"""Command-line options shared by the SLT scripts: sampler hyperparameters, chain sizes, device."""

import argparse
import math

import torch

from ..arguments import non_negative_int, positive_int
from ..errors import GrokflowError
from ..settings import SltSettings
from .engine import ChainSettings
from .methods import METHODS, method_value, positive_float
from .reference import REFERENCES, Reference
from .samplers import INTEGRATORS, SamplerSettings
from .studies import Chains, Step


def add_chain_arguments(parser: argparse.ArgumentParser, defaults: SltSettings, mode: str = "single") -> None:
    """The sampler and chain options, with the defaults of the script's settings. `mode`: "single"
    (one SGLD ε and γ), "per_method" (--methods, and ε and γ per method) or "sweep" (--methods and
    γ per method; the script sweeps ε)."""
    group = parser.add_argument_group("sampler")
    if mode == "single":
        group.add_argument("--epsilon", type=positive_float, default=defaults.epsilon, help="SGLD step size ε")
        group.add_argument("--gamma", type=positive_float, default=defaults.gamma, help="SGLD localisation strength γ")
    else:
        group.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS), help="samplers to run")
        if mode == "per_method":
            group.add_argument("--epsilon", nargs="+", type=method_value, default=list(defaults.epsilon.items()),
                               metavar="METHOD=EPS", help="step size ε of each sampler, e.g. sgld=1e-5 psgld=1e-6")
        group.add_argument("--gamma", nargs="+", type=method_value, default=list(defaults.gamma.items()),
                           metavar="METHOD=GAMMA",
                           help="localisation strength γ of each sampler, e.g. sgld=100 psgld=1000")
    group.add_argument("--nbeta", type=positive_float, default=defaults.nbeta, help="inverse temperature times n (nβ)")
    group.add_argument("--integrator", choices=INTEGRATORS, default=defaults.integrator,
                       help="exact: the localisation integrated over each step; euler: devinterp's update")
    group.add_argument("--psgld-decay", type=float, default=defaults.psgld_decay, help="pSGLD's RMSProp decay a")
    group.add_argument("--psgld-lambda", type=positive_float, default=defaults.psgld_lambda, help="pSGLD's λ")
    group.add_argument("--rsgld-delta", type=positive_float, default=defaults.rsgld_delta,
                       help="δ of Riemannian SGLD's metric w² + δ")
    group.add_argument("--sisgld-eps", type=positive_float, default=defaults.sisgld_eps,
                       help="ε_G of SI-SGLD's per-tensor ‖W‖² + ε_G")
    group.add_argument("--chains", type=positive_int, default=defaults.chains, help="chains per point")
    group.add_argument("--burnin", type=int, default=defaults.burnin, help="steps discarded before the draws")
    group.add_argument("--draws", type=positive_int, default=defaults.draws, help="steps averaged after the burn-in")
    group.add_argument("--batch-size", type=positive_int, default=defaults.batch_size,
                       help="minibatch size of every step")
    group.add_argument("--seed", type=int, default=defaults.seed, help="seed of the chains' random streams")
    reference = parser.add_argument_group("reference point w₀")
    reference.add_argument("--reference", choices=REFERENCES, default=defaults.reference,
                           help="checkpoint: the trained weights; polished: after full-batch Adam steps on L_n alone")
    reference.add_argument("--polish-steps", type=positive_int, default=defaults.polish_steps,
                           help="the polish's Adam steps")
    reference.add_argument("--polish-lr", type=positive_float, default=defaults.polish_lr,
                           help="the polish's learning rate")
    reference.add_argument("--polish-betas", nargs=2, type=float, default=defaults.polish_betas, metavar=("B1", "B2"),
                           help="the polish's Adam betas")
    run = parser.add_argument_group("execution")
    run.add_argument("--chunk", type=non_negative_int, default=defaults.chunk,
                     help=f"points per batch, 0: all at once (default {defaults.chunk})")
    run.add_argument("--device", default=defaults.device, help="torch device: auto (cuda if available), cpu, cuda, ...")
    run.add_argument("--threads", type=positive_int, default=defaults.threads, help="torch CPU threads")
    run.add_argument("--tf32", action=argparse.BooleanOptionalAction, default=defaults.tf32,
                     help="let CUDA matrix products use TF32 (faster; ~1e-3 relative rounding)")
    run.add_argument("--compile", action=argparse.BooleanOptionalAction, default=defaults.compile,
                     help="torch.compile the chains' step (faster for the full-size model on a GPU, after "
                          "tens of seconds of compilation, once per process and sampler; needs a C compiler on a CPU)")


def sampler_settings(args: argparse.Namespace) -> SamplerSettings:
    """The settings shared by every sampler; γ is NaN until a study sets each method's."""
    return SamplerSettings(gamma=math.nan, psgld_decay=args.psgld_decay, psgld_lambda=args.psgld_lambda,
                           rsgld_delta=args.rsgld_delta, sisgld_eps=args.sisgld_eps, integrator=args.integrator)


def chain_settings(args: argparse.Namespace) -> ChainSettings:
    if args.burnin < 0:
        raise GrokflowError(f"--burnin must be ≥ 0, got {args.burnin}")
    return ChainSettings(chains=args.chains, steps=args.burnin + args.draws, batch_size=args.batch_size, seed=args.seed)


def per_method(args: argparse.Namespace, option: str) -> dict[str, float]:
    """The value of --OPTION (METHOD=VALUE pairs) of every selected method; each must be given."""
    given = dict(getattr(args, option))
    if missing := [m for m in args.methods if m not in given]:
        raise GrokflowError(f"--{option} lacks a value for {', '.join(missing)}")
    return {method: given[method] for method in args.methods}


def method_steps(args: argparse.Namespace) -> dict[str, Step]:
    """ε and γ of every selected method."""
    epsilons, gammas = per_method(args, "epsilon"), per_method(args, "gamma")
    return {method: Step(epsilons[method], gammas[method]) for method in args.methods}


def chains_setup(args: argparse.Namespace) -> Chains:
    """Sampler, chain sizes, burn-in and execution options of a study, from the command line."""
    reference = Reference(args.reference, args.polish_steps, args.polish_lr, tuple(args.polish_betas))
    return Chains(sampler_settings(args), chain_settings(args), args.burnin, reference, args.chunk or None,
                  compiled=args.compile)


def setup_torch(args: argparse.Namespace) -> torch.device:
    """Threads, denormal flushing (tiny weights make denormals) and the device of the run."""
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    if args.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(args.device)

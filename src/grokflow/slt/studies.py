"""The SLT studies as tables: LLC over an (α, β) rescaling grid, LLC and λ_eff (thermodynamic
integration) over training, and the calibration sweep over ε and nβ. Each runs every point of
the study through the batched engine at once (in chunks of `chunk` points)."""

from collections.abc import Sequence
from dataclasses import dataclass
import itertools

import pandas as pd
import torch

from ..data import all_pairs
from ..errors import GrokflowError
from .engine import ChainRun, ChainSettings, Points, run_chains
from .llc import chain_llc, summarize, thermodynamic_lambda
from .rescaling import max_logit_changes, rescaled_points
from .samplers import SamplerSettings, make_sampler
from .transformer import cross_entropy_loss, load_run, stack_points


@dataclass(frozen=True)
class Chains:
    """What every estimate of a study shares: sampler settings, chain sizes, burn-in, execution."""

    sampler: SamplerSettings
    chains: ChainSettings
    burnin: int
    chunk: int | None = None
    progress: bool = True
    compiled: bool = False


def estimate(model_config, method: str, points: Points, setup: Chains) -> tuple[torch.Tensor, ChainRun]:
    """Per-chain LLC (P, C) of every point with one sampler, and the chains' run."""
    device = points.inputs.device
    run = run_chains(cross_entropy_loss(model_config, device), make_sampler(method, setup.sampler), points,
                     setup.chains, setup.chunk, setup.progress, setup.compiled)
    return chain_llc(run.excess, points.nbeta, setup.burnin), run


def llc_columns(per_chain: torch.Tensor, init_loss: torch.Tensor) -> dict:
    """llc_mean, llc_std (over finite chains), init_loss and n_diverged of every point."""
    summary = summarize(per_chain)
    return {"llc_mean": summary.mean, "llc_std": summary.std, "init_loss": init_loss.cpu().double().numpy(),
            "n_diverged": summary.n_diverged}


def rescaling_tables(path, epsilons: dict[str, float], nbeta: float, alphas: Sequence[float],
                     betas: Sequence[float], setup: Chains, device) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """LLC over the α × β grid for every method, and each method's loss traces at α = β = 1.

    Every grid point is a rescaling of the checkpoint; the unscaled network runs as one more
    point of the same batch (its chains give the traces).
    """
    tensors, info, data = load_run(path, device=device)
    grid = list(itertools.product(alphas, betas))
    point_alphas, point_betas = [a for a, _ in grid] + [1.0], [b for _, b in grid] + [1.0]
    tokens = all_pairs(info.op, info.model.p)[0].to(device)
    changes = max_logit_changes(tensors, info.model, tokens, grid)
    tables, traces = {}, []
    for method, epsilon in epsilons.items():
        points = rescaled_points(tensors, data, point_alphas, point_betas, epsilon, nbeta)
        per_chain, run = estimate(info.model, method, points, setup)
        columns = {"alpha": point_alphas[:-1], "beta": point_betas[:-1]}
        columns |= llc_columns(per_chain[:-1], run.init_loss[:-1])
        columns |= {"max_logit_change": [c[0] for c in changes],
                    "max_logit_change_fixed_ln_eps": [c[1] for c in changes],
                    "chains": setup.chains.chains, "epsilon": epsilon, "nbeta": nbeta}
        tables[method] = pd.DataFrame(columns)
        traces.append(trace_table(method, run, nbeta, setup.burnin))
    return tables, pd.concat(traces, ignore_index=True)


def trace_table(method: str, run: ChainRun, nbeta: float, burnin: int) -> pd.DataFrame:
    """Long table of the last point's chains: method, chain, step, loss (L_B(w_t)), baseline
    (L_B(w₀)), init_loss (L_n(w₀)), nbeta, draw (step ≥ burn-in)."""
    chains, steps = run.losses.shape[1:]
    flat = lambda values: values[-1].reshape(-1).cpu().double().numpy()  # noqa: E731
    return pd.DataFrame({
        "method": method,
        "chain": torch.arange(chains).repeat_interleave(steps).numpy(),
        "step": torch.arange(steps).repeat(chains).numpy(),
        "loss": flat(run.losses),
        "baseline": flat(run.baselines),
        "init_loss": run.init_loss[-1].item(),
        "nbeta": nbeta,
        "draw": (torch.arange(steps) >= burnin).repeat(chains).numpy(),
    })


def checkpoint_points(paths: Sequence, nbetas: Sequence[float], epsilon: float, device) -> tuple[Points, list]:
    """One point per (checkpoint, nβ) pair, checkpoint-major, each with its run's training set."""
    weights, data, infos = [], [], []
    for path in paths:
        tensors, info, train = load_run(path, device=device)
        weights += [tensors] * len(nbetas)
        data += [train] * len(nbetas)
        infos.append(info)
    if len({info.model for info in infos}) > 1 or len({len(labels) for _, labels in data}) > 1:
        raise GrokflowError("the checkpoints of one SLT run must share the model and the training-set size")
    nbeta_list = [b for _ in paths for b in nbetas]
    return stack_points(weights, data, [epsilon] * len(nbeta_list), nbeta_list), infos


def training_tables(paths: Sequence, epsilon: float, nbeta: float, temperatures: Sequence[float], setup: Chains,
                    device) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SGLD LLC and λ_eff (thermodynamic integration) of every checkpoint, from one batch of chains.

    Each checkpoint runs its chains at every inverse temperature nβ·t (t in `temperatures`, which
    holds 1): the chains at nβ give the LLC table (seed, step, llc_mean, llc_std, init_loss,
    n_diverged, chains), all of them the λ_eff table (seed, step, lambda_mean, lambda_std,
    init_loss, n_diverged, nbeta_low, nbeta_high, chains); a chain diverged at any temperature
    counts as diverged for λ_eff.
    """
    factors = sorted(temperatures)
    if 1.0 not in factors:
        raise ValueError("the temperatures must hold 1 (the LLC's own nβ)")
    nbetas = [nbeta * t for t in factors]
    points, infos = checkpoint_points(paths, nbetas, epsilon, device)
    per_chain, run = estimate(infos[0].model, "sgld", points, setup)
    k = len(nbetas)
    by_temperature = per_chain.reshape(len(paths), k, -1).transpose(1, 2)  # (checkpoints, C, K)
    keys = {"seed": [i.seed for i in infos], "step": [i.step for i in infos]}
    init_loss = run.init_loss[::k]
    llc = pd.DataFrame(keys | llc_columns(by_temperature[..., factors.index(1.0)], init_loss)
                       | {"chains": setup.chains.chains})
    summary = summarize(thermodynamic_lambda(by_temperature, nbetas))
    flatness = pd.DataFrame(keys | {
        "lambda_mean": summary.mean, "lambda_std": summary.std, "init_loss": init_loss.cpu().double().numpy(),
        "n_diverged": summary.n_diverged, "nbeta_low": nbetas[0], "nbeta_high": nbetas[-1],
        "chains": setup.chains.chains,
    })
    return tuple(frame.sort_values(["seed", "step"], ignore_index=True) for frame in (llc, flatness))


def calibration_table(path, methods: Sequence[str], epsilons: Sequence[float], nbetas: Sequence[float],
                      setup: Chains, device) -> pd.DataFrame:
    """LLC of one checkpoint for every method × ε × nβ, with the LLC of the last half of the draws
    alone (llc_late_mean: close to llc_mean once the chains are stationary)."""
    tensors, info, data = load_run(path, device=device)
    combos = list(itertools.product(epsilons, nbetas))
    late_burnin = setup.burnin + (setup.chains.steps - setup.burnin) // 2
    frames = []
    for method in methods:
        points = stack_points([tensors] * len(combos), [data] * len(combos), [e for e, _ in combos],
                              [b for _, b in combos])
        per_chain, run = estimate(info.model, method, points, setup)
        late = summarize(chain_llc(run.excess, points.nbeta, late_burnin))
        frames.append(pd.DataFrame({"method": method, "epsilon": [e for e, _ in combos], "nbeta": [b for _, b in combos]}
                                   | llc_columns(per_chain, run.init_loss) | {"llc_late_mean": late.mean}))
    return pd.concat(frames, ignore_index=True)


"""The SLT studies as tables: LLC over an (α, β) rescaling grid, LLC and λ_eff (thermodynamic
integration) over training, and the calibration sweep over ε, nβ and γ. Each runs every point of
the study through the batched engine at once (in chunks of `chunk` points)."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
import itertools

import numpy as np
import pandas as pd
import torch

from ..checkpoints import read_info, require_one_training
from ..data import all_pairs
from ..errors import GrokflowError
from .engine import ChainRun, ChainSettings, Points, run_chains
from .llc import chain_llc, summarize, thermodynamic_lambda
from .reference import Reference, reference_point
from .rescaling import VARIANTS, max_logit_changes, rescaled_points
from .samplers import SamplerSettings, make_sampler
from .transformer import cross_entropy_loss, load_run, stack_points

GAMMA_FACTORS = (0.1, 10.0)  # the calibration's γ/10 and 10γ beside each sampler's γ


@dataclass(frozen=True)
class Chains:
    """What every estimate of a study shares: sampler settings, chain sizes, burn-in, the
    reference point, execution."""

    sampler: SamplerSettings
    chains: ChainSettings
    burnin: int
    reference: Reference = Reference()
    chunk: int | None = None
    progress: bool = True
    compiled: bool = False


@dataclass(frozen=True)
class Step:
    """One sampler's step size ε and localisation strength γ."""

    epsilon: float
    gamma: float


def estimate(model_config, method: str, gamma: float, points: Points, setup: Chains,
             diagnostics: bool = False) -> tuple[torch.Tensor, ChainRun]:
    """Per-chain LLC (P, C) of every point with one sampler at localisation γ, and the chains' run."""
    device = points.inputs.device
    sampler = make_sampler(method, replace(setup.sampler, gamma=gamma))
    run = run_chains(cross_entropy_loss(model_config, device), sampler, points, setup.chains, setup.chunk,
                     setup.progress, setup.compiled, diagnostics)
    return chain_llc(run.excess, points.nbeta, setup.burnin), run


def llc_columns(per_chain: torch.Tensor, init_loss: torch.Tensor) -> dict:
    """llc_mean, llc_std (over finite chains), init_loss (L_n(w₀)), n_diverged and negative
    (llc_mean < 0: the chains went below L_n(w₀), so w₀ is no minimum) of every point."""
    summary = summarize(per_chain)
    return {"llc_mean": summary.mean, "llc_std": summary.std, "init_loss": init_loss.cpu().double().numpy(),
            "n_diverged": summary.n_diverged, "negative": summary.mean < 0}


def reference_run(path, setup: Chains, device) -> tuple[dict, object, tuple, dict]:
    """A checkpoint's reference weights w₀, metadata, training set and reference columns."""
    tensors, info, data = load_run(path, device=device)
    w0, columns = reference_point(info.model, tensors, data, setup.reference)
    return w0, info, data, columns


def rescaling_tables(path, steps: dict[str, Step], nbeta: float, alphas: Sequence[float], betas: Sequence[float],
                     setup: Chains, device) -> tuple[dict[tuple[str, str], pd.DataFrame], pd.DataFrame]:
    """LLC over the α × β grid for every variant (VARIANTS) and method, {(variant, method):
    table}, and each method's diagnosed traces at α = β = 1 (`trace_table`)."""
    tensors, info, data, reference = reference_run(path, setup, device)
    grid = list(itertools.product(alphas, betas))
    tokens = all_pairs(info.op, info.model.p)[0].to(device)
    changes = max_logit_changes(tensors, info.model, tokens, grid)
    grid_columns = {"alpha": [a for a, _ in grid], "beta": [b for _, b in grid],
                    "max_logit_change": [c[0] for c in changes],
                    "max_logit_change_fixed_ln_eps": [c[1] for c in changes]}
    tables, traces = {}, []
    for (method, step), variant in itertools.product(steps.items(), VARIANTS):
        points = rescaled_points(tensors, data, grid_columns["alpha"], grid_columns["beta"], step.epsilon, nbeta,
                                 variant)
        per_chain, run = estimate(info.model, method, step.gamma, points, setup)
        tables[variant, method] = pd.DataFrame(
            grid_columns | llc_columns(per_chain, run.init_loss)
            | {"chains": setup.chains.chains, "epsilon": step.epsilon, "nbeta": nbeta, "gamma": step.gamma,
               "variant": variant} | reference)
    for method, step in steps.items():
        point = rescaled_points(tensors, data, [1.0], [1.0], step.epsilon, nbeta)
        _, run = estimate(info.model, method, step.gamma, point, setup, diagnostics=True)
        traces.append(trace_table(method, run, nbeta, setup.burnin) | reference)
    return tables, pd.concat([pd.DataFrame(t) for t in traces], ignore_index=True)


def trace_table(method: str, run: ChainRun, nbeta: float, burnin: int) -> dict:
    """Columns of a one-point diagnosed run's chains, one row per (chain, step): method, chain,
    step, loss (L_B(w_t)), baseline (L_B(w₀)), init_loss (L_n(w₀)), nbeta, draw (step ≥ burn-in),
    distance (‖w_t − w₀‖), acceptance (MALA, of the step from t; NaN at the last step) and
    grad_norm (‖∇L_n(w₀)‖)."""
    chains, steps = run.losses.shape[1:]
    flat = lambda values: values[0].reshape(-1).cpu().double().numpy()  # noqa: E731
    acceptance = torch.cat([run.acceptance, torch.full_like(run.acceptance[..., :1], torch.nan)], dim=-1)
    return {
        "method": method,
        "chain": torch.arange(chains).repeat_interleave(steps).numpy(),
        "step": torch.arange(steps).repeat(chains).numpy(),
        "loss": flat(run.losses),
        "baseline": flat(run.baselines),
        "init_loss": run.init_loss[0].item(),
        "nbeta": nbeta,
        "draw": (torch.arange(steps) >= burnin).repeat(chains).numpy(),
        "distance": flat(run.distances),
        "acceptance": flat(acceptance),
        "grad_norm": run.grad_norm[0].item(),
    }


def checkpoint_points(paths: Sequence, nbetas: Sequence[float], epsilon: float, setup: Chains,
                      device) -> tuple[Points, list, pd.DataFrame]:
    """One point per (checkpoint, nβ) pair, checkpoint-major, each with its run's training set and
    reference point; the checkpoints' infos and reference columns. Checkpoints of different
    trainings are refused before any is loaded."""
    require_one_training(paths, [read_info(path) for path in paths])
    weights, data, infos, references = [], [], [], []
    for path in paths:
        tensors, info, train, reference = reference_run(path, setup, device)
        weights += [tensors] * len(nbetas)
        data += [train] * len(nbetas)
        infos.append(info)
        references.append(reference)
    if len({info.model for info in infos}) > 1 or len({len(labels) for _, labels in data}) > 1:
        raise GrokflowError("the checkpoints of one SLT run must share the model and the training-set size")
    nbeta_list = [b for _ in paths for b in nbetas]
    return stack_points(weights, data, [epsilon] * len(nbeta_list), nbeta_list), infos, pd.DataFrame(references)


def training_tables(paths: Sequence, step: Step, nbeta: float, temperatures: Sequence[float], setup: Chains,
                    device) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SGLD LLC and λ_eff (thermodynamic integration) of every checkpoint, from one batch of chains.

    Each checkpoint runs its chains at every inverse temperature nβ·t (t in `temperatures`, which
    holds 1): the chains at nβ give the LLC table (seed, step, llc_mean, llc_std, init_loss,
    n_diverged, negative, chains, reference columns), all of them the λ_eff table (seed, step,
    lambda_mean, lambda_std, init_loss, n_diverged, negative, nbeta_low, nbeta_high, chains,
    reference columns); a chain diverged at any temperature counts as diverged for λ_eff.
    """
    factors = sorted(temperatures)
    if 1.0 not in factors:
        raise ValueError("the temperatures must hold 1 (the LLC's own nβ)")
    nbetas = [nbeta * t for t in factors]
    points, infos, references = checkpoint_points(paths, nbetas, step.epsilon, setup, device)
    per_chain, run = estimate(infos[0].model, "sgld", step.gamma, points, setup)
    k = len(nbetas)
    by_temperature = per_chain.reshape(len(paths), k, -1).transpose(1, 2)  # (checkpoints, C, K)
    keys = pd.DataFrame({"seed": [i.seed for i in infos], "step": [i.step for i in infos]})
    init_loss = run.init_loss[::k]
    shared = {"chains": setup.chains.chains, "epsilon": step.epsilon, "gamma": step.gamma}
    llc = pd.DataFrame(llc_columns(by_temperature[..., factors.index(1.0)], init_loss) | shared)
    summary = summarize(thermodynamic_lambda(by_temperature, nbetas))
    flatness = pd.DataFrame({
        "lambda_mean": summary.mean, "lambda_std": summary.std, "init_loss": init_loss.cpu().double().numpy(),
        "n_diverged": summary.n_diverged, "negative": summary.mean < 0, "nbeta_low": nbetas[0],
        "nbeta_high": nbetas[-1]} | shared)
    return tuple(pd.concat([keys, frame, references], axis=1).sort_values(["seed", "step"], ignore_index=True)
                 for frame in (llc, flatness))


def mean_acceptance(acceptance: torch.Tensor) -> np.ndarray:
    """Mean over chains and steps of each point's acceptance (P, C, T), its NaNs (diverged chains)
    left out; NaN for a point with none."""
    values = acceptance.flatten(1).cpu().double().numpy()
    count = np.isfinite(values).sum(axis=1)
    return np.where(count > 0, np.nansum(values, axis=1) / np.maximum(count, 1), np.nan)


def calibration_combos(epsilons: Sequence[float], nbetas: Sequence[float], nbeta: float) -> list[tuple]:
    """(ε, nβ, γ factor) of the sweep: every nβ at γ, and γ/10 and 10γ at the default nβ."""
    return ([(e, b, 1.0) for e in epsilons for b in nbetas]
            + [(e, nbeta, g) for e in epsilons for g in GAMMA_FACTORS])


def calibration_table(path, gammas: dict[str, float], epsilons: Sequence[float], nbetas: Sequence[float], nbeta: float,
                      setup: Chains, device) -> pd.DataFrame:
    """LLC and chain diagnostics of one checkpoint for every method over `calibration_combos`
    (each method at its own γ; the study's nβ joins `nbetas`): method, epsilon, nbeta, gamma, llc_mean, llc_std, init_loss,
    n_diverged, negative, llc_late_mean (the last half of the draws alone: near llc_mean once the
    chains are stationary), acceptance (mean MALA acceptance over chains and draws), distance
    (mean over chains of the last ‖w_t − w₀‖), grad_norm (‖∇L_n(w₀)‖) and the reference columns."""
    tensors, info, data, reference = reference_run(path, setup, device)
    combos = calibration_combos(epsilons, sorted({*nbetas, nbeta}), nbeta)
    late_burnin = setup.burnin + (setup.chains.steps - setup.burnin) // 2
    frames = []
    for method, gamma in gammas.items():
        points = stack_points([tensors] * len(combos), [data] * len(combos), [e for e, _, _ in combos],
                              [b for _, b, _ in combos])
        factors = torch.tensor([g for _, _, g in combos], dtype=points.epsilon.dtype, device=device)
        points.localisation = {name: factors for name in tensors}
        per_chain, run = estimate(info.model, method, gamma, points, setup, diagnostics=True)
        late = summarize(chain_llc(run.excess, points.nbeta, late_burnin))
        draws = run.acceptance[..., setup.burnin:]
        frames.append(pd.DataFrame(
            {"method": method, "epsilon": [e for e, _, _ in combos], "nbeta": [b for _, b, _ in combos],
             "gamma": [gamma * g for _, _, g in combos]}
            | llc_columns(per_chain, run.init_loss)
            | {"llc_late_mean": late.mean,
               "acceptance": mean_acceptance(draws),
               "distance": run.distances[..., -1].mean(dim=1).cpu().double().numpy(),
               "grad_norm": run.grad_norm.cpu().double().numpy()} | reference))
    return pd.concat(frames, ignore_index=True)

"""The batched chain engine: P points × C chains of one sampler in one `vmap`.

A *point* is one initial model w₀ with its own data set and its own step size ε and nβ (a grid
point of the rescaling study, a checkpoint, a temperature of thermodynamic integration, a
calibration setting). Every point runs the same C chains: chain c draws its minibatch indices and
its Gaussian noise from its own `torch.Generator`, seeded from (seed, c) alone. So a point's
chains do not depend on which other points share the batch (the same chains as running the point
alone), and different points see common random numbers, which makes their differences (across a
rescaling grid, across checkpoints) less noisy without changing any point's estimate.

Per step the engine draws, for each chain, B indices (with replacement; the whole data set, in
order, when B ≥ n) and then one standard normal per parameter; evaluates the minibatch loss and
its gradient for every (point, chain) with `vmap(vmap(grad_and_value(loss)))`; and applies the
sampler's update, also vmapped. It records, at every step, the minibatch loss L_B(w_t) (an
unbiased estimate of L_n(w_t), as devinterp uses) and the same minibatch's loss at the start,
L_B(w₀), read from a table of w₀'s per-sample losses computed once. Their difference is an
unbiased estimate of L_n(w_t) − L_n(w₀) whose minibatch noise largely cancels (a control
variate): the LLC of a chain that barely moves is then near 0, not ± the minibatch noise.

Diagnostics of whether the chains feel the loss: the distance ‖w_t − w₀‖ of every chain at every
step (always), and with `diagnostics=True` the full-data gradient norm ‖∇L_n(w₀)‖ of every point
and a MALA acceptance probability of every step (`mala_log_acceptance`).
"""

from collections.abc import Callable
from dataclasses import dataclass, field, fields
import functools

import numpy as np
import torch
from torch.func import grad_and_value, vmap
from tqdm import tqdm

from ..settings import SltSettings
from .samplers import Sampler, Tensors, log_density

# loss(params, inputs, targets) → the per-sample losses (B,) of one model on one batch.
Loss = Callable[[Tensors, torch.Tensor, torch.Tensor], torch.Tensor]
EVAL_BATCH = 2048


@dataclass(frozen=True)
class ChainSettings:
    """How long and how wide the chains run: C chains of `steps` steps on minibatches of B."""

    chains: int
    steps: int
    batch_size: int
    seed: int = SltSettings.seed


@dataclass
class Points:
    """P starting points: stacked parameters w₀ (P, ...), data (P, n, ...), ε (P,) and nβ (P,).

    `scales` (optional, {name: (P,)}) makes point p sample the loss w ↦ L(w ⊘ s_p): the landscape
    of the network whose tensors were multiplied by s_p, with w₀ already the rescaled weights.
    `localisation` (optional, {name: (P,)}) multiplies the localisation γ of the named tensors.
    """

    w0: Tensors
    inputs: torch.Tensor
    targets: torch.Tensor
    epsilon: torch.Tensor
    nbeta: torch.Tensor
    scales: Tensors = field(default_factory=dict)
    localisation: Tensors = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.epsilon)

    def select(self, start: int, stop: int) -> "Points":
        part = lambda tensors: {name: t[start:stop] for name, t in tensors.items()}  # noqa: E731
        return Points(part(self.w0), self.inputs[start:stop], self.targets[start:stop],
                      self.epsilon[start:stop], self.nbeta[start:stop], part(self.scales), part(self.localisation))


@dataclass
class ChainRun:
    """losses (P, C, steps): minibatch loss L_B(w_t) before step t; baselines (P, C, steps): the
    same minibatch's loss at w₀, L_B(w₀); init_loss (P,): L_n(w₀); distances (P, C, steps):
    ‖w_t − w₀‖. With diagnostics: acceptance (P, C, steps − 1), the MALA acceptance probability of
    the step from w_t to w_{t+1}, and grad_norm (P,), ‖∇L_n(w₀)‖; None without."""

    losses: torch.Tensor
    baselines: torch.Tensor
    init_loss: torch.Tensor
    distances: torch.Tensor
    acceptance: torch.Tensor | None = None
    grad_norm: torch.Tensor | None = None

    @property
    def excess(self) -> torch.Tensor:
        """L_B(w_t) − L_B(w₀) (P, C, steps): unbiased for L_n(w_t) − L_n(w₀)."""
        return self.losses - self.baselines


def chain_seed(seed: int, chain: int) -> int:
    """The seed of chain `chain`'s generator: independent streams for every (seed, chain)."""
    return int(np.random.SeedSequence([seed, chain]).generate_state(1)[0])


class ChainStreams:
    """One generator per chain; each step draws every chain's minibatch indices, then its noise."""

    def __init__(self, settings: ChainSettings, n_data: int, shapes: dict[str, torch.Size], dtype, device):
        self.settings, self.n_data, self.shapes = settings, n_data, shapes
        self.dtype, self.device = dtype, device
        self.size = sum(int(np.prod(shape)) for shape in shapes.values())
        self.generators = [torch.Generator(device=device).manual_seed(chain_seed(settings.seed, c))
                           for c in range(settings.chains)]

    def draw(self) -> tuple[torch.Tensor, Tensors]:
        """Indices (C, B) and noise {name: (C, *shape)} of the next step."""
        b, n = self.settings.batch_size, self.n_data
        indices, noise = [], []
        for generator in self.generators:
            if b < n:
                indices.append(torch.randint(n, (b,), generator=generator, device=self.device))
            else:
                indices.append(torch.arange(n, device=self.device))
            noise.append(torch.randn(self.size, generator=generator, device=self.device, dtype=self.dtype))
        flat = torch.stack(noise)
        pieces = flat.split([int(np.prod(shape)) for shape in self.shapes.values()], dim=1)
        named = {name: piece.reshape(-1, *shape) for (name, shape), piece in zip(self.shapes.items(), pieces)}
        return torch.stack(indices), named


def pulled_back(loss: Loss) -> Callable:
    """loss(w ⊘ s, inputs, targets): the per-sample losses of a point with per-tensor scales s
    ({} for none)."""

    def scaled_loss(params, scales, inputs, targets):
        if scales:
            params = {name: w / scales[name] if name in scales else w for name, w in params.items()}
        return loss(params, inputs, targets)

    return scaled_loss


def per_sample_losses(loss: Loss, points: "Points") -> torch.Tensor:
    """The loss of every point's w₀ on each of its samples (P, n), on slices of EVAL_BATCH samples."""
    per_point = vmap(pulled_back(loss))
    n = points.inputs.shape[1]
    with torch.no_grad():
        return torch.cat([per_point(points.w0, points.scales, points.inputs[:, start:start + EVAL_BATCH],
                                    points.targets[:, start:start + EVAL_BATCH])
                          for start in range(0, n, EVAL_BATCH)], dim=1)


def run_chains(loss: Loss, sampler: Sampler, points: Points, settings: ChainSettings,
               chunk: int | None = None, progress: bool = False, compiled: bool = False,
               diagnostics: bool = False) -> ChainRun:
    """Run C chains from every point, `chunk` points at a time (all at once if None).

    `diagnostics`: also record every step's MALA acceptance and every point's ‖∇L_n(w₀)‖ (one more
    copy of the parameters and one full-data gradient per point).

    `compiled`: run the vmapped gradient and update through `torch.compile`, which fuses the
    elementwise passes over every chain's parameters. It compiles once per process for the loss's gradient and once per
    sampler's update (again for a new chunk size): tens of seconds each the first time, a few
    from the on-disk cache after. The chains are the same up to float rounding.
    """
    chunk = chunk or len(points)
    runs = [_run_chunk(loss, sampler, points.select(start, start + chunk), settings, progress, compiled, diagnostics)
            for start in range(0, len(points), chunk)]
    return ChainRun(**{part.name: None if getattr(runs[0], part.name) is None
                       else torch.cat([getattr(r, part.name) for r in runs]) for part in fields(ChainRun)})


@functools.cache
def chain_gradient(loss: Loss, compiled: bool) -> Callable:
    """(params (P, C, ...), scales (P,), inputs (P, C, B, ...), targets (P, C, B)) → the gradient
    and value of every chain's mean minibatch loss: vmap over points of vmap over chains.

    Cached, with `chain_update`, so that every chunk, sampler and study of a process that shares
    a loss shares one compiled function (a minibatch, not the whole data set, enters it, so one
    compilation serves data sets of any size)."""
    point_loss = pulled_back(loss)

    def chain_loss(params, scales, inputs, targets):
        return point_loss(params, scales, inputs, targets).mean()

    gradient = vmap(vmap(grad_and_value(chain_loss), in_dims=(0, None, 0, 0)))
    return torch.compile(gradient) if compiled else gradient


@functools.cache
def chain_update(sampler: Sampler, compiled: bool) -> Callable:
    """The sampler's step for every (point, chain): (params, grads, w0 (P,), noise (C,), state,
    epsilon (P,), nbeta (P,), localisation (P,)) → (params, state)."""
    update = vmap(vmap(sampler.step, in_dims=(0, 0, None, 0, 0, None, None, None)),
                  in_dims=(0, 0, 0, None, 0, 0, 0, 0))
    return torch.compile(update) if compiled else update


@functools.cache
def chain_distance(compiled: bool) -> Callable:
    """(params (P, C, ...), w0 (P, ...)) → ‖w − w₀‖ of every (point, chain); compiled, it reads
    each parameter once instead of once per elementwise pass."""
    def distance(params, w0):
        return squared_distance(params, w0).sqrt()

    batched = vmap(vmap(distance, in_dims=(0, None)))
    return torch.compile(batched) if compiled else batched


@functools.cache
def chain_proposal(sampler: Sampler) -> Callable:
    """The sampler's proposal for every (point, chain): (params, grads, w0, state, epsilon, nbeta,
    localisation) → (means, stds, state); the diagnostics' slower path."""
    return vmap(vmap(sampler.proposal, in_dims=(0, 0, None, 0, None, None, None)), in_dims=(0, 0, 0, 0, 0, 0, 0))


def localisation_energy(params: Tensors, w0: Tensors, localisation: Tensors, gamma: float) -> torch.Tensor:
    """Σ_k γ_k/2 ‖w_k − w₀_k‖² of one model, γ_k = γ × its localisation factor (1 if none)."""
    return sum(0.5 * gamma * (localisation[name] if name in localisation else 1.0) * ((w - w0[name]) ** 2).sum()
               for name, w in params.items())


def squared_distance(params: Tensors, w0: Tensors) -> torch.Tensor:
    """‖w − w₀‖² over every tensor of one model."""
    return sum(((w - w0[name]) ** 2).sum() for name, w in params.items())


def mala_log_acceptance(potential_before, potential_after, log_forward, log_reverse) -> torch.Tensor:
    """log of the Metropolis–Hastings ratio of one Langevin step w → w′ (MALA; Roberts & Tweedie 1996):

        log a = U(w) − U(w′) + log q(w | w′) − log q(w′ | w),

    U = nβ L_n + Σ γ_k/2 ‖w_k − w₀_k‖², q the sampler's Gaussian proposal. As devinterp's
    MalaAcceptanceRate, the proposal from w′ uses the gradient of the next step's minibatch; U's
    loss difference is estimated by the excess losses L_B(w) − L_B(w₀) (lower variance, same mean).
    The acceptance probability is min(1, a): near 1 when the discretisation is accurate."""
    return potential_before - potential_after + log_reverse - log_forward


def gradient_norms(loss: Loss, points: Points, slice_size: int = EVAL_BATCH // 4) -> torch.Tensor:
    """‖∇L_n(w₀)‖ of every point (P,), the full-data gradient in the point's own coordinates."""
    def total_loss(params, scales, inputs, targets):
        return pulled_back(loss)(params, scales, inputs, targets).sum()

    per_point = vmap(torch.func.grad(total_loss))
    n = points.inputs.shape[1]
    total = None
    for start in range(0, n, slice_size):
        grads = per_point(points.w0, points.scales, points.inputs[:, start:start + slice_size],
                          points.targets[:, start:start + slice_size])
        total = grads if total is None else {name: total[name] + g for name, g in grads.items()}
    return torch.sqrt(sum((g.flatten(1) ** 2).sum(dim=1) for g in total.values())) / n


def _run_chunk(loss: Loss, sampler: Sampler, points: Points, settings: ChainSettings, progress: bool,
               compiled: bool, diagnostics: bool) -> ChainRun:
    w0 = points.w0
    some = next(iter(w0.values()))
    streams = ChainStreams(settings, points.inputs.shape[1], {n: w.shape[1:] for n, w in w0.items()},
                           some.dtype, some.device)
    # The diagnosed path is eager: its few points would make a compiled gradient recompile.
    gradient = chain_gradient(loss, compiled and not diagnostics)
    update = chain_update(sampler, compiled)
    c = settings.chains
    params = {name: w[:, None].expand(-1, c, *w.shape[1:]).clone() for name, w in w0.items()}
    state = vmap(vmap(sampler.init_state))(params)
    start_losses = per_sample_losses(loss, points)
    losses = torch.empty(len(points), c, settings.steps, dtype=some.dtype, device=some.device)
    baselines, distances = torch.empty_like(losses), torch.empty_like(losses)
    distance = chain_distance(compiled and not diagnostics)
    if diagnostics:
        acceptance = torch.full_like(losses[..., 1:], torch.nan)
        proposal = chain_proposal(sampler)
        energy = vmap(vmap(functools.partial(localisation_energy, gamma=sampler.settings.gamma),
                           in_dims=(0, None, None)))
        log_density_of = vmap(vmap(log_density))
        previous = None
    with torch.no_grad():
        for step in tqdm(range(settings.steps), desc=f"{sampler.name} chains", unit="step",
                         mininterval=5.0, disable=not progress):
            indices, noise = streams.draw()
            grads, losses[:, :, step] = gradient(params, points.scales, points.inputs[:, indices],
                                                 points.targets[:, indices])
            baselines[:, :, step] = start_losses[:, indices].mean(dim=-1)
            distances[:, :, step] = distance(params, w0)
            if not diagnostics:
                params, state = update(params, grads, w0, noise, state, points.epsilon, points.nbeta,
                                       points.localisation)
                continue
            means, stds, state = proposal(params, grads, w0, state, points.epsilon, points.nbeta, points.localisation)
            potential = (points.nbeta[:, None] * (losses[:, :, step] - baselines[:, :, step])
                         + energy(params, w0, points.localisation))
            if previous is not None:
                acceptance[:, :, step - 1] = mala_log_acceptance(
                    previous["potential"], potential, previous["log_forward"],
                    log_density_of(previous["params"], means, stds)).exp().clamp(max=1.0)
            new_params = {name: torch.addcmul(mean, stds[name], noise[name][None]) for name, mean in means.items()}
            previous = {"params": params, "potential": potential,
                        "log_forward": log_density_of(new_params, means, stds)}
            params = new_params
    if not diagnostics:
        return ChainRun(losses, baselines, start_losses.mean(dim=1), distances)
    return ChainRun(losses, baselines, start_losses.mean(dim=1), distances, acceptance,
                    gradient_norms(loss, points))

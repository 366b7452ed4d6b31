#!/usr/bin/env python
"""Speed of the batched chain engine against a plain loop over grid points, in the same run.

Builds the rescaling study's α × β grid (GRID × GRID points) on one checkpoint (--checkpoint) or
on a freshly initialised model of the full config's size (p = 113, d_model 128, 2 layers; the
training set of x+y at fraction 0.3), then times

- batched: every point × chain of the grid in one engine run (`--chunk` points at a time);
- loop: the same sampler, chains and steps, one grid point at a time (each point's chains still
  vmapped, as in a plain per-point estimate), for --loop-points points, extrapolated to the grid;

and prints seconds, the ratio, and the largest difference between the loop's and the batched
run's chains on the looped points (identical on a CPU without --compile; on a GPU, float32
kernels of different batch sizes round differently and the chains, chaotic over hundreds of
steps, drift apart). --compile compiles the batched engine in an untimed warm-up run of one chunk.
"""

import argparse
import itertools
import time

import torch

from grokflow.checkpoints import CheckpointInfo
from grokflow.data import train_test_split
from grokflow.model import GrokTransformer, ModelConfig
from grokflow.settings import SLT_GAMMA, SltSettings
from grokflow.slt.engine import ChainSettings, run_chains
from grokflow.slt.rescaling import log_grid, rescaled_points
from grokflow.slt.samplers import METHODS, SamplerSettings, make_sampler
from grokflow.slt.transformer import cross_entropy_loss, load_run

FULL_MODEL = ModelConfig(p=113, n_layers=2, d_model=128, n_heads=4, d_mlp=512)


def fresh_run(device):
    """A freshly initialised full-size model and the x+y training set of the full config."""
    info = CheckpointInfo("x+y", 0, 0, 0.3, FULL_MODEL)
    split = train_test_split(info.op, FULL_MODEL.p, info.seed, info.train_fraction)
    tensors = {name: t.to(device) for name, t in GrokTransformer(FULL_MODEL).state_dict().items()}
    return tensors, info, (split.train_inputs.to(device), split.train_labels.to(device))


def synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(function, device):
    synchronize(device)
    start = time.perf_counter()
    result = function()
    synchronize(device)
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="checkpoint to rescale (default: a fresh full-size model)")
    parser.add_argument("--grid", type=int, default=30, help="α and β values (default 30: 900 points)")
    parser.add_argument("--loop-points", type=int, default=8, help="grid points timed one at a time")
    parser.add_argument("--method", choices=METHODS, default="sgld")
    parser.add_argument("--epsilon", type=float, default=1e-7)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=1024, help="points per batch (0: all; default 1024)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--tf32", action="store_true", help="let CUDA matrix products use TF32")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the batched engine's step (compiled in an untimed warm-up run)")
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    device = torch.device(args.device)
    tensors, info, data = load_run(args.checkpoint, device=device) if args.checkpoint else fresh_run(device)
    grid = list(itertools.product(log_grid(0.1, 10.0, args.grid), repeat=2))
    points = rescaled_points(tensors, data, [a for a, _ in grid], [b for _, b in grid], args.epsilon,
                             nbeta=SltSettings.nbeta)
    loss = cross_entropy_loss(info.model, device)
    sampler = make_sampler(args.method, SamplerSettings(gamma=SLT_GAMMA[args.method]))
    settings = ChainSettings(args.chains, args.steps, args.batch_size)
    chunk = min(args.chunk or len(points), len(points))
    warm_up = ChainSettings(args.chains, 2, args.batch_size)
    run_chains(loss, sampler, points.select(0, 1), warm_up)
    _, compile_s = timed(lambda: run_chains(loss, sampler, points.select(0, chunk), warm_up, compiled=args.compile),
                         device)
    batched, batched_s = timed(lambda: run_chains(loss, sampler, points, settings, chunk, compiled=args.compile),
                               device)
    looped = range(0, len(points), max(1, len(points) // args.loop_points))[: args.loop_points]
    alone, loop_s = timed(lambda: [run_chains(loss, sampler, points.select(k, k + 1), settings) for k in looped],
                          device)
    loop_total = loop_s / len(looped) * len(points)
    difference = max((a.excess[0] - batched.excess[k]).abs().nan_to_num(0).max().item() for a, k in zip(alone, looped))
    print(f"device {device}, {info.model}, {len(points)} points × {args.chains} chains × {args.steps} steps, "
          f"batch {args.batch_size}, {args.method}, chunk {chunk}, tf32 {args.tf32}, compiled {args.compile}")
    print(f"batched: {batched_s:.1f} s for the grid ({batched_s / len(points) * 1e3:.1f} ms per point); "
          f"warm-up (compilation) of one chunk: {compile_s:.1f} s")
    print(f"loop: {loop_s:.1f} s for {len(looped)} points ({loop_s / len(looped) * 1e3:.1f} ms per point), "
          f"{loop_total:.1f} s for the grid")
    print(f"speed-up: {loop_total / batched_s:.1f}×; largest |Δ excess loss| loop vs batched: {difference:.2e}")


if __name__ == "__main__":
    main()

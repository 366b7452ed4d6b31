#!/usr/bin/env python
"""Training speed: the plain single-model eager loop against the batched engine, in one run.

Both train the full config's model (p = 113, 2 layers, d_model 128, 4 heads, d_mlp 512) full
batch on train fraction 0.3 with AdamW (lr 1e-3, betas 0.9/0.98, weight decay 1):

- plain: one `GrokTransformer` module, `torch.optim.AdamW` with its defaults, the usual
  zero_grad / forward / backward / step loop;
- engine: `StackTrainer` with M models (the four ops in turn, one seed each): vmapped over the
  stack and, on a GPU, one CUDA-graph replay per step with fused AdamW; with --compile the
  forward and backward pass are compiled first (the workflow's default for the GPU engine).

Prints milliseconds per model-step for each M, the engine's speed-up over the plain loop, and
the wall time of the full config's 1,000,000 steps for a stack of M at the measured rate (M = 4:
the four ops of one seed; M = 12: the full config's 4 ops × 3 seeds). --tf32 applies to both.
`--profile` prints the engine's top CUDA kernels at the largest M.
"""

import argparse
import time

import torch
import torch.nn.functional as F

from grokflow.data import OPS, train_test_split
from grokflow.model import GrokTransformer, ModelConfig
from grokflow.training import OptimConfig, Run, StackTrainer

FULL_MODEL = ModelConfig(p=113, n_layers=2, d_model=128, n_heads=4, d_mlp=512)
FRACTION = 0.3
OPTIM = OptimConfig(lr=1e-3, betas=(0.9, 0.98), weight_decay=1.0)
FULL_RUN_STEPS = 1_000_000


def synchronize(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def seconds_per_step(step, steps: int, warmup: int, device) -> float:
    """Wall seconds per call of `step`, after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return (time.perf_counter() - start) / steps


def plain_loop_step(device):
    """The plain loop's step, as a closure over its model, optimizer and data."""
    model = GrokTransformer(FULL_MODEL, seed=0).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=OPTIM.lr, betas=OPTIM.betas,
                                  weight_decay=OPTIM.weight_decay)
    split = train_test_split("x+y", FULL_MODEL.p, 0, FRACTION)
    inputs, labels = split.train_inputs.to(device), split.train_labels.to(device)

    def step():
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(model(inputs), labels).backward()
        optimizer.step()

    return step


def engine(models: int, device, compiled: bool) -> StackTrainer:
    runs = [Run(OPS[index % len(OPS)], index // len(OPS), FRACTION, FULL_MODEL) for index in range(models)]
    return StackTrainer(runs, OPTIM, device, compiled=compiled)


def profile(trainer: StackTrainer, steps: int) -> None:
    from torch.profiler import ProfilerActivity, profile as torch_profile

    for _ in range(steps):  # past the warm-up and the capture
        trainer.train_step()
    with torch_profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            trainer.train_step()
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--models", type=int, nargs="+", default=[1, 4, 12, 16, 64], help="stack sizes M")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per measurement")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (CUDA-graph capture included)")
    parser.add_argument("--tf32", action="store_true", help="let CUDA matmuls use TensorFloat-32")
    parser.add_argument("--compile", action="store_true", help="torch.compile the engine's forward and backward pass")
    parser.add_argument("--profile", action="store_true", help="profile the engine at the largest M")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    plain = seconds_per_step(plain_loop_step(device), args.steps, args.warmup, device)
    print(f"device {device} ({torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}), "
          f"torch {torch.__version__}, tf32 {args.tf32}, compile {args.compile}, {args.steps} timed steps")
    print(f"plain eager loop, 1 model: {plain * 1e3:.3f} ms per model-step")
    print("models  ms/stack-step  ms/model-step  speed-up vs plain  min per 1,000,000 steps")
    for models in args.models:
        trainer = engine(models, device, args.compile)
        per_step = seconds_per_step(trainer.train_step, args.steps, args.warmup, device)
        per_model = per_step / models
        print(f"{models:6d}  {per_step * 1e3:13.3f}  {per_model * 1e3:13.4f}  {plain / per_model:17.1f}  "
              f"{per_step * FULL_RUN_STEPS / 60:23.1f}")
    if args.profile and device.type == "cuda":
        profile(engine(max(args.models), device, args.compile), 20)


if __name__ == "__main__":
    main()

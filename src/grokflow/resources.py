"""Upper estimates of a heavy job's wall time and memory from the sizes that drive it: the rules'
`runtime` (minutes) and `mem_mb`, which a cluster turns into the job's limits (the rules scale
both by the try, so a retry gets twice the first limit). Imported by the Snakefile: no torch.

Work is counted in floating-point operations: a forward and backward pass costs about
6 × parameters × tokens, i.e. FLOPS_PER_TOKEN_PARAMETER (18) × parameters per example of three
tokens (Kaplan et al. 2020, "Scaling laws for neural language models", §2.1). The rates below are
about half to two thirds of the rates in benchmarks/README.md (the GPU training engine with 12
full-size models, the SLT chains batched over a rescaling grid, one CPU thread on the quick
model), so that the estimates hold with margin.
"""

from dataclasses import dataclass
import math

FLOPS_PER_TOKEN_PARAMETER = 6
TOKENS = 3  # x, y and "="
TRAINING_GPU_FLOPS = 6e13  # full-batch training on a GPU
CHAIN_GPU_FLOPS = 2e13  # minibatch SGLD chains, batched over points, on a GPU
CPU_FLOPS_PER_THREAD = 2e10
GPU_STEP_OVERHEAD_S = 5e-4  # kernel launches of one step, whatever the stack size
START_S = 300  # start-up, data, compilation of the training step, writing the outputs
CHAIN_COMPILE_S = 90  # compiling one sampler's chain step
TRACE_S = 20  # one eagerly diagnosed trace
CHAIN_COPIES = 8
FLOAT_BYTES = 4
CUDA_HOST_MB = 16000  # a GPU job's host memory: CUDA context, compiler workers
CPU_BASE_MB = 1000  # torch and Python


@dataclass(frozen=True)
class Estimate:
    """A job's estimated wall time and peak host memory."""

    minutes: int
    mem_mb: int


@dataclass(frozen=True)
class Transformer:
    """The sizes of a grokking transformer that set its cost."""

    p: int
    d_model: int
    d_mlp: int
    n_layers: int

    @property
    def parameters(self) -> int:
        """Embeddings (p + 1 tokens, 3 positions), per layer W_Q, W_K, W_V, W_O (d²) and W_in,
        W_out (d · d_mlp), and the unembedding."""
        d = self.d_model
        return (self.p + 1 + TOKENS) * d + self.n_layers * (4 * d * d + 2 * d * self.d_mlp) + d * self.p

    @property
    def activation_floats(self) -> int:
        """Floats autograd keeps per example: per token and layer about 12 of width d (residual,
        norms, queries, keys, values, attention output) and 4 of width d_mlp."""
        return TOKENS * self.n_layers * (12 * self.d_model + 4 * self.d_mlp)


def pass_flops(params: int, examples: int) -> float:
    """FLOPs of one forward and backward pass over `examples` sequences."""
    return FLOPS_PER_TOKEN_PARAMETER * TOKENS * params * examples


def on_gpu(device: str) -> bool:
    """Whether a torch device string names a CUDA device ("cuda", "cuda:1"; not "auto")."""
    return device.startswith("cuda")


def compute_seconds(flops: float, device: str, threads: int, gpu_rate: float) -> float:
    """Seconds for `flops` on `device`: at `gpu_rate` on a GPU; on a CPU at CPU_FLOPS_PER_THREAD
    per thread, the threads counted as √threads (small products scale poorly over threads)."""
    if on_gpu(device):
        return flops / gpu_rate
    return flops / (CPU_FLOPS_PER_THREAD * math.sqrt(threads))


def estimate(seconds: float, mem_mb: float) -> Estimate:
    """Whole minutes and megabytes, rounded up."""
    return Estimate(math.ceil(seconds / 60), math.ceil(mem_mb))


def host_mb(device: str, data_mb: float) -> float:
    """Peak host memory of a job holding `data_mb` of tensors: on a GPU the CUDA context and the
    compiler's workers dominate; on a CPU twice the tensors (autograd copies and temporaries)."""
    return CUDA_HOST_MB + data_mb if on_gpu(device) else CPU_BASE_MB + 2 * data_mb


def training(model: Transformer, examples: int, models: int, steps: int, device: str, threads: int) -> Estimate:
    """A stack of `models` trained full batch on `examples` for `steps` steps: compute, plus
    GPU_STEP_OVERHEAD_S per step on a GPU, plus START_S. Host memory: weights, gradients, AdamW's
    two moments and the staged checkpoints (5 copies), and on a CPU the activations."""
    per_step = compute_seconds(models * pass_flops(model.parameters, examples), device, threads, TRAINING_GPU_FLOPS)
    overhead = GPU_STEP_OVERHEAD_S if on_gpu(device) else 0.0
    weights_mb = 5 * models * model.parameters * FLOAT_BYTES / 1e6
    activations_mb = 0 if on_gpu(device) else models * examples * model.activation_floats * FLOAT_BYTES / 1e6
    return estimate(START_S + steps * (per_step + overhead), host_mb(device, weights_mb + activations_mb))


def chains(model: Transformer, batch_size: int, chain_steps: int, parallel_chains: int, samplers_compiled: int,
           traces: int, checkpoints: int, device: str, threads: int) -> Estimate:
    """SLT chains: `chain_steps` minibatch steps (points × chains × (burn-in + draws), summed over
    the job), each sampler compiled once, `traces` eagerly diagnosed traces, plus START_S. Memory:
    the `checkpoints` the job holds, and on a CPU the `parallel_chains` run as one batch
    (CHAIN_COPIES copies of the weights per chain: position, start, gradient, noise, sampler state)."""
    flops = chain_steps * pass_flops(model.parameters, batch_size)
    fixed = START_S + samplers_compiled * CHAIN_COMPILE_S + traces * TRACE_S
    held_mb = checkpoints * model.parameters * FLOAT_BYTES / 1e6
    if not on_gpu(device):
        held_mb += parallel_chains * CHAIN_COPIES * model.parameters * FLOAT_BYTES / 1e6
    return estimate(fixed + compute_seconds(flops, device, threads, CHAIN_GPU_FLOPS), host_mb(device, held_mb))

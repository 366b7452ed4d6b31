"""The command-line flags of scripts/slt/*.py that come from the config's `slt` section (used by
workflow/rules/slt.smk), and the checkpoint subsets the SLT rules read."""

from .methods import METHODS


def every_kth(steps: list[int], k: int) -> list[int]:
    """Every k-th step of the schedule, and always the last one."""
    picked = steps[::k]
    return picked if picked[-1] == steps[-1] else [*picked, steps[-1]]


def chain_flags(slt: dict, optimizer: dict) -> str:
    """Sampler, reference-point and chain flags shared by every SLT script; the polished
    reference uses the training optimizer's betas."""
    chunk = f"--chunk {slt['chunk']} " if slt["chunk"] else ""
    return (
        f"--integrator {slt['integrator']} --reference {slt['reference']} --polish-steps {slt['polish_steps']} "
        f"--polish-lr {slt['polish_lr']} --polish-betas {optimizer['betas'][0]} {optimizer['betas'][1]} "
        f"--psgld-decay {slt['psgld_decay']} --psgld-lambda {slt['psgld_lambda']} "
        f"--rsgld-delta {slt['rsgld_delta']} --sisgld-eps {slt['sisgld_eps']} --chains {slt['chains']} "
        f"--burnin {slt['burnin']} --draws {slt['draws']} --batch-size {slt['batch_size']} --seed {slt['seed']} "
        f"{chunk}--device {slt['device']} --threads {slt['threads']}{' --tf32' if slt['tf32'] else ''}"
        f"{' --compile' if slt['compile'] else ''}"
    )


def method_values(slt: dict, key: str) -> str:
    """METHOD=VALUE of the per-sampler setting `key` (epsilon, gamma), e.g. 'sgld=1e-07 psgld=1e-10 ...'."""
    return " ".join(f"{method}={slt[key][method]}" for method in METHODS)


def range_flag(name: str, bounds: list[float]) -> str:
    """'--NAME LOW HIGH'."""
    return f"--{name} {bounds[0]} {bounds[1]}"

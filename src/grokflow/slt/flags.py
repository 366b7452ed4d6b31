"""The command-line flags of scripts/slt/*.py that come from the config's `slt` section (used by
workflow/rules/slt.smk), and the checkpoint subsets the SLT rules read."""

from .methods import METHODS


def every_kth(steps: list[int], k: int) -> list[int]:
    """Every k-th step of the schedule, and always the last one."""
    picked = steps[::k]
    return picked if picked[-1] == steps[-1] else [*picked, steps[-1]]


def chain_flags(slt: dict) -> str:
    """Sampler and chain flags shared by every SLT script."""
    chunk = f"--chunk {slt['chunk']} " if slt["chunk"] else ""
    return (
        f"--gamma {slt['gamma']} --psgld-decay {slt['psgld_decay']} --psgld-lambda {slt['psgld_lambda']} "
        f"--rsgld-delta {slt['rsgld_delta']} --sisgld-eps {slt['sisgld_eps']} --chains {slt['chains']} "
        f"--burnin {slt['burnin']} --draws {slt['draws']} --batch-size {slt['batch_size']} --seed {slt['seed']} "
        f"{chunk}--device {slt['device']} --threads {slt['threads']}{' --tf32' if slt['tf32'] else ''}"
        f"{' --compile' if slt['compile'] else ''}"
    )


def method_epsilons(slt: dict) -> str:
    """METHOD=EPS for every sampler, e.g. 'sgld=1e-07 psgld=1e-10 ...'."""
    return " ".join(f"{method}={slt['epsilon'][method]}" for method in METHODS)


def range_flag(name: str, bounds: list[float]) -> str:
    """'--NAME LOW HIGH'."""
    return f"--{name} {bounds[0]} {bounds[1]}"

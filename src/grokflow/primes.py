"""Primality, torch-free: the config checks use it while Snakemake parses the workflow."""


def is_prime(n: int) -> bool:
    """True when n is a prime number (trial division; p is small here)."""
    if n < 2:
        return False
    return all(n % d for d in range(2, int(n**0.5) + 1))

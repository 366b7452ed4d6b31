"""The samplers' names and the rescaling study's variants (no torch import, so that figure scripts
and the workflow's rules start fast)."""

import argparse

METHODS = ("sgld", "psgld", "rsgld", "sisgld")
# The localisation of the rescaling study (grokflow.slt.rescaling): γ at every grid point, or γ/s².
VARIANTS = ("fixed", "scaled")
DISPLAY_NAMES = {"sgld": "SGLD", "psgld": "pSGLD", "rsgld": "Riemannian SGLD", "sisgld": "SI-SGLD"}


def positive_float(text: str) -> float:
    """A float > 0."""
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def method_value(text: str) -> tuple[str, float]:
    """'method=value', e.g. 'sgld=1e-7': a sampler and its step size."""
    method, sep, value = text.partition("=")
    if not sep or method not in METHODS:
        raise argparse.ArgumentTypeError(f"expected METHOD=VALUE with METHOD in {', '.join(METHODS)}, got {text!r}")
    return method, positive_float(value)

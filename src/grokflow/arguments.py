"""argparse types shared by the command-line scripts: a bad value is refused in one line."""

import argparse

import torch

from grokflow.resources import on_gpu


def positive_int(text: str) -> int:
    """An integer ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be ≥ 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """An integer ≥ 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {value}")
    return value


def unit_fraction(text: str) -> float:
    """A float in (0, 1]."""
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def torch_device(text: str) -> str:
    """A torch device name; cuda only where torch sees a CUDA GPU."""
    if on_gpu(text) and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{text}, but torch {torch.__version__} sees no CUDA GPU")
    return text

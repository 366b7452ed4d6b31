"""argparse types shared by the command-line scripts (a bad value is refused in one line), and the
options of a settings class (grokflow.settings) as a parser's arguments."""

import argparse
from dataclasses import fields
from typing import get_args, get_origin

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


def add_settings(parser: argparse.ArgumentParser, defaults, types=None, helps=None) -> None:
    """One option per field of the settings dataclass `defaults`, the inverse of
    grokflow.settings.flags: field `n_layers` is --n-layers, its default the field's value, its
    type the field's (a bool is --name/--no-name; tuple[float, float] takes two values and
    tuple[int, ...] any number) unless `types` names a stricter one (e.g. positive_int); `helps`
    gives help texts by field name."""
    types, helps = types or {}, helps or {}
    for item in fields(defaults):
        default = getattr(defaults, item.name)
        option = {"default": default, "help": helps.get(item.name)}
        if item.type is bool:
            option["action"] = argparse.BooleanOptionalAction
        elif get_origin(item.type) is tuple:
            element, *rest = get_args(item.type)
            option |= {"type": types.get(item.name, element), "nargs": "*" if Ellipsis in rest else 1 + len(rest)}
        else:
            option["type"] = types.get(item.name, item.type)
        parser.add_argument(f"--{item.name.replace('_', '-')}", **option)

#!/usr/bin/env python
"""Mechanism analysis of the low-rank decay study: one L2 run and one low-rank run at the same train fraction and
strength (both in one stack), measured every --eval-every steps.

Writes --curves (method, step, val_acc, stable ranks of every W_Q and W_K), --spectrum (method,
index, singular_value, normalised = σᵢ/σ₁ of layer 0's (blocks.0) W_Q at the stop) and --attention
(method, example, position, weight: layer 0 head 0's attention from the last position, on the
first --examples validation pairs).
"""

import argparse

import pandas as pd
import torch
from tqdm import tqdm

from grokflow.arguments import positive_int, unit_fraction
from grokflow.data import train_test_split
from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.lowrank_decay.cli import add_study_arguments, study_settings
from grokflow.lowrank_decay.decay import as_matrix
from grokflow.lowrank_decay.study import METHODS, OP, Cell, head_pattern, train_cells
from grokflow.settings import MechanismSettings

DEFAULTS = MechanismSettings()


def spectrum_rows(result) -> list[dict]:
    singular = torch.linalg.svdvals(as_matrix(result.tensors["blocks.0.W_Q"], "W_Q"))
    return [{"method": result.cell.method, "index": index, "singular_value": float(value),
             "normalised": float(value / singular[0])} for index, value in enumerate(singular)]


def attention_rows(result, model, tokens) -> list[dict]:
    weights = head_pattern(model, result.tensors, tokens)
    return [{"method": result.cell.method, "example": example, "position": position, "weight": float(value)}
            for example, row in enumerate(weights) for position, value in enumerate(row)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_study_arguments(parser, DEFAULTS)
    parser.add_argument("--fraction", type=unit_fraction, default=DEFAULTS.fraction, help="train fraction")
    parser.add_argument("--strength", type=float, default=DEFAULTS.strength, help="decay strength (L2: × --l2-factor)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--examples", type=positive_int, default=32, help="validation pairs of the attention map")
    for name in ("curves", "spectrum", "attention"):
        parser.add_argument(f"--{name}", required=True, help=f"{name} CSV to write")
    args = parser.parse_args(argv)
    settings = study_settings(args)
    cells = [Cell(method, args.fraction, args.strength, args.seed) for method in METHODS]
    with tqdm(total=settings.steps, desc="L2 and low-rank", unit="step", mininterval=5) as progress:
        results = train_cells(cells, settings, args.device, progress)
    tokens = train_test_split(OP, args.p, args.seed, args.fraction).test_inputs[: args.examples]
    write_csv(pd.DataFrame([{"method": r.cell.method} | row for r in results for row in r.rows]), args.curves)
    write_csv(pd.DataFrame([row for r in results for row in spectrum_rows(r)]), args.spectrum)
    write_csv(pd.DataFrame([row for r in results for row in attention_rows(r, settings.model, tokens)]), args.attention)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Export one grokflow checkpoint as a Hugging Face GPT-2 model directory (hf-gpt2: config.json +
model.safetensors, for transformers.GPT2LMHeadModel.from_pretrained) or as a TransformerLens-named
state dict with its HookedTransformerConfig (transformer-lens). See grokflow.export.

The checkpoint is a file (results/x+y/seed0/checkpoints/step0003000.safetensors) or a results
folder with --op, --seed and --step (the last step when left out):

    python scripts/export.py results --op x+y --seed 0 --format hf-gpt2 --output exports/x+y_seed0

An existing --output is replaced only with --force (and only when it is an earlier export).
"""

import argparse
from pathlib import Path

from grokflow.checkpoints import load_model
from grokflow.data import OPS
from grokflow.errors import run_main
from grokflow.export import FORMATS, export_model
from grokflow.runs import Results


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", type=Path, help="a checkpoint file, or a results folder (with --op)")
    parser.add_argument("--op", choices=OPS, help="the run's op (a results folder only)")
    parser.add_argument("--seed", type=int, help="the run's seed (a results folder only; default 0)")
    parser.add_argument("--step", type=int, help="the checkpoint's step (a results folder only; default the last)")
    parser.add_argument("--format", required=True, choices=FORMATS, dest="export_format")
    parser.add_argument("--output", "-o", required=True, type=Path, help="the export folder to write")
    parser.add_argument("--force", action="store_true", help="replace --output if it is an earlier export")
    args = parser.parse_args(argv)
    run_options = args.op is not None or args.seed is not None or args.step is not None
    if args.source.is_dir() and args.op is None:
        parser.error("a results folder needs --op")
    if not args.source.is_dir() and run_options:
        parser.error("--op, --seed and --step select a run of a results folder, not of a checkpoint file")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    checkpoint = args.source
    if args.source.is_dir():
        checkpoint = Results(args.source).run(args.op, 0 if args.seed is None else args.seed).checkpoint_path(args.step)
    model, info = load_model(checkpoint)
    target = export_model(model, info, args.output, args.export_format, args.force)
    print(f"wrote {target} ({args.export_format}: {info.op} seed {info.seed} step {info.step})")


if __name__ == "__main__":
    run_main(main)

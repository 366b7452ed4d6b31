#!/usr/bin/env python
"""Fine-tune a grokked checkpoint to another op: LoRA (rank r on every block's W_Q, W_K, W_V, W_O,
W_in, W_out; everything else frozen) at each rank, and full fine-tuning, all from the same
checkpoint with full-batch AdamW on the new op's training split.

Output columns: method (lora | full), rank (empty for full), trainable_params, step, train_loss,
train_acc, test_loss, test_acc, chance_acc (1/p, the accuracy of a uniform guess).
"""

import argparse

import pandas as pd

from grokflow.arguments import positive_int, torch_device
from grokflow.data import OPS
from grokflow.errors import run_main
from grokflow.io import write_csv
from grokflow.lora.finetune import FinetuneSettings, finetune_all
from grokflow.settings import LoraFinetuneSettings

DEFAULTS = LoraFinetuneSettings()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="the grokked checkpoint to start from")
    parser.add_argument("--target-op", choices=OPS, default=DEFAULTS.target_op, help="the op to fine-tune to")
    parser.add_argument("--ranks", type=positive_int, nargs="+", default=DEFAULTS.ranks, help="LoRA ranks")
    parser.add_argument("--alpha", type=float, default=DEFAULTS.alpha, help="LoRA α (scale α/r)")
    parser.add_argument("--steps", type=positive_int, default=DEFAULTS.steps)
    parser.add_argument("--lr", type=float, default=DEFAULTS.lr)
    parser.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay,
                        help="AdamW weight decay of the trained tensors")
    parser.add_argument("--betas", type=float, nargs=2, default=DEFAULTS.betas, metavar=("BETA1", "BETA2"),
                        help="AdamW betas (default: the training's)")
    parser.add_argument("--eval-every", type=positive_int, default=DEFAULTS.eval_every,
                        help="steps between evaluations")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="seed of the adapters' initialisation")
    parser.add_argument("--device", type=torch_device, default=DEFAULTS.device, help="torch device, e.g. cpu or cuda")
    parser.add_argument("--output", "-o", required=True, help="CSV to write")
    args = parser.parse_args(argv)
    settings = FinetuneSettings(args.target_op, args.steps, args.lr, args.eval_every, args.weight_decay,
                                tuple(args.betas), args.seed)
    rows = finetune_all(args.checkpoint, args.ranks, args.alpha, settings, args.device)
    write_csv(pd.DataFrame(rows).astype({"rank": "Int64"}), args.output)


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Train one table-connectivity model: the low-rank positional transformer with block masks
(default) or the dense baseline (--dense), on fresh random graphs; write its learning curve, its
validation accuracy by hop distance between s and t (hop −1: not connected), a one-row summary
(parameters, positional parameters, attended pairs and their fraction of L² per layer, final
validation accuracy) and its weights (safetensors).

Training resumes from --state (written every --save-every-s seconds, at the end, and on SIGTERM)
when started again with the same flags, and gives bitwise the files of an uninterrupted run on the
CPU. Stopped by SIGTERM it exits with status 143, at --stop-after-steps with status 75; the state
file is deleted once the outputs are written."""

import argparse
from pathlib import Path
import sys

import pandas as pd
from safetensors.torch import save_file
import torch

from grokflow.arguments import add_settings, positive_int, torch_device, unit_fraction
from grokflow.table_connectivity.model import NetConfig, attended_pairs, positional_parameters
from grokflow.table_connectivity.task import TaskConfig
from grokflow.table_connectivity.training import TrainConfig, TrainingStopped, train
from grokflow.errors import GrokflowError, run_main
from grokflow.io import atomic_path, write_csv
from grokflow.settings import TableConnectivitySettings

DEFAULTS = TableConnectivitySettings()


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__)
    add_settings(parser, DEFAULTS, types={
        "V": positive_int, "C": positive_int, "rho": unit_fraction, "n_dims": positive_int, "d_model": positive_int,
        "n_heads": positive_int, "steps": positive_int, "batch_size": positive_int, "eval_every": positive_int,
        "validation_size": positive_int, "device": torch_device}, helps={
        "V": "vertices (blocks)", "C": "neighbour slots per vertex", "rho": "probability of keeping a matching edge",
        "n_dims": "token channels: code + type", "local_layers": "leading layers with the block-diagonal mask",
        "device": f"torch device, e.g. cuda (default {DEFAULTS.device})"})
    parser.add_argument("--depth", type=positive_int, default=4, help="layers")
    parser.add_argument("--dense", action="store_true", help="the baseline: dense positions, no masks")
    parser.add_argument("--threads", type=positive_int, default=1, help="torch CPU threads")
    parser.add_argument("--state", required=True, help="resume-state file (deleted once the outputs are written)")
    parser.add_argument("--save-every-s", type=float, default=60.0, help="seconds between resume-state saves")
    parser.add_argument("--stop-after-steps", type=positive_int,
                        help="train at most this many steps in this run, then save the state and exit with status 75")
    for name in ("curve", "by-hop", "summary", "weights"):
        parser.add_argument(f"--{name}", required=True, help=f"{name} file to write")
    args = parser.parse_args(argv)
    if args.n_dims < 2:
        parser.error("--n-dims must be at least 2 (a code channel and the type channel)")
    if args.d_model % args.n_heads:
        raise GrokflowError(f"d_model {args.d_model} is not divisible by n_heads {args.n_heads}")
    return args


def main(argv=None) -> None:
    args = parse(argv)
    torch.set_num_threads(args.threads)
    task = TaskConfig(args.V, args.C, args.rho, args.n_dims)
    net = NetConfig(args.d_model, args.n_heads, args.depth, args.local_layers, lowrank=not args.dense)
    config = TrainConfig(args.steps, args.batch_size, args.lr, args.weight_decay, args.eval_every,
                         args.validation_size, args.seed)
    name = "dense" if args.dense else "lowrank"
    try:
        model, curve, by_hop = train(task, net, config, f"{name}, depth {args.depth}", args.state, args.device,
                                     args.save_every_s, args.stop_after_steps)
    except TrainingStopped as stopped:
        print(stopped, file=sys.stderr)
        sys.exit(stopped.exit_code)
    keys = {"model": name, "depth": args.depth}
    write_csv(curve.assign(**keys)[[*keys, *curve.columns]], args.curve)
    write_csv(by_hop.assign(**keys)[[*keys, *by_hop.columns]], args.by_hop)
    pairs = attended_pairs(task, net)
    write_csv(pd.DataFrame([keys | {
        "parameters": sum(p.numel() for p in model.parameters()),
        "positional_parameters": positional_parameters(task, net),
        "attended_pairs": pairs, "attended_fraction": pairs / (net.n_layers * task.length**2),
        "val_acc": curve["val_acc"].iloc[-1]}]), args.summary)
    with atomic_path(args.weights) as tmp:
        save_file({k: v.cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    Path(args.state).unlink()


if __name__ == "__main__":
    run_main(main)

#!/usr/bin/env python
"""Time every metric script on one op's worth of full-config checkpoints.

Writes N checkpoints of the full config's model (p = 113, 2 layers, d_model 128; random
initialisations, one per step) to a temporary folder, runs each scripts/metrics/*.py on all of
them as a user would (one process, start-up included), batched (--chunk 64, the default) and one
checkpoint at a time (--chunk 1, the baseline), and prints seconds and the ratio per metric, and
the total of the batched runs (the issue's target: under a minute on CPU for about 250
checkpoints). As in the workflow, qk_circuit gets only the 7 extra-step checkpoints of the full
config and key_frequencies only a final checkpoint (it has no --chunk: it reads one checkpoint
per seed). agop_circulant averages over the full config's `metrics.agop_samples` samples per split;
agop_circulant and circuit_competition read a metric.csv and a key_frequencies.csv,
written here with placeholder values.
"""

import argparse
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import pandas as pd
import yaml

from grokflow.checkpoints import CheckpointInfo, checkpoint_name, save_checkpoint
from grokflow.config import validate_config
from grokflow.model import GrokTransformer, ModelConfig

REPO = Path(__file__).resolve().parents[1]
FULL_MODEL = ModelConfig(p=113, n_layers=2, d_model=128, n_heads=4, d_mlp=512)
CHECKPOINTS_USED = {"qk_circuit": 7, "key_frequencies": 1}


def full_config_metrics() -> dict:
    """The full config's `metrics` section, defaults filled in."""
    config = yaml.safe_load((REPO / "workflow/configs/full.yaml").read_text())
    return validate_config(config, REPO / "workflow/schemas/config.schema.yaml")["metrics"]


def write_checkpoints(folder: Path, count: int) -> list[str]:
    paths = []
    for step in range(count):
        path = folder / checkpoint_name(step)
        info = CheckpointInfo("x+y", 0, step, 0.3, FULL_MODEL)
        save_checkpoint(path, GrokTransformer(FULL_MODEL, seed=step).state_dict(), info)
        paths.append(str(path))
    return paths


def side_inputs(folder: Path, count: int) -> dict[str, list[str]]:
    """The extra arguments of the scripts that read other tables, with placeholder tables."""
    metrics = pd.DataFrame({"seed": 0, "step": range(count), "train_loss": 1.0, "train_acc": 0.5,
                            "test_loss": 1.0, "test_acc": 0.5})
    metrics.to_csv(folder / "metric.csv", index=False)
    keys = pd.DataFrame({"rank": [1, 2, 3], "frequency": [4, 17, 40], "power_fraction": 0.3,
                         "cumulative_fraction": [0.3, 0.6, 0.9]})
    keys.to_csv(folder / "key_frequencies.csv", index=False)
    samples = str(full_config_metrics()["agop_samples"])
    return {"agop_circulant": ["--metrics", str(folder / "metric.csv"), "--samples", samples],
            "circuit_competition": ["--key-frequencies", str(folder / "key_frequencies.csv")]}


def run_seconds(script: Path, checkpoints: list[str], output: Path, chunk: int | None, extra: list[str]) -> float:
    """Wall time of one run of a metric script (chunk None: the script's own batching)."""
    command = [sys.executable, str(script), *checkpoints, "--output", str(output), *extra]
    if chunk is not None:
        command += ["--chunk", str(chunk)]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        sys.exit(f"{script.name} failed: {result.stderr.strip().splitlines()[-1]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoints", type=int, default=250, help="checkpoints of one op (default 250)")
    parser.add_argument("--metrics", nargs="*", help="only these metric scripts (default: all)")
    args = parser.parse_args()
    scripts = sorted((REPO / "scripts/metrics").glob("*.py"))
    if args.metrics:
        scripts = [script for script in scripts if script.stem in args.metrics]
    with tempfile.TemporaryDirectory() as tmp:
        checkpoints = write_checkpoints(Path(tmp), args.checkpoints)
        extras = side_inputs(Path(tmp), args.checkpoints)
        print(f"{args.checkpoints} checkpoints of {FULL_MODEL}")
        print(f"{'metric':<22} {'batched s':>10} {'one at a time s':>16} {'ratio':>6}")
        total = 0.0
        for script in scripts:
            used = checkpoints[: CHECKPOINTS_USED.get(script.stem, len(checkpoints))]
            chunked = script.stem != "key_frequencies"
            extra = extras.get(script.stem, [])
            batched = run_seconds(script, used, Path(tmp) / "out.csv", 64 if chunked else None, extra)
            baseline = run_seconds(script, used, Path(tmp) / "out.csv", 1 if chunked else None, extra)
            total += batched
            print(f"{script.stem:<22} {batched:>10.1f} {baseline:>16.1f} {baseline / batched:>6.2f}")
        print(f"all metrics, batched: {total:.1f} s")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Run by Snakemake in the freshly created environment of envs/grokflow.yaml, from the working
# directory (this repository): installs the grokflow library the scripts import, without
# touching the dependencies the environment pinned.
set -euo pipefail
python -m pip install --no-deps -e .

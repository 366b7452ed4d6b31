#!/usr/bin/env python
"""Explore one trained run of a results folder: its metric table, an attention pattern, the
Fourier spectrum of its embedding W_E, and an export to Hugging Face's GPT-2.

As a script, after the quick run (`snakemake -c2 all`):

    python examples/explore_a_run.py --results results --op x+y --seed 0

In a notebook or an editor with `# %%` cells, run it cell by cell (the settings cell then uses
the defaults below; edit them there). The figures and the export go to --output.
"""

# %% Settings
import argparse
from pathlib import Path
import sys

import numpy as np
import torch

from grokflow.data import OPS
from grokflow.errors import GrokflowError
from grokflow.export import HF_GPT2, export_model
from grokflow.hooks import run_with_cache
from grokflow.metrics.fourier import number_embeddings, power_per_frequency
from grokflow.metrics.groups import number_group
from grokflow.plotting import frequency_label, new_figure, save_figure
from grokflow.runs import Results

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--results", type=Path, default=Path("results"), help="a results folder (default results)")
parser.add_argument("--op", choices=OPS, default="x+y")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--step", type=int, help="a checkpoint step (default the last)")
parser.add_argument("--output", type=Path, default=Path("results/explore_a_run"),
                    help="folder for the figures and the export (default results/explore_a_run)")
# In a notebook the kernel's own arguments are not this script's: use the defaults there.
args = parser.parse_args([] if "ipykernel" in sys.modules else sys.argv[1:])

# %% The run: its checkpoints, the model of one step, its data split and metric table
try:
    run = Results(args.results).run(args.op, args.seed)
    loaded = run.load(args.step)
except GrokflowError as error:  # a wrong folder, op, seed or step: one line, not a traceback
    sys.exit(f"error: {error}")
model, info, split = loaded.model, loaded.info, loaded.split
print(f"{info.op} seed {info.seed}: {len(run.steps)} checkpoints, steps {run.steps[0]}–{run.steps[-1]}; "
      f"loaded step {info.step} (p = {info.model.p}, {len(split.train_labels)} training pairs)")
print(loaded.metrics.tail(3).to_string(index=False))

# %% Activations on every input, named as TransformerLens names them
inputs = torch.cat([split.train_inputs, split.test_inputs])
logits, cache = run_with_cache(model, inputs)
labels = torch.cat([split.train_labels, split.test_labels])
print(f"accuracy on every input: {(logits[:, -1].argmax(-1) == labels).double().mean():.3f}")

# %% One attention pattern: how much '=' attends to x, for every (x, y), in the head where it varies most
patterns = torch.stack([cache[f"blocks.{layer}.attn.hook_pattern"] for layer in range(info.model.n_layers)])
equals_to_x = patterns[:, :, :, -1, 0]  # (layer, input, head): query '=' (last position), key x (first)
layer, head = divmod(int(equals_to_x.std(dim=1).argmax()), info.model.n_heads)
p = info.model.p
attention_to_x = np.full((p, p), np.nan)  # rows x, columns y; y = 0 stays blank for x÷y
attention_to_x[inputs[:, 0].numpy(), inputs[:, 1].numpy()] = equals_to_x[layer, :, head].numpy()
fig, ax = new_figure()
image = ax.imshow(attention_to_x, origin="lower", cmap="plasma")
ax.set_xlabel("$y$")
ax.set_ylabel("$x$")
fig.colorbar(image, ax=ax, label=f"attention of '=' to $x$ (layer {layer}, head {head})")
save_figure(fig, args.output / f"attention_{info.op}_seed{info.seed}.png")

# %% The Fourier spectrum of W_E over the op's group (power per frequency, as a share of the total)
group = number_group(info.op, p)
power = power_per_frequency(number_embeddings(model.state_dict(), group))[1:]  # k = 0 (the mean) left out
fig, ax = new_figure()
ax.bar(np.arange(1, len(power) + 1), (power / power.sum()).numpy())
ax.set_xlabel(frequency_label(group.name))
ax.set_ylabel("share of $W_E$'s power")
save_figure(fig, args.output / f"fourier_W_E_{info.op}_seed{info.seed}.png")

# %% Export to Hugging Face GPT-2 (load it with transformers.GPT2LMHeadModel.from_pretrained)
target = export_model(model, info, args.output / f"hf-gpt2_{info.op}_seed{info.seed}", HF_GPT2, force=True)
print(f"figures and export in {args.output}; GPT-2 export: {target}")

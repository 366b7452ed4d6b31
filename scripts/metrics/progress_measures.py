#!/usr/bin/env python
"""Progress measures of grokking (Nanda et al. 2023): restricted loss (logits projected onto the
constant and the key-frequency directions cos, sin(2πk·c/n) of the answer index c, over every
input of the op's group) and excluded loss (those key directions removed, over the training
inputs), with the train and test loss of the same inputs and chance log p; cross-entropy over the
p number outputs ('=' dropped). Each checkpoint uses its own seed's key frequencies.

Inputs: checkpoints of one op (any seeds, any steps) and results/{op}/key_frequencies.csv, computed
in the same --fourier-group. Output columns: seed, step, group, restricted_loss, excluded_loss,
train_loss, test_loss, chance_loss, key_frequencies (space-separated).
"""

from grokflow.metrics.model_access import parameter_names
from grokflow.metrics.progress_measures import progress_rows
from grokflow.metric_runner import metric_main


def add_arguments(parser) -> None:
    parser.add_argument("--key-frequencies", required=True,
                        help="results/{op}/key_frequencies.csv (one set per seed, same group)")


if __name__ == "__main__":
    metric_main(__doc__, progress_rows, parameter_names, add_arguments, group_aware=True)

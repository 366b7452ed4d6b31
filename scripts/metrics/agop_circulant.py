#!/usr/bin/env python
"""Input-gradient AGOP of the correct logit over the x and y embeddings (train and test samples),
and circulant scores of W_E's Gram matrix and of the AGOP pulled back to the numbers, joined with
the losses and accuracies of metric.csv on (seed, step).

Circulant means invariant under the generator of the op's group: x ↦ x+1 in Z_p for x+y and x−y,
x ↦ g·x on the nonzero numbers in discrete-log order (token 0 left out) for x×y and x÷y.

Output columns: seed, step, group (additive | multiplicative), split (train | test), block (full |
x | y), agop_erank, agop_top_share,
gram_circulant_score, gram_circulant_deviation, agop_circulant_score, agop_circulant_deviation
(of the split's x block, repeated on its rows), train_loss, train_acc, test_loss, test_acc.
"""

import pandas as pd

from grokflow.arguments import positive_int
from grokflow.errors import GrokflowError, run_main
from grokflow.io import write_csv
from grokflow.metric_runner import CHUNK, checkpoint_table, checkpoints_parser
from grokflow.metrics.agop import agop_rows
from grokflow.metrics.groups import add_group_argument
from grokflow.metrics.model_access import parameter_names
from grokflow.settings import AgopSettings

KEYS = ["seed", "step"]
METRIC_COLUMNS = ["train_loss", "train_acc", "test_loss", "test_acc"]


def join_metrics(table: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    """The table with the losses and accuracies of its (seed, step); every checkpoint must have them."""
    joined = table.merge(metrics[KEYS + METRIC_COLUMNS], on=KEYS, how="left", validate="many_to_one",
                         indicator=True)
    missing = joined.loc[joined["_merge"] == "left_only", KEYS].drop_duplicates()
    if len(missing):
        first = missing.iloc[0]
        raise GrokflowError(f"metric.csv has no row for seed {first['seed']}, step {first['step']} "
                            f"({len(missing)} checkpoints missing)")
    return joined.drop(columns="_merge")


def main(argv=None) -> None:
    parser = checkpoints_parser(__doc__, "checkpoint files (any seeds, any steps)")
    parser.add_argument("--metrics", required=True, help="results/{op}/metric.csv to join on (seed, step)")
    parser.add_argument("--samples", type=positive_int, default=AgopSettings.samples,
                        help="per split, average over at most this many samples: a fixed random subset "
                             f"(seed 0) of larger splits (default {AgopSettings.samples})")
    parser.add_argument("--chunk", type=positive_int, default=CHUNK, help=f"checkpoints loaded at once (default {CHUNK})")
    add_group_argument(parser)
    args = parser.parse_args(argv)
    metrics = pd.read_csv(args.metrics)
    if missing := set(KEYS + METRIC_COLUMNS) - set(metrics.columns):
        raise GrokflowError(f"{args.metrics} lacks the columns {', '.join(sorted(missing))}")
    table = checkpoint_table(args.checkpoints, agop_rows, parameter_names, args, args.chunk, group_aware=True)
    write_csv(join_metrics(table, metrics), args.output)


if __name__ == "__main__":
    run_main(main)

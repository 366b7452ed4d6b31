#!/usr/bin/env python
"""Circuit competition: the share of ‖W_E‖² and ‖W_U‖² (number rows of the op's group: x×y, x÷y in
discrete-log order with token 0 left out, x+y, x−y in Z_p) in the Fourier subspace of each seed's
own key frequencies, in the span of the top per-sample gradient directions, and in neither; beside
them the shares a random direction would have (fourier_baseline = r/n, memo_baseline = R/(n·d)).

Output columns: seed, step, group (additive | multiplicative), matrix (W_E | W_U), fourier_share,
memo_share, neither_share, fourier_baseline, memo_baseline.
"""

from grokflow.arguments import positive_int
from grokflow.metrics.circuit_competition import MEMO_RANK, MEMO_SAMPLES, competition_rows
from grokflow.metrics.model_access import parameter_names
from grokflow.metric_runner import metric_main


def add_arguments(parser) -> None:
    parser.add_argument("--key-frequencies", required=True,
                        help="results/{op}/key_frequencies.csv (one set per seed, in the same group)")
    parser.add_argument("--frequencies", choices=("key", "all"), default="key",
                        help="S_fourier from the key frequencies (default) or every frequency k ≠ 0")
    parser.add_argument("--memo-samples", type=positive_int, default=MEMO_SAMPLES,
                        help=f"random training samples per checkpoint for S_memo (default {MEMO_SAMPLES})")
    parser.add_argument("--memo-rank", type=positive_int, default=MEMO_RANK,
                        help=f"dimension of S_memo: top right singular vectors kept (default {MEMO_RANK})")


if __name__ == "__main__":
    metric_main(__doc__, competition_rows, parameter_names, add_arguments, group_aware=True)

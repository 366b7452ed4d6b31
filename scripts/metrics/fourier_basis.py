#!/usr/bin/env python
"""Sparsity of the number rows of W_E and W_Uᵀ in the real orthonormal Fourier basis of the op's
group (x×y, x÷y: the multiplicative group in discrete-log order, token 0 left out, n = p−1;
x+y, x−y: Z_p, n = p), for every checkpoint: C = B·M, n_i = ‖C_i‖₂ per basis row;
l1_l2_ratio = ‖n‖₁/‖n‖₂ (1 … √n, lower = sparser); top_k_energy = share of Σ‖C_i‖² in the K
strongest frequencies (frequency 0 counts as one).

Output columns: seed, step, group (additive | multiplicative), matrix (W_E | W_U), l1_l2_ratio,
top_k_energy.
"""

import argparse

from grokflow.metrics.fourier_basis import TOP_K, fourier_basis_rows, tensor_names
from grokflow.arguments import positive_int
from grokflow.metric_runner import metric_main


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--top-k", type=positive_int, default=TOP_K,
                        help=f"number K of strongest frequencies for top_k_energy (default {TOP_K})")


if __name__ == "__main__":
    metric_main(__doc__, fourier_basis_rows, tensor_names, add_arguments, group_aware=True)

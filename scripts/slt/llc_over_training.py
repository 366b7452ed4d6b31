#!/usr/bin/env python
"""SGLD LLC and λ_eff (thermodynamic integration) at every given checkpoint (any seeds, steps).

Every checkpoint runs its chains on its own run's training set at the inverse temperatures
nβ·t for t in --temperatures (which must hold 1), all in one batch. The chains at nβ give the LLC,
λ̂ = nβ (mean L_batch(w_t) − L_n(w₀)); all temperatures give U(b) = E_b[n L_n] and, with
n L_n(w₀) Δb taken out, λ_eff = ΔF / Δlog b (see grokflow.slt.llc).

--llc-output columns: seed, step, llc_mean, llc_std (over chains), init_loss, n_diverged, negative,
chains, epsilon, gamma, reference, polish_steps, checkpoint_loss.
--flatness-output columns: seed, step, lambda_mean, lambda_std, init_loss, n_diverged, negative,
nbeta_low, nbeta_high, chains, epsilon, gamma, reference, polish_steps, checkpoint_loss.
"""

import argparse

from grokflow.errors import GrokflowError, run_main
from grokflow.io import write_csv
from grokflow.settings import OverTrainingSettings
from grokflow.slt.cli import add_chain_arguments, chains_setup, setup_torch
from grokflow.slt.methods import positive_float
from grokflow.slt.studies import Step, training_tables

DEFAULTS = OverTrainingSettings()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                                     allow_abbrev=False)
    parser.add_argument("checkpoints", nargs="+", help="checkpoint files")
    parser.add_argument("--llc-output", required=True, help="LLC CSV to write (results/{op}/llc.csv)")
    parser.add_argument("--flatness-output", required=True, help="λ_eff CSV to write (results/{op}/flatness_slt.csv)")
    parser.add_argument("--temperatures", nargs="+", type=positive_float, default=DEFAULTS.temperatures,
                        help="inverse temperatures as multiples of nβ; must hold 1 and one more value")
    add_chain_arguments(parser, DEFAULTS)
    args = parser.parse_args(argv)
    temperatures = sorted(set(args.temperatures))
    if 1.0 not in temperatures or len(temperatures) < 2:
        raise GrokflowError(f"--temperatures must hold 1 and at least one other value, got {args.temperatures}")
    device = setup_torch(args)
    setup = chains_setup(args)
    llc, flatness = training_tables(args.checkpoints, Step(args.epsilon, args.gamma), args.nbeta, temperatures, setup, device)
    write_csv(llc, args.llc_output)
    write_csv(flatness, args.flatness_output)


if __name__ == "__main__":
    run_main(main)

"""Singular learning theory: SGLD-family samplers, one batched chain engine, the local learning
coefficient (LLC), the function-preserving rescalings and thermodynamic integration.

- `methods`: the samplers' names (torch-free, for the figure scripts).
- `samplers`: the update rules (SGLD, pSGLD, Riemannian SGLD, SI-SGLD) of one model.
- `engine`: runs points × chains at once with `torch.func.vmap`, each chain with its own RNG stream.
- `llc`: LLC and thermodynamic-integration estimates from the chains' loss traces.
- `rescaling`: the α (residual writers) and β (MLP in/out) symmetries of the grokking transformer.
- `transformer`: the grokking transformer's loss, its checkpoints and data as chain-engine inputs.
- `studies`: the rescaling grid, LLC and λ_eff over training and the calibration sweep as tables.
- `summary`: the spread of each sampler's LLC over the rescaling grid.
- `cli`: the command-line options the SLT scripts share.
"""

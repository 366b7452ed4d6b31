"""The weight matrices effective rank measures, by name (torch-free: the workflow lists one figure
per matrix while Snakemake parses it)."""

MATRICES = ("W_E", "W_pos", "W_U", "W_Q", "W_K", "W_V", "W_O", "W_in", "W_out")

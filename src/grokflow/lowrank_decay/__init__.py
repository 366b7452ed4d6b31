"""Low-rank Newton–Schulz weight decay against L2 on modular addition (seed 000, issue 9)."""

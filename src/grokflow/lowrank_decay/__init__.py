"""Low-rank Newton–Schulz weight decay against L2 on modular addition."""

"""The metric battery: pure functions of checkpoint tensors (math only, no file I/O)."""

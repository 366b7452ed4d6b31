"""The table-connectivity study: a low-rank positional transformer with
layer-wise block attention masks against a dense transformer, on an in-context graph task."""

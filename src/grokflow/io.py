"""Atomic file output: write to a temporary file beside the target, then rename over it."""

from contextlib import contextmanager
import os
from pathlib import Path
import tempfile

import pandas as pd


@contextmanager
def atomic_path(path):
    """Yield a temporary path in the target's folder; on success rename it to `path`.

    A reader (or a job killed half-way) never sees a partly written file: os.replace is atomic
    on POSIX within one file system. On error the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_csv(frame: pd.DataFrame, path) -> None:
    """Write a CSV the way DESIGN.md asks (header row, no index), atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)

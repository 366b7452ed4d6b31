"""Atomic file output: write to a temporary file beside the target, then rename over it."""

from contextlib import contextmanager
import os
from pathlib import Path
import tempfile

import pandas as pd

from .errors import GrokflowError


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


def read_csv(path, columns=()) -> pd.DataFrame:
    """A CSV with rows that must hold `columns`; a GrokflowError naming the file and what is wrong with it."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise GrokflowError(f"{path} does not exist") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise GrokflowError(f"{path} is not a readable CSV ({error})") from None
    if missing := [column for column in columns if column not in frame]:
        raise GrokflowError(f"{path} lacks the column(s) {', '.join(missing)}")
    if frame.empty:
        raise GrokflowError(f"{path} has no rows")
    return frame


def bool_column(values: pd.Series) -> pd.Series:
    """A CSV's True/False column (read as bool, or as text when it has blanks)."""
    if values.dtype == bool:
        return values
    return values.map(lambda value: str(value).strip().lower() in ("true", "1", "1.0"))

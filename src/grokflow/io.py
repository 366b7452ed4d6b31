"""Files in and out: atomic output (a temporary file beside the target, renamed over it), and CSV
input whose problems are reported in one line naming the file."""

from contextlib import contextmanager
import os
from pathlib import Path
import re
import secrets

import pandas as pd

from .arithmetic import ADDITIVE, MULTIPLICATIVE
from .errors import GrokflowError


@contextmanager
def atomic_path(path):
    """Yield a temporary path in the target's folder; on success rename it to `path`.

    A reader (or a job killed half-way) never sees a partly written file: os.replace is atomic
    on POSIX within one file system. On error the temporary file is removed. The file gets the
    permissions of the user's umask (0644 under umask 022), like any file the user creates.
    """
    path = Path(path)
    tmp = _new_temporary_file(path)
    umask_mode = tmp.stat().st_mode & 0o777
    try:
        yield tmp
        os.chmod(tmp, umask_mode)  # a writer that replaces the file (safetensors does) makes it 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _new_temporary_file(path: Path) -> Path:
    """An empty hidden file beside `path`, created with mode 0666 less the umask (tempfile.mkstemp
    would make it 0600); a GrokflowError naming the folder where it cannot be created."""
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    except OSError as error:
        raise GrokflowError(f"cannot write {path} into the folder {path.parent}: {error.strerror}") from None
    return tmp


def write_csv(frame: pd.DataFrame, path) -> None:
    """Write a CSV the way docs/design.md asks (header row, no index), atomically."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_csv(path, columns=()) -> pd.DataFrame:
    """A CSV with rows that must hold `columns`; a GrokflowError naming the file and what is wrong with it."""
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise GrokflowError(f"{path} does not exist") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise GrokflowError(f"{path} is not a readable CSV ({' '.join(str(error).split())})") from None
    except OSError as error:
        raise GrokflowError(f"{path} cannot be read ({error.strerror})") from None
    require_columns(frame, columns, path)
    if frame.empty:
        raise GrokflowError(f"{path} has no rows")
    return frame


def csv_argument_problems(argv, error: Exception) -> list[str]:
    """What is wrong with the CSV files named in `argv` (a script's command line) that explains
    `error`, raised by pandas while a script read or used them: for a KeyError the files that
    lack its column, for a ValueError (a parse error, say) the files read_csv refuses."""
    columns = _missing_columns(error) if isinstance(error, KeyError) else ()
    problems = []
    for path in _csv_arguments(argv):
        try:
            read_csv(path, columns)
        except GrokflowError as problem:
            problems.append(str(problem))
    return problems


def _missing_columns(error: KeyError) -> list[str]:
    """The column names in pandas' KeyError: 'x', 'Column not found: x' or "['x', 'y'] not in index"."""
    text = str(error.args[0]).removeprefix("Column not found: ")
    return re.findall(r"'([^']*)'", text.partition("dtype=")[0]) or [text]


def _csv_arguments(argv) -> list[str]:
    """The existing .csv files among the arguments (and the values of --flag=value)."""
    values = [argument.partition("=")[2] if argument.startswith("--") else argument for argument in argv]
    return [value for value in values if value.lower().endswith(".csv") and os.path.isfile(value)]


def bool_column(values: pd.Series) -> pd.Series:
    """A CSV's True/False column (read as bool, or as text when it has blanks)."""
    if values.dtype == bool:
        return values
    return values.map(lambda value: str(value).strip().lower() in ("true", "1", "1.0"))


def require_columns(frame: pd.DataFrame, columns, name: str) -> None:
    """A GrokflowError naming the columns of `columns` that the CSV `name` lacks."""
    missing = [column for column in columns if column not in frame]
    if missing:
        raise GrokflowError(f"{name} lacks the column(s) {', '.join(missing)}")


def table_group(frame: pd.DataFrame, name: str) -> str:
    """The one `group` (additive | multiplicative) a metric CSV was computed in."""
    groups = set(frame["group"]) if "group" in frame else set()
    if len(groups) != 1 or not groups <= {ADDITIVE, MULTIPLICATIVE}:
        raise GrokflowError(f"{name} must have a group column holding one of {ADDITIVE}, {MULTIPLICATIVE}")
    return groups.pop()

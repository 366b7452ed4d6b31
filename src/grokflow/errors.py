"""Errors that are the user's to fix, and the wrapper that reports them as one line."""

import os
import sys
import traceback


class GrokflowError(Exception):
    """A problem with the user's input (config, arguments, files) or a run that cannot go on;
    its message says what and where, so the command line prints it without a traceback."""


def run_main(main) -> None:
    """Call a script's main(); report a user's mistake as 'error: …' in one line and exit 1: a
    GrokflowError, a file that cannot be opened or created (OSError), or a pandas error that a
    CSV file on the command line explains (a missing column, a file that is no CSV). Any other
    error is a bug and keeps its traceback."""
    try:
        main()
    except (GrokflowError, OSError) as err:
        sys.exit(f"error: {err}")
    except (KeyError, ValueError) as err:
        problems = _csv_problems(err)
        if not problems:
            raise
        sys.exit(f"error: {'; '.join(problems)}")


def _csv_problems(err: Exception) -> list[str]:
    """The problems of the command line's CSV files that explain `err`; a KeyError only where
    pandas raised it (a column lookup), not a dict of the script."""
    from .io import csv_argument_problems  # io imports this module

    if isinstance(err, KeyError) and not _raised_in_pandas(err):
        return []
    return csv_argument_problems(sys.argv[1:], err)


def _raised_in_pandas(err: Exception) -> bool:
    innermost_frame = traceback.extract_tb(err.__traceback__)[-1]
    return f"{os.sep}pandas{os.sep}" in innermost_frame.filename

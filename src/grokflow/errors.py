"""Errors that are the user's to fix, and the wrapper that reports them as one line."""

import sys


class GrokflowError(Exception):
    """A problem with the user's input (config, arguments, files) or a run that cannot go on;
    its message says what and where, so the command line prints it without a traceback."""


def run_main(main) -> None:
    """Call a script's main(); report a GrokflowError or a missing file as 'error: …', exit 1."""
    try:
        main()
    except (GrokflowError, FileNotFoundError) as err:
        sys.exit(f"error: {err}")

"""A user's mistake stops a script with one line naming the file and what is wrong, never a
traceback: a CSV without a column the script needs, a CSV that cannot be read
(not a CSV, empty, a folder, no read permission), an output in a folder it cannot write. Table
driven over every op figure script (tests/test_figure_rules.py's commands and CSVs) and the
scripts that join CSVs; run in this process through grokflow.errors.run_main as the command line
runs them, and once as a real command line."""

from contextlib import contextmanager
import importlib.util
import os
from pathlib import Path
import shutil
import subprocess
import sys
import tempfile

import matplotlib.pyplot as plt
import pandas as pd
import pytest

import grokflow.plotting
from grokflow.errors import run_main

from conftest import REPO
from test_figure_rules import commands, csv_tables

NOBODY = 65534


def script_commands(csv: dict[str, Path], out: Path) -> list[tuple[str, list[str]]]:
    """(script path under scripts/, argv) of every script in the table."""
    joins = [
        ("grokking_summary", ["--metrics", csv["metric"], "--ops", "x+y", "--output", out / "grokking_summary.csv"]),
        ("combine_metrics", [csv["metric"], "--output", out / "metric.csv"]),
    ]
    plots = [(f"plots/{name}", argv) for name, argv in commands(csv, out)]
    return [(name, [str(arg) for arg in argv]) for name, argv in plots + joins]


@pytest.fixture(scope="module")
def folder():
    """The table's CSVs in a folder that an unprivileged user can read too (tmp_path is private)."""
    root = Path(tempfile.mkdtemp(prefix="script_errors_"))
    root.chmod(0o755)
    for name, frame in csv_tables().items():
        frame.to_csv(root / f"{name}.csv", index=False)
        (root / f"{name}.csv").chmod(0o644)
    yield root
    shutil.rmtree(root)


def csv_paths(folder: Path) -> dict[str, Path]:
    return {name: folder / f"{name}.csv" for name in csv_tables()}


def command(case: int, folder: Path, out: Path | None = None) -> tuple[str, list[str]]:
    """Script and argv of case number `case` on the CSVs in folder, writing to out."""
    return script_commands(csv_paths(folder), out or folder / "out")[case]


CASES = script_commands(csv_paths(Path("csv")), Path("out"))
SCRIPTS = [pytest.param(case, id=name) for case, (name, _) in enumerate(CASES)]
INPUTS = [pytest.param(case, index, id=f"{name}-{Path(arg).stem}") for case, (name, argv) in enumerate(CASES)
          for index, arg in enumerate(argv) if Path(arg).parent == Path("csv")]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"script_errors_{name.replace('/', '_')}",
                                                  REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def error_line(name: str, argv: list[str], monkeypatch) -> str | None:
    """What run_main prints when the script runs on argv (None when it succeeds): the text that
    sys.exit writes to stderr before exiting with status 1."""
    monkeypatch.setattr(sys, "argv", [name, *argv])
    try:
        run_main(load_script(name).main)
    except SystemExit as stop:
        assert isinstance(stop.code, str), f"{name} exited with {stop.code!r}, not a message"
        return stop.code
    finally:
        plt.close("all")
    return None


def close_unsaved(fig, png_path) -> None:
    plt.close(fig)


@pytest.fixture
def no_figures(monkeypatch):
    """save_figure closes the figure instead of writing it (scripts loaded later bind this one)."""
    monkeypatch.setattr(grokflow.plotting, "save_figure", close_unsaved)


@contextmanager
def unprivileged():
    """Run as user nobody where the tests run as root, who may read and write any file."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)


def assert_one_line(message: str | None, *parts) -> None:
    assert message is not None, "the script ran without an error"
    assert message.startswith("error: ") and "\n" not in message, message
    assert all(str(part) in message for part in parts), message


def with_input(argv: list[str], index: int, path: Path) -> list[str]:
    return [str(path) if position == index else arg for position, arg in enumerate(argv)]


def import_lazily_loaded_modules(case: int, folder: Path, monkeypatch) -> None:
    """Run the case once as it is: user nobody cannot import what a script imports lazily from
    root's Python installation."""
    with monkeypatch.context() as patch:
        patch.setattr(grokflow.plotting, "save_figure", close_unsaved)
        assert error_line(*command(case, folder), patch) is None


@pytest.mark.parametrize("case, index", INPUTS)
def test_a_csv_without_a_needed_column_is_one_line_naming_file_and_column(folder, no_figures, monkeypatch,
                                                                          tmp_path, case, index):
    name, argv = command(case, folder)
    table = pd.read_csv(argv[index])
    failed = []
    for column in table.columns:
        broken = tmp_path / Path(argv[index]).name
        table.drop(columns=column).to_csv(broken, index=False)
        message = error_line(name, with_input(argv, index, broken), monkeypatch)
        if message is not None:
            assert_one_line(message, broken, column)
            failed.append(column)
    assert failed, f"{name} needs none of the columns of {argv[index]}"


def not_a_csv(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 8)
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def a_folder(path: Path) -> Path:
    path.mkdir()
    return path


BROKEN = {"not_a_csv": not_a_csv, "empty": empty, "a_folder": a_folder}


@pytest.mark.parametrize("kind", BROKEN)
@pytest.mark.parametrize("case, index", INPUTS)
def test_an_unreadable_csv_is_one_line_naming_it(folder, no_figures, monkeypatch, tmp_path, case, index, kind):
    name, argv = command(case, folder)
    broken = BROKEN[kind](tmp_path / Path(argv[index]).name)
    assert_one_line(error_line(name, with_input(argv, index, broken), monkeypatch), broken)


@pytest.mark.parametrize("case, index", INPUTS)
def test_a_csv_without_read_permission_is_one_line_naming_it(folder, no_figures, monkeypatch, case, index):
    import_lazily_loaded_modules(case, folder, monkeypatch)
    name, argv = command(case, folder)
    locked = folder / "locked" / Path(argv[index]).name
    locked.parent.mkdir(mode=0o755, exist_ok=True)
    shutil.copy(argv[index], locked)
    locked.chmod(0)
    with unprivileged():
        message = error_line(name, with_input(argv, index, locked), monkeypatch)
    assert_one_line(message, locked, "Permission denied")


@pytest.mark.parametrize("case", SCRIPTS)
def test_an_output_in_a_read_only_folder_is_one_line_naming_the_folder(folder, monkeypatch, case):
    import_lazily_loaded_modules(case, folder, monkeypatch)
    read_only = folder / "read_only"
    read_only.mkdir(mode=0o555, exist_ok=True)
    with unprivileged():
        message = error_line(*command(case, folder, read_only), monkeypatch)
    assert_one_line(message, f"folder {read_only}")
    assert ".tmp" not in message


def test_the_command_line_prints_the_issues_example_in_one_line(folder, tmp_path):
    """gini_ipr.py given a metric.csv without test_acc: exit status 1, one line on stderr."""
    metrics = tmp_path / "metric.csv"
    pd.read_csv(folder / "metric.csv").drop(columns="test_acc").to_csv(metrics, index=False)
    result = subprocess.run([sys.executable, REPO / "scripts/plots/gini_ipr.py", "--table", folder / "gini_ipr.csv",
                             "--metrics", metrics, "--output", tmp_path / "gini_ipr.png"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert_one_line(result.stderr.strip(), metrics, "test_acc")


def test_a_key_error_of_the_script_itself_keeps_its_traceback(folder, monkeypatch):
    """A dict's KeyError is a bug, not a column missing from the CSV on the command line."""
    monkeypatch.setattr(sys, "argv", ["script", str(folder / "metric.csv")])
    with pytest.raises(KeyError):
        run_main(lambda: {}["variant"])

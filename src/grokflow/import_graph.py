"""The grokflow files a script runs: its `import grokflow…` and `from grokflow… import …`
statements, followed through the package's own imports (relative ones too), read with `ast`, so
nothing is imported (no torch). The workflow declares them as inputs of the script's rules, so
that a change of library code reruns exactly the jobs that run it.
"""

import ast
from functools import cache
from pathlib import Path

PACKAGE = "grokflow"
# The folder that holds the package, e.g. the repository's src/ for an editable install.
SOURCE_ROOT = Path(__file__).resolve().parent.parent


def library_files(script) -> list[Path]:
    """Every file of the package that running `script` imports, directly or through other modules
    of the package, with the __init__.py of each package on the way; sorted."""
    found: set[Path] = set()
    pending = [Path(script).resolve()]
    while pending:
        new = imported_files(pending.pop()) - found
        found |= new
        pending.extend(new)
    return sorted(found)


@cache
def imported_files(path: Path) -> frozenset[Path]:
    """The package's files that the import statements of the Python file `path` load."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = absolute_module(node, path)
            names += [module, *(f"{module}.{alias.name}" for alias in node.names)]
    return frozenset(file for name in names if name.split(".")[0] == PACKAGE for file in module_files(name))


def absolute_module(node: ast.ImportFrom, path: Path) -> str:
    """The dotted module a `from … import` statement of the file `path` imports from."""
    if not node.level:
        return node.module
    package = path.relative_to(SOURCE_ROOT).parent.parts
    base = ".".join(package[: len(package) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def module_files(name: str) -> list[Path]:
    """The files that importing the dotted `name` runs: each package's __init__.py and the module's
    own file; none for the parts of `name` that are not modules (e.g. a function)."""
    files = []
    folder = SOURCE_ROOT
    for part in name.split("."):
        folder = folder / part
        if (folder / "__init__.py").is_file():
            files.append(folder / "__init__.py")
        elif folder.with_suffix(".py").is_file():
            files.append(folder.with_suffix(".py"))
            break
        else:
            break
    return files

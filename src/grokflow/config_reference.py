"""The configuration reference (docs/configuration.md), generated from the config schema.

Every key's type, default and description come from `workflow/schemas/config.schema.yaml`, so
the reference cannot drift from what Snakemake validates. From the repository root:

    python -m grokflow.config_reference

rewrites docs/configuration.md; tests/test_docs.py checks that the committed file is up to date.
"""

import argparse
import json
from pathlib import Path

import yaml

from .io import atomic_path

SCHEMA = Path("workflow/schemas/config.schema.yaml")
OUTPUT = Path("docs/configuration.md")
BOUNDS = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}


def describe_type(spec: dict) -> str:
    """A key's type and constraints in words, e.g. 'number > 0, < 1' or 'list of integer ≥ 0'."""
    if "enum" in spec:
        return "one of " + ", ".join(f"`{value}`" for value in spec["enum"])
    if spec.get("type") == "array":
        text = "list of " + describe_type(spec.get("items", {})).replace("one of ", "values from ", 1)
        if "minItems" in spec and spec.get("minItems") == spec.get("maxItems"):
            text += f", {spec['minItems']} items"
        elif spec.get("minItems", 0) > 1:
            text += f", at least {spec['minItems']} items"
        if "contains" in spec:
            text += f", containing {spec['contains']['const']}"
        return text
    parts = [spec.get("type", "any")]
    parts += [f"{sign} {spec[key]}" for key, sign in BOUNDS.items() if key in spec]
    text = " ".join(parts[:2]) + "".join(f", {part}" for part in parts[2:])
    if "pattern" in spec:
        text += f" matching `{spec['pattern']}`"
    return text


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def section(path: str, spec: dict) -> list[str]:
    """The lines of one object's section: its description, a table of its plain keys, then the
    sections of its object-valued keys."""
    plain = {name: child for name, child in spec["properties"].items() if child.get("type") != "object"}
    nested = {name: child for name, child in spec["properties"].items() if child.get("type") == "object"}
    lines = [f"## `{path}`" if path != "top level" else "## Top-level keys", ""]
    if spec.get("description") and path != "top level":
        lines += [spec["description"], ""]
    if plain:
        lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        for name, child in plain.items():
            default = json.dumps(child["default"], ensure_ascii=False) if "default" in child else ""
            lines.append(f"| `{name}` | {cell(describe_type(child))} | `{cell(default)}` | "
                         f"{cell(child.get('description', ''))} |")
        lines.append("")
    for name, child in nested.items():
        lines += section(name if path == "top level" else f"{path}.{name}", child)
    return lines


def render(schema: dict) -> str:
    """docs/configuration.md for this schema."""
    lines = ["# Configuration reference", "",
             f"Generated from `{SCHEMA}` by `python -m grokflow.config_reference`; edit the schema's",
             "descriptions, not this file (a test checks that the two agree).", "",
             schema["description"], "",
             "A nested key is written `section.key` here; in a YAML file it is nested, and on the command",
             "line it is `--config 'section={\"key\": value}'` (the section's other keys keep their values).",
             "Defaults are the schema's; `config.yaml` (the quick config) and `workflow/configs/*.yaml`",
             "override some of them.", ""]
    return "\n".join(lines + section("top level", schema)).rstrip("\n") + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", type=Path, default=SCHEMA, help=f"the config schema (default {SCHEMA})")
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"the reference to write (default {OUTPUT})")
    args = parser.parse_args(argv)
    with atomic_path(args.output) as tmp:
        tmp.write_text(render(yaml.safe_load(args.schema.read_text(encoding="utf-8"))), encoding="utf-8")


if __name__ == "__main__":
    main()

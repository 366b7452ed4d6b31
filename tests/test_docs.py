"""The documentation: the generated configuration reference is up to date."""

import yaml

from grokflow.config_reference import OUTPUT, SCHEMA, render

from conftest import REPO


def test_configuration_reference_equals_the_text_generated_from_the_schema():
    schema = yaml.safe_load((REPO / SCHEMA).read_text(encoding="utf-8"))
    assert (REPO / OUTPUT).read_text(encoding="utf-8") == render(schema), \
        "docs/configuration.md is stale: run python -m grokflow.config_reference"

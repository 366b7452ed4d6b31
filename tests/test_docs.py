"""The documentation: links resolve, the README starts with the two commands, the generated
configuration reference is up to date."""

import re

import pytest
import yaml

from grokflow.config_reference import OUTPUT, SCHEMA, render

from conftest import REPO

INSTALL_AND_RUN = "pip install -e . && snakemake -c2 --scheduler greedy all"
PAGES = sorted([REPO / "README.md", REPO / "CHANGELOG.md", REPO / "benchmarks/README.md",
                *(REPO / "docs").rglob("*.md")])
# [text](target) and ![alt](target); the text may span lines.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code, where brackets are not links."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"```.*?```", "", text, flags=re.S))


def relative_links(page) -> list[str]:
    targets = LINK.findall(prose(page.read_text(encoding="utf-8")))
    return [target.split("#")[0] for target in targets
            if not re.match(r"[a-z]+:", target) and not target.startswith("#")]


def code_blocks(text: str) -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_relative_link_and_image_resolves_to_a_file(page):
    missing = [target for target in relative_links(page) if not (page.parent / target).exists()]
    assert not missing, f"{page.relative_to(REPO)} links to missing files: {missing}"


def test_readme_links_the_docs_and_shows_a_figure():
    links = relative_links(REPO / "README.md")
    assert {"docs/design.md", "docs/configuration.md", "benchmarks/README.md", "LICENSE"} <= set(links)
    assert any(link.endswith(".png") for link in links)


def test_readme_first_two_code_blocks_are_the_install_and_run_and_the_ci_test_commands():
    ci_test_command = next(line for line in (REPO / ".ci/run").read_text().splitlines() if "python -m pytest" in line)
    blocks = code_blocks((REPO / "README.md").read_text(encoding="utf-8"))
    assert blocks[:2] == [INSTALL_AND_RUN + "\n", ci_test_command.strip() + "\n"]


def test_readme_is_a_short_guide_without_dates_or_gpu_models():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(text) <= 12_000
    assert not re.findall(r"\b20\d\d-\d\d-\d\d\b|\b[AHV]100\b|\bH200\b|\bRTX\b", text)


def test_configuration_reference_equals_the_text_generated_from_the_schema():
    schema = yaml.safe_load((REPO / SCHEMA).read_text(encoding="utf-8"))
    assert (REPO / OUTPUT).read_text(encoding="utf-8") == render(schema), \
        "docs/configuration.md is stale: run python -m grokflow.config_reference"

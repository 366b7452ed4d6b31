"""The rules' conda environments (envs/*.yaml) list exactly the dependencies of pyproject.toml."""

import tomllib

import yaml

from conftest import REPO


def pip_requirements(env: dict) -> list[str]:
    sections = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    return [requirement for section in sections for requirement in section]


def test_envs_list_the_dependencies_of_pyproject():
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    envs = sorted((REPO / "envs").glob("*.yaml"))
    assert envs and dependencies
    for path in envs:
        env = yaml.safe_load(path.read_text())
        assert sorted(pip_requirements(env)) == sorted(dependencies), path.name
        python = next(item for item in env["dependencies"] if isinstance(item, str) and item.startswith("python="))
        assert python == "python=3.11", path.name

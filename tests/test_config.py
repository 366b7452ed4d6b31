import copy
import functools
import subprocess
import sys

import pytest
from snakemake.cli import parse_config
from snakemake.utils import update_config
import yaml

from grokflow.config import ConfigError, schedule, validate_config

from conftest import REPO, copy_workflow, snakemake

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"


def quick():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_every_shipped_config_is_valid():
    for path in [REPO / "config.yaml", *sorted((REPO / "workflow/configs").glob("*.yaml"))]:
        config = validate_config(yaml.safe_load(path.read_text()), SCHEMA)
        assert schedule(config)[-1] == config["steps"]


def test_defaults_are_filled_in():
    config = validate_config({}, SCHEMA)
    assert config["modulus"] == 113 and config["train_fraction"] == 0.3 and config["steps"] == 1_000_000
    assert config["model"] == {"n_layers": 2, "d_model": 128, "n_heads": 4, "d_mlp": 512}
    assert config["optimizer"]["betas"] == [0.9, 0.98] and config["optimizer"]["weight_decay"] == 1.0


BAD = [
    ({"colour": "red"}, "'colour' was unexpected"),
    ({"model": {"d_modle": 64}}, "config key 'model'"),
    ({"modulus": 30}, "config key 'modulus': p = 30 is not prime"),
    ({"train_fraction": 0}, "config key 'train_fraction'"),
    ({"train_fraction": 1.0}, "config key 'train_fraction'"),
    ({"train_fraction": 1.5}, "config key 'train_fraction'"),
    ({"optimizer": {"lr": 0}}, "config key 'optimizer.lr'"),
    ({"optimizer": {"lr": -1e-3}}, "config key 'optimizer.lr'"),
    ({"steps": 0}, "config key 'steps'"),
    ({"steps": -5}, "config key 'steps'"),
    ({"ops": ["x+y", "x*y"]}, "config key 'ops.1': 'x*y' is not one of"),
    ({"model": {"n_heads": 5}}, "config key 'model.n_heads'"),
]


@pytest.mark.parametrize("change, message", BAD)
def test_bad_config_gives_one_line_naming_the_key(change, message):
    config = quick()
    for key, value in change.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = copy.deepcopy(config[key]) | value
        else:
            config[key] = value
    with pytest.raises(ConfigError) as err:
        validate_config(config, SCHEMA)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_composite_p_is_fine_without_a_multiplicative_reading():
    additive = quick() | {"modulus": 30, "ops": ["x+y", "x×y"]}
    additive["metrics"] = {"fourier_group": "additive"}
    assert validate_config(additive, SCHEMA)["modulus"] == 30
    assert validate_config(quick() | {"modulus": 30, "ops": ["x+y", "x-y"]}, SCHEMA)["modulus"] == 30


def test_composite_p_with_a_multiplicative_reading_is_one_line():
    with pytest.raises(ConfigError) as err:
        validate_config(quick() | {"modulus": 30, "ops": ["x+y", "x×y"]}, SCHEMA)
    assert "p = 30 is not prime" in str(err.value) and "metrics.fourier_group" in str(err.value)
    assert "\n" not in str(err.value)


def test_snakemake_stops_before_any_job_with_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--config", "modulus=30"],
        cwd=REPO, capture_output=True, text=True,
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == ["error: config key 'modulus': p = 30 is not prime, but op x÷y needs y⁻¹ mod p"]


def with_overrides(*entries: str) -> dict:
    """The quick config after Snakemake's `--config` entries, parsed and merged as Snakemake does."""
    config = quick()
    update_config(config, parse_config(list(entries)))
    return config


OVERRIDES = [
    ('metrics={"fourier_top_k": 3}', ("metrics", "fourier_top_k"), 3),
    ("seeds=[0]", ("seeds",), [0]),
    ("seeds=[0, 2]", ("seeds",), [0, 2]),
    ('optimizer={"lr": 0.002}', ("optimizer", "lr"), 0.002),
    ('optimizer={"betas": [0.9, 0.99]}', ("optimizer", "betas"), [0.9, 0.99]),
    ('model={"d_model": 32}', ("model", "d_model"), 32),
    ('train={"threads": 2}', ("train", "threads"), 2),
    ('train={"tf32": true}', ("train", "tf32"), True),
]


@pytest.mark.parametrize("entry, key, value", OVERRIDES)
def test_a_nested_command_line_override_gets_the_schema_type(entry, key, value):
    config = validate_config(with_overrides(entry), SCHEMA)
    assert functools.reduce(dict.get, key, config) == value
    assert type(functools.reduce(dict.get, key, config)) is type(value)


def test_an_override_keeps_the_other_nested_keys():
    config = validate_config(with_overrides('model={"d_model": 32}'), SCHEMA)
    assert config["model"] == quick()["model"] | {"d_model": 32}


def test_yaml_exponent_notation_is_a_number():
    config = validate_config(yaml.safe_load("optimizer: {lr: 1e-3, weight_decay: 1E+0}"), SCHEMA)
    assert config["optimizer"]["lr"] == 0.001 and config["optimizer"]["weight_decay"] == 1.0


@pytest.mark.parametrize("entry, message", [
    ('model={"d_model": "wide"}', "config key 'model.d_model': 'wide' is not of type 'integer'"),
    ('model={"d_model": 32.5}', "config key 'model.d_model': '32.5' is not of type 'integer'"),
    ("seeds=[0, x]", "config key 'seeds.1': 'x' is not of type 'integer'"),
    ('optimizer={"lr": "fast"}', "config key 'optimizer.lr': 'fast' is not of type 'number'"),
    ('optimizer={"lr": "nan"}', "config key 'optimizer.lr': 'nan' is not of type 'number'"),
    ('train={"tf32": "maybe"}', "config key 'train.tf32': 'maybe' is not of type 'boolean'"),
])
def test_an_override_that_does_not_fit_names_key_type_and_value(entry, message):
    with pytest.raises(ConfigError) as err:
        validate_config(with_overrides(entry), SCHEMA)
    assert str(err.value) == message


def test_snakemake_takes_nested_overrides(tmp_path):
    workdir = copy_workflow(tmp_path)
    result = snakemake(workdir, "-n", "-p", "--config", 'metrics={"fourier_top_k": 3}', "seeds=[0]",
                       'optimizer={"lr": 0.002}', 'model={"d_model": 32}', 'train={"threads": 2}')
    assert result.returncode == 0, result.stderr
    assert all(flag in result.stdout for flag in ("--top-k 3", "--d-model 32", "--lr 0.002"))
    assert "seed0" in result.stdout and "seed1" not in result.stdout

import copy
import subprocess
import sys

import pytest
import yaml

from grokflow.config import ConfigError, schedule, validate_config

from conftest import REPO

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

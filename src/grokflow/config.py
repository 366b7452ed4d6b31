"""Config validation (JSON schema with defaults, plus the checks a schema cannot express).

Every error is a `ConfigError` whose message is one line naming the offending key.
"""

import math
from pathlib import Path

from jsonschema.exceptions import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate
import yaml

from .arithmetic import is_prime
from .errors import GrokflowError
from .schedule import checkpoint_steps


class ConfigError(GrokflowError):
    """A user mistake in the config; its message is one line naming the key."""


def validate_config(config: dict, schema_path) -> dict:
    """Convert `config`'s text values to the schema's types, validate it in place against the
    schema, fill in defaults, and return it."""
    config.update(_typed(config, yaml.safe_load(Path(schema_path).read_text())))
    try:
        validate(config, str(schema_path), set_default=True)
    except WorkflowError as err:
        raise ConfigError(_one_line(err)) from None
    _check_consistency(config)
    return config


def _typed(value, schema: dict):
    """`value` with every text that spells a value of its schema type converted to it, in nested
    dicts and lists too: Snakemake's --config gives nested values as text (metrics={"top_k": 3}
    holds '3', seeds=[0] holds ['0']) and PyYAML reads 1e-3 as text. Other values stay as they are."""
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        return {key: _typed(item, properties.get(key, {})) for key, item in value.items()}
    if kind == "array" and isinstance(value, list):
        return [_typed(item, schema.get("items", {})) for item in value]
    if kind in FROM_TEXT and isinstance(value, str):
        try:
            return FROM_TEXT[kind](value)
        except ValueError:
            return value
    return value


def _finite_number(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is not a finite number")
    return number


def _boolean(text: str) -> bool:
    try:
        return {"true": True, "false": False}[text.lower()]
    except KeyError:
        raise ValueError(f"{text} is neither true nor false") from None


FROM_TEXT = {"integer": int, "number": _finite_number, "boolean": _boolean}


def _one_line(err: WorkflowError) -> str:
    cause = err.__context__
    if not isinstance(cause, ValidationError):
        return str(err).splitlines()[0]
    key = ".".join(str(part) for part in cause.absolute_path)
    where = f"config key '{key}'" if key else "config"
    return f"{where}: {cause.message}"


def _check_consistency(config: dict) -> None:
    p = config["modulus"]
    if "x÷y" in config["ops"] and not is_prime(p):
        raise ConfigError(f"config key 'modulus': p = {p} is not prime, but op x÷y needs y⁻¹ mod p")
    if "x×y" in config["ops"] and config["metrics"]["fourier_group"] == "auto" and not is_prime(p):
        raise ConfigError(f"config key 'modulus': p = {p} is not prime, so x×y has no cyclic multiplicative "
                          "group to read its Fourier metrics in; set metrics.fourier_group to additive")
    model = config["model"]
    if model["d_model"] % model["n_heads"]:
        raise ConfigError(
            f"config key 'model.n_heads': d_model {model['d_model']} is not divisible by "
            f"n_heads {model['n_heads']}"
        )
    connectivity = config["table_connectivity"]
    if connectivity["d_model"] % connectivity["n_heads"]:
        raise ConfigError(
            f"config key 'table_connectivity.n_heads': d_model {connectivity['d_model']} is not divisible by "
            f"n_heads {connectivity['n_heads']}"
        )
    n_pairs = (p - 1) * p if "x÷y" in config["ops"] else p * p
    if not 0 < round(config["train_fraction"] * n_pairs) < n_pairs:
        raise ConfigError(
            f"config key 'train_fraction': {config['train_fraction']} of {n_pairs} pairs leaves "
            "an empty train or test set"
        )


def schedule(config: dict) -> list[int]:
    """The checkpoint steps of every run of this config."""
    ckpt = config["checkpoints"]
    return checkpoint_steps(config["steps"], ckpt["per_decade"], ckpt["extra_steps"])

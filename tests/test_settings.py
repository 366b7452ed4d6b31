"""Each stage's settings are defined once (grokflow.settings): the config schema's defaults and
every script's command-line defaults equal them, and flags() renders them as the scripts read them."""

import argparse
from dataclasses import fields
import runpy
import shlex

import pytest

from grokflow.arguments import add_settings
from grokflow.config import validate_config
from grokflow import settings as stage
from grokflow.catalogue import METRICS

from conftest import REPO

SCHEMA_DEFAULTS = validate_config({}, REPO / "workflow/schemas/config.schema.yaml")
# Each script with options from the config, and the settings class that holds their defaults
# (the op metrics' from the catalogue).
SCRIPT_SETTINGS = [
    ("scripts/train.py", stage.TrainingSettings),
    ("scripts/train.py", stage.EngineSettings),
    ("scripts/op_summary.py", stage.ModulusSettings),
    ("scripts/lowrank_decay/plots.py", stage.ModulusSettings),
    *((f"scripts/metrics/{metric.name}.py", metric.settings) for metric in METRICS if metric.settings is not None),
    ("scripts/lora/rank_demo.py", stage.LoraDemoSettings),
    ("scripts/lora/finetune.py", stage.LoraFinetuneSettings),
    ("scripts/table_connectivity/train.py", stage.TableConnectivitySettings),
    ("scripts/table_connectivity/plots.py", stage.TableConnectivitySizes),
    ("scripts/lowrank_decay/phase_diagram.py", stage.PhaseDiagramSettings),
    ("scripts/lowrank_decay/mechanism.py", stage.MechanismSettings),
    ("scripts/slt/llc_rescaling.py", stage.RescalingSettings),
    ("scripts/slt/llc_over_training.py", stage.OverTrainingSettings),
    ("scripts/slt/llc_calibration.py", stage.CalibrationSettings),
    ("scripts/plots/llc_calibration.py", stage.CalibrationFigureSettings),
]


class ParserBuilt(BaseException):
    """Raised in place of parsing, carrying the script's parser."""

    def __init__(self, parser):
        super().__init__()
        self.parser = parser


def script_parser(script: str, monkeypatch) -> argparse.ArgumentParser:
    """The parser the script builds when run with no options."""

    def capture(parser, *args, **kwargs):
        raise ParserBuilt(parser)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(ParserBuilt) as built:
        runpy.run_path(str(REPO / script), run_name="__main__")
    return built.value.parser


def comparable(value):
    """A default as a plain value: sequences as lists, METHOD=VALUE pairs as a dict."""
    if isinstance(value, (list, tuple)) and value and isinstance(value[0], tuple):
        return dict(value)
    return list(value) if isinstance(value, (list, tuple)) else value


@pytest.mark.parametrize("settings", sorted({settings for _, settings in SCRIPT_SETTINGS}, key=lambda cls: cls.__name__))
def test_the_schema_defaults_are_the_settings_defaults(settings):
    assert settings.from_config(SCHEMA_DEFAULTS) == settings()


@pytest.mark.parametrize("script, settings", SCRIPT_SETTINGS)
def test_a_script_run_with_no_options_has_the_settings_defaults(script, settings, monkeypatch):
    parser = script_parser(script, monkeypatch)
    defaults = settings()
    assert {item.name: comparable(parser.get_default(item.name)) for item in fields(defaults)} == {
        item.name: comparable(getattr(defaults, item.name)) for item in fields(defaults)}


def test_the_engine_settings_are_the_schemas_and_a_cpu_job_runs_eager_float32():
    assert stage.EngineSettings.from_config(SCHEMA_DEFAULTS) == stage.EngineSettings()
    on_cpu = SCHEMA_DEFAULTS | {"train": SCHEMA_DEFAULTS["train"] | {"tf32": True, "compile": True}}
    assert stage.EngineSettings.from_config(on_cpu) == stage.EngineSettings()
    on_gpu = SCHEMA_DEFAULTS | {"train": SCHEMA_DEFAULTS["train"] | {"device": "cuda"}}
    assert stage.EngineSettings.from_config(on_gpu) == stage.EngineSettings("cuda", True, True)


def test_flags_render_every_kind_of_field():
    rendered = stage.flags(stage.RescalingSettings(polish_betas=(0.9, 0.95), compile=False, epsilon={"sgld": 1e-7}))
    assert "--polish-betas 0.9 0.95 " in rendered and "--no-compile" in rendered and "--tf32" in rendered
    assert "--epsilon sgld=1e-07 --gamma sgld=1000.0 psgld=1000.0" in rendered
    assert stage.flags(stage.LoraFinetuneSettings(target_op="x÷y")).startswith("--ranks 2 4 8 16 32 --alpha 16.0")
    assert "--target-op 'x÷y'" in stage.flags(stage.LoraFinetuneSettings(target_op="x÷y"))


@pytest.mark.parametrize("script, settings", SCRIPT_SETTINGS)
def test_a_script_parses_its_rendered_settings(script, settings, monkeypatch):
    parser = script_parser(script, monkeypatch)
    monkeypatch.undo()
    for action in parser._actions:  # the file arguments, which no settings hold
        action.required = False
    config = settings.from_config(SCHEMA_DEFAULTS)
    known = parser.parse_args(shlex.split(stage.flags(config)))
    assert {item.name: comparable(getattr(known, item.name)) for item in fields(config)} == {
        item.name: comparable(getattr(config, item.name)) for item in fields(config)}


def test_add_settings_parses_what_flags_render():
    """grokflow.arguments.add_settings is the inverse of flags, for every kind of field (int, float,
    str, bool, a pair and a tuple of any length) and values other than the defaults."""
    parser = argparse.ArgumentParser()
    add_settings(parser, stage.TrainingSettings())
    add_settings(parser, stage.EngineSettings())
    training = stage.TrainingSettings(p=7, train_fraction=0.5, steps=9, betas=(0.8, 0.9), extra_steps=(3, 5, 8))
    engine = stage.EngineSettings("cuda:1", True, False)
    known = vars(parser.parse_args(shlex.split(f"{stage.flags(training)} {stage.flags(engine)}")))
    assert [comparable(known[item.name]) for item in fields(training)] == [
        comparable(getattr(training, item.name)) for item in fields(training)]
    assert (known["device"], known["tf32"], known["compile"]) == ("cuda:1", True, False)

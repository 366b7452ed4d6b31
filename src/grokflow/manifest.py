"""A training's identity and the checks that keep its outputs consistent.

The training manifest (`results/{op}/training.json`, written by the workflow's `training_manifest`
rule) holds the training configuration; the training job reads it, so that a change of the
configuration retrains the op whatever the target. Every checkpoint's metadata names its
training by `training_id`, so that checkpoints of two trainings are never measured as one.

No torch import: the Snakefile imports this module when it is parsed.
"""

from dataclasses import asdict
import hashlib
import json

from .settings import TrainingSettings


def training_identity(settings: TrainingSettings) -> dict:
    """The settings that decide a training's checkpoints (all but how often the resume state is
    saved), as JSON values."""
    identity = asdict(settings)
    del identity["save_every_s"]
    return json.loads(json.dumps(identity))


def training_id(settings: TrainingSettings) -> str:
    """A short hash of the training configuration: equal for every run of one training."""
    text = json.dumps(training_identity(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def manifest_text(settings: TrainingSettings) -> str:
    """The training manifest: the training's id and its configuration, as sorted JSON."""
    return json.dumps({"training": training_id(settings), "settings": training_identity(settings)},
                      indent=1, sort_keys=True) + "\n"


def write_manifest(path, text: str) -> None:
    """Write a training manifest atomically."""
    from .io import atomic_path  # grokflow.io imports pandas, which parsing the workflow does not need

    with atomic_path(path) as tmp:
        tmp.write_text(text)

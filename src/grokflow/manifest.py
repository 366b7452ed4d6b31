"""A training's identity and the checks that keep its outputs consistent.

Every checkpoint's metadata names its training by `training_id`, so that checkpoints of two
trainings are never measured as one.
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

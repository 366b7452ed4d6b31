"""A training's identity and the checks that keep its outputs consistent.

The training manifest (`results/{op}/training.json`, written by the workflow's `training_manifest`
rule) holds the training configuration; the training job reads it, so that a change of the
configuration retrains the op whatever the target. Every checkpoint's metadata names its
training by `training_id`, so that checkpoints of two trainings are never measured as one.
`checkpoint_problem` finds a truncated or corrupt checkpoint from its header alone.

No torch import: the Snakefile imports this module when it is parsed.
"""

from dataclasses import asdict
import hashlib
import json
import os
import struct

from .settings import TrainingSettings

HEADER_LENGTH_BYTES = 8  # safetensors: a little-endian u64 header length, the JSON header, the data


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


def checkpoint_problem(path) -> str | None:
    """What is wrong with a checkpoint file, read from its header (a few kB), or None: the header
    must parse and the file must be as long as the header's byte ranges of the tensors say."""
    size = os.path.getsize(path)
    with open(path, "rb") as file:
        prefix = file.read(HEADER_LENGTH_BYTES)
        if len(prefix) < HEADER_LENGTH_BYTES:
            return f"is truncated ({size} bytes)"
        (header_length,) = struct.unpack("<Q", prefix)
        if HEADER_LENGTH_BYTES + header_length > size:
            return f"is truncated ({size} bytes, shorter than its header)"
        try:
            header = json.loads(file.read(header_length))
            data_end = max((entry["data_offsets"][1] for name, entry in header.items() if name != "__metadata__"),
                           default=0)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return "is not a safetensors file (unreadable header)"
    expected = HEADER_LENGTH_BYTES + header_length + data_end
    if size < expected:
        return f"is truncated ({size} of {expected} bytes)"
    if size > expected:
        return f"is corrupt ({size - expected} bytes more than its header describes)"
    return None


def first_broken_checkpoint(paths) -> tuple[str, str] | None:
    """The first existing file of `paths` that is no sound checkpoint, and its problem."""
    for path in paths:
        if os.path.exists(path) and (problem := checkpoint_problem(path)):
            return str(path), problem
    return None

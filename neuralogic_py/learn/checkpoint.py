"""Checkpoints: a training run saved between two epochs, to go on with ``nlp train --resume``.

A checkpoint is one JSON file (``checkpoint.json`` in the output folder)::

    {"format": "neuralogic_py checkpoint", "version": 1,
     "options": {...},     the command-line options that shape the run (a resumed run must give the same)
     "model": {...},       the model file's content (Model.to_json), with the weights after the last epoch
     "run": {...},         the trainer's RunState: epochs done, history, kept weights, sample-order generator
     "optimizer": {...}}   the optimizer's state_dict: step count, learning rate, moments

Numbers are written with enough digits to read back bit for bit, so a run resumed from
a checkpoint ends with the same weights as one that never stopped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ValidationError, display_path
from .model import Model
from .optimizers import Optimizer
from .trainer import RunState

CHECKPOINT_FORMAT = "neuralogic_py checkpoint"
CHECKPOINT_VERSION = 1
CHECKPOINT_FILE = "checkpoint.json"


@dataclass
class Checkpoint:
    """A checkpoint file's content (see the module docstring)."""

    options: dict[str, Any]
    model: dict[str, Any]
    run: dict[str, Any]
    optimizer: dict[str, Any]

    @property
    def epochs(self) -> int:
        return int(self.run["epochs"])

    def parameters(self) -> dict[str, Any]:
        """The weights by name, in the weights.json conventions."""
        return {name: entry["value"] for name, entry in self.model["parameters"].items()}


def checkpoint_text(model: Model, options: dict[str, Any], state: RunState, optimizer: Optimizer) -> str:
    """The checkpoint of ``model`` trained by ``optimizer`` after ``state.epochs`` epochs."""
    saved = optimizer.state_dict()
    saved["moments"] = {kind: {name: a.tolist() for name, a in moments.items()}
                        for kind, moments in saved["moments"].items()}
    return json.dumps({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "options": options,
                       "model": model.to_json(), "run": state.as_dict(), "optimizer": saved}) + "\n"


def read_checkpoint(path: str | Path) -> Checkpoint:
    """The checkpoint in ``path`` (a file, or an output folder holding ``checkpoint.json``)."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_FILE
    where = display_path(path)
    if not path.is_file():
        raise ValidationError(f"no checkpoint: {where} does not exist",
                              hint="--resume takes the --out folder of a run made with --checkpoint-every")
    try:
        data = json.loads(path.read_bytes())
    except (ValueError, RecursionError) as e:
        raise ValidationError(f"{where} is not a checkpoint (not JSON: {e})") from None
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValidationError(f"{where} is not a checkpoint (no \"format\": \"{CHECKPOINT_FORMAT}\")")
    if data.get("version") != CHECKPOINT_VERSION:
        raise ValidationError(f"{where} is a checkpoint of format version {data.get('version')!r}, "
                              f"this version reads {CHECKPOINT_VERSION}")
    parts = {key: data.get(key) for key in ("options", "model", "run", "optimizer")}
    if not all(isinstance(v, dict) for v in parts.values()) or not isinstance(parts["run"].get("epochs"), int):
        raise ValidationError(f"{where} is not a valid checkpoint (a part is missing)")
    return Checkpoint(**parts)

"""The saved model file (``model.json``): its schema, checked before a model is built from it.

Schema version 1 (docs/learning.md, "Saved models"); every key but those marked optional
is required, and no other top-level key is read::

    format        "neuralogic_py model"
    version       integer, 1 .. MODEL_VERSION (a newer file is refused, an older one read)
    template      string: the template, printed from the IR (imports expanded)
    settings      object: NeuralSettings fields -> function name (output_activation may be null)
    loss          string: a loss of learn.losses, or "auto" (a model saved before training)
    task          optional, null or "classification" / "regression"
    seed          optional, integer >= 0
    initializer   optional, an initializer of learn.initializers
    training      optional, object: how the weights were trained (informative only)
    parameters    object: name -> {"shape": [rows, cols], "fixed": bool (optional),
                  "role": string (optional), "value": number | [numbers] | [[numbers]]}
                  with rows * cols numbers in the value, all finite

A violation is a :class:`~neuralogic_py.errors.ValidationError` placed at the key it
concerns, before anything is allocated (a declared shape must match the numbers given).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from ..errors import NeuralogicError, ValidationError, display_path
from ..jsonfile import JsonFile, read_json
from ..neural.settings import NeuralSettings
from .initializers import INITIALIZERS
from .losses import LOSS_CHOICES, TASKS

MODEL_FORMAT = "neuralogic_py model"
MODEL_VERSION = 1


def read_model_file(path: str | Path) -> dict[str, Any]:
    """The JSON of a saved model, checked against the schema; a positioned error when it is something else."""
    try:
        doc = read_json(path, "the model file")
    except ValidationError:
        if not _marked(Path(path)):
            raise ValidationError(f"{display_path(path)} is not a saved model (not JSON)") from None
        raise
    data = doc.data
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise ValidationError(f"{doc.file} is not a saved model (no \"format\": \"{MODEL_FORMAT}\")")
    _Check(doc).model(data)
    return data


def is_model_file(path: str | Path) -> bool:
    """Whether ``path`` is meant as a saved model: a ``.json`` file that names the model format near its start.

    (A broken model file still counts, so that loading it reports what is wrong.)
    """
    p = Path(path)
    return p.is_file() and p.suffix == ".json" and _marked(p)


def _marked(path: Path) -> bool:
    """Whether the file's first 4 KB name the model format (a saved model starts with it)."""
    try:
        with path.open("rb") as f:
            return MODEL_FORMAT.encode() in f.read(4096)
    except OSError:
        return False


class _Check:
    """The schema's checks, each failure placed at the key it concerns."""

    def __init__(self, doc: JsonFile) -> None:
        self.doc = doc

    def fail(self, key: str, message: str) -> ValidationError:
        return ValidationError(message, self.doc.span_of_key(key),
                               "the saved model format: docs/learning.md, \"Saved models\"")

    def expect(self, ok: bool, key: str, path: str, expected: str, value: Any, shown: str | None = None) -> None:
        """Fail at ``key`` unless ``ok``: ``path: expected ..., got <value, or shown>``."""
        if not ok:
            raise self.fail(key, f"{path}: expected {expected}, got {shown or _brief(value)}")

    def model(self, data: dict[str, Any]) -> None:
        version = data.get("version")
        self.expect(_is_int(version) and version >= 1, "version", "version", "an integer >= 1", version)
        if version > MODEL_VERSION:
            raise self.fail("version", f"the model was saved by a newer version of neuralogic_py (model format "
                                       f"{version}; this version reads up to {MODEL_VERSION})")
        self.expect(isinstance(data.get("template"), str), "template", "template", "a string", data.get("template"))
        self.settings(data.get("settings"))
        loss = data.get("loss")
        self.expect(_one_of(loss, LOSS_CHOICES), "loss", "loss", f"one of {', '.join(LOSS_CHOICES)}", loss)
        task = data.get("task")
        self.expect(task is None or _one_of(task, TASKS), "task", "task", f"null or one of {', '.join(TASKS)}", task)
        seed = data.get("seed", 0)
        self.expect(_is_int(seed) and seed >= 0, "seed", "seed", "an integer >= 0", seed)
        initializer = data.get("initializer", "uniform")
        self.expect(_one_of(initializer, INITIALIZERS), "initializer", "initializer",
                    f"one of {', '.join(INITIALIZERS)}", initializer)
        training = data.get("training", {})
        self.expect(isinstance(training, dict), "training", "training", "an object", training)
        parameters = data.get("parameters")
        self.expect(isinstance(parameters, dict), "parameters", "parameters", "an object", parameters)
        for name, entry in parameters.items():
            self.parameter(name, entry)

    def settings(self, settings: Any) -> None:
        fields = {f.name for f in dataclasses.fields(NeuralSettings)}
        self.expect(isinstance(settings, dict), "settings", "settings", "an object", settings)
        for key, value in settings.items():
            self.expect(key in fields, key, f"settings.{key}", f"one of {', '.join(sorted(fields))}",
                        key)
            self.expect(isinstance(value, str) or (value is None and key == "output_activation"), key,
                        f"settings.{key}", "a function name", value)
        try:
            NeuralSettings(**settings)
        except NeuralogicError as e:
            raise self.fail("settings", f"settings: {e.message}") from None

    def parameter(self, name: str, entry: Any) -> None:
        where = f"parameters.{name}"
        self.expect(isinstance(entry, dict), name, where, "an object", entry)
        shape = entry.get("shape")
        self.expect(isinstance(shape, list) and len(shape) == 2 and all(_is_int(n) and n >= 1 for n in shape),
                    name, f"{where}.shape", "[rows, cols] of positive integers", shape)
        self.expect(isinstance(entry.get("fixed", False), bool), name, f"{where}.fixed", "true or false",
                    entry.get("fixed"))
        self.expect(isinstance(entry.get("role", ""), str), name, f"{where}.role", "a string", entry.get("role"))
        value = entry.get("value")
        count = _numbers(value)
        self.expect(count is not None, name, f"{where}.value", "a finite number or a list (of lists) of them",
                    value)
        self.expect(count == shape[0] * shape[1], name, f"{where}.value",
                    f"{shape[0] * shape[1]} numbers for the shape {shape}", value,
                    f"{count} number{'' if count == 1 else 's'}")


def _one_of(value: Any, names: Any) -> bool:
    return isinstance(value, str) and value in names


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers(value: Any, depth: int = 0) -> int | None:
    """How many finite numbers a value holds (a number, a list, a list of lists); None when it is something else."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return 1 if math.isfinite(float(value)) else None
        except OverflowError:  # an integer beyond the floats
            return None
    if isinstance(value, list) and depth < 2:
        counts = [_numbers(v, depth + 1) for v in value]
        return None if None in counts else sum(counts)
    return None


def _brief(value: Any) -> str:
    """A value as a message quotes it: in JSON, short."""
    if _is_int(value) and abs(value) >= 10 ** 20:
        return f"an integer of {len(str(abs(value)))} digits"
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."

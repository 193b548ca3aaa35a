"""Reading the JSON files a user hands over (saved models, weights, checkpoints), never with a traceback.

:func:`read_json` turns what can be wrong with the file itself into positioned
:class:`~neuralogic_py.errors.ValidationError`\\ s: not UTF-8, not JSON (with the line and
column), nested too deeply to parse (a "JSON bomb"), an integer of more digits than
Python converts. It also reports the keys an object repeats (JSON keeps the last one
silently), for the caller to warn about.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import Span, ValidationError, display_path, span_in
from .language.preprocess import read_text

_LONG_INTEGER = re.compile(r"-?\d{1000,}")


@dataclass
class JsonFile:
    """A parsed JSON file: its shown name, text, value, and the repeated keys of its objects."""

    file: str
    text: str
    data: Any
    repeated: list[str] = field(default_factory=list)

    def span_of_key(self, key: str, occurrence: int = 1) -> Span:
        """Where ``"key"`` stands in the text (its ``occurrence``-th time; the file's start when not found)."""
        quoted, at = json.dumps(key), -1
        for _ in range(occurrence):
            at = self.text.find(quoted, at + 1)
            if at < 0:
                return span_in(self.text, 0, self.file)
        return span_in(self.text, at, self.file, at + len(quoted))


    def entries(self) -> Iterator[tuple[str, Any, Span]]:
        """The top-level object's keys, values and the places of the keys, in text order.

        One pass over the text, whatever the number of keys or the length of its lines.
        """
        at, line, line_start, source = 0, 1, 0, ""
        for key, value in self.data.items():
            quoted = json.dumps(key)
            found = self.text.find(quoted, at)
            if found < 0:  # written with escapes that json.dumps does not produce
                yield key, value, self.span_of_key(key)
                continue
            newlines = self.text.count("\n", at, found)
            if newlines or not source:
                line += newlines
                line_start = self.text.rfind("\n", 0, found) + 1
                end = self.text.find("\n", found)
                source = self.text[line_start:end if end >= 0 else len(self.text)]
            at = found + len(quoted)
            column = found - line_start + 1
            yield key, value, Span(self.file, line, column, line, column + len(quoted), source)


def read_json(path: str | Path, what: str) -> JsonFile:
    """The JSON value in ``path``; ``what`` names the file in messages (``"the weights file"``)."""
    file = display_path(path)
    text = read_text(path)
    repeated: list[str] = []

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in pairs:
            if key in obj:
                repeated.append(key)
            obj[key] = value
        return obj

    try:
        data = json.loads(text, object_pairs_hook=unique)
    except json.JSONDecodeError as e:
        raise ValidationError(f"{what} is not valid JSON: {e.msg}", span_in(text, e.pos, file)) from None
    except RecursionError:
        raise ValidationError(f"{what} is nested too deeply to read", span_in(text, 0, file),
                              "a saved model or weights file nests lists at most two deep") from None
    except ValueError:  # an integer longer than int() converts (sys.get_int_max_str_digits)
        m = _LONG_INTEGER.search(text)
        at = m.start() if m else 0
        digits = len(m.group().lstrip("-")) if m else 0
        raise ValidationError(f"{what} holds an integer of {digits} digits, too long to read",
                              span_in(text, at, file, at + 1)) from None
    return JsonFile(file, text, data, repeated)

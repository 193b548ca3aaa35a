"""Checked construction of ``[key=value, ...]`` metadata (shared by parser and DSL)."""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import Span, ValidationError
from . import ir
from .functions import ROLES, Call, canonical_function, make_function, parse_call, suggest

# Keys and what their value is. `learnable`, `offset` and `duplicate_grounding` are
# accepted for compatibility; see docs/language.md for what each does here.
KEY_ALIASES = {"transformation": "activation"}
KEYS = ("activation", "combination", "aggregation", "offset", "learnable", "duplicate_grounding", "value")


def make_metadata(entries: Sequence[tuple[str, Any, Span | None]]) -> ir.Metadata:
    """Normalise keys, validate function names, reject unknown or repeated keys; entries come
    out in the order of ``KEYS``."""
    out: list[tuple[str, ir.MetaValue]] = []
    for key, value, span in entries:
        key = KEY_ALIASES.get(key.lower(), key.lower())
        if key not in KEYS:
            raise ValidationError(f"unknown metadata key '{key}'", span,
                                  suggest(key, [*KEYS, *KEY_ALIASES]) or f"known keys: {', '.join(KEYS)}")
        if any(k == key for k, _ in out):
            raise ValidationError(f"metadata key '{key}' is given twice", span)
        if key in ROLES:
            value = _function(key, value, span)
        elif key in ("learnable", "duplicate_grounding"):
            if not isinstance(value, str) or value.lower() not in ("true", "false"):
                raise ValidationError(f"'{key}' must be true or false, got {value}", span)
            value = value.lower()
        elif isinstance(value, Call):
            raise ValidationError(f"'{key}' takes no function, got {value.name}(...)", value.span or span)
        elif key in ("offset", "value") and isinstance(value, str):
            raise ValidationError(f"'{key}' needs a number or a value, got {value}", span)
        out.append((key, value))
    # One canonical key order, so metadata written in any order compares equal.
    return ir.Metadata(tuple(sorted(out, key=lambda kv: KEYS.index(kv[0]))))


def _function(role: str, value: Any, span: Span | None) -> str:
    """The canonical text of a function name, a canonical text with parameters, or a written call."""
    if isinstance(value, str) and "(" in value:
        call = parse_call(value)
        if call is None:
            raise ValidationError(f"'{role}' needs a function, got {value!r}", span)
        value = call
    if isinstance(value, Call):
        return make_function(role, Call(value.name, value.args, value.span or span))
    if not isinstance(value, str):
        raise ValidationError(f"'{role}' needs a function name, got {value}", span)
    name = canonical_function(role, value)
    if name is None:
        known = ROLES[role]
        raise ValidationError(f"unknown {role} function '{value}'", span,
                              suggest(value, known) or f"known: {', '.join(known)}")
    return name

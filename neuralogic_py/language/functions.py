"""The function names the language knows, per role, with the reference's aliases and parameters.

Names are case-insensitive in the reference engine; we store them lower-case and
canonical (``sigm`` -> ``sigmoid``). The maths behind each name lives in the engine.

A few functions take parameters (PyNeuraLogic's spelling); a function is then named by
its *canonical text*, which is also its identity (two neurons with ``leakyrelu(0.1)`` and
``leakyrelu(0.2)`` compute different things, and their texts differ):

==============================  =======================================================
canonical text                  meaning
==============================  =======================================================
``leakyrelu(0.2)``              x if x > 0 else 0.2 x (``leakyrelu`` is slope 0.01)
``slice(rows=[0, 2])``          rows 0..1 of a value (end excluded); ``cols=[a, b]`` too
``reshape(shape=[2, 3])``       the value's elements, row by row, as a 2 x 3 block
``softmax(agg_terms=[J])``      (aggregation) softmax over the groundings of the heads
                                that differ only in the head variables listed
==============================  =======================================================
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from ..errors import Span, ValidationError

ACTIVATIONS = (
    "sigmoid", "tanh", "relu", "leakyrelu", "signum", "lukasiewicz", "exp", "log",
    "sqrt", "inverse", "reverse", "identity", "transpose", "norm", "softmax", "sparsemax",
    "slice", "reshape",
)
COMBINATIONS = (
    "sum", "avg", "max", "min", "count", "product", "elproduct", "crosssum", "concat",
    "cossim", "softmax", "sparsemax",
)
AGGREGATIONS = ("sum", "avg", "max", "min", "count", "concat", "softmax")

ALIASES = {"sigm": "sigmoid", "layernorm": "norm", "transp": "transpose"}

ROLES = {
    "activation": ACTIVATIONS,
    "combination": COMBINATIONS,
    "aggregation": AGGREGATIONS,
}

# Parameter names per role and function, in positional order; REQUIRED ones must be given.
PARAMETERS = {
    "activation": {"leakyrelu": ("slope",), "slice": ("rows", "cols"), "reshape": ("shape",)},
    "aggregation": {"softmax": ("agg_terms",)},
}
REQUIRED = {"slice": (), "reshape": ("shape",), "leakyrelu": (), "softmax": ()}
DEFAULT_SLOPE = 0.01


@dataclass(frozen=True)
class Call:
    """A function written with arguments, ``name(arg, key=value, ...)``, before it is checked.

    Argument values are numbers, names (variables and constants, as text), lists or
    tuples of those, or None for ``...`` (PyNeuraLogic's "all").
    """

    name: str
    args: tuple[tuple[str | None, Any], ...]
    span: Span | None = None


def canonical_function(role: str, name: str) -> str | None:
    """The canonical name of ``name`` in ``role``, or None when unknown.

    ``name`` may be a canonical text with parameters (``leakyrelu(0.2)``), which is
    checked and returned in canonical form.
    """
    if "(" in name:
        call = parse_call(name)
        if call is None or canonical_function(role, call.name) is None:
            return None
        return make_function(role, call)
    key = ALIASES.get(name.lower(), name.lower())
    return key if key in ROLES[role] else None


def suggest(name: str, known: tuple[str, ...] | list[str]) -> str | None:
    """'did you mean ...?' text for a misspelt name, or None."""
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


# --------------------------------------------------------------------------- parameters


def make_function(role: str, call: Call) -> str:
    """The canonical text of ``call`` in ``role``: its name checked, its arguments checked and normalised."""
    name = canonical_function(role, call.name)
    if name is None:
        known = ROLES[role]
        raise ValidationError(f"unknown {role} function '{call.name}'", call.span,
                              suggest(call.name, known) or f"known: {', '.join(known)}")
    names = PARAMETERS.get(role, {}).get(name)
    if names is None and not call.args:
        return name
    if names is None:
        raise ValidationError(f"the {role} function '{name}' takes no arguments, got {_shown(call)}", call.span,
                              _with_parameters(role))
    given: dict[str, Any] = {}
    for i, (key, value) in enumerate(call.args):
        key = names[i] if key is None and i < len(names) else key
        if key is None:
            raise ValidationError(f"'{name}' takes at most {len(names)} argument(s), got {_shown(call)}", call.span)
        if key not in names:
            raise ValidationError(f"'{name}' has no argument '{key}'", call.span, f"its arguments: {', '.join(names)}")
        if key in given:
            raise ValidationError(f"the argument '{key}' of '{name}' is given twice", call.span)
        given[key] = value
    for key in REQUIRED[name]:
        if given.get(key) is None:
            raise ValidationError(f"'{name}' needs the argument '{key}'", call.span, _EXAMPLES[name])
    return _CANONICAL[name](given, call.span)


def _shown(call: Call) -> str:
    return f"{call.name}(" + ", ".join(f"{k}={v}" if k else str(v) for k, v in call.args) + ")"


def _with_parameters(role: str) -> str:
    return "functions with arguments here: " + ", ".join(PARAMETERS.get(role, {})) if PARAMETERS.get(role) \
        else f"no {role} function takes arguments"


_EXAMPLES = {
    "leakyrelu": "e.g. leakyrelu(0.2): the slope for x < 0",
    "slice": "e.g. slice(rows=[0, 2], cols=[1, 3]): rows 0..1 and columns 1..2 (ends excluded)",
    "reshape": "e.g. reshape(shape=[2, 3]), or reshape(shape=6) for a column of 6",
    "softmax": "e.g. softmax(agg_terms=[J]): J a variable of the rule's head",
}


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and abs(x) != float("inf")


def _leakyrelu(given: dict[str, Any], span: Span | None) -> str:
    slope = given.get("slope")
    if slope is None:
        return "leakyrelu"
    if not _number(slope):
        raise ValidationError(f"the slope of leakyrelu must be a finite number, got {slope}", span,
                              _EXAMPLES["leakyrelu"])
    slope = float(slope)
    return "leakyrelu" if slope == DEFAULT_SLOPE else f"leakyrelu({slope!r})"


def _range(key: str, value: Any, span: Span | None) -> tuple[int, int] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_int(v) for v in value) \
            or not 0 <= value[0] < value[1]:
        raise ValidationError(f"'{key}' of slice must be [start, end] with whole numbers 0 <= start < end, "
                              f"got {value}", span, _EXAMPLES["slice"])
    return int(value[0]), int(value[1])


def _slice(given: dict[str, Any], span: Span | None) -> str:
    parts = []
    for key in ("rows", "cols"):
        r = _range(key, given.get(key), span)
        if r is not None:
            parts.append(f"{key}=[{r[0]}, {r[1]}]")
    if not parts:
        raise ValidationError("slice needs rows=[start, end], cols=[start, end] or both", span, _EXAMPLES["slice"])
    return f"slice({', '.join(parts)})"


def _reshape(given: dict[str, Any], span: Span | None) -> str:
    shape = given["shape"]
    dims = [shape] if _is_int(shape) else shape
    if not isinstance(dims, (list, tuple)) or not 1 <= len(dims) <= 2 or not all(_is_int(d) and d > 0
                                                                                 for d in dims):
        raise ValidationError(f"the shape of reshape is 1 or 2 whole numbers > 0, got {shape}", span,
                              _EXAMPLES["reshape"])
    rows, cols = (dims[0], 1) if len(dims) == 1 else dims
    return f"reshape(shape=[{rows}, {cols}])"


_VARIABLE = re.compile(r"[A-Z][A-Za-z0-9_-]*|_[A-Za-z0-9_-]+")


def _softmax(given: dict[str, Any], span: Span | None) -> str:
    terms = given.get("agg_terms")
    if terms is None:
        return "softmax"
    if not isinstance(terms, (list, tuple)) or not terms or not all(isinstance(t, str) and _VARIABLE.fullmatch(t)
                                                                    for t in terms):
        raise ValidationError(f"agg_terms of softmax is a list of the head's variables, got {terms}", span,
                              _EXAMPLES["softmax"])
    if len(set(terms)) != len(terms):
        raise ValidationError(f"agg_terms of softmax lists a variable twice: {terms}", span)
    return f"softmax(agg_terms=[{', '.join(terms)}])"


_CANONICAL = {"leakyrelu": _leakyrelu, "slice": _slice, "reshape": _reshape, "softmax": _softmax}


# --------------------------------------------------------------------------- reading canonical texts

_CALL = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\((.*)\)\s*", re.S)
_ITEM = re.compile(r"\s*(?:([a-z_]+)\s*=\s*)?(\[[^\]]*\]|\([^)]*\)|[^,\[\]()]+)\s*(?:,|$)")


def parse_call(text: str) -> Call | None:
    """``name(args)`` text as a :class:`Call` (numbers, names and lists of them), or None when malformed."""
    m = _CALL.fullmatch(text)
    if m is None:
        return None
    name, inner = m.group(1), m.group(2)
    args: list[tuple[str | None, Any]] = []
    at = 0
    while inner[at:].strip():
        item = _ITEM.match(inner, at)
        if item is None or item.end() == at:
            return None
        args.append((item.group(1), _atom_value(item.group(2).strip())))
        at = item.end()
    return Call(name, tuple(args))


def _atom_value(text: str) -> Any:
    if text[:1] in "[(":
        inner = text[1:-1].strip()
        return [_atom_value(t.strip()) for t in inner.split(",")] if inner else []
    if text == "...":
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def function_parts(text: str) -> tuple[str, dict[str, Any]]:
    """The name and the parameters of a canonical function text (``leakyrelu(0.2)`` -> leakyrelu, slope 0.2)."""
    if "(" not in text:
        return text, {}
    call = parse_call(text)
    if call is None:
        raise ValueError(f"not a function text: {text!r}")
    params = dict(call.args)
    if call.name == "leakyrelu":
        return "leakyrelu", {"slope": float(call.args[0][1])}
    return call.name, params


def literal_function_text(function: str, inner: str) -> str:
    """A function applied to a body literal as text: ``sqrt(h(X))``, ``leakyrelu(h(X), 0.2)``,
    ``slice(h(X), rows=[0, 2])`` (PyNeuraLogic's spelling: the literal first, then the arguments)."""
    if "(" not in function:
        return f"{function}({inner})"
    m = _CALL.fullmatch(function)
    return f"{m.group(1)}({inner}, {m.group(2)})"


def function_name(text: str) -> str:
    """The bare name of a canonical function text (``slice(rows=[0, 2])`` -> ``slice``)."""
    return text.split("(", 1)[0]


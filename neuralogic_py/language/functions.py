"""The function names the language knows, per role, with the reference's aliases.

Names are case-insensitive in the reference engine; we store them lower-case and
canonical (``sigm`` -> ``sigmoid``). The maths behind each name lives in the engine.
"""

from __future__ import annotations

import difflib

ACTIVATIONS = (
    "sigmoid", "tanh", "relu", "leakyrelu", "signum", "lukasiewicz", "exp", "log",
    "sqrt", "inverse", "reverse", "identity", "transpose", "norm", "softmax", "sparsemax",
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


def canonical_function(role: str, name: str) -> str | None:
    """The canonical name of ``name`` in ``role``, or None when unknown."""
    key = ALIASES.get(name.lower(), name.lower())
    return key if key in ROLES[role] else None


def suggest(name: str, known: tuple[str, ...] | list[str]) -> str | None:
    """'did you mean ...?' text for a misspelt name, or None."""
    close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None

"""Checked construction of weight values from their written numbers.

Both the parser and the Python DSL build values here, so a malformed value gets
the same message whichever way it was written.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from ..errors import Span, ValidationError
from . import ir


def _float(x: Any, span: Span | None) -> float:
    value = float(str(x)) if not isinstance(x, (int, float)) else float(x)
    if not math.isfinite(value):
        raise ValidationError(f"weight values must be finite numbers, got {value}", span)
    return value


def _index(x: Any, what: str, span: Span | None, minimum: int = 0) -> int:
    text = str(x)
    try:
        value = int(text) if not isinstance(x, float) else None
    except ValueError:
        value = None
    if value is None or (isinstance(x, float) and not x.is_integer()):
        raise ValidationError(f"{what} must be a whole number, got {text}", span)
    if value < minimum:
        raise ValidationError(f"{what} must be at least {minimum}, got {value}", span)
    return value


def make_dims(numbers: Sequence[Any], span: Span | None) -> ir.Dims:
    dims = tuple(_index(n, "a dimension", span, 1) for n in numbers)
    if len(dims) > 2:
        raise ValidationError(f"weights have at most 2 dimensions, got {{{','.join(map(str, dims))}}}", span,
                              "use {n} or {n,1} for a column vector, {1,n} for a row, {r,c} for a matrix")
    return ir.Dims(dims)


def make_value(kind: str, parts: Sequence[Any], span: Span | None) -> ir.Value:
    """Build a value of ``kind`` (scalar, dims, vector, matrix, sparse) from written parts."""
    if kind == "scalar":
        return ir.Scalar(_float(parts[0], span))
    if kind == "dims":
        return make_dims(parts, span)
    if kind == "vector":
        return ir.Vector(tuple(_float(x, span) for x in parts))
    if kind == "matrix":
        rows = tuple(tuple(_float(x, span) for x in row) for row in parts)
        for i, row in enumerate(rows[1:], 2):
            if len(row) != len(rows[0]):
                raise ValidationError(f"matrix rows differ in length: row 1 has {len(rows[0])} numbers, "
                                      f"row {i} has {len(row)}", span, "all rows of a matrix need the same number of entries")
        return ir.Matrix(rows)
    if kind == "sparse":
        size, entries = parts
        return make_sparse(size, entries, span)
    raise AssertionError(kind)


def make_sparse(size: Sequence[Any], entries: Sequence[tuple[Sequence[Any], Any]], span: Span | None) -> ir.Value:
    """``[n|i:v, ...]`` (a vector) or ``[r,c|(i,j:v), ...]`` (a matrix); indices are 0-based."""
    dims = make_dims(size, span).dims
    seen: set[tuple[int, ...]] = set()
    out = []
    for index, value in entries:
        idx = tuple(_index(i, "a sparse index", span) for i in index)
        if len(idx) != len(dims):
            raise ValidationError(f"a sparse entry of a {len(dims)}-dimensional value needs {len(dims)} "
                                  f"index(es), got {len(idx)}", span)
        for i, d in zip(idx, dims):
            if i >= d:
                raise ValidationError(f"sparse index {i} is out of range for size {d} (indices start at 0)", span)
        if idx in seen:
            raise ValidationError(f"sparse index {idx if len(idx) > 1 else idx[0]} is given twice", span)
        seen.add(idx)
        out.append((*idx, _float(value, span)))
    if len(dims) == 1:
        return ir.SparseVector(dims[0], tuple(out))  # type: ignore[arg-type]
    return ir.SparseMatrix(dims[0], dims[1], tuple(out))  # type: ignore[arg-type]

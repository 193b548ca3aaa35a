"""Value shapes of neurons, worked out before any number is computed (language.md §5.3).

Shapes are 2-D blocks ``(rows, cols)`` (see :mod:`.parameters`). Each function gives
the shape a neuron's step produces from the shapes it receives, or raises
:class:`ShapeMismatch` with the reason; :mod:`.network` turns that into a
positioned error naming the rule, the literal and both shapes.

* ``w.times(x)``: a scalar on either side scales the other; otherwise a matrix
  product, so ``(r, c) x (c, k) -> (r, k)`` (matrix x column, row x column = dot,
  column x row = outer, row x matrix); a column times a column has no product.
* element-wise combinations (sum, avg, max, min, elproduct): equal shapes, a scalar
  broadcasting over any;
* product: ``times`` left to right; crosssum: a column of ``prod(sizes)``; concat,
  softmax, sparsemax: a column of ``sum(sizes)``; cossim: two values of one size give
  a scalar; count: a scalar;
* a neuron with a single input skips its combination (count, softmax and sparsemax
  give the constant 1, a scalar), as the reference does;
* activations keep the shape, except transpose, slice (the block) and reshape (the
  same elements, row by row, in the new shape);
* aggregations: sum, avg, max, min keep the members' common shape; count is a
  scalar; concat and softmax give a column of ``members x size`` (one member: concat
  is the identity and softmax the constant 1).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..language.functions import function_parts
from .parameters import Shape, shape_text

SCALAR: Shape = (1, 1)

ELEMENTWISE = ("sum", "avg", "max", "min", "elproduct")
CONSTANT_ON_ONE = ("count", "softmax", "sparsemax")  # single input -> constant 1


class ShapeMismatch(Exception):
    """Shapes that a step cannot combine; ``args[0]`` says why, in words."""


def size(shape: Shape) -> int:
    return shape[0] * shape[1]


def times_shape(w: Shape, x: Shape) -> Shape:
    if w == SCALAR:
        return x
    if x == SCALAR:
        return w
    if w[1] != x[0]:
        raise ShapeMismatch(f"a {shape_text(w)} cannot multiply a {shape_text(x)}")
    return (w[0], x[1])


def elementwise_shape(shapes: Sequence[Shape], what: str) -> Shape:
    out = SCALAR
    for s in shapes:
        if s == SCALAR:
            continue
        if out != SCALAR and s != out:
            raise ShapeMismatch(f"{what} cannot combine a {shape_text(out)} with a {shape_text(s)}")
        out = s
    return out


def combination_shape(name: str, shapes: Sequence[Shape]) -> Shape:
    """The shape of combining ``shapes`` (the offset first) with combination ``name``."""
    if len(shapes) == 1:
        return SCALAR if name in CONSTANT_ON_ONE else shapes[0]
    if name in ELEMENTWISE:
        return elementwise_shape(shapes, name)
    if name == "count":
        return SCALAR
    if name == "product":
        out = shapes[0]
        for s in shapes[1:]:
            out = times_shape(out, s)
        return out
    if name == "crosssum":
        n = 1
        for s in shapes:
            n *= size(s)
        return (n, 1)
    if name in ("concat", "softmax", "sparsemax"):
        return (sum(size(s) for s in shapes), 1)
    if name == "cossim":
        if len(shapes) != 2:
            raise ShapeMismatch(f"cossim compares exactly 2 values, got {len(shapes)}")
        if size(shapes[0]) != size(shapes[1]):
            raise ShapeMismatch(f"cossim cannot compare a {shape_text(shapes[0])} with a {shape_text(shapes[1])}")
        return SCALAR
    raise AssertionError(f"unknown combination {name}")


def activation_shape(name: str, shape: Shape) -> Shape:
    """The shape activation ``name`` (a canonical text, :mod:`~neuralogic_py.language.functions`) gives."""
    if name == "transpose":
        return (shape[1], shape[0])
    if "(" not in name:
        return shape
    base, params = function_parts(name)
    if base == "slice":
        out = []
        for axis, key in enumerate(("rows", "cols")):
            lo, hi = params.get(key, (0, shape[axis]))
            if hi > shape[axis]:
                raise ShapeMismatch(f"{name} needs {hi} {key} but the value is a {shape_text(shape)}")
            out.append(hi - lo)
        return (out[0], out[1])
    if base == "reshape":
        rows, cols = params["shape"]
        if rows * cols != size(shape):
            raise ShapeMismatch(f"{name} needs {rows * cols} elements but the value is a {shape_text(shape)}")
        return (rows, cols)
    return shape


def aggregation_shape(name: str, member: Shape, count: int) -> Shape:
    if name == "count":
        return SCALAR
    if name in ("concat", "softmax"):
        if count == 1:  # a single input skips its combination: concat is the identity, softmax the constant 1
            return member if name == "concat" else SCALAR
        return (count * size(member), 1)
    return member

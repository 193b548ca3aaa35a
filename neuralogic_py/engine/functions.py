"""The language's function names (:mod:`neuralogic_py.language.functions`) mapped to engine ops.

* ``activation(spec)(x)``: applied to a batch of values ``(n, rows, cols)``; ``spec`` is a
  name of ``ACTIVATIONS`` or a canonical text with parameters (``leakyrelu(0.2)``,
  ``slice(rows=[0, 2])``, ``reshape(shape=[2, 3])``).
* ``COMBINATIONS[name](*inputs)``: one call per neuron group; input ``i`` holds body
  position ``i`` (after its weight) of every neuron, ``(n, r_i, c_i)``, or a shared
  ``(r_i, c_i)`` value such as an offset (the first input, as in the reference).
* ``AGGREGATIONS[name](x, segments)``: reduces member rows of ``x`` into one row per
  segment (aggregation neuron). ``softmax(agg_terms=[...])`` is :func:`split_softmax`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from ..language.functions import function_parts
from . import ops
from .segments import Segments
from .tape import value_of


def _leakyrelu(slope: float) -> Callable[[Any], Any]:
    return lambda x: ops.leakyrelu(x, slope)


ACTIVATIONS = {
    "sigmoid": ops.sigmoid, "tanh": ops.tanh, "relu": ops.relu, "leakyrelu": ops.leakyrelu,
    "signum": ops.signum, "lukasiewicz": ops.lukasiewicz, "exp": ops.exp, "log": ops.log,
    "sqrt": ops.sqrt, "inverse": ops.inverse, "reverse": ops.reverse, "identity": ops.identity,
    "transpose": ops.transpose, "norm": ops.norm, "softmax": ops.softmax, "sparsemax": ops.sparsemax,
}
COMBINATIONS = {
    "sum": ops.combine_sum, "avg": ops.combine_avg, "max": ops.combine_max, "min": ops.combine_min,
    "count": ops.combine_count, "product": ops.combine_product, "elproduct": ops.combine_elproduct,
    "crosssum": ops.combine_crosssum, "concat": ops.combine_concat, "cossim": ops.combine_cossim,
    "softmax": ops.combine_softmax, "sparsemax": ops.combine_sparsemax,
}
AGGREGATIONS = {
    "sum": ops.segment_sum, "avg": ops.segment_mean, "max": ops.segment_max, "min": ops.segment_min,
    "count": ops.segment_count, "concat": ops.segment_concat, "softmax": ops.aggregate_softmax,
}


@functools.cache
def activation(spec: str) -> Callable[[Any], Any]:
    """The op computing activation ``spec`` (a plain name or a canonical text with parameters)."""
    if spec in ACTIVATIONS:
        return ACTIVATIONS[spec]
    name, params = function_parts(spec)
    if name == "leakyrelu":
        return _leakyrelu(params["slope"])
    if name == "slice":
        rows, cols = (slice(*params[key]) if key in params else slice(None) for key in ("rows", "cols"))
        return lambda x: ops.slice_values(x, rows, cols)
    if name == "reshape":
        r, c = params["shape"]
        return lambda x: ops.reshape(x, value_of(x).shape[:-2] + (r, c))
    raise KeyError(f"unknown activation {spec!r}")


def split_softmax(x: Any, partition: Segments, groups: Segments) -> Any:
    """``softmax(agg_terms=[...])``: ``y_g = sum_{m in g} exp x_m / sum_{m' in P(g)} exp x_m'`` per element.

    ``partition`` maps members to the partitions (heads equal but for the listed
    variables), ``groups`` maps them to their own aggregation neuron; both are ops, so the
    gradient is the softmax's and the sum's.
    """
    return ops.segment_sum(ops.segment_softmax(x, partition), groups)

"""The language's function names (:mod:`neuralogic_py.language.functions`) mapped to engine ops.

* ``ACTIVATIONS[name](x)``: applied to a batch of values ``(n, rows, cols)``.
* ``COMBINATIONS[name](*inputs)``: one call per neuron group; input ``i`` holds body
  position ``i`` (after its weight) of every neuron, ``(n, r_i, c_i)``, or a shared
  ``(r_i, c_i)`` value such as an offset (the first input, as in the reference).
* ``AGGREGATIONS[name](x, segments)``: reduces member rows of ``x`` into one row per
  segment (aggregation neuron).
"""

from __future__ import annotations

from . import ops

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

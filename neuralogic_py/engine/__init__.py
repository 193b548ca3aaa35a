"""Batched reverse-mode autodiff on numpy: the primitives a compiled neuron plan is made of.

Shape convention. Every neuron value is a 2-D block ``(rows, cols)``: a scalar is
``(1, 1)``, a column vector ``(k, 1)``, a row vector ``(1, k)``, a matrix ``(r, c)``. A
group of n neurons computed together is one float64 array ``(n, rows, cols)``. A 2-D
array (a weight, an offset) is one value shared by the whole batch: numpy broadcasting
applies it to every row, and its gradient is summed over the batch. So a body weight
is ``matmul(W, x)`` with ``W (r, c)`` and ``x (n, c, k)`` (one GEMM for the group), and a
scalar weight ``(1, 1)`` scales element-wise (:func:`ops.times` picks between them as
the reference's ``w.times(x)`` does).

Structure. :class:`Segments` maps member rows to segment rows once per plan: gathers
(inputs of a neuron group) and segment reductions (aggregations) reuse its cached
index arrays, CSR matrix and sort order every epoch.

Differentiation. Parameters are :func:`variable` tensors; calling ops on tensors
records a tape; :func:`backward` (or :func:`value_and_grad`) returns gradients. The
maths is one table, :mod:`neuralogic_py.engine.ops`; the tape
(:mod:`neuralogic_py.engine.tape`) knows none of it.
"""

from . import ops  # registers every primitive in OPS
from .segments import Segments
from .tape import OPS, Primitive, Tensor, backward, constant, grad, value_and_grad, variable

__all__ = ["OPS", "Primitive", "Segments", "Tensor", "backward", "constant", "grad", "ops", "value_and_grad",
           "variable"]

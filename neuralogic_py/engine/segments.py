"""Segments: a static many-to-one map from rows (members) to groups (segments).

Member ``j`` belongs to segment ``ids[j]``. The same structure serves both
directions of a neuron layer:

* **reduce** member rows into segment rows: ``sum``, ``mean``, ``max``, ``min``,
  ``concat`` (an aggregation neuron reduces the rule neurons of its ground bodies);
* **gather** segment rows out to members: ``gather(x)[j] = x[ids[j]]`` (a rule neuron
  reads the output of the atom neuron in one body position).

``gather`` and ``sum`` are each other's transpose, which is why each is the other's
vector-Jacobian product. Arrays are batches of values, shape ``(n, rows, cols)``
(see :mod:`neuralogic_py.engine`); reductions act on axis 0, element by element.

Kernels (measured in ``benchmarks/engine_ops.py``): sums of scalars use
``np.bincount``; sums of larger values multiply by a cached CSR matrix of ones
(segments x members), built straight from the sort order, which adds each
segment's members one after another in member order (``np.add.reduceat`` would be 2x
faster on one molecule's layer but adds in another order, so results would depend on
the batch size in the last bit); max/min use ``ufunc.reduceat`` over members sorted
by segment (a cached stable sort when ``ids`` is not already sorted). Everything a
plan reuses across epochs is computed once, on first use, and kept.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


class Segments:
    """Member ``j`` belongs to segment ``ids[j]``, for ``0 <= ids[j] < n_segments``."""

    def __init__(self, ids: np.ndarray, n_segments: int) -> None:
        ids = np.ascontiguousarray(ids, dtype=np.intp)
        if ids.ndim != 1:
            raise ValueError(f"segment ids must be one-dimensional, got shape {ids.shape}")
        if ids.size and (ids.min() < 0 or ids.max() >= n_segments):
            raise ValueError(f"segment ids must lie in [0, {n_segments}), got [{ids.min()}, {ids.max()}]")
        self.ids = ids
        self.n_segments = int(n_segments)
        self.counts = np.bincount(ids, minlength=self.n_segments)
        self.has_empty = bool(self.n_segments) and int(self.counts.min()) == 0
        is_sorted = bool(np.all(ids[1:] >= ids[:-1]))
        # order: members sorted by segment (stable, so members keep their order inside a segment)
        self.order = None if is_sorted else np.argsort(ids, kind="stable")
        self.sorted_ids = ids if is_sorted else ids[self.order]
        self.starts = np.cumsum(self.counts) - self.counts  # first sorted position of each segment
        self._matrix: sp.csr_array | None = None

    @classmethod
    def from_offsets(cls, offsets: np.ndarray) -> Segments:
        """Contiguous segments: members ``offsets[s]:offsets[s+1]`` form segment ``s`` (CSR row pointers)."""
        offsets = np.asarray(offsets, dtype=np.intp)
        counts = np.diff(offsets)
        if offsets.ndim != 1 or offsets.size == 0 or offsets[0] != 0 or np.any(counts < 0):
            raise ValueError("segment offsets must start at 0 and never decrease")
        return cls(np.repeat(np.arange(counts.size), counts), counts.size)

    @property
    def n_members(self) -> int:
        return self.ids.size

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays held, the cached matrix included once built."""
        arrays = [self.ids, self.counts, self.starts]
        if self.order is not None:
            arrays += [self.order, self.sorted_ids]
        if self._matrix is not None:
            arrays += [self._matrix.data, self._matrix.indices, self._matrix.indptr]
        return sum(a.nbytes for a in arrays)

    @property
    def matrix(self) -> sp.csr_array:
        """The (segments x members) 0/1 matrix S with ``S[ids[j], j] = 1``, so ``sum(x) = S @ x``."""
        if self._matrix is None:
            # row s holds segment s's members in member order: the stable sort order, and the
            # row pointers are the segment starts (3x cheaper than converting (row, col) pairs)
            indptr = np.empty(self.n_segments + 1, dtype=np.intp)
            indptr[:-1] = self.starts
            indptr[-1] = self.n_members
            members = np.arange(self.n_members) if self.order is None else self.order
            self._matrix = sp.csr_array((np.ones(self.n_members), members, indptr),
                                        shape=(self.n_segments, self.n_members))
        return self._matrix

    # -- gather and sum: the transposes of each other -----------------------------------

    def gather(self, x: np.ndarray) -> np.ndarray:
        """Row ``j`` of the result is ``x[ids[j]]`` (x has one row per segment)."""
        self._require_rows(x, self.n_segments, "gather from")
        return np.take(x, self.ids, axis=0)

    def sum(self, x: np.ndarray) -> np.ndarray:
        """Row ``s`` of the result is the sum of the member rows of segment ``s`` (0 when empty)."""
        self._require_rows(x, self.n_members, "sum")
        n, *value_shape = x.shape
        width = math.prod(value_shape)
        if width == 1:
            summed = np.bincount(self.ids, weights=x.reshape(n), minlength=self.n_segments)
        else:
            summed = self.matrix @ x.reshape(n, width)
        return summed.reshape(self.n_segments, *value_shape)

    @staticmethod
    def _require_rows(x: np.ndarray, rows: int, what: str) -> None:
        if len(x) != rows:
            raise ValueError(f"{what} an array of {len(x)} rows where the segments expect {rows}")

    # -- reductions that need every segment non-empty ------------------------------------

    def require_nonempty(self, what: str) -> None:
        if self.has_empty:
            empty = int(np.flatnonzero(self.counts == 0)[0])
            raise ValueError(f"{what} over an empty segment (segment {empty} has no members)")

    def per_segment(self, x: np.ndarray) -> np.ndarray:
        """``x`` of shape (n_segments,) as a column that broadcasts over values."""
        return x.reshape(self.n_segments, 1, 1)

    def mean(self, x: np.ndarray) -> np.ndarray:
        self.require_nonempty("mean")
        return self.sum(x) / self.per_segment(self.counts)

    def sorted_members(self, x: np.ndarray) -> np.ndarray:
        self._require_rows(x, self.n_members, "reduce")
        return x if self.order is None else np.take(x, self.order, axis=0)

    def unsort_members(self, x_sorted: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`sorted_members`."""
        if self.order is None:
            return x_sorted
        out = np.empty_like(x_sorted)
        out[self.order] = x_sorted
        return out

    def reduce(self, ufunc: np.ufunc, x: np.ndarray) -> np.ndarray:
        """Element-wise ``ufunc`` reduction (np.maximum, np.minimum) over each segment's members."""
        self.require_nonempty(ufunc.__name__)
        if self.n_segments == 0:
            return np.empty((0, *x.shape[1:]))
        return ufunc.reduceat(self.sorted_members(x), self.starts, axis=0)

    def route_to_extreme(self, g: np.ndarray, x: np.ndarray, reduced: np.ndarray) -> np.ndarray:
        """Gradient of a segment max (or min): each segment's ``g`` goes, element by element, to the
        member whose value equals ``reduced``; on ties the first member in member order wins, so
        exactly one member per segment and element receives it."""
        members = self.sorted_members(x).reshape(self.n_members, -1)
        hit = members == np.take(reduced, self.sorted_ids, axis=0).reshape(self.n_members, -1)
        candidates = np.where(hit, np.arange(self.n_members)[:, None], self.n_members)
        first = np.minimum.reduceat(candidates, self.starts, axis=0)  # (segments, elements), sorted positions
        routed = np.zeros_like(members)
        routed[first, np.arange(members.shape[1])] = g.reshape(self.n_segments, -1)
        return self.unsort_members(routed.reshape(x.shape))

    def softmax(self, x: np.ndarray) -> np.ndarray:
        """Softmax across each segment's members, element by element: ``exp(x_j) / sum_seg exp``."""
        shifted = np.exp(x - self.gather(self.reduce(np.maximum, x)))
        return shifted / self.gather(self.sum(shifted))

    # -- concatenation -------------------------------------------------------------------

    def uniform_count(self) -> int:
        """The common number of members per segment; concat needs one so the result is one array."""
        if self.n_segments == 0:
            return 0
        k = int(self.counts[0])
        if k == 0 or np.any(self.counts != k):
            raise ValueError("concat needs the same non-zero number of members in every segment; "
                             f"got counts from {self.counts.min()} to {self.counts.max()}")
        return k

    def concat(self, x: np.ndarray) -> np.ndarray:
        """Each segment's member values, flattened row-major in member order, as one column vector."""
        k = self.uniform_count()
        return self.sorted_members(x).reshape(self.n_segments, k * int(np.prod(x.shape[1:])), 1)

    def split(self, g: np.ndarray, value_shape: tuple[int, ...]) -> np.ndarray:
        """Inverse of :meth:`concat`: column vectors back to member values."""
        return self.unsort_members(g.reshape(self.n_members, *value_shape))

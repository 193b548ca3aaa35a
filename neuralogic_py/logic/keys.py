"""Vectorised relational kernels on integer columns: packed keys, sorted joins, key sets.

Every tuple the grounder handles is a row of small non-negative integers (an
example id and constant ids). Comparing rows is done on one int64 *key* per row,
the mixed-radix number ``((c0 * r1 + c1) * r2 + c2) ...`` whose radices bound the
columns. When the product of the radices does not fit in 63 bits the columns are
first replaced by their dense ranks (``np.unique(..., return_inverse=True)`` over
every array being compared), which keeps the keys exact: there is no hashing and
so no collision anywhere.

Joins are sort-merge joins (reference peers.md §3.2): the build side is sorted by
key once, each probe key finds its range with two ``searchsorted`` calls, and the
matching pairs are expanded with ``repeat``. These measured fastest among the
numpy kernels for Datalog-style joins.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

INDEX = np.int64
_LIMIT = 1 << 62  # packed keys stay below this, so adding one radix digit cannot overflow


def pack(columns: Sequence[np.ndarray], radices: Sequence[int]) -> np.ndarray:
    """One exact int64 key per row of ``columns`` (each column ``0 <= c < radix``).

    Equal rows get equal keys, and the key order is the lexicographic row order.
    Only valid for comparing rows packed with the same radices; use
    :func:`pack_together` when the radices would overflow.
    """
    if not columns:
        raise ValueError("pack needs at least one column")
    total = 1
    for r in radices:
        total *= max(int(r), 1)
    if total >= _LIMIT:
        raise OverflowError("key space exceeds 62 bits")
    key = columns[0].astype(np.int64, copy=True)
    for col, radix in zip(columns[1:], radices[1:]):
        key *= max(int(radix), 1)
        key += col
    return key


def fits(radices: Sequence[int]) -> bool:
    total = 1
    for r in radices:
        total *= max(int(r), 1)
    return total < _LIMIT


def pack_together(groups: Sequence[Sequence[np.ndarray]], radices: Sequence[int]) -> list[np.ndarray]:
    """Keys for several row sets that must be comparable with each other.

    ``groups[g]`` holds the columns of row set ``g`` (same number of columns in
    each). Direct mixed-radix packing when it fits in 62 bits; otherwise columns
    are folded in one at a time and the running key is replaced by its dense rank
    over all groups whenever the next digit would overflow.
    """
    if fits(radices):
        return [pack(cols, radices) for cols in groups]
    sizes = [len(g[0]) for g in groups]
    cuts = np.cumsum(sizes)[:-1]
    keys = np.concatenate([g[0] for g in groups]).astype(np.int64)
    span = int(radices[0])
    for i in range(1, len(radices)):
        radix = max(int(radices[i]), 1)
        if span * radix >= _LIMIT:
            uniq, keys = np.unique(keys, return_inverse=True)
            keys = keys.astype(np.int64).reshape(-1)
            span = len(uniq)
        col = np.concatenate([g[i] for g in groups]).astype(np.int64)
        keys = keys * radix + col
        span *= radix
    return np.split(keys, cuts)


_SORT_PROBES = 256  # from this many unsorted probes on, they are sorted before the binary searches


def search(keys: np.ndarray, probe: np.ndarray, *sides: str) -> tuple[np.ndarray, ...]:
    """``np.searchsorted(keys, probe, side)`` for each of ``sides`` (default ``"left"``).

    Many unsorted probes are searched in sorted order and the results put back:
    several times faster, as consecutive binary searches then walk ``keys`` in order.
    """
    sides = sides or ("left",)
    if len(probe) < _SORT_PROBES or not (probe[1:] < probe[:-1]).any():
        return tuple(np.searchsorted(keys, probe, side) for side in sides)
    order = np.argsort(probe)
    ordered = probe[order]
    out = []
    for side in sides:
        at = np.empty(len(probe), dtype=INDEX)
        at[order] = np.searchsorted(keys, ordered, side)
        out.append(at)
    return tuple(out)


def unique_sorted(keys: np.ndarray) -> np.ndarray:
    """The distinct keys, ascending (sort + neighbour test: much faster than ``np.unique`` on int64)."""
    s = np.sort(keys)
    if len(s) < 2:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_index=True, return_inverse=True)`` for integer rows, faster.

    Each row is packed into one int64 key, column by column in mixed radix (each column shifted
    to start at 0), which keeps the lexicographic order, so the distinct rows, first positions
    and inverse are numpy's; rows whose value ranges do not fit 62 bits go to numpy itself.
    """
    rows = np.asarray(rows)
    if rows.ndim != 2 or not len(rows) or not rows.shape[1]:
        distinct, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return distinct, first, inverse.reshape(-1)
    low = rows.min(axis=0)
    span = rows.max(axis=0).astype(np.int64) - low + 1
    if float(np.prod(span.astype(np.float64))) >= 2.0 ** 62:
        distinct, first, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
        return distinct, first, inverse.reshape(-1)
    key = np.zeros(len(rows), np.int64)
    for j in range(rows.shape[1]):
        key = key * span[j] + (rows[:, j].astype(np.int64) - low[j])
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return rows[first], first, inverse.reshape(-1)


def stable_order(codes: np.ndarray, size: int) -> np.ndarray:
    """The stable sorting permutation of ``codes`` (each ``0 <= c < size``): a radix sort when they fit 16 bits."""
    return np.argsort(codes.astype(np.uint16) if size <= 1 << 16 else codes, kind="stable")


def first_appearance(ids: np.ndarray, size: int) -> np.ndarray:
    """The distinct values of ``ids`` (each ``0 <= i < size``) in order of first appearance."""
    first = np.full(size, len(ids), dtype=np.int64)
    np.minimum.at(first, ids, np.arange(len(ids)))
    distinct = np.flatnonzero(first < len(ids))
    return distinct[np.argsort(first[distinct])]


def first_rows(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys ascending, one row index holding each) - which row of equal keys is unspecified."""
    order = np.argsort(keys)
    s = keys[order]
    if len(s) < 2:
        return s, order
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep], order[keep]


class IdMap:
    """A growing map from int64 keys to dense ids ``0, 1, 2, ...`` in order of first sight."""

    __slots__ = ("keys", "ids")

    def __init__(self) -> None:
        self.keys = np.zeros(0, dtype=np.int64)  # sorted
        self.ids = np.zeros(0, dtype=np.int64)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """The id of each key, -1 for keys never added."""
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(search(self.keys, keys)[0], len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.ids[at], -1)

    def add(self, keys: np.ndarray) -> np.ndarray:
        """The id of each key, giving new keys the next ids."""
        ids = self.find(keys)
        missing = ids < 0
        if missing.any():
            fresh = unique_sorted(keys[missing])
            all_keys = np.concatenate([self.keys, fresh])
            all_ids = np.concatenate([self.ids, np.arange(len(self.keys), len(self.keys) + len(fresh))])
            order = np.argsort(all_keys)
            self.keys, self.ids = all_keys[order], all_ids[order]
            ids[missing] = self.find(keys[missing])
        return ids


class TupleKeys:
    """Exact int64 keys of rows whose radix product may exceed 62 bits.

    Columns are packed left to right in segments that fit; each full segment
    is replaced by a dense id from an :class:`IdMap` (stable as tuples are
    added), which then leads the next segment. Keys of rows never added with
    ``add=True`` come out as -1. When everything fits this is plain
    :func:`pack`.
    """

    _ID_BITS = 31  # dense ids stay below 2**31: that many distinct prefixes would not fit in memory anyway

    def __init__(self, radices: Sequence[int]):
        self.radices = [max(int(r), 1) for r in radices]
        self.segments: list[list[int]] = []
        if fits(self.radices):
            self.segments = [list(range(len(self.radices)))]
        else:
            current, span = [], 1
            for i, r in enumerate(self.radices):
                if current and span * r >= _LIMIT:
                    self.segments.append(current)
                    current, span = [], 1 << self._ID_BITS
                current.append(i)
                span *= r
            self.segments.append(current)
        self.maps = [IdMap() for _ in self.segments[:-1]]

    def __call__(self, columns: Sequence[np.ndarray], add: bool = False) -> np.ndarray:
        lead = None
        for k, segment in enumerate(self.segments):
            cols = ([lead] if lead is not None else []) + [columns[i] for i in segment]
            radices = ([1 << self._ID_BITS] if lead is not None else []) + [self.radices[i] for i in segment]
            key = pack(cols, radices)
            if lead is not None:
                key[lead < 0] = -1
            if k == len(self.maps):
                return key
            known = key >= 0
            lead = np.full(len(key), -1, dtype=np.int64)
            lead[known] = (self.maps[k].add if add else self.maps[k].find)(key[known])
        raise AssertionError("unreachable")


def expand_matches(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (probe row i, sorted position p) with ``lo[i] <= p < hi[i]``."""
    counts = hi - lo
    total = int(counts.sum())
    probe = np.repeat(np.arange(len(lo), dtype=INDEX), counts)
    if total == 0:
        return probe, np.zeros(0, dtype=INDEX)
    starts = np.cumsum(counts) - counts
    position = np.repeat(lo - starts, counts) + np.arange(total, dtype=INDEX)
    return probe, position


# Key ranges small enough for direct addressing (a "perfect hash"): at most this many slots ...
_DENSE_SLOTS = 1 << 27
# ... and bitmaps of at most this many bits (64 MB) for key sets.
BITMAP_BITS = 1 << 29


class SortedIndex:
    """A build side of a sort-merge join: keys sorted once, with the row order.

    When the keys span a small range, the start of each key's run is also kept
    in a direct-address table, so a probe costs one gather instead of two binary
    searches.
    """

    __slots__ = ("order", "keys", "starts")

    def __init__(self, keys: np.ndarray):
        self.order = np.argsort(keys)
        self.keys = keys[self.order]
        self.starts = None
        if len(keys):
            span = int(self.keys[-1]) + 1
            if span <= _DENSE_SLOTS and span <= max(16 * len(keys), 1 << 16):
                starts = np.empty(span + 2, dtype=INDEX)
                starts[0] = 0
                np.cumsum(np.bincount(self.keys, minlength=span), out=starts[1:span + 1])
                starts[span + 1] = len(keys)
                self.starts = starts

    def _ranges(self, probe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.starts is not None:
            span = len(self.starts) - 2
            slot = np.minimum(probe, span)
            return self.starts[slot], self.starts[slot + 1]
        lo, hi = search(self.keys, probe, "left", "right")
        return lo, hi

    def match(self, probe: np.ndarray, max_pairs: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probe row, build row) for every pair of equal keys; :class:`TooManyPairs` beyond ``max_pairs``.

        The pairs are counted from the key ranges before any is made, so a join that
        would not fit in memory stops before allocating.
        """
        lo, hi = self._ranges(probe)
        if max_pairs is not None:
            pairs = int((hi - lo).sum())
            if pairs > max_pairs:
                raise TooManyPairs(pairs)
        rows, position = expand_matches(lo, hi)
        return rows, self.order[position]


class TooManyPairs(Exception):
    """A join would make more pairs than allowed (``pairs``); the caller says which join it was."""

    def __init__(self, pairs: int) -> None:
        super().__init__(pairs)
        self.pairs = pairs


class KeySet:
    """A growing set of int64 keys in ``[0, space)``.

    Small key spaces use a bitmap. Otherwise keys are kept as a few sorted runs
    (an LSM layout): ``add_new`` appends a run and merges the two newest runs
    while the older one is not more than twice as large, so there are O(log n)
    runs and every key is re-sorted O(log n) times in total - instead of
    re-sorting the whole set on every semi-naive iteration.
    """

    __slots__ = ("runs", "bits", "size", "space")

    def __init__(self, space: int | None = None):
        """``space``: the number of possible keys when a bitmap may be used (allocated on the first add)."""
        self.runs: list[np.ndarray] = []
        self.space = space if space is not None and space <= BITMAP_BITS else None
        self.bits: np.ndarray | None = None
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def contains(self, keys: np.ndarray) -> np.ndarray:
        if self.size == 0:
            return np.zeros(len(keys), dtype=bool)
        if self.bits is not None:
            return ((self.bits[keys >> 3] >> (keys & 7).astype(np.uint8)) & 1).astype(bool)
        found = np.zeros(len(keys), dtype=bool)
        for run in self.runs:
            (at,) = search(run, keys)
            at[at == len(run)] = 0
            found |= run[at] == keys
        return found

    def add_new(self, keys: np.ndarray) -> np.ndarray:
        """Add ``keys``; return a mask with one row of each key that was not in the set before."""
        if self.bits is None and self.space is not None:
            self.bits = np.zeros((self.space + 7) // 8, dtype=np.uint8)
        rows = np.flatnonzero(~self.contains(keys)) if self.bits is not None else np.arange(len(keys))
        uniq, first = first_rows(keys[rows])
        first = rows[first]
        if self.bits is None:
            fresh = ~self.contains(uniq)
            uniq, first = uniq[fresh], first[fresh]
        mask = np.zeros(len(keys), dtype=bool)
        mask[first] = True
        self.size += len(uniq)
        if not len(uniq):
            return mask
        if self.bits is not None:
            byte = uniq >> 3
            bit = np.left_shift(1, uniq & 7).astype(np.uint8)
            starts = np.flatnonzero(np.concatenate([[True], byte[1:] != byte[:-1]]))
            self.bits[byte[starts]] |= np.bitwise_or.reduceat(bit, starts)
            return mask
        self.runs.append(uniq)
        while len(self.runs) > 1 and len(self.runs[-2]) <= 2 * len(self.runs[-1]):
            newest = self.runs.pop()
            merged = np.concatenate([self.runs.pop(), newest])
            merged.sort()
            self.runs.append(merged)
        return mask

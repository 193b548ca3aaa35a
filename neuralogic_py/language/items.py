"""The plain items of a data text as integer columns, and a statement's items as a lazy IR sequence.

The scanner (:mod:`.scanner`) reads every plain item of a data text --
``[<]value[>] name(term, ...)`` -- into one :class:`ItemTable`: per item, its head
(predicate name and written value) and its terms, as integer columns that index
tables of the distinct heads and terms. A statement's items are then an
:class:`Items` range of that table: a sequence of the caller's converted items
(:func:`~.data.fact_of` makes facts of them), each converted when the sequence is
first read. Loading an examples file therefore creates no per-fact objects, and
grounding interns the columns directly
(:meth:`~neuralogic_py.logic.database.DatabaseBuilder.add_examples`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence, TypeVar, overload

import numpy as np

from . import ir

Item = TypeVar("Item")


@dataclass(eq=False)
class ItemTable:
    """The plain items of one text (see the module docstring).

    Heads: ``names[h]`` and ``weights[h]`` (the value written in front, or None).
    Terms: ``0 .. len(plain_terms) - 1`` are untyped constants with a name or an
    integer value, given by their values; ``other_terms`` (floats, typed constants,
    variables) follow. Item ``i`` is
    ``names[item_head[i]](terms[item_start[i]:item_start[i] + item_arity[i]])``.
    """

    names: list[str]
    weights: list[ir.Weight | None]
    plain_terms: list[str | int]
    other_terms: list[ir.Term]
    item_head: np.ndarray
    item_arity: np.ndarray
    item_start: np.ndarray
    terms: np.ndarray
    _constants: dict[int, ir.Term] = field(default_factory=dict, repr=False)
    _lists: tuple[list[int], list[int], list[int], list[int]] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.item_head)

    def term(self, t: int) -> ir.Term:
        """Term ``t`` as IR (constants given by their values are created on first use)."""
        n = len(self.plain_terms)
        if t >= n:
            return self.other_terms[t - n]
        term = self._constants.get(t)
        if term is None:
            term = self._constants[t] = ir.Constant(self.plain_terms[t])
        return term

    def _columns(self) -> tuple[list[int], list[int], list[int], list[int]]:
        """The columns as Python lists (made once), for reading items one by one."""
        if self._lists is None:
            self._lists = (self.item_head.tolist(), self.item_arity.tolist(), self.item_start.tolist(),
                           self.terms.tolist())
        return self._lists

    def keys(self, start: int, stop: int) -> list[tuple[int, ...]]:
        """``(head, term, ...)`` of items ``start .. stop - 1``: items with equal keys are equal."""
        heads, arities, starts, terms = self._columns()
        return [(h, *terms[s:s + a]) for h, a, s in zip(heads[start:stop], arities[start:stop], starts[start:stop])]

    def convert(self, start: int, stop: int, convert: Callable[[ir.Literal], Item], memo: dict,
                keys: list[tuple[int, ...]] | None = None) -> tuple[Item, ...]:
        """Items ``start .. stop - 1`` converted, each distinct item (by key) once per ``memo``.

        ``keys``: their keys, when the caller has them already.
        """
        out = []
        for i, key in enumerate(self.keys(start, stop) if keys is None else keys, start):
            item = memo.get(key)
            if item is None:
                item = memo[key] = convert(self.literal(i))
            out.append(item)
        return tuple(out)

    def literal(self, i: int) -> ir.Literal:
        """Item ``i`` as a literal (no negation: plain items have none)."""
        heads, arities, starts, terms = self._columns()
        head = heads[i]
        atom = ir.Atom(self.names[head], tuple(map(self.term, terms[starts[i]:starts[i] + arities[i]])))
        return ir.Literal(atom, self.weights[head])

    def signatures(self) -> tuple[list[tuple[str, int]], np.ndarray]:
        """The distinct ``(predicate, arity)`` pairs and, per item, the index of its pair."""
        name_ids: dict[str, int] = {}
        head_name = np.array([name_ids.setdefault(n, len(name_ids)) for n in self.names], dtype=np.int64)
        width = int(self.item_arity.max(initial=0)) + 1
        code = head_name[self.item_head] * width + self.item_arity
        codes = np.flatnonzero(np.bincount(code, minlength=1))
        dense = np.zeros(len(name_ids) * width, dtype=np.int64)
        dense[codes] = np.arange(len(codes))
        names = list(name_ids)
        return [(names[c // width], c % width) for c in codes.tolist()], dense[code]


class Items(Sequence[Item]):
    """Items ``start .. stop - 1`` of a table, each converted by ``convert`` when first read.

    Equal to the tuple of the converted items (and hashes like it), so IR holding
    an :class:`Items` equals IR holding that tuple. ``memo`` is shared by the ranges
    of one text: equal items (same head and terms) are converted once.
    """

    __slots__ = ("table", "start", "stop", "_convert", "_memo", "_items")

    def __init__(self, table: ItemTable, start: int, stop: int, convert: Callable[[ir.Literal], Item],
                 memo: dict) -> None:
        self.table = table
        self.start = start
        self.stop = stop
        self._convert = convert
        self._memo = memo
        self._items: tuple[Item, ...] | None = None

    def _tuple(self) -> tuple[Item, ...]:
        if self._items is None:
            self._items = self.table.convert(self.start, self.stop, self._convert, self._memo)
        return self._items

    def __len__(self) -> int:
        return self.stop - self.start

    @overload
    def __getitem__(self, i: int) -> Item: ...

    @overload
    def __getitem__(self, i: slice) -> tuple[Item, ...]: ...

    def __getitem__(self, i):
        return self._tuple()[i]

    def __iter__(self) -> Iterator[Item]:
        return iter(self._tuple())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Items):
            return self._tuple() == other._tuple()
        if isinstance(other, tuple):
            return self._tuple() == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._tuple())

    def __repr__(self) -> str:
        return repr(self._tuple())

    def __reduce__(self):
        return tuple, (self._tuple(),)  # a copy stands alone, without the whole text's table

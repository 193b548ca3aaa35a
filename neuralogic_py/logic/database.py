"""The integer-coded fact database that grounding runs on.

Constants, types and predicates are interned to dense ints. All examples of a
dataset live in one database: every relation is an ``int32`` array with one
column per argument plus an example-id column, so joins never cross examples and
one vectorised pass grounds every example. Template facts are added to every
example; a knowledge base is the one-example case (and a template with no data
is one empty example).

Constants
    ``a``, ``42`` and ``4.2`` are three different constants, and ``42`` is not
    ``42.0``; ``woman:ann`` differs from ``ann``. As in the reference, a name that
    is written with a type somewhere in the inputs (template and data together)
    is typed everywhere (``f(woman:ann), g(ann, bob)`` makes the ``ann`` of ``g``
    the typed one). A name written with two different types keeps its untyped
    occurrences untyped. The reverse table gives answers back as
    :class:`~neuralogic_py.language.ir.Constant`, so ints stay ints.

Fact values
    Each fact row points into ``Database.values`` (index 0 is the default value
    1.0). Duplicate facts of one example merge to the *maximum* value, as the
    reference does (``factMergeActivation=MAX``). For vectors and matrices of one
    shape the merge is element-wise (the reference compares vectors by their
    element sums and keeps the larger one - a quirk we do not copy). Duplicates
    that cannot be compared (learnable template values, different shapes) keep
    the first occurrence and warn.

Active domain
    The constants of an example are those of its facts, template facts
    included (they belong to every example). Constants written only in rules
    are not in it, as in the reference (whose domain is the terms of the
    example). Variables that no positive literal binds range over it (over the
    constants of their type when typed).
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field
from itertools import count, filterfalse, groupby, repeat
from typing import Sequence

import numpy as np

from ..errors import Span, ValidationError, warn
from ..language import ir
from ..language.items import Items, ItemTable
from .keys import first_appearance, pack_together, stable_order, unique_sorted

ID = np.int32


# --------------------------------------------------------------------------- constants


class Symbols:
    """Constant interning: ``id -> (value, type)`` and back, ints and floats kept apart.

    ``values[i]`` and ``types[i]`` give constant ``i``; :meth:`constant` its IR.
    """

    def __init__(self) -> None:
        self.values: list[str | int | float] = []
        self.types: list[str | None] = []
        # one dict per (type, float or not): 1 and 1.0 are equal in Python but distinct constants here
        self._ids: dict[tuple[str | None, bool], dict] = {}
        self._constants: dict[int, ir.Constant] = {}
        self._promoted: np.ndarray | None = None
        self._only_typed: dict[tuple[bool, object], int] = {}
        self._arrays: dict[str, np.ndarray] | None = None
        self.type_names: list[str] = []

    def __len__(self) -> int:
        return len(self.values)

    def constant(self, i: int) -> ir.Constant:
        """Constant ``i`` as IR."""
        c = self._constants.get(i)
        if c is None:
            c = self._constants[i] = ir.Constant(self.values[i], self.types[i])
        return c

    def _table(self, type_: str | None, value: object) -> dict:
        key = (type_, value.__class__ is float)
        table = self._ids.get(key)
        if table is None:
            table = self._ids[key] = {}
        return table

    def intern(self, constant: ir.Constant) -> int:
        value = constant.value
        table = self._table(constant.type, value)
        i = table.get(value)
        if i is None:
            i = table[value] = len(self.values)
            self.values.append(value)
            self.types.append(constant.type)
            self._constants[i] = constant
            self._arrays = None
        return i

    def intern_many(self, terms: list) -> list[int] | None:
        """Ids of many constants (None when one of them is a variable); untyped names take a fast path."""
        plain = self._table(None, "")
        get = plain.get
        intern = self.intern
        out = []
        append = out.append
        constant = ir.Constant
        for t in terms:
            if t.__class__ is not constant:
                return None
            i = get(t.value) if t.type is None and t.value.__class__ is str else None
            append(intern(t) if i is None else i)
        return out

    def intern_plain(self, values: Sequence[str | int]) -> np.ndarray:
        """Ids of untyped constants given by their distinct values (names and ints), new ones interned in order."""
        plain = self._table(None, "")
        new = list(filterfalse(plain.__contains__, values))
        start = len(self.values)
        if new:
            plain.update(zip(new, count(start)))
            self.values.extend(new)
            self.types.extend(repeat(None, len(new)))
            self._arrays = None
        if len(new) == len(values):  # all new (a first file): ids in order
            return np.arange(start, start + len(values), dtype=ID)
        return np.fromiter(map(plain.__getitem__, values), dtype=ID, count=len(values))

    def find(self, constant: ir.Constant) -> int | None:
        """The id of ``constant`` after type promotion, or None when no input mentions it."""
        promoted = self.promotion()
        value = constant.value
        table = self._ids.get((constant.type, value.__class__ is float))
        i = None if table is None else table.get(value)
        if i is None:
            # an untyped name that only ever occurs typed (with one type) means the typed constant
            return self._only_typed.get((value.__class__ is float, value)) if constant.type is None else None
        return int(promoted[i])

    def promotion(self) -> np.ndarray:
        """``id -> id``: an untyped name written typed elsewhere (with one type) maps to the typed constant."""
        if self._promoted is not None and len(self._promoted) == len(self.values):
            return self._promoted
        promoted = np.arange(len(self.values), dtype=ID)
        typed: dict[tuple[bool, object], set[int]] = {}
        for (type_, is_float), table in self._ids.items():
            if type_ is not None:
                for value, i in table.items():
                    typed.setdefault((is_float, value), set()).add(i)
        self._only_typed = {k: next(iter(v)) for k, v in typed.items() if len(v) == 1}
        for (is_float, value), i in self._only_typed.items():
            untyped = self._ids.get((None, is_float), {}).get(value)
            if untyped is not None:
                promoted[untyped] = i
        self._promoted = promoted
        return promoted

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-constant columns for built-ins: ``numeric``, ``number``, ``text_rank``, ``type``."""
        if self._arrays is not None:
            return self._arrays
        n = len(self.values)
        numeric = np.zeros(n, dtype=bool)
        number = np.zeros(n, dtype=np.float64)
        texts = []
        type_ids: dict[str, int] = {t: i for i, t in enumerate(self.type_names)}
        type_col = np.full(n, -1, dtype=ID)
        for i, (v, type_) in enumerate(zip(self.values, self.types)):
            if isinstance(v, (int, float)):
                numeric[i] = True
                number[i] = _as_float(v)
            texts.append(ir.format_number(v) if isinstance(v, float) else str(v))
            if type_ is not None:
                if type_ not in type_ids:
                    type_ids[type_] = len(self.type_names)
                    self.type_names.append(type_)
                type_col[i] = type_ids[type_]
        # Java compares non-numeric terms by String.compareTo (UTF-16 units); code points agree on the BMP.
        _, text_rank = np.unique(np.array(texts, dtype=object), return_inverse=True) if n else (None, np.zeros(0))
        self._arrays = {"numeric": numeric, "number": number, "text_rank": np.asarray(text_rank, dtype=np.int64),
                        "type": type_col}
        return self._arrays

    def type_id(self, name: str) -> int:
        """The id of a type name (-2 for a type no constant has: such a variable matches nothing)."""
        self.arrays()
        try:
            return self.type_names.index(name)
        except ValueError:
            return -2


class Predicates:
    """Predicate interning by ``(name, arity)``."""

    def __init__(self) -> None:
        self.keys: list[tuple[str, int]] = []
        self._ids: dict[tuple[str, int], int] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def intern(self, name: str, arity: int) -> int:
        key = (name, arity)
        i = self._ids.get(key)
        if i is None:
            i = self._ids[key] = len(self.keys)
            self.keys.append(key)
        return i

    def find(self, name: str, arity: int) -> int | None:
        return self._ids.get((name, arity))

    def name(self, pid: int) -> str:
        return self.keys[pid][0]

    def arity(self, pid: int) -> int:
        return self.keys[pid][1]

    def label(self, pid: int) -> str:
        return f"{self.keys[pid][0]}/{self.keys[pid][1]}"


# --------------------------------------------------------------------------- relations


@dataclass
class Relation:
    """Rows of one predicate: ``ex[i]`` and ``args[i, :]``; ``value[i]`` indexes ``Database.values``."""

    ex: np.ndarray
    args: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.ex)


@dataclass
class Database:
    """Interned input facts of all examples (see the module docstring).

    ``facts[pid]`` holds the deduplicated input facts of predicate ``pid``.
    ``values[k]`` is the :class:`ir.Weight` of value ``k`` (``None`` = 1.0);
    ``value_learnable[k]`` marks template-fact values that are model parameters.
    :meth:`domain` gives the active domain as ``(example, constant)`` rows.
    ``template_rules`` are the template's rules followed by its facts with variables
    (as body-less rules), in text order.
    """

    symbols: Symbols
    predicates: Predicates
    n_examples: int
    facts: dict[int, Relation]
    values: list[ir.Weight | None]
    value_learnable: list[bool]
    rules: list[ir.Rule] = field(default_factory=list)
    _domain: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def radices(self, arity: int) -> list[int]:
        """Radices of a packed ``(example, arg_1, ..., arg_k)`` key."""
        return [max(self.n_examples, 1)] + [max(len(self.symbols), 1)] * arity

    def domain(self) -> tuple[np.ndarray, np.ndarray]:
        """The active domain: sorted ``(example, constant)`` rows, the constants of each example's facts
        (computed when a rule first needs it)."""
        if self._domain is None:
            exs, consts = [np.zeros(0, ID)], [np.zeros(0, ID)]
            for rel in self.facts.values():
                for i in range(rel.args.shape[1]):
                    exs.append(rel.ex)
                    consts.append(rel.args[:, i])
            n = max(len(self.symbols), 1)
            key = unique_sorted(np.concatenate(exs).astype(np.int64) * n + np.concatenate(consts))
            self._domain = (key // n).astype(ID), (key % n).astype(ID)
        return self._domain

    def value_scalars(self) -> np.ndarray:
        """Each value as a float (1.0 for the default), NaN when it is not a scalar."""
        out = np.full(len(self.values), np.nan)
        for k, w in enumerate(self.values):
            if w is None:
                out[k] = 1.0
            elif isinstance(w.value, ir.Scalar):
                out[k] = w.value.value
        return out


def match_rows(db: Database, ex: np.ndarray, args: np.ndarray, example: int, atom: ir.Atom) -> np.ndarray:
    """Which rows ``(ex, args)`` of ``atom``'s predicate match ``atom`` in ``example``.

    Constants must be equal (after type promotion; an unknown constant matches
    nothing), a repeated variable needs equal values, a typed variable a
    constant of its type, and each ``_`` matches anything.
    """
    ok = ex == example
    first_at: dict[str, int] = {}
    types = db.symbols.arrays()["type"]
    for i, t in enumerate(atom.terms):
        column = args[:, i]
        if isinstance(t, ir.Constant):
            c = db.symbols.find(t)
            ok &= column == (-1 if c is None else c)
            continue
        if t.type is not None:
            ok &= types[column] == db.symbols.type_id(t.type)
        if t.name == "_":
            continue
        if t.name in first_at:
            ok &= column == args[:, first_at[t.name]]
        else:
            first_at[t.name] = i
    return ok


class _Bucket:
    """Facts of one predicate as Python lists, made a :class:`Relation` once collected."""

    __slots__ = ("ex", "args", "value")

    def __init__(self) -> None:
        self.ex: list[int] = []
        self.args: list[int] = []
        self.value: list[int] = []

    def relation(self, arity: int) -> Relation:
        return Relation(np.asarray(self.ex, dtype=ID), np.asarray(self.args, dtype=ID).reshape(len(self.ex), arity),
                        np.asarray(self.value, dtype=ID))


class DatabaseBuilder:
    """Collects facts (template facts first, then examples) and interns them.

    Facts are kept per ``(predicate, arity)`` as relation chunks of constant ids
    (before type promotion), in input order. Constants, predicates and values get
    their ids in order of first appearance in the input, whichever way the facts
    come in.
    """

    def __init__(self) -> None:
        self.symbols = Symbols()
        self.predicates = Predicates()
        self.values: list[ir.Weight | None] = [None]
        self.value_learnable: list[bool] = [False]
        self._value_ids: dict[tuple, int] = {}
        self._chunks: dict[tuple[str, int], list[Relation]] = {}
        self._template_facts: dict[tuple[str, int], list[Relation]] = {}
        self.rules: list[ir.Rule] = []

    def _value_id(self, weight: ir.Weight | None, learnable: bool) -> int:
        if weight is None:
            return 0
        value = weight.value
        key = (value.value, weight.fixed, weight.name, learnable) if value.__class__ is ir.Scalar \
            else (weight, learnable)
        i = self._value_ids.get(key)
        if i is None:
            i = self._value_ids[key] = len(self.values)
            self.values.append(weight)
            self.value_learnable.append(learnable)
        return i

    def _constant(self, term: ir.Term, span: Span | None, where: str) -> int:
        if term.__class__ is not ir.Constant:
            raise ValidationError(f"{where} must be ground, but '{term}' is a variable", span,
                                  "facts in data files cannot contain variables; write a rule in the template")
        return self.symbols.intern(term)

    def add_template(self, template: ir.Template) -> None:
        """Template rules, and template facts (ground ones join every example)."""
        buckets: dict[tuple[str, int], _Bucket] = {}
        for s in template.statements:
            if isinstance(s, ir.Rule):
                self.rules.append(s)
                for atom in (s.head, *(lit.atom for lit in s.body)):
                    for t in atom.terms:
                        if t.__class__ is ir.Constant:
                            self.symbols.intern(t)
            elif isinstance(s, ir.Fact):
                if s.negated:
                    warn(f"negated fact '!{s.atom}' has no meaning in grounding and is ignored", s.span)
                    continue
                if s.atom.is_ground:
                    self._add(buckets, s, 0, learnable=s.weight is not None and not s.weight.fixed)
                else:
                    # A fact with variables is a body-less rule over the active domain.
                    self.rules.append(ir.Rule(s.atom, (), s.weight, None, ir.Metadata(), s.span))
        for key, bucket in buckets.items():
            self._template_facts.setdefault(key, []).append(bucket.relation(key[1]))

    def _add(self, buckets: dict, fact: ir.Fact, example: int, learnable: bool) -> None:
        atom = fact.atom
        if atom.builtin:
            raise ValidationError(f"a fact cannot be a built-in ('@{atom.predicate}')", fact.span)
        key = (atom.predicate, len(atom.terms))
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = _Bucket()
        bucket.ex.append(example)
        intern = self.symbols.intern
        for t in atom.terms:
            bucket.args.append(intern(t) if t.__class__ is ir.Constant else self._constant(t, fact.span, "a fact"))
        bucket.value.append(self._value_id(fact.weight, learnable))

    def add_examples(self, examples: Sequence[ir.Example]) -> None:
        """The facts of ``examples`` (example ``e`` gets id ``e``).

        A run of examples whose facts are columns of one scanned text
        (:class:`~neuralogic_py.language.items.Items`) is interned from the columns;
        other facts one by one.
        """
        for table, run in groupby(enumerate(examples), key=lambda pair: _table_of(pair[1].facts)):
            run = list(run)
            if table is None:
                self._add_facts(run)
            else:
                self._add_columns(table, run)

    def _add_facts(self, run: list[tuple[int, ir.Example]]) -> None:
        # The hot loop of loading fact objects: one pass, then the constants interned all at once.
        buckets: dict[tuple[str, int], tuple[list, list, list]] = {}  # example, first term, value per fact
        every_term: list[ir.Term] = []
        value_id = self._value_id
        for e, example in run:
            for fact in example.facts:
                atom = fact.atom
                terms = atom.terms
                if fact.negated or atom.builtin:
                    if atom.builtin:
                        raise ValidationError(f"a fact cannot be a built-in ('@{atom.predicate}')", fact.span)
                    warn(f"negated fact '!{atom}' has no meaning in grounding and is ignored", fact.span)
                    continue
                key = (atom.predicate, len(terms))
                bucket = buckets.get(key)
                if bucket is None:
                    bucket = buckets[key] = ([], [], [])
                bucket[0].append(e)
                bucket[1].append(len(every_term))
                every_term.extend(terms)
                w = fact.weight
                bucket[2].append(0 if w is None else value_id(w, False))
        ids = self.symbols.intern_many(every_term)
        if ids is None:
            self._report_variable([example for _, example in run])
        ids = np.asarray(ids, dtype=ID)
        for key, (ex, first, value) in buckets.items():
            args = ids[np.asarray(first, dtype=np.int64)[:, None] + np.arange(key[1])]
            self._chunks.setdefault(key, []).append(Relation(np.asarray(ex, dtype=ID), args,
                                                             np.asarray(value, dtype=ID)))

    def _add_columns(self, table: ItemTable, run: list[tuple[int, ir.Example]]) -> None:
        """Facts given as rows of ``table``, interned in the order :meth:`_add_facts` gives."""
        starts = np.array([example.facts.start for _, example in run], dtype=np.int64)
        lengths = np.array([len(example.facts) for _, example in run], dtype=np.int64)
        rows = np.arange(int(lengths.sum())) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
        if not len(rows):
            return
        ex = np.repeat(np.array([e for e, _ in run], dtype=ID), lengths)
        signatures, signature_of = table.signatures()
        signature = signature_of[rows]
        # rows grouped by signature (in order of first appearance), input order kept within a group
        present = first_appearance(signature, len(signatures))
        rank = np.zeros(len(signatures), dtype=np.int64)
        rank[present] = np.arange(len(present))
        order = stable_order(rank[signature], len(present))
        bounds = np.searchsorted(rank[signature][order], np.arange(len(present) + 1))
        # every term of the rows, in row order
        arity = table.item_arity[rows].astype(np.int64)
        at = np.arange(int(arity.sum())) + np.repeat(table.item_start[rows] - (np.cumsum(arity) - arity), arity)
        symbol = self._intern_terms(table, table.terms[at], run)
        heads = table.item_head[rows]
        head_value = np.zeros(len(table.names), dtype=ID)
        for h in first_appearance(heads, len(table.names)).tolist():
            head_value[h] = self._value_id(table.weights[h], False)
        for k, s in enumerate(present.tolist()):
            take = order[bounds[k]:bounds[k + 1]]
            key = signatures[s]
            args = symbol[table.terms[table.item_start[rows[take]][:, None] + np.arange(key[1])]]
            self._chunks.setdefault(key, []).append(Relation(ex[take], args, head_value[heads[take]]))

    def _intern_terms(self, table: ItemTable, terms: np.ndarray, run: list[tuple[int, ir.Example]]) -> np.ndarray:
        """``table term -> constant id`` for the terms in ``terms``, interned in order of first appearance."""
        symbol = np.full(len(table.plain_terms) + len(table.other_terms), -1, dtype=ID)
        distinct = first_appearance(terms, len(symbol))
        plain = distinct < len(table.plain_terms)
        # runs of plain terms in bulk, the others one by one
        cuts = np.flatnonzero(np.diff(plain.astype(np.int8))) + 1
        for part in np.split(distinct, cuts):
            if not len(part):
                continue
            if part[0] < len(table.plain_terms):
                symbol[part] = self.symbols.intern_plain(list(map(table.plain_terms.__getitem__, part.tolist())))
                continue
            for t in part.tolist():
                term = table.term(t)
                if term.__class__ is not ir.Constant:
                    self._report_variable([example for _, example in run])
                symbol[t] = self.symbols.intern(term)
        return symbol

    def _report_variable(self, examples: Sequence[ir.Example]) -> None:
        for example in examples:
            for fact in example.facts:
                for t in fact.atom.terms:
                    self._constant(t, fact.span or example.span, "a fact")

    def build(self, n_examples: int) -> Database:
        n_examples = max(n_examples, 1)
        promote = self.symbols.promotion()
        relations: dict[int, list[Relation]] = {}
        for chunks, replicate in ((self._template_facts, True), (self._chunks, False)):
            for (name, arity), parts in chunks.items():
                pid = self.predicates.intern(name, arity)
                ex = np.concatenate([p.ex for p in parts])
                args = promote[np.concatenate([p.args for p in parts])]
                value = np.concatenate([p.value for p in parts])
                if replicate:  # template facts: one copy per example
                    n = len(ex)
                    ex = np.repeat(np.arange(n_examples, dtype=ID), n)
                    args = np.tile(args, (n_examples, 1))
                    value = np.tile(value, n_examples)
                relations.setdefault(pid, []).append(Relation(ex, args, value))
        facts = {pid: self._merge_duplicates(pid, parts, n_examples) for pid, parts in relations.items()}
        return Database(self.symbols, self.predicates, n_examples, facts, self.values, self.value_learnable,
                        list(self.rules))

    def _merge_duplicates(self, pid: int, parts: list[Relation], n_examples: int) -> Relation:
        """Sorted rows, one per distinct fact; duplicates merged (module docstring)."""
        ex = np.concatenate([p.ex for p in parts])
        args = np.concatenate([p.args for p in parts])
        value = np.concatenate([p.value for p in parts])
        arity = args.shape[1]
        radices = [n_examples] + [max(len(self.symbols), 1)] * arity
        (key,) = pack_together([[ex] + [args[:, i] for i in range(arity)]], radices)
        if not (key[1:] <= key[:-1]).any():  # already sorted, no duplicates (often so for data facts)
            return Relation(ex, args, value)
        # Within a run of equal keys the row with the largest scalar value comes last.
        scalar = self._comparable_scalars()[value]
        order = np.lexsort((np.nan_to_num(scalar, nan=-np.inf), key))
        key, ex, args, value, scalar = key[order], ex[order], args[order], value[order], scalar[order]
        last = np.ones(len(key), dtype=bool)
        last[:-1] = key[1:] != key[:-1]
        if last.all():
            return Relation(ex, args, value)
        group = np.cumsum(np.concatenate([[True], last[:-1]])) - 1
        incomparable = np.bincount(group, weights=np.isnan(scalar)) > 0
        incomparable &= np.bincount(group) > 1
        keep = np.flatnonzero(last)
        merged = value[keep].copy()
        for g in np.flatnonzero(incomparable):  # rare: vectors or learnable values given twice
            merged[g] = self._merge_values(pid, value[group == g])
        return Relation(ex[keep], args[keep], merged)

    def _comparable_scalars(self) -> np.ndarray:
        """Per value id: the scalar a max-merge compares, NaN for vectors and learnable values."""
        out = np.full(len(self.values), np.nan)
        for k, w in enumerate(self.values):
            if w is None:
                out[k] = 1.0
            elif isinstance(w.value, ir.Scalar) and not self.value_learnable[k]:
                out[k] = w.value.value
        return out

    def _merge_values(self, pid: int, ids: np.ndarray) -> int:
        ids = [int(i) for i in dict.fromkeys(ids.tolist())]
        if len(ids) == 1:
            return ids[0]
        weights = [self.values[i] for i in ids]
        if any(self.value_learnable[i] for i in ids) or any(w is not None and isinstance(w.value, ir.Dims)
                                                               for w in weights):
            warn(f"a fact of {self.predicates.label(pid)} is given twice and one has a learnable value; "
                 f"the first is used")
            return ids[0]
        arrays = [np.array(1.0) if w is None else w.value.to_array() for w in weights]
        if len({a.shape for a in arrays}) != 1:
            warn(f"a fact of {self.predicates.label(pid)} is given twice with values of different shapes; "
                 f"the first is used")
            return ids[0]
        best = np.maximum.reduce(arrays)
        for i, a in zip(ids, arrays):
            if np.array_equal(a, best):
                return i
        return self._value_id(ir.Weight(ir.value_from_array(best), fixed=True), learnable=False)


def _table_of(facts: Sequence[ir.Fact]) -> ItemTable | None:
    """The scanned text whose columns hold ``facts``, if they are such columns."""
    return facts.table if isinstance(facts, Items) else None


def build_database(template: ir.Template, examples: Sequence[ir.Example] = ()) -> Database:
    """Intern ``template`` facts and the facts of ``examples`` (see the module docstring)."""
    builder = DatabaseBuilder()
    builder.add_template(template)
    builder.add_examples(examples)
    return builder.build(len(examples))


def _as_float(value: int | float) -> float:
    """A number for the numeric built-ins: an integer beyond the floats' range counts as +-infinity."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf

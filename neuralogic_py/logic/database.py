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

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import Span, ValidationError, warn
from ..language import ir
from .keys import pack_together, unique_sorted

ID = np.int32


# --------------------------------------------------------------------------- constants


class Symbols:
    """Constant interning: ``id -> ir.Constant`` and back, ints and floats kept apart."""

    def __init__(self) -> None:
        self.constants: list[ir.Constant] = []
        # one dict per (type, value class): 1 and 1.0 are equal in Python but distinct here
        self._ids: dict[tuple[str | None, type], dict] = {}
        self._promoted: np.ndarray | None = None
        self._only_typed: dict[tuple[type, object], int] = {}
        self._arrays: dict[str, np.ndarray] | None = None
        self.types: list[str] = []

    def __len__(self) -> int:
        return len(self.constants)

    def intern(self, constant: ir.Constant) -> int:
        value = constant.value
        table = self._ids.get((constant.type, value.__class__))
        if table is None:
            table = self._ids[(constant.type, value.__class__)] = {}
        i = table.get(value)
        if i is None:
            i = table[value] = len(self.constants)
            self.constants.append(constant)
            self._arrays = None
        return i

    def intern_many(self, terms: list) -> list[int] | None:
        """Ids of many constants (None when one of them is a variable); untyped names take a fast path."""
        names = self._ids.setdefault((None, str), {})
        get = names.get
        intern = self.intern
        out = []
        append = out.append
        constant = ir.Constant
        for t in terms:
            if t.__class__ is not constant:
                return None
            i = get(t.value) if t.type is None else None
            append(intern(t) if i is None else i)
        return out

    def find(self, constant: ir.Constant) -> int | None:
        """The id of ``constant`` after type promotion, or None when no input mentions it."""
        promoted = self.promotion()
        table = self._ids.get((constant.type, constant.value.__class__))
        i = None if table is None else table.get(constant.value)
        if i is None:
            # an untyped name that only ever occurs typed (with one type) means the typed constant
            i = self._only_typed.get((constant.value.__class__, constant.value)) if constant.type is None else None
            return i
        return int(promoted[i])

    def promotion(self) -> np.ndarray:
        """``id -> id``: an untyped name written typed elsewhere (with one type) maps to the typed constant."""
        if self._promoted is not None and len(self._promoted) == len(self.constants):
            return self._promoted
        promoted = np.arange(len(self.constants), dtype=ID)
        typed: dict[tuple[type, object], set[int]] = {}
        for (type_, cls), table in self._ids.items():
            if type_ is not None:
                for value, i in table.items():
                    typed.setdefault((cls, value), set()).add(i)
        self._only_typed = {k: next(iter(v)) for k, v in typed.items() if len(v) == 1}
        for (type_, cls), table in self._ids.items():
            if type_ is None:
                for value, i in table.items():
                    candidates = typed.get((cls, value))
                    if candidates is not None and len(candidates) == 1:
                        promoted[i] = next(iter(candidates))
        self._promoted = promoted
        return promoted

    def arrays(self) -> dict[str, np.ndarray]:
        """Per-constant columns for built-ins: ``numeric``, ``number``, ``text_rank``, ``type``."""
        if self._arrays is not None:
            return self._arrays
        n = len(self.constants)
        numeric = np.zeros(n, dtype=bool)
        number = np.zeros(n, dtype=np.float64)
        texts = []
        type_ids: dict[str, int] = {t: i for i, t in enumerate(self.types)}
        type_col = np.full(n, -1, dtype=ID)
        for i, c in enumerate(self.constants):
            v = c.value
            if isinstance(v, (int, float)):
                numeric[i] = True
                number[i] = float(v)
            texts.append(ir.format_number(v) if isinstance(v, float) else str(v))
            if c.type is not None:
                if c.type not in type_ids:
                    type_ids[c.type] = len(self.types)
                    self.types.append(c.type)
                type_col[i] = type_ids[c.type]
        # Java compares non-numeric terms by String.compareTo (UTF-16 units); code points agree on the BMP.
        _, text_rank = np.unique(np.array(texts, dtype=object), return_inverse=True) if n else (None, np.zeros(0))
        self._arrays = {"numeric": numeric, "number": number, "text_rank": np.asarray(text_rank, dtype=np.int64),
                        "type": type_col}
        return self._arrays

    def type_id(self, name: str) -> int:
        """The id of a type name (-2 for a type no constant has: such a variable matches nothing)."""
        self.arrays()
        try:
            return self.types.index(name)
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
    ``domain`` is the active domain as ``(example, constant)`` rows, sorted.
    ``template_rules`` are the template's rules followed by its facts with variables
    (as body-less rules), in text order.
    """

    symbols: Symbols
    predicates: Predicates
    n_examples: int
    facts: dict[int, Relation]
    values: list[ir.Weight | None]
    value_learnable: list[bool]
    domain_ex: np.ndarray
    domain_const: np.ndarray
    rules: list[ir.Rule] = field(default_factory=list)

    def radices(self, arity: int) -> list[int]:
        """Radices of a packed ``(example, arg_1, ..., arg_k)`` key."""
        return [max(self.n_examples, 1)] + [max(len(self.symbols), 1)] * arity

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
    __slots__ = ("ex", "args", "value")

    def __init__(self) -> None:
        self.ex: list[int] = []
        self.args: list[int] = []
        self.value: list[int] = []


class DatabaseBuilder:
    """Collects facts (template facts first, then examples) and interns them."""

    def __init__(self) -> None:
        self.symbols = Symbols()
        self.predicates = Predicates()
        self.values: list[ir.Weight | None] = [None]
        self.value_learnable: list[bool] = [False]
        self._value_ids: dict[tuple, int] = {}
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._template_facts: dict[tuple[str, int], _Bucket] = {}
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
                    self._add(self._template_facts, s, 0, learnable=s.weight is not None and not s.weight.fixed)
                else:
                    # A fact with variables is a body-less rule over the active domain.
                    self.rules.append(ir.Rule(s.atom, (), s.weight, None, ir.Metadata(), s.span))

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
        # The hot loop of loading: one pass over the facts, constants interned per predicate afterwards.
        buckets: dict[tuple[str, int], tuple[list, list, list]] = {}
        value_id = self._value_id
        for e, example in enumerate(examples):
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
                bucket[1].extend(terms)
                w = fact.weight
                bucket[2].append(0 if w is None else value_id(w, False))
        for key, (ex, terms, value) in buckets.items():
            ids = self.symbols.intern_many(terms)
            if ids is None:
                self._report_variable(examples)
            b = self._buckets.setdefault(key, _Bucket())
            b.ex.extend(ex)
            b.args.extend(ids)
            b.value.extend(value)

    def _report_variable(self, examples: Sequence[ir.Example]) -> None:
        for example in examples:
            for fact in example.facts:
                for t in fact.atom.terms:
                    self._constant(t, fact.span or example.span, "a fact")

    def build(self, n_examples: int) -> Database:
        n_examples = max(n_examples, 1)
        promote = self.symbols.promotion()
        relations: dict[int, list[Relation]] = {}
        for buckets, replicate in ((self._template_facts, True), (self._buckets, False)):
            for (name, arity), b in buckets.items():
                pid = self.predicates.intern(name, arity)
                ex = np.asarray(b.ex, dtype=ID)
                args = promote[np.asarray(b.args, dtype=ID).reshape(len(ex), arity)]
                value = np.asarray(b.value, dtype=ID)
                if replicate:  # template facts: one copy per example
                    n = len(ex)
                    ex = np.repeat(np.arange(n_examples, dtype=ID), n)
                    args = np.tile(args, (n_examples, 1))
                    value = np.tile(value, n_examples)
                relations.setdefault(pid, []).append(Relation(ex, args, value))
        facts = {pid: self._merge_duplicates(pid, parts, n_examples) for pid, parts in relations.items()}
        domain_ex, domain_const = self._domain(facts, n_examples, promote)
        return Database(self.symbols, self.predicates, n_examples, facts, self.values, self.value_learnable,
                        domain_ex, domain_const, list(self.rules))

    def _merge_duplicates(self, pid: int, parts: list[Relation], n_examples: int) -> Relation:
        """Sorted rows, one per distinct fact; duplicates merged (module docstring)."""
        ex = np.concatenate([p.ex for p in parts])
        args = np.concatenate([p.args for p in parts])
        value = np.concatenate([p.value for p in parts])
        arity = args.shape[1]
        radices = [n_examples] + [max(len(self.symbols), 1)] * arity
        (key,) = pack_together([[ex] + [args[:, i] for i in range(arity)]], radices)
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

    def _domain(self, facts: dict[int, Relation], n_examples: int, promote: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        exs, consts = [np.zeros(0, ID)], [np.zeros(0, ID)]
        for rel in facts.values():
            for i in range(rel.args.shape[1]):
                exs.append(rel.ex)
                consts.append(rel.args[:, i])
        ex = np.concatenate(exs).astype(np.int64)
        const = np.concatenate(consts).astype(np.int64)
        key = unique_sorted(ex * max(len(self.symbols), 1) + const)
        return (key // max(len(self.symbols), 1)).astype(ID), (key % max(len(self.symbols), 1)).astype(ID)


def build_database(template: ir.Template, examples: Sequence[ir.Example] = ()) -> Database:
    """Intern ``template`` facts and the facts of ``examples`` (see the module docstring)."""
    builder = DatabaseBuilder()
    builder.add_template(template)
    builder.add_examples(examples)
    return builder.build(len(examples))

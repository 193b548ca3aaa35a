"""Bottom-up evaluation: the least Herbrand model of all examples at once.

Semantics (reference language.md §3.4-3.6, §4.2):

* Strata are evaluated in dependency order (:mod:`.program`); a hard-negated
  literal ``!p(...)`` holds when ``p(...)`` is not in the model of the lower
  strata. (The reference checks negation against the model as it grows, which
  can derive extra heads when rules are not written in stratum order; strata
  agree with it whenever its answer is well defined.)
* Soft-negated ``~p`` and hidden ``*p`` literals are ordinary positive
  conditions. Built-ins are filters (:func:`builtin_mask`).
* A variable that no positive literal binds (it occurs only in the head, in
  ``!`` literals or in built-ins) ranges over the example's active domain, or
  over the constants of its type when typed. A typed variable bound by a
  positive literal keeps only constants of its type.

Algorithm: each rule is a left-deep sequence of vectorised sort-merge joins over
a *binding table* (one int column per bound variable plus the example id, one row
per partial substitution). The join order is chosen per evaluation, greedily:
the semi-naive delta (or the smallest relation) first, then always a literal
sharing the most variables with those bound, smaller relations first. Filters
run as soon as their variables are bound, and columns no later step needs are
projected away (with duplicate rows removed), which is what keeps
``*bond(X, Y, _)`` from multiplying rows.

Recursive components run semi-naively: a rule with IDB literals L1..Lk (same
component) is evaluated once per i with Li over the last iteration's delta,
L<i over old+delta and L>i over old, so each substitution is enumerated exactly
once. Relations are lists of chunks merged LSM-style, and each predicate keeps
its packed tuple keys in a :class:`~.keys.KeySet`, so no iteration re-sorts a
whole relation.

Every substitution found is recorded (projected to the variables of the head and
the kept body literals): these are the ground rules :mod:`.ground` turns into
the ground program. There is no Python loop over examples, facts or
substitutions - only over rules, literals, strata and iterations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..errors import Span
from ..limits import ResourceError, max_memory, memory_error
from .database import ID, Database
from .keys import (BITMAP_BITS, KeySet, SortedIndex, TooManyPairs, TupleKeys, first_rows, fits, pack,
                   pack_together)
from .program import UNKNOWN_CONSTANT, CompiledLiteral, CompiledRule, Program, compile_program

# --------------------------------------------------------------------------- storage


class Chunk:
    """Rows of one predicate (``ex`` and ``args``) with cached sort indexes per key columns."""

    __slots__ = ("ex", "args", "_indexes")

    def __init__(self, ex: np.ndarray, args: np.ndarray):
        self.ex = ex
        self.args = args
        self._indexes: dict[tuple[int, ...], SortedIndex] = {}

    def __len__(self) -> int:
        return len(self.ex)

    def index(self, positions: tuple[int, ...], radices: list[int]) -> SortedIndex:
        idx = self._indexes.get(positions)
        if idx is None:
            idx = SortedIndex(pack([self.ex] + [self.args[:, p] for p in positions], radices))
            self._indexes[positions] = idx
        return idx


def _concat(chunks: list[Chunk], arity: int) -> Chunk:
    if len(chunks) == 1:
        return chunks[0]
    if not chunks:
        return Chunk(np.zeros(0, ID), np.zeros((0, arity), ID))
    return Chunk(np.concatenate([c.ex for c in chunks]), np.concatenate([c.args for c in chunks]))


class Store:
    """All known tuples of one predicate and their key set.

    Tuples sit in three lists of chunks: ``old``, ``delta`` (found in the previous
    semi-naive iteration) and ``new`` (found in this one, invisible to joins until
    :meth:`advance`).
    """

    def __init__(self, arity: int, radices: list[int], bitmap: bool):
        self.arity = arity
        self.radices = radices
        self.old: list[Chunk] = []
        self.delta: list[Chunk] = []
        self.new: list[Chunk] = []
        self.keys = KeySet(key_space(radices) if bitmap else None)
        self.packer = TupleKeys(radices)

    def __len__(self) -> int:
        return len(self.keys)

    def key_of(self, ex: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
        """Packed keys of tuples (-1 for tuples that cannot be present, when keys need dense prefixes)."""
        return self.packer([ex] + columns)

    def add(self, ex: np.ndarray, args: np.ndarray) -> int:
        """Add the rows not yet present to ``new``; return how many were new."""
        if len(ex) == 0:
            return 0
        fresh = self.keys.add_new(self.packer([ex] + [args[:, i] for i in range(self.arity)], add=True))
        n = int(fresh.sum())
        if n:
            self.new.append(Chunk(ex[fresh], args[fresh]))
        return n

    def visible(self) -> list[Chunk]:
        return self.old + self.delta

    def advance(self) -> bool:
        """``delta`` joins ``old``; ``new`` becomes the delta. True when the delta is not empty."""
        self.old += self.delta
        # LSM merge: fold the newest old chunk into the previous one while that is at most twice as large
        while len(self.old) > 1 and len(self.old[-2]) <= 2 * len(self.old[-1]):
            newer = self.old.pop()
            self.old[-1] = _concat([self.old[-1], newer], self.arity)
        self.delta = [_concat(self.new, self.arity)] if self.new else []
        self.new = []
        return bool(self.delta)

    def settle(self) -> None:
        """Everything becomes ``old``."""
        self.advance()
        self.advance()

    def everything(self) -> Chunk:
        whole = _concat(self.old + self.delta + self.new, self.arity)
        self.old, self.delta, self.new = ([whole] if len(whole) else []), [], []
        return whole


def key_space(radices: list[int]) -> int:
    space = 1
    for r in radices:
        space *= r
    return space


# Bitmaps (one bit per possible tuple) are given to the derived predicates with the smallest key spaces first,
# while their total stays within this budget; the others keep sorted runs.
BITMAP_BUDGET_BYTES = 256 << 20


# --------------------------------------------------------------------------- bindings


@dataclass
class Bindings:
    """Partial substitutions: ``ex`` and one column per bound variable (``unit``: one empty row per example)."""

    ex: np.ndarray
    cols: dict[int, np.ndarray] = field(default_factory=dict)
    unit: bool = False

    def __len__(self) -> int:
        return len(self.ex)

    def take(self, rows: np.ndarray) -> "Bindings":
        return Bindings(self.ex[rows], {v: c[rows] for v, c in self.cols.items()})


@dataclass
class Statistics:
    """What evaluation did: semi-naive iterations (summed over components), seconds, new tuples per predicate."""

    iterations: int = 0
    components: int = 0
    recursive_components: int = 0
    seconds: float = 0.0
    derived: dict[int, int] = field(default_factory=dict)


@dataclass
class Model:
    """The evaluated Herbrand model of every example, and the recorded groundings."""

    db: Database
    program: Program
    stores: dict[int, Store]
    records: dict[int, list[tuple[np.ndarray, np.ndarray]]]
    stats: Statistics

    def tuples(self, pid: int) -> Chunk:
        """All tuples of ``pid`` (input facts and derived), as one chunk."""
        store = self.stores.get(pid)
        if store is None:
            return Chunk(np.zeros(0, ID), np.zeros((0, self.db.predicates.arity(pid)), ID))
        return store.everything()


# --------------------------------------------------------------------------- built-ins


def builtin_mask(name: str, args: list[np.ndarray], symbols_arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Which rows satisfy ``@name(args...)`` (args are constant-id columns of equal length).

    Numbers compare numerically when both sides are numbers; otherwise terms compare
    by their text (``"1" < "d1"``), and ``eq``/``neq``/``alldiff``/``in`` test identity.
    """
    numeric, number, rank = symbols_arrays["numeric"], symbols_arrays["number"], symbols_arrays["text_rank"]

    def both_numeric(a, b):
        return numeric[a] & numeric[b]

    def equal(a, b):
        return np.where(both_numeric(a, b), number[a] == number[b], a == b)

    def compare(a, b):
        return np.where(both_numeric(a, b), np.sign(number[a] - number[b]), np.sign(rank[a] - rank[b]))

    n = len(args[0]) if args else 0
    if name == "eq":
        return equal(*args)
    if name == "neq":
        return ~equal(*args)
    if name == "lt":
        return compare(*args) < 0
    if name == "leq":
        return compare(*args) <= 0
    if name == "gt":
        return compare(*args) > 0
    if name == "geq":
        return compare(*args) >= 0
    if name == "next":
        a, b = args
        return both_numeric(a, b) & (number[b] == number[a] + 1)
    if name == "alldiff":
        ok = np.ones(n, dtype=bool)
        for i in range(len(args)):
            for j in range(i + 1, len(args)):
                ok &= ~equal(args[i], args[j])
        return ok
    if name == "in":
        found = np.zeros(n, dtype=bool)
        for other in args[1:]:
            found |= equal(args[0], other)
        return found
    if name == "maxcard":
        limit = number[args[0]]
        rest = np.sort(np.stack(args[1:], axis=1), axis=1)
        distinct = 1 + (np.diff(rest, axis=1) != 0).sum(axis=1) if rest.shape[1] else np.zeros(n)
        return distinct <= limit
    if name == "true":
        return np.ones(n, dtype=bool)
    if name == "false":
        return np.zeros(n, dtype=bool)
    raise AssertionError(f"unchecked built-in @{name}")


# --------------------------------------------------------------------------- the evaluator


class Evaluator:
    """Evaluates a compiled program over a database (see the module docstring)."""

    def __init__(self, db: Database, program: Program, record: bool = True, progress: bool = False):
        self.db = db
        self.program = program
        self.record = record
        self.progress = progress
        self.n_ex = db.n_examples
        self.n_const = max(len(db.symbols), 1)
        self.stores: dict[int, Store] = {}
        # Bitmaps speed up the repeated adds of derived tuples; input-only predicates are added once.
        derived = {rule.head_pred for rule in program.rules}
        spaces = {pid: key_space(db.radices(db.predicates.arity(pid))) for pid in derived}
        bitmaps, budget = set(), BITMAP_BUDGET_BYTES
        for pid in sorted(spaces, key=spaces.get):
            if spaces[pid] <= BITMAP_BITS and spaces[pid] // 8 <= budget:
                bitmaps.add(pid)
                budget -= spaces[pid] // 8
        for pid in range(len(db.predicates)):
            arity = db.predicates.arity(pid)
            store = Store(arity, db.radices(arity), pid in bitmaps)
            rel = db.facts.get(pid)
            if rel is not None and len(rel):
                store.add(rel.ex, rel.args)
                store.settle()
            self.stores[pid] = store
        self.records: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {r.index: [] for r in program.rules}
        self.stats = Statistics()
        self._domains: dict[int | None, Chunk] = {}

    @property
    def symbol_arrays(self) -> dict[str, np.ndarray]:
        """Per-constant columns for types and built-ins, computed when a rule first needs them."""
        return self.db.symbols.arrays()

    # -- sources

    def domain(self, type_id: int | None) -> Chunk:
        chunk = self._domains.get(type_id)
        if chunk is None:
            ex, const = self.db.domain()
            if type_id is not None:
                keep = self.symbol_arrays["type"][const] == type_id
                ex, const = ex[keep], const[keep]
            chunk = self._domains[type_id] = Chunk(ex, const.reshape(-1, 1))
        return chunk

    # -- one rule

    def run(self, rule: CompiledRule, sources: dict[int, list[Chunk]], found: dict[int, list[Chunk]],
            first: int | None = None) -> None:
        """Evaluate ``rule`` with each positive literal over ``sources[position]``: record the substitutions
        and put the heads in ``found`` (added by :meth:`_add_found` once the rules of a round have run)."""
        bind = self.substitutions(rule, sources, first)
        if bind is None or len(bind) == 0:
            return
        n = len(bind)
        head_cols = [bind.cols[s.var] if s.var is not None else np.full(n, s.const, dtype=ID) for s in rule.head]
        args = np.stack(head_cols, axis=1) if head_cols else np.zeros((n, 0), dtype=ID)
        found.setdefault(rule.head_pred, []).append(Chunk(bind.ex, args))
        if self.record:
            cols = np.stack([bind.cols[v] for v in rule.visible], axis=1) if rule.visible \
                else np.zeros((n, 0), dtype=ID)
            self.records[rule.index].append((bind.ex, cols))

    def _add_found(self, found: dict[int, list[Chunk]]) -> None:
        """Add the heads the rules of a round found, one batch per predicate (they become visible to
        joins only later: in a later component, or after the semi-naive step)."""
        for pred, chunks in found.items():
            whole = _concat(chunks, self.stores[pred].arity)
            added = self.stores[pred].add(whole.ex, whole.args)
            self.stats.derived[pred] = self.stats.derived.get(pred, 0) + added
        found.clear()

    def substitutions(self, rule: CompiledRule, sources: dict[int, list[Chunk]],
                      first: int | None = None) -> Bindings | None:
        """All substitutions of ``rule`` (projected to its head and visible variables)."""
        positives = [lit for lit in rule.body if lit.kind == "positive"]
        filters = [lit for lit in rule.body if lit.kind != "positive"]
        keep_always = set(rule.visible) | {s.var for s in rule.head if s.var is not None}
        bind = Bindings(np.arange(self.n_ex, dtype=ID), unit=True)
        bound: set[int] = set()
        pending = list(positives)
        while pending:
            lit = self._choose(pending, bound, sources, first)
            first = None
            pending.remove(lit)
            if any(s.const == UNKNOWN_CONSTANT for s in lit.slots):
                return None
            try:
                bind = self._join(bind, lit, sources[lit.position])
            except TooManyPairs as e:
                raise _too_large(rule, rule.rule.body[lit.position].atom, e.pairs, len(bind.cols) + len(lit.variables - bound),
                                 lit.span or rule.span) from None
            newly = lit.variables - bound
            bound |= newly
            bind = self._after_binding(rule, bind, newly, bound, filters, pending, keep_always)
            if len(bind) == 0:
                return bind
        # Variables nothing positive binds range over the active domain (of their type).
        needed = set(keep_always)
        for lit in filters:
            needed |= lit.variables
        for v in sorted(needed - bound):
            try:
                bind = self._join_domain(bind, v, rule.var_types[v])
            except TooManyPairs as e:
                raise _too_large(rule, f"every constant for {rule.var_names[v]}", e.pairs, len(bind.cols) + 1,
                                 rule.span) from None
            bound.add(v)
            bind = self._after_binding(rule, bind, {v}, bound, filters, pending, keep_always, typed=False)
            if len(bind) == 0:
                return bind
        return bind

    def _choose(self, pending: list[CompiledLiteral], bound: set[int], sources, first: int | None) -> CompiledLiteral:
        if first is not None:
            return next(lit for lit in pending if lit.position == first)

        def cost(lit: CompiledLiteral):
            shared = len(lit.variables & bound) + sum(s.const is not None for s in lit.slots)
            connected = bool(lit.variables & bound) or not bound
            size = sum(len(c) for c in sources[lit.position])
            return (not connected, -shared, size)

        return min(pending, key=cost)

    def _after_binding(self, rule: CompiledRule, bind: Bindings, newly: set[int], bound: set[int],
                       filters: list[CompiledLiteral], pending: list[CompiledLiteral], keep_always: set[int],
                       typed: bool = True) -> Bindings:
        """Type checks for new variables, ready filters, then projection to what is still needed."""
        if typed:
            for v in newly:
                t = rule.var_types[v]
                if t is not None and len(bind):
                    bind = bind.take(np.flatnonzero(self.symbol_arrays["type"][bind.cols[v]] == t))
        for lit in list(filters):
            if lit.variables <= bound:
                filters.remove(lit)
                if len(bind):
                    bind = bind.take(np.flatnonzero(self._filter(lit, bind)))
        needed = set(keep_always)
        for lit in filters + pending:
            needed |= lit.variables
        dropped = [v for v in bind.cols if v not in needed]
        if dropped:
            for v in dropped:
                del bind.cols[v]
            bind = self._distinct(bind)
        return bind

    def _distinct(self, bind: Bindings) -> Bindings:
        if len(bind) <= 1:
            return bind
        cols = [bind.ex] + list(bind.cols.values())
        (key,) = pack_together([cols], [self.n_ex] + [self.n_const] * len(bind.cols))
        _, first = first_rows(key)
        if len(first) == len(bind):
            return bind
        return bind.take(np.sort(first))

    def _filter(self, lit: CompiledLiteral, bind: Bindings) -> np.ndarray:
        n = len(bind)
        cols = [bind.cols[s.var] if s.var is not None else np.full(n, s.const, dtype=ID) for s in lit.slots]
        if lit.kind == "builtin":
            return builtin_mask(lit.builtin, cols, self.symbol_arrays)
        # hard negation: keep rows whose atom is not in the (finished) lower-stratum model
        if any(s.const == UNKNOWN_CONSTANT for s in lit.slots):
            return np.ones(n, dtype=bool)
        store = self.stores[lit.pred]
        return ~store.keys.contains(store.key_of(bind.ex, cols))

    def _join(self, bind: Bindings, lit: CompiledLiteral, chunks: list[Chunk]) -> Bindings:
        key_positions = tuple(i for i, s in enumerate(lit.slots) if s.const is not None or s.var in bind.cols)
        new_at: dict[int, int] = {}
        repeats: list[tuple[int, int]] = []
        for i, s in enumerate(lit.slots):
            if s.var is not None and s.var not in bind.cols:
                if s.var in new_at:
                    repeats.append((new_at[s.var], i))
                else:
                    new_at[s.var] = i
        out_ex, out_cols = [], {v: [] for v in list(bind.cols) + list(new_at)}
        for chunk in chunks:
            if len(chunk) == 0:
                continue
            if bind.unit:
                mask = np.ones(len(chunk), dtype=bool)
                for p in key_positions:
                    mask &= chunk.args[:, p] == lit.slots[p].const
                for a, b in repeats:
                    mask &= chunk.args[:, a] == chunk.args[:, b]
                rows = np.flatnonzero(mask) if not mask.all() else None
                ex = chunk.ex if rows is None else chunk.ex[rows]
                out_ex.append(ex)
                for v, p in new_at.items():
                    out_cols[v].append(chunk.args[:, p] if rows is None else chunk.args[rows, p])
                continue
            n = len(bind)
            probe_cols = [bind.ex] + [bind.cols[lit.slots[p].var] if lit.slots[p].var is not None
                                      else np.full(n, lit.slots[p].const, dtype=ID) for p in key_positions]
            radices = [self.n_ex] + [self.n_const] * len(key_positions)
            max_pairs = _max_rows(len(out_cols))
            if fits(radices):
                index = chunk.index(key_positions, radices)
                probe_rows, rows = index.match(pack(probe_cols, radices), max_pairs)
            else:
                build_cols = [chunk.ex] + [chunk.args[:, p] for p in key_positions]
                probe_key, build_key = pack_together([probe_cols, build_cols], radices)
                probe_rows, rows = SortedIndex(build_key).match(probe_key, max_pairs)
            if repeats:
                ok = np.ones(len(rows), dtype=bool)
                for a, b in repeats:
                    ok &= chunk.args[rows, a] == chunk.args[rows, b]
                probe_rows, rows = probe_rows[ok], rows[ok]
            out_ex.append(bind.ex[probe_rows])
            for v, c in bind.cols.items():
                out_cols[v].append(c[probe_rows])
            for v, p in new_at.items():
                out_cols[v].append(chunk.args[rows, p])
        if not out_ex:
            return Bindings(np.zeros(0, ID), {v: np.zeros(0, ID) for v in out_cols})
        return Bindings(np.concatenate(out_ex), {v: np.concatenate(c) for v, c in out_cols.items()})

    def _join_domain(self, bind: Bindings, var: int, type_id: int | None) -> Bindings:
        domain = self.domain(type_id)
        if bind.unit:
            return Bindings(domain.ex, {var: domain.args[:, 0]})
        probe_rows, rows = domain.index((), [self.n_ex]).match(bind.ex.astype(np.int64), _max_rows(len(bind.cols) + 1))
        out = bind.take(probe_rows)
        out.cols[var] = domain.args[rows, 0]
        return out

    # -- strata

    def evaluate(self) -> Model:
        start = time.perf_counter()
        program = self.program
        bar = tqdm(total=len(program.strata), desc="grounding", unit="stratum", disable=not self.progress,
                   leave=False)
        for component, recursive in zip(program.strata, program.recursive):
            rules = [program.rules[i] for p in component for i in program.rules_of.get(p, [])]
            self.stats.components += 1
            if rules:
                if recursive:
                    self.stats.recursive_components += 1
                    self._fixpoint(set(component), rules, bar)
                else:
                    found: dict[int, list[Chunk]] = {}
                    for rule in rules:
                        self.run(rule, {lit.position: self.stores[lit.pred].visible()
                                        for lit in rule.body if lit.kind == "positive"}, found)
                    self._add_found(found)
                    self.stats.iterations += 1
                    for p in component:
                        self.stores[p].settle()
            bar.update(1)
        bar.close()
        self.stats.seconds = time.perf_counter() - start
        return Model(self.db, program, self.stores, self.records, self.stats)

    def _fixpoint(self, component: set[int], rules: list[CompiledRule], bar) -> None:
        """Semi-naive iteration; initially the component's input facts are the delta and ``old`` is empty."""
        for p in component:
            store = self.stores[p]
            store.old, store.delta = [], store.old
        iteration = 0
        grew = True
        found: dict[int, list[Chunk]] = {}
        while grew:
            for rule in rules:
                idb = [lit for lit in rule.body if lit.kind == "positive" and lit.pred in component]
                if not idb:  # exit rule: its body is complete before the component starts
                    if iteration == 0:
                        self.run(rule, {lit.position: self.stores[lit.pred].visible()
                                        for lit in rule.body if lit.kind == "positive"}, found)
                    continue
                for delta_lit in idb:
                    if not self.stores[delta_lit.pred].delta:
                        continue
                    sources = {}
                    for lit in rule.body:
                        if lit.kind != "positive":
                            continue
                        s = self.stores[lit.pred]
                        if lit.pred not in component or lit.position < delta_lit.position:
                            sources[lit.position] = s.visible()  # old + delta
                        elif lit.position == delta_lit.position:
                            sources[lit.position] = list(s.delta)
                        else:
                            sources[lit.position] = list(s.old)
                    self.run(rule, sources, found, first=delta_lit.position)
            self._add_found(found)
            iteration += 1
            grew = False
            for p in component:
                grew |= self.stores[p].advance()
            bar.set_postfix(iteration=iteration)
        for p in component:
            self.stores[p].settle()
        self.stats.iterations += iteration


def evaluate(db: Database, program: Program | None = None, record: bool = True, progress: bool = False) -> Model:
    """The Herbrand model of ``db`` under its template rules (compiled unless ``program`` is given)."""
    program = program if program is not None else compile_program(db)
    return Evaluator(db, program, record=record, progress=progress).evaluate()


ROW_BYTES = 4 + 16  # per substitution: its example id, and the two row indices of the join (int64)


def _max_rows(columns: int) -> int:
    """The most substitutions of ``columns`` variables a join may make within the memory limit."""
    return max_memory() // (ROW_BYTES + 4 * columns)


def _too_large(rule: CompiledRule, joined: object, pairs: int, columns: int, span: Span | None) -> ResourceError:
    """The error of a join of ``rule`` that would make ``pairs`` substitutions of ``columns`` variables."""
    return memory_error(pairs * (ROW_BYTES + 4 * columns),
                        f"grounding rule '{rule.rule}' ({pairs:,} substitutions when joining {joined})", span,
                        "--max-memory SIZE changes the limit (default: 80% of the machine's memory); or bind the "
                        "rule's variables more tightly")

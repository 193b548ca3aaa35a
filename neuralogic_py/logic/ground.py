"""The ground program: ground rules as arrays, pruned to what the queries reach.

Built from an evaluated :class:`~.evaluate.Model` (reference language.md §4.3-4.4).
This is what neuralization consumes; every table is a numpy array.

Ground atoms (``GroundProgram.atoms``, an :class:`AtomTable` with ``A`` rows)
    ``pred[a]`` predicate id, ``ex[a]`` example id, ``terms[a, :arity]`` constant
    ids (``-1`` padding up to the largest arity), ``fact[a]`` true for input
    facts, ``value[a]`` the fact's index into ``db.values`` (``-1`` if not a fact),
    ``derived[a]`` true when the atom heads at least one kept ground rule. An
    atom that is both a fact and derived is referenced through its atom neuron
    (the reference then ignores the fact's value). Atoms are sorted by
    (predicate, example, terms).

Ground rules (``GroundProgram.rules[r]``, a :class:`GroundRules` per lifted rule, ``G_r`` rows)
    ``head[g]`` atom id of the ground head; ``body[g, j]`` atom id of the body
    literal at ``positions[j]`` (the rule's non-hidden, non-built-in, not
    ``!``-negated literals, in rule order; ``soft[j]`` flags ``~`` ones, whose
    input is ``1 - x``); ``group[g]`` the aggregation group, a global id into
    ``group_rule``/``group_head`` (one group per lifted rule and ground head; the
    rows of a rule are sorted by group, so groups are contiguous). Identical
    ground bodies of one rule and head appear once (variables occurring only in
    hidden, negated or built-in literals do not multiply rows). A rule whose
    ``positions`` is empty has an empty ground body: one row per ground head.

Queries
    ``queries`` holds the atom ids the relevance walk started from; only ground
    rules whose head is reachable backwards from them (through any recursion) are
    kept, and only atoms they mention. Without queries everything is kept.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from ..language import ir
from .database import Database, match_rows
from .evaluate import Model
from .keys import TupleKeys, first_rows, fits, pack, search
from .program import CompiledRule

INDEX = np.int64


@dataclass
class AtomTable:
    pred: np.ndarray
    ex: np.ndarray
    terms: np.ndarray
    fact: np.ndarray
    value: np.ndarray
    derived: np.ndarray

    def __len__(self) -> int:
        return len(self.pred)

    def take(self, rows: np.ndarray) -> "AtomTable":
        return AtomTable(self.pred[rows], self.ex[rows], self.terms[rows], self.fact[rows], self.value[rows],
                         self.derived[rows])


@dataclass
class GroundRules:
    """The kept ground rules of one lifted rule (see the module docstring)."""

    rule: CompiledRule
    head: np.ndarray
    body: np.ndarray
    positions: tuple[int, ...]
    soft: np.ndarray
    group: np.ndarray

    def __len__(self) -> int:
        return len(self.head)


@dataclass
class GroundProgram:
    db: Database
    atoms: AtomTable
    rules: list[GroundRules]
    group_rule: np.ndarray
    group_head: np.ndarray
    queries: np.ndarray
    seconds: dict[str, float] = field(default_factory=dict)

    def atom(self, a: int) -> ir.Atom:
        """The atom with id ``a`` as IR (typed constants, ints as ints)."""
        pid = int(self.atoms.pred[a])
        name, arity = self.db.predicates.keys[pid]
        constant = self.db.symbols.constant
        return ir.Atom(name, tuple(map(constant, self.atoms.terms[a, :arity].tolist())))

    def ground_rule_lines(self, rule_index: int | None = None) -> Iterator[str]:
        """``[example] head :- body.`` lines (``[example] head.`` for an empty ground body)."""
        for gr in self.rules:
            if rule_index is not None and gr.rule.index != rule_index:
                continue
            for g in range(len(gr)):
                head = self.atom(int(gr.head[g]))
                body = ", ".join(("~" if s else "") + str(self.atom(int(a)))
                                 for a, s in zip(gr.body[g], gr.soft))
                ex = int(self.atoms.ex[gr.head[g]])
                yield f"[{ex}] {head} :- {body}." if body else f"[{ex}] {head}."

    def counts(self) -> dict:
        """Statistics: ground rules per rule, atoms/facts/derived per predicate."""
        label = self.db.predicates.label
        per_rule = [{"rule": str(gr.rule.rule), "index": gr.rule.index, "ground_rules": len(gr),
                     "groups": int(len(np.unique(gr.group)))} for gr in self.rules]
        per_pred = {}
        if len(self.atoms):
            for pid in np.unique(self.atoms.pred):
                sel = self.atoms.pred == pid
                per_pred[label(int(pid))] = {"atoms": int(sel.sum()), "facts": int(self.atoms.fact[sel].sum()),
                                             "derived": int(self.atoms.derived[sel].sum())}
        return {"atoms": len(self.atoms), "facts": int(self.atoms.fact.sum()),
                "derived": int(self.atoms.derived.sum()), "ground_rules": sum(len(gr) for gr in self.rules),
                "groups": len(self.group_rule), "rules": per_rule, "predicates": per_pred}


# --------------------------------------------------------------------------- building


class _Index:
    """Where each (predicate, example, terms) tuple of the model sits in the atom table."""

    def __init__(self, model: Model):
        db = model.db
        self.db = db
        preds, exs, terms, values, keys, offsets, packers = [], [], [], [], {}, {}, {}
        width = max((db.predicates.arity(p) for p in range(len(db.predicates))), default=0)
        total = 0
        for pid in range(len(db.predicates)):
            chunk = model.tuples(pid)
            if len(chunk) == 0:
                continue
            arity = db.predicates.arity(pid)
            packer = packers[pid] = TupleKeys(db.radices(arity))
            key = packer([chunk.ex] + [chunk.args[:, i] for i in range(arity)], add=True)
            ex, args = chunk.ex, chunk.args
            if not _increasing(key):  # input facts come sorted
                order = np.argsort(key)
                key, ex, args = key[order], ex[order], args[order]
            rel = db.facts.get(pid)
            value = np.full(len(key), -1, dtype=np.int32)
            if rel is not None and len(rel):
                fact_key = packer([rel.ex] + [rel.args[:, i] for i in range(arity)])
                value[search(key, fact_key)[0]] = rel.value
            keys[pid], offsets[pid] = key, total
            preds.append(np.full(len(key), pid, dtype=np.int32))
            exs.append(ex)
            padded = np.full((len(key), width), -1, dtype=np.int32)
            padded[:, :arity] = args
            terms.append(padded)
            values.append(value)
            total += len(key)
        cat = (lambda parts, empty: np.concatenate(parts) if parts else empty)
        value = cat(values, np.zeros(0, np.int32))
        self.table = AtomTable(cat(preds, np.zeros(0, np.int32)), cat(exs, np.zeros(0, np.int32)),
                               cat(terms, np.zeros((0, width), np.int32)), value >= 0, value,
                               np.zeros(total, dtype=bool))
        self.keys = keys
        self.offsets = offsets
        self.packers = packers

    def lookup(self, pid: int, ex: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
        """Atom ids of tuples known to be in the model."""
        if len(ex) == 0:
            return np.zeros(0, dtype=INDEX)
        return self.offsets[pid] + search(self.keys[pid], self.packers[pid]([ex] + columns))[0]

    def find(self, pid: int, ex: np.ndarray, columns: list[np.ndarray]) -> np.ndarray:
        """Atom ids, or -1 for tuples not in the model."""
        keys = self.keys.get(pid)
        if keys is None or len(keys) == 0:
            return np.full(len(ex), -1, dtype=INDEX)
        key = self.packers[pid]([ex] + columns)
        at = np.minimum(search(keys, key)[0], len(keys) - 1)
        return np.where(keys[at] == key, self.offsets[pid] + at, -1)


def _rule_rows(model: Model, rule: CompiledRule, index: _Index) -> tuple[np.ndarray, np.ndarray]:
    """Distinct recorded substitutions of ``rule`` as (head ids, body ids), sorted by head then body."""
    parts = model.records.get(rule.index, [])
    width = len(rule.visible)
    if len(parts) == 1:
        ex, cols = parts[0]
    elif parts:
        ex = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
    else:
        ex, cols = np.zeros(0, np.int32), np.zeros((0, width), np.int32)
    db = model.db
    if len(ex):
        if fits(db.radices(width)):
            key = pack([ex] + [cols[:, i] for i in range(width)], db.radices(width))
            first = None if _increasing(key) else first_rows(key)[1]  # often already distinct and sorted
        else:
            _, first = np.unique(np.column_stack([ex, cols]), axis=0, return_index=True)
        if first is not None:
            ex, cols = ex[first], cols[first]
    column_of = {v: i for i, v in enumerate(rule.visible)}
    n = len(ex)

    def slot_columns(slots):
        return [cols[:, column_of[s.var]] if s.var is not None else np.full(n, s.const, dtype=np.int32)
                for s in slots]

    head = index.lookup(rule.head_pred, ex, slot_columns(rule.head))
    kept = rule.kept
    body = np.stack([index.lookup(lit.pred, ex, slot_columns(lit.slots)) for lit in kept], axis=1) if kept \
        else np.zeros((n, 0), dtype=INDEX)
    if _increasing(head):  # rows are sorted already (one ground rule per head)
        return head, body
    order = np.lexsort(tuple(body[:, j] for j in range(body.shape[1] - 1, -1, -1)) + (head,))
    return head[order], body[order]


def _increasing(values: np.ndarray) -> bool:
    """True when ``values`` is strictly increasing (so sorted, without repeats)."""
    return not (values[1:] <= values[:-1]).any()


@dataclass
class Groundings:
    """Every ground rule of an evaluated model, before relevance pruning.

    ``heads[r]``/``bodies[r]`` are atom ids into ``index.table`` for lifted rule
    ``r``; ``index.table.derived`` marks the atoms some ground rule derives.
    """

    model: Model
    index: _Index
    heads: list[np.ndarray]
    bodies: list[np.ndarray]

    @property
    def table(self) -> AtomTable:
        return self.index.table

    def find_ground(self, examples: np.ndarray, atoms: list[ir.Atom]) -> np.ndarray:
        """Atom ids (-1 when absent) of ground ``atoms`` of one predicate, ``atoms[i]`` in ``examples[i]``."""
        db = self.model.db
        first = atoms[0]
        pid = db.predicates.find(first.predicate, first.arity)
        missing = np.full(len(atoms), -1, dtype=INDEX)
        if pid is None or pid not in self.index.keys:
            return missing
        found_ids: dict[ir.Term, int] = {}  # queries repeat their constants: look each up once
        for term in {t for a in atoms for t in a.terms}:
            c = db.symbols.find(term)
            found_ids[term] = -1 if c is None else c
        columns = []
        known = np.ones(len(atoms), dtype=bool)
        for i in range(first.arity):
            ids = np.fromiter((found_ids[a.terms[i]] for a in atoms), dtype=np.int64, count=len(atoms))
            known &= ids >= 0
            columns.append(np.maximum(ids, 0).astype(np.int32))
        found = self.index.find(pid, np.asarray(examples, dtype=np.int32), columns)
        return np.where(known, found, missing)

    def find(self, example: int, atom: ir.Atom) -> np.ndarray:
        """Atom ids in ``example`` matching ``atom`` (ground: 0 or 1 id; with variables: every match)."""
        db = self.model.db
        pid = db.predicates.find(atom.predicate, atom.arity)
        if pid is None or pid not in self.index.keys:
            return np.zeros(0, dtype=INDEX)
        if atom.is_ground:
            consts = [db.symbols.find(t) for t in atom.terms]
            if any(c is None for c in consts):
                return np.zeros(0, dtype=INDEX)
            found = self.index.find(pid, np.array([example]), [np.array([c]) for c in consts])
            return found[found >= 0]
        start = self.index.offsets[pid]
        rows = np.arange(start, start + len(self.index.keys[pid]), dtype=INDEX)
        table = self.table
        return rows[match_rows(db, table.ex[rows], table.terms[rows], example, atom)]


def ground_rules(model: Model) -> Groundings:
    """The distinct ground rules of every rule of ``model`` (no pruning yet)."""
    index = _Index(model)
    heads, bodies = [], []
    for rule in model.program.rules:
        h, b = _rule_rows(model, rule, index)
        heads.append(h)
        bodies.append(b)
        index.table.derived[h] = True
    return Groundings(model, index, heads, bodies)


def build_ground_program(groundings: Groundings | Model, queries: np.ndarray | None = None) -> GroundProgram:
    """Ground rules of every rule, pruned to those reaching ``queries`` (atom ids; None keeps all)."""
    start = time.perf_counter()
    if isinstance(groundings, Model):
        groundings = ground_rules(groundings)
    model, table, heads, bodies = groundings.model, groundings.table, groundings.heads, groundings.bodies
    if queries is None:
        keep_rows = [np.ones(len(h), dtype=bool) for h in heads]
        used = np.ones(len(table), dtype=bool)
    else:
        queries = np.asarray(queries, dtype=INDEX)
        keep_rows = _relevant(model, table, heads, bodies, queries)
        used = np.zeros(len(table), dtype=bool)
        used[queries] = True
        for h, b, k in zip(heads, bodies, keep_rows):
            used[h[k]] = True
            used[b[k].reshape(-1)] = True
    new_id = np.cumsum(used) - 1
    atoms = table.take(np.flatnonzero(used))
    atoms.derived[:] = False
    rules, group_rule, group_head = [], [], []
    n_groups = 0
    for rule, h, b, k in zip(model.program.rules, heads, bodies, keep_rows):
        h, b = new_id[h[k]], new_id[b[k]]
        atoms.derived[h] = True
        starts = np.ones(len(h), dtype=bool)
        starts[1:] = h[1:] != h[:-1]
        group = n_groups + np.cumsum(starts) - 1
        group_rule.append(np.full(int(starts.sum()), rule.index, dtype=np.int32))
        group_head.append(h[starts])
        n_groups += int(starts.sum())
        soft = np.array([lit.soft for lit in rule.kept], dtype=bool)
        rules.append(GroundRules(rule, h, b, tuple(lit.position for lit in rule.kept), soft, group))
    q = new_id[queries] if queries is not None else np.zeros(0, dtype=INDEX)
    program = GroundProgram(model.db, atoms, rules,
                            np.concatenate(group_rule) if group_rule else np.zeros(0, np.int32),
                            np.concatenate(group_head) if group_head else np.zeros(0, INDEX), q)
    program.seconds["ground program"] = time.perf_counter() - start
    return program


def _relevant(model: Model, table: AtomTable, heads, bodies, roots: np.ndarray) -> list[np.ndarray]:
    """Which ground rules are reachable backwards from ``roots`` (a fixpoint over ground rules)."""
    reached = np.zeros(len(table), dtype=bool)
    reached[roots] = True
    keep = [np.zeros(len(h), dtype=bool) for h in heads]
    # Later strata first, so one sweep settles every non-recursive layer.
    component_of = {}
    for k, comp in enumerate(model.program.strata):
        for p in comp:
            component_of[p] = k
    order = sorted(range(len(heads)), key=lambda r: -component_of.get(model.program.rules[r].head_pred, 0))
    changed = True
    while changed:
        changed = False
        for r in order:
            h = heads[r]
            if not len(h):
                continue
            sel = reached[h] & ~keep[r]
            if not sel.any():
                continue
            keep[r] |= sel
            atoms = bodies[r][sel].reshape(-1)
            fresh = atoms[~reached[atoms]]
            if len(fresh):
                reached[fresh] = True
                changed = True
    return keep

"""Rules compiled to integer form, and their stratification.

A compiled rule names its variables by index and its predicates and constants by
the ids of a :class:`~.database.Database`. Decisions made here:

* ``_`` is anonymous: every occurrence is a distinct variable. (The reference
  engine treats all ``_`` of a rule as one variable named ``_``; we follow the
  usual Datalog and Prolog reading, which is what ``*edge(X, Y, _)`` means to
  a reader.)
* A variable written with a type anywhere in the rule (``h(woman:X) :- f(X)``)
  has that type in the whole rule; two different types are an error.
* Literals: *positive* (plain, ``~`` soft-negated and ``*`` hidden atoms) bind
  variables; *negated* (``!``) ones are checked against the finished lower
  strata; *built-ins* (``@...``) are filters. A literal is *kept* in ground
  bodies when it is positive and not hidden (soft-negated ones are kept and
  flagged).
* ``@embed_x(X)`` heads derive the ordinary predicate ``embed_x/1``.

Stratification: predicates are ordered by their dependencies (strongly
connected components of the head <- body graph, dependencies first). A ``!``
literal inside a component is a negative cycle: the template is rejected with a
:class:`ValidationError` at that literal, naming the cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import Span, ValidationError
from ..language import ir
from .database import Database

BUILTIN_ARITY = {
    "eq": (2, 2), "neq": (2, 2), "lt": (2, 2), "leq": (2, 2), "gt": (2, 2), "geq": (2, 2), "next": (2, 2),
    "alldiff": (1, None), "in": (1, None), "maxcard": (1, None), "true": (0, 0), "false": (0, 0),
}

UNKNOWN_CONSTANT = -1  # a constant no input mentions: matches nothing


@dataclass(frozen=True)
class Slot:
    """One argument position: a variable index or a constant id."""

    var: int | None = None
    const: int | None = None


@dataclass
class CompiledLiteral:
    position: int  # index in the rule body
    kind: str  # "positive" | "negated" | "builtin"
    pred: int | None
    slots: tuple[Slot, ...]
    hidden: bool = False
    soft: bool = False
    builtin: str | None = None
    span: Span | None = None

    @property
    def kept(self) -> bool:
        return self.kind == "positive" and not self.hidden

    @property
    def variables(self) -> set[int]:
        return {s.var for s in self.slots if s.var is not None}


@dataclass
class CompiledRule:
    index: int
    rule: ir.Rule
    head_pred: int
    head: tuple[Slot, ...]
    body: list[CompiledLiteral]
    var_names: list[str]
    var_types: list[int | None]  # type id (see Symbols.type_id) per variable
    # variables of the head and kept literals (with duplicate_grounding, of every positive literal), ascending
    visible: list[int] = field(default_factory=list)

    @property
    def kept(self) -> list[CompiledLiteral]:
        return [lit for lit in self.body if lit.kept]

    @property
    def span(self) -> Span | None:
        return self.rule.span


@dataclass
class Program:
    rules: list[CompiledRule]
    strata: list[list[int]]  # predicate ids per component, dependencies first
    recursive: list[bool]
    rules_of: dict[int, list[int]]  # head predicate -> rule indices


def compile_program(db: Database) -> Program:
    rules = [compile_rule(i, r, db) for i, r in enumerate(db.rules)]
    strata, recursive = stratify(rules, db)
    rules_of: dict[int, list[int]] = {}
    for r in rules:
        rules_of.setdefault(r.head_pred, []).append(r.index)
    return Program(rules, strata, recursive, rules_of)


def compile_rule(index: int, rule: ir.Rule, db: Database) -> CompiledRule:
    names: list[str] = []
    types: list[str | None] = []
    ids: dict[str, int] = {}
    spans: dict[str, Span | None] = {}

    def slots(atom: ir.Atom, span: Span | None) -> tuple[Slot, ...]:
        out = []
        for t in atom.terms:
            if isinstance(t, ir.Variable):
                name = t.name
                if name == "_":  # each occurrence is its own variable
                    name = f"_#{len(names)}"
                v = ids.get(name)
                if v is None:
                    v = ids[name] = len(names)
                    names.append(t.name)
                    types.append(None)
                    spans[name] = span
                if t.type is not None:
                    if types[v] is not None and types[v] != t.type:
                        raise ValidationError(f"variable {t.name} has two types in one rule: "
                                              f"{types[v]} and {t.type}", span or rule.span)
                    types[v] = t.type
                out.append(Slot(var=v))
            else:
                c = db.symbols.find(t)
                out.append(Slot(const=UNKNOWN_CONSTANT if c is None else c))
        return tuple(out)

    head_atom = rule.head
    head_pred = db.predicates.intern(head_atom.predicate, head_atom.arity)
    head = slots(head_atom, rule.span)
    body = []
    for position, lit in enumerate(rule.body):
        atom = lit.atom
        span = lit.span or rule.span
        if atom.builtin:
            if lit.negation:
                raise ValidationError(f"a built-in cannot be negated ('{lit.negation}@{atom.predicate}')", span,
                                      "use the opposite built-in, e.g. @neq for !@eq")
            check_builtin(atom, span)
            body.append(CompiledLiteral(position, "builtin", None, slots(atom, span), builtin=atom.predicate,
                                        span=span))
        else:
            pred = db.predicates.intern(atom.predicate, atom.arity)
            kind = "negated" if lit.negation == ir.Negation.HARD else "positive"
            body.append(CompiledLiteral(position, kind, pred, slots(atom, span), hidden=lit.hidden,
                                        soft=lit.negation == ir.Negation.SOFT, span=span))
    type_ids = [None if t is None else db.symbols.type_id(t) for t in types]
    compiled = CompiledRule(index, rule, head_pred, head, body, names, type_ids)
    visible = {s.var for s in head if s.var is not None}
    # duplicate_grounding=true: every substitution of the positive literals, hidden ones too, is a ground rule
    duplicates = rule.metadata.get("duplicate_grounding") == "true"
    for lit in compiled.body if duplicates else compiled.kept:
        if lit.kind == "positive":
            visible |= lit.variables
    compiled.visible = sorted(visible)
    return compiled


def check_builtin(atom: ir.Atom, span: Span | None) -> None:
    bounds = BUILTIN_ARITY.get(atom.predicate)
    if bounds is None:
        known = ", ".join(f"@{n}" for n in BUILTIN_ARITY)
        raise ValidationError(f"unknown built-in '@{atom.predicate}'", span, f"known built-ins: {known}")
    low, high = bounds
    if atom.arity < low or (high is not None and atom.arity > high):
        want = f"{low}" if low == high else f"at least {low}"
        raise ValidationError(f"'@{atom.predicate}' takes {want} argument(s), got {atom.arity}", span)
    if atom.predicate == "maxcard" and not (isinstance(atom.terms[0], ir.Constant)
                                            and isinstance(atom.terms[0].value, int)):
        raise ValidationError("the first argument of '@maxcard' must be an integer constant", span)


# --------------------------------------------------------------------------- stratification


def stratify(rules: list[CompiledRule], db: Database) -> tuple[list[list[int]], list[bool]]:
    """Components of the predicate dependency graph in evaluation order (Tarjan's algorithm)."""
    n = len(db.predicates)
    edges: list[list[tuple[int, CompiledRule, CompiledLiteral]]] = [[] for _ in range(n)]
    for r in rules:
        for lit in r.body:
            if lit.pred is not None:
                edges[r.head_pred].append((lit.pred, r, lit))
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    components: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                index[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack[v] = True
            recurse = False
            while i < len(edges[v]):
                w = edges[v][i][0]
                i += 1
                if index[w] < 0:
                    work.append((v, i))
                    work.append((w, 0))
                    recurse = True
                    break
                if on_stack[w]:
                    low[v] = min(low[v], index[w])
            if recurse:
                continue
            if low[v] == index[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    component.append(w)
                    if w == v:
                        break
                components.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    component_of = np.empty(n, dtype=np.int64)
    for k, comp in enumerate(components):
        component_of[comp] = k
    recursive = []
    for comp in components:
        members = set(comp)
        rec = False
        for p in comp:
            for w, r, lit in edges[p]:
                if w in members:
                    rec = True
                    if lit.kind == "negated":
                        raise _negative_cycle(p, w, r, lit, edges, members, db)
        recursive.append(rec)
    return components, recursive


def _negative_cycle(head: int, negated: int, rule: CompiledRule, lit: CompiledLiteral, edges, members: set[int],
                    db: Database) -> ValidationError:
    """The error for ``head :- ..., !negated`` where ``negated`` depends back on ``head``."""
    # Breadth-first path negated -> ... -> head inside the component.
    previous = {negated: None}
    queue = [negated]
    while queue and head not in previous:
        nxt = []
        for v in queue:
            for w, _, _ in edges[v]:
                if w in members and w not in previous:
                    previous[w] = v
                    nxt.append(w)
        queue = nxt
    path = [head]
    v = previous.get(head)
    while v is not None:
        path.append(v)
        v = previous[v]
    path.reverse()  # negated ... head
    label = db.predicates.label
    cycle = " -> ".join([label(head), "!" + label(negated)] + [label(p) for p in path[1:]]) \
        if negated != head else f"{label(head)} -> !{label(head)}"
    return ValidationError(f"negation is not stratifiable: {label(head)} depends on its own negation ({cycle})",
                           lit.span or rule.span,
                           "a predicate may only be negated after it is complete; remove the cycle through '!'")

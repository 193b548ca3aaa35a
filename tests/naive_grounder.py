"""A slow, obviously correct grounder: the oracle the vectorised one is checked against.

Each example on its own, with Python sets of atoms. Strata by the textbook
fixpoint on stratum numbers, each stratum by naive iteration, substitutions by
backtracking over variables (each ranging over the active domain, or its type),
testing every literal as soon as its variables are assigned. It shares no code
with ``neuralogic_py.logic``. Only for small inputs.

Ground rules come out as the lines ``GroundProgram.ground_rule_lines`` prints:
``[example] head :- body.``.
"""

from __future__ import annotations

from typing import Sequence

from neuralogic_py.language import ir


def _key(c: ir.Constant) -> tuple:
    return (c.type, c.value.__class__.__name__, c.value)


def _text(c: ir.Constant) -> str:
    return ir.format_number(c.value) if isinstance(c.value, float) else str(c.value)


def _is_number(c: ir.Constant) -> bool:
    return isinstance(c.value, (int, float))


def _equal(a: ir.Constant, b: ir.Constant) -> bool:
    if _is_number(a) and _is_number(b):
        return float(a.value) == float(b.value)
    return _key(a) == _key(b)


def _less(a: ir.Constant, b: ir.Constant) -> bool:
    if _is_number(a) and _is_number(b):
        return float(a.value) < float(b.value)
    return _text(a) < _text(b)


def builtin_holds(name: str, args: list[ir.Constant]) -> bool:
    if name == "eq":
        return _equal(*args)
    if name == "neq":
        return not _equal(*args)
    if name == "lt":
        return _less(args[0], args[1])
    if name == "leq":
        return not _less(args[1], args[0])
    if name == "gt":
        return _less(args[1], args[0])
    if name == "geq":
        return not _less(args[0], args[1])
    if name == "next":
        return _is_number(args[0]) and _is_number(args[1]) and float(args[1].value) == float(args[0].value) + 1
    if name == "alldiff":
        return all(not _equal(args[i], args[j]) for i in range(len(args)) for j in range(i + 1, len(args)))
    if name == "in":
        return any(_equal(args[0], o) for o in args[1:])
    raise ValueError(name)


class _Promote:
    """Names written with exactly one type are typed everywhere."""

    def __init__(self, constants: list[ir.Constant]):
        typed: dict[tuple, set[str]] = {}
        for c in constants:
            if c.type is not None:
                typed.setdefault((c.value.__class__.__name__, c.value), set()).add(c.type)
        self.typed = {k: next(iter(v)) for k, v in typed.items() if len(v) == 1}

    def __call__(self, c: ir.Constant) -> ir.Constant:
        if c.type is None:
            t = self.typed.get((c.value.__class__.__name__, c.value))
            if t is not None:
                return ir.Constant(c.value, t)
        return c


def _atom_key(pred: str, args) -> tuple:
    return (pred, tuple(_key(a) for a in args))


def naive_ground(template: ir.Template, examples: Sequence[ir.Example],
                 queries: Sequence[tuple[int, ir.Atom]] | None = None) -> list[str]:
    """Sorted ground-rule lines of every example, pruned to ``queries`` ((example, atom) pairs) when given."""
    rules = [s for s in template.statements if isinstance(s, ir.Rule)]
    template_facts = [s for s in template.statements if isinstance(s, ir.Fact) and not s.negated]
    rules += [ir.Rule(f.atom, (), f.weight) for f in template_facts if not f.atom.is_ground]
    ground_template_facts = [f.atom for f in template_facts if f.atom.is_ground]
    examples = list(examples) or [ir.Example(())]
    every = [t for r in rules for a in (r.head, *(lit.atom for lit in r.body)) for t in a.terms]
    every += [t for a in ground_template_facts for t in a.terms]
    every += [t for e in examples for f in e.facts for t in f.atom.terms]
    promote = _Promote([t for t in every if isinstance(t, ir.Constant)])
    strata = _strata(rules)
    lines: list[str] = []
    edges: dict[str, list[str]] = {}
    recorded: set = set()
    for e, example in enumerate(examples):
        atoms = [ir.Atom(f.atom.predicate, tuple(promote(t) for t in f.atom.terms))
                 for f in example.facts if not f.negated]
        atoms += [ir.Atom(a.predicate, tuple(promote(t) for t in a.terms)) for a in ground_template_facts]
        model = {_atom_key(a.predicate, a.terms): a for a in atoms}
        domain = {}
        for c in [t for a in atoms for t in a.terms]:  # the terms of the example, template facts included
            domain[_key(c)] = c
        for level in sorted(set(strata.values())):
            layer = [r for r in rules if strata[_sig(r.head)] == level]
            changed = True
            while changed:
                changed = False
                for rule in layer:
                    for head, _ in _substitutions(rule, model, domain, promote):
                        k = _atom_key(head.predicate, head.terms)
                        if k not in model:
                            model[k] = head
                            changed = True
        for rule in rules:
            for head_atom, body_atoms in _substitutions(rule, model, domain, promote):
                head = str(head_atom)
                body = [("~" if lit.negation == ir.Negation.SOFT else "") + str(atom)
                        for lit, atom in zip(rule.body, body_atoms)
                        if not lit.atom.builtin and not lit.hidden and lit.negation != ir.Negation.HARD]
                line = f"[{e}] {head} :- {', '.join(body)}." if body else f"[{e}] {head}."
                # duplicate_grounding: one ground rule per substitution of the positive literals, hidden ones too
                key = (line, tuple(str(atom) for lit, atom in zip(rule.body, body_atoms)
                                   if not lit.atom.builtin and lit.negation != ir.Negation.HARD)) \
                    if rule.metadata.get("duplicate_grounding") == "true" else line
                if key not in recorded:
                    recorded.add(key)
                    edges.setdefault(line, [f"[{e}] {b.lstrip('~')}" for b in body])
                    lines.append(line)
    if queries is not None:
        wanted = {f"[{e}] {ir.Atom(a.predicate, tuple(promote(t) for t in a.terms))}" for e, a in queries}
        kept: set[str] = set()
        frontier = set(wanted)
        seen = set(frontier)
        while frontier:
            nxt = set()
            for line in lines:
                head = line.split(" :- ")[0].rstrip(".")
                if head in frontier and line not in kept:
                    kept.add(line)
                    for b in edges[line]:
                        if b not in seen:
                            seen.add(b)
                            nxt.add(b)
            frontier = nxt
        lines = [line for line in lines if line in kept]
    return sorted(lines)


def _sig(atom: ir.Atom) -> tuple[str, int]:
    return (atom.predicate, atom.arity)


def _strata(rules: list[ir.Rule]) -> dict[tuple[str, int], int]:
    level: dict[tuple[str, int], int] = {}
    for r in rules:
        level.setdefault(_sig(r.head), 0)
        for lit in r.body:
            if not lit.atom.builtin:
                level.setdefault(_sig(lit.atom), 0)
    for _ in range(len(level) + 1):
        changed = False
        for r in rules:
            h = _sig(r.head)
            for lit in r.body:
                if lit.atom.builtin:
                    continue
                need = level[_sig(lit.atom)] + (1 if lit.negation == ir.Negation.HARD else 0)
                if level[h] < need:
                    level[h] = need
                    changed = True
        if not changed:
            return level
    raise ValueError("not stratifiable")


def _variables(rule: ir.Rule) -> tuple[list[ir.Variable], list[tuple]]:
    """Variables in order of appearance; each '_' occurrence gets its own name."""
    out: dict[str, ir.Variable] = {}
    counter = 0
    renamed = []
    for atom in (rule.head, *(lit.atom for lit in rule.body)):
        terms = []
        for t in atom.terms:
            if isinstance(t, ir.Variable):
                if t.name == "_":
                    t = ir.Variable(f"_{counter}#", t.type)
                    counter += 1
                if t.name not in out or (t.type and not out[t.name].type):
                    out[t.name] = t
            terms.append(t)
        renamed.append(tuple(terms))
    return list(out.values()), renamed


def _apply(terms: tuple, predicate: str, theta: dict[str, ir.Constant]) -> ir.Atom:
    return ir.Atom(predicate, tuple(theta[t.name] if isinstance(t, ir.Variable) else t for t in terms))


def _substitutions(rule: ir.Rule, model: dict, domain: dict, promote) -> list[tuple[ir.Atom, list[ir.Atom]]]:
    """(ground head, ground body atoms) of every substitution satisfying the body, by brute force."""
    variables, renamed = _variables(rule)
    renamed = [tuple(promote(t) if isinstance(t, ir.Constant) else t for t in terms) for terms in renamed]
    body = [(lit, terms, {t.name for t in terms if isinstance(t, ir.Variable)})
            for lit, terms in zip(rule.body, renamed[1:])]
    order = [v.name for v in variables]
    ranges = {v.name: [c for c in domain.values() if v.type is None or c.type == v.type] for v in variables}

    def holds(lit: ir.Literal, terms: tuple, theta: dict) -> bool:
        args = [theta[t.name] if isinstance(t, ir.Variable) else t for t in terms]
        if lit.atom.builtin:
            return builtin_holds(lit.atom.predicate, args)
        present = _atom_key(lit.atom.predicate, args) in model
        return not present if lit.negation == ir.Negation.HARD else present

    results = []

    def extend(i: int, theta: dict) -> None:
        assigned = set(order[:i])
        for lit, terms, names in body:
            if names <= assigned and (i == 0 or order[i - 1] in names) and not holds(lit, terms, theta):
                return
        if i == len(order):
            results.append((_apply(renamed[0], rule.head.predicate, theta),
                            [_apply(terms, lit.atom.predicate, theta) for lit, terms, _ in body]))
            return
        for c in ranges[order[i]]:
            theta[order[i]] = c
            extend(i + 1, theta)
        del theta[order[i]]

    extend(0, {})
    return results

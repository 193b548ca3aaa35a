"""Semantic checks of a parsed template, each positioned in the text the user wrote.

The parser accepts everything the grammar allows; this module finds what parses
but cannot mean what was intended. :func:`check_template` returns every finding
as a :class:`Diagnostic`; :func:`validate_template` (called by ``parse_template``
and ``load_template``) issues the warnings with :func:`errors.warn` and raises
one :class:`TemplateErrors` carrying *all* errors: its ``message``/``span`` are
the first error's, and ``str()`` shows each error in file order, then the count.

Errors (the template has no sensible meaning):

* **unsafe rule**: a head variable that occurs in no body literal at all.
  Plain, soft-negated ``~`` and hidden ``*`` literals bind; hard-negated ``!``
  and built-in ``@`` ones only test: a head variable that only they mention
  ranges over the example's active domain (every constant of the example, as in
  the reference), which is a *warning*. Template facts with variables
  (``<2.0> edge(X, X).``, body-less rules over the active domain) and
  ``@embed...`` heads are exempt. ``_`` in a rule head is always an error: each
  ``_`` is a fresh variable, so nothing could bind it.
* **named weight clash**: ``$w`` written with two shapes, or fixed (``<...>``)
  in one place and learnable in another.
* **weight metadata** ``$w [...]`` for a ``$w`` the template never defines, or
  whose ``value=`` has another shape than ``$w``.

Warnings (well defined, but probably not what was meant):

* a predicate name used with two arities (``r/2`` and ``r/3`` are different
  predicates; the nations data does this on purpose), once per extra arity;
* a named weight written again with another value of the same shape (the first
  occurrence defines it; later ones only refer to it);
* metadata keys that have no effect where they stand (``aggregation=`` on a
  predicate, ``offset=``/``learnable=``/``value=`` on a rule, ...), as in the
  reference engine;
* a predicate offset or metadata for a predicate no rule head defines;
* constraints (``a, b.``) and metadata lines attached to nothing: no effect;
* a rule repeating the Horn clause of an earlier one (same head and body up to
  variable names and body order, weights aside): both are kept, each with its
  own weights and aggregation.

Built-in names and arities are checked when rules are compiled for grounding
(:mod:`neuralogic_py.logic.program`); metadata function names and weight values
when they are parsed (:mod:`.metadata`, :mod:`.values`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from ..errors import Span, ValidationError, render, warn
from . import ir
from .functions import canonical_function, function_parts

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    """One finding: ``severity`` is ``"error"`` or ``"warning"``."""

    severity: str
    message: str
    span: Span | None = None
    hint: str | None = None

    def __str__(self) -> str:
        return render(self.severity, self.message, self.span, self.hint)


class TemplateErrors(ValidationError):
    """Every error :func:`check_template` found; reads as the first one when there is one."""

    def __init__(self, errors: list[Diagnostic]):
        first = errors[0]
        super().__init__(first.message, first.span, first.hint)
        self.errors = tuple(errors)

    def __str__(self) -> str:
        if len(self.errors) == 1:
            return super().__str__()
        return "\n".join(str(e) for e in self.errors) + f"\n{len(self.errors)} errors in the template"


def validate_template(template: ir.Template) -> None:
    """Warn about every questionable statement; raise :class:`TemplateErrors` if any is an error."""
    diagnostics = check_template(template)
    for d in diagnostics:
        if d.severity == WARNING:
            warn(d.message, d.span, d.hint)
    errors = [d for d in diagnostics if d.severity == ERROR]
    if errors:
        raise TemplateErrors(errors)


def check_template(template: ir.Template) -> list[Diagnostic]:
    """All errors and warnings of ``template``, in the order of the statements they concern."""
    found: list[tuple[int, Diagnostic]] = []
    for check in (_unsafe_rules, _arities, _named_weights, _metadata, _declarations, _no_effect,
                  _function_lookalikes, _duplicate_rules):
        found.extend(check(template.statements))
    found.sort(key=lambda item: item[0])  # stable: within a statement, checks keep their order
    return [d for _, d in found]


Found = Iterator[tuple[int, Diagnostic]]


# --------------------------------------------------------------------------- positions


def _locate(span: Span | None, pattern: str, nth: int = 0) -> Span | None:
    """The ``nth`` match of ``pattern`` on the first line of ``span`` (from its start), else ``span``.

    Statements keep the span of their whole text; this narrows it to the word an
    error is about (a variable, ``$w``, a metadata key) so the caret lands there.
    """
    if span is None or span.text is None:
        return span
    matches = list(re.finditer(pattern, span.text[span.column - 1:]))
    if len(matches) <= nth:
        return span
    m = matches[nth]
    start, end = span.column + m.start(), span.column + m.end()
    return Span(span.file, span.line, start, span.line, end, span.text)


_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _locate_word(span: Span | None, word: str, nth: int = 0) -> Span | None:
    """:func:`_locate` for ``word`` as a whole name (names may contain '-' and '_'), found without a regex.

    (A pattern per name filled the regex cache: validating 100k named weights compiled 200k patterns.)
    """
    if span is None or span.text is None:
        return span
    text, at, seen = span.text, span.column - 2, 0
    while True:
        at = text.find(word, at + 1)
        if at < 0:
            return span
        before = text[at - 1] if at > span.column - 1 else ""
        after = text[at + len(word)] if at + len(word) < len(text) else ""
        if before not in _NAME_CHARS and before != "$" and after not in _NAME_CHARS:
            if seen == nth:
                return Span(span.file, span.line, at + 1, span.line, at + 1 + len(word), span.text)
            seen += 1


def _where(span: Span | None) -> str:
    return span.location() if span is not None else "an earlier statement"


# --------------------------------------------------------------------------- unsafe rules


def _unsafe_rules(statements: tuple[ir.Statement, ...]) -> Found:
    for i, s in enumerate(statements):
        if not isinstance(s, ir.Rule) or s.head.builtin:  # @embed heads range over their body's terms
            continue
        bound = {v.name for lit in s.body if lit.is_positive for v in lit.atom.variables()}
        reported: set[str] = set()
        for v in s.head.variables():
            if v.name in reported:
                continue
            reported.add(v.name)
            at = _locate_word(s.span, v.name)
            if v.is_anonymous:
                yield i, Diagnostic(ERROR, f"'_' cannot appear in the head of a rule: '{s.head}'", at,
                                    "each '_' is a fresh variable that nothing binds; name it (e.g. X) "
                                    "and bind it in the body")
            elif v.name not in bound:
                tested = any(v.name == t.name for lit in s.body for t in lit.atom.variables())
                if tested:
                    yield i, Diagnostic(WARNING, f"head variable '{v.name}' of '{s.head}' occurs only in negated "
                                        "('!') or built-in ('@') literals, so it ranges over every constant of "
                                        "the example", at, f"add a positive literal that binds {v.name} "
                                        "if that is not what you mean")
                else:
                    yield i, Diagnostic(ERROR, f"unsafe rule for '{s.head}': head variable '{v.name}' is not bound "
                                        "by any body literal", at, _unsafe_hint(v.name, s))


def _unsafe_hint(name: str, rule: ir.Rule) -> str:
    if any(isinstance(t, ir.Constant) and t.value == name.lower() for lit in rule.body for t in lit.atom.terms):
        return (f"'{name.lower()}' in the body is a constant; variables start with an upper-case letter")
    return f"'{name}' does not occur in the body; add a positive literal that binds {name}"


# --------------------------------------------------------------------------- arities


def _uses(s: ir.Statement) -> Iterator[tuple[str, int, Span | None]]:
    """Every (predicate name, arity, where) a statement mentions; built-ins are variadic and skipped.

    Declarations (``h/2 {1}``) are left to :func:`_declarations`, which names the arities rules use.
    """
    if isinstance(s, ir.Rule):
        yield s.head.predicate, s.head.arity, _locate_word(s.span, s.head.predicate)  # @embed_x: embed_x
        for lit in s.body:
            if not lit.atom.builtin:
                yield lit.atom.predicate, lit.atom.arity, lit.span
    elif isinstance(s, ir.Fact) and not s.atom.builtin:
        yield s.atom.predicate, s.atom.arity, s.span
    elif isinstance(s, ir.Constraint):
        for lit in s.literals:
            if not lit.atom.builtin:
                yield lit.atom.predicate, lit.atom.arity, lit.span


def _arguments(n: int) -> str:
    return "1 argument" if n == 1 else f"{n} arguments"


def _arities(statements: tuple[ir.Statement, ...]) -> Found:
    first: dict[str, tuple[int, Span | None]] = {}
    seen: set[tuple[str, int]] = set()
    for i, s in enumerate(statements):
        for name, arity, span in _uses(s):
            if (name, arity) in seen:
                continue
            seen.add((name, arity))
            if name not in first:
                first[name] = (arity, span)
                continue
            arity0, span0 = first[name]
            yield i, Diagnostic(WARNING, f"predicate '{name}' is used with {_arguments(arity)} here and with "
                                f"{_arguments(arity0)} at {_where(span0)}", span,
                                f"{name}/{arity} and {name}/{arity0} are different predicates; "
                                "rename one if they are meant to differ")


# --------------------------------------------------------------------------- named weights


def _shape_text(shape: tuple[int, ...]) -> str:
    if not shape:
        return "a scalar"
    return "shape {" + ",".join(map(str, shape)) + "}"


@dataclass(frozen=True)
class _Definition:
    weight: ir.Weight
    span: Span | None


def _named_weight_uses(statements: tuple[ir.Statement, ...]) -> Iterator[tuple[int, ir.Weight, Span | None]]:
    """Every named weight in text order, positioned at its ``$name``."""
    for i, s in enumerate(statements):
        count: dict[str, int] = {}
        for weight, span in ir.Template((s,)).weights():
            if weight.name is None:
                continue
            nth = count.get(weight.name, 0)
            count[weight.name] = nth + 1
            # Body literals have their own span; the head weight and the offset share the rule's.
            own = span is not s.span
            yield i, weight, _locate_word(span, "$" + weight.name, 0 if own else nth)


def _named_weights(statements: tuple[ir.Statement, ...]) -> Found:
    defined: dict[str, _Definition] = {}
    for i, weight, span in _named_weight_uses(statements):
        if weight.name not in defined:
            defined[weight.name] = _Definition(weight, span)
            continue
        first = defined[weight.name]
        name, w0 = f"'${weight.name}'", first.weight
        if weight.fixed != w0.fixed:
            state = "fixed (<...>)" if weight.fixed else "learnable"
            state0 = "fixed" if w0.fixed else "learnable"
            yield i, Diagnostic(ERROR, f"weight {name} is {state} here but {state0} at {_where(first.span)}", span,
                                "a named weight is one parameter: write it the same way everywhere")
        elif weight.value.shape != w0.value.shape:
            yield i, Diagnostic(ERROR, f"weight {name} has {_shape_text(weight.value.shape)} here but "
                                f"{_shape_text(w0.value.shape)} at {_where(first.span)}", span,
                                "a named weight is one parameter with one shape; use another name for another shape")
        elif not isinstance(weight.value, ir.Dims) and weight.value != w0.value:
            yield i, Diagnostic(WARNING, f"weight {name} is already defined at {_where(first.span)}; the value "
                                f"{weight.value} written here is ignored", span,
                                "the first occurrence of a named weight sets its value; later ones refer to it")


# --------------------------------------------------------------------------- metadata


_ALIASES = {"activation": ("activation", "transformation")}

# Where each metadata key has an effect; elsewhere it is accepted and ignored (as by the reference).
_EFFECTIVE = {
    ir.Rule: ("activation", "combination", "aggregation", "duplicate_grounding"),
    ir.PredicateMetadata: ("activation", "combination", "offset"),
    ir.WeightMetadata: ("learnable", "value"),
}
_IGNORED_HINT = {
    (ir.Rule, "offset"): "a rule offset is a trailing weight: h :- a, b, 0.5.",
    (ir.Rule, "learnable"): "write a fixed weight as <value>",
    (ir.PredicateMetadata, "aggregation"): "aggregation belongs to the rules that define the predicate: "
                                           "h(X) :- b(X, Y). [aggregation=max]",
}
_PLACE = {ir.Rule: "a rule", ir.PredicateMetadata: "a predicate", ir.WeightMetadata: "a weight"}


def _key_span(span: Span | None, key: str) -> Span | None:
    names = "|".join(_ALIASES.get(key, (key,)))
    return _locate(span, rf"(?<![A-Za-z0-9_\-])(?:{names})(?=\s*=)")


def _metadata(statements: tuple[ir.Statement, ...]) -> Found:
    weights: dict[str, ir.Weight] = {}
    for _, weight, _span in _named_weight_uses(statements):
        weights.setdefault(weight.name, weight)
    for i, s in enumerate(statements):
        kind = type(s)
        if kind not in _EFFECTIVE:
            continue
        for key, _value in s.metadata.entries:
            if key not in _EFFECTIVE[kind]:
                yield i, Diagnostic(WARNING, f"'{key}' has no effect on {_PLACE[kind]} and is ignored",
                                    _key_span(s.span, key), _IGNORED_HINT.get((kind, key)))
        if isinstance(s, ir.WeightMetadata):
            yield from ((i, d) for d in _weight_metadata(s, weights.get(s.name)))
        if isinstance(s, ir.Rule):
            yield from ((i, d) for d in _aggregation_terms(s))


def _aggregation_terms(rule: ir.Rule) -> Iterator[Diagnostic]:
    """``softmax(agg_terms=[J])`` names variables of the head."""
    aggregation = rule.metadata.aggregation
    if aggregation is None or "(" not in aggregation:
        return
    terms = function_parts(aggregation)[1].get("agg_terms", [])
    head = {v.name for v in rule.head.variables() if not v.is_anonymous}
    missing = [t for t in terms if t not in head]
    if missing:
        yield Diagnostic(ERROR, f"agg_terms of softmax names {', '.join(missing)}, which the head {rule.head} "
                                "does not have", _key_span(rule.span, "aggregation"),
                         "the softmax runs over the heads that differ only in the listed head variables")


def _weight_metadata(s: ir.WeightMetadata, weight: ir.Weight | None) -> Iterator[Diagnostic]:
    if weight is None:
        yield Diagnostic(ERROR, f"metadata for weight '${s.name}', which the template never defines", s.span,
                         "define it in front of an atom, e.g. $" + s.name + "={3,3} h(X) :- b(X).")
        return
    value = s.metadata.get("value")
    if isinstance(value, (ir.Dims, ir.Scalar, ir.Vector, ir.Matrix, ir.SparseVector, ir.SparseMatrix)) and \
            value.shape != weight.value.shape:
        yield Diagnostic(ERROR, f"'value' of weight '${s.name}' has {_shape_text(value.shape)} but the weight has "
                         f"{_shape_text(weight.value.shape)}", _key_span(s.span, "value"))
    if weight.fixed and s.metadata.get("learnable") == "true":
        yield Diagnostic(ERROR, f"weight '${s.name}' is written fixed (<...>) but its metadata says learnable=true",
                         _key_span(s.span, "learnable"))


# --------------------------------------------------------------------------- declarations


def _declarations(statements: tuple[ir.Statement, ...]) -> Found:
    heads = {(s.head.predicate, s.head.arity) for s in statements if isinstance(s, ir.Rule)}
    for i, s in enumerate(statements):
        if not isinstance(s, (ir.PredicateOffset, ir.PredicateMetadata)):
            continue
        p = s.predicate
        if (p.name, p.arity) in heads:
            continue
        what = "offset" if isinstance(s, ir.PredicateOffset) else "metadata"
        others = sorted(a for n, a in heads if n == p.name)
        if others:
            hint = "rules define " + " and ".join(f"{p.name}/{a}" for a in others) + "; check the arity"
        else:
            hint = "offsets and metadata apply to atoms that rules derive, not to facts"
        yield i, Diagnostic(WARNING, f"no rule defines {p}, so this {what} has no effect", s.span, hint)


def _no_effect(statements: tuple[ir.Statement, ...]) -> Found:
    for i, s in enumerate(statements):
        if isinstance(s, ir.Constraint):
            yield i, Diagnostic(WARNING, "several literals without ':-' form a constraint, which has no effect",
                                s.span, "end each fact with '.', or write a rule: head :- body.")
        elif isinstance(s, ir.GlobalMetadata):
            yield i, Diagnostic(WARNING, "metadata that follows no rule has no effect", s.span,
                                "rule metadata goes right after the rule's '.'; predicate metadata after "
                                "name/arity, e.g. h/1 [activation=sigmoid]")


def _function_lookalikes(statements: tuple[ir.Statement, ...]) -> Found:
    """``sqrt(a)`` in a body is the atom ``sqrt`` of the constant ``a``; PyNeuraLogic prints a function on a
    0-ary atom that way, so say how the function is written here when ``a`` is also a 0-ary predicate."""
    nullary = {s.head.predicate for s in statements if isinstance(s, ir.Rule) and not s.head.terms}
    for i, s in enumerate(statements):
        if not isinstance(s, ir.Rule):
            continue
        for lit in s.body:
            atom = lit.atom
            if lit.function is None and not atom.builtin and len(atom.terms) == 1 \
                    and canonical_function("activation", atom.predicate) is not None \
                    and isinstance(atom.terms[0], ir.Constant) and atom.terms[0].value in nullary:
                inner = atom.terms[0].value
                yield i, Diagnostic(WARNING, f"'{atom}' is the atom {atom.predicate}/1 of the constant {inner}, "
                                    f"not the function {atom.predicate} of the 0-ary atom {inner}",
                                    lit.span or s.span, f"for the function write {atom.predicate}({inner}())")


# --------------------------------------------------------------------------- duplicate rules


def _clause_key(rule: ir.Rule) -> tuple:
    """The rule's Horn clause with variables renamed by first occurrence, body as a set."""
    names: dict[str, str] = {}

    def atom(a: ir.Atom) -> str:
        terms = []
        for t in a.terms:
            if isinstance(t, ir.Variable) and not t.is_anonymous:
                t = ir.Variable(names.setdefault(t.name, f"V{len(names)}"), t.type)
            terms.append(str(t))
        return f"{'@' if a.builtin else ''}{a.predicate}({','.join(terms)})"

    head = atom(rule.head)
    body = frozenset(f"{lit.function}{lit.negation}{'*' if lit.hidden else ''}{atom(lit.atom)}" for lit in rule.body)
    return head, body


def _duplicate_rules(statements: tuple[ir.Statement, ...]) -> Found:
    first: dict[tuple, ir.Rule] = {}
    for i, s in enumerate(statements):
        if not isinstance(s, ir.Rule):
            continue
        key = _clause_key(s)
        if key in first:
            yield i, Diagnostic(WARNING, f"this rule repeats the clause of the rule at {_where(first[key].span)}",
                                s.span, "both are kept, each with its own weights and aggregation; remove one "
                                "unless two copies are meant")
        else:
            first[key] = s

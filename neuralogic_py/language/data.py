"""Example and query files -> IR (reference language §3.10, §3.11).

Both files are sequences of ``.``-terminated statements; newlines carry no meaning.

Examples file, one :class:`~.ir.Example` per statement:

* ``edge(1, 2), <[1, 0]> feature(1).`` -- a plain fact list (a knowledge base is one
  such statement with all its facts);
* ``1 xor :- <0> a, <1> b.`` -- labelled: every label atom has a target value and becomes
  a :class:`~.ir.Query` of the example (``1.0 q(a), 0.0 q(b) :- ...`` gives two);
* ``mol42 :- bond(a, b, 1), c_22(a).`` -- one label atom *without* a value is the
  example's id, matched against ``mol42 :- ...`` lines of a queries file.

Fact values (``<v>`` fixed or plain ``v``; scalar, vector, sparse or matrix) are the
inputs of the fact neurons; data facts are constants either way, the ``fixed`` flag
is only kept so the text prints back as written. A fact without a value has value
1.0. Facts must be ground; ``!f(a)`` is kept as ``negated=True`` (the reference
accepts it). Hidden ``*``, soft ``~`` and built-in ``@`` atoms belong in templates.

Queries file, one :class:`~.ir.QueryLine` per statement:

* ``1.0 predict.`` / ``0 xor.`` / ``<[1, 0]> xor.`` / ``predict.`` (no target) -- the
  query line of the example with the same position in the examples file;
* ``1.0 q(a), 0.0 q(b).`` -- several queries on one line;
* ``mol42 :- 1.0 predict.`` -- linked to the example with id ``mol42``;
  ``0.5 mol42 :- 1.0 predict.`` also gives the line an importance of 0.5.

Query atoms may contain variables (``1.0 layer(X, 1).`` asks for every match).

Plain fact lists are read by the fast :mod:`.scanner`; everything else, and every
error, by lark. Statements read by the scanner carry a span, their facts and
queries do not (spans do not take part in IR equality).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ..errors import Span, ValidationError, display_path
from . import ir
from .preprocess import read_text
from .scanner import read_statements

# --------------------------------------------------------------------------- public API


def parse_examples(text: str, file: str | None = None, *, fast: bool = True) -> tuple[ir.Example, ...]:
    """The examples of an examples file's text (``fast=False``: lark only, for reference).

    The facts of a plain statement are an :class:`~.items.Items` sequence, made
    :class:`~.ir.Fact` objects when first read (grounding reads their columns instead).
    """
    return tuple(read_statements(text, file, fact_of, example_of, fast=fast, lazy=True))


def parse_queries(text: str, file: str | None = None, *, fast: bool = True) -> tuple[ir.QueryLine, ...]:
    """The query lines of a queries file's text (``fast=False``: lark only, for reference)."""
    return tuple(read_statements(text, file, query_of, query_line_of, fast=fast))


def load_examples(path: str | Path) -> tuple[ir.Example, ...]:
    """Read an examples file."""
    return parse_examples(read_text(path), display_path(path))


def load_queries(path: str | Path) -> tuple[ir.QueryLine, ...]:
    """Read a queries file."""
    return parse_queries(read_text(path), display_path(path))


# --------------------------------------------------------------------------- statements -> IR
# The scanner and lark both build the IR with the functions below.


def example_of(label: Sequence[ir.Literal], facts: Sequence[ir.Fact], span: Span | None) -> ir.Example:
    """The example ``label :- facts.`` (or ``facts.`` when ``label`` is empty)."""
    if not label:
        return ir.Example(facts, span=span)
    if len(label) == 1 and label[0].weight is None:
        return ir.Example(facts, id=_plain_atom(label[0], "an example id"), span=span)
    return ir.Example(facts, queries=tuple(map(_labelled_query, label)), span=span)


def query_line_of(label: Sequence[ir.Literal], queries: tuple[ir.Query, ...], span: Span | None) -> ir.QueryLine:
    """The query line ``[importance] id :- queries.`` (or ``queries.`` when ``label`` is empty)."""
    if not label:
        return ir.QueryLine(queries, span=span)
    if len(label) > 1:
        raise ValidationError(f"a query line links to one example id, but {len(label)} atoms stand before ':-'",
                              label[1].span or span, "write 'id :- queries.' with a single id atom")
    (lit,) = label
    atom = _plain_atom(lit, "an example id")
    importance = None
    if lit.weight is not None:
        value = _data_value(lit, "an importance")
        if not isinstance(value, ir.Scalar):
            raise ValidationError(f"the importance of a query line is a number, got '{value}'", lit.span)
        if value.value < 0:
            raise ValidationError(f"the importance of a query line must not be negative, got {value}", lit.span,
                                  "an importance weighs the line's queries in the error; 1 is the default")
        importance = value.value
    return ir.QueryLine(queries, id=atom, importance=importance, span=span)


def fact_of(lit: ir.Literal) -> ir.Fact:
    """A data fact: ground, optionally valued and hard-negated, neither hidden, soft-negated nor built-in."""
    if lit.negation == ir.Negation.SOFT:
        raise ValidationError(f"soft negation '~' belongs in template rule bodies, not on the data fact "
                              f"'{lit.atom}'", lit.span, "a data fact can only be negated with '!'")
    _check_not_template_only(lit, "a data fact")
    if not lit.atom.is_ground:
        variables = ", ".join(dict.fromkeys(str(v) for v in lit.atom.variables()))
        raise ValidationError(f"the fact '{lit.atom}' has variables ({variables}); facts in examples must be ground",
                              lit.span, "constants start with a lower-case letter or are numbers; upper case and '_' start variables")
    if lit.weight is not None:
        _data_value(lit, "a fact value")
    return ir.Fact(lit.atom, lit.weight, lit.negation == ir.Negation.HARD, lit.span)


def query_of(lit: ir.Literal) -> ir.Query:
    """A query atom with its target value (None when written without one); variables allowed."""
    atom = _plain_atom(lit, "a query")
    target = _data_value(lit, "a target") if lit.weight is not None else None
    return ir.Query(atom, target, lit.span)


# --------------------------------------------------------------------------- checks


def _labelled_query(lit: ir.Literal) -> ir.Query:
    if lit.weight is None:
        raise ValidationError(f"the label atom '{lit.atom}' has no target value", lit.span,
                              "give every label atom a value (1.0 q(a), 0.0 q(b) :- ...), or write one atom "
                              "without a value as the example's id")
    return query_of(lit)


def _plain_atom(lit: ir.Literal, what: str) -> ir.Atom:
    if lit.negation:
        raise ValidationError(f"{what} cannot be negated: '{lit}'", lit.span)
    _check_not_template_only(lit, what)
    return lit.atom


def _check_not_template_only(lit: ir.Literal, what: str) -> None:
    if lit.function is not None:
        raise ValidationError(f"{what} cannot have a function: '{lit}'", lit.span,
                              "functions apply to literals in template rule bodies")
    if lit.atom.builtin:
        raise ValidationError(f"built-in '@{lit.atom.predicate}' cannot be {what}; built-ins belong in template "
                              "rule bodies", lit.span)
    if lit.hidden:
        raise ValidationError(f"{what} cannot be hidden ('*'): '{lit}'", lit.span,
                              "'*' marks template predicates that are left out of the output")


def _data_value(lit: ir.Literal, what: str) -> ir.Value:
    """The value written in front of a data atom: numbers, not a shape or a named weight."""
    weight = lit.weight
    assert weight is not None
    if weight.name is not None:
        raise ValidationError(f"{what} in data cannot be a named weight: '${weight.name}'", lit.span,
                              "data values are constants; write the value without '$name='")
    if isinstance(weight.value, ir.Dims):
        raise ValidationError(f"{what} needs numbers, not only a shape: '{weight.value}'", lit.span,
                              "write the value, e.g. <[0.5, 1.0]>; learnable facts belong in the template")
    return weight.value

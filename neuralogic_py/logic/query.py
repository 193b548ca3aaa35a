"""Logical queries without learning: which ground atoms the template and facts entail.

``query(template, "h(X, Y)", data)`` evaluates the template's rules over the data
(all examples in one pass, :mod:`.evaluate`) and returns the substitutions that
make the goal an atom of the model - an input fact or a derived atom. Each answer
is a dict from variable name to value. Answers are distinct and sorted by their
values, constants ranked by where they first appear in the inputs:

* untyped constants come back as Python values - ints stay ints, floats stay
  floats, names are strings;
* typed constants come back as :class:`~neuralogic_py.language.ir.Constant`, so
  ``woman:ann`` keeps its type;
* a ground goal gives ``[{}]`` when it holds and ``[]`` when it does not;
* ``_`` matches anything and is not reported.

Rule weights, values and metadata play no part here: this is Datalog.
"""

from __future__ import annotations

from typing import Sequence, Union

import numpy as np

from ..errors import ParseError
from ..language import ir
from ..language.data import parse_examples, parse_queries
from .database import build_database, match_rows
from .evaluate import Model, evaluate

Answer = dict[str, Union[int, float, str, ir.Constant]]
Data = Union[None, str, ir.Example, Sequence[ir.Example], Sequence[ir.Fact]]


def parse_goal(goal: str | ir.Atom) -> ir.Atom:
    """An atom from text such as ``h(X, 2)`` (a trailing ``.`` is optional)."""
    if isinstance(goal, ir.Atom):
        return goal
    text = goal.strip()
    lines = parse_queries(text if text.endswith(".") else text + ".", "<goal>")
    if len(lines) != 1 or len(lines[0].queries) != 1 or lines[0].id is not None:
        raise ParseError(f"a goal is one atom, such as 'h(X, Y)'; got '{goal}'")
    query = lines[0].queries[0]
    if query.target is not None:
        raise ParseError(f"a goal has no value; write '{query.atom}'", query.span)
    return query.atom


def examples_of(data: Data) -> tuple[ir.Example, ...]:
    """Examples from text (an examples file's content), one example, examples or a list of facts."""
    if data is None:
        return ()
    if isinstance(data, str):
        return parse_examples(data, "<data>")
    if isinstance(data, ir.Example):
        return (data,)
    items = tuple(data)
    if items and all(isinstance(x, ir.Fact) for x in items):
        return (ir.Example(items),)
    return items


def answers(model: Model, goal: ir.Atom, example: int = 0) -> list[Answer]:
    """The answers to ``goal`` in ``example`` of an evaluated model (see the module docstring)."""
    db = model.db
    pid = db.predicates.find(goal.predicate, goal.arity)
    if pid is None:
        return []
    chunk = model.tuples(pid)
    rows = match_rows(db, chunk.ex, chunk.args, example, goal).nonzero()[0]
    names: dict[str, int] = {}
    for i, t in enumerate(goal.terms):
        if isinstance(t, ir.Variable) and t.name != "_" and t.name not in names:
            names[t.name] = i
    if names:
        projected = chunk.args[rows][:, list(names.values())]
        projected = projected[np.lexsort(projected.T[::-1])].tolist()
    else:
        projected = [[]] * min(len(rows), 1)
    out = []
    for row in dict.fromkeys(map(tuple, projected)):  # distinct substitutions, in atom order
        answer = {}
        for name, cid in zip(names, row):
            c = db.symbols.constant(cid)
            answer[name] = c.value if c.type is None else c
        out.append(answer)
    return out


def query(template: ir.Template, goal: str | ir.Atom, data: Data = None) -> list[Answer]:
    """Answers to ``goal`` over one example (or the template's own facts); see the module docstring."""
    examples = examples_of(data)
    if len(examples) > 1:
        raise ValueError(f"query() takes one example, got {len(examples)}; use query_examples()")
    return query_examples(template, goal, examples)[0]


def query_examples(template: ir.Template, goal: str | ir.Atom, data: Data = None) -> list[list[Answer]]:
    """Answers to ``goal`` in each example (all grounded in one pass)."""
    atom = parse_goal(goal)
    examples = examples_of(data)
    model = evaluate(build_database(template, examples), record=False)
    return [answers(model, atom, e) for e in range(max(len(examples), 1))]

"""How the lines of a queries file belong to the examples they query.

NeuraLogic infers this from the shape of the data (reference §4.1); so do we, in
one place, so that ``nlp check`` describes exactly what grounding will do:

``labelled``         examples carry their own queries (``1.0 xor :- a, b.``); no queries file
``knowledge_base``   exactly one example; every query line queries it
``id``               examples ``e0 :- facts.`` and query lines ``e0 :- 1.0 q.`` matched by the id's text
``order``            line i of the queries file queries example i (counts must be equal)
``template_facts``   queries but no examples: the template's own facts are the data
``unlabelled``       examples and no queries: the whole grounding is built
``empty``            neither

Unlike the reference (which zips the *flattened* query atoms with the examples),
a line with several queries belongs as a whole to one example.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Sequence

from ..errors import Span, ValidationError, warn
from . import ir

# How many names an error or warning lists before "and N more".
_SHOWN = 5


class PairingMode(str, Enum):
    LABELLED = "labelled"
    KNOWLEDGE_BASE = "knowledge_base"
    ID = "id"
    ORDER = "order"
    TEMPLATE_FACTS = "template_facts"
    UNLABELLED = "unlabelled"
    EMPTY = "empty"


@dataclass(frozen=True)
class Pairing:
    """The outcome of :func:`infer_pairing`.

    ``line_examples[i]`` is the index of the example that query line ``i`` queries
    (modes ``order``, ``id``, ``knowledge_base``; empty otherwise).
    ``unqueried_examples`` are indices of examples that yield no sample: in ``id``
    mode those no line names, in ``labelled`` mode those without a label.
    """

    mode: PairingMode
    examples: int
    query_lines: int
    queries: int
    line_examples: tuple[int, ...] = ()
    unqueried_examples: tuple[int, ...] = ()

    def describe(self) -> str:
        """One line for people, e.g. "188 examples paired by order with 188 query lines"."""
        n, lines, queries = self.examples, self.query_lines, self.queries
        extra = f" ({counted(queries, 'query', 'queries')})" if queries != lines else ""
        if self.mode is PairingMode.LABELLED:
            labelled = n - len(self.unqueried_examples)
            text = f"{counted(labelled, 'labelled example')}"
            if queries != labelled:
                text += f" with {counted(queries, 'query', 'queries')}"
            if self.unqueried_examples:
                text += f", {len(self.unqueried_examples)} without a label"
            return text
        if self.mode is PairingMode.KNOWLEDGE_BASE:
            text = f"1 knowledge base with {counted(queries, 'query', 'queries')}"
            return text + (f" on {counted(lines, 'line')}" if lines != queries else "")
        if self.mode is PairingMode.ID:
            text = f"{counted(n, 'example')} paired by id with {counted(lines, 'query line')}{extra}"
            if self.unqueried_examples:
                text += f"; {len(self.unqueried_examples)} not queried"
            return text
        if self.mode is PairingMode.ORDER:
            return f"{counted(n, 'example')} paired by order with {counted(lines, 'query line')}{extra}"
        if self.mode is PairingMode.TEMPLATE_FACTS:
            return f"{counted(queries, 'query', 'queries')} on the template's own facts (no examples)"
        if self.mode is PairingMode.UNLABELLED:
            return f"{counted(n, 'unlabelled example')}, no queries"
        return "no examples and no queries"


def counted(n: int, singular: str, plural: str | None = None) -> str:
    """``1 example``, ``3 examples``, ``2 queries`` (with ``plural`` given)."""
    return f"{n} {singular if n == 1 else plural or singular + 's'}"


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" and {len(items) - _SHOWN} more" if len(items) > _SHOWN else "")


def _where(file: str | None, what: str, index: int) -> str:
    """Fallback position text for nodes without a span: ``queries.txt, query line 189``."""
    return f" ({file + ', ' if file else ''}{what} {index + 1})"


def infer_pairing(examples: Sequence[ir.Example], query_lines: Sequence[ir.QueryLine], *,
                  examples_file: str | None = None, queries_file: str | None = None) -> Pairing:
    """Decide how ``query_lines`` pair with ``examples`` and check that they can.

    Raises :class:`ValidationError` when they cannot (unequal counts by order, ids
    that name no example, duplicate example ids, inline labels next to a queries
    file). Warns (:class:`NeuralogicWarning`) about examples that will yield no
    sample. The file names are used in messages for nodes that carry no span.
    """
    n, m = len(examples), len(query_lines)
    queries = sum(len(line.queries) for line in query_lines)
    if m == 0:
        return _without_queries(examples, examples_file)
    if n == 0:
        named = next((line for line in query_lines if line.id is not None), None)
        if named is not None:
            raise ValidationError(f"query line names example '{named.id}', but there are no examples",
                                  named.span, "give an examples file, or drop the ids")
        return Pairing(PairingMode.TEMPLATE_FACTS, 0, m, queries)
    labelled = next((e for e in examples if e.queries), None)
    if labelled is not None:
        raise ValidationError("examples are labelled inline (e.g. '1.0 q :- facts.') and a queries file is "
                              "given too", labelled.span,
                              "use either labelled examples or a queries file, not both")
    if any(line.id is not None for line in query_lines):
        return _by_id(examples, query_lines, queries, examples_file, queries_file)
    if n == 1:
        return Pairing(PairingMode.KNOWLEDGE_BASE, 1, m, queries, (0,) * m)
    if n != m:
        if m > n:
            node: ir.Example | ir.QueryLine = query_lines[n]
            where = "" if node.span else _where(queries_file, "query line", n)
            span = node.span
            first = f"query line {n + 1} has no example{where}"
        else:
            node = examples[m]
            span = node.span
            where = "" if span else _where(examples_file, "example", m)
            first = f"example {m + 1} has no query line{where}"
        raise ValidationError(f"{counted(n, 'example')} but {counted(m, 'query line')}: queries pair with "
                              f"examples by order, so the counts must be equal; {first}", span,
                              "or link them by id: 'e1 :- facts.' in the examples, 'e1 :- 1.0 q.' in the queries")
    return Pairing(PairingMode.ORDER, n, m, queries, tuple(range(n)))


def _without_queries(examples: Sequence[ir.Example], examples_file: str | None) -> Pairing:
    n = len(examples)
    if n == 0:
        return Pairing(PairingMode.EMPTY, 0, 0, 0)
    unlabelled = tuple(i for i, e in enumerate(examples) if not e.queries)
    if len(unlabelled) == n:
        with_id = next((e for e in examples if e.id is not None), None)
        if with_id is not None:
            warn(f"example '{with_id.id}' has an id but no queries file names it", with_id.span,
                 "give a queries file with lines like "
                 f"'{with_id.id} :- 1.0 q.'")
        return Pairing(PairingMode.UNLABELLED, n, 0, 0)
    queries = sum(len(e.queries) for e in examples)
    if unlabelled:
        first = examples[unlabelled[0]]
        where = "" if first.span else _where(examples_file, "example", unlabelled[0])
        verbs = "has no label and gives" if len(unlabelled) == 1 else "have no label and give"
        warn(f"{len(unlabelled)} of {n} examples {verbs} no sample{where}", first.span)
    return Pairing(PairingMode.LABELLED, n, 0, queries, (), unlabelled)


def _by_id(examples: Sequence[ir.Example], query_lines: Sequence[ir.QueryLine], queries: int,
           examples_file: str | None, queries_file: str | None) -> Pairing:
    anonymous_line = next((i for i, line in enumerate(query_lines) if line.id is None), None)
    if anonymous_line is not None:
        line = query_lines[anonymous_line]
        where = "" if line.span else _where(queries_file, "query line", anonymous_line)
        raise ValidationError(f"this query line names no example, but others do{where}", line.span,
                              "write 'id :- queries.' on every line, or on none")
    index: dict[str, int] = {}
    for i, example in enumerate(examples):
        if example.id is None:
            where = "" if example.span else _where(examples_file, "example", i)
            raise ValidationError(f"query lines name examples by id, but this example has no id{where}",
                                  example.span, "write examples as 'id :- facts.'")
        key = ir.example_key(example.id)
        if key in index:
            first = examples[index[key]].span
            at = f" (first at {first.location()})" if first else ""
            raise ValidationError(f"example id '{key}' is used twice{at}", example.span)
        index[key] = i
    line_examples = []
    missing: list[str] = []
    missing_span: Span | None = None
    for line in query_lines:
        key = ir.example_key(line.id)  # type: ignore[arg-type]
        found = index.get(key)
        if found is None:
            if not missing:
                missing_span = line.span
            if key not in missing:
                missing.append(key)
            found = -1
        line_examples.append(found)
    if missing:
        raise ValidationError(f"query lines name {counted(len(missing), 'example id')} that no example has: "
                              f"{_names(missing)}", missing_span)
    queried = set(line_examples)
    unqueried = tuple(i for i in range(len(examples)) if i not in queried)
    if unqueried:
        names = [ir.example_key(examples[i].id) for i in unqueried]  # type: ignore[arg-type]
        warn(f"{counted(len(unqueried), 'example')} that no query line names: {_names(names)}",
             examples[unqueried[0]].span)
    return Pairing(PairingMode.ID, len(examples), len(query_lines), queries, tuple(line_examples), unqueried)

"""Samples: queries paired with examples, grounded together (reference language.md §4.1).

How query lines pair with examples is decided by
:func:`~neuralogic_py.language.pairing.infer_pairing` (labelled examples, by
order, by id, one knowledge base with many queries, queries on the template's
own facts, or no queries). Every example is grounded in the same vectorised
pass; a sample is then one query atom in one example:

* a ground query is one sample;
* a query with variables (``1.0 layer(X, 1).``) gives one sample per derived atom
  it matches, all with the query's target, in atom order;
* without queries (unlabelled examples) there are no samples and nothing is
  pruned.

A query is *derivable* when some ground rule derives its atom. An input fact is
not derivable (as in the reference). Underivable queries raise a
:class:`GroundingError` naming them and their examples; with
``allow_underivable=True`` they are dropped with one warning counting them.
The reference instead keeps some of them with a constant output 0.0 - a silent
wrong answer we never give.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import GroundingError, Span, warn
from ..language import ir
from ..language.pairing import Pairing, PairingMode, infer_pairing
from ..language.summary import underivable_cause
from .database import build_database
from .evaluate import Evaluator, Statistics
from .ground import GroundProgram, build_ground_program, ground_rules
from .program import compile_program

_SHOWN = 5


@dataclass(frozen=True)
class Request:
    """A query as written, and the example (index) it asks about."""

    example: int
    query: ir.Query
    line: int | None = None  # index of the query line (None for labelled examples)
    importance: float | None = None


@dataclass(frozen=True)
class Sample:
    """One query atom in one example: ``atom`` indexes ``GroundProgram.atoms``."""

    example: int
    atom: int
    ground: ir.Atom
    target: ir.Value | None
    request: Request
    id: str


@dataclass
class Grounding:
    """The result of :func:`ground_samples`: the ground program, its samples and how it went."""

    program: GroundProgram
    samples: list[Sample]
    pairing: Pairing
    underivable: list[Request] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    stats: Statistics | None = None


def requests_of(examples: Sequence[ir.Example], query_lines: Sequence[ir.QueryLine], pairing: Pairing) -> list[Request]:
    """The queries to answer, each with its example (per the pairing mode)."""
    if pairing.mode is PairingMode.LABELLED:
        return [Request(e, q) for e, example in enumerate(examples) for q in example.queries]
    if pairing.mode is PairingMode.TEMPLATE_FACTS:
        return [Request(0, q, i, line.importance) for i, line in enumerate(query_lines) for q in line.queries]
    return [Request(pairing.line_examples[i], q, i, line.importance)
            for i, line in enumerate(query_lines) for q in line.queries]


def check_rules(template: ir.Template) -> None:
    """Make the checks grounding makes of every rule (built-ins and their arities, typed variables), without data."""
    compile_program(build_database(template, ()))


def ground_samples(template: ir.Template, examples: Sequence[ir.Example] = (),
                   query_lines: Sequence[ir.QueryLine] = (), *, allow_underivable: bool = False,
                   progress: bool = False, examples_file: str | None = None,
                   queries_file: str | None = None, first_example: int = 0, whole_set: bool = True) -> Grounding:
    """Pair, ground and prune: the ground program every sample needs (see the module docstring).

    ``first_example`` numbers the examples in messages: they are a chunk of a larger set from that example on.
    ``whole_set=False``: they are such a chunk, so that ``allow_underivable`` dropping all of the chunk's
    queries is no error here (the caller sees whether any query of the set is left).
    """
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    pairing = infer_pairing(examples, query_lines, examples_file=examples_file, queries_file=queries_file)
    requests = requests_of(examples, query_lines, pairing)
    db = build_database(template, examples)
    seconds["database"] = time.perf_counter() - t
    t = time.perf_counter()
    program = compile_program(db)
    model = Evaluator(db, program, record=True, progress=progress).evaluate()
    seconds["evaluation"] = time.perf_counter() - t
    t = time.perf_counter()
    groundings = ground_rules(model)
    seconds["ground rules"] = time.perf_counter() - t
    t = time.perf_counter()
    matches, underivable = _resolve(groundings, requests)
    if underivable:
        _report(underivable, len(requests) if whole_set else None, groundings, template, examples,
                allow_underivable, first_example)
    roots = np.concatenate(matches) if matches else np.zeros(0, dtype=np.int64)
    keep_all = pairing.mode in (PairingMode.UNLABELLED, PairingMode.EMPTY)
    ground = build_ground_program(groundings, None if keep_all else roots)
    seconds["relevance"] = time.perf_counter() - t
    samples = []
    at = 0
    for request, ids in zip(requests, matches):
        for k in range(len(ids)):
            atom = int(ground.queries[at])
            at += 1
            samples.append(Sample(request.example, atom, ground.atom(atom), request.query.target, request,
                                  sample_id(examples, request, len(samples))))
    return Grounding(ground, samples, pairing, underivable, seconds, model.stats)


def _resolve(groundings, requests: list[Request]) -> tuple[list[np.ndarray], list[Request]]:
    """Derived atom ids per request (empty for underivable ones), and the underivable requests.

    Ground queries are looked up together, one vectorised search per predicate.
    """
    derived = groundings.table.derived
    matches: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(requests)
    by_signature: dict[tuple[str, int], list[int]] = {}
    for k, r in enumerate(requests):
        atom = r.query.atom
        if atom.is_ground:
            by_signature.setdefault((atom.predicate, atom.arity), []).append(k)
        else:
            ids = groundings.find(r.example, atom)
            matches[k] = ids[derived[ids]]
    for ks in by_signature.values():
        found = groundings.find_ground(np.array([requests[k].example for k in ks]),
                                       [requests[k].query.atom for k in ks])
        ok = found >= 0
        ok[ok] = derived[found[ok]]
        for k, f, good in zip(ks, found.tolist(), ok.tolist()):
            if good:
                matches[k] = np.array([f], dtype=np.int64)
    underivable = [r for r, m in zip(requests, matches) if not len(m)]
    return matches, underivable


def _report(underivable: list[Request], total: int | None, groundings, template: ir.Template,
            examples: Sequence[ir.Example], allow: bool, first_example: int) -> None:
    """Stop on underivable queries, saying why when the data lacks the rules' inputs; with ``allow``, drop
    them with a warning, or stop all the same when that leaves none of the ``total`` queries (None: these
    are a chunk of the set, whose caller counts what is left)."""
    def name(r: Request) -> str:
        ex = examples[r.example] if r.example < len(examples) else None
        which = f"example '{ex.id}'" if ex is not None and ex.id is not None else \
            f"example {first_example + r.example + 1}"
        fact = len(groundings.find(r.example, r.query.atom)) > 0
        return f"{r.query.atom} in {which}" + (" (an input fact, which no rule derives)" if fact else "")

    shown = "; ".join(name(r) for r in underivable[:_SHOWN])
    more = f"; and {len(underivable) - _SHOWN} more" if len(underivable) > _SHOWN else ""
    cause = underivable_cause(template, examples, dict.fromkeys(r.query.atom.signature for r in underivable))
    why = f" ({cause})" if cause else ""
    first: Span | None = underivable[0].query.span
    queries = f"quer{'y' if len(underivable) == 1 else 'ies'}"
    if allow and (total is None or len(underivable) < total):
        warn(f"dropped {len(underivable)} underivable {queries}: {shown}{more}{why}", first)
        return
    fix = "rename the template's input predicates to the data's, or add rules that derive them" if cause else \
        "check the template's rules for these predicates"
    if allow:
        raise GroundingError(f"every query ({total}) was dropped as underivable, which leaves nothing: "
                             f"{shown}{more}{why}", first, fix)
    among = "" if total is not None else \
        f" of examples {first_example + 1}-{first_example + len(examples)} (a chunk of the set)"
    raise GroundingError(f"{len(underivable)} {queries}{among} cannot be derived: {shown}{more}{why}", first,
                         f"{fix}, or pass allow_underivable=True to drop them",
                         cli_hint=f"{fix}, or give --allow-underivable to drop them")


def sample_id(examples: Sequence[ir.Example], request: Request, counter: int) -> str:
    """``s_<example id>`` when the request's example has an id, else ``s_<counter>`` (the sample's index)."""
    ex = examples[request.example] if request.example < len(examples) else None
    if ex is not None and ex.id is not None:
        return f"s_{ir.example_key(ex.id)}"
    return f"s_{counter}"

"""What a template and its data contain, counted: the facts ``nlp check`` reports.

Also the checks that need both sides at once: a body predicate that neither the
template nor any example provides, and a query on a predicate no rule derives.
Both are legal but almost always a typo or a missing file, so they are warnings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Sequence

from ..errors import Span, warn
from . import ir


@dataclass(frozen=True)
class NamedWeight:
    """A shared weight ``$name``: its shape as first written, and how often it is used."""

    name: str
    shape: str
    fixed: bool
    uses: int


@dataclass(frozen=True)
class TemplateSummary:
    """Counts and signatures of one template.

    ``rule_predicates`` are derived by rules; ``fact_predicates`` are given by
    template facts only; ``body_predicates`` are used only in rule bodies (they must
    come from the data); ``builtins`` are the ``@name/arity`` used.
    """

    rules: int
    facts: int
    constraints: int
    declarations: int
    rule_predicates: tuple[str, ...]
    fact_predicates: tuple[str, ...]
    body_predicates: tuple[str, ...]
    builtins: tuple[str, ...]
    named_weights: tuple[NamedWeight, ...]
    unnamed_weights: int
    fixed_unnamed_weights: int
    # first use in a body of each body-only predicate (for warnings)
    body_spans: dict[str, Span | None] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class DataSummary:
    """Counts and signatures of one split's examples and queries."""

    examples: int
    facts: int
    fact_predicates: tuple[str, ...]
    query_lines: int
    queries: int
    query_predicates: tuple[str, ...]
    query_spans: dict[str, Span | None] = field(default_factory=dict, compare=False, repr=False)


def shape_text(value: ir.Value) -> str:
    """A value's shape as a weight declaration would write it: ``{3,3}``, ``{2}``, ``{1}``."""
    if isinstance(value, ir.Dims):
        return str(value)
    shape = value.shape
    return "{" + ",".join(str(d) for d in shape) + "}" if shape else "{1}"


def summarize_template(template: ir.Template) -> TemplateSummary:
    heads: dict[str, None] = {}
    body: dict[str, Span | None] = {}
    builtins: dict[str, None] = {}
    for rule in template.rules:
        heads.setdefault(f"{rule.head.predicate}/{rule.head.arity}")  # an `@embed_x(X)` head derives embed_x/1
        for lit in rule.body:
            if lit.atom.builtin:
                builtins.setdefault(lit.atom.signature)
            elif lit.atom.signature not in body:
                body[lit.atom.signature] = lit.span or rule.span
    facts = {f.atom.signature: None for f in template.facts if f.atom.signature not in heads}
    body_only = {sig: span for sig, span in body.items() if sig not in heads and sig not in facts}

    named: dict[str, NamedWeight] = {}
    unnamed = fixed_unnamed = 0
    for weight, _span in template.weights():
        if weight.name is None:
            unnamed += 1
            fixed_unnamed += weight.fixed
        elif weight.name in named:
            w = named[weight.name]
            named[weight.name] = NamedWeight(w.name, w.shape, w.fixed, w.uses + 1)
        else:
            named[weight.name] = NamedWeight(weight.name, shape_text(weight.value), weight.fixed, 1)

    declarations = len(template.predicate_offsets) + len(template.predicate_metadata)
    declarations += sum(isinstance(s, ir.WeightMetadata) for s in template.statements)
    return TemplateSummary(
        rules=len(template.rules),
        facts=len(template.facts),
        constraints=sum(isinstance(s, ir.Constraint) for s in template.statements),
        declarations=declarations,
        rule_predicates=tuple(heads),
        fact_predicates=tuple(facts),
        body_predicates=tuple(body_only),
        builtins=tuple(builtins),
        named_weights=tuple(named.values()),
        unnamed_weights=unnamed,
        fixed_unnamed_weights=fixed_unnamed,
        body_spans=body_only,
    )


def summarize_data(examples: Sequence[ir.Example], query_lines: Sequence[ir.QueryLine]) -> DataSummary:
    fact_predicates: dict[str, None] = {}
    facts = 0
    # each query with the statement it stands in (the fast scanner gives spans to statements only)
    queries: list[tuple[ir.Query, Span | None]] = []
    for example in examples:
        facts += len(example.facts)
        for fact in example.facts:
            fact_predicates.setdefault(fact.atom.signature)
        queries.extend((q, example.span) for q in example.queries)
    queries.extend((q, line.span) for line in query_lines for q in line.queries)
    query_spans: dict[str, Span | None] = {}
    for query, statement_span in queries:
        query_spans.setdefault(query.atom.signature, query.span or statement_span)
    return DataSummary(len(examples), facts, tuple(fact_predicates), len(query_lines), len(queries),
                       tuple(query_spans), query_spans)


def check_against_data(template: TemplateSummary, data: Sequence[DataSummary]) -> None:
    """Warn about body predicates no data provides and queries nothing derives.

    ``data`` is every split (and fold) read with ``template``: a predicate counts as
    provided when any of them has it, since one split need not cover every case.
    """
    provided = {sig for d in data for sig in d.fact_predicates}
    names = {sig.rsplit("/", 1)[0]: sig for sig in provided}
    for sig in template.body_predicates:
        if sig in provided:
            continue
        other = names.get(sig.rsplit("/", 1)[0])
        hint = f"the data has {other}" if other else None
        warn(f"{sig} is used in a rule body, but no rule, template fact or example provides it",
             template.body_spans.get(sig), hint)
    derived = set(template.rule_predicates) | set(template.fact_predicates)
    asked: dict[str, Span | None] = {}
    for d in data:
        for sig, span in d.query_spans.items():
            asked.setdefault(sig, span)
    for sig, span in asked.items():
        if sig not in derived:
            where = "an input fact" if sig in provided else "nothing"
            warn(f"queries ask for {sig}, which no rule of the template derives ({where} gives it)", span)


SHOWN = 6  # names listed in a diagnosis before "and N more"


def missing_inputs(template: ir.Template, examples: Sequence[ir.Example], wanted: Iterable[str]) -> list[str]:
    """The predicates the rules deriving ``wanted`` (signatures) need, through any chain of rules, that no
    rule, template fact or example provides: what ``nlp check`` warns about, limited to ``wanted``'s rules."""
    summary = summarize_template(template)
    bodies: dict[str, set[str]] = {}
    for rule in template.rules:
        bodies.setdefault(f"{rule.head.predicate}/{rule.head.arity}", set()).update(
            lit.atom.signature for lit in rule.body if not lit.atom.builtin)
    provided = {f.atom.signature for e in examples for f in e.facts}
    needed: dict[str, None] = {}
    seen, stack = set(), list(wanted)
    while stack:
        sig = stack.pop()
        if sig in seen:
            continue
        seen.add(sig)
        stack.extend(sorted(bodies.get(sig, set()) - seen))
    for sig in summary.body_predicates:  # in the template's order
        if sig in seen and sig not in provided:
            needed[sig] = None
    return list(needed)


def underivable_cause(template: ir.Template, examples: Sequence[ir.Example], wanted: Iterable[str]) -> str:
    """Why queries on ``wanted`` (signatures) cannot be derived, as far as the predicates tell: no rule derives
    them, or the rules need inputs the data lacks (the data's predicates listed beside them); else ``""``."""
    wanted = list(wanted)
    derived = {f"{rule.head.predicate}/{rule.head.arity}" for rule in template.rules}
    derived.update(f.atom.signature for f in template.facts)
    causes = []
    underived = [sig for sig in wanted if sig not in derived]
    if underived:
        causes.append(f"no rule derives {_listed(underived)}")
    missing = missing_inputs(template, examples, wanted)
    if missing:
        has = list(dict.fromkeys(f.atom.signature for e in examples for f in e.facts))
        data = f"; the examples have {_listed(has)}" if has else "; the examples have no facts"
        causes.append(f"the rules need {_listed(missing)}, which no rule, template fact or example provides{data}")
    return "; ".join(causes)


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")

"""Mutated templates and data either parse or raise our positioned error; nothing else escapes.

Seeds are small texts covering every construct of the language, the repository's templates and
datasets, and (when present) the shared conformance cases. Each example applies a few random
mutations -- delete, insert, duplicate or swap characters, insert or delete tokens of the
language -- and parses the result. The property: the parse returns, or raises a
:class:`NeuralogicError` whose span lies inside the text (line and column of a real
character, or just past the end of a line), whose message renders and shows no lark
internals. Warnings must be positioned the same way.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, require_shared
from neuralogic_py.errors import NeuralogicError, NeuralogicWarning, Span
from neuralogic_py.language.parser import parse_template
from test_errors import LARK_INTERNALS, _words

TEMPLATE_SEEDS = [
    "{3,3} h(X) :- $w={3,2} ~*a(Y, woman:Z), *e(Y, X), !n(X), @neq(X, 1), 0.5. [activation=sigmoid]\n",
    "$w=<[[1.0, 2.0], [3.0, 4.0]]> m(1, -2, 2.5) :- [5|1:2.0] a, [3,4|(1,2:0.3)] b.\n",
    "h/1 {1}\nh/1 [activation=tanh, aggregation=avg]\n$w [learnable=false]\na, b.\n[activation=relu]\n"
    "f(a).\nh(X) :- $w=0.5 a(X).\n",
    "% comment\nq :- h(X), {1}. /* block /* nested */ */\n<2.0> edge(X, X).\n{3} @embed_n(X) :- n(X).\n",
    "xor :- {8,2} xy, {8,1}.\nxy/0 [activation=sigmoid]\nh(X) <= a(X, Y), b(Y), <$u=1.5> c.\n",
]
DATA_SEEDS = [
    "edge(1, 2), <[1, 0]> feature(1), <0.3> f(a), bond(a, b, 1).\nedge(2, 3).\n",
    "1 xor :- <0> a, <1> b.\n0.0 xor :- [3|0:1] a, b.\n",
    "mol42 :- bond(a, b, 1), c_22(a).\nm1 :- !f(a), woman:ann(x).\n",
]
QUERY_SEEDS = ["1.0 predict.\n0 xor.\n<[1, 0]> xor.\n", "mol42 :- 1.0 predict.\n0.5 m1 :- 1.0 q(a), 0.0 q(b).\n",
               "1.0 layer(X, 1).\npredict.\n"]

# Pieces of the language that mutations insert: punctuation, operators, names, values.
TOKENS = [
    ":-", "<=", ".", ",", "(", ")", "[", "]", "{", "}", "<", ">", "$", "=", "|", ":", "!", "~", "*", "@", "/",
    "%", "/*", "*/", "_", "X", "a", "h(X)", "woman:", "0", "1.5", "-2", "1e999", "1e3", "3,3", "$w=", "{3,3}",
    "[1,2]", "[[1,2],[3]]", "[3|5:1.0]", "[2,2|(0,1:1)]", "<0.5>", "@neq(X,Y)", "h/1", "[activation=sigm]",
    "[aggregation=max]", "[foo=1]", "import ./nothing.rules", "\n", " ", "\t", "#", '"', "é",
]
ALPHABET = "".join(sorted(set("".join(TOKENS)))) + "09AZaz"


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str]) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "token", "duplicate", "swap", "cut"]))
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        if op == "delete":
            text = text[:i] + text[i + 1:]
        elif op == "insert":
            text = text[:i] + draw(st.sampled_from(ALPHABET)) + text[i:]
        elif op == "token":
            text = text[:i] + draw(st.sampled_from(TOKENS)) + text[i:]
        elif op == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif op == "swap" and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif op == "cut":
            text = text[:i] + text[j:]
    return text


def _assert_inside(span: Span | None, text: str, what: str) -> None:
    assert span is not None, f"{what} without a position"
    lines = text.split("\n")
    assert 1 <= span.line <= len(lines), (span, what)
    assert 1 <= span.column <= len(lines[span.line - 1]) + 1, (span, what)
    assert span.text is not None and span.text.rstrip() == lines[span.line - 1].rstrip(), (span, what)


def _check(parse, text: str, file: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parse(text, file)
        except NeuralogicError as e:
            _assert_inside(e.span, text, e.message)
            rendered = str(e)
            assert rendered.startswith(f"{file}:{e.span.line}:{e.span.column}: error: ")
            assert not LARK_INTERNALS.search(_words(rendered)), rendered
    for w in caught:
        if isinstance(w.message, NeuralogicWarning):
            _assert_inside(w.message.span, text, w.message.message)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _template(text: str, file: str) -> None:
    parse_template(text, file, base=Path(__file__).parent / "errors" / "include")


def _run(parse, seeds: list[str], file: str) -> None:
    @FUZZ
    @given(mutated(seeds))
    def check(text: str) -> None:
        _check(parse, text, file)

    check()


def test_mutated_templates_parse_or_raise_positioned_errors():
    seeds = TEMPLATE_SEEDS + [p.read_text() for p in sorted((REPO / "templates").glob("*.rules"))]
    _run(_template, seeds, "fuzz.rules")


def test_mutated_conformance_templates_parse_or_raise_positioned_errors():
    seeds = [p.read_text() for p in sorted(require_shared("conformance").glob("*/template.txt"))]
    _run(_template, seeds, "template.txt")


def test_mutated_examples_parse_or_raise_positioned_errors():
    data = pytest.importorskip("neuralogic_py.language.data")
    seeds = DATA_SEEDS + [p.read_text() for p in sorted((REPO / "datasets").glob("*/examples.txt"))
                          if p.stat().st_size < 20_000]
    _run(data.parse_examples, seeds, "examples.txt")


def test_mutated_queries_parse_or_raise_positioned_errors():
    data = pytest.importorskip("neuralogic_py.language.data")
    seeds = QUERY_SEEDS + [p.read_text() for p in sorted((REPO / "datasets").glob("*/queries.txt"))
                           if p.stat().st_size < 20_000]
    _run(data.parse_queries, seeds, "queries.txt")

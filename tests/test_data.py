"""Example and query files -> IR: golden IR per data form, errors with positions, the fast
scanner against lark (same IR, same errors), and every shared data file."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import require_shared
from neuralogic_py.errors import NeuralogicError, ParseError, SourceError, ValidationError, span_in
from neuralogic_py.language import data, ir, scanner
from neuralogic_py.language.items import Items
from neuralogic_py.language.data import load_examples, load_queries, parse_examples, parse_queries

X = ir.Variable("X")


def c(v, t=None):
    return ir.Constant(v, t)


def atom(name, *terms):
    return ir.Atom(name, tuple(terms))


def fact(name, *terms, value=None, fixed=False, negated=False):
    weight = None if value is None else ir.Weight(value, fixed=fixed)
    return ir.Fact(atom(name, *terms), weight, negated)


def examples(text: str) -> tuple[ir.Example, ...]:
    """The examples of ``text``, asserting that the scanner and lark agree on them."""
    fast = parse_examples(text)
    assert parse_examples(text, fast=False) == fast
    return fast


def queries(text: str) -> tuple[ir.QueryLine, ...]:
    fast = parse_queries(text)
    assert parse_queries(text, fast=False) == fast
    return fast


def error(parse, text: str, file: str | None = None) -> NeuralogicError:
    """The error of ``text``, asserting that the scanner and lark raise the same one."""
    with pytest.raises(NeuralogicError) as fast:
        parse(text, file)
    with pytest.raises(NeuralogicError) as slow:
        parse(text, file, fast=False)
    assert type(fast.value) is type(slow.value)
    assert str(fast.value) == str(slow.value)
    return fast.value


# ---------------------------------------------------------------- examples: golden IR

def test_unlabelled_example_is_a_fact_list():
    (ex,) = examples("edge(1, 2), <[1, 0]> feature(1), bond(a, b, b7).")
    assert ex == ir.Example((
        fact("edge", c(1), c(2)),
        fact("feature", c(1), value=ir.Vector((1.0, 0.0)), fixed=True),
        fact("bond", c("a"), c("b"), c("b7")),
    ))
    assert ex.queries == () and ex.id is None


def test_fact_values_keep_how_they_were_written():
    (ex,) = examples("<1.0> horse(aida), 0.3 stable(o), [1.2, 0, -1] feat(o), <-2> g, "
                     "[5|1:2.0] s(a), [[1, 2], [3, 4]] m(a), <1e-3> tiny(a).")
    assert ex.facts == (
        fact("horse", c("aida"), value=ir.Scalar(1.0), fixed=True),
        fact("stable", c("o"), value=ir.Scalar(0.3)),
        fact("feat", c("o"), value=ir.Vector((1.2, 0.0, -1.0))),
        fact("g", value=ir.Scalar(-2.0), fixed=True),
        fact("s", c("a"), value=ir.SparseVector(5, ((1, 2.0),))),
        fact("m", c("a"), value=ir.Matrix(((1.0, 2.0), (3.0, 4.0)))),
        fact("tiny", c("a"), value=ir.Scalar(0.001), fixed=True),
    )


def test_labelled_example_with_one_target():
    (ex,) = examples("1 xor :- <0> a, <1> b.")
    assert ex == ir.Example(
        (fact("a", value=ir.Scalar(0.0), fixed=True), fact("b", value=ir.Scalar(1.0), fixed=True)),
        queries=(ir.Query(atom("xor"), ir.Scalar(1.0)),),
    )


@pytest.mark.parametrize("label, target", [
    ("<[1,0]> xor", ir.Vector((1.0, 0.0))),
    ("[1, 0] xor", ir.Vector((1.0, 0.0))),
    ("[3|0:1] xor", ir.SparseVector(3, ((0, 1.0),))),
    ("<0.5> xor", ir.Scalar(0.5)),
])
def test_label_targets_may_be_any_value(label, target):
    (ex,) = examples(f"{label} :- a.")
    assert ex.queries == (ir.Query(atom("xor"), target),)


def test_several_labels_give_several_queries_and_both_arrows_work():
    expected = ir.Example((fact("f", c("a")),), queries=(
        ir.Query(atom("q", c("a")), ir.Scalar(1.0)), ir.Query(atom("q", c("b")), ir.Scalar(0.0))))
    assert examples("1.0 q(a), 0.0 q(b) :- f(a).") == (expected,)
    assert examples("1.0 q(a), 0.0 q(b) <= f(a).") == (expected,)


def test_label_queries_may_have_variables():
    (ex,) = examples("1 layer(X, 1) :- f(a).")
    assert ex.queries == (ir.Query(atom("layer", X, c(1)), ir.Scalar(1.0)),)


def test_a_label_without_value_is_the_example_id():
    (ex,) = examples("mol42 :- bond(a, b, 1), c_22(a).")
    assert ex == ir.Example((fact("bond", c("a"), c("b"), c(1)), fact("c_22", c("a"))), id=atom("mol42"))
    (ex,) = examples("mol(1, 2) :- f(a).")
    assert ex.id == atom("mol", c(1), c(2)) and ex.queries == ()


def test_knowledge_base_is_one_statement_over_many_lines():
    text = "nation(uk),\nnation(usa),\nr(uk, usa, trade),\n% a comment, with a period.\nr(usa, uk, trade)\n.\n"
    (kb,) = examples(text)
    assert [str(f) for f in kb.facts] == ["nation(uk)", "nation(usa)", "r(uk, usa, trade)", "r(usa, uk, trade)"]


def test_hard_negated_data_fact_is_kept():
    (ex,) = examples("!f(a), <0.5> !g(b).")
    assert ex.facts == (fact("f", c("a"), negated=True),
                        fact("g", c("b"), value=ir.Scalar(0.5), fixed=True, negated=True))


def test_terms_numbers_types_and_hyphens():
    (ex,) = examples("f(woman:ann), g(1, -3, 1.5, 2e3, +4), a-b(c-d, e_1), h(t: x), k(n:7).")
    assert ex.facts == (
        fact("f", c("ann", "woman")),
        fact("g", c(1), c(-3), c(1.5), c(2000.0), c(4)),
        fact("a-b", c("c-d"), c("e_1")),
        fact("h", c("x", "t")),
        fact("k", c(7, "n")),
    )
    g = ex.facts[1].atom.terms
    assert [type(t.value) for t in g] == [int, int, float, float, int]  # ints stay ints, as lark reads them


def test_statements_split_at_periods_not_newlines():
    exs = examples("a(1), b(2).\na(1). b(2).\n")
    assert [len(e.facts) for e in exs] == [2, 1, 1]


def test_empty_and_blank_files_have_no_examples():
    assert examples("") == ()
    assert examples("  \n\t\r\n") == ()
    assert examples("% only a comment\n/* and a block */") == ()


def test_example_spans_point_at_statements():
    exs = parse_examples("a(1).\n  b(2),\n  c(3).", "ex.txt")
    assert [(e.span.file, e.span.line, e.span.column, e.span.end_line, e.span.end_column) for e in exs] == [
        ("ex.txt", 1, 1, 1, 6), ("ex.txt", 2, 3, 3, 8)]
    assert exs[1].span.text == "  b(2),"


# ---------------------------------------------------------------- queries: golden IR

def test_one_query_per_line():
    lines = queries("1.0 predict.\n0 xor.\n<[1,0]> xor.\npredict.\n")
    assert lines == (
        ir.QueryLine((ir.Query(atom("predict"), ir.Scalar(1.0)),)),
        ir.QueryLine((ir.Query(atom("xor"), ir.Scalar(0.0)),)),
        ir.QueryLine((ir.Query(atom("xor"), ir.Vector((1.0, 0.0))),)),
        ir.QueryLine((ir.Query(atom("predict"), None),)),
    )


def test_several_queries_on_one_line():
    (line,) = queries("1.0 q(a), 0.0 q(b).")
    assert line.queries == (ir.Query(atom("q", c("a")), ir.Scalar(1.0)), ir.Query(atom("q", c("b")), ir.Scalar(0.0)))


def test_query_lines_with_ids_and_importance():
    a, b = queries("mol42 :- 1.0 predict.\n0.5 mol(1) :- 0.0 predict, 1.0 other(x).")
    assert a == ir.QueryLine((ir.Query(atom("predict"), ir.Scalar(1.0)),), id=atom("mol42"))
    assert b == ir.QueryLine((ir.Query(atom("predict"), ir.Scalar(0.0)), ir.Query(atom("other", c("x")), ir.Scalar(1.0))),
                             id=atom("mol", c(1)), importance=0.5)


def test_queries_may_have_variables_typed_or_not():
    (line,) = queries("1.0 layer(X, 1), 0 r(person:Y, _).")
    assert [q.atom for q in line.queries] == [atom("layer", X, c(1)),
                                             atom("r", ir.Variable("Y", "person"), ir.Variable("_"))]


# ---------------------------------------------------------------- printing and re-parsing

ROUND_TRIP_EXAMPLES = [
    "edge(1, 2), <[1, 0]> feature(1).",
    "1 xor :- <0> a, <1> b.",
    "1.0 q(a), 0.0 q(b) :- f(a), 0.5 g(b).",
    "<[1,0]> xor :- [3|0:1] a, [[1,2],[3,4]] m, [2,2|(0,1:0.5)] s.",
    "mol42 :- bond(a, b, 1), c_22(a), !n(a), f(woman:ann, -1.5, 2e3).",
    "1 layer(X, 1) :- f(a).",
]
ROUND_TRIP_QUERIES = [
    "1.0 predict.", "predict.", "<[1,0]> xor.", "1.0 q(a), 0.0 q(b).", "mol42 :- 1.0 predict.",
    "0.5 mol(1, x) :- 1.0 predict, q(X).", "1 r(person:Y, _, 3).",
]


@pytest.mark.parametrize("text", ROUND_TRIP_EXAMPLES)
def test_printed_examples_reparse_to_equal_ir(text):
    exs = examples(text)
    printed = "\n".join(map(str, exs))
    assert examples(printed) == exs


@pytest.mark.parametrize("text", ROUND_TRIP_QUERIES)
def test_printed_query_lines_reparse_to_equal_ir(text):
    lines = queries(text)
    assert queries("\n".join(map(str, lines))) == lines


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("text, message, column", [
    ("f(a), g(X).", "the fact 'g(X)' has variables (X)", 7),
    ("f(a), g(_, b).", "the fact 'g(_, b)' has variables (_)", 7),
    ("f(a), *g(b).", "a data fact cannot be hidden ('*')", 7),
    ("f(a), ~g(b).", "soft negation '~' belongs in template rule bodies", 7),
    ("f(a), @neq(a, b).", "built-in '@neq' cannot be a data fact", 7),
    ("{3} f(a).", "a fact value needs numbers, not only a shape", 1),
    ("$w=1.0 f(a).", "a fact value in data cannot be a named weight", 1),
    ("1 q, r :- f(a).", "the label atom 'r' has no target value", 6),
    ("!q :- f(a).", "an example id cannot be negated", 1),
    ("*q :- f(a).", "an example id cannot be hidden", 1),
])
def test_example_errors_name_the_atom_and_its_place(text, message, column):
    e = error(parse_examples, f"ok(a).\n{text}", "ex.txt")
    assert isinstance(e, ValidationError)
    assert message in e.message
    assert (e.span.file, e.span.line, e.span.column) == ("ex.txt", 2, column)


@pytest.mark.parametrize("text, message", [
    ("a, b :- 1.0 q.", "a query line links to one example id, but 2 atoms stand before ':-'"),
    ("[1,2] m :- 1.0 q.", "the importance of a query line is a number"),
    ("1.0 ~q.", "a query cannot be negated"),
    ("1.0 *q.", "a query cannot be hidden"),
    ("1.0 @q.", "built-in '@q' cannot be a query"),
    ("{2} q.", "a target needs numbers, not only a shape"),
])
def test_query_errors(text, message):
    e = error(parse_queries, text, "q.txt")
    assert isinstance(e, ValidationError) and message in e.message and e.span.file == "q.txt"


@pytest.mark.parametrize("text, message, line, column", [
    ("f(a), g(b)\nh(c).", "missing '.' at the end of the statement", 1, 11),
    ("f(a), g(b)", "missing '.' at the end of the statement", 1, 11),
    ("f(a) g(b).", "before name 'g'", 1, 6),
    ("f(a,).", "unexpected ')'", 1, 5),
    ("f(a)., g.", "unexpected ','", 1, 6),
    ("1 q :- f(a) :- g.", "a statement has a second ':-'", 1, 13),
    ("f(a), /* open", "unterminated comment", 1, 7),
    ("<1.5e3X> f.", "variable 'X'", 1, 7),
    ("f(a), F(b).", "predicate names start with a lower-case letter, not 'F'", 1, 7),
    ("f(a),\u00a0g(b).", "unexpected character", 1, 6),
])
def test_syntax_errors_are_positioned_and_in_words(text, message, line, column):
    e = error(parse_examples, text, "ex.txt")
    assert isinstance(e, ParseError)
    assert message in e.message, e.message
    assert (e.span.line, e.span.column) == (line, column)
    assert "lark" not in str(e) and "Token(" not in str(e)


def test_syntax_error_deep_in_a_big_file_is_reported_at_its_line(tmp_path: Path):
    lines = [f"bond(a{i}, a{i + 1}, b{i}), c_ar(a{i}), <1.0> w(a{i})." for i in range(20000)]
    lines[15321] = "bond(a1, a2, b1), c_ar(a1) c_ar(a2)."
    path = tmp_path / "big.txt"
    path.write_text("\n".join(lines))
    with pytest.raises(ParseError) as info:
        load_examples(path)
    e = info.value
    assert (e.span.line, e.span.column) == (15322, 28)
    assert e.span.file.endswith("big.txt")
    rendered = str(e).splitlines()
    assert rendered[0].endswith("big.txt:15322:28: error: " + e.message) and "'c_ar'" in e.message
    assert rendered[1] == "    bond(a1, a2, b1), c_ar(a1) c_ar(a2)."
    assert rendered[2] == "    " + " " * 27 + "^^^^"


def test_error_shows_the_users_line_with_its_comment():
    text = "f(a).  % first\n" + "g(b), h(X).  % second has a variable\n"
    e = error(parse_examples, text, "ex.txt")
    assert str(e).splitlines()[1] == "    g(b), h(X).  % second has a variable"


def test_validation_error_after_a_block_comment_spanning_statements():
    e = error(parse_examples, "f(a). /* g(b).\n h(c). */ k(Y).", None)
    assert e.span.line == 2 and e.span.column == 11


def test_missing_files_are_source_errors(tmp_path: Path):
    with pytest.raises(SourceError, match="file not found"):
        load_examples(tmp_path / "nope.txt")
    with pytest.raises(SourceError, match="file not found"):
        load_queries(tmp_path / "nope.txt")


# ---------------------------------------------------------------- scanner == lark

TRICKY = [
    "f(a).",
    "f(a)",
    "f(a). g",
    "% c1\nf(a), /* c2 :- . */ g(b). % trailing . comment\n",
    "/* nested /* inner */ still */ f(a).",
    "<-1.0> f(-1.0), -2 g(-3), +1 h(+2.5).",
    "q(X, 1).",
    "f(1).\ng(2.0).",
    "f(a).5 g(b).",
    "f(1.).",
    "<1.5e3> f, 2E-2 g, 1e5f(a), 1.0predict, 1exp(a), 1.0e(a), 2.5e3X(a).",
    "f(woman:ann), g(X:y), h(a: b), k(a :b).",
    "a-b(c-d), x_1(y-2, Z-1).",
    "<[1, 0]> f(a), [ 0.5 , -0.5 ] g(b), < [1] > h, [1,2]f.",
    "[5|1:2.0, 3:1] s(a), [[1,2],[3,4]] m, [[1,2][3,4]] m2, [2,3|(0,1:1.0)] sm, [3|] e.",
    "1 xor :- <0> a, <1> b.",
    "1.0 q(a), 0.0 q(b) :- f(a).",
    "mol42 :- bond(a, b, 1), c_22(a).",
    "mol42 <= f(a).",
    "h:-b.",
    "h :- b :- c.",
    ":- f(a).",
    "q :- .",
    "f(), g ( a ) , h (a,b).",
    "$w=1.0 f(a).",
    "<$w=1.0> f(a).",
    "!f(a), ~g(b).",
    "f(a),\n\ng(b)\n.\n\n\n",
    "f(a),\r\ng(b).\r\nh(c).\r\n",
    "\tf(a),\tg(b).\t",
    "f(a),,g(b).",
    "f(a) g(b).",
    "f(a.b).",
    "f(a), 1.5.",
    "-1.0.",
    "f(a), g(b),.",
    "f(\u00a0a).",
    "f(a)\u000b.",
    "f(\u0661).",
    "nation(uk),\nnation(usa),\nr(uk,usa,trade),\nr(usa,uk,trade).\n",
    "<1e999> f(a).",
    "f(a)" * 3 + ".",
    "x" * 200 + "(a).",
]


def outcome(parse, text: str, fast: bool):
    """The IR of ``text`` (with statement positions) or the error it raises, comparable across paths."""
    try:
        result = parse(text, "t.txt", fast=fast)
    except NeuralogicError as e:
        return type(e).__name__, str(e)
    return result, [(s.span.line, s.span.column, s.span.end_line, s.span.end_column) for s in result]


@pytest.mark.parametrize("text", TRICKY)
def test_scanner_equals_lark_on_tricky_snippets(text):
    for parse in (parse_examples, parse_queries):
        assert outcome(parse, text, True) == outcome(parse, text, False)


def test_scanner_reads_the_common_forms_without_lark(monkeypatch):
    def no_lark(*args, **kwargs):
        raise AssertionError("lark was called")

    monkeypatch.setattr(scanner, "parse_statements", no_lark)
    text = ("bond(a1, a2, b0), c_ar(a1), <1.0> f(woman:x), [1, 0] g(x1-Y),\n f(-1, 2.5e3).\n"
            "1 xor :- <0> a, <1> b.\nmol42 :- f(a).\n\n")
    assert len(parse_examples(text)) == 3
    assert len(parse_queries("1.0 predict(X).\n0.5 m(1) :- <[1,0]> q.\n0 p, 1 r.")) == 3


def test_scanner_statement_spans_equal_larks():
    text = "a(1).\r\n  b(2),\n\n c(3).   d(4)\n.e(5).\n" + "x(1). " * 50 + "\n  y(2).\n1 q :- z(1)."
    fast = [e.span for e in parse_examples(text, "s.txt")]
    assert fast == [e.span for e in parse_examples(text, "s.txt", fast=False)]  # every field, the line text too
    assert fast[1] == span_in(text, text.index("b(2)"), "s.txt", text.index("c(3).") + 5)


def test_memoised_items_are_converted_once_per_item():
    seen = []

    def item(lit):
        seen.append(str(lit.atom))
        return lit.atom

    for lazy in (False, True):
        seen.clear()
        out = scanner.read_statements("f(a), f(a), g(b). f( a ),\n f(a).", None, item,
                                      lambda label, items, span: items, lazy=lazy)
        assert seen == ([] if lazy else ["f(a)", "g(b)"])
        assert out == [(atom("f", c("a")),) * 2 + (atom("g", c("b")),), (atom("f", c("a")),) * 2]
        assert sorted(seen) == ["f(a)", "g(b)"]  # blanks do not make another item


def test_example_facts_are_made_when_first_read():
    made = []

    def item(lit):
        made.append(str(lit.atom))
        return data.fact_of(lit)

    out = scanner.read_statements("f(a), <0.5> g(1, b).\nf(a).", None, item, data.example_of, lazy=True)
    assert made == [] and [len(e.facts) for e in out] == [2, 1]
    assert out[0].facts[1] == fact("g", c(1), c("b"), value=ir.Scalar(0.5), fixed=True)
    assert made == ["f(a)", "g(1, b)"]
    assert tuple(out[1].facts) == (fact("f", c("a")),) and made == ["f(a)", "g(1, b)"]  # made once


def test_lazy_facts_compare_hash_and_pickle_as_their_tuple():
    (ex,) = parse_examples("f(a), <[1, 0]> g(1, b).")
    facts = tuple(ex.facts)
    assert isinstance(ex.facts, Items) and not isinstance(facts, Items)
    assert ex.facts == facts and facts == ex.facts and hash(ex.facts) == hash(facts) and ex.facts != list(facts)
    assert ex == ir.Example(facts) and hash(ex) == hash(ir.Example(facts)) and str(ex) == str(ir.Example(facts))
    copy = pickle.loads(pickle.dumps(ex))
    assert copy == ex and type(copy.facts) is tuple  # a copy does not drag the whole file's table along


def test_facts_with_variables_are_rejected_while_reading():
    e = error(parse_examples, "f(a).\ng(b), h(X).", "ex.txt")
    assert e.span.line == 2 and "variables" in str(e)


def assert_paths_agree(text: str) -> None:
    """Scanner and lark both read ``text`` to the same IR and statement positions, or both reject it
    with a positioned error. (Which error comes first may differ: the scanner reports the first
    wrong statement, lark alone every syntax error before any other.)"""
    for parse in (parse_examples, parse_queries):
        fast, slow = outcome(parse, text, True), outcome(parse, text, False)
        if isinstance(fast[0], str) and isinstance(slow[0], str):
            for rendered in (fast[1], slow[1]):
                assert re.match(r"t\.txt:\d+:\d+: error: ", rendered), rendered
        else:
            assert fast == slow


_PIECES = ["f(a)", "g(X)", "<1.0>", "[1,0]", "0.5", "-1", ",", ".", " ", "\n", ":-", "(", ")", "%", "/*", "*/",
           "woman:", "1e5", "e3", "[3|0:1]", "!", "~", "*", "@", "$w=", "q", "mol42", "<", ">", "1.", "_"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=24))
def test_scanner_equals_lark_on_random_token_soup(pieces):
    assert_paths_agree("".join(pieces))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(ROUND_TRIP_EXAMPLES + ROUND_TRIP_QUERIES + TRICKY[:20]),
       st.integers(0, 10_000), st.sampled_from(["", " ", ",", ".", "(", ")", "X", "1", ":-", "<", ">", "[", "]"]),
       st.integers(0, 2))
def test_scanner_equals_lark_on_mutated_data(text, where, piece, cut):
    i = where % (len(text) + 1)
    assert_paths_agree(text[:i] + piece + text[i + cut:])


_NUMBERS = ["1", "-1", "+2", "0.5", "1.5e3", "2E-2", "1e5", "-0.0", "1.", ".5", "1e", "01", "1_0"]
_TERMS = ["a", "b-c", "x_1", "e3", "e", "E", "X", "_", "_a", "woman:ann", "T:x", "t: y", "a:-b", "1", "-2", "1.5"]


def _random_data(r) -> str:
    """A few statements of plausible data with random values, markers, terms, labels and typos."""
    def value() -> str:
        v = r.choice([r.choice(_NUMBERS), "[" + ",".join(r.choice(_NUMBERS) for _ in range(r.randint(0, 3))) + "]",
                      "[3|0:1]", "[[1,2],[3,4]]", "{2}", "$w=1"])
        return f"<{v}>" if r.random() < 0.4 else v

    def literal() -> str:
        text = value() + r.choice(["", " "]) if r.random() < 0.4 else ""
        text += r.choice("!~*@") if r.random() < 0.05 else ""
        text += r.choice(["f", "g-h", "q", "predict", "r_1", "e", "F"])
        if r.random() < 0.7:
            terms = r.choice([",", ", ", " ,"]).join(r.choice(_TERMS) for _ in range(r.randint(0, 3)))
            text += r.choice(["", " "]) + f"({terms})"
        return text

    def statement() -> str:
        body = r.choice([",", ", ", ",\n"]).join(literal() for _ in range(r.randint(1, 4)))
        if r.random() < 0.3:
            body = ", ".join(literal() for _ in range(r.randint(1, 2))) + r.choice([" :- ", ":-", " <= "]) + body
        return body + r.choice([".", ". ", ".\n", "", ".%c\n", "./*x*/"])

    text = "".join(statement() for _ in range(r.randint(0, 4)))
    for _ in range(r.randint(0, 2)):
        i = r.randint(0, len(text))
        text = text[:i] + r.choice(["", ".", ",", "(", ")", " ", "\u00a0", "<", "%", "\r\n", ":", "-"]) + \
            text[i + r.randint(0, 2):]
    return text


@settings(max_examples=300, deadline=None)
@given(st.randoms(use_true_random=False))
def test_scanner_equals_lark_on_random_data(r):
    assert_paths_agree(_random_data(r))


@settings(max_examples=200, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(2, 4))
def test_scanner_equals_lark_on_repeated_data(r, times):
    """Chunks between '),' that recur are read once: the copies must read as each place demands."""
    parts = [_random_data(r) for _ in range(2)]
    assert_paths_agree("".join(r.choice(parts) for _ in range(times)))


@pytest.mark.parametrize("text", ["a(1),b(2).a(1),b(2).\na(1),b(2).", "a(1),b(2).),a(1),b(2).",
                                  "1 q :- a(1),b(2).\na(1),b(2).\nq :- a(1),b(2).", "f(a),g(b)),f(a),g(b).",
                                  "f(a),<[1,2]> g(b),f(a),<[1,2]> g(b)."])
def test_scanner_equals_lark_on_recurring_chunks(text):
    assert outcome(parse_examples, text, True) == outcome(parse_examples, text, False)


# ---------------------------------------------------------------- shared data files

SHARED_DATA = [
    ("datasets", "mutagenesis"),
    ("datasets", "nci_gi50", "786_0"),
    ("datasets", "nci_gi50", "A498"),
    ("datasets", "nci_gi50", "MDA_MB_231_ATCC"),
    ("datasets", "kbs", "kinships"),
    ("datasets", "kbs", "nations"),
    *[("conformance", f"c{i:02d}_{name}") for i, name in enumerate(
        ["scalar_avg", "vectors", "multi_rule_head", "aggregations", "activations", "negation", "builtins",
         "recursion", "knowledge_base", "typed_terms", "mutagenesis_gnn", "nations_triples"], start=1)],
]

# examples, facts, query lines, queries per line (None: several)
COUNTS = {
    "mutagenesis": (188, 20622, 188), "786_0": (3504, 340366, 3504), "A498": (3478, 340891, 3478),
    "MDA_MB_231_ATCC": (2946, 288145, 2946), "kinships": (1, 10815, 20929), "nations": (1, 1464, 5347),
    "c01_scalar_avg": (3, 13, 3), "c09_knowledge_base": (1, 5, 6), "c11_mutagenesis_gnn": (188, 20622, 188),
    "c12_nations_triples": (1, 1464, 400),
}


@pytest.mark.parametrize("parts", SHARED_DATA, ids=lambda p: p[-1])
def test_every_shared_data_file_parses(parts):
    folder = require_shared(*parts)
    exs = load_examples(folder / "examples.txt")
    lines = load_queries(folder / "queries.txt")
    assert exs and lines
    assert all(e.id is None and not e.queries and e.facts for e in exs)  # plain fact lists, zipped by order
    assert all(len(line.queries) == 1 and line.queries[0].target is not None and line.id is None for line in lines)
    if parts[-1] in COUNTS:
        assert (len(exs), sum(len(e.facts) for e in exs), len(lines)) == COUNTS[parts[-1]]
    if parts[-1] in ("kinships", "nations") or "knowledge_base" in parts[-1] or "nations" in parts[-1]:
        assert len(exs) == 1  # a knowledge base: one example
    if len(exs) > 1:
        assert len(exs) == len(lines)
    assert all(e.span is not None and e.span.file.endswith("examples.txt") for e in exs)


def test_mutagenesis_labels_and_atoms():
    folder = require_shared("datasets", "mutagenesis")
    exs = load_examples(folder / "examples.txt")
    lines = load_queries(folder / "queries.txt")
    assert sum(line.queries[0].target == ir.Scalar(1.0) for line in lines) == 125
    assert {q.atom for line in lines for q in line.queries} == {atom("predict")}
    first = exs[0].facts
    assert first[0] == fact("bond", c("d59_23"), c("d59_5"), c(0)) and first[3] == fact("b_1", c(0))


def _prefix(text: str, size: int) -> str:
    """The first statements of ``text`` covering ``size`` characters; a huge first statement
    (a knowledge base) is cut after a fact instead."""
    if len(text) <= size:
        return text
    end = re.compile(r"\.(?!\d)").search(text, size)
    if end is not None and end.end() < 2 * size:
        return text[:end.end()]
    cut = text.index(",\n", size)
    return text[:cut] + "."


def _compare(folder: Path, size: int) -> None:
    for name, parse in (("examples.txt", parse_examples), ("queries.txt", parse_queries)):
        text = _prefix((folder / name).read_text(), size)
        fast = parse(text, name)
        assert fast == parse(text, name, fast=False)
        assert [e.span for e in fast] == [e.span for e in parse(text, name, fast=False)]
        assert parse("\n".join(map(str, fast))) == fast  # printed data re-parses


@pytest.mark.parametrize("parts", SHARED_DATA, ids=lambda p: p[-1])
def test_scanner_equals_lark_on_shared_files(parts):
    _compare(require_shared(*parts), 12_000)


@pytest.mark.slow
@pytest.mark.parametrize("parts", SHARED_DATA, ids=lambda p: p[-1])
def test_scanner_equals_lark_on_whole_shared_files(parts):
    _compare(require_shared(*parts), 1_000_000)

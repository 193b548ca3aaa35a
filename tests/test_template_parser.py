"""Template text -> IR: one golden IR per construct, and print/re-parse round trips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import require_shared
from neuralogic_py.errors import NeuralogicError, ParseError
from neuralogic_py.language import ir
from neuralogic_py.language.parser import load_template, parse_template

# The constructs here are shown in isolation, so the validator's warnings (e.g. an offset for a
# predicate no rule defines) are expected; test_validate.py tests them.
pytestmark = pytest.mark.filterwarnings("ignore::neuralogic_py.errors.NeuralogicWarning")

X, Y, Z = ir.Variable("X"), ir.Variable("Y"), ir.Variable("Z")


def c(v, t=None):
    return ir.Constant(v, t)


def lit(name, *terms, weight=None, negation="", hidden=False, builtin=False):
    return ir.Literal(ir.Atom(name, tuple(terms), builtin), weight, negation, hidden)


def w(value, name=None, fixed=False):
    return ir.Weight(value, name, fixed)


def only(text: str) -> ir.Statement:
    statements = parse_template(text).statements
    assert len(statements) == 1, statements
    return statements[0]


# ---------------------------------------------------------------- rules

def test_plain_rule_and_both_implication_arrows():
    expected = ir.Rule(ir.Atom("h", (X,)), (lit("b1", X, Y), lit("b2", Y)))
    assert only("h(X) :- b1(X,Y), b2(Y).") == expected
    assert only("h(X) <= b1(X, Y), b2(Y).") == expected


def test_head_and_body_weights_with_shapes():
    rule = only("{3,3} h(X) :- {3,2} a(Y), *edge(Y, X).")
    assert rule == ir.Rule(
        ir.Atom("h", (X,)),
        (lit("a", Y, weight=w(ir.Dims((3, 2)))), lit("edge", Y, X, hidden=True)),
        head_weight=w(ir.Dims((3, 3))),
    )


@pytest.mark.parametrize("text, value", [
    ("0.5", ir.Scalar(0.5)),
    ("-2", ir.Scalar(-2.0)),
    ("1e-3", ir.Scalar(0.001)),
    ("[1, 2.5, -3]", ir.Vector((1.0, 2.5, -3.0))),
    ("[[1,2],[3,4]]", ir.Matrix(((1.0, 2.0), (3.0, 4.0)))),
    ("[[1,2][3,4]]", ir.Matrix(((1.0, 2.0), (3.0, 4.0)))),  # the reference's comma-less rows
    ("[5|1:2.0, 3:1]", ir.SparseVector(5, ((1, 2.0), (3, 1.0)))),
    ("[3,4|(1,2:0.3),(2,3:0.1)]", ir.SparseMatrix(3, 4, ((1, 2, 0.3), (2, 3, 0.1)))),
    ("[3,4|1,2:0.3]", ir.SparseMatrix(3, 4, ((1, 2, 0.3),))),
    ("{2}", ir.Dims((2,))),
    ("{1,4}", ir.Dims((1, 4))),
])
def test_weight_values(text, value):
    rule = only(f"h :- {text} a.")
    assert rule.body[0].weight == w(value)


def test_value_shapes_follow_reference_conventions():
    assert ir.Dims((1,)).shape == () and ir.Dims((1, 1)).shape == ()
    assert ir.Dims((3,)).shape == (3,) and ir.Dims((3, 1)).shape == (3,)
    assert ir.Dims((1, 3)).shape == (1, 3) and ir.Dims((2, 3)).shape == (2, 3)
    assert ir.Matrix(((1.0, 2.0),)).shape == (1, 2)
    np.testing.assert_array_equal(ir.SparseMatrix(2, 2, ((0, 1, 5.0),)).to_array(), [[0, 5], [0, 0]])
    np.testing.assert_array_equal(ir.SparseVector(3, ((2, 1.0),)).to_array(), [0, 0, 1])


def test_numbers_are_float64_not_float32():
    rule = only("h :- 0.1 a.")
    assert rule.body[0].weight.value.value == 0.1  # the reference would give 0.10000000149011612


def test_fixed_and_named_weights():
    rule = only("$w=<[1,0]> h :- $v={2,2} a, <0.3> b, <$u=1.5> c.")
    assert rule.head_weight == w(ir.Vector((1.0, 0.0)), "w", fixed=True)
    assert [lit.weight for lit in rule.body] == [
        w(ir.Dims((2, 2)), "v"), w(ir.Scalar(0.3), fixed=True), w(ir.Scalar(1.5), "u", fixed=True)]


def test_rule_offset_is_a_trailing_weight():
    rule = only("h :- a, b, -1.0.")
    assert rule.offset == w(ir.Scalar(-1.0)) and len(rule.body) == 2
    assert only("xor :- {8,2} xy, {8,1}.").offset == w(ir.Dims((8, 1)))
    # a weight followed by an atom is a weighted literal, not an offset
    assert only("h :- a, 0.5 b.").offset is None


def test_offset_must_be_last():
    with pytest.raises(ParseError, match="must be the last item"):
        parse_template("h :- 0.5, a.")


def test_rule_metadata_is_normalised():
    rule = only("h(X) :- f(X). [transformation=Sigmoid, aggregation=max, combination=elproduct]")
    assert rule.metadata == ir.Metadata((("activation", "sigmoid"), ("combination", "elproduct"),
                                         ("aggregation", "max")))
    # written order does not matter
    assert rule.metadata == only("h(X) :- f(X). [aggregation=max, combination=elproduct, activation=sigmoid]").metadata
    assert rule.metadata.activation == "sigmoid"


def test_metadata_on_the_next_line_still_belongs_to_the_rule():
    template = parse_template("h :- f.\n[activation=relu]\nq :- h.")
    assert template.rules[0].metadata.activation == "relu"
    assert not template.rules[1].metadata


def test_negation_hidden_builtin_and_typed_terms():
    rule = only("h(woman:X) :- !p(X), ~q(X), *e(X, _), @neq(X, 1), @alldiff(X, Y, Z), f(Y, woman:ann, -3, 1.5).")
    assert rule.head == ir.Atom("h", (ir.Variable("X", "woman"),))
    assert rule.body == (
        lit("p", X, negation="!"),
        lit("q", X, negation="~"),
        lit("e", X, ir.Variable("_"), hidden=True),
        lit("neq", X, c(1), builtin=True),
        lit("alldiff", X, Y, Z, builtin=True),
        lit("f", Y, c("ann", "woman"), c(-3), c(1.5)),
    )
    assert isinstance(rule.body[5].atom.terms[2].value, int)


def test_names_may_contain_hyphens_and_h_colon_dash_is_a_rule():
    assert only("a-b(X-1) :- c-d(X-1).").head == ir.Atom("a-b", (ir.Variable("X-1"),))
    assert only("h:-b.") == ir.Rule(ir.Atom("h"), (lit("b"),))


# ---------------------------------------------------------------- facts and declarations

def test_template_facts():
    assert only("{1} embed_length(long).") == ir.Fact(ir.Atom("embed_length", (c("long"),)), w(ir.Dims((1,))))
    assert only("<2.0> edge(X, X).") == ir.Fact(ir.Atom("edge", (X, X)), w(ir.Scalar(2.0), fixed=True))
    assert only("0.3 f(a).").weight == w(ir.Scalar(0.3))
    assert only("f(a).").weight is None


def test_predicate_offsets_and_metadata():
    template = parse_template("h/1 {1}\nh/1 0.5\nh/1 <0.5>\nh/1 $b={3}\nh/2 [activation=sigmoid, combination=max]\n"
                              "h/1 [offset=0.5]")
    s = template.statements
    assert s[0] == ir.PredicateOffset(ir.PredicateRef("h", 1), w(ir.Dims((1,))))
    assert s[1].weight == w(ir.Scalar(0.5)) and s[2].weight == w(ir.Scalar(0.5), fixed=True)
    assert s[3].weight == w(ir.Dims((3,)), "b")
    assert s[4] == ir.PredicateMetadata(ir.PredicateRef("h", 2),
                                        ir.Metadata((("activation", "sigmoid"), ("combination", "max"))))
    assert s[5].metadata.get("offset") == ir.Scalar(0.5)


def test_weight_metadata_constraints_and_global_metadata_are_kept():
    template = parse_template("$w [learnable=false]\na(X), b(X).\n[activation=relu]\nh :- $w=0.5 a.")
    assert isinstance(template.statements[0], ir.WeightMetadata)
    assert template.statements[0].metadata.get("learnable") == "false"
    assert template.statements[1] == ir.Constraint((lit("a", X), lit("b", X)))
    assert isinstance(template.statements[2], ir.GlobalMetadata)


def test_comments_line_and_nested_block():
    text = "% a comment\nh :- /* outer /* inner */ still */ a. % trailing\n"
    assert parse_template(text) == parse_template("h :- a.")


def test_error_positions_survive_comments():
    with pytest.raises(ParseError) as err:
        parse_template("/* one\n two */ h :- a b.", file="t.rules")
    # the error is on line 2, at 'b' (or right after 'a', where a ',' is missing)
    assert err.value.span.file == "t.rules" and err.value.span.line == 2
    assert err.value.span.column in (15, 16)


# ---------------------------------------------------------------- imports

def test_import_is_relative_recursive_and_in_place(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.txt").write_text("inner :- x.\n")
    (tmp_path / "emb.txt").write_text("import ./sub/inner.txt\nemb :- y.\n")
    (tmp_path / "template.txt").write_text("first :- a.\nimport ./emb.txt\nlast :- b.\n")
    template = load_template(tmp_path / "template.txt")
    assert [r.head.predicate for r in template.rules] == ["first", "inner", "emb", "last"]


def test_import_cycle_is_an_error_naming_the_chain(tmp_path: Path):
    (tmp_path / "a.txt").write_text("import ./b.txt\na :- x.\n")
    (tmp_path / "b.txt").write_text("import ./a.txt\nb :- y.\n")
    with pytest.raises(NeuralogicError, match="import cycle") as err:
        load_template(tmp_path / "a.txt")
    assert err.value.span.line == 1


def test_import_of_missing_file_is_positioned(tmp_path: Path):
    (tmp_path / "t.txt").write_text("h :- a.\nimport ./nope.txt\n")
    with pytest.raises(NeuralogicError, match="imported file not found") as err:
        load_template(tmp_path / "t.txt")
    assert err.value.span.line == 2


# ---------------------------------------------------------------- round trips

ROUND_TRIP = [
    "{3,3} h(X) :- $w={3,2} ~*a(Y, woman:Z), *e(Y, X), !n(X), @neq(X, 1), 0.5. [activation=sigmoid]",
    "$w=<[[1.0, 2.0], [3.0, 4.0]]> m(1, -2, 2.5) :- [5|1:2.0] a, [3,4|(1,2:0.3)] b.",
    "h/1 {1}\nh/1 [activation=tanh, aggregation=avg]\n$w [learnable=false]\na, b.\n[activation=relu]\nf(a).\n"
    "h :- $w=0.5 a.",
    "q :- h(X), {1}.",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_printed_template_reparses_to_equal_ir(text):
    template = parse_template(text)
    assert parse_template(str(template)) == template


def _conformance_templates():
    root = require_shared("conformance")
    return sorted(root.glob("*/template.txt"))


def test_every_conformance_template_parses_and_round_trips():
    paths = _conformance_templates()
    assert len(paths) == 12
    for path in paths:
        template = load_template(path)
        assert template.rules, path
        assert parse_template(str(template)) == template, path
        for rule in template.rules:
            assert rule.span is not None and rule.span.file.endswith("template.txt")


def test_a_file_imported_along_two_paths_is_included_once(tmp_path: Path):
    (tmp_path / "common.txt").write_text("common :- x.\n")
    (tmp_path / "left.txt").write_text("import ./common.txt\nleft :- common.\n")
    (tmp_path / "right.txt").write_text("import ./common.txt\nright :- common.\n")
    (tmp_path / "t.txt").write_text("import ./left.txt\nimport ./right.txt\n")
    template = load_template(tmp_path / "t.txt")
    assert [r.head.predicate for r in template.rules] == ["common", "left", "right"]


@pytest.mark.parametrize("text", [
    "h :- a.\n  $w_e={3} emb(e, 1) .  \n{2,3} f.\n",
    "$w_e={3} emb(e).\n$w_f = { 3 , 2 } emb(f, -12, a-b).\n{1} g. % comment\nh(X) :- {1} emb(X).\n",
    "h :- a.\n[activation=relu]\n{3} e(a).\n[activation=sigmoid]\n{3} e(b).\n",  # metadata after a fact
    "h :-\n{3} e(a).\n{3} e(b).\nh/1 {1}\n{3} e(c).\n/* x */ {3} e(d).\n",  # a fact line inside a rule
    "{3} e(a). {3} e(b).\n{3} e(X).\n",
])
def test_shaped_facts_read_fast_are_what_lark_reads(text):
    """Lines such as `$w={3} e(a).` skip lark; the statements and their spans are the same."""
    from neuralogic_py.language.parser import _run, _template_statements, strip_comments

    blanked = strip_comments(text, "t.rules")
    slow = _run(blanked, "template", "t.rules", text)
    fast = _template_statements(blanked, "t.rules", text)
    assert fast == slow
    assert [s.span for s in fast] == [s.span for s in slow]


def test_a_shaped_fact_read_fast_reports_errors_as_lark_does():
    from neuralogic_py.errors import NeuralogicError
    from neuralogic_py.language.parser import _run, _template_statements, strip_comments

    text = "{3} e(a).\n{0} e(b).\n"
    with pytest.raises(NeuralogicError) as slow:
        _run(strip_comments(text, "t.rules"), "template", "t.rules", text)
    with pytest.raises(NeuralogicError) as fast:
        _template_statements(strip_comments(text, "t.rules"), "t.rules", text)
    assert str(fast.value) == str(slow.value)


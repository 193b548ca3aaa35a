"""The Python DSL builds the same IR as the text parser; its mistakes raise our errors."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REPO, require_shared
from neuralogic_py.errors import ValidationError
from neuralogic_py.language import ir
from neuralogic_py.language.dsl import (
    A, C, Cb, R, T, V, W, Example, Metadata, Query, QueryLine, Relation, Rule, TemplateBuilder, to_metadata,
)
from neuralogic_py.language.data import parse_examples, parse_queries
from neuralogic_py.language.parser import load_template, parse_template


def text_ir(text: str) -> ir.Template:
    # Single statements out of context draw validation warnings (a declaration without rules ...).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return parse_template(text)


def statement(text: str) -> ir.Statement:
    (s,) = text_ir(text).statements
    return s


def ir_of(dsl: object) -> ir.Statement:
    """The IR statement a DSL object stands for, as a template would hold it."""
    return TemplateBuilder(dsl).to_ir(validate=False).statements[0]


# ---------------------------------------------------------------- the same program twice

RULES = [
    # the example: head and body weights, hidden
    (lambda: R.h(V.X)[3, 3] <= (R.a(V.Y)[3, 2], R._edge(V.Y, V.X)),
     "{3,3} h(X) :- {3,2} a(Y), *edge(Y, X)."),
    # bodies: one literal, a tuple, a list, '&'; 0-ary atoms
    (lambda: R.h <= R.a, "h :- a."),
    (lambda: R.h(V.X) <= [R.a(V.X), R.b(V.X)], "h(X) :- a(X), b(X)."),
    (lambda: R.h(V.X) <= R.a(V.X) & R.b(V.X) & R.c, "h(X) :- a(X), b(X), c."),
    (lambda: R.get("my-rel")(V.X) <= R.get("a_b")(V.X), "my-rel(X) :- a_b(X)."),
    # terms: V.x capitalised, anonymous, constants as ints, floats, strings, C.x, typed
    (lambda: R.h(V.x) <= R.f(V.x, V._, 1, -3, 2.5, "ann", C.bob, C.Carl, "Y"),
     "h(X) :- f(X, _, 1, -3, 2.5, ann, bob, carl, Y)."),
    (lambda: R.sister(V.Y.typed("woman")) <= R.siblings(V.X, V.Y.typed("woman")),
     "sister(woman:Y) :- siblings(X, woman:Y)."),
    (lambda: R.h(V.X) <= R.f(V.X, C.ann.typed("woman"), V.Z.typed("Person")),
     "h(X) :- f(X, woman:ann, Person:Z)."),
    # hidden, both spellings
    (lambda: R.h(V.X) <= (R.f(V.Y), R.hidden.edge(V.X, V.Y)), "h(X) :- f(Y), *edge(X, Y)."),
    # built-ins, including the keyword `in`
    (lambda: R.h(V.X) <= (R.f(V.X), R.special.neq(V.X, 1), R.special.alldiff(V.X, V.Y, V.Z), R.g(V.Y, V.Z)),
     "h(X) :- f(X), @neq(X, 1), @alldiff(X, Y, Z), g(Y, Z)."),
    (lambda: R.h(V.X) <= (R.f(V.X), R.special.in_(V.X, C.a, C.b), R.special._in(V.X, 1)),
     "h(X) :- f(X), @in(X, a, b), @in(X, 1)."),
    (lambda: R.special.embed_nation(V.X)[3,] <= R.nation(V.X), "{3} @embed_nation(X) :- nation(X)."),
    # negation: Python ~ is hard (!), unary minus is soft (~)
    (lambda: R.good(V.X) <= (R.n(V.X), ~R.bad(V.X)), "good(X) :- n(X), !bad(X)."),
    (lambda: R.soft(V.X) <= (R.n(V.X), -R.p(V.X)), "soft(X) :- n(X), ~p(X)."),
    (lambda: R.soft(V.X) <= (R.n(V.X), -R.p(V.X)[0.3], ~R._q(V.X)), "soft(X) :- n(X), 0.3 ~p(X), !*q(X)."),
    # weights: value vs size (the [2] / [2,] trap), vectors and matrices, numpy, named, fixed
    (lambda: R.h[2] <= R.a[2,], "2.0 h :- {2} a."),
    (lambda: R.h <= (R.a[0.5], R.b[-2], R.c[1e-3]), "h :- 0.5 a, -2 b, 1e-3 c."),
    (lambda: R.h <= (R.a[[1., 0.]], R.b[np.array([1, 2.5, -3])]), "h :- [1.0, 0.0] a, [1, 2.5, -3] b."),
    (lambda: R.h <= (R.a[np.eye(2)], R.b[[[1, 2], [3, 4]]]), "h :- [[1, 0], [0, 1]] a, [[1,2],[3,4]] b."),
    (lambda: R.h <= (R.a[np.array([[1.0, 2.0]])], R.b[np.array([[1.0], [2.0]])]), "h :- [[1, 2]] a, [[1],[2]] b."),
    (lambda: R.h <= (R.a[np.float32(0.25)], R.b[np.int64(3)]), "h :- 0.25 a, 3 b."),
    (lambda: R.h["w": 2, 2] <= (R.a["v": 0.5], R.b["u": 3,], R.c["m": [1., 2.]]),
     "$w={2,2} h :- $v=0.5 a, $u={3} b, $m=[1.0, 2.0] c."),
    (lambda: R.h[[1., 0.]].fixed() <= (R.a[0.3].fixed(), R.b["u": 1.5].fixed(), R.c[2, 2].fixed()),
     "<[1,0]> h :- <0.3> a, <$u=1.5> b, <{2,2}> c."),
    (lambda: R.h <= R.a["u": 1.5].fixed(), "h :- $u=<1.5> a."),
    (lambda: R.h <= R.a[W["w": 2, 2]], "h :- $w={2,2} a."),
    (lambda: R.h <= R.a[ir.SparseVector(5, ((1, 2.0), (3, 1.0)))], "h :- [5|1:2.0, 3:1] a."),
    # rule offsets: a trailing weight in the body
    (lambda: R.h <= (R.a, R.b, -1.0), "h :- a, b, -1.0."),
    (lambda: R.xor <= (R.xy[8, 2], W[8, 1]), "xor :- {8,2} xy, {8,1}."),
    (lambda: R.h <= R.a & R.b & W["b": 0.5].fixed(), "h :- a, b, $b=<0.5>."),
    (lambda: R.h <= (R.a, [1.0, 2.0]), "h :- a, [1.0, 2.0]."),
    # rule metadata: a list of function members, a dict, Metadata(...), merged in steps
    (lambda: (R.h(V.X) <= R.a(V.X)) | [T.RELU, A.SUM], "h(X) :- a(X). [activation=relu, aggregation=sum]"),
    (lambda: (R.h(V.X) <= R.a(V.X)) | {"transformation": "Sigmoid", "aggregation": "max", "combination": Cb.ELPRODUCT},
     "h(X) :- a(X). [transformation=sigmoid, aggregation=max, combination=elproduct]"),
    (lambda: (R.h <= R.a) | Metadata(activation=T.TANH, aggregation="avg", combination=None),
     "h :- a. [activation=tanh, aggregation=avg]"),
    (lambda: (R.h <= R.a) | [T.SIGM] | A.MAX, "h :- a. [activation=sigm, aggregation=max]"),
    (lambda: (R.h <= R.a) | [T.LEAKY_RELU, ("combination", "sum")], "h :- a. [activation=leakyrelu, combination=sum]"),
    (lambda: (R.h <= R.a) | [T.TRANSP, Cb.CROSSSUM], "h :- a. [activation=transpose, combination=crosssum]"),
    (lambda: (R.h <= R.a) | {"learnable": False, "offset": 0.5}, "h :- a. [learnable=false, offset=0.5]"),
]


@pytest.mark.parametrize("build, text", RULES, ids=[t for _, t in RULES])
def test_rule_equals_the_parsed_text(build, text):
    rule = build()
    assert isinstance(rule, Rule)
    assert rule.to_ir() == statement(text)
    assert text_ir(str(rule)).statements[0] == rule.to_ir()  # str() is text that re-parses


STATEMENTS = [
    # facts: a literal used as a statement
    (lambda: R.edge(1, 2), "edge(1, 2)."),
    (lambda: R.f(C.a)[0.3], "0.3 f(a)."),
    (lambda: R.f(C.a)[0.3].fixed(), "<0.3> f(a)."),
    (lambda: R.embed_length(C.long)[1,], "{1} embed_length(long)."),
    (lambda: R.edge(V.X, V.X)[2.0].fixed(), "<2.0> edge(X, X)."),
    (lambda: R.emb(C.a)["w_ea": 2,], "$w_ea={2} emb(a)."),
    (lambda: ~R.f(C.a), "!f(a)."),
    (lambda: R.f[[1.2, 0, -1]], "[1.2, 0, -1] f."),
    # predicate declarations: metadata and offsets
    (lambda: (R.h / 1) | [T.SIGMOID], "h/1 [activation=sigmoid]"),
    (lambda: R.h / 2 | {"activation": "sigmoid", "combination": "max"}, "h/2 [activation=sigmoid, combination=max]"),
    (lambda: (R.h / 1) | Metadata(offset=0.5), "h/1 [offset=0.5]"),
    (lambda: (R.h / 1)[1,], "h/1 {1}"),
    (lambda: (R.h / 1)[0.5], "h/1 0.5"),
    (lambda: (R.h / 1)[0.5].fixed(), "h/1 <0.5>"),
    (lambda: (R.predict / 0)["b": 3,], "predict/0 $b={3}"),
]


@pytest.mark.parametrize("build, text", STATEMENTS, ids=[t for _, t in STATEMENTS])
def test_statement_equals_the_parsed_text(build, text):
    assert ir_of(build()) == statement(text)


def test_weight_metadata():
    definition = R.h <= R.a["w": 0.5]
    for dsl, text in [(W.w | {"learnable": False}, "$w [learnable=false]"),
                      (W.get("w") | Metadata(learnable=True), "$w [learnable=true]")]:
        assert TemplateBuilder(definition, dsl).to_ir() == text_ir(f"h :- $w=0.5 a.\n{text}")


def test_predicate_reference_and_literal_ir():
    assert (R.h / 1).to_ir() == ir.PredicateRef("h", 1)
    assert (R.predict / 0).ref == ir.PredicateRef("predict", 0)
    assert R.a(V.X)[0.5].to_ir() == ir.Literal(ir.Atom("a", (ir.Variable("X"),)), ir.Weight(ir.Scalar(0.5)))
    assert (-R._a).to_ir() == ir.Literal(ir.Atom("a"), negation=ir.Negation.SOFT, hidden=True)
    assert R.special.neq(1, 2).atom == ir.Atom("neq", (ir.Constant(1), ir.Constant(2)), builtin=True)
    assert V.X.typed("woman").to_ir() == ir.Variable("X", "woman")
    assert C.ann.to_ir() == ir.Constant("ann")


def test_a_value_and_a_size_differ_by_a_comma():
    assert R.h[2].weight.value == ir.Scalar(2.0)
    assert R.h[2,].weight.value == ir.Dims((2,))
    assert R.h[3, 3].weight.value == ir.Dims((3, 3))
    assert R.h["w": 2].weight == ir.Weight(ir.Scalar(2.0), "w")
    assert R.h["w": 2,].weight == ir.Weight(ir.Dims((2,)), "w")


def test_str_prints_the_text_syntax():
    assert str(~R.a(V.X)) == "!a(X)"
    assert str(-R.a(V.X)[0.3]) == "0.3 ~a(X)"
    assert str(R._e(V.X, 1)) == "*e(X, 1)"
    assert str((R.h / 1)[1,]) == "h/1 {1}"
    assert str(W[8, 1]) == "{8,1}" and str(W.w) == "$w"
    assert str(V.X.typed("woman")) == "woman:X"
    assert str((R.h <= R.a) | [T.RELU]) == "h :- a. [activation=relu]"


# Random rules: whatever the DSL builds prints as text that parses to the same IR.
_terms = st.one_of(
    st.sampled_from([V.X, V.Y, V._, C.a, C.get("b-1"), V.X.typed("t"), C.a.typed("t"), "Z", "c"]),
    st.integers(-5, 5), st.floats(-10, 10, allow_nan=False).filter(lambda x: x != 0),
)
_values = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, width=64),
    st.tuples(st.integers(1, 4)), st.tuples(st.integers(1, 4), st.integers(1, 4)),
    st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=3),
    st.integers(1, 3).flatmap(lambda n: st.lists(st.lists(st.floats(-5, 5, allow_nan=False), min_size=n,
                                                          max_size=n), min_size=1, max_size=3)),
)


@st.composite
def _weighted(draw, relation: Relation) -> Relation:
    kind = draw(st.sampled_from(["none", "plain", "named", "fixed"]))
    if kind == "none":
        return relation
    value = draw(_values)
    weighted = relation[slice(draw(st.sampled_from(["w", "v2"])), value)] if kind == "named" else relation[value]
    return weighted.fixed() if kind == "fixed" else weighted


@st.composite
def _literals(draw) -> Relation:
    name = draw(st.sampled_from(["a", "b_c", "d-e"]))
    relation = draw(st.sampled_from([R.get(name), R.hidden.get(name), R.special.get(name)]))
    literal = draw(_weighted(relation(*draw(st.lists(_terms, max_size=3)))))
    return draw(st.sampled_from([literal, ~literal, -literal]))


@st.composite
def _rules(draw) -> Rule:
    head = draw(_weighted(R.h(*draw(st.lists(_terms, max_size=2)))))
    body = draw(st.lists(_literals(), min_size=1, max_size=4))
    if draw(st.booleans()):
        body.append(W[draw(_values)])
    rule = head <= tuple(body)
    metadata = draw(st.lists(st.sampled_from([T.RELU, T.LEAKY_RELU, A.MAX, Cb.CROSSSUM]), max_size=3,
                             unique_by=lambda f: f.role))
    return rule | metadata if metadata else rule


@settings(max_examples=200, deadline=None)
@given(_rules())
def test_random_rules_print_as_text_that_parses_back(rule):
    assert parse_template(str(rule), validate=False).statements[0] == rule.to_ir()


# ---------------------------------------------------------------- whole templates

def test_template_builder_equals_the_parsed_template():
    text = """
        {3,3} h(X) :- {3,2} a(Y), *edge(Y, X), 0.1. [activation=relu, aggregation=sum]
        h/1 [activation=sigmoid]
        h/1 {1}
        <0.3> f(a).
        q :- $w=<0.5> h(X), ~g(X), !n(X), @neq(X, a).
        $w [learnable=false]
    """
    template = TemplateBuilder()
    template += (R.h(V.X)[3, 3] <= (R.a(V.Y)[3, 2], R._edge(V.Y, V.X), 0.1)) | [T.RELU, A.SUM]
    template += [(R.h / 1) | [T.SIGMOID], (R.h / 1)[1,]]
    template.add(R.f(C.a)[0.3].fixed(), R.q <= (R.h(V.X)["w": 0.5].fixed(), -R.g(V.X), ~R.n(V.X),
                                                 R.special.neq(V.X, C.a)))
    template += W.w | {"learnable": False}
    assert len(template) == 6
    assert template.to_ir() == text_ir(text)
    assert text_ir(str(template)) == template.to_ir()
    assert list(template) == list(template.to_ir().statements)


def test_template_builder_takes_ir_templates_builders_and_nested_lists():
    first = TemplateBuilder(R.h <= R.a)
    combined = TemplateBuilder(first, text_ir("g :- b."), [[R.f(1)], ir.Rule(ir.Atom("k"), (ir.Literal(ir.Atom("c")),))])
    assert combined.to_ir() == text_ir("h :- a.\ng :- b.\nf(1).\nk :- c.")
    assert combined.add(R.z) is combined and len(combined) == 5


def test_xor_template_in_the_dsl():
    template = TemplateBuilder(
        *(R.get(f"hidden{i}") <= (R.a[1,], R.b[1,], W[1,]) for i in range(1, 5)),
        R.xor <= (*(R.get(f"hidden{i}")[1,] for i in range(1, 5)), W[1,]),
        (R.xor / 0) | [T.SIGMOID],
    )
    assert template.to_ir() == load_template(REPO / "templates" / "xor.rules")


def test_gnn_template_in_the_dsl():
    template = TemplateBuilder()
    for element in ("c", "n", "o", "h", "cl", "s"):
        template += R.atom_embed(V.A)[3, 1] <= R.get(element)(V.A)
    for bond in ("b_1", "b_2", "b_ar"):
        template += R.bond_embed(V.B)[3, 1] <= R.get(bond)(V.B)
    for layer, previous in (("layer1", "atom_embed"), ("layer2", "layer1")):
        template += [
            (R.get(layer)(V.X) <= (R.get(previous)(V.Y)[3, 3], R.bond_embed(V.B)[3, 3], R._bond(V.X, V.Y, V.B)))
            | [T.RELU, A.AVG],
            (R.get(layer)(V.X) <= R.get(previous)(V.X)[3, 3]) | [T.IDENTITY],
        ]
    template += (R.predict[1, 3] <= R.layer2(V.X)) | [A.AVG]
    template += [(R.atom_embed / 1) | [T.IDENTITY], (R.bond_embed / 1) | [T.IDENTITY],
                 (R.layer1 / 1) | [T.TANH], (R.layer2 / 1) | [T.TANH], (R.predict / 0) | [T.SIGMOID]]
    assert template.to_ir() == load_template(REPO / "templates" / "gnn.rules")


def _conformance_in_the_dsl() -> dict[str, TemplateBuilder]:
    X, Y, Z = V.X, V.Y, V.Z
    ta = [T.TANH, A.AVG]
    return {
        "c03_multi_rule_head": TemplateBuilder(
            (R.h(X)["w_r1": 2, 1] <= (R.a(X)["w_a": 1,], W["w_b1": 1,])) | [T.SIGMOID, A.AVG],
            (R.h(X)["w_r2": 2, 2] <= (R.v(X, Y)["w_v": 2, 2], R.b(Y))) | [T.TANH, A.SUM],
            (R.h / 1)["w_hoff": 2,],
            (R.h / 1) | [T.TANH],
            (R.q["w_q": 1, 2] <= R.h(X)) | [T.IDENTITY, A.AVG],
            (R.q / 0) | [T.IDENTITY],
        ),
        "c06_negation": TemplateBuilder(
            (R.good(X) <= (R.n(X)["w_g": 1,], ~R.bad(X))) | [T.SIGMOID, A.AVG],
            (R.good / 1) | [T.IDENTITY],
            (R.soft(X) <= (R.n(X)["w_s": 1,], -R.p(X)["w_sn": 1,])) | ta,
            (R.soft / 1) | [T.IDENTITY],
            (R.q <= R.good(X)["w_qg": 1,]) | [T.IDENTITY, A.SUM],
            (R.q <= R.soft(X)["w_qs": 1,]) | [T.IDENTITY, A.SUM],
            (R.q / 0) | [T.IDENTITY],
        ),
        "c07_builtins": TemplateBuilder(
            (R.pair(X, Y) <= (R.val(X)["w_p": 1,], R.val(Y)["w_p2": 1,], R.special.neq(X, Y))) | ta,
            (R.pair / 2) | [T.IDENTITY],
            (R.tri <= (R.val(X)["w_t": 1,], R.val(Y)["w_t2": 1,], R.val(Z)["w_t3": 1,],
                       R.special.alldiff(X, Y, Z))) | ta,
            (R.tri / 0) | [T.IDENTITY],
            (R.seq(X) <= (R.at(X)["w_n": 1,], R.at(Y)["w_n2": 1,], R.special.next(X, Y))) | [T.SIGMOID, A.AVG],
            (R.seq / 1) | [T.IDENTITY],
            (R.q <= R.pair(X, Y)["w_q1": 1,]) | [T.IDENTITY, A.AVG],
            (R.q <= R.tri["w_q2": 1,]) | [T.IDENTITY, A.AVG],
            (R.q <= R.seq(X)["w_q3": 1,]) | [T.IDENTITY, A.AVG],
            (R.q / 0) | [T.IDENTITY],
        ),
        "c09_knowledge_base": TemplateBuilder(
            [R.emb(c)[f"w_e{c}": 2,] for c in "abcd"],
            (R.ctx(X) <= (R.emb(Y)["w_rel": 2, 2], R.r(X, Y))) | ta,
            (R.ctx / 1) | [T.IDENTITY],
            (R.score(X, Y)["w_score": 1, 2] <= (R.ctx(X)["w_x": 2, 2], R.emb(Y)["w_y": 2, 2])) | ta,
            (R.score / 2) | [T.IDENTITY],
        ),
    }


@pytest.mark.parametrize("case", sorted(_conformance_in_the_dsl()))
def test_conformance_templates_in_the_dsl(case):
    path = require_shared("conformance", case, "template.txt")
    assert _conformance_in_the_dsl()[case].to_ir() == load_template(path)


# ---------------------------------------------------------------- data without files

def test_examples_and_queries():
    example = Example([R.edge(0, 1), R.feat(0)[[1., 0.]], R.f(C.a)[0.3].fixed()], queries=R.xor[1.0])
    assert example == ir.Example(
        (ir.Fact(ir.Atom("edge", (ir.Constant(0), ir.Constant(1)))),
         ir.Fact(ir.Atom("feat", (ir.Constant(0),)), ir.Weight(ir.Vector((1.0, 0.0)))),
         ir.Fact(ir.Atom("f", (ir.Constant("a"),)), ir.Weight(ir.Scalar(0.3), fixed=True))),
        queries=(ir.Query(ir.Atom("xor"), ir.Scalar(1.0)),))
    assert str(example) == "1.0 xor :- edge(0, 1), [1.0, 0.0] feat(0), <0.3> f(a)."
    two = Example((f for f in [R.a, R.b]), queries=[R.q(C.a)[1.0], R.q(C.b)[[0., 1.]]])
    assert [q.target for q in two.queries] == [ir.Scalar(1.0), ir.Vector((0.0, 1.0))]
    linked = Example([R.bond(C.a, C.b, 1)], id=R.mol42)
    assert linked.id == ir.Atom("mol42") and not linked.queries
    assert str(linked) == "mol42 :- bond(a, b, 1)."


def test_query_and_query_line():
    assert Query(R.predict(0)[1.0]) == ir.Query(ir.Atom("predict", (ir.Constant(0),)), ir.Scalar(1.0))
    assert Query(R.predict(V.X)).target is None
    line = QueryLine(R.predict[1.0], id=R.mol42, importance=0.5)
    assert line == ir.QueryLine((ir.Query(ir.Atom("predict"), ir.Scalar(1.0)),), ir.Atom("mol42"), 0.5)
    assert str(line) == "0.5 mol42 :- 1.0 predict."


# ---------------------------------------------------------------- errors


def _raises(build, match: str) -> ValidationError:
    with pytest.raises(ValidationError, match=match) as err:
        build()
    return err.value


def test_unknown_function_names_raise_the_text_error():
    text_error = _raises(lambda: parse_template("h :- a. [activation=rleu]"), "unknown activation function 'rleu'")
    for build in (lambda: T.RLEU, lambda: (R.h <= R.a) | {"activation": "rleu"},
                  lambda: Metadata(activation="rleu"), lambda: (R.h / 1) | [("activation", "rleu")]):
        error = _raises(build, "unknown activation function 'rleu'")
        assert (error.message, error.hint) == (text_error.message, text_error.hint) and error.hint == "did you mean 'relu'?"
    _raises(lambda: A.SUMM, "unknown aggregation function 'summ'")
    _raises(lambda: Cb.FOO, "unknown combination function 'foo'")
    _raises(lambda: Metadata(activation=A.SUM), "unknown activation function 'sum'")


def test_metadata_keys_are_checked_like_text():
    _raises(lambda: Metadata(actvation="relu"), "unknown metadata key 'actvation'")
    _raises(lambda: (R.h <= R.a) | [T.RELU] | {"activation": "tanh"}, "metadata key 'activation' is given twice")
    _raises(lambda: Metadata(learnable="maybe"), "'learnable' must be true or false")
    _raises(lambda: (R.h <= R.a) | 42, "metadata is a list like")


@pytest.mark.parametrize("build, match", [
    (lambda: R.h[np.zeros((2, 2, 2))], r"at most 2 dimensions, got an array of shape \(2, 2, 2\)"),
    (lambda: R.h[[[[1.0]]]], "at most 2 dimensions, got lists nested more than 2 levels deep"),
    (lambda: R.h[2, 2, 2], r"at most 2 dimensions, got \{2,2,2\}"),
    (lambda: R.h[float("nan")], "weight values must be finite numbers, got nan"),
    (lambda: R.h[[1.0, float("inf")]], "weight values must be finite numbers, got inf"),
    (lambda: R.h[np.array([[1.0, np.nan]])], "weight values must be finite numbers, got nan"),
    (lambda: R.h[[[1, 2], [3]]], "matrix rows differ in length"),
    (lambda: R.h[[]], "needs at least one number"),
    (lambda: R.h[["a"]], "weight values must be numbers, got 'a'"),
    (lambda: R.h[np.array(["a"])], "weight values must be numbers, got an array of <U1"),
    (lambda: R.h[True], "a value is a number"),
    (lambda: R.h["w"], "a value is a number"),
    (lambda: R.h[0,], "a dimension must be at least 1, got 0"),
    (lambda: R.h[2.5, 2], "a dimension must be a whole number, got 2.5"),
    (lambda: R.h[()], "a shape needs at least one dimension"),
    (lambda: R.h["W": 2], "a weight name must start with a lower-case letter"),
    (lambda: R.h[:2], "a named weight is written"),
    (lambda: R.h[1][2], "already has a weight"),
    (lambda: R.h.fixed(), "has no weight to fix"),
])
def test_malformed_weights(build, match):
    _raises(build, match)


def test_value_errors_read_as_in_text():
    text_error = _raises(lambda: parse_template("h :- {2,2,2} a."), "at most 2 dimensions")
    dsl_error = _raises(lambda: R.h[2, 2, 2], "at most 2 dimensions")
    assert (dsl_error.message, dsl_error.hint) == (text_error.message, text_error.hint)
    text_error = _raises(lambda: parse_template("h :- 1e999 a."), "finite")
    assert _raises(lambda: R.h[float("inf")], "finite").message == text_error.message


@pytest.mark.parametrize("build, match", [
    (lambda: R.H, "a predicate name must start with a lower-case letter"),
    (lambda: R.get("has space"), "a predicate name must start"),
    (lambda: V.get("9x"), "a variable is a name"),
    (lambda: C.get("a b"), "a constant must start"),
    (lambda: R.f("a b"), "a term is V.X, C.a, a number or a name string"),
    (lambda: R.f(True), "a term is"),
    (lambda: R.f(float("nan")), "a numeric constant must be finite"),
    (lambda: V.X.typed("a:b"), "a type is a name"),
    (lambda: V.X.typed("t").typed("u"), "already has a type"),
    (lambda: R.f(1)(2), "already has its arguments"),
    (lambda: R.f[2](V.X), "already has its arguments"),
    (lambda: ~~R.a, "already negated"),
    (lambda: -~R.a, "already negated"),
])
def test_malformed_terms_and_literals(build, match):
    _raises(build, match)


@pytest.mark.parametrize("build, match", [
    (lambda: R.h <= (0.5, R.a), "a weight without an atom must be the last item of the body"),
    (lambda: R.h <= 0.5, "a rule needs at least one body literal"),
    (lambda: R.h <= [], "a rule needs at least one body literal"),
    (lambda: R.h <= (R.a, (8, 1)), "a rule body holds literals"),
    (lambda: R.h <= (R.a, R.b / 1), "a rule body holds literals"),
    (lambda: ~R.h <= R.a, "the head of a rule cannot be negated"),
    (lambda: R._h <= R.a, r"the head of a rule cannot be hidden \('\*'\)"),
    (lambda: R.special.neq(1, 2) <= R.a, "built-in '@neq' cannot be the head of a rule"),
    (lambda: R.h <= R.a | [T.RELU], r"write \(head <= body\) \| \[...\]"),
    (lambda: R.h <= R.a & R.b | [T.RELU], "metadata belongs to a rule, not to its body"),
    (lambda: R.h(V.X) / 1, "a predicate declaration is a plain name and arity"),
    (lambda: R._h / 1, "a predicate declaration is a plain name and arity"),
    (lambda: R.h / -1, "an arity is a whole number"),
    (lambda: (R.h / 1)[1,] | [T.RELU], "has an offset; declare its metadata in a separate statement"),
    (lambda: TemplateBuilder(R.h / 1), r"'h/1' alone is not a statement"),
    (lambda: TemplateBuilder(R.a & R.b), "a template holds rules, facts and declarations"),
    (lambda: TemplateBuilder(-R.f(C.a)), r"a fact cannot be hidden \('\*'\) or soft-negated \('~'\)"),
    (lambda: TemplateBuilder(R._f(C.a)), "a fact cannot be hidden"),
])
def test_malformed_rules_and_statements(build, match):
    _raises(build, match)


def test_rule_errors_read_as_in_text():
    for text, build in [("~h :- a.", lambda: -R.h <= R.a), ("*h :- a.", lambda: R._h <= R.a),
                        ("@neq(X, Y) :- a.", lambda: R.special.neq(V.X, V.Y) <= R.a)]:
        text_error = _raises(lambda: parse_template(text), "head")
        dsl_error = _raises(build, "head")
        assert (dsl_error.message, dsl_error.hint) == (text_error.message, text_error.hint)


def test_errors_point_at_the_users_python_line():
    line = sys._getframe().f_lineno + 2
    with pytest.raises(ValidationError) as err:
        (R.h <= R.a) | [T.RELU, A.SUMM]
    span = err.value.span
    assert span.file.endswith("test_dsl.py") and span.line == line
    assert span.text.strip() == "(R.h <= R.a) | [T.RELU, A.SUMM]"
    assert f"test_dsl.py:{line}:" in str(err.value) and "unknown aggregation function 'summ'" in str(err.value)


def test_rules_and_facts_remember_where_they_were_written():
    line = sys._getframe().f_lineno + 1
    rule = R.h(V.X) <= R.a(V.X)
    template = TemplateBuilder(R.f(1))
    assert rule.to_ir().span.line == line and template.to_ir().statements[0].span.line == line + 1


def test_templates_are_validated_like_parsed_ones():
    line = sys._getframe().f_lineno + 1
    template = TemplateBuilder(R.h(V.X) <= R.a(V.Y))
    with pytest.raises(ValidationError, match="unsafe rule for 'h\\(X\\)'") as err:
        template.to_ir()
    assert err.value.span.line == line
    assert template.to_ir(validate=False).rules[0].head == ir.Atom("h", (ir.Variable("X"),))
    with pytest.raises(ValidationError, match="unsafe rule"):
        parse_template(str(template))


def test_data_errors_are_those_of_data_files():
    _raises(lambda: Query(-R.q), "a query cannot be negated")
    _raises(lambda: Query(R.special.neq(1, 2)), "built-in '@neq' cannot be a query")
    _raises(lambda: Query(R.q[2,]), "a target needs numbers, not only a shape")
    _raises(lambda: Query(R.q["t": 1.0]), "a target in data cannot be a named weight")
    _raises(lambda: Example([R.f(V.X)]), r"the fact 'f\(X\)' has variables")
    _raises(lambda: Example([R._f(C.a)]), "a data fact cannot be hidden")
    _raises(lambda: Example([R.f(C.a)], queries=[R.q], id=R.e1), "either queries or an id")
    _raises(lambda: Example([R.f(C.a)], queries=[R.q]), "has no target value")
    _raises(lambda: Example([R.f(C.a)], id=R.e1[1.0]), "an example id is a plain atom")
    _raises(lambda: Example([R.f(C.a)], id=~R.e1), "an example id cannot be negated")
    _raises(lambda: Example([R.q <= R.a]), "an example's facts are literals")
    _raises(lambda: QueryLine(R.q[1.0], importance=0.5), "importance only with an example id")
    _raises(lambda: QueryLine(R.q[1.0], id=R.e1, importance=float("nan")), "finite")
    _raises(lambda: QueryLine(R.q[1.0], id=R.e1, importance=[1.0, 2.0]), "the importance of a query line is a number")


def test_data_built_in_the_dsl_equals_the_data_file():
    text = "1.0 xor :- <0.0> a, <1.0> b.\nmol42 :- bond(a, b, 1), [1.2, 0, -1] feat(a).\n"
    examples = parse_examples(text)
    assert examples == (Example([R.a[0.0].fixed(), R.b[1.0].fixed()], queries=R.xor[1.0]),
                        Example([R.bond(C.a, C.b, 1), R.feat(C.a)[[1.2, 0, -1]]], id=R.mol42))
    lines = parse_queries("0.5 mol42 :- 1.0 predict.\n1.0 q(a), 0.0 q(b).\n")
    assert lines == (QueryLine(R.predict[1.0], id=R.mol42, importance=0.5),
                     QueryLine([R.q(C.a)[1.0], R.q(C.b)[0.0]]))


def test_dsl_objects_are_not_iterable():
    # R.h[...] is defined, so without a guard list(R.h) would index 0, 1, 2, ... forever.
    for obj in (R.h, R.h / 1, W):
        with pytest.raises(TypeError):
            list(obj)


def test_function_namespaces_list_their_members():
    assert {"RELU", "SIGMOID", "LEAKYRELU", "TRANSP", "SIGM"} <= set(dir(T))
    assert "SUM" in dir(A) and "ELPRODUCT" in dir(Cb)
    assert T.RELU.name == "relu" and T.relu == T.RELU and str(A.SUM) == "aggregation=sum"
    assert to_metadata([T.RELU, {"aggregation": A.MAX}]) == ir.Metadata((("activation", "relu"), ("aggregation", "max")))


def test_namespaces_refuse_tool_probes():
    assert not hasattr(R, "__deepcopy__") and not hasattr(V, "_ipython_display_") and not hasattr(T, "_x")
    assert isinstance(R.get("hidden"), Relation) and not R.get("hidden").hidden
    assert R.hidden.edge == R._edge and R.hidden.edge.hidden

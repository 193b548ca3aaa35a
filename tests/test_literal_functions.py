"""Functions on body literals, parameterised functions and the softmax over listed head variables.

Text and DSL give one IR; bad arguments are positioned errors (exit 2); every network is
checked against an independent numpy computation of its formula, its gradients against
central finite differences, and its lifted form against the unlifted one (outputs and
gradients); the fused engine either agrees with the op table or declines with a reason.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_fused import assert_engines_agree

from neuralogic_py import cli
from neuralogic_py.engine import jit, ops
from neuralogic_py.engine.gradcheck import numerical_gradient
from neuralogic_py.errors import NeuralogicError
from neuralogic_py.language.data import parse_examples, parse_queries
from neuralogic_py.language.dsl import A, R, T, V
from neuralogic_py.language.parser import parse_template
from neuralogic_py.neural import PYNEURALOGIC, build
from neuralogic_py.neural.program import unsupported

TOLERANCE = 1e-12


def network(template: str, examples: str, queries: str, lifting: str = "none", seed: int = 0):
    return build(parse_template(template), parse_examples(examples), parse_queries(queries), settings=PYNEURALOGIC,
                 lifting=lifting, seed=seed)


def squared(out, targets):
    return ops.sum_all(ops.mse(out, targets))


def finite_differences(compiled, targets):
    """Central differences of the summed squared error for every learnable parameter (engine/gradcheck.py)."""
    params = {n: np.array(v, dtype=float) for n, v in compiled.store.learnable().items()}

    def loss(name: str, value: np.ndarray) -> np.ndarray:
        out = compiled.forward({**params, name: value})
        return np.asarray(((out - targets) ** 2).mean(axis=(1, 2)).sum())

    return {name: numerical_gradient(lambda v, name=name: loss(name, v), [value], 0, np.ones(()))
            for name, value in params.items()}


def assert_gradients_match_finite_differences(compiled, seed=1):
    out = compiled.forward()
    targets = np.random.default_rng(seed).normal(size=out.shape)
    _, grads = compiled.value_and_grad(compiled.store.learnable(), squared, targets)
    numeric = finite_differences(compiled, targets)
    assert set(grads) == set(numeric)
    for name, g in grads.items():
        scale = max(np.linalg.norm(g), np.linalg.norm(numeric[name]), 1e-12)
        assert np.linalg.norm(g - numeric[name]) / scale < 1e-6, name


def assert_lifting_exact(template, examples, queries, seed=0):
    """Outputs and gradients of the lifted network equal the unlifted one's."""
    plain = network(template, examples, queries, "none", seed)
    lifted = network(template, examples, queries, "structural", seed)
    np.testing.assert_allclose(lifted.forward(), plain.forward(), rtol=0, atol=TOLERANCE)
    targets = np.full(plain.forward().shape, 0.3)
    _, want = plain.value_and_grad(plain.store.learnable(), squared, targets)
    _, got = lifted.value_and_grad(lifted.store.learnable(), squared, targets)
    assert set(got) == set(want)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=TOLERANCE, err_msg=name)
    return plain, lifted


# --------------------------------------------------------------------------- the language


@pytest.mark.parametrize("text, built", [
    ("h(X) :- {3,2} sqrt(f(X)).", lambda: R.h(V.X) <= T.SQRT(R.f(V.X))[3, 2]),
    ("h(X) :- tanh(c(X, T)), reverse(z(X, T)).", lambda: R.h(V.X) <= (T.TANH(R.c(V.X, V.T)), T.REVERSE(R.z(V.X, V.T)))),
    ("h(Y) :- transpose(k(Y)).", lambda: R.h(V.Y) <= T.TRANSP(R.k(V.Y))),
    ("h :- sqrt(g()).", lambda: R.h <= T.SQRT(R.g)),
    ("h(X) :- leakyrelu(f(X), 0.2).", lambda: R.h(V.X) <= T.LEAKY_RELU(R.f(V.X), 0.2)),
    ("h(X) :- slice(f(X), rows=[0, 2], cols=[1, 3]).", lambda: R.h(V.X) <= T.SLICE(R.f(V.X), rows=[0, 2], cols=(1, 3))),
    ("h(X) :- reshape(f(X), shape=[2, 3]).", lambda: R.h(V.X) <= T.RESHAPE(R.f(V.X), shape=(2, 3))),
    ("h(X) :- f(X). [activation=leakyrelu(0.2)]", lambda: (R.h(V.X) <= R.f(V.X)) | [T.LEAKY_RELU(0.2)]),
    ("h(X) :- f(X). [activation=slice(rows=[1, 2])]", lambda: (R.h(V.X) <= R.f(V.X)) | [T.SLICE(rows=[1, 2])]),
    ("a(I, J) :- s(I, J). [aggregation=softmax(agg_terms=[J])]",
     lambda: (R.a(V.I, V.J) <= R.s(V.I, V.J)) | [A.SOFTMAX(agg_terms=[V.J])]),
])
def test_text_and_dsl_give_one_rule_that_prints_back(text, built):
    rule = parse_template(text).rules[0]
    assert built().to_ir() == rule
    assert str(rule) == text
    assert parse_template(str(rule)).rules[0] == rule


@pytest.mark.parametrize("written, canonical", [
    ("leakyrelu(h(X), 0.01)", "h(X)"),  # the default slope is plain leakyrelu
    ("leakyrelu(h(X), slope=0.5)", "leakyrelu(h(X), 0.5)"),
    ("reshape(h(X), shape=4)", "reshape(h(X), shape=[4, 1])"),
    ("slice(h(X), rows=[0, 1], cols=...)", "slice(h(X), rows=[0, 1])"),
])
def test_arguments_are_normalised(written, canonical):
    lit = parse_template(f"g(X) :- {written}.").rules[0].body[0]
    want = "leakyrelu(h(X))" if canonical == "h(X)" else canonical
    assert str(lit) == want


BAD = [
    ("g(X) :- slice(h(X), rows=[2, 1]).", "'rows' of slice must be [start, end]"),
    ("g(X) :- slice(h(X)).", "slice needs rows="),
    ("g(X) :- reshape(h(X)).", "'reshape' needs the argument 'shape'"),
    ("g(X) :- leakyrelu(h(X), a).", "the slope of leakyrelu must be a finite number"),
    ("g(X) :- sqrt(h(X), 2).", "'sqrt' takes no arguments"),
    ("g(X) :- sqrtt(h(X)).", "did you mean 'sqrt'?"),
    ("g(X) :- ~sqrt(h(X)).", "cannot apply to a literal that is soft-negated"),
    ("g(X) :- h(f(X)).", "'h' is not a function, so 'f(X)' cannot be its argument"),
    ("g(X) :- h(X, f(X)).", "'f(X)' cannot be an argument of an atom"),
    ("sqrt(g(X)) :- h(X).", "the head of a rule cannot have a function"),
    ("g(X) :- h(X). [activation=leakyrelu(0.2, 3)]", "'leakyrelu' takes at most 1 argument"),
    ("g(X) :- h(X). [activation=slice(rows=[0, 1], depth=2)]", "'slice' has no argument 'depth'"),
    ("g(X) :- h(X). [aggregation=softmax(agg_terms=[Y])]", "agg_terms of softmax names Y"),
    ("g(X) :- h(X). [aggregation=softmax(agg_terms=[x])]", "agg_terms of softmax is a list of the head's variables"),
    ("g(X) :- h(X). [combination=sum(2)]", "'sum' takes no arguments"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_arguments_are_positioned_errors_and_exit_2(text, message, tmp_path, capsys):
    path = tmp_path / "t.rules"
    path.write_text(text + "\n")
    with pytest.raises(NeuralogicError) as info:
        parse_template(text)
    assert message in str(info.value)
    assert info.value.span is not None and info.value.span.line == 1
    code = cli.main(["check", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "t.rules:1:" in err and "Traceback" not in err


def test_dsl_mistakes_are_errors():
    with pytest.raises(NeuralogicError, match="has a function and cannot be negated"):
        -T.SQRT(R.h(V.X))
    with pytest.raises(NeuralogicError, match="only activations apply to a literal"):
        A.SUM(R.h(V.X))
    with pytest.raises(NeuralogicError, match="already has its arguments"):
        T.LEAKY_RELU(0.2)(0.3)
    with pytest.raises(NeuralogicError, match="a fact cannot have a function"):
        T.SQRT(R.h(1)).to_fact()


@pytest.mark.parametrize("text, message", [
    ("g(X) :- slice(h(X), rows=[0, 4]).", "needs 4 rows but the value is a 3-vector"),
    ("g(X) :- reshape(h(X), shape=[2, 2]).", "needs 4 elements but the value is a 3-vector"),
    ("g(X) :- h(X). [activation=reshape(shape=[1, 2])]", "needs 2 elements but the value is a 3-vector"),
])
def test_shapes_the_functions_cannot_take_are_positioned_errors(text, message, tmp_path, capsys):
    with pytest.raises(NeuralogicError, match="shape mismatch") as info:
        network(text, "<[1.0, 2.0, 3.0]> h(a).", "g(a).")
    assert message in str(info.value) and info.value.span is not None


def test_data_cannot_carry_functions():
    with pytest.raises(NeuralogicError, match="cannot have a function"):
        parse_examples("sqrt(f(a)).")


# --------------------------------------------------------------------------- values against numpy

LITERALS = """
h(X) :- <2.0> sqrt(f(X)), leakyrelu(g(X), 0.2), $wt={1,2} tanh(v(X)), ~g(X). [activation=leakyrelu(0.1)]
k(X) :- reshape(v(X), shape=[1, 2]), $ws={2,2} slice(m(X), rows=[1, 3], cols=[0, 2]). [combination=product]
out(X) :- h(X), $wo={1,2} transpose(k(X)).
"""
LITERAL_DATA = ("<4.0> f(a), <-1.5> g(a), <[0.3, -0.7]> v(a), <[[1, 2, 3], [4, 5, 6], [7, 8, 9]]> m(a). "
                "<9.0> f(b), <0.4> g(b), <[1.2, 0.1]> v(b), <[[0, 1, 0], [-1, 2, 0.5], [3, -2, 1]]> m(b).")
LITERAL_QUERIES = "out(a). out(b)."


def leaky(x, slope):
    return np.where(x > 0, x, slope * x)


def test_literal_functions_compute_their_formula():
    compiled = network(LITERALS, LITERAL_DATA, LITERAL_QUERIES)
    w = compiled.store.values
    wt, ws, wo = (np.asarray(w[name]) for name in ("wt", "ws", "wo"))
    data = [(4.0, -1.5, np.array([[0.3], [-0.7]]), np.arange(1.0, 10.0).reshape(3, 3)),
            (9.0, 0.4, np.array([[1.2], [0.1]]), np.array([[0, 1, 0], [-1, 2, 0.5], [3, -2, 1.0]]))]
    out = compiled.forward()
    for row, (f, g, v, m) in zip(out, data):
        h = leaky(2.0 * np.sqrt(f) + leaky(g, 0.2) + wt @ np.tanh(v) + (1 - g), 0.1)
        k = v.reshape(1, 2) @ (ws @ m[1:3, 0:2])  # the row [v1, v2] times the weighted 2x2 block: a row
        np.testing.assert_allclose(row, h + wo @ k.T, rtol=0, atol=1e-12)


def test_literal_functions_have_the_gradients_of_finite_differences_and_lift_exactly():
    assert_gradients_match_finite_differences(network(LITERALS, LITERAL_DATA, LITERAL_QUERIES))
    assert_lifting_exact(LITERALS, LITERAL_DATA, LITERAL_QUERIES)


SLOPES = """
p(X) :- $w=0.7 f(X). [activation=leakyrelu(0.1)]
q(X) :- $w=0.7 f(X). [activation=leakyrelu(0.2)]
r(X) :- leakyrelu(f(X), 0.1).
s(X) :- leakyrelu(f(X), 0.2).
t(X) :- leakyrelu(f(X), 0.1).
out(X) :- {1} p(X), {1} q(X), {1} r(X), {1} s(X), {1} t(X).
"""


def test_parameters_are_part_of_a_neurons_identity():
    """leakyrelu(0.1) and leakyrelu(0.2) neurons with equal inputs stay apart when lifted; equal ones merge."""
    plain, lifted = assert_lifting_exact(SLOPES, "<-2.0> f(a). <-3.0> f(b).", "out(a). out(b).")
    w = plain.store.values
    ws = [np.asarray(w[n]).item() for n in plain.store.parameters if n != "w"]
    assert len(ws) == 5
    for row, f in zip(plain.forward(), (-2.0, -3.0)):
        want = ws[0] * leaky(0.7 * f, 0.1) + ws[1] * leaky(0.7 * f, 0.2) + ws[2] * leaky(f, 0.1) \
            + ws[3] * leaky(f, 0.2) + ws[4] * leaky(f, 0.1)
        np.testing.assert_allclose(row, [[want]], rtol=0, atol=1e-12)
    assert lifted.compression.final.rules < lifted.compression.ground.rules  # r and t merged


# --------------------------------------------------------------------------- softmax over listed variables

ATTENTION = """
score(I, J) :- $left={3,2} h0(I), $right={3,2} h0(J), *edge(J, I). [activation=leakyrelu(0.2), combination=sum]
attention(I, J) :- $att={1,3} score(I, J). [aggregation=softmax(agg_terms=[J])]
h1(I) :- attention(I, J), $right={3,2} h0(J), *edge(J, I). [combination=product, aggregation=sum]
"""


def random_graph(seed: int, n: int = 6, p: float = 0.45):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 2))
    edges = [(j, i) for i in range(n) for j in range(n) if i == j or rng.random() < p]
    facts = [f"<[{x:.17g}, {y:.17g}]> h0(n{i})" for i, (x, y) in enumerate(features)]
    facts += [f"edge(n{j}, n{i})" for j, i in edges]
    return features, edges, ", ".join(facts) + ".", " ".join(f"h1(n{i})." for i in range(n))


def gatv2(features, edges, left, right, att):
    """GATv2 on the graph: a_ij = softmax_j(att . leakyrelu(L x_i + R x_j, 0.2)); h_i = sum_j a_ij R x_j."""
    out = []
    for i in range(len(features)):
        sources = [j for j, t in edges if t == i]
        scores = np.array([(att @ leaky(left @ features[i] + right @ features[j], 0.2)).item() for j in sources])
        a = np.exp(scores - scores.max())
        a /= a.sum()
        out.append(sum(a_j * (right @ features[j]) for a_j, j in zip(a, sources)))
    return np.array(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attention_normalises_over_each_nodes_neighbours(seed):
    features, edges, data, queries = random_graph(seed)
    compiled = network(ATTENTION, data, queries, "structural", seed)
    w = compiled.store.values
    want = gatv2(features, edges, w["left"], w["right"], w["att"])
    np.testing.assert_allclose(compiled.forward()[:, :, 0], want, rtol=0, atol=1e-10)


def test_attention_gradients_finite_differences_lifting_and_batches():
    features, edges, data, queries = random_graph(3, n=5)
    plain, lifted = assert_lifting_exact(ATTENTION, data, queries, seed=4)
    assert_gradients_match_finite_differences(plain)
    # a plan for some samples keeps whole partitions: the same outputs as the full network
    np.testing.assert_allclose(lifted.forward(samples=np.array([2, 0])), lifted.forward()[[2, 0]], rtol=0,
                               atol=1e-15)


def test_softmax_over_a_neighbourhood_with_several_groundings_per_head():
    """Each head sums the shares of its own groundings among all groundings of its partition."""
    template = "a(I, J) :- s(I, J, K). [aggregation=softmax(agg_terms=[J])]\nout(I) :- a(I, J), v(J). " \
               "[combination=product, aggregation=sum]"
    data = ("<1.0> s(x, p, u), <2.0> s(x, p, w), <0.5> s(x, q, u), <-1.0> s(y, p, u), <3.0> s(y, q, w), "
            "<1.5> v(p), <-2.0> v(q).")
    compiled = network(template, data, "out(x). out(y).", "structural")
    e = np.exp
    x = (e(1.0) + e(2.0)) / (e(1.0) + e(2.0) + e(0.5)) * 1.5 + e(0.5) / (e(1.0) + e(2.0) + e(0.5)) * -2.0
    y = e(-1.0) / (e(-1.0) + e(3.0)) * 1.5 + e(3.0) / (e(-1.0) + e(3.0)) * -2.0
    np.testing.assert_allclose(compiled.forward().ravel(), [x, y], rtol=0, atol=1e-12)


def test_plain_softmax_aggregation_is_unchanged():
    """aggregation=softmax (no agg_terms) is still the members' probabilities as one vector."""
    compiled = network("a(I) :- s(I, J). [aggregation=softmax]", "<1.0> s(x, p), <2.0> s(x, q).", "a(x).")
    np.testing.assert_allclose(compiled.forward().ravel(), np.exp([1.0, 2.0]) / np.exp([1.0, 2.0]).sum(),
                               rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- the fused engine


@pytest.mark.skipif(not jit.available(), reason="numba is not installed")
def test_the_fused_engine_runs_element_wise_literal_functions_as_the_op_table():
    template = "h(X) :- {2} sqrt(f(X)), {2} g(X). [activation=tanh]\nout(X) :- {1,2} h(X)."
    compiled = network(template, "<4.0> f(a), <0.3> g(a). <2.0> f(b), <-0.2> g(b).", "out(a). out(b).")
    assert_engines_agree(compiled, np.arange(2))


@pytest.mark.parametrize("template, reason", [
    ("out(X) :- {1} f(X). [activation=leakyrelu(0.2)]", "the activation leakyrelu(0.2)"),
    ("out(X) :- {1} leakyrelu(f(X), 0.2).", "the input function leakyrelu(0.2)"),
    ("out(X) :- {1} sqrt(f(X)), {1} tanh(f(X)).", "several functions on the inputs"),
    ("a(X, Y) :- s(X, Y). [aggregation=softmax(agg_terms=[Y])]\nout(X) :- {1} a(X, Y).",
     "the aggregation softmax(agg_terms=[Y])"),
])
def test_the_fused_engine_declines_what_it_does_not_compute(template, reason):
    compiled = network(template, "<4.0> f(a), <1.0> s(a, b), <2.0> s(a, c).", "out(a).")
    assert reason in unsupported(compiled.schedule)


# --------------------------------------------------------------------------- duplicate_grounding

MULTIGRAPH = "<2.0> f(b), <3.0> f(c), e(a, b, 1), e(a, b, 2), e(a, c, 1), e(b, c, 5)."


@pytest.mark.parametrize("meta, want", [("", [5.0, 3.0]), (", duplicate_grounding=false", [5.0, 3.0]),
                                        (", duplicate_grounding=true", [7.0, 3.0])])
def test_duplicate_grounding_keeps_one_rule_neuron_per_substitution(meta, want):
    """By default a ground body appears once per head; with duplicate_grounding each substitution of the
    positive literals (the hidden edge's label K too) is a rule neuron of its own."""
    template = f"h(X) :- f(Y), *e(X, Y, K). [aggregation=sum{meta}]"
    plain, _ = assert_lifting_exact(template, MULTIGRAPH, "h(a). h(b).")
    np.testing.assert_allclose(plain.forward().ravel(), want, rtol=0, atol=0)
    assert_gradients_match_finite_differences(network("h(X) :- {2} f(Y), *e(X, Y, K). "
                                                      f"[aggregation=avg{meta}]", MULTIGRAPH, "h(a). h(b)."))


ATTENTION_MODULE = """
<{scale}> out__dk.
out__dot(X, Y) :- out__dk, transpose(k(Y)), q(X). [combination=product, aggregation=softmax(agg_terms=[Y])]
out(X) :- out__dot(X, Y), v(Y). [combination=product, aggregation=sum]
"""


def test_scaled_dot_product_attention_as_pyneuralogic_expands_it():
    """out_x = sum_y softmax_y(q_x . k_y / sqrt(d)) v_y: transpose on a literal, a product, the split softmax."""
    rng = np.random.default_rng(7)
    n, d = 4, 3
    q, k, v = rng.normal(size=(3, n, d))
    vectors = lambda name, m: [f"<[{', '.join(f'{x:.17g}' for x in row)}]> {name}({i})" for i, row in enumerate(m)]
    data = ", ".join(vectors("q", q) + vectors("k", k) + vectors("v", v)) + "."
    template = ATTENTION_MODULE.format(scale=repr(float(1 / np.sqrt(d))))
    compiled = network(template, data, " ".join(f"out({i})." for i in range(n)), "structural")
    scores = q @ k.T / np.sqrt(d)
    weights = np.exp(scores - scores.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(compiled.forward()[:, :, 0], weights @ v, rtol=0, atol=1e-12)


def test_a_function_name_on_a_constant_that_is_a_nullary_predicate_gets_a_warning():
    """PyNeuraLogic prints sqrt applied to the 0-ary atom n as sqrt(n), which reads here as an atom."""
    with pytest.warns(UserWarning, match=r"'sqrt\(n\)' is the atom sqrt/1 of the constant n") as caught:
        parse_template("n :- f(X).\nh :- sqrt(n).")
    assert "sqrt(n())" in str(caught[0].message)
    assert str(parse_template("n :- f(X).\nh :- sqrt(n()).").rules[1].body[0]) == "sqrt(n())"


GATED = """
h(X, 0) :- h0(X).
z(X, T) :- $wz={2,2} inp(X, T), $uz={2,2} h(X, Z), @next(Z, T). [activation=sigmoid]
n(X, T) :- $wn={2,2} inp(X, T), $un={2,2} h(X, Z), @next(Z, T). [activation=tanh]
left(X, T) :- reverse(z(X, T)), n(X, T). [combination=elproduct]
right(X, T) :- z(X, T), h(X, Z), @next(Z, T). [combination=elproduct]
h(X, T) :- left(X, T), right(X, T).
"""


def test_a_gated_recurrence_over_next_with_reverse_on_a_literal():
    """h_t = (1 - z_t) * n_t + z_t * h_{t-1}, z_t = sigmoid(Wz x_t + Uz h_{t-1}), n_t = tanh(Wn x_t + Un h_{t-1})."""
    rng = np.random.default_rng(3)
    xs, h = rng.normal(size=(3, 2)), rng.normal(size=2)
    vector = lambda v: f"<[{v[0]:.17g}, {v[1]:.17g}]>"
    data = ", ".join([f"{vector(h)} h0(s)"] + [f"{vector(x)} inp(s, {t + 1})" for t, x in enumerate(xs)]) + "."
    compiled = network(GATED, data, "h(s, 3).", "structural")
    w = {k: np.asarray(v) for k, v in compiled.store.values.items()}
    for x in xs:
        z = 1 / (1 + np.exp(-(w["wz"] @ x + w["uz"] @ h)))
        n = np.tanh(w["wn"] @ x + w["un"] @ h)
        h = (1 - z) * n + z * h
    np.testing.assert_allclose(compiled.forward().ravel(), h, rtol=0, atol=1e-12)
    assert_gradients_match_finite_differences(compiled)


def test_a_cycle_through_a_softmax_partition_is_a_positioned_error():
    """att(a, b) depends on s(a, c) through its partition's softmax, and s(a, c) on att(a, b)."""
    template = """att(I, J) :- s(I, J). [aggregation=softmax(agg_terms=[J])]
s(I, J) :- e(I, J).
t(I, K) :- att(I, J), e(J, K).
s(I, K) :- t(I, K), @neq(I, K).
"""
    with pytest.raises(NeuralogicError, match=r"cycle in example 1: att\(a, b\) <- s\(a, c\) <- t\(a, c\)") as info:
        network(template, "<1.0> e(a, b), <2.0> e(b, c), <1.0> e(a, c).", "att(a, c).")
    assert info.value.span.line == 1


def test_settings_take_parameterised_functions_but_not_a_softmax_over_head_variables():
    from neuralogic_py.neural import NeuralSettings

    assert NeuralSettings(rule_activation="leakyrelu(0.2)").rule_activation == "leakyrelu(0.2)"
    with pytest.raises(NeuralogicError, match="belongs in that rule's metadata"):
        NeuralSettings(aggregation="softmax(agg_terms=[J])")


def test_parameterised_activations_of_predicates():
    """h/1 [activation=slice(...)], [activation=reshape(...)] and [activation=leakyrelu(0.3)] on atom neurons."""
    template = """g(X) :- $a={4,2} f(X).
g/1 [activation=slice(rows=[1, 3])]
k(X) :- $b={2,2} g(X).
k/1 [activation=reshape(shape=[1, 2])]
out(X) :- $c={2,1} k(X). [combination=product]
out(X) :- $d={1,2} g(X).
out/1 [activation=leakyrelu(0.3)]
"""
    data = "<[0.5, -1.0]> f(a). <[-2.0, 0.25]> f(b)."
    compiled = network(template, data, "out(a). out(b).", "structural")
    w = {k: np.asarray(v) for k, v in compiled.store.values.items()}
    for row, f in zip(compiled.forward(), ([0.5, -1.0], [-2.0, 0.25])):
        g = (w["a"] @ np.array(f))[1:3]
        k = (w["b"] @ g).reshape(1, 2)
        z = (w["c"] @ k).reshape(2, 2)  # a column times a row: the outer product, as the reference's times
        assert row.shape == (2, 2)
        np.testing.assert_allclose(row, leaky(z + (w["d"] @ g).item(), 0.3), rtol=0, atol=1e-12)
    assert_gradients_match_finite_differences(compiled)

"""Neural semantics on small hand-computed networks (language.md §5), and their gradients.

Every expected number here is worked out by hand from the reference semantics: offsets
are the first element of a combination, head weights act on aggregation outputs,
predicate offsets only on weighted atom neurons, facts shadowed by rules, single
inputs skip their combination, soft negation is 1 - x.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuralogic_py.engine import ops
from neuralogic_py.engine.gradcheck import gradient_errors
from neuralogic_py.errors import ValidationError
from neuralogic_py.language.data import parse_examples, parse_queries
from neuralogic_py.language.parser import parse_template
from neuralogic_py.neural import PYNEURALOGIC, REFERENCE, build, predict_outputs

IDENTITY_PROFILE = PYNEURALOGIC  # identity activations where the template states none


def outputs(template: str, examples: str, queries: str, weights=None, settings=IDENTITY_PROFILE) -> list:
    t = parse_template(template, "t.rules")
    e = parse_examples(examples, "e.txt")
    q = parse_queries(queries, "q.txt")
    return predict_outputs(t, e, q, weights, settings=settings)


def compiled(template: str, examples: str, queries: str, settings=IDENTITY_PROFILE):
    return build(parse_template(template, "t.rules"), parse_examples(examples, "e.txt"),
                 parse_queries(queries, "q.txt"), settings=settings)


# --------------------------------------------------------------------------- reference examples


def test_soft_negation_example_of_the_reference():
    """debug/negation_soft: h = 0.1 + (1 - 0.2) = 0.9."""
    template = """
        h1 :- input(1). [activation=identity]
        h2 :- input(2). [activation=identity]
        h :- h1, ~h2. [activation=identity]
        h1/0 [activation=identity]
        h2/0 [activation=identity]
        h/0 [activation=identity]
    """
    assert outputs(template, "<0.1> input(1), <0.2> input(2).", "h.", settings=REFERENCE) == \
        pytest.approx([0.9], abs=1e-12)


def test_min_aggregation_example_of_the_reference():
    """debug/min: the minimum over inputs -10 and -3."""
    template = "h :- input(X). [activation=identity, aggregation=min]\nh/0 [activation=identity]"
    assert outputs(template, "<-10> input(a), <-3> input(b).", "h.", settings=REFERENCE) == [-10.0]


def test_reference_profile_applies_tanh_to_rule_and_atom_neurons():
    assert outputs("h :- a.", "<0.5> a.", "h.", settings=REFERENCE) == pytest.approx([math.tanh(math.tanh(0.5))])
    assert outputs("h :- a.", "<0.5> a.", "h.", settings=IDENTITY_PROFILE) == pytest.approx([0.5])


# --------------------------------------------------------------------------- weights, offsets, head weights


def test_weighted_rule_with_offset_first_in_the_combination():
    # avg over [offset, 2a, b] = (1 + 6 + 5) / 3
    template = "h :- 2.0 a, b, 1.0. [combination=avg]"
    assert outputs(template, "<3> a, <5> b.", "h.") == pytest.approx([4.0])
    # max with the offset first: the offset wins
    assert outputs("h :- 2.0 a, b, 9.0. [combination=max]", "<3> a, <5> b.", "h.") == pytest.approx([9.0])


def test_crosssum_adds_the_offset_to_every_combination():
    template = "h :- a, b, <[10.0, 20.0]>. [combination=crosssum]\nh/0 [activation=identity]"
    out = outputs(template, "<[1.0, 2.0]> a, <[0.5, 0.25]> b.", "h.")
    expected = [o + x + y for o in (10, 20) for x in (1, 2) for y in (0.5, 0.25)]
    assert out == [pytest.approx(expected)]


def test_several_rules_for_one_head_and_predicate_offset_on_weighted_atoms_only():
    template = """
        2.0 h(X) :- a(X).
        h(X) :- b(X).
        h/1 0.5
    """
    # h(1): weighted (a head weight feeds it): 0.5 + 2*3 + 5; h(2): only the unweighted rule: no offset
    out = outputs(template, "<3> a(1), <5> b(1), <7> b(2).", "h(1), h(2).")
    assert out == pytest.approx([11.5, 7.0])
    # without any head weight the predicate offset is ignored everywhere
    assert outputs("h(X) :- a(X).\nh(X) :- b(X).\nh/1 0.5", "<3> a(1), <5> b(1).", "h(1).") == \
        pytest.approx([8.0])


def test_head_weight_multiplies_the_aggregated_value():
    template = "[[1.0, 2.0]] h :- f(X). [aggregation=avg]"
    out = outputs(template, "<[1.0, 3.0]> f(a), <[3.0, 5.0]> f(b).", "h.")
    assert out == pytest.approx([1 * 2 + 2 * 4])


def test_matrix_weight_maps_vectors_and_column_weight_maps_scalars():
    template = "h :- [[1.0, 0.0], [1.0, 1.0], [0.0, 2.0]] f, [1.0, 2.0, 3.0] g."
    assert outputs(template, "<[2.0, 3.0]> f, <0.5> g.", "h.") == [pytest.approx([2.5, 6.0, 7.5])]


def test_fixed_and_learnable_literals_start_at_their_written_values():
    c = compiled("h :- <2.0> a, 3.0 b, {1} c.", "a, b, c.", "h.")
    store = c.store
    assert store.parameters["rule1.body1"].fixed and not store.parameters["rule1.body2"].fixed
    assert store["rule1.body2"].item() == 3.0 and -1.0 <= store["rule1.body3"].item() <= 1.0
    store.set("rule1.body3", 4.0)
    assert c.forward()[0, 0, 0] == pytest.approx(9.0)


# --------------------------------------------------------------------------- facts


def test_facts_are_shadowed_by_rules():
    # f is an input fact (7) and derived from g (2): the body reference uses the derived atom
    template = "h :- f.\nf :- g."
    assert outputs(template, "<7> f, <2> g.", "h.") == pytest.approx([2.0])


def test_template_fact_with_variables_gives_every_domain_term_its_value():
    template = "<2.0> edge(X, X).\nh :- edge(X, Y). [aggregation=sum]"
    assert outputs(template, "node(a), node(b).", "h.") == pytest.approx([4.0])


def test_template_facts_are_learnable_embeddings_shared_by_examples():
    template = "$e={2} emb(a).\n[[1.0, 1.0]] h :- emb(a), in(X). [aggregation=sum]"
    c = compiled(template, "in(x).\nin(x), in(y).", "h.\nh.")
    c.store.set("e", [1.0, 2.0])
    # per ground rule: [1, 1] . (emb(a) + in(X)) = (1 + 1) + (2 + 1)
    np.testing.assert_allclose(c.forward()[:, 0, 0], [5.0, 10.0])
    _, grads = c.value_and_grad(c.store.learnable(), lambda out, t: _sum(out), c.targets())
    np.testing.assert_allclose(grads["e"], [[3.0], [3.0]])  # one per ground rule of both examples


def test_embed_rules_give_each_ground_head_its_own_parameter():
    template = "{2} @embed_c(X) :- node(X).\n[[1.0, 1.0]] h :- embed_c(X). [aggregation=sum]"
    c = compiled(template, "node(a), node(b).", "h.")
    assert {"@embed_c(a)", "@embed_c(b)"} <= set(c.store.names())
    c.store.set("@embed_c(a)", [1.0, 2.0])
    c.store.set("@embed_c(b)", [10.0, 20.0])
    assert c.forward()[0, 0, 0] == pytest.approx(33.0)


def _sum(out):
    from neuralogic_py.engine import ops
    return ops.sum_all(out)


# --------------------------------------------------------------------------- single inputs, functions


def test_single_input_skips_the_combination_count_and_softmax_become_one():
    assert outputs("h :- a. [combination=count]", "<5> a.", "h.") == [1.0]
    assert outputs("h :- a, b. [combination=count]", "<5> a, <6> b.", "h.") == [2.0]
    assert outputs("h :- a(X). [aggregation=count]", "a(1), a(2), a(3).", "h.") == [3.0]
    assert outputs("h :- a(X). [aggregation=count]", "a(1).", "h.") == [1.0]
    # softmax over the members of an aggregation: their probabilities, as a column
    out = outputs("h :- a(X). [aggregation=softmax]", "<0.0> a(1), <1.0> a(2).", "h.")
    assert out == [pytest.approx([1 / (1 + math.e), math.e / (1 + math.e)])]


def test_max_and_min_of_vectors_are_element_wise():
    out = outputs("h :- f(X). [aggregation=max]", "<[1.0, 5.0]> f(a), <[3.0, 2.0]> f(b).", "h.")
    assert out == [[3.0, 5.0]]
    out = outputs("h :- f, g. [combination=min]", "<[1.0, 5.0]> f, <[3.0, 2.0]> g.", "h.")
    assert out == [[1.0, 2.0]]


def test_atom_neuron_functions_from_predicate_metadata():
    template = "h :- a.\nh :- b.\nh/0 [combination=max, activation=sigmoid]"
    assert outputs(template, "<1.0> a, <3.0> b.", "h.") == pytest.approx([1 / (1 + math.exp(-3.0))])


def test_recursion_over_an_acyclic_chain():
    template = """
        r(X, Y) :- e(X, Y). [activation=identity]
        r(X, Y) :- 0.5 r(X, Z), e(Z, Y). [activation=identity]
    """
    # r(a,c) = avg(e(a,c)?) ... here only the chain a->b->c: r(a,c) = 0.5 r(a,b) + e(b,c) = 0.5*2 + 3
    assert outputs(template, "<2> e(a, b), <3> e(b, c).", "r(a, c).") == pytest.approx([4.0])


def test_output_activation_override_applies_to_query_atoms_only():
    settings = REFERENCE.with_output_activation("identity")
    template = "h :- a.\nq :- h."
    out = outputs(template, "<0.5> a.", "q.", settings=settings)
    assert out == pytest.approx([math.tanh(math.tanh(math.tanh(0.5)))])  # q's atom tanh is gone


# --------------------------------------------------------------------------- gradients


FUNCTION_TEMPLATES = {
    **{f"activation {name}": f"h :- $w={{2,2}} f, $b={{2}}. [activation={name}]\nh/0 [activation=identity]"
       for name in ("sigmoid", "tanh", "relu", "leakyrelu", "identity", "exp", "softmax", "sparsemax",
                    "lukasiewicz")},
    # a norm of two elements is +-1 whatever the input (no gradient to check): three elements
    "activation norm": "h :- $w={3,2} f, $b={3}. [activation=norm]\nh/0 [activation=identity]",
    "activation log, sqrt, inverse": "a :- $w={2,2} f, <[3.0, 3.0]>. [activation=identity]\n"
                                     "h :- a. [activation=log]\ng :- a. [activation=sqrt]\n"
                                     "k :- a. [activation=inverse]\nq :- h, g, k. [activation=identity]\n"
                                     "a/0 [activation=identity]\nh/0 [activation=identity]\ng/0 [activation=identity]\n"
                                     "k/0 [activation=identity]\nq/0 [activation=identity]",
    "activation transpose": "$r={2,1} h :- $w={2,2} f. [activation=transpose]\nh/0 [activation=transpose]",
    **{f"combination {name}": f"h :- $w={{2,2}} f, $v={{2,2}} g, $b={{2}}. [combination={name}, "
                              "activation=identity]\nh/0 [activation=identity]"
       for name in ("sum", "avg", "max", "min", "elproduct", "crosssum", "concat", "softmax", "sparsemax")},
    "combination product": "h :- $w={1,2} f, $v={2,2} g. [combination=product, activation=identity]",
    "combination cossim": "h :- $w={2,2} f, $v={2,2} g. [combination=cossim, activation=identity]",
    **{f"aggregation {name}": f"h :- $w={{2,2}} e(X), $b={{2}}. [aggregation={name}, activation=tanh]\n"
                              "h/0 [activation=identity]"
       for name in ("sum", "avg", "max", "min", "concat", "softmax")},
    "atom combinations": "$u={2,2} h :- $w={2,2} f.\n$v={2,2} h :- $x={2,2} g.\nh/0 $o={2}\n"
                         "h/0 [combination=max, activation=sigmoid]",
    "atom positional combination": "$u={2,2} h :- $w={2,2} f.\n$v={2,2} h :- $x={2,2} g.\nh/0 $o={2}\n"
                                   "h/0 [combination=crosssum, activation=tanh]",
    "soft negation": "h :- $w={2,2} ~f, $v={2,2} g, $b={2}. [activation=sigmoid]",
    "embedding": "$e={2} emb(a).\n$w={1,2} h :- emb(a), $v={2,2} f. [activation=tanh]",
}


@pytest.mark.parametrize("name", sorted(FUNCTION_TEMPLATES))
def test_plan_gradients_match_finite_differences(name):
    """Each function wired through a compiled plan: tape gradients vs central differences."""
    data = ("<[0.3, -0.7]> f, <[0.2, 0.45]> g, <[0.11, 0.29]> e(a), <[-0.9, 0.35]> e(b), <[0.6, -0.2]> e(c).\n"
            "<[0.5, 0.1]> f, <[-0.4, 0.8]> g, <[0.7, 0.2]> e(a), <[0.1, 0.3]> e(b), <[0.35, 0.12]> e(c).")
    query = "h.\nh." if not name.startswith("activation log") else "q.\nq."
    c = build(parse_template(FUNCTION_TEMPLATES[name], "t.rules"), parse_examples(data), parse_queries(query),
              seed=3, settings=REFERENCE)
    plan = c.plan()
    values = c.values()
    names = [p for p in plan.parameter_names if c.store.parameters[p].learnable]

    def run(*arrays):
        return plan.outputs({**values, **dict(zip(names, arrays))})

    errors = gradient_errors(run, *[values[p] for p in names], argnums=range(len(names)))
    assert max(errors) < 1e-6, dict(zip(names, errors))


# --------------------------------------------------------------------------- errors


def test_shape_mismatch_names_rule_literal_and_both_shapes():
    with pytest.raises(ValidationError) as caught:
        outputs("h :- {3,2} f(X).", "<[1.0, 2.0, 3.0]> f(a).", "h.")
    e = caught.value
    assert e.span is not None and (e.span.file, e.span.line) == ("t.rules", 1)
    assert "{3,2} f(X)" in e.message and "3x2 matrix" in e.message and "3-vector" in e.message
    assert "h :- f(a)" in e.message  # the first ground rule where it happens


def test_shape_mismatch_between_combined_literals():
    with pytest.raises(ValidationError) as caught:
        outputs("\nh :- f, g.", "<[1.0, 2.0]> f, <[1.0, 2.0, 3.0]> g.", "h.")
    e = caught.value
    assert e.span.line == 2
    assert "'f'" in e.message and "'g'" in e.message and "2-vector" in e.message and "3-vector" in e.message


def test_shape_mismatch_between_rules_of_one_head():
    with pytest.raises(ValidationError) as caught:
        outputs("h :- f.\nh :- g.", "<[1.0, 2.0]> f, <[1.0, 2.0, 3.0]> g.", "h.")
    assert "atom neuron of h" in caught.value.message and "3-vector" in caught.value.message


def test_head_weight_shape_mismatch():
    with pytest.raises(ValidationError, match="head weight"):
        outputs("{2,2} h :- f.", "<[1.0, 2.0, 3.0]> f.", "h.")


def test_cyclic_ground_network_is_an_error_naming_the_cycle():
    template = "\np(X, Y) :- e(X, Y).\np(X, Y) :- p(X, Z), p(Z, Y)."
    with pytest.raises(ValidationError) as caught:
        outputs(template, "e(a, b), e(b, a).", "p(a, b).")
    e = caught.value
    assert "cycle" in e.message and "p(a, " in e.message and "example 1" in e.message
    assert e.span.line == 3


def test_rule_without_neural_inputs():
    with pytest.raises(ValidationError, match="no neural input"):
        outputs("h(X) :- *f(X).", "f(a).", "h(a).")
    assert outputs("h(X) :- *f(X), 0.25.", "f(a).", "h(a).") == [0.25]


@pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")
def test_nonfinite_values_are_traced_to_a_neuron_and_rule():
    c = compiled("h(X) :- f(X). [activation=log]\nq :- h(X).", "<2.0> f(a), <-1.0> f(b).", "q.")
    assert np.isnan(c.forward()).all()
    where = c.explain_nonfinite(c.store.learnable())
    assert where.startswith("the rule neuron of h(b) :- f(b), example 1")
    assert "h(X) :- f(X). [activation=log]" in where


def test_plans_are_cached_per_batch_within_a_byte_budget():
    c = compiled("h(X) :- 2.0 f(X).", "<1.0> f(a).\n<2.0> f(b).\n<3.0> f(c).", "h(a).\nh(b).\nh(c).")
    first = c.plan(np.array([0, 2]))
    assert c.plan(np.array([0, 2])) is first
    np.testing.assert_allclose(c.forward(samples=np.array([2, 0]))[:, 0, 0], [6.0, 2.0])
    c.cache_bytes = 1  # every new plan pushes the older ones out
    c.plan(np.array([1]))
    assert c.plan(np.array([0, 2])) is not first


def test_plan_cache_memory_stays_bounded_over_reshuffled_batches():
    """New random batches every epoch: the bytes the cached plans hold stay within the budget (but for the
    plan last made), counted from their arrays after they ran (the cached sums they build included)."""
    template = "h(X) :- {3,2} f(Y), e(Y, X). [aggregation=sum]\nq :- h(X). [aggregation=avg]"
    graphs = [", ".join([f"<[{g + x}, 1]> f(n{x})" for x in range(g % 4 + 2)]
                        + [f"e(n{x}, n{(x * 7 + g) % (g % 4 + 2)})" for x in range(g % 4 + 2)]) + "."
              for g in range(20)]
    c = compiled(template, "\n".join(graphs), "\n".join(["q."] * 20))
    values = c.values()
    sizes = []
    for batch in ([3, 5], [1, 2, 4, 6]):
        plan = c.plan(np.array(batch))
        before = plan.nbytes
        plan.value_and_grad(values, lambda out, t: ops.sum_all(out), None)
        sizes.append(plan.nbytes)
        assert sizes[-1] >= before > 0  # the sums' matrices built on first use are counted too
    c.cache_bytes = 3 * max(sizes)
    rng = np.random.default_rng(0)
    largest = 0
    for _ in range(40):  # epochs of new batches
        for batch in np.array_split(rng.permutation(20), 5):
            plan = c.plan(np.sort(batch))
            plan.forward(values)
            largest = max(largest, plan.nbytes)
            held = sum(p.nbytes for p in c._plans.values())
            assert held <= c.cache_bytes + largest
    assert 1 < len(c._plans) < 200  # some plans are kept, far fewer than were made

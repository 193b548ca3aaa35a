"""Template validation: what is accepted, what warns, what fails (exact messages are in tests/errors)."""

from __future__ import annotations

import warnings

import pytest

from neuralogic_py.errors import NeuralogicWarning, ValidationError
from neuralogic_py.language.parser import parse_template
from neuralogic_py.language.validate import ERROR, WARNING, TemplateErrors, check_template


def diagnostics(text: str) -> list[tuple[str, str]]:
    return [(d.severity, d.message) for d in check_template(parse_template(text, validate=False))]


@pytest.mark.parametrize("text", [
    "h(X) :- *e(X, Y), ~a(Y).",                  # hidden and soft-negated literals bind
    "h(X) :- a(X), !b(X), @neq(X, 1).",          # tests on bound variables
    "<2.0> edge(X, X).",                         # a template fact with variables: body-less rule
    "{3} @embed_n(X) :- n(Y).",                  # @embed heads are exempt
    "h(X) :- a(X, _), b(_).",                     # '_' in bodies
    "$w={3,3} h(X) :- a(X).\ng(X) :- $w={3,3} h(X).\ns(X) :- $u={3} b(X), $v=[1,2] c(X), $v={2} d(X).",
    "$w [learnable=false]\nh :- $w=<1.0> a.",
    "h(X) :- a(X). [activation=relu, aggregation=max, combination=sum]\nh/1 [activation=sigmoid, offset=0.5]",
])
def test_sound_templates_have_no_diagnostics(text):
    assert diagnostics(text) == []


def test_unsafe_variable_in_an_otherwise_fine_rule_is_the_only_error():
    found = diagnostics("h(X, Y, Z) :- a(X), *e(X, Z), b(X).")
    assert found == [(ERROR, "unsafe rule for 'h(X, Y, Z)': head variable 'Y' is not bound by any body literal")]


def test_head_variable_only_tested_by_negation_ranges_over_the_active_domain():
    # The reference grounds Y over every constant of the example: well defined, so a warning.
    found = diagnostics("h(X, Y, Z) :- a(X), *e(X, Z), !b(Y).")
    assert found == [(WARNING, "head variable 'Y' of 'h(X, Y, Z)' occurs only in negated ('!') or built-in ('@') "
                               "literals, so it ranges over every constant of the example")]


def test_two_arities_warn_once_per_extra_arity_and_do_not_fail():
    text = "q(X) :- r(X, Y), r(X, Y, Z), r(Y, X, Z), r(X, Y).\np(X) :- r(X)."
    found = diagnostics(text)
    assert [s for s, _ in found] == [WARNING, WARNING]
    assert "3 arguments" in found[0][1] and "1 argument " in found[1][1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        template = parse_template(text)
    assert len(template.rules) == 2
    assert sum(isinstance(w.message, NeuralogicWarning) for w in caught) == 2


def test_duplicate_clauses_are_found_up_to_variable_names_and_body_order():
    found = diagnostics("h(X) :- a(X, Y), b(Y).\nh(U) :- b(V), a(U, V).\nh(X) :- a(X, Y), !b(Y).\n"
                        "h(X) :- a(Y, X), b(Y).")
    assert [m for _, m in found] == ["this rule repeats the clause of the rule at <string>:1:1"]


def test_a_later_learnable_value_of_a_named_weight_warns_but_a_shape_does_not():
    assert diagnostics("h :- $w=[1,2] a.\ng :- $w={2} b.") == []
    found = diagnostics("h :- $w={2} a.\ng :- $w=[1,2] b.")
    assert found[0][0] == WARNING and "ignored" in found[0][1]


def test_all_errors_are_raised_together_in_text_order():
    with pytest.raises(TemplateErrors) as err:
        parse_template("a(X) :- b(Y).\n$w={2} c :- d.\ne :- $w={3} f.\ng(_) :- h.", file="t.rules")
    e = err.value
    assert isinstance(e, ValidationError)
    assert [d.span.line for d in e.errors] == [1, 3, 4]
    assert e.span == e.errors[0].span and e.message == e.errors[0].message
    assert str(e).endswith("3 errors in the template")


def test_validation_can_be_skipped_and_run_later():
    template = parse_template("h(X) :- a(Y).", validate=False)
    assert [d.severity for d in check_template(template)] == [ERROR]

"""How query lines pair with examples: every mode, its description, its errors and warnings."""

from __future__ import annotations

import warnings

import pytest

from neuralogic_py.errors import NeuralogicWarning, ValidationError
from neuralogic_py.language.data import parse_examples, parse_queries
from neuralogic_py.language.pairing import PairingMode, infer_pairing


def pair(examples: str, queries: str = ""):
    return infer_pairing(parse_examples(examples, "ex.txt"), parse_queries(queries, "q.txt"),
                         examples_file="ex.txt", queries_file="q.txt")


def quiet_pair(examples: str, queries: str = ""):
    with warnings.catch_warnings():
        warnings.simplefilter("error", NeuralogicWarning)
        return pair(examples, queries)


def test_by_order():
    p = quiet_pair("f(a).\nf(b).\nf(c).\n", "1 q.\n0 q.\n1 q.\n")
    assert p.mode is PairingMode.ORDER
    assert p.line_examples == (0, 1, 2)
    assert p.describe() == "3 examples paired by order with 3 query lines"


def test_by_order_counts_queries_when_lines_hold_several():
    p = quiet_pair("f(a).\nf(b).\n", "1 q(a), 0 q(b).\n1 q(a).\n")
    assert (p.query_lines, p.queries) == (2, 3)
    assert p.describe() == "2 examples paired by order with 2 query lines (3 queries)"


@pytest.mark.parametrize("examples, queries, first", [
    ("f(a).\nf(b).\n", "1 q.\n0 q.\n1 q.\n", "query line 3 has no example"),
    ("f(a).\nf(b).\nf(c).\n", "1 q.\n0 q.\n", "example 3 has no query line"),
])
def test_by_order_unequal_counts_is_an_error_at_the_first_unpaired_item(examples, queries, first):
    with pytest.raises(ValidationError) as e:
        pair(examples, queries)
    err = e.value
    n_examples, n_lines = examples.count("."), queries.count(".")
    assert f"{n_examples} examples but {n_lines} query lines" in err.message
    assert first in err.message
    assert err.span is not None and err.span.line == 3
    assert err.span.file == ("q.txt" if "query line 3" in first else "ex.txt")


def test_knowledge_base():
    p = quiet_pair("r(a, b),\nr(b, c).\n", "1 p(a, b).\n0 p(b, a).\n1 p(a, c), 0 p(c, a).\n")
    assert p.mode is PairingMode.KNOWLEDGE_BASE
    assert p.line_examples == (0, 0, 0)
    assert p.describe() == "1 knowledge base with 4 queries on 3 lines"
    assert quiet_pair("r(a, b).", "1 p(a, b).").describe() == "1 knowledge base with 1 query"


def test_labelled_examples():
    p = quiet_pair("1.0 xor :- <0.0> a, <1.0> b.\n0.0 xor :- <1.0> a, <1.0> b.\n1 q(a), 0 q(b) :- f(a).\n")
    assert p.mode is PairingMode.LABELLED
    assert (p.examples, p.queries) == (3, 4)
    assert p.describe() == "3 labelled examples with 4 queries"
    assert quiet_pair("1 xor :- a.\n0 xor :- b.\n").describe() == "2 labelled examples"


def test_labelled_examples_without_label_are_reported():
    with pytest.warns(NeuralogicWarning, match="1 of 3 examples has no label and gives no sample"):
        p = pair("1 xor :- a.\nf(a).\n0 xor :- b.\n")
    assert p.unqueried_examples == (1,)
    assert p.describe() == "2 labelled examples, 1 without a label"


def test_labelled_examples_and_a_queries_file_is_an_error():
    with pytest.raises(ValidationError, match="labelled inline") as e:
        pair("f(a).\n1 xor :- a.\n", "1 q.\n0 q.\n")
    assert e.value.span is not None and e.value.span.line == 2


def test_by_id():
    p = quiet_pair("m1 :- f(a).\nm2 :- f(b).\nmol(3) :- f(c).\n",
                   "m2 :- 1 q.\nmol(3) :- 0 q.\n0.5 m1 :- 1 q.\nm1 :- 0 p.\n")
    assert p.mode is PairingMode.ID
    assert p.line_examples == (1, 2, 0, 0)
    assert p.describe() == "3 examples paired by id with 4 query lines"


def test_by_id_reports_unmatched_ids_by_name():
    with pytest.raises(ValidationError) as e:
        pair("m1 :- f(a).\n", "m1 :- 1 q.\nm7 :- 1 q.\nm8 :- 0 q.\nm7 :- 1 p.\n")
    assert e.value.message == "query lines name 2 example ids that no example has: m7, m8"
    assert e.value.span is not None and e.value.span.line == 2


def test_by_id_warns_about_examples_no_line_names():
    with pytest.warns(NeuralogicWarning, match="2 examples that no query line names: m2, m3"):
        p = pair("m1 :- f(a).\nm2 :- f(b).\nm3 :- f(c).\n", "m1 :- 1 q.\n")
    assert p.unqueried_examples == (1, 2)
    assert p.describe() == "3 examples paired by id with 1 query line; 2 not queried"


def test_long_lists_of_names_are_cut():
    queries = "".join(f"x{i} :- 1 q.\n" for i in range(9))
    with pytest.raises(ValidationError, match=r"x0, x1, x2, x3, x4 and 4 more\n"):
        pair("m1 :- f(a).\nm2 :- f(b).\n", queries)


@pytest.mark.parametrize("examples, queries, message", [
    ("m1 :- f(a).\nm1 :- f(b).\n", "m1 :- 1 q.\n", "example id 'm1' is used twice (first at ex.txt:1:1)"),
    ("m1 :- f(a).\nf(b).\n", "m1 :- 1 q.\n", "this example has no id"),
    ("m1 :- f(a).\nm2 :- f(b).\n", "m1 :- 1 q.\n1 q.\n", "this query line names no example"),
])
def test_by_id_inconsistencies_are_errors(examples, queries, message):
    with pytest.raises(ValidationError) as e:
        pair(examples, queries)
    assert message in e.value.message
    assert e.value.span is not None and e.value.span.line == 2


def test_queries_without_examples_query_the_template_facts():
    p = quiet_pair("", "1 q.\n0 p.\n")
    assert p.mode is PairingMode.TEMPLATE_FACTS
    assert p.describe() == "2 queries on the template's own facts (no examples)"
    with pytest.raises(ValidationError, match="names example 'm1', but there are no examples"):
        pair("", "m1 :- 1 q.\n")


def test_examples_without_queries():
    p = quiet_pair("f(a).\nf(b).\n")
    assert p.mode is PairingMode.UNLABELLED
    assert p.describe() == "2 unlabelled examples, no queries"
    with pytest.warns(NeuralogicWarning, match="has an id but no queries file names it"):
        pair("m1 :- f(a).\n")


def test_nothing():
    p = quiet_pair("")
    assert p.mode is PairingMode.EMPTY and p.describe() == "no examples and no queries"

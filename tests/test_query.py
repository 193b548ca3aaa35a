"""The query engine (logic.query) and the `nlp query` / `nlp ground` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from neuralogic_py.cli import main
from neuralogic_py.errors import ParseError
from neuralogic_py.language import ir
from neuralogic_py.language.parser import parse_template
from neuralogic_py.logic.query import parse_goal, query, query_examples

PROGRAMS = Path(__file__).parent / "programs"
CLOSURE = parse_template("path(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).")


def test_answers_keep_ints_and_floats() -> None:
    answers = query(CLOSURE, "path(1, Y)", "edge(1, 2), edge(2, 3), edge(3, 1), edge(3, 4.5).")
    assert answers == [{"Y": 1}, {"Y": 2}, {"Y": 3}, {"Y": 4.5}]  # constants in order of first appearance
    assert [type(a["Y"]) for a in answers] == [int, int, int, float]


def test_ground_goal_is_true_or_false() -> None:
    assert query(CLOSURE, "path(1, 3)", "edge(1, 2), edge(2, 3).") == [{}]
    assert query(CLOSURE, "path(3, 1)", "edge(1, 2), edge(2, 3).") == []
    assert query(CLOSURE, "nothing(1)", "edge(1, 2).") == []


def test_repeated_and_anonymous_variables() -> None:
    data = "edge(a, b), edge(b, a), edge(c, b)."
    assert query(CLOSURE, "path(X, X)", data) == [{"X": "a"}, {"X": "b"}]
    assert query(CLOSURE, "edge(_, Y)", data) == [{"Y": "a"}, {"Y": "b"}]


def test_typed_answers_keep_their_type() -> None:
    template = parse_template("sister(woman:Y) :- siblings(X, woman:Y).")
    answers = query(template, "sister(Y)", "siblings(a1, woman:a2), siblings(a1, a3).")
    assert answers == [{"Y": ir.Constant("a2", "woman")}]


def test_facts_and_examples_as_data() -> None:
    facts = [ir.Fact(ir.Atom("edge", (ir.Constant("a"), ir.Constant("b"))))]
    assert query(CLOSURE, "path(a, Y)", facts) == [{"Y": "b"}]
    per_example = query_examples(CLOSURE, "path(a, Y)", "edge(a, b).\nedge(a, c), edge(c, d).")
    assert per_example == [[{"Y": "b"}], [{"Y": "c"}, {"Y": "d"}]]
    with pytest.raises(ValueError, match="query_examples"):
        query(CLOSURE, "path(a, Y)", "edge(a, b).\nedge(a, c).")


def test_template_facts_alone() -> None:
    template = parse_template("edge(a, b).\nedge(b, c).\npath(X, Y) :- edge(X, Y).\npath(X, Z) :- path(X, Y), edge(Y, Z).")
    assert query(template, "path(a, Y)") == [{"Y": "b"}, {"Y": "c"}]


def test_goal_errors() -> None:
    with pytest.raises(ParseError):
        parse_goal("path(a, Y")
    with pytest.raises(ParseError, match="no value"):
        parse_goal("1.0 path(a, Y)")
    assert parse_goal("path(a, Y).") == ir.Atom("path", (ir.Constant("a"), ir.Variable("Y")))


# --------------------------------------------------------------------------- CLI


def test_cli_query(capsys: pytest.CaptureFixture[str]) -> None:
    rules, facts = str(PROGRAMS / "transitive_closure.rules"), str(PROGRAMS / "transitive_closure.facts")
    assert main(["query", rules, facts, "path(d, Y)"]) == 0
    assert capsys.readouterr().out.split() == ["Y=a", "Y=b", "Y=c"]
    assert main(["query", rules, facts, "path(e, a)"]) == 0
    assert capsys.readouterr().out.strip() == "false"
    assert main(["query", rules, facts, "path(X, a)", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [[{"X": "a"}, {"X": "b"}, {"X": "c"}, {"X": "d"}]]
    assert main(["query", rules, facts, "path(d, Y"]) == 2
    assert "missing ')'" in capsys.readouterr().err


def test_cli_ground(capsys: pytest.CaptureFixture[str]) -> None:
    rules, facts = str(PROGRAMS / "relevance.rules"), str(PROGRAMS / "relevance.facts")
    queries = str(PROGRAMS / "relevance.queries")
    assert main(["ground", rules, facts, "-q", queries, "--print"]) == 0
    out = capsys.readouterr().out
    assert "4 ground rules" in out and "[0] q1 :- p(a)." in out and "r(X)" in out
    assert main(["ground", rules, facts, "-q", queries, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["splits"][0]
    assert report["ground_rules"] == 4 and report["samples"] == 1
    assert set(report["seconds"]) >= {"parse", "database", "evaluation", "ground rules", "relevance"}
    assert report["predicates"]["p/1"] == {"atoms": 2, "facts": 0, "derived": 2}


def test_cli_ground_underivable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.rules").write_text("q :- f(X).\n")
    (tmp_path / "e.txt").write_text("f(a).\ng(a).\n")
    (tmp_path / "q.txt").write_text("1.0 q.\n0.0 q.\n")
    args = ["ground", str(tmp_path / "t.rules"), str(tmp_path / "e.txt"), "-q", str(tmp_path / "q.txt")]
    assert main(args) == 2
    assert "cannot be derived: q in example 2" in capsys.readouterr().err
    assert main(args + ["--allow-underivable"]) == 0
    captured = capsys.readouterr()
    assert "dropped 1 underivable query" in captured.err and "1 underivable dropped" in captured.out


def test_template_query_method_is_the_query_engine() -> None:
    data = "edge(1, 2), edge(2, 3), edge(3, 1)."
    assert CLOSURE.query("path(2, Y)", data) == query(CLOSURE, "path(2, Y)", data) == [{"Y": 1}, {"Y": 2}, {"Y": 3}]

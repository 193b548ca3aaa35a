"""Golden grounding tests: tests/programs/<name>.rules + .facts [+ .queries] -> <name>.expected.

``.expected`` lists the ground rules (``[example] head :- body.``, sorted) that the
queries reach, or all of them without a ``.queries`` file. Each program is also
ground by the naive oracle (tests/naive_grounder.py), which must agree.
Regenerate after a deliberate change with ``NLP_UPDATE_GOLDEN=1`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from naive_grounder import naive_ground

from neuralogic_py.language.data import load_examples, load_queries
from neuralogic_py.language.parser import load_template
from neuralogic_py.logic.samples import ground_samples

PROGRAMS = Path(__file__).parent / "programs"
NAMES = sorted(p.stem for p in PROGRAMS.glob("*.rules"))


def _load(name: str):
    template = load_template(PROGRAMS / f"{name}.rules", validate=False)
    examples = load_examples(PROGRAMS / f"{name}.facts")
    queries_file = PROGRAMS / f"{name}.queries"
    query_lines = load_queries(queries_file) if queries_file.exists() else ()
    return template, examples, query_lines


def engine_lines(name: str) -> list[str]:
    template, examples, query_lines = _load(name)
    grounding = ground_samples(template, examples, query_lines)
    return sorted(grounding.program.ground_rule_lines())


@pytest.mark.parametrize("name", NAMES)
def test_golden(name: str) -> None:
    lines = engine_lines(name)
    expected_file = PROGRAMS / f"{name}.expected"
    if os.environ.get("NLP_UPDATE_GOLDEN") == "1":
        expected_file.write_text("".join(f"{line}\n" for line in lines))
    assert expected_file.exists(), f"no golden file {expected_file.name}; run with NLP_UPDATE_GOLDEN=1"
    assert lines == expected_file.read_text().splitlines()


@pytest.mark.parametrize("name", NAMES)
def test_oracle_agrees(name: str) -> None:
    template, examples, query_lines = _load(name)
    queries = [(0 if len(examples) == 1 else i, q.atom) for i, line in enumerate(query_lines) for q in line.queries] \
        if query_lines else None
    assert engine_lines(name) == naive_ground(template, examples, queries)


COUNTS = {  # reference SpecialVarargPredicatesTest over the terms {d1, d2, 1, 2, 3}
    "builtins_leq": 15, "builtins_lt": 10, "builtins_eq": 5, "builtins_neq": 20, "builtins_next": 2,
}


@pytest.mark.parametrize("name,count", sorted(COUNTS.items()))
def test_special_predicate_counts(name: str, count: int) -> None:
    assert len(engine_lines(name)) == count


def test_alldiff_ring_counts() -> None:
    lines = engine_lines("alldiff_ring")
    assert sum(line.startswith("[0] ring(") for line in lines) == 4
    assert sum(line.startswith("[0] walk(") for line in lines) == 12


def test_transitive_closure_on_a_cycle() -> None:
    heads = {line.split(" :- ")[0] for line in engine_lines("transitive_closure")}
    cycle = {"a", "b", "c"}
    expected = {f"[0] path({x}, {y})" for x in cycle | {"d"} for y in cycle} | {"[0] path(e, f)"}
    assert heads == expected

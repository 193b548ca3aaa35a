"""Template parsing takes time linear in the text: the time per rule stays the same from 2k to 32k rules."""

from __future__ import annotations

import time

import pytest

from neuralogic_py.language.parser import parse_template


def seconds_per_rule(rules: int) -> float:
    text = "".join(f"h{i}(X) :- {{1}} a(X), b{i % 50}(X, Y), c(Y).\n" for i in range(rules))
    started = time.process_time()
    parse_template(text, validate=False)
    return (time.process_time() - started) / rules


@pytest.mark.slow
def test_parsing_is_linear_in_the_rules():
    small = min(seconds_per_rule(2_000) for _ in range(3))
    large = seconds_per_rule(32_000)
    assert large < 1.5 * small, f"{1e6 * small:.0f} us per rule at 2k rules, {1e6 * large:.0f} at 32k"


@pytest.mark.slow
def test_100k_shaped_template_facts_parse_in_under_10_seconds():
    text = "".join(f"$w_e{i}={{3}} emb(e{i}).\n" for i in range(100_000))
    started = time.process_time()
    assert len(parse_template(text).statements) == 100_000
    assert time.process_time() - started < 10

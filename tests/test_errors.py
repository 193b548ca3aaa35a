"""Golden messages for bad input: every file in tests/errors/ against its ``.expected`` text.

One case is a file ``tests/errors/<name>.<kind>`` and the exact text the user sees for it,
``tests/errors/<name>.expected`` (``str()`` of the error or warnings, paths relative to
tests/errors/, which is the working directory while a case runs):

* ``<name>.rules``: a template that ``load_template`` must reject;
* ``<name>.warn.rules``: a template that loads, with the warnings it must issue (one or more);
* ``<name>.facts`` / ``<name>.queries``: an examples / queries file that ``load_examples`` /
  ``load_queries`` must reject.

Files that cases import live in tests/errors/include/ and are not cases themselves.

To add a case, write the input file and run ``NLP_UPDATE_GOLDEN=1 python -m pytest tests/test_errors.py``:
the ``.expected`` files are (re)written from the current messages. Read the diff before committing.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pytest

from neuralogic_py.errors import NeuralogicError, NeuralogicWarning
from neuralogic_py.language.parser import load_template

try:  # the data loader lands separately; until it does, the data cases skip
    from neuralogic_py.language.data import load_examples, load_queries
except ImportError:
    load_examples = load_queries = None

CASES = Path(__file__).resolve().parent / "errors"
KINDS = (".rules", ".facts", ".queries")
UPDATE = os.environ.get("NLP_UPDATE_GOLDEN") == "1"
# What lark would show if its exceptions leaked: token reprs, terminal names, its own wording.
LARK_INTERNALS = re.compile(r"Token\(|\$END|__ANON|Expected one of|Unexpected[A-Z]|lark|\b(?:DOT|COMMA|LPAR|RPAR|LSQB|"
                            r"RSQB|LBRACE|RBRACE|LESSTHAN|MORETHAN|DOLLAR|EQUAL|VBAR|COLON|IMPLIED|NEGATION|"
                            r"HIDDEN|BUILTIN|NAME|VARIABLE|NUMBER|TYPE|PREDICATE|META_OPEN)\b")


def _words(rendered: str) -> str:
    """The message and hint lines of rendered diagnostics, without the quoted source and caret lines."""
    return "\n".join(line for line in rendered.splitlines() if not line.startswith("    ") or
                     line.startswith("    hint:"))


def _cases() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if p.is_file() and p.suffix in KINDS)


def _expected_path(case: Path) -> Path:
    return case.with_name(case.name.split(".")[0] + ".expected")


def _message(case: Path) -> str:
    """What the user sees for ``case``: the error, or for ``.warn.rules`` the warnings."""
    load = {".rules": load_template, ".facts": load_examples, ".queries": load_queries}[case.suffix]
    if load is None:
        pytest.skip("neuralogic_py.language.data is not there yet")
    name = case.name
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if name.endswith(".warn.rules"):
            load(name)
            shown = [str(w.message) for w in caught if isinstance(w.message, NeuralogicWarning)]
            assert shown, f"{name} issued no warning"
            return "\n".join(shown) + "\n"
        with pytest.raises(NeuralogicError) as error:
            load(name)
    assert error.value.span is not None or "not found" in error.value.message, "errors carry a position"
    return str(error.value) + "\n"


@pytest.mark.parametrize("case", _cases(), ids=lambda p: p.name)
def test_golden_message(case: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(CASES)
    message = _message(case)
    assert not LARK_INTERNALS.search(_words(message)), message
    expected = _expected_path(case)
    if UPDATE:
        expected.write_text(message)
    assert expected.exists(), f"no golden message for {case.name}: run with NLP_UPDATE_GOLDEN=1"
    assert message == expected.read_text()


def test_every_golden_message_has_its_case():
    stems = {p.name.split(".")[0] for p in _cases()}
    orphans = [p.name for p in CASES.glob("*.expected") if p.name.split(".")[0] not in stems]
    assert not orphans
    assert len(stems) == len(_cases()), "two cases share a name"

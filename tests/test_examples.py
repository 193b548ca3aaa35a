"""The docs run as written: every fenced code block of README.md and docs/*.md is run or checked.

What a block is, is said by its fence's info string (the words after the backticks):

``sh``
    Each line (a line ending in ``\\`` continues on the next) runs in bash, in a fresh
    temporary folder into which the repository's ``templates/`` and ``datasets/`` are
    copied; ``nlp`` is ``python -m neuralogic_py`` of this checkout. ``pip install ...``
    and ``python -m pytest ...`` parts of a ``&&`` chain are skipped (installing is the
    reader's business; the test suite is this). Every line must exit 0 without a
    traceback, and an ``nlp`` command that succeeds must print something; ``sh exit=N``
    expects status N from the last line. ``nlp draw`` to SVG or PNG skips without
    Graphviz's ``dot``.
``python``
    A complete program, run in such a folder.
``prolog``
    A template: it must pass ``nlp check``. When its first line is ``% FILE (excerpt)``,
    each of its lines must be a line of FILE instead. ``prolog examples`` and
    ``prolog queries`` are an examples or queries file: they must parse as one.
``text``
    Not run (illustrations: outputs on data that is not bundled, error messages of
    made-up files). ``text output`` is what the last line of the sh block just before it
    prints (stdout, or stderr when it fails), or the python block's stdout. It must match line by line, where ``...``
    in a line stands for any text and a line of its own ``...`` for any lines (trailing
    blank lines aside).

A block with any other info string fails :func:`test_every_block_is_run_or_classified`,
so a new block cannot escape. Each case runs in a folder of its own: cases are
independent and may run in any order. New files under docs/ are picked up as they come.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
KINDS = {"sh": {"exit"}, "python": set(), "prolog": {"examples", "queries"}, "text": {"output"}}
SKIPPED_PARTS = (r"pip install\b", r"python -m pytest\b")  # the reader installs; this is the test suite
EXCERPT = re.compile(r"^% (\S+) \(excerpt\)$")
COPIED = ("templates", "datasets")


@dataclass(frozen=True)
class Block:
    """One fenced block: its document, its number there (from 1), its info string and its text."""

    document: str
    number: int
    info: str
    text: str

    @property
    def kind(self) -> str:
        return self.info.split()[0] if self.info.split() else ""

    @property
    def options(self) -> dict[str, str]:
        return dict(word.partition("=")[::2] for word in self.info.split()[1:])

    @property
    def id(self) -> str:
        return f"{self.document}:{self.number} {self.info or '(no info string)'}"


def blocks(path: Path) -> list[Block]:
    document = path.relative_to(REPO).as_posix()
    return [Block(document, i, info.strip(), text) for i, (info, text) in
            enumerate(FENCE.findall(path.read_text()), 1)]


BLOCKS = [block for path in DOCS for block in blocks(path)]
"""Every fenced block of the docs, in order."""

RUN = [b for b in BLOCKS if b.kind in ("sh", "python")]
"""The blocks that run, as test ids ``docs/lifting.md:2 python``."""

CHECKED = [b for b in BLOCKS if b.kind == "prolog"]
OUTPUTS = [b for b in BLOCKS if b.kind == "text" and "output" in b.options]


def preceding(block: Block) -> Block | None:
    """The block an output block shows the output of: the sh or python block just before it, if any."""
    before = [b for b in BLOCKS if b.document == block.document and b.number < block.number]
    return before[-1] if before and before[-1].kind in ("sh", "python") else None


RUN_ALONE = [b for b in RUN if b not in {preceding(o) for o in OUTPUTS}]
"""The blocks that run without a shown output (the others run in the output's test)."""


def ids(items: list[Block]) -> list[str]:
    return [b.id for b in items]


# --------------------------------------------------------------------------- running


def commands(block: Block) -> list[str]:
    """The lines of an sh block to run: continuations joined, skipped parts of ``&&`` chains dropped."""
    lines, pending = [], ""
    for line in block.text.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1].strip() + " "
            continue
        line, pending = pending + line.strip(), ""
        kept = [p.strip() for p in line.split("&&")
                if p.strip() and not any(re.match(s, p.strip()) for s in SKIPPED_PARTS)]
        if kept:
            lines.append(" && ".join(kept))
    return lines


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A fresh folder holding copies of templates/ and datasets/, with ``nlp`` on its PATH."""
    for name in COPIED:
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    bin_dir = tmp_path / ".bin"
    bin_dir.mkdir()
    nlp = bin_dir / "nlp"
    nlp.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m neuralogic_py "$@"\n')
    nlp.chmod(0o755)
    return tmp_path


def environment(folder: Path) -> dict[str, str]:
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PATH": f"{folder / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO) + (os.pathsep + path if path else ""), "COLUMNS": "120"}


def run_shell(command: str, folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=folder, env=environment(folder),
                          capture_output=True, text=True, timeout=600)


def needs_dot(command: str) -> bool:
    return command.startswith("nlp draw") and bool(re.search(r"\.(svg|png)\b|--format (svg|png)", command))


def run_sh(block: Block, folder: Path) -> subprocess.CompletedProcess | None:
    """Run every command of an sh block in ``folder``; the last one's result (None when nothing ran)."""
    lines = commands(block)
    if not lines:
        pytest.skip("only installing or running the test suite")
    if shutil.which("dot") is None and any(needs_dot(line) for line in lines):
        pytest.skip("needs Graphviz's dot program (Debian package graphviz)")
    result = None
    for k, line in enumerate(lines):
        expected = int(block.options.get("exit", 0)) if k == len(lines) - 1 else 0
        result = run_shell(line, folder)
        shown = f"{block.id}: `{line}` exited {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        assert result.returncode == expected, shown
        assert "Traceback" not in result.stderr, shown
        if line.startswith("nlp ") and expected == 0:
            assert result.stdout.strip(), f"{block.id}: `{line}` printed nothing"
    return result


def run_python(block: Block, folder: Path) -> subprocess.CompletedProcess:
    program = folder / "block.py"
    program.write_text(block.text)
    result = subprocess.run([sys.executable, program.name], cwd=folder, env=environment(folder),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{block.id} failed:\n{block.text}\n{result.stderr[-4000:]}"
    return result


@pytest.mark.parametrize("block", RUN_ALONE, ids=ids(RUN_ALONE))
def test_block_runs(block, folder):
    if block.kind == "sh":
        run_sh(block, folder)
    else:
        run_python(block, folder)


# --------------------------------------------------------------------------- checking


@pytest.mark.parametrize("block", CHECKED, ids=ids(CHECKED))
def test_prolog_block_is_valid(block, folder):
    first = block.text.splitlines()[0] if block.text.strip() else ""
    excerpt = EXCERPT.match(first)
    if excerpt:
        source = (REPO / excerpt.group(1)).read_text().splitlines()
        for line in block.text.splitlines()[1:]:
            assert not line.strip() or line in source, f"{block.id}: not a line of {excerpt.group(1)}: {line}"
        return
    if "examples" in block.options or "queries" in block.options:
        from neuralogic_py.language.data import parse_examples, parse_queries

        parse = parse_examples if "examples" in block.options else parse_queries
        assert parse(block.text, file=block.id)
        return
    (folder / "block.rules").write_text(block.text)
    result = run_shell("nlp check block.rules", folder)
    assert result.returncode == 0, f"{block.id}: nlp check failed\n{result.stderr}"


def shown_pattern(text: str) -> re.Pattern[str]:
    """The regular expression of a shown output: ``...`` is any text; a line ``...`` any lines."""
    parts = []
    for line in text.splitlines():
        if line.strip() == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*".join(re.escape(piece) for piece in line.rstrip().split("...")) + r"[ \t]*\n")
    return re.compile("".join(parts))


@pytest.mark.parametrize("block", OUTPUTS, ids=[f"{preceding(b).id if preceding(b) else b.document}, output {b.number}"
                                             for b in OUTPUTS])
def test_shown_output_is_what_the_command_prints(block, folder):
    source = preceding(block)
    assert source is not None, f"{block.id}: an output block must follow an sh or python block"
    result = run_sh(source, folder) if source.kind == "sh" else run_python(source, folder)
    printed = result.stdout if result.returncode == 0 else result.stderr
    assert shown_pattern(block.text).fullmatch(printed.rstrip("\n") + "\n"), \
        f"{block.id}: the shown output is not what it prints:\n{printed}"


def test_shown_pattern():
    pattern = shown_pattern("a: 1.0 s (...)\n...\nend\n")
    assert pattern.fullmatch("a: 1.0 s (x; y)\nb\nc\nend\n")
    assert pattern.fullmatch("a: 1.0 s ()\nend\n")
    assert not pattern.fullmatch("a: 2.0 s (x)\nend\n")
    assert not pattern.fullmatch("a: 1.0 s (x)\nend\nmore\n")


# --------------------------------------------------------------------------- coverage of the docs


def test_every_block_is_run_or_classified():
    """Every block says what it is: a block with no info string or an unknown one would escape the tests."""
    unknown = [b.id for b in BLOCKS if b.kind not in KINDS or not set(b.options) <= KINDS[b.kind]]
    assert not unknown, f"give these blocks an info string of {sorted(KINDS)} (see this module's docstring): {unknown}"
    for block in BLOCKS:
        if block.kind == "sh" and "exit" in block.options:
            assert block.options["exit"].isdigit(), block.id


def test_the_docs_show_commands_and_programs():
    documents = {b.document for b in RUN}
    assert {"README.md", "docs/cli.md", "docs/dsl.md", "docs/learning.md"} <= documents
    assert sum(len(commands(b)) for b in RUN if b.kind == "sh") >= 20
    assert {"sh", "python"} == {b.kind for b in RUN}
    assert OUTPUTS and CHECKED


def test_commands_skip_installing_and_the_test_suite():
    block = Block("x.md", 1, "sh", "pip install . && nlp train datasets/carbonyl\npip install '.[test]' && "
                                    "python -m pytest\nnlp check a \\\n  b\n")
    assert commands(block) == ["nlp train datasets/carbonyl", "nlp check a b"]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_second():
    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    found = [b.strip() for _, b in FENCE.findall(setup)]
    assert len(found) == 2 and all("\n" not in c for c in found)
    install_and_run, test = found
    assert install_and_run.startswith("pip install . && nlp ")
    assert test.startswith("pip install '.[test]' && ")
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    assert "export NLP_REQUIRE_SHARED=1" in ci

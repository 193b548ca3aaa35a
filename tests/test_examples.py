"""The docs' examples are run: every `nlp ...` command in a code block of README.md or docs/*.md.

Commands run from the repository root with ``python -m neuralogic_py`` in place of
``nlp`` (the same code as the installed script) and must exit 0; ``nlp draw`` to SVG or PNG
skips without Graphviz's ``dot`` (``.ci/run`` installs it). A documented
output block that follows its command must equal what the command prints.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks(path: Path) -> list[str]:
    return FENCE.findall(path.read_text())


def nlp_commands(block: str) -> list[str]:
    """The ``nlp ...`` commands of a block, including those after ``&&`` (``pip install . && nlp check ...``)."""
    out = []
    for line in block.splitlines():
        for part in line.split("&&"):
            part = part.strip()
            if part.startswith("nlp "):
                out.append(part)
    return out


COMMANDS = [(path.relative_to(REPO).as_posix(), command)
            for path in DOCS for block in code_blocks(path) for command in nlp_commands(block)]


def run(command: str) -> subprocess.CompletedProcess:
    argv = shlex.split(command)
    return subprocess.run([sys.executable, "-m", "neuralogic_py", *argv[1:]], cwd=REPO,
                          capture_output=True, text=True, timeout=300)


def test_the_docs_show_commands():
    documents = {doc for doc, _ in COMMANDS}
    assert {"README.md", "docs/cli.md"} <= documents
    assert len(COMMANDS) >= 8


@pytest.mark.parametrize("document, command", COMMANDS, ids=[f"{d}: {c}" for d, c in COMMANDS])
def test_documented_command_runs(document, command):
    if re.search(r"\.(svg|png)\b|--format (svg|png)", command) and command.startswith("nlp draw") \
            and shutil.which("dot") is None:
        pytest.skip("needs Graphviz's dot program (Debian package graphviz)")
    result = run(command)
    assert result.returncode == 0, f"{document}: `{command}` exited {result.returncode}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stdout.strip()


def test_documented_output_is_what_the_command_prints():
    """docs/cli.md shows the summary of datasets/molecules: it must be the real one."""
    blocks = code_blocks(REPO / "docs" / "cli.md")
    shown = next(b for b in blocks if b.startswith("template datasets/molecules/template.txt"))
    assert run("nlp check datasets/molecules").stdout == shown


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_second():
    readme = (REPO / "README.md").read_text()
    setup = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = [block.strip() for block in FENCE.findall(setup)]
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    install_and_run, test = commands
    assert install_and_run.startswith("pip install . && nlp ")
    assert test.startswith("pip install '.[test]' && ")
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci.splitlines()
    assert "export NLP_REQUIRE_SHARED=1" in ci

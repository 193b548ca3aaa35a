"""What a plain (non-editable) `pip install .` ships: every subpackage and the grammar."""

from __future__ import annotations

import pytest
from conftest import REPO

tomllib = pytest.importorskip("tomllib")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_subpackage_is_listed():
    """pyproject lists packages by name (the grammar needs a package-dir mapping), so a new one must be added."""
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = {init.parent.relative_to(REPO).as_posix().replace("/", ".")
             for init in (REPO / "neuralogic_py").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"


def test_grammar_ships_as_package_data():
    setuptools = pyproject()["tool"]["setuptools"]
    assert setuptools["package-dir"]["neuralogic_py.grammars"] == "grammars"
    assert "*.lark" in setuptools["package-data"]["neuralogic_py.grammars"]
    assert (REPO / "grammars" / "neuralogic.lark").is_file()


def test_console_script_and_runtime_dependencies():
    project = pyproject()["project"]
    assert project["scripts"]["nlp"] == "neuralogic_py.cli:main"
    names = sorted(dep.split(">")[0].split("=")[0].split("<")[0].strip() for dep in project["dependencies"])
    assert names == ["lark", "numba", "numpy", "scipy", "tqdm"]
    assert {"pytest", "hypothesis"} <= {d.split(">")[0].strip() for d in project["optional-dependencies"]["test"]}

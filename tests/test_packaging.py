"""What a plain (non-editable) `pip install .` ships: every subpackage, the grammar, the templates and datasets.

pyproject.toml is read with tomllib (Python 3.11+) or tomli (the test extra installs it on 3.10).
A wheel is built from a copy of the tree (nothing is written into the tree) and its content
checked; the wheel, unpacked, runs the bundled data by name from an empty folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the test extra's tomli is the same parser
    tomllib = pytest.importorskip("tomli", reason="install the test extra: pip install '.[test]' (tomli on 3.10)")

SOURCE_PARTS = ("pyproject.toml", "README.md", "neuralogic_py", "grammars", "templates", "datasets")


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_every_subpackage_is_listed():
    """pyproject lists packages by name (the grammar needs a package-dir mapping), so a new one must be added."""
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = {init.parent.relative_to(REPO).as_posix().replace("/", ".")
             for init in (REPO / "neuralogic_py").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"


def test_grammar_templates_and_datasets_ship_as_package_data():
    setuptools = pyproject()["tool"]["setuptools"]
    mapping = {"neuralogic_py.grammars": "grammars", "neuralogic_py.data.templates": "templates",
               "neuralogic_py.data.datasets": "datasets"}
    for package, folder in mapping.items():
        assert setuptools["package-dir"][package] == folder
        assert package in setuptools["packages"]
        assert setuptools["package-data"][package]
    assert (REPO / "grammars" / "neuralogic.lark").is_file()


def test_console_script_and_runtime_dependencies():
    project = pyproject()["project"]
    assert project["scripts"]["nlp"] == "neuralogic_py.cli:main"
    names = sorted(dep.split(">")[0].split("=")[0].split("<")[0].strip() for dep in project["dependencies"])
    assert names == ["lark", "numba", "numpy", "scipy", "tqdm"]
    test_extra = {d.split(">")[0].split(";")[0].strip() for d in project["optional-dependencies"]["test"]}
    assert {"pytest", "hypothesis", "scikit-learn", "tomli"} <= test_extra


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built by pip from a copy of the tree (without build isolation: no network)."""
    pytest.importorskip("setuptools", reason="building a wheel needs setuptools (the test extra has it)")
    root = tmp_path_factory.mktemp("source")
    for part in SOURCE_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, root / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, root / part)
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(out), str(root)], capture_output=True, text=True, timeout=600)
    if built.returncode != 0 and "No module named" in built.stderr:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip().splitlines()[-1]}")
    assert built.returncode == 0, built.stderr
    (found,) = out.glob("neuralogic_py-*.whl")
    return found


def test_wheel_holds_every_module_the_grammar_templates_and_datasets(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "neuralogic_py").rglob("*.py")}
    assert modules <= names
    assert "neuralogic_py/grammars/neuralogic.lark" in names
    for folder in ("templates", "datasets"):
        files = {p.relative_to(REPO).as_posix() for p in (REPO / folder).rglob("*")
                 if p.is_file() and "__pycache__" not in p.parts}
        assert files, folder
        assert {f"neuralogic_py/data/{f}" for f in files} <= names, f"{folder}/ is not shipped whole"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "nlp = neuralogic_py.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_unpacked_wheel_runs_bundled_data_by_name_from_an_empty_folder(wheel, tmp_path):
    """Installed, the templates and datasets are the package's: `nlp check carbonyl` anywhere."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    for argv, shown in [(["check", "carbonyl"], "160 examples paired by order"),
                        (["check", "datasets/family"], "1 knowledge base with 16 queries"),
                        (["check", "gnn", "molecules"], "6 examples paired by order"),
                        (["datasets"], "xor_vector")]:
        result = subprocess.run([sys.executable, "-m", "neuralogic_py", *argv], cwd=empty, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert shown in result.stdout
        assert str(site / "neuralogic_py" / "data") in result.stdout + result.stderr  # the wheel's, not the tree's
    assert not any(empty.iterdir())

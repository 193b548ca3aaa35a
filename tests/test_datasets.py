"""The bundled templates and datasets: the loader, bundled names on the command line, ``nlp datasets``;
and the package's lazily imported top-level names."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import REPO

from neuralogic_py import cli, datasets
from neuralogic_py.errors import SourceError
from neuralogic_py.learn.dataset import Dataset

DATASETS = sorted(d.name for d in (REPO / "datasets").iterdir() if d.is_dir() and d.name != "__pycache__")
SOURCES = [name for name in DATASETS if any((REPO / "datasets" / name).glob("*[eE]xamples.txt"))]
"""The datasets laid out as sources directories (the others are graph folders to convert)."""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_names_are_the_folders_of_the_checkout():
    assert datasets.root() == REPO
    assert datasets.names() == DATASETS
    assert datasets.template_names() == sorted(p.stem for p in (REPO / "templates").glob("*.rules"))


@pytest.mark.parametrize("name", SOURCES)
def test_load_reads_what_the_path_reads(name):
    """Oracle: Dataset.load on the folder's path (its training split)."""
    loaded, by_path = datasets.load(name), Dataset.load(REPO / "datasets" / name)
    assert loaded.examples == by_path.examples and loaded.query_lines == by_path.query_lines
    assert loaded.examples or loaded.query_lines


def test_splits_templates_and_errors():
    assert len(datasets.load("carbonyl").examples) == 160 and len(datasets.load("carbonyl", "test").examples) == 80
    assert datasets.splits("carbonyl") == ["train", "test"] and datasets.splits("xor") == ["train"]
    assert datasets.template("carbonyl") == REPO / "datasets" / "carbonyl" / "template.txt"
    assert datasets.template("xor") == REPO / "templates" / "xor.rules"
    assert datasets.template_path("gnn.rules") == datasets.template_path("gnn") == REPO / "templates" / "gnn.rules"
    with pytest.raises(SourceError, match="no test split") as e:
        datasets.load("xor", "test")
    assert "its splits: train" in str(e.value)
    with pytest.raises(SourceError, match="no bundled dataset named 'carbonil'") as e:
        datasets.path("carbonil")
    assert "carbonyl" in str(e.value)
    with pytest.raises(SourceError, match="unknown split"):
        datasets.load("xor", "validation")
    with pytest.raises(SourceError, match="no bundled template named 'gnm'"):
        datasets.template_path("gnm")


def test_find_takes_bundled_items_only_for_paths_that_do_not_exist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bundled = REPO / "datasets"
    assert datasets.find("carbonyl").path == bundled / "carbonyl"
    assert datasets.find("datasets/carbonyl").path == bundled / "carbonyl"
    assert datasets.find("datasets/xor/examples").path == bundled / "xor" / "examples.txt"
    assert datasets.find("templates/gnn").path == REPO / "templates" / "gnn.rules"
    assert (datasets.find("xor", "template").kind, datasets.find("xor", "data").kind) == ("template", "dataset")
    assert datasets.find("gnn", "data").kind == "template"  # no dataset of that name
    for nothing in ("nothing", "datasets/nothing", "elsewhere/carbonyl", "../datasets/carbonyl",
                    str(tmp_path / "carbonyl")):
        assert datasets.find(nothing) is None, nothing
    (tmp_path / "carbonyl.txt").write_text("")  # a path that exists (as NeuraLogic's .txt retry finds it) wins
    assert datasets.find("carbonyl") is None


def test_commands_take_bundled_names_and_say_so(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", "carbonyl")
    assert code == 0 and "160 examples paired by order with 160 query lines" in out
    assert err == f"note: using the bundled dataset carbonyl from {REPO} (there is no 'carbonyl' here)\n"
    code, out, err = run(capsys, "check", "xor")
    assert code == 0 and "4 labelled examples" in out
    assert err.startswith("note: using the bundled dataset xor and template xor from")
    code, out, err = run(capsys, "check", "templates/gnn.rules", "datasets/molecules")
    assert code == 0 and out.startswith(f"template {REPO / 'templates' / 'gnn.rules'}\n")
    assert err == (f"note: using the bundled template gnn and dataset molecules from {REPO} "
                   "(there is no 'templates/gnn.rules' or 'datasets/molecules' here)\n")
    assert not any(tmp_path.iterdir())


def test_a_path_that_exists_is_never_replaced(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copytree(REPO / "datasets" / "xor", tmp_path / "carbonyl")
    shutil.copy(REPO / "templates" / "xor.rules", tmp_path / "carbonyl" / "template.txt")
    code, out, err = run(capsys, "check", "carbonyl")
    assert code == 0 and "4 labelled examples" in out and "note" not in err


def test_a_train_that_fails_before_its_work_leaves_no_empty_folders(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "no-such-data")
    assert code == 2 and "not found: no-such-data" in err
    code, _, err = run(capsys, "train", "no-such-data", "--out", "a/b/c")
    assert code == 2
    (tmp_path / "kept").mkdir()
    assert run(capsys, "train", "no-such-data", "--out", "kept/run")[0] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and not any((tmp_path / "kept").iterdir())


def test_nlp_datasets_lists_each_with_the_pairing_nlp_check_reports(capsys):
    code, out, _ = run(capsys, "datasets")
    assert code == 0
    lines = out.splitlines()
    listed = [line.split()[0] for line in lines[1:-1]]
    assert listed == DATASETS
    assert lines[-1].endswith(", ".join(datasets.template_names()))
    for line in lines[1:-1]:
        name = line.split()[0]
        if name not in SOURCES:
            assert "a TU Dortmund graph folder" in line and f"nlp convert tu datasets/{name} OUT" in line
            continue
        check = run(capsys, "check", str(REPO / "datasets" / name))[1] if datasets.has_template(name) else \
            run(capsys, "check", str(datasets.template(name)), str(REPO / "datasets" / name))[1]
        pairing = line.split(None, 1)[1].split(";")[0]
        assert f"  {pairing}\n" in check, (name, pairing)


def test_top_level_names_are_imported_on_first_use_only():
    """``nlp --help`` imports no model or DSL module; the names are the modules' own objects; dir() lists them."""
    probe = ("import sys; import neuralogic_py.cli as c; c.main(['--help']); "
             "print(sorted(m for m in ('neuralogic_py.learn.model', 'neuralogic_py.language.dsl', "
             "'neuralogic_py.learn.dataset', 'numpy') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]"
    import neuralogic_py
    from neuralogic_py import C, Dataset as TopDataset, Model, R, V
    from neuralogic_py.language import dsl
    from neuralogic_py.learn.model import Model as LearnModel

    assert (Model, TopDataset, R, V, C) == (LearnModel, Dataset, dsl.R, dsl.V, dsl.C)
    assert {"Model", "Dataset", "R", "V", "C", "TemplateBuilder", "Example"} <= set(dir(neuralogic_py))
    assert set(neuralogic_py.__all__) <= set(dir(neuralogic_py))
    with pytest.raises(AttributeError, match="no attribute 'Modle'"):
        neuralogic_py.Modle


def test_python_callers_are_told_where_the_bundled_copy_is(tmp_path, monkeypatch):
    """The Python API reads paths as given; a repository path that is not here gets a hint to the bundled copy."""
    from neuralogic_py import Model

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SourceError, match="file not found: templates/gnn.rules") as e:
        Model("templates/gnn.rules")
    assert e.value.hint == f"the bundled template gnn is at {REPO / 'templates' / 'gnn.rules'} (see neuralogic_py.datasets)"
    with pytest.raises(SourceError, match="data not found: datasets/carbonyl") as e:
        Dataset.load("datasets/carbonyl")
    assert str(REPO / "datasets" / "carbonyl") in e.value.hint
    with pytest.raises(SourceError) as e:
        Dataset.load("elsewhere")
    assert e.value.hint is None


def test_a_mistyped_name_gets_the_closest_bundled_one(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "train", "carbonil")
    assert code == 2 and "did you mean the bundled dataset carbonyl? (nlp datasets lists them)" in err
    assert datasets.nearest("templates/gnm.rules") == "template gnn"
    assert datasets.nearest("datasets/molecule") == "dataset molecules"
    assert datasets.nearest("zzz") is None and datasets.nearest("a/b/c") is None
    assert not any(tmp_path.iterdir())

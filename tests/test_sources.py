"""Resolving what the user points at into files (NeuraLogic's -sd layout, folds, .txt retry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from neuralogic_py.errors import SourceError
from neuralogic_py.language import ir
from neuralogic_py.language.sources import Split, load_sources, load_split

TEMPLATE = "q :- {1} f(X).\n"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_directory_with_template_examples_and_queries(tmp_path):
    write(tmp_path, {"template.txt": TEMPLATE, "examples.txt": "f(a).\n", "queries.txt": "1.0 q.\n"})
    s = load_sources(None, tmp_path)
    assert s.template == (tmp_path / "template.txt",)
    assert s.train == Split(tmp_path / "examples.txt", tmp_path / "queries.txt")
    assert not s.val and not s.test and s.folds == ()
    assert s.directory == tmp_path


def test_reference_names_win_over_fallbacks(tmp_path):
    write(tmp_path, {"templates/template.txt": TEMPLATE, "trainExamples.txt": "f(a).", "examples.txt": "f(b).",
                     "trainQueries.txt": "1 q.", "queries.txt": "0 q.", "valExamples.txt": "f(c).",
                     "valQueries.txt": "1 q.", "testExamples.txt": "f(d).", "testQueries.txt": "0 q."})
    s = load_sources(None, tmp_path)
    assert s.template == (tmp_path / "templates" / "template.txt",)
    assert s.train == Split(tmp_path / "trainExamples.txt", tmp_path / "trainQueries.txt")
    assert s.val == Split(tmp_path / "valExamples.txt", tmp_path / "valQueries.txt")
    assert s.test == Split(tmp_path / "testExamples.txt", tmp_path / "testQueries.txt")
    assert [role for role, _ in s.splits()] == ["train", "val", "test"]


def test_a_lone_directory_given_as_template_is_a_sources_directory(tmp_path):
    write(tmp_path, {"template.txt": TEMPLATE, "examples.txt": "f(a)."})
    s = load_sources(tmp_path, None)
    assert s.template == (tmp_path / "template.txt",)
    assert s.train.examples == tmp_path / "examples.txt"


def test_folds_inherit_the_parent_template_unless_they_have_their_own(tmp_path):
    write(tmp_path, {"template.txt": TEMPLATE,
                     "fold_10/trainExamples.txt": "f(a).", "fold_10/testExamples.txt": "f(b).",
                     "fold_2/examples.txt": "f(c).", "fold_2/template.txt": TEMPLATE,
                     "other/examples.txt": "f(d)."})
    s = load_sources(None, tmp_path)
    assert [f.name for f in s.folds] == ["fold_2", "fold_10"]  # natural order, other/ is no fold
    fold2, fold10 = s.folds
    assert fold2.template == (tmp_path / "fold_2" / "template.txt",)
    assert fold10.template == (tmp_path / "template.txt",)
    assert fold10.train.examples == tmp_path / "fold_10" / "trainExamples.txt"
    assert fold10.test.examples == tmp_path / "fold_10" / "testExamples.txt"
    assert not s.train  # the top directory has only folds
    assert s.has_data


def test_explicit_template_replaces_the_directory_template_but_not_a_folds_own(tmp_path):
    write(tmp_path, {"template.txt": TEMPLATE, "mine.rules": TEMPLATE, "examples.txt": "f(a).",
                     "fold_0/examples.txt": "f(a).", "fold_1/examples.txt": "f(a).", "fold_1/template.txt": TEMPLATE})
    s = load_sources(tmp_path / "mine.rules", tmp_path)
    assert s.template == (tmp_path / "mine.rules",)
    assert s.folds[0].template == (tmp_path / "mine.rules",)
    assert s.folds[1].template == (tmp_path / "fold_1" / "template.txt",)


def test_a_missing_path_is_retried_with_txt_and_rules(tmp_path):
    write(tmp_path, {"t.rules": TEMPLATE, "data.txt": "f(a).", "q.txt": "1 q."})
    s = load_sources(tmp_path / "t", tmp_path / "data", tmp_path / "q")
    assert s.template == (tmp_path / "t.rules",)
    assert s.train == Split(tmp_path / "data.txt", tmp_path / "q.txt")


def test_queries_option_replaces_the_directory_queries(tmp_path):
    write(tmp_path, {"template.txt": TEMPLATE, "examples.txt": "f(a).", "queries.txt": "1 q.",
                     "other.txt": "0 q."})
    s = load_sources(None, tmp_path, tmp_path / "other.txt")
    assert s.train == Split(tmp_path / "examples.txt", tmp_path / "other.txt")


def test_several_templates_are_kept_in_order(tmp_path):
    write(tmp_path, {"a.rules": TEMPLATE, "b.rules": "f(x).\n"})
    s = load_sources([tmp_path / "b.rules", tmp_path / "a.rules"], None)
    assert s.template == (tmp_path / "b.rules", tmp_path / "a.rules")
    assert not s.has_data


def test_missing_template_names_every_path_tried(tmp_path):
    with pytest.raises(SourceError) as e:
        load_sources(tmp_path / "nope", None)
    message = e.value.message
    assert "template not found" in message and "nope.txt" in message and "nope.rules" in message


def test_directory_without_data_lists_what_was_looked_for(tmp_path):
    write(tmp_path, {"template.txt": TEMPLATE, "notes.md": "x"})
    with pytest.raises(SourceError) as e:
        load_sources(None, tmp_path)
    for name in ("trainExamples.txt", "examples.txt", "trainQueries.txt", "queries.txt", "valExamples.txt",
                 "testQueries.txt", "fold_*"):
        assert name in e.value.message


def test_directory_without_template_asks_for_one(tmp_path):
    write(tmp_path, {"examples.txt": "f(a)."})
    with pytest.raises(SourceError) as e:
        load_sources(None, tmp_path)
    assert "no template" in e.value.message and "template.txt" in e.value.message
    assert e.value.hint and "first argument" in e.value.hint


def test_data_file_without_template_is_an_error(tmp_path):
    write(tmp_path, {"examples.txt": "f(a)."})
    with pytest.raises(SourceError, match="no template"):
        load_sources(None, tmp_path / "examples.txt")


def test_template_directory_without_template_file(tmp_path):
    write(tmp_path, {"empty/readme.md": "x", "examples.txt": "f(a)."})
    with pytest.raises(SourceError, match="no template in directory"):
        load_sources(tmp_path / "empty", tmp_path / "examples.txt")


def test_queries_must_be_a_file(tmp_path):
    write(tmp_path, {"t.rules": TEMPLATE, "dir/x": ""})
    with pytest.raises(SourceError, match="must be a file"):
        load_sources(tmp_path / "t.rules", None, tmp_path / "dir")


def test_load_split_reads_examples_and_queries(tmp_path):
    write(tmp_path, {"template.txt": TEMPLATE, "examples.txt": "f(a).\nf(b), f(c).\n", "queries.txt": "1 q.\n0 q.\n"})
    data = load_split(load_sources(None, tmp_path).train)
    assert len(data.examples) == 2 and len(data.examples[1].facts) == 2
    assert [str(line) for line in data.query_lines] == ["1.0 q.", "0.0 q."]
    assert data.examples[0].facts[0].atom == ir.Atom("f", (ir.Constant("a"),))

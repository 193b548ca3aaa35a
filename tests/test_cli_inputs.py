"""`nlp train TEMPLATE DATAFILE` on every data layout: queries found beside the examples, arguments in
the wrong order, data without queries and queries no rule derives, each said in a line or two."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, require_shared

from neuralogic_py import cli
from neuralogic_py.errors import GroundingError
from neuralogic_py.language.sources import companion_queries
from neuralogic_py.learn.dataset import Dataset
from neuralogic_py.learn.model import Model


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def bundled(tmp_path: Path, monkeypatch) -> None:
    """Work in ``tmp_path`` with the repository's templates/ and datasets/ copied in, as a user's checkout."""
    for folder in ("templates", "datasets"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    monkeypatch.chdir(tmp_path)


# --------------------------------------------------------------------------- the single-file form


@pytest.mark.parametrize("template, data, queries, samples", [
    ("templates/xor.rules", "datasets/xor/examples.txt", None, 4),  # labelled examples
    ("templates/xor_vector.rules", "datasets/xor_vector/examples.txt", "queries.txt", 4),
    ("templates/gnn.rules", "datasets/molecules/trainExamples.txt", "trainQueries.txt", 6),
    ("datasets/family/template.txt", "datasets/family/examples.txt", "queries.txt", 16),  # a knowledge base
    ("datasets/carbonyl/template.txt", "datasets/carbonyl/trainExamples.txt", "trainQueries.txt", 160),
])
def test_every_bundled_layout_trains_from_its_examples_file(capsys, tmp_path, monkeypatch, template, data, queries,
                                                            samples):
    bundled(tmp_path, monkeypatch)
    code, out, err = run(capsys, "train", template, data, "--epochs", "2", "--out", "alone")
    assert code == 0, err
    folder = str(Path(data).parent)
    taken = f"queries: {folder}/{queries} (beside {Path(data).name}, whose examples carry no labels)"
    assert (taken in err.splitlines()) == (queries is not None)
    files = data if queries is None else f"{data}, {folder}/{queries}"
    assert out.splitlines()[0] == f"data: {samples} training samples ({files})"
    if queries is not None:  # the same run as with the queries named
        code, _, err = run(capsys, "train", template, data, "--queries", f"{folder}/{queries}", "--epochs", "2",
                           "--out", "named")
        assert code == 0 and "queries:" not in err
        assert Path("alone/predictions/train.tsv").read_text() == Path("named/predictions/train.tsv").read_text()


def test_test_predict_and_check_take_the_queries_beside_too(capsys, tmp_path, monkeypatch):
    bundled(tmp_path, monkeypatch)
    assert run(capsys, "train", "templates/gnn.rules", "datasets/molecules", "--epochs", "2", "--out", "m")[0] == 0
    code, out, err = run(capsys, "test", "m/model.json", "datasets/molecules/testExamples.txt")
    assert code == 0 and out.startswith("data: accuracy: ")
    assert "queries: datasets/molecules/testQueries.txt (beside testExamples.txt" in err
    code, out, _ = run(capsys, "test", "m/model.json", "datasets/molecules")
    assert code == 0 and out.splitlines()[1].startswith("test: accuracy: ")
    code, out, _ = run(capsys, "predict", "m/model.json", "datasets/molecules/trainExamples.txt")
    code_dir, out_dir, _ = run(capsys, "predict", "m/model.json", "datasets/molecules")
    assert code == code_dir == 0 and out == out_dir and len(json.loads(out)["outputs"]) == 6
    code, out, _ = run(capsys, "check", "templates/gnn.rules", "datasets/molecules/trainExamples.txt")
    assert code == 0 and "6 examples paired by order with 6 query lines" in out
    assert "train datasets/molecules/trainExamples.txt, datasets/molecules/trainQueries.txt" in out


def test_labelled_examples_do_not_take_a_queries_file_beside_them(capsys, tmp_path, monkeypatch):
    bundled(tmp_path, monkeypatch)
    Path("datasets/xor/queries.txt").write_text("1.0 xor.\n")  # would be an error if taken: labels + queries
    code, out, err = run(capsys, "train", "templates/xor.rules", "datasets/xor/examples.txt", "--epochs", "1")
    assert code == 0 and "queries:" not in err
    assert out.splitlines()[0] == "data: 4 training samples (datasets/xor/examples.txt)"


@pytest.mark.parametrize("examples, queries", [
    ("trainExamples.txt", ["trainQueries.txt", "queries.txt"]), ("examples.txt", ["queries.txt", "trainQueries.txt"]),
    ("testExamples.txt", ["testQueries.txt"]), ("valExamples.txt", ["valQueries.txt"]),
    ("mol_examples.txt", ["mol_queries.txt"]), ("EXAMPLES", ["QUERIES"]), ("examples.v2.txt", ["queries.v2.txt"]),
    ("data.txt", []),
])
def test_companion_queries_file_names(examples, queries):
    assert companion_queries(Path("d") / examples) == [Path("d") / name for name in queries]


def test_a_training_examples_file_pairs_with_either_training_queries_name(capsys, tmp_path, monkeypatch):
    bundled(tmp_path, monkeypatch)  # as a sources directory would: trainExamples.txt with queries.txt
    Path("datasets/molecules/trainQueries.txt").rename("datasets/molecules/queries.txt")
    code, out, err = run(capsys, "train", "templates/gnn.rules", "datasets/molecules/trainExamples.txt",
                         "--epochs", "1")
    assert code == 0
    assert "queries: datasets/molecules/queries.txt (beside trainExamples.txt, whose examples carry no labels)" in err


def test_shared_mutagenesis_and_nations_from_their_examples_files(capsys, tmp_path):
    mutagenesis = require_shared("datasets", "mutagenesis")
    gnn = require_shared("conformance") / "c11_mutagenesis_gnn" / "template.txt"
    code, out, err = run(capsys, "train", gnn, mutagenesis / "examples.txt", "--epochs", "1", "--out", tmp_path / "m")
    assert code == 0, err
    assert out.splitlines()[0].startswith("data: 188 training samples (")
    nations = require_shared("datasets", "kbs", "nations")
    triples = require_shared("conformance") / "c12_nations_triples" / "template.txt"
    code, out, err = run(capsys, "train", triples, nations / "examples.txt", "--epochs", "1", "--allow-underivable",
                         "--out", tmp_path / "n")
    assert code == 0, err
    # nations also asks predict(Nation, Attribute), which this template has no rule for: dropped, and said why
    assert "warning: dropped 806 underivable queries: predict(brazil, illiterates) in example 1;" in err
    assert "(no rule derives predict/2)" in err
    assert out.splitlines()[0].startswith("data: 4541 training samples (")


# --------------------------------------------------------------------------- what is wrong, in a line


def test_swapped_arguments_are_said_in_one_error(capsys, tmp_path, monkeypatch):
    bundled(tmp_path, monkeypatch)
    for command in ("train", "check", "predict"):
        code, out, err = run(capsys, command, "datasets/molecules/trainExamples.txt", "templates/gnn.rules")
        assert (code, out) == (cli.EXIT_ERROR, "")
        # (train shows its stage lines in a pipe too: the one that was reading)
        assert [line for line in err.splitlines() if not line.startswith("parsing ")] == [
            "error: datasets/molecules/trainExamples.txt is not a template but data: it has no rules, and its 6 "
            "statements are facts joined by commas, as in an examples file",
            f"    hint: the template comes first: nlp {command} templates/gnn.rules "
            "datasets/molecules/trainExamples.txt"]


def test_a_model_after_its_data_is_said_in_one_error(capsys, tmp_path, monkeypatch):
    bundled(tmp_path, monkeypatch)
    assert run(capsys, "train", "templates/gnn.rules", "datasets/molecules", "--epochs", "1", "--out", "m")[0] == 0
    for command, data in (("test", "datasets/molecules"), ("test", "datasets/molecules/trainExamples.txt"),
                          ("predict", "datasets/molecules/trainExamples.txt")):
        code, out, err = run(capsys, command, data, "m/model.json", "--no-progress")
        assert (code, out) == (cli.EXIT_ERROR, "")
        assert err.splitlines()[-1] == f"    hint: the model comes first: nlp {command} m/model.json {data}"
        assert len(err.splitlines()) == 2


def test_a_template_given_as_data_is_named(capsys, tmp_path, monkeypatch):
    bundled(tmp_path, monkeypatch)
    code, out, err = run(capsys, "train", "templates/gnn.rules", "templates/xor.rules")
    assert (code, out) == (cli.EXIT_ERROR, "")
    assert err.splitlines()[-2:] == ["error: templates/xor.rules is a template (5 rules), not data",
                                     "    hint: the template comes first, then the data: TEMPLATE DATA"]


def test_broken_data_is_still_a_positioned_syntax_error(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("q :- {1} a.\n")
    (tmp_path / "d.txt").write_text("1.0 q :- a(.\n")
    code, _, err = run(capsys, "train", tmp_path / "t.rules", tmp_path / "d.txt", "--no-progress")
    assert code == cli.EXIT_ERROR and "d.txt:1:" in err and "not data" not in err


def test_examples_without_labels_or_queries_say_what_is_missing_and_the_fix(capsys, tmp_path, monkeypatch):
    bundled(tmp_path, monkeypatch)
    shutil.copy("datasets/xor_vector/examples.txt", "examples.txt")
    code, out, err = run(capsys, "train", "templates/xor_vector.rules", "examples.txt", "--epochs", "1")
    assert (code, out) == (cli.EXIT_ERROR, "")
    assert err.splitlines()[-2:] == [
        "error: examples.txt holds 4 examples without labels and there is no queries file (no queries.txt or "
        "trainQueries.txt beside it): nothing to train on",
        "    hint: nlp train templates/xor_vector.rules examples.txt --queries QUERIES (line i of QUERIES: the target "
        "and query of example i, such as '1.0 predict.'), or label each example: '1.0 predict :- facts.'"]
    assert "no training samples" not in err
    Path("empty.txt").write_text("% nothing yet\n")
    code, _, err = run(capsys, "train", "templates/xor_vector.rules", "examples.txt", "--queries", "empty.txt")
    assert code == cli.EXIT_ERROR and "error: empty.txt holds no queries: nothing to train on" in err
    # the fix it names works
    shutil.copy("datasets/xor_vector/queries.txt", "targets.txt")
    assert run(capsys, "train", "templates/xor_vector.rules", "examples.txt", "--queries", "targets.txt",
               "--epochs", "1")[0] == 0
    assert run(capsys, "train", "templates/xor.rules", "datasets/xor", "--epochs", "1", "--out", "m")[0] == 0
    code, _, err = run(capsys, "test", "m/model.json", "examples.txt")
    assert code == cli.EXIT_ERROR and "nothing to evaluate" in err and "nlp test m/model.json examples.txt" in err


# --------------------------------------------------------------------------- queries no rule derives


def test_underivable_queries_name_the_inputs_the_data_lacks(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("h(X) :- {1} a(X).\nq :- {1} h(X).\nr :- {1} b(X).\n")
    (tmp_path / "e.txt").write_text("c(x).\nc(y).\n")
    (tmp_path / "q.txt").write_text("1.0 q.\n0.0 q.\n")
    for command in ("train", "predict"):
        code, out, err = run(capsys, command, tmp_path / "t.rules", tmp_path / "e.txt", "-q", tmp_path / "q.txt",
                             "--no-progress")
        assert (code, out) == (cli.EXIT_ERROR, "")
        # only the inputs of the rules the queries need: a/1, not b/1
        assert "error: 2 queries cannot be derived: q in example 1; q in example 2 (the rules need a/1, which no " \
               "rule, template fact or example provides; the examples have c/1)" in err
        assert err.splitlines()[-1] == "    hint: rename the template's input predicates to the data's, or add " \
                                       "rules that derive them, or give --allow-underivable to drop them"
        code, out, err = run(capsys, command, tmp_path / "t.rules", tmp_path / "e.txt", "-q", tmp_path / "q.txt",
                             "--no-progress", "--allow-underivable")
        assert (code, out) == (cli.EXIT_ERROR, "")
        assert "error: every query (2) was dropped as underivable, which leaves nothing: q in example 1" in err
        assert "the rules need a/1" in err and "no training samples" not in err
    # the Python API names its own option
    with pytest.raises(GroundingError) as raised:
        Model(tmp_path / "t.rules").fit(Dataset.load(tmp_path / "e.txt", tmp_path / "q.txt"), epochs=1)
    assert raised.value.hint.endswith("or pass allow_underivable=True to drop them")
    assert "--allow-underivable" not in str(raised.value)


def test_mutagenesis_with_the_bundled_gnn_says_which_inputs_are_missing(capsys, tmp_path):
    mutagenesis = require_shared("datasets", "mutagenesis")
    gnn = REPO / "templates" / "gnn.rules"
    assert run(capsys, "train", gnn, REPO / "datasets" / "molecules", "--epochs", "1", "--out", tmp_path)[0] == 0
    for argv in (["train", gnn, mutagenesis / "examples.txt", "--out", tmp_path / "t"],
                 ["predict", gnn, mutagenesis], ["test", tmp_path / "model.json", mutagenesis]):
        code, out, err = run(capsys, *argv, "--no-progress")
        assert (code, out) == (cli.EXIT_ERROR, ""), argv
        assert "error: 188 queries cannot be derived: predict in example 1;" in err
        assert "(the rules need c/1, n/1, o/1, h/1, cl/1, s/1 and 1 more, which no rule, template fact or example " \
               "provides; the examples have bond/3, h_3/1, c_22/1," in err
        assert "--allow-underivable" in err and "allow_underivable" not in err


def test_nci_with_the_bundled_gnn_says_which_inputs_are_missing(capsys, tmp_path):
    data = require_shared("datasets", "nci_gi50", "786_0", "examples.txt")
    code, _, err = run(capsys, "train", REPO / "templates" / "gnn.rules", data, "--out", tmp_path, "--no-progress")
    assert code == cli.EXIT_ERROR
    # (grounded in chunks of 1000 examples, the first of which stops it)
    assert "error: 880 queries of examples 1-1000 (a chunk of the set) cannot be derived: predict in example 1;" \
        in err
    assert "(the rules need c/1, n/1, o/1, h/1, s/1, which no rule, template fact or example provides; the " \
           "examples have bond/3, b_ar/1, c_ar/1," in err

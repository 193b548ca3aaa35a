"""`nlp predict`: outputs in query order, in the conformance expected.json shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO, require_shared

from neuralogic_py import cli


def run_main(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", ["c03_multi_rule_head", "c09_knowledge_base", "c11_mutagenesis_gnn"])
def test_predict_writes_the_expected_outputs(case, tmp_path, capsys):
    root = require_shared("conformance", case)
    out = tmp_path / "out.json"
    code, _, err = run_main(capsys, "predict", root / "template.txt", root / "examples.txt", "--queries",
                            root / "queries.txt", "--weights", root / "weights.json", "--output", out)
    assert (code, err) == (0, "")
    got = json.loads(out.read_text())
    assert list(got) == ["outputs"]
    expected = json.loads((root / "expected.json").read_text())["outputs"]
    np.testing.assert_allclose(got["outputs"], expected, rtol=1e-6, atol=1e-6)


def test_predict_on_a_sources_directory_prints_to_stdout(capsys):
    root = require_shared("conformance", "c02_vectors")
    code, out, _ = run_main(capsys, "predict", root / "template.txt", root, "--weights", root / "weights.json")
    assert code == 0
    expected = json.loads((root / "expected.json").read_text())["outputs"]
    np.testing.assert_allclose(json.loads(out)["outputs"], expected, rtol=1e-6, atol=1e-6)


def test_vector_outputs_are_flat_lists(tmp_path, capsys):
    (tmp_path / "t.rules").write_text("h :- [[1.0, 0.0], [0.0, 2.0]] f. [activation=identity]\n"
                                      "h/0 [activation=identity]\n")
    (tmp_path / "e.txt").write_text("<[1.0, 3.0]> f.\n")
    (tmp_path / "q.txt").write_text("h.\n")
    code, out, _ = run_main(capsys, "predict", tmp_path / "t.rules", tmp_path / "e.txt", "-q", tmp_path / "q.txt")
    assert code == 0 and json.loads(out) == {"outputs": [[1.0, 6.0]]}


def test_bad_weights_file_is_a_positioned_error(tmp_path, capsys):
    root = require_shared("conformance", "c01_scalar_avg")
    weights = tmp_path / "w.json"
    weights.write_text('{\n "w_f": [1.0, 2.0]\n}\n')
    code, out, err = run_main(capsys, "predict", root / "template.txt", root, "--weights", weights)
    assert code == 2 and out == ""
    assert "w.json:2:2: error: the value given for 'w_f' is a 2-vector, but 'w_f' is a scalar" in err
    assert "Traceback" not in err


def test_shape_error_exits_with_the_message(tmp_path):
    (tmp_path / "t.rules").write_text("h :- {3,2} f.\n")
    (tmp_path / "e.txt").write_text("<[1.0, 3.0, 4.0]> f.\n")
    (tmp_path / "q.txt").write_text("h.\n")
    done = subprocess.run([sys.executable, "-m", "neuralogic_py", "predict", "t.rules", "e.txt", "-q", "q.txt"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("t.rules:1:6: error: shape mismatch in rule 'h :- {3,2} f.'")
    assert "3x2 matrix" in done.stderr and "3-vector" in done.stderr and str(REPO) not in done.stderr


def test_help_shows_both_forms(capsys):
    code, out, _ = run_main(capsys, "predict", "--help")
    assert code == 0
    assert out.startswith("usage: nlp predict MODEL DATA [options]\n"
                          "       nlp predict TEMPLATE [DATA] [--weights WEIGHTS] [options]\n")
    assert "a model.json" in out and "nlp export-weights" in out


def test_exported_weights_read_back_give_the_models_outputs(capsys, tmp_path):
    template, data = REPO / "templates" / "gnn.rules", REPO / "datasets" / "molecules"
    assert run_main(capsys, "train", template, data, "--epochs", "5", "--out", tmp_path, "--no-progress")[0] == 0
    model = tmp_path / "model.json"
    code, out, err = run_main(capsys, "export-weights", model, tmp_path / "weights.json")
    assert (code, out, err) == (0, f"wrote {tmp_path / 'weights.json'}\n", "")
    weights = json.loads((tmp_path / "weights.json").read_text())
    parameters = json.loads(model.read_text())["parameters"]
    # docs/neural.md's format: name -> a number, a flat list (column), [[...]] (row) or rows (matrix)
    assert weights == {name: entry["value"] for name, entry in parameters.items()}
    assert isinstance(weights["rule1.head"], list) and len(weights["rule1.head"]) == 3  # {3,1}: a column
    assert len(weights["rule14.head"]) == 1 and len(weights["rule14.head"][0]) == 3  # {1,3}: a row
    assert [len(row) for row in weights["rule10.body1"]] == [3, 3, 3]  # {3,3}: rows
    assert run_main(capsys, "export-weights", model)[1] == (tmp_path / "weights.json").read_text()
    code, expected, _ = run_main(capsys, "predict", model, data)
    assert code == 0
    for given in (tmp_path / "weights.json", model):  # a weights file, or the model itself
        code, out, err = run_main(capsys, "predict", template, data, "--weights", given)
        assert (code, err) == (0, "") and json.loads(out) == json.loads(expected)
    shuffled = tmp_path / "other.json"  # the weights matter: other values, other outputs
    shuffled.write_text(json.dumps({name: np.negative(value).tolist() for name, value in weights.items()}))
    code, out, _ = run_main(capsys, "predict", template, data, "--weights", shuffled)
    assert code == 0 and json.loads(out) != json.loads(expected)

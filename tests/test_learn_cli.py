"""`nlp train`, `nlp test` and `nlp predict MODEL` end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from neuralogic_py import cli


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train_xor_vector(capsys, out: Path, *extra: str) -> tuple[int, str, str]:
    return run(capsys, "train", REPO / "templates" / "xor_vector.rules", REPO / "datasets" / "xor_vector",
               "--epochs", "150", "--lr", "0.05", "--batch-size", "1", "--loss", "mse", "--out", out, *extra)


def test_train_prints_the_summary_and_writes_model_predictions_results(capsys, tmp_path):
    code, out, err = train_xor_vector(capsys, tmp_path)
    assert code == 0
    # a stage line as each stage starts, with its size, then what it made (indented)
    assert [line.split(" ...")[0] for line in err.splitlines() if not line.startswith(" ")] == [
        "parsing templates/xor_vector.rules", "parsing datasets/xor_vector/examples.txt (209 bytes)",
        "parsing datasets/xor_vector/queries.txt (36 bytes)", "grounding 4 examples, 4 query lines",
        "neuralizing 4 samples", "lifting (structural)", "training 150 epochs of 4 samples in 4 batches of 1"]
    assert "  8 ground atoms, 4 samples (" in err and "  16 -> 12 neurons, 8 edges (" in err
    lines = out.splitlines()
    assert lines[0].startswith("data: 4 training samples (")
    assert re.match(r"trained adam lr 0\.05, 150 epochs, batch size 1, loss mse, classification, (fused|numpy) "
                    r"engine: ", lines[1])
    assert lines[2].startswith("kept the weights of epoch ")
    train_line = next(line for line in lines if line.startswith("train: "))
    assert train_line.startswith("train: accuracy: 100%, disp: ")
    assert "(best thresh acc: 100%), (maj. 50%), (AUC-ROC: 1), (AUC-PR: 1)" in train_line
    assert lines[-1].startswith("wrote ")
    model = tmp_path / "model.json"
    assert json.loads(model.read_text())["format"] == "neuralogic_py model"
    rows = (tmp_path / "predictions" / "train.tsv").read_text().splitlines()
    assert rows[0] == "id\tquery\ttarget\toutput\tscore" and len(rows) == 5
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["evaluations"]["train"]["accuracy"] == 1.0
    assert len(results["history"]["train_error"]) == 150

    # nlp test: the same metrics from the saved model
    code, out, err = run(capsys, "test", model, REPO / "datasets" / "xor_vector", "--no-progress")
    assert (code, err) == (0, "")
    assert out.strip() == train_line

    # nlp predict MODEL: the outputs written per sample, as {"outputs": [...]}
    code, out, err = run(capsys, "predict", model, REPO / "datasets" / "xor_vector")
    assert code == 0
    outputs = json.loads(out)["outputs"]
    assert outputs == [float(row.split("\t")[3]) for row in rows[1:]]


def test_loss_auto_uses_logits_and_keeps_them_after_loading(capsys, tmp_path):
    code, out, _ = train_xor_vector(capsys, tmp_path, "--loss", "auto")
    assert code == 0 and "loss bce_logits, classification, output activation identity" in out
    code, out, _ = run(capsys, "predict", tmp_path / "model.json", REPO / "datasets" / "xor_vector")
    outputs = json.loads(out)["outputs"]
    assert min(outputs) < 0 < max(outputs)  # logits, not probabilities


def test_train_with_test_split_and_validation_fraction(capsys, tmp_path):
    code, out, err = run(capsys, "train", REPO / "templates" / "gnn.rules", REPO / "datasets" / "molecules",
                         "--epochs", "10", "--lr", "0.01", "--val-fraction", "0.34", "--out", tmp_path)
    assert code == 0, err
    assert "lowest validation error" in out
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith(("train:", "val:", "test:"))] \
        == ["train", "val", "test"]
    assert {p.name for p in (tmp_path / "predictions").iterdir()} == {"train.tsv", "val.tsv", "test.tsv"}


def test_xval_prints_each_fold_and_the_summary(capsys, tmp_path):
    code, out, err = run(capsys, "train", REPO / "templates" / "gnn.rules", REPO / "datasets" / "molecules",
                         "--epochs", "3", "--xval", "3", "--out", tmp_path)
    assert code == 0, err
    lines = out.splitlines()
    assert "defaults for an example set: batch size 32, lr 0.01, loss mse" in err.splitlines()
    assert [line.split(":")[0] for line in lines[:3]] == ["fold 1", "fold 2", "fold 3"]
    assert lines[3] == "3-fold cross-validation (mean +- std over folds):"
    assert any(line.strip().startswith("accuracy  train ") for line in lines)
    results = json.loads((tmp_path / "results.json").read_text())
    assert len(results["folds"]) == 3 and "accuracy" in results["summary"]
    tested = sum(len((tmp_path / f"fold_{k}" / "predictions" / "test.tsv").read_text().splitlines()) - 1
                 for k in (1, 2, 3))
    assert tested == 6


def write_folds(root: Path, with_test: bool) -> None:
    cases = [("0.0", "0.0", "0.0"), ("1.0", "0.0", "1.0"), ("1.0", "1.0", "0.0"), ("0.0", "1.0", "1.0")]
    for k in range(1, 4):
        fold = root / f"fold_{k}"
        fold.mkdir(parents=True)
        text = "".join(f"{t} xor :- <{a}> a, <{b}> b.\n" for t, a, b in cases)
        (fold / "trainExamples.txt").write_text(text)
        if with_test:
            (fold / "testExamples.txt").write_text(text)


@pytest.mark.parametrize("with_test", [False, True])
def test_external_folds(capsys, tmp_path, with_test):
    write_folds(tmp_path / "data", with_test)
    code, out, err = run(capsys, "train", REPO / "templates" / "xor.rules", tmp_path / "data", "--epochs", "2",
                         "--out", tmp_path / "out")
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()[:3]] == ["fold_1", "fold_2", "fold_3"]
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [f["train"]["samples"] for f in results["folds"]] == ([4, 4, 4] if with_test else [8, 8, 8])
    code, _, err = run(capsys, "train", REPO / "templates" / "xor.rules", tmp_path / "data", "--xval", "5",
                       "--out", tmp_path / "out")
    assert code == 2 and "--xval 5 but" in err and "3 fold_* folders" in err


def test_nonfinite_values_stop_training_with_a_message(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("h(X) :- <1.0> a(X). [activation=log]\nout :- {1} h(X).\n")
    (tmp_path / "e.txt").write_text("1.0 out :- <-1.0> a(x).\n")
    code, _, err = run(capsys, "train", tmp_path / "t.rules", tmp_path / "e.txt", "--out", tmp_path / "o")
    assert code == 2 and "Traceback" not in err
    assert "training stopped in epoch 1, batch 1" in err and "the rule neuron of h(x) :- a(x)" in err


def test_test_and_predict_reject_files_that_are_not_models(capsys, tmp_path):
    code, _, err = run(capsys, "test", REPO / "templates" / "xor.rules", REPO / "datasets" / "xor")
    assert code == 2 and "is not a saved model" in err
    code, _, err = run(capsys, "test", tmp_path / "missing.json", REPO / "datasets" / "xor")
    assert code == 2 and "model not found" in err


def test_bad_training_options_are_usage_errors(capsys, tmp_path):
    code, _, err = run(capsys, "train", REPO / "templates" / "xor.rules", REPO / "datasets" / "xor",
                       "--epochs", "-1", "--out", tmp_path)
    assert code == 2 and "must not be negative" in err
    code, _, err = run(capsys, "train", REPO / "templates" / "xor.rules", REPO / "datasets" / "xor",
                       "--lr", "0", "--out", tmp_path)
    assert code == 2 and "argument --lr: must be a positive number, got 0" in err


def test_without_a_terminal_progress_lines_come_every_log_every_epochs(capsys, tmp_path):
    code, _, err = train_xor_vector(capsys, tmp_path, "--log-every", "30")
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert code == 0 and [line.split(":")[0] for line in lines] == [f"epoch {e}/150" for e in (30, 60, 90, 120, 150)]
    assert all(re.fullmatch(r"epoch \d+/150: train error \S+, lowest train error \S+, [\d.]+ s", line)
               for line in lines)


@pytest.mark.parametrize("data, line, trained", [
    ("family", "defaults for a knowledge base: full batch, lr 0.1, loss auto", "full batch, loss bce_logits"),
    ("xor", "defaults for an example set: batch size 32, lr 0.01, loss mse", "batch size 32, loss mse"),
])
def test_options_left_open_take_the_measured_defaults_of_the_kind_of_data(capsys, tmp_path, data, line, trained):
    template = [] if data == "family" else [REPO / "templates" / "xor.rules"]
    code, out, err = run(capsys, "train", *template, REPO / "datasets" / data, "--epochs", "3", "--out", tmp_path)
    assert code == 0 and line in err.splitlines()  # on stderr, with the progress
    assert out.splitlines()[1].startswith(f"trained adam lr {line.split('lr ')[1].split(',')[0]}, 3 epochs, {trained}")
    code, out, err = run(capsys, "train", *template, REPO / "datasets" / data, "--epochs", "3", "--batch-size", "1",
                         "--lr", "0.01", "--loss", "mse", "--out", tmp_path / "given")
    assert code == 0 and "defaults" not in err  # nothing left open: no defaults line


def test_the_data_line_comes_before_training_and_no_progress_silences_everything(tmp_path):
    argv = [sys.executable, "-m", "neuralogic_py", "train", REPO / "templates" / "xor.rules", REPO / "datasets" / "xor",
            "--epochs", "3", "--log-every", "1", "--out", tmp_path]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    merged = subprocess.run([str(a) for a in argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=tmp_path, timeout=300, stdin=subprocess.DEVNULL, env=env)
    lines = merged.stdout.splitlines()
    assert merged.returncode == 0
    starts = [next(i for i, line in enumerate(lines) if line.startswith(prefix))
              for prefix in ("defaults for", "grounding 4 examples", "data: 4 training samples", "training 3 epochs",
                             "epoch 1/3: ", "epoch 3/3: ", "trained adam")]
    assert starts == sorted(starts)
    quiet = subprocess.run([str(a) for a in argv + ["--no-progress"]], capture_output=True, text=True, cwd=tmp_path,
                           timeout=300, stdin=subprocess.DEVNULL, env=env)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.splitlines()[0] == lines[starts[2]]


@pytest.mark.parametrize("extra, trained", [
    (["--epochs", "1", "--batch-size", "0"], r"trained adam lr 0\.05, 1 epoch, full batch, loss mse, .* s "
                                             r"\(\d+\.\d ms/epoch; grounding and compiling "),
    (["--epochs", "0", "--batch-size", "1"], r"trained adam lr 0\.05, 0 epochs, batch size 1, loss mse, .* s "
                                             r"\(grounding and compiling "),
])
def test_summary_wording(capsys, tmp_path, extra, trained):
    code, out, _ = run(capsys, "train", REPO / "templates" / "xor_vector.rules", REPO / "datasets" / "xor_vector",
                       "--lr", "0.05", "--loss", "mse", "--out", tmp_path, "--no-progress", *extra)
    assert code == 0 and re.match(trained, out.splitlines()[1])


def test_softmax_crossentropy_on_scalar_targets_is_an_error_naming_the_fix(capsys, tmp_path):
    code, out, err = run(capsys, "train", REPO / "templates" / "xor_vector.rules", REPO / "datasets" / "xor_vector",
                         "--loss", "softmax_crossentropy", "--out", tmp_path, "--no-progress")
    assert (code, out) == (cli.EXIT_ERROR, "")
    assert err.splitlines() == [
        "error: softmax_crossentropy needs vector targets (one entry per class), but every target is a scalar, on "
        "which it is 0 whatever the output",
        "    hint: for scalar 0/1 targets use --loss bce_logits (or --loss auto)"]
    from neuralogic_py.errors import ValidationError
    from neuralogic_py.learn.model import Model

    with pytest.raises(ValidationError) as raised:  # the Python API names its own argument
        Model(REPO / "templates" / "xor_vector.rules", loss="softmax_crossentropy").fit(
            REPO / "datasets" / "xor_vector", epochs=1)
    assert raised.value.hint == "for scalar 0/1 targets use loss='bce_logits' (or 'auto')"

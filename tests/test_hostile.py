"""Hostile input: every case a positioned error (or a warning) and exit 2, never a traceback. Golden messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO

from neuralogic_py import cli

FIXTURE = REPO / "tests" / "fixtures" / "model_v1.json"  # written by `nlp train` of model format version 1
XOR = REPO / "datasets" / "xor"


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- saved models


def test_a_model_written_by_format_version_1_still_loads(capsys):
    code, out, err = run(capsys, "predict", FIXTURE, XOR)
    assert (code, err) == (0, "")
    assert json.loads(out)["outputs"] == [0.46704135912450134, 0.6434054705315493, 0.5174886083969501,
                                          0.3829720403435346]


def mutated(tmp_path: Path, change) -> Path:
    data = json.loads(FIXTURE.read_text())
    change(data)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data, indent=1))
    return path


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(version="1"), "model.json:3:2: error: version: expected an integer >= 1, got \"1\""),
    (lambda d: d.update(version=None), "model.json:3:2: error: version: expected an integer >= 1, got null"),
    (lambda d: d.update(version=2), "model.json:3:2: error: the model was saved by a newer version of neuralogic_py "
                                    "(model format 2; this version reads up to 1)"),
    (lambda d: d.update(settings=[1]), "model.json:5:2: error: settings: expected an object, got [1]"),
    (lambda d: d["settings"].update(atom_activation=5),
     "model.json:7:3: error: settings.atom_activation: expected a function name, got 5"),
    (lambda d: d["settings"].update(atom_activation="zzz"),
     "model.json:5:2: error: settings: unknown activation function 'zzz' for atom_activation"),
    (lambda d: d.update(seed=-1), "model.json:16:2: error: seed: expected an integer >= 0, got -1"),
    (lambda d: d.update(seed=-10 ** 400), "model.json:16:2: error: seed: expected an integer >= 0, got an integer "
                                          "of 401 digits"),
    (lambda d: d.update(parameters=[1, 2]), "model.json:30:2: error: parameters: expected an object, got [1, 2]"),
    (lambda d: d["parameters"].update(big={"shape": [100000, 100000], "value": 0}),
     "error: parameters.big.value: expected 10000000000 numbers for the shape [100000, 100000], got 1 number"),
    (lambda d: d["parameters"]["rule1.body1"].update(value="x"),
     "model.json:31:3: error: parameters.rule1.body1.value: expected a finite number or a list (of lists) of them, "
     "got \"x\""),
    (lambda d: d.update(loss="bogus"), "model.json:14:2: error: loss: expected one of mse, crossentropy, "
                                       "bce_logits, softmax_crossentropy, auto, got \"bogus\""),
    (lambda d: d.update(template="h :- "), "model.json (template):1:5: error: unexpected end of the file; "
                                           "expected a literal"),
])
def test_a_model_file_is_checked_against_its_schema(capsys, tmp_path, change, message):
    code, _, err = run(capsys, "test", mutated(tmp_path, change), XOR)
    assert code == cli.EXIT_ERROR
    assert message in err.splitlines()[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("content, message", [
    ('{"format": "neuralogic_py model", "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "model.json:1:1: error: the model file is nested too deeply to read"),
    ('{"format": "neuralogic_py model", "seed": ' + "9" * 5000 + "}",
     "model.json:1:43: error: the model file holds an integer of 5000 digits, too long to read"),
    ('{"format": "neuralogic_py model", "seed": 1,}',
     "model.json:1:45: error: the model file is not valid JSON: Expecting property name enclosed in double quotes"),
    (b'{"format": "neuralogic_py model", "template": "caf\xe9"}',
     "error: model.json is not UTF-8 text (invalid continuation byte at byte 50)"),
])
def test_a_broken_model_file_is_an_error(capsys, tmp_path, monkeypatch, content, message):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "model.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for command in ("test", "predict"):
        code, _, err = run(capsys, command, "model.json", XOR)
        assert code == cli.EXIT_ERROR and err.splitlines()[0] == message


def test_nlp_test_refuses_a_file_that_is_no_model(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("model.json").write_text("h :- a.\n")
    code, _, err = run(capsys, "test", "model.json", XOR)
    assert (code, err) == (cli.EXIT_ERROR, "error: model.json is not a saved model (not JSON)\n")


# --------------------------------------------------------------------------- weights files


def predict_with(capsys, tmp_path: Path, weights: str | bytes, *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "weights.json"
    path.write_bytes(weights if isinstance(weights, bytes) else weights.encode())
    return run(capsys, "predict", REPO / "templates" / "xor.rules", XOR, "--weights", path, *extra)


@pytest.mark.parametrize("weights, message", [
    ("[" * 100_000 + "]" * 100_000, "weights.json:1:1: error: the weights file is nested too deeply to read"),
    ('{"w": ' + "1" * 5000 + "}", "weights.json:1:7: error: the weights file holds an integer of 5000 digits, "
                                  "too long to read"),
    (b'{"caf\xe9": 1}', "error: weights.json is not UTF-8 text (invalid continuation byte at byte 5)"),
    ('{"rule1.body1": 1e999}', "weights.json:1:2: error: the value given for 'rule1.body1' is not finite"),
])
def test_a_broken_weights_file_is_an_error(capsys, tmp_path, monkeypatch, weights, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = predict_with(capsys, tmp_path, weights)
    assert code == cli.EXIT_ERROR and err.splitlines()[0] == message


WEIGHTS = {f"rule{r}.{p}": 0.5 for r in range(1, 5) for p in ("body1", "body2", "offset")} | \
    {"rule5.body1": 1.0, "rule5.body2": 1.0, "rule5.body3": 1.0, "rule5.body4": 1.0, "rule5.offset": 0.0}


def test_a_complete_weights_file_gives_no_warning(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = predict_with(capsys, tmp_path, json.dumps(WEIGHTS))
    assert (code, err) == (0, "")


@pytest.mark.parametrize("edit, message", [
    (lambda text: text.replace('"rule1.body1": 0.5', '"rule1.body1": true'),
     "weights.json:1:2: warning: the value of 'rule1.body1' is written as true/false; read as a number"),
    (lambda text: text.replace('"rule1.body1": 0.5', '"rule1.body1": "0.27"'),
     "weights.json:1:2: warning: the value of 'rule1.body1' is written as a string; read as a number"),
    (lambda text: text.replace('"rule1.body1": 0.5', '"rule1.body1": 0.5, "rule1.body1": 0.25'),
     "weights.json:1:22: warning: 'rule1.body1' is given 2 times; the last value counts"),
    (lambda text: text.replace('"rule1.body1": 0.5, ', ''),
     "weights.json:1:1: warning: the weights file gives no value for 1 weight written by shape only: rule1.body1"),
])
def test_questionable_weights_warn_and_strict_stops(capsys, tmp_path, monkeypatch, edit, message):
    monkeypatch.chdir(tmp_path)
    text = edit(json.dumps(WEIGHTS))
    code, out, err = predict_with(capsys, tmp_path, text)
    assert code == 0 and json.loads(out)["outputs"]
    assert err.splitlines()[0] == message
    code, out, err = predict_with(capsys, tmp_path, text, "--strict")
    assert code == cli.EXIT_STRICT and out == ""
    assert err.splitlines()[0] == message.replace(": warning: ", ": error: ")


# --------------------------------------------------------------------------- templates and data


def test_integer_constants_are_exact_up_to_4300_digits(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("q(X) :- {1} a(X), @gt(X, 0).\n")
    big = "9" * 4300
    (tmp_path / "d.txt").write_text(f"1.0 q({big}) :- a({big}).\n")
    code, out, err = run(capsys, "query", tmp_path / "t.rules", tmp_path / "d.txt", "q(X)")
    assert (code, out, err) == (0, f"X={big}\n", "")
    (tmp_path / "d.txt").write_text(f"1.0 q(1{big}) :- a(1{big}).\n")
    code, _, err = run(capsys, "check", tmp_path / "t.rules", tmp_path / "d.txt")
    assert code == cli.EXIT_ERROR
    lines = err.splitlines()
    assert lines[0] == f"{tmp_path}/d.txt:1:7: error: an integer constant of 4301 digits is too long " \
                       "(at most 4300 digits)"
    assert lines[1] == f"    1.0 q(1{big}"[:104] + "..."  # the line cut around the place
    (tmp_path / "t.rules").write_text(f"q(X) :- {{1}} a(X), b(X).\nb(1{big}).\n")
    code, _, err = run(capsys, "check", tmp_path / "t.rules")
    assert err.splitlines()[0] == f"{tmp_path}/t.rules:2:3: error: an integer constant of 4301 digits is too " \
                                  "long (at most 4300 digits)"


def test_an_import_chain_too_deep_is_an_error(capsys, tmp_path):
    for i in range(150):
        (tmp_path / f"f{i}.rules").write_text(f"import ./f{i + 1}.rules\nq{i} :- {{1}} a.\n")
    (tmp_path / "f150.rules").write_text("q :- {1} a.\n")
    code, _, err = run(capsys, "check", tmp_path / "f0.rules")
    assert code == cli.EXIT_ERROR
    assert err.splitlines() == [
        f"{tmp_path}/f99.rules:1:1: error: imports nested more than 100 files deep (from {tmp_path}/f0.rules)",
        "    import ./f100.rules", "    ^^^^^^^^^^^^^^^^^^^",
        "    hint: import the files side by side from one file instead of each from the one before"]


@pytest.mark.parametrize("body, message", [
    ("@foo(X)", "t.rules:1:19: error: unknown built-in '@foo'"),
    ("@eq(X)", "t.rules:1:19: error: '@eq' takes 2 argument(s), got 1"),
])
def test_check_finds_what_grounding_would(capsys, tmp_path, monkeypatch, body, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.rules").write_text(f"q(X) :- {{1}} a(X), {body}.\n")
    (tmp_path / "d.txt").write_text("1.0 q(1) :- a(1).\n")
    for command in ("check", "ground"):
        code, _, err = run(capsys, command, "t.rules", "d.txt")
        assert code == cli.EXIT_ERROR and err.splitlines()[0] == message


def test_a_negative_importance_is_an_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.rules").write_text("q :- {1} a.\n")
    (tmp_path / "e.txt").write_text("e1 :- a.\n")
    (tmp_path / "q.txt").write_text("-0.5 e1 :- 1.0 q.\n")
    code, _, err = run(capsys, "check", "t.rules", "e.txt", "-q", "q.txt")
    assert code == cli.EXIT_ERROR
    assert err.splitlines() == ["q.txt:1:1: error: the importance of a query line must not be negative, got -0.5",
                                "    -0.5 e1 :- 1.0 q.", "    ^^^^^^^",
                                "    hint: an importance weighs the line's queries in the error; 1 is the default"]


# --------------------------------------------------------------------------- non-finite results


NONFINITE = ("error: the output of out is not finite: the rule neuron of h(y) :- a(y), example 2 (rule "
             "'h(X) :- <1.0> a(X). [activation=log]' ({where}:1:1)) is not finite")


def test_non_finite_outputs_are_an_error_naming_the_neuron(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("t.rules").write_text("h(X) :- <1.0> a(X). [activation=log]\nout :- {1} h(X).\n")
    Path("pos.txt").write_text("1.0 out :- <2.0> a(x).\n0.0 out :- <3.0> a(y).\n")
    Path("neg.txt").write_text("1.0 out :- <2.0> a(x).\n0.0 out :- <-1.0> a(y).\n")
    code, out, err = run(capsys, "predict", "t.rules", "neg.txt")
    assert (code, out) == (cli.EXIT_ERROR, "") and err.splitlines()[0] == NONFINITE.format(where="t.rules")
    assert run(capsys, "train", "t.rules", "pos.txt", "--epochs", "2", "--out", "o")[0] == 0
    for command in ("test", "predict"):
        code, out, err = run(capsys, command, "o/model.json", "neg.txt", "--no-progress")
        assert (code, out) == (cli.EXIT_ERROR, "")
        assert err.splitlines()[0] == NONFINITE.format(where="o/model.json (template)")


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize("argv, message", [
    (("train", "--seed", "-1"), "argument --seed: must not be negative, got -1"),
    (("train", "--clip-norm", "-1"), "argument --clip-norm: must be a positive number, got -1"),
    (("train", "--clip-norm", "0"), "argument --clip-norm: must be a positive number, got 0"),
    (("train", "--xval", "0"), "argument --xval: must be at least 2, got 0"),
    (("train", "--val-fraction", "0"), "argument --val-fraction: must lie in (0, 1), got 0"),
    (("train", "--val-fraction", "1"), "argument --val-fraction: must lie in (0, 1), got 1"),
    (("train", "--lr", "nan"), "argument --lr: must be a positive number, got nan"),
    (("train", "--lr-decay", "2"), "argument --lr-decay: must lie in (0, 1], got 2"),
    (("train", "--epochs", "ten"), "argument --epochs: expected an integer, got ten"),
    (("train", "--patience", "0"), "argument --patience: must be at least 1, got 0"),
    (("train", "--checkpoint-every", "0"), "argument --checkpoint-every: must be at least 1, got 0"),
    (("train", "--iso-digits", "16"), "argument --iso-digits: must be in 0..15, got 16"),
    (("predict", "--seed", "-3"), "argument --seed: must not be negative, got -3"),
    (("compress", "--seed", "9" * 50), None),
])
def test_options_are_checked_before_any_work(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, argv[0], REPO / "templates" / "xor.rules", XOR, *argv[1:], "--out" if
                       argv[0] == "train" else "--strict", *([tmp_path] if argv[0] == "train" else []))
    if message is None:  # a large seed is a seed
        assert code == 0
        return
    assert code == cli.EXIT_ERROR
    assert err.splitlines()[-1] == f"nlp {argv[0]}: error: {message}"
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------- what escapes anyway


@pytest.mark.parametrize("raised, message", [
    (ValueError("boom"), ["internal error: ValueError: boom",
                          "    hint: this is a bug in neuralogic_py; please report it with the command and its "
                          "input (NLP_TRACEBACK=1 shows where it arose)"]),
    (MemoryError(), ["error: out of memory"]),
])
def test_anything_else_that_escapes_is_not_a_traceback(capsys, monkeypatch, raised, message):
    def broken(*_args, **_kwargs):
        raise raised
    monkeypatch.setattr(cli.command("check"), "load_sources", broken)
    code, out, err = run(capsys, "check", "x.rules")
    assert (code, out, err.splitlines()) == (cli.EXIT_ERROR, "", message)


# --------------------------------------------------------------------------- resource bounds


def test_a_grounding_join_over_the_memory_limit_stops_naming_the_rule(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("t.rules").write_text("t(X, Y, Z) :- n(X), n(Y), n(Z).\nq :- {1} t(X, Y, Z).\n")
    Path("kb.txt").write_text("kb :- " + ", ".join(f"n(c{i})" for i in range(1000)) + ".\n")
    Path("q.txt").write_text("1.0 q.\n")
    code, _, err = run(capsys, "ground", "t.rules", "kb.txt", "-q", "q.txt", "--max-memory", "1G")
    assert code == cli.EXIT_ERROR
    assert err.splitlines() == [
        "t.rules:1:27: error: grounding rule 't(X, Y, Z) :- n(X), n(Y), n(Z).' (1,000,000,000 substitutions when "
        "joining n(Z)) would need about 29.8 GiB of memory, more than the limit of 1.0 GiB",
        "    t(X, Y, Z) :- n(X), n(Y), n(Z).", "                              ^^^^",
        "    hint: --max-memory SIZE changes the limit (default: 80% of the machine's memory); or bind the rule's "
        "variables more tightly"]
    code, _, err = run(capsys, "ground", "t.rules", "kb.txt", "-q", "q.txt", "--max-memory", "lots")
    assert code == cli.EXIT_ERROR
    assert err.splitlines()[-1] == "nlp ground: error: argument --max-memory: expected a size such as 4G or 500M, " \
                                   "got lots"


def test_a_weight_over_the_memory_limit_is_an_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("t.rules").write_text("q(X) :- {100000,100000} a(X).\n")
    Path("d.txt").write_text("1.0 q(1) :- a(1).\n")
    code, _, err = run(capsys, "predict", "t.rules", "d.txt", "--max-memory", "16G")
    assert code == cli.EXIT_ERROR
    assert err.splitlines()[0] == ("t.rules:1:9: error: the weight 'rule1.body1' (a 100000x100000 matrix) would need "
                                   "about 74.5 GiB of memory, more than the limit of 16.0 GiB")

"""Every subcommand, driven with fuzzed arguments and files, answers with a message and an exit code.

The property: ``nlp`` returns 0, 1 or 2 (or 130), raises nothing, and its stderr holds
neither a Python traceback nor an ``internal error`` (what ``run_command`` says of an
exception it did not expect). The files are the repository's small templates, data and a
saved model, mutated: characters deleted, inserted or duplicated; JSON values replaced by
other JSON. The arguments are drawn from every option of every command, with values that
are valid, out of range or not numbers at all.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import REPO
from neuralogic_py import cli

COMMANDS = ("check", "ground", "query", "predict", "compress", "train", "test")
TEMPLATE = (REPO / "templates" / "xor.rules").read_text()
EXAMPLES = (REPO / "datasets" / "xor" / "examples.txt").read_text()
MODEL = (REPO / "tests" / "fixtures" / "model_v1.json").read_text()
VALUES = ["-1", "0", "1", "2", "0.5", "1e400", "nan", "-inf", "x", "", "99999999999999999999999"]
OPTIONS = ["--strict", "--json", "--print", "--allow-underivable", "--epochs", "--batch-size", "--optimizer",
           "--lr", "--weight-decay", "--lr-decay", "--decay-every", "--clip-norm", "--loss", "--task", "--no-squish",
           "--init", "--profile", "--seed", "--shuffle", "--lifting", "--iso-inits", "--iso-digits", "--iso-check",
           "--val-fraction", "--patience", "--select", "--eval-every", "--last", "--xval", "--checkpoint-every",
           "--resume", "--weights", "-q", "--queries", "--no-progress", "--max-memory", "--engine", "--bogus"]
CHOICES = ["adam", "sgd", "auto", "mse", "classification", "he", "reference", "none", "value", "samples", "1K", "fused"]

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                       max_size=3), max_leaves=8)


@st.composite
def mutated(draw, text: str) -> str:
    """``text`` with a few characters deleted, inserted or duplicated."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "duplicate"]))
        if kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)):]
        elif kind == "insert":
            text = text[:at] + draw(st.text(":-.,()[]{}<>$@~!*%/ aX1\n\xe9", min_size=1, max_size=4)) + text[at:]
        else:
            text = text[:at] + text[at:at + 8] * 2 + text[at + 8:]
    return text


@st.composite
def model_text(draw) -> str:
    """The saved model fixture with one of its keys, or a key of one of its parameters, given another JSON value."""
    data = json.loads(MODEL)
    if draw(st.booleans()):
        data[draw(st.sampled_from(sorted(data)))] = draw(json_values)
    else:
        entry = data["parameters"][draw(st.sampled_from(sorted(data["parameters"])))]
        entry[draw(st.sampled_from(["shape", "fixed", "role", "value"]))] = draw(json_values)
    return json.dumps(data)


@st.composite
def arguments(draw, files: dict[str, Path]) -> list[str]:
    command = draw(st.sampled_from(COMMANDS))
    names = ["template", "data", "model", "weights", "missing", "folder"]
    natural = {"test": ["model", "data"], "predict": draw(st.sampled_from([["model", "data"], ["template", "data"]]))}
    if draw(st.booleans()):  # the layout the command expects, so that the files are read
        names = natural.get(command, ["template", "data"])
    else:
        names = draw(st.lists(st.sampled_from(names), max_size=3))
    positional = [str(files[n]) for n in names]
    if command == "query":
        positional.append(draw(st.sampled_from(["xor", "hidden1", "q(X)", "q(", "@eq(X, 1)", ""])))
    options = []
    for option in draw(st.lists(st.sampled_from(OPTIONS), max_size=3)) if draw(st.booleans()) else ():
        options.append(option)
        if draw(st.booleans()):
            options.append(draw(st.sampled_from(VALUES + CHOICES + [str(f) for f in files.values()])))
    # keep every run small and inside the temporary folder
    tail = {"train": ["--epochs", "2", "--no-progress", "--out", str(files["folder"] / "out")],
            "test": ["--out", str(files["folder"] / "eval")], "predict": ["--output", str(files["folder"] / "o.json")]}
    return [command, *positional, *options, *tail.get(command, [])]


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])  # capsys is read each time
@given(data=st.data())
def test_fuzzed_commands_never_show_a_traceback(data, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {"template": folder / "t.rules", "data": folder / "e.txt", "model": folder / "model.json",
                 "weights": folder / "w.json", "missing": folder / "missing.txt", "folder": folder}
        broken = data.draw(st.sampled_from(["nothing", "template", "data", "model"]))  # one file at most
        files["template"].write_text(data.draw(mutated(TEMPLATE)) if broken == "template" else TEMPLATE)
        files["data"].write_text(data.draw(mutated(EXAMPLES)) if broken == "data" else EXAMPLES)
        files["model"].write_text(data.draw(model_text()) if broken == "model" else MODEL)
        files["weights"].write_text(json.dumps(data.draw(json_values)))
        argv = data.draw(arguments(files))
        code = cli.main(argv)
        _, err = capsys.readouterr()
    event(f"{argv[0]}: exit {code}")  # pytest --hypothesis-show-statistics: how deep the inputs got
    assert code in (0, 1, 2, 130), argv
    assert "Traceback" not in err and "internal error" not in err, (argv, err)

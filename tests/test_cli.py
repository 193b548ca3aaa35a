"""`nlp check` end to end: bundled examples, shared conformance cases and datasets, bad input."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, require_shared

from neuralogic_py import __version__, cli
from neuralogic_py.language import parser

CONFORMANCE = [f"c{i:02d}" for i in range(1, 13)]


def nlp(*argv: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess:
    """Run ``python -m neuralogic_py`` as a user would, in ``cwd``."""
    return subprocess.run([sys.executable, "-m", "neuralogic_py", *map(str, argv)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def run_main(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def conformance_dir(case: str) -> Path:
    root = require_shared("conformance")
    (found,) = root.glob(f"{case}_*")
    return found


# --------------------------------------------------------------------------- bundled examples


def test_xor_labelled(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, out, err = run_main(capsys, "check", "--strict", "templates/xor.rules", "datasets/xor")
    assert (code, err) == (0, "")
    assert "template templates/xor.rules\n  5 rules, 0 facts, 1 declaration\n" in out
    assert "predicates derived by rules (5): hidden1/0, hidden2/0, hidden3/0, hidden4/0, xor/0" in out
    assert "predicates used only in bodies (2): a/0, b/0" in out
    assert "weights: 0 named, 17 unnamed" in out
    assert "4 examples (8 facts over 2 predicates), 0 query lines\n  4 labelled examples\n" in out
    assert out.endswith("ok\n")


def test_xor_vector_by_order(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, out, _ = run_main(capsys, "check", "--strict", "templates/xor_vector.rules", "datasets/xor_vector")
    assert code == 0
    assert "train datasets/xor_vector/examples.txt, datasets/xor_vector/queries.txt" in out
    assert "4 examples paired by order with 4 query lines" in out


def test_molecules_directory_with_train_and_test(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, out, err = run_main(capsys, "check", "--strict", "datasets/molecules")
    assert (code, err) == (0, "")
    assert "template datasets/molecules/template.txt" in out  # found in the directory; imports gnn.rules
    assert "predicates derived by rules (5): atom_embed/1, bond_embed/1, layer1/1, layer2/1, predict/0" in out
    assert "train datasets/molecules/trainExamples.txt, datasets/molecules/trainQueries.txt" in out
    assert "6 examples paired by order with 6 query lines" in out
    assert "test datasets/molecules/testExamples.txt, datasets/molecules/testQueries.txt" in out
    assert "2 examples paired by order with 2 query lines" in out


def test_family_knowledge_base(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, out, _ = run_main(capsys, "check", "--strict", "datasets/family")
    assert code == 0
    assert "predicates given by template facts (2): entity/1, relation/1" in out
    assert "predicates used only in bodies (1): r/3" in out
    assert "1 knowledge base with 16 queries" in out


def test_every_bundled_template_checks_alone(capsys):
    templates = sorted((REPO / "templates").glob("*.rules"))
    assert len(templates) >= 4
    for template in templates:
        code, out, err = run_main(capsys, "check", "--strict", template)
        assert (code, err) == (0, ""), template
        assert "rules" in out


def test_json_summary(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    code, out, _ = run_main(capsys, "check", "--json", "templates/gnn.rules", "datasets/molecules")
    assert code == 0
    report = json.loads(out)
    (template,) = report["templates"]
    assert template["files"] == ["templates/gnn.rules"]
    assert template["rules"] == 14
    assert template["predicates"]["rules"] == ["atom_embed/1", "bond_embed/1", "layer1/1", "layer2/1", "predict/0"]
    assert "bond/3" in template["predicates"]["body_only"]
    assert [(s["split"], s["examples"], s["pairing"]["mode"]) for s in report["splits"]] == [
        ("train", 6, "order"), ("test", 2, "order")]
    assert report["warnings"] == 0 and report["folds"] == []


def test_named_weights_and_shapes(capsys, tmp_path):
    (tmp_path / "t.rules").write_text(
        "$w={3,3} h(X) :- $v=[1.0, 2.0] f(X), $w={3,3} g(X), <0.5> k(X), {2} e(X), 0.1.\n"
        "q :- $m=<[[1, 2], [3, 4]]> h(X).\n")
    code, out, _ = run_main(capsys, "check", tmp_path / "t.rules")
    assert code == 0
    assert "weights: 3 named, 3 unnamed (1 fixed)\n    $w {3,3} x2, $v {2}, $m {2,2} fixed\n" in out
    code, out, _ = run_main(capsys, "check", "--json", tmp_path / "t.rules")
    named = json.loads(out)["templates"][0]["weights"]["named"]
    assert named == {"w": {"shape": "{3,3}", "fixed": False, "uses": 2},
                     "v": {"shape": "{2}", "fixed": False, "uses": 1},
                     "m": {"shape": "{2,2}", "fixed": True, "uses": 1}}


def test_folds_are_summarised_one_by_one(capsys, tmp_path):
    (tmp_path / "template.txt").write_text("q :- {1} f(X).\n")
    for k in range(2):
        fold = tmp_path / f"fold_{k}"
        fold.mkdir()
        (fold / "trainExamples.txt").write_text("f(a).\nf(b).\n")
        (fold / "trainQueries.txt").write_text("1 q.\n0 q.\n")
        (fold / "testExamples.txt").write_text("f(c).\n")
        (fold / "testQueries.txt").write_text("1 q.\n")
    code, out, _ = run_main(capsys, "check", "--strict", tmp_path)
    assert code == 0
    assert out.count("template ") == 1  # shared by both folds, summarised once
    for k in range(2):
        assert f"fold_{k} train " in out and f"fold_{k} test " in out
    assert out.count("2 examples paired by order with 2 query lines") == 2
    assert out.count("1 knowledge base with 1 query") == 2
    assert out.endswith("ok, 2 folds\n")


def test_queries_on_template_facts(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("f(a). f(b).\nq(X) :- {1} f(X).\n")
    (tmp_path / "q.txt").write_text("1 q(a).\n0 q(b).\n")
    code, out, _ = run_main(capsys, "check", "--strict", tmp_path / "t.rules", "--queries", tmp_path / "q.txt")
    assert code == 0
    assert "2 queries on the template's own facts (no examples)" in out


# --------------------------------------------------------------------------- shared material


@pytest.mark.parametrize("case", CONFORMANCE)
def test_conformance_case(case, capsys):
    directory = conformance_dir(case)
    code, out, err = run_main(capsys, "check", "--strict", "--json", directory)
    assert (code, err) == (0, "")
    report = json.loads(out)
    (split,) = report["splits"]
    query_lines = len([line for line in (directory / "queries.txt").read_text().splitlines() if line.strip()])
    assert split["query_lines"] == query_lines
    expected_mode = "knowledge_base" if split["examples"] == 1 else "order"
    assert split["pairing"]["mode"] == expected_mode
    # every weight the reference set by name is a named weight of the template, with the same size
    weights = json.loads((directory / "weights.json").read_text())
    named = report["templates"][0]["weights"]["named"]
    assert set(named) == set(weights)
    for name, value in weights.items():
        dims = [int(d) for d in named[name]["shape"].strip("{}").split(",")]
        size = len(value) * (len(value[0]) if value and isinstance(value[0], list) else 1) \
            if isinstance(value, list) else 1
        assert size == math.prod(dims), name


def test_mutagenesis_with_the_conformance_gnn(capsys):
    template = conformance_dir("c11") / "template.txt"
    code, out, err = run_main(capsys, "check", "--strict", template, require_shared("datasets", "mutagenesis"))
    assert (code, err) == (0, "")
    assert "188 examples paired by order with 188 query lines" in out


def test_nci_with_the_bundled_gnn(capsys):
    code, out, err = run_main(capsys, "check", REPO / "templates" / "gnn.rules",
                              require_shared("datasets", "nci_gi50", "786_0"))
    assert code == 0
    assert "3504 examples (340366 facts over" in out
    assert "3504 examples paired by order with 3504 query lines" in out
    # NCI names atom types c_ar, o_2, ...: the template's c/1 is reported, positioned in gnn.rules
    assert "gnn.rules:" in err and "warning: c/1 is used in a rule body, but no rule, template fact" in err


def test_nations_knowledge_base_warns_about_underivable_queries(capsys):
    template = conformance_dir("c12") / "template.txt"
    data = require_shared("datasets", "kbs", "nations")
    code, out, err = run_main(capsys, "check", template, data)
    assert code == 0
    assert "1 knowledge base with 5347 queries" in out
    # nations also asks predict(Nation, Attribute), which the triples-only template cannot derive
    assert "queries.txt:1:1: warning: queries ask for predict/2, which no rule of the template derives" in err
    assert out.endswith("ok, 1 warning\n")
    code, _, err = run_main(capsys, "check", "--strict", template, data)
    assert code == cli.EXIT_STRICT
    assert "error: queries ask for predict/2" in err


def test_kinships_knowledge_base(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("predict(X, R, Y) :- {1} r(R, X, Y).\n")
    code, out, _ = run_main(capsys, "check", "--strict", tmp_path / "t.rules", require_shared("datasets", "kbs", "kinships"))
    assert code == 0
    assert "1 knowledge base with 20929 queries" in out


# --------------------------------------------------------------------------- errors and exit codes


def test_syntax_error_is_positioned_without_traceback(tmp_path):
    (tmp_path / "bad.rules").write_text("% a comment\n\nh(X) :- a(X), b(X)\nq :- h(X).\n")
    result = nlp("check", "bad.rules", cwd=tmp_path)
    assert result.returncode == cli.EXIT_ERROR
    assert result.stdout == ""
    assert result.stderr.startswith("bad.rules:3:")
    assert "missing '.'" in result.stderr and "^" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_error_is_positioned(tmp_path):
    (tmp_path / "t.rules").write_text("q :- {1} f(X).\n")
    (tmp_path / "ex.txt").write_text("f(a).\nf(b) g(c).\n")
    result = nlp("check", "t.rules", "ex.txt", cwd=tmp_path)
    assert result.returncode == cli.EXIT_ERROR
    assert result.stderr.startswith("ex.txt:2:")
    assert "Traceback" not in result.stderr


def test_unequal_counts_by_order(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("q :- {1} f(X).\n")
    (tmp_path / "ex.txt").write_text("f(a).\nf(b).\nf(c).\n")
    (tmp_path / "q.txt").write_text("1 q.\n0 q.\n")
    code, out, err = run_main(capsys, "check", tmp_path / "t.rules", tmp_path / "ex.txt", "-q", tmp_path / "q.txt")
    assert code == cli.EXIT_ERROR and out == ""
    assert "ex.txt:3:1: error: 3 examples but 2 query lines" in err


@pytest.mark.parametrize("argv, message", [
    (["check", "missing.rules"], "error: template not found: missing.rules\n"),
    (["check", "missing"], "error: template not found: missing (also tried missing.txt, missing.rules)\n"),
    (["check", "t.rules", "nodata"], "error: data not found: nodata"),
    (["check", "t.rules", "-q", "noqueries"], "error: queries file not found: noqueries"),
])
def test_missing_files(tmp_path, argv, message):
    (tmp_path / "t.rules").write_text("q :- {1} f(X).\n")
    result = nlp(*argv, cwd=tmp_path)
    assert result.returncode == cli.EXIT_ERROR
    assert message in result.stderr and "Traceback" not in result.stderr


def test_warning_is_positioned_and_strict_makes_it_an_error(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("q :- {1} f(X).\nq :- {1} g(X, Y).\n")
    (tmp_path / "ex.txt").write_text("f(a), g(a).\n")
    code, out, err = run_main(capsys, "check", tmp_path / "t.rules", tmp_path / "ex.txt")
    assert code == 0 and out.endswith("ok, 1 warning\n")
    assert "t.rules:2:6: warning: g/2 is used in a rule body, but no rule, template fact or example provides it" in err
    assert "hint: the data has g/1" in err
    code, out, err = run_main(capsys, "check", "--strict", tmp_path / "t.rules", tmp_path / "ex.txt")
    assert code == cli.EXIT_STRICT and out == ""
    assert "t.rules:2:6: error: g/2 is used in a rule body" in err


def test_embed_rules_provide_their_predicate_and_real_gaps_still_warn(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("{3} @embed_n(X) :- n(X).\n{1,3} h(X) :- embed_n(X).\n"
                                      "{1,3} g(X) :- embed_m(X).\n")
    (tmp_path / "ex.txt").write_text("n(a), n(b).\n")
    code, out, err = run_main(capsys, "check", tmp_path / "t.rules", tmp_path / "ex.txt")
    assert code == 0 and out.endswith("ok, 1 warning\n")
    assert "predicates derived by rules (3): embed_n/1, h/1, g/1" in out
    assert "embed_n/1 is used in a rule body" not in err
    assert "t.rules:3:15: warning: embed_m/1 is used in a rule body, but no rule, template fact or example " \
           "provides it" in err
    (tmp_path / "t.rules").write_text("{3} @embed_n(X) :- n(X).\n{1,3} h(X) :- embed_n(X).\n")
    code, out, err = run_main(capsys, "check", "--strict", tmp_path / "t.rules", tmp_path / "ex.txt")
    assert (code, err) == (0, "") and out.endswith("ok\n")


def test_interrupt_exits_130(capsys, monkeypatch):
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli.command("check"), "load_sources", interrupted)
    code, _, err = run_main(capsys, "check", "x.rules")
    assert code == cli.EXIT_INTERRUPTED and err == "interrupted\n"


def test_os_error_is_a_message(capsys, monkeypatch, tmp_path):
    (tmp_path / "t.rules").write_text("q :- f.\n")

    def unreadable(*_paths):
        raise PermissionError(13, "Permission denied", "t.rules")
    monkeypatch.setattr(parser, "load_template", unreadable)
    code, _, err = run_main(capsys, "check", tmp_path / "t.rules")
    assert code == cli.EXIT_ERROR and err == "error: Permission denied: t.rules\n"


def test_usage(capsys):
    assert run_main(capsys, )[0] == cli.EXIT_ERROR
    code, _, err = run_main(capsys, "check")
    assert code == cli.EXIT_ERROR and "TEMPLATE" in err
    code, out, _ = run_main(capsys, "--version")
    assert code == 0 and out == f"nlp {__version__}\n"
    code, out, _ = run_main(capsys, "check", "--help")
    assert code == 0 and "--strict" in out and "--json" in out and "fold_*" in out


def test_module_entry_point():
    result = nlp("check", "--strict", "templates/xor.rules", "datasets/xor")
    assert result.returncode == 0 and "4 labelled examples" in result.stdout


def test_console_script():
    script = shutil.which("nlp")
    if script is None:
        pytest.skip("the nlp script is not installed (pip install . puts it on PATH)")
    result = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == f"nlp {__version__}"


def test_help_imports_no_heavy_module_and_check_imports_no_numba(tmp_path):
    """Start-up: ``nlp --help`` needs neither numpy nor lark; ``nlp check`` needs no numba or scipy.stats."""
    probe = ("import sys; from neuralogic_py.cli import main; main({args}); "
             "print(sorted(m for m in ('numpy', 'lark', 'numba', 'scipy.stats') if m in sys.modules))")
    help_run = subprocess.run([sys.executable, "-c", probe.format(args="['--help']")], capture_output=True,
                              text=True, cwd=tmp_path)
    assert help_run.stdout.strip().splitlines()[-1] == "[]"
    check_args = [str(REPO / "templates" / "xor.rules"), str(REPO / "datasets" / "xor")]
    check_run = subprocess.run([sys.executable, "-c", probe.format(args=["check", *check_args])],
                               capture_output=True, text=True, cwd=tmp_path)
    assert check_run.stdout.strip().splitlines()[-1] == "['lark', 'numpy']"


def test_counts_are_singular_when_one(capsys, tmp_path):
    (tmp_path / "t.rules").write_text("q :- {1} f.\n")
    (tmp_path / "e.txt").write_text("1.0 q :- f.\n")
    code, out, _ = run_main(capsys, "ground", tmp_path / "t.rules", tmp_path / "e.txt")
    assert code == 0 and "1 ground rule in 1 aggregation group; 2 atoms (1 input fact, 1 derived); " in out
    code, out, _ = run_main(capsys, "check", tmp_path / "t.rules", tmp_path / "e.txt")
    assert code == 0 and "1 example (1 fact over 1 predicate), 0 query lines" in out

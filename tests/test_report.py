"""A training run's pictures: history.csv written by `nlp train`, `nlp plot` and `nlp report`."""

from __future__ import annotations

import base64
import csv
import json
import math
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPO

from neuralogic_py import cli
from neuralogic_py.output import MANIFEST

XOR = (REPO / "templates" / "xor_vector.rules", REPO / "datasets" / "xor_vector")
CARBONYL = (REPO / "templates" / "gnn.rules", REPO / "datasets" / "carbonyl")
HAS_DOT = shutil.which("dot") is not None


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def train(capsys, out: Path, sources: tuple[Path, Path] = XOR, *extra: str) -> None:
    code, _, err = run(capsys, "train", *sources, "--epochs", "6", "--lr", "0.05", "--engine", "numpy",
                       "--no-progress", "--out", out, *extra)
    assert (code, err) == (0, "")


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def numbers(table: list[dict[str, str]], column: str) -> list[float]:
    return [float(r[column]) if r[column] else math.nan for r in table]


def same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b))


# --------------------------------------------------------------------------- history.csv


def test_history_csv_holds_what_training_computed(capsys, tmp_path):
    train(capsys, tmp_path, XOR, "--eval-every", "2")
    table = rows(tmp_path / "history.csv")
    results = json.loads((tmp_path / "results.json").read_text())["history"]
    assert list(table[0]) == ["epoch", "seconds", "learning_rate", "batch_loss", "train_loss", "train_accuracy",
                              "train_auc_roc", "train_auc_pr"]
    assert numbers(table, "epoch") == list(range(7))
    assert same(numbers(table, "batch_loss")[1:], results["train_error"]) and table[0]["batch_loss"] == ""
    evaluated = {int(e): v for e, v in results["selection_error"]}
    assert sorted(evaluated) == [0, 2, 4, 6]
    assert same(numbers(table, "train_loss"), [evaluated.get(e, math.nan) for e in range(7)])
    assert [r["train_accuracy"] == "" for r in table] == [e not in evaluated for e in range(7)]
    seconds = numbers(table, "seconds")
    assert seconds == sorted(seconds) and seconds[-1] <= results["seconds"]
    assert numbers(table, "learning_rate")[1:] == [0.05] * 6


def test_history_names_the_validation_set(capsys, tmp_path):
    code, _, err = run(capsys, "train", *CARBONYL, "--epochs", "2", "--batch-size", "40", "--val-fraction", "0.25",
                       "--engine", "numpy", "--no-progress", "--out", tmp_path)
    assert (code, err) == (0, "")
    table = rows(tmp_path / "history.csv")
    assert "val_loss" in table[0] and "train_loss" not in table[0] and len(table) == 3
    assert all(0 <= float(r["val_auc_roc"]) <= 1 for r in table)
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert "history.csv" in manifest["runs"]["train"]["files"]


# --------------------------------------------------------------------------- nlp plot


def test_plot_writes_its_figures_through_the_manifest(capsys, tmp_path):
    train(capsys, tmp_path)
    code, out, err = run(capsys, "plot", tmp_path)
    assert (code, err) == (0, "")
    assert out.strip() == f"wrote {tmp_path}/plots/curves.png, {tmp_path}/plots/roc_pr.png"
    for name in ("curves.png", "roc_pr.png"):
        assert (tmp_path / "plots" / name).read_bytes().startswith(b"\x89PNG")
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["runs"]["plot"]["files"] == ["plots/curves.png", "plots/roc_pr.png"]
    code, _, _ = run(capsys, "plot", tmp_path, "--format", "svg")
    assert code == 0 and not (tmp_path / "plots" / "curves.png").exists()  # the previous plot run's files go
    assert b"<svg" in (tmp_path / "plots" / "curves.svg").read_bytes()
    train(capsys, tmp_path)  # a new training makes the old plots stale: they go too
    assert not (tmp_path / "plots").exists()


def test_without_matplotlib_the_message_names_the_extra(capsys, tmp_path, monkeypatch):
    train(capsys, tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, out, err = run(capsys, "plot", tmp_path)
    assert code == 2 and out == ""
    assert err.strip() == "error: plotting needs matplotlib: pip install 'neuralogic_py[plot]'"
    assert not (tmp_path / "plots").exists()


@pytest.mark.parametrize("command", ["plot", "report"])
def test_a_folder_that_is_no_training_run_is_exit_2(capsys, tmp_path, command):
    code, out, err = run(capsys, command, tmp_path / "missing")
    assert code == 2 and out == "" and "missing: no such folder" in err and "Traceback" not in err
    assert not (tmp_path / "missing").exists()
    code, _, err = run(capsys, command, tmp_path)
    assert code == 2 and "holds no results.json" in err
    code, _, _ = run(capsys, "train", *XOR, "--xval", "2", "--epochs", "2", "--engine", "numpy", "--no-progress",
                     "--out", tmp_path / "cv")
    assert code == 0
    code, _, err = run(capsys, command, tmp_path / "cv")
    assert code == 2 and "is not the result of a single nlp train run" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.json").write_text("{not json")
    code, _, err = run(capsys, command, tmp_path / "bad")
    assert code == 2 and "results.json: not JSON" in err


# --------------------------------------------------------------------------- nlp report


class Page(HTMLParser):
    """The parts of a page the tests look at: section ids, images, tables, and anything that loads."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.images: list[str] = []
        self.loads: list[str] = []
        self.tables = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "h2":
            self.sections.append(a.get("id"))
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "table":
            self.tables += 1
        if tag in ("script", "link", "iframe") or (tag != "img" and ("src" in a or "href" in a)):
            self.loads.append(tag)


def test_report_is_one_page_with_every_section_and_every_image_embedded(capsys, tmp_path):
    train(capsys, tmp_path)
    code, out, err = run(capsys, "report", tmp_path)
    assert (code, out.strip()) == (0, f"wrote {tmp_path}/report.html")
    page = Page()
    text = (tmp_path / "report.html").read_text()
    page.feed(text)
    assert page.sections == ["settings", "data", "curves", "metrics", "compression", "template"]
    assert page.loads == [] and page.tables == 4
    assert len(page.images) == (3 if HAS_DOT else 2)
    for src in page.images:
        mime, data = src.split(";base64,")
        image = base64.b64decode(data, validate=True)
        assert mime in ("data:image/png", "data:image/svg+xml")
        assert image.startswith(b"\x89PNG" if mime == "data:image/png" else b"<?xml")
    if HAS_DOT:
        assert err == ""
    else:
        assert "Debian package graphviz" in err and "digraph neuralogic" in text
    assert "structural lifting across examples" in text and "xor" in text  # the compression table, the template
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert manifest["runs"]["report"]["files"] == ["report.html"]


def test_report_without_matplotlib_says_what_is_missing(capsys, tmp_path, monkeypatch):
    train(capsys, tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    code, _, err = run(capsys, "report", tmp_path)
    assert code == 0 and "pip install 'neuralogic_py[plot]'" in err
    page = Page()
    page.feed((tmp_path / "report.html").read_text())
    assert len(page.images) == (1 if HAS_DOT else 0)  # the template only
    assert page.sections[2] == "curves"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs a headless Chromium (Debian package chromium)")
def test_report_renders_offline_in_a_headless_browser(capsys, tmp_path):
    """The page as a person sees it: Chromium with its network off draws its embedded images.

    The same page with every image's data removed is the baseline: the curves and the drawn
    template make the screenshot of the real page much larger.
    """
    import re
    import subprocess

    train(capsys, tmp_path / "run")
    assert run(capsys, "report", tmp_path / "run")[0] == 0
    page = (tmp_path / "run" / "report.html").read_text()
    (tmp_path / "bare.html").write_text(re.sub(r'<img src="[^"]*"', '<img src=""', page))
    sizes = []
    for name, html in (("full", tmp_path / "run" / "report.html"), ("bare", tmp_path / "bare.html")):
        shot = tmp_path / f"{name}.png"
        subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run",
                        f"--user-data-dir={tmp_path / name}", f"--screenshot={shot}", "--window-size=1000,2400",
                        html.as_uri()], capture_output=True, timeout=120, cwd=tmp_path)
        assert shot.read_bytes().startswith(b"\x89PNG")
        sizes.append(shot.stat().st_size)
    assert sizes[0] > 1.5 * sizes[1], sizes

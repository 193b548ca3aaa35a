"""``report.html``: one self-contained page about a training run, readable with no network access.

Sections, in order (each an ``<h2>`` with an ``id``):

``settings``     the training options, the functions' profile, the lifting, the engine and times
``data``         samples per split and the files they came from
``curves``       loss and metric curves per epoch (:func:`~.plots.curves`)
``metrics``      the final metrics of every split, and its ROC and PR curves (:func:`~.plots.roc_pr`)
``compression``  neurons and edges after each stage: ground, chain pruning, lifting
``template``     the template drawn (:func:`~.template.draw_template`) and its text

Every image is embedded as a ``data:`` URI (PNG from matplotlib, SVG from Graphviz), and the
style sheet is inline: the page loads nothing. Without matplotlib or Graphviz the page says
what is missing where the image would be (and shows the template's DOT text).
"""

from __future__ import annotations

import base64
import html
import math
import time
from typing import Any

from ..errors import NeuralogicError
from .run import Run

STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.6em 0; } caption { text-align: left; color: #555; }
th, td { border: 1px solid #ddd; padding: 3px 9px; text-align: right; } th { background: #f3f3f3; }
td:first-child, th:first-child, table.settings td, table.settings th { text-align: left; }
img { max-width: 100%; display: block; margin: 0.6em 0; }
.note { color: #666; } pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
"""

METRICS = (("accuracy", "accuracy", True), ("error", "error", False),
           ("best_accuracy", "best-threshold accuracy", True), ("majority", "majority", True),
           ("auc_roc", "AUC-ROC", False), ("auc_pr", "AUC-PR", False))
STAGE_COLUMNS = ("neurons", "facts", "atoms", "rules", "aggregations", "edges")


def report_html(run: Run) -> tuple[str, list[str]]:
    """The page (module docstring), and notes on what it lacks (matplotlib or Graphviz missing)."""
    notes: list[str] = []
    results = run.results
    figures = _figures(run, notes)
    history = results.get("history", {})
    parts = [f"<h1>Training run {_e(run.name)}</h1>",
             f"<p class=note>report written {time.strftime('%Y-%m-%d %H:%M')} by nlp report</p>",
             '<h2 id="settings">Settings</h2>', _settings(results),
             '<h2 id="data">Data</h2>', _data(results),
             '<h2 id="curves">Training curves</h2>', _training_line(history),
             figures["curves"] if "curves" in figures else _missing("no history.csv in the run folder", notes),
             '<h2 id="metrics">Final metrics</h2>', _metrics(results)]
    if "roc_pr" in figures:
        parts.append(figures["roc_pr"])
    parts += ['<h2 id="compression">Compression</h2>', _compression(results),
              '<h2 id="template">Template</h2>', _template(run, notes)]
    page = ("<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n"
            f"<title>nlp report: {_e(run.name)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(parts) + "\n</body>\n</html>\n")
    return page, notes


def _figures(run: Run, notes: list[str]) -> dict[str, str]:
    """The run's figures as ``<img>`` elements, or a note on every figure's place without matplotlib."""
    from .plots import MatplotlibMissing, figures, image

    try:
        made = figures(run)
    except MatplotlibMissing as e:
        return {"curves": _missing(e.message, notes)}
    titles = {"curves": "loss and metrics per epoch", "roc_pr": "ROC and precision-recall curves"}
    return {name: _image(image(figure, "png"), "image/png", titles[name]) for name, figure in made.items()}


def _settings(results: dict[str, Any]) -> str:
    model = dict(results.get("model", {}))
    model.pop("data", None)
    lifting = results.get("compression", {}).get("lifting", {})
    rows = [(key.replace("_", " "), "none" if value is None else value) for key, value in model.items()]
    if lifting:
        rows.append(("lifting", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in lifting.items())))
    history = results.get("history", {})
    if history:
        rows.append(("engine", history.get("engine")))
    rows.append(("grounding and compiling", f"{results.get('seconds_build', math.nan):.2f} s"))
    return _table(["setting", "value"], rows).replace("<table>", '<table class="settings">', 1)


def _data(results: dict[str, Any]) -> str:
    model = results.get("model", {})
    evaluations = results.get("evaluations", {})
    rows = [(split, e.get("samples"), e.get("kind")) for split, e in evaluations.items()]
    source = f"<p>training data: {_e(model['data'])}</p>" if model.get("data") else ""
    return _table(["split", "samples", "task"], rows) + source


def _training_line(history: dict[str, Any]) -> str:
    if not history:
        return ""
    best = history.get("best_epoch")
    kept = "the initial weights" if best == 0 else f"the weights of epoch {best}"
    stop = ", stopped early" if history.get("stopped_early") else ""
    epochs = history.get("epochs")
    return (f"<p>{epochs} epoch{'' if epochs == 1 else 's'} in {history.get('seconds', math.nan):.2f} s{stop}; "
            f"kept {kept} "
            f"(lowest {_e(history.get('selection_set', ''))} error {_number(history.get('best_error'))}).</p>")


def _metrics(results: dict[str, Any]) -> str:
    evaluations = results.get("evaluations", {})
    shown = [(key, label, pct) for key, label, pct in METRICS
             if any(e.get(key) is not None for e in evaluations.values())]
    rows = [(split, *(_percent(e.get(key)) if pct else _number(e.get(key)) for key, _, pct in shown))
            for split, e in evaluations.items()]
    return _table(["split", *(label for _, label, _ in shown)], rows)


def _compression(results: dict[str, Any]) -> str:
    compression = results.get("compression", {})
    stages = compression.get("stages", [])
    if not stages:
        return "<p class=note>no compression figures in results.json</p>"
    rows = [(s.get("stage"), *(f"{s.get(c, 0):,}" for c in STAGE_COLUMNS), f"{s.get('seconds') or 0:.3f}")
            for s in stages]
    return _table(["stage", *STAGE_COLUMNS, "seconds"], rows,
                  f"neurons and edges the {compression.get('samples')} outputs of the training data reach")


def _template(run: Run, notes: list[str]) -> str:
    from ..language.parser import parse_template
    from .dot import GraphvizMissing
    from .template import draw_template

    if not run.template:
        return _missing("no model.json with the template in the run folder", notes)
    try:
        drawing = draw_template(parse_template(run.template, file="model.json (template)"), "template")
    except NeuralogicError as e:
        return _missing(f"the template in model.json does not parse: {e.message}", notes)
    text = f"<details><summary>template text</summary><pre>{_e(run.template)}</pre></details>"
    try:
        return _image(drawing.svg().encode("utf-8"), "image/svg+xml", "the template's predicates and rules") + text
    except GraphvizMissing as e:
        return _missing(e.message, notes) + f"<pre>{_e(drawing.dot())}</pre>" + text


def _image(data: bytes, mime: str, title: str) -> str:
    return f'<img src="data:{mime};base64,{base64.b64encode(data).decode("ascii")}" alt="{_e(title)}">'


def _missing(reason: str, notes: list[str]) -> str:
    notes.append(reason)
    return f"<p class=note>{_e(reason)}</p>"


def _table(header: list[str], rows: list[tuple], caption: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(_cell(v))}</td>" for v in row) + "</tr>\n" for row in rows)
    caption = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f"<table>{caption}<tr>{head}</tr>\n{body}</table>"


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _percent(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.4g}%"


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _e(text: Any) -> str:
    return html.escape(str(text))

"""``nlp check``: parse and validate a template and its data, and print what they hold."""

from __future__ import annotations

import argparse
import json
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import display_path
from ..language.pairing import Pairing, counted, infer_pairing
from ..language.sources import Sources, Split, load_sources, load_split
from ..language.summary import (DataSummary, TemplateSummary, check_against_data, summarize_data,
                                summarize_template)
from ..logic.samples import check_rules
from . import COMMANDS
from .common import EXIT_OK, WarningCounter, add_sources_arguments, file_name, read_template

NAME = "check"
HELP = COMMANDS[NAME]

WIDTH = 100  # wrap long lists of names at this many columns


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp check``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Parse and validate TEMPLATE and DATA and print what they contain: rules, predicates, "
                    "weights, examples, queries and how the queries pair with the examples.")
    add_sources_arguments(p)
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=run)


@dataclass
class SplitReport:
    """The summary of one split of one fold, as ``nlp check`` reports it."""

    fold: str
    role: str
    split: Split
    data: DataSummary
    pairing: Pairing


@dataclass
class CheckReport:
    sources: Sources
    templates: dict[tuple[Path, ...], TemplateSummary] = field(default_factory=dict)
    splits: list[SplitReport] = field(default_factory=list)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp check``: parse and validate everything, then print the summary."""
    sources = load_sources(args.template, args.data, args.queries)
    report = CheckReport(sources)
    read_with: dict[tuple[Path, ...], list[DataSummary]] = {}  # the data each template is checked against
    for unit in (sources, *sources.folds):
        if unit.template not in report.templates:  # folds often share their parent's template
            template = read_template(unit.template, args.data, NAME)
            check_rules(template)
            report.templates[unit.template] = summarize_template(template)
        for role, split in unit.splits():
            data = load_split(split)
            pairing = infer_pairing(data.examples, data.query_lines,
                                    examples_file=file_name(split.examples), queries_file=file_name(split.queries))
            data_summary = summarize_data(data.examples, data.query_lines)
            read_with.setdefault(unit.template, []).append(data_summary)
            report.splits.append(SplitReport(unit.name, role, split, data_summary, pairing))
    for files, summaries in read_with.items():
        check_against_data(report.templates[files], summaries)
    if args.json:
        print(json.dumps(_check_json(report, counter.count), indent=2))
    else:
        print(_check_text(report, counter.count))
    return EXIT_OK


def _names_line(label: str, names: Sequence[str]) -> list[str]:
    if not names:
        return []
    head = f"  {label} ({len(names)}): "
    return _wrap(names, head, " " * len(head))


def _template_text(files: tuple[Path, ...], t: TemplateSummary) -> list[str]:
    lines = [f"template {', '.join(display_path(f) for f in files)}"]
    counts = [counted(t.rules, "rule"), counted(t.facts, "fact"), counted(t.declarations, "declaration")]
    if t.constraints:
        counts.append(counted(t.constraints, "constraint") + " (no effect)")
    lines.append("  " + ", ".join(counts))
    lines += _names_line("predicates derived by rules", t.rule_predicates)
    lines += _names_line("predicates given by template facts", t.fact_predicates)
    lines += _names_line("predicates used only in bodies", t.body_predicates)
    lines += _names_line("built-ins", t.builtins)
    fixed = f" ({t.fixed_unnamed_weights} fixed)" if t.fixed_unnamed_weights else ""
    lines.append(f"  weights: {len(t.named_weights)} named, {t.unnamed_weights} unnamed{fixed}")
    shown = [f"${w.name} {w.shape}" + (" fixed" if w.fixed else "") + (f" x{w.uses}" if w.uses > 1 else "")
             for w in t.named_weights]
    lines += _wrap(shown, "    ", "    ")
    return lines


def _wrap(items: Sequence[str], first: str, rest: str) -> list[str]:
    """Comma-separated ``items`` wrapped at WIDTH, never breaking inside an item."""
    if not items:
        return []
    glued = ", ".join(item.replace(" ", "\u00a0") for item in items)  # textwrap does not split at U+00A0
    return [line.replace("\u00a0", " ") for line in
            textwrap.wrap(glued, WIDTH, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False)]


def _split_text(s: SplitReport) -> list[str]:
    where = "" if s.fold == "." else f"{s.fold} "
    files = ", ".join(display_path(f) for f in s.split.files())
    d = s.data
    parts = [counted(d.examples, "example")]
    if d.examples:
        parts[0] += f" ({counted(d.facts, 'fact')} over {counted(len(d.fact_predicates), 'predicate')})"
    parts.append(counted(d.query_lines, "query line"))
    return [f"{where}{s.role} {files}", "  " + ", ".join(parts), f"  {s.pairing.describe()}"]


def _check_text(report: CheckReport, warnings_count: int) -> str:
    lines: list[str] = []
    for files, summary in report.templates.items():
        lines += _template_text(files, summary)
    for split in report.splits:
        lines += _split_text(split)
    folds = len(report.sources.folds)
    status = "ok" + (f", {counted(folds, 'fold')}" if folds else "")
    lines.append(status + (f", {counted(warnings_count, 'warning')}" if warnings_count else ""))
    return "\n".join(lines)


def _check_json(report: CheckReport, warnings_count: int) -> dict[str, Any]:
    templates = []
    for files, t in report.templates.items():
        templates.append({
            "files": [display_path(f) for f in files],
            "rules": t.rules, "facts": t.facts, "declarations": t.declarations, "constraints": t.constraints,
            "predicates": {"rules": list(t.rule_predicates), "facts": list(t.fact_predicates),
                           "body_only": list(t.body_predicates), "builtins": list(t.builtins)},
            "weights": {"named": {w.name: {"shape": w.shape, "fixed": w.fixed, "uses": w.uses}
                                  for w in t.named_weights},
                        "unnamed": t.unnamed_weights, "unnamed_fixed": t.fixed_unnamed_weights},
        })
    splits = [{
        "fold": s.fold, "split": s.role,
        "examples_file": file_name(s.split.examples), "queries_file": file_name(s.split.queries),
        "examples": s.data.examples, "facts": s.data.facts, "fact_predicates": list(s.data.fact_predicates),
        "query_lines": s.data.query_lines, "queries": s.data.queries,
        "pairing": {"mode": s.pairing.mode.value, "description": s.pairing.describe()},
    } for s in report.splits]
    return {"templates": templates, "splits": splits, "folds": [f.name for f in report.sources.folds],
            "warnings": warnings_count}

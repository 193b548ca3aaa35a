"""``nlp ground``: ground a template on its data; print counts and timings."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from ..language.pairing import counted
from ..language.sources import Split, load_sources, load_split
from . import COMMANDS
from .common import (EXIT_OK, WarningCounter, add_grounding_arguments, add_sources_arguments, file_name,
                     read_template)

NAME = "ground"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp ground``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Ground TEMPLATE on DATA (every split and fold) and report, per split: samples, ground rules "
                    "per rule, atoms/facts/derived per predicate, iterations and the time of each stage. Only "
                    "what the queries reach is kept.")
    add_sources_arguments(p)
    p.add_argument("--print", dest="print_rules", action="store_true",
                   help="also list the ground rules ([example] head :- body.), for small inputs")
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    add_grounding_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp ground``: ground every split; print statistics (and the ground rules with --print)."""
    from ..logic.samples import ground_samples

    sources = load_sources(args.template, args.data, args.queries)
    reports = []
    progress = sys.stderr.isatty() and not args.json
    for unit in (sources, *sources.folds):
        started = time.perf_counter()
        template = read_template(unit.template, args.data, NAME)
        template_seconds = time.perf_counter() - started
        splits = list(unit.splits()) or [("template", Split())]
        for role, split in splits:
            started = time.perf_counter()
            data = load_split(split)
            seconds = {"parse": template_seconds + time.perf_counter() - started}
            g = ground_samples(template, data.examples, data.query_lines, allow_underivable=args.allow_underivable,
                               progress=progress, examples_file=file_name(split.examples),
                               queries_file=file_name(split.queries))
            seconds.update(g.seconds)
            counts = g.program.counts()
            report = {"fold": unit.name, "split": role, "examples": len(data.examples), "samples": len(g.samples),
                      "pairing": g.pairing.describe(), "underivable_dropped": len(g.underivable),
                      "iterations": g.stats.iterations if g.stats else 0, "seconds": seconds, **counts}
            if args.print_rules:
                report["ground_rule_lines"] = list(g.program.ground_rule_lines())
            reports.append(report)
    if args.json:
        print(json.dumps({"splits": reports, "warnings": counter.count}, indent=2))
    else:
        print(_ground_text(reports, counter.count))
    return EXIT_OK


def _ground_text(reports: list[dict[str, Any]], warnings_count: int) -> str:
    lines: list[str] = []
    for r in reports:
        where = "" if r["fold"] == "." else f"{r['fold']} "
        lines.append(f"{where}{r['split']}: {r['pairing']} -> {counted(r['samples'], 'sample')}"
                     + (f" ({r['underivable_dropped']} underivable dropped)" if r["underivable_dropped"] else ""))
        lines.append(f"  {counted(r['ground_rules'], 'ground rule')} in {counted(r['groups'], 'aggregation group')}; "
                     f"{counted(r['atoms'], 'atom')} ({counted(r['facts'], 'input fact')}, {r['derived']} derived); "
                     f"{counted(r['iterations'], 'iteration')}")
        lines.append("  time: " + ", ".join(f"{k} {v:.3f} s" for k, v in r["seconds"].items()))
        lines.append("  ground rules per rule:")
        for rule in r["rules"]:
            lines.append(f"    {rule['ground_rules']:>9}  {rule['rule']}")
        lines.append("  atoms per predicate (facts, derived):")
        for name, c in r["predicates"].items():
            lines.append(f"    {c['atoms']:>9}  {name} ({c['facts']}, {c['derived']})")
        if "ground_rule_lines" in r:
            lines.append("  ground rules:")
            lines += [f"    {line}" for line in r["ground_rule_lines"]]
    lines.append("ok" + (f", {counted(warnings_count, 'warning')}" if warnings_count else ""))
    return "\n".join(lines)

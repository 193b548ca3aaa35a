"""``nlp query``: answer a logical query over a template and its data (no learning)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import NeuralogicError
from ..language.sources import load_sources, load_split
from . import COMMANDS
from .common import EXIT_OK, WarningCounter, add_memory_argument, read_template

NAME = "query"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp query``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Evaluate TEMPLATE's rules over DATA's examples and print the substitutions that make GOAL "
                    "true, one per line (e.g. X=1, Y=b). Ints stay ints; typed constants print with their type. "
                    "A ground GOAL prints true or false.")
    p.add_argument("template", metavar="TEMPLATE", help="template file (or a sources directory)")
    p.add_argument("items", metavar="[DATA] GOAL", nargs="+",
                   help="examples file or sources directory (optional), then the goal atom, e.g. 'h(X, Y)'")
    p.add_argument("--json", action="store_true", help="print the answers as JSON")
    add_memory_argument(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp query``: answers to one goal in each example of the training split."""
    from ..logic.query import parse_goal, query_examples

    if len(args.items) > 2:
        raise NeuralogicError(f"expected [DATA] GOAL, got {len(args.items)} arguments after the template",
                              hint="quote the goal: nlp query rules.txt data.txt 'h(X, Y)'")
    data, goal_text = (args.items[0], args.items[1]) if len(args.items) == 2 else (None, args.items[0])
    goal = parse_goal(goal_text)
    sources = load_sources(args.template, data)
    template = read_template(sources.template, data, NAME)
    examples = load_split(sources.train).examples if sources.train else ()
    per_example = query_examples(template, goal, examples)
    variables = goal.variables()
    if args.json:
        print(json.dumps([[{k: _json_value(v) for k, v in a.items()} for a in answers]
                          for answers in per_example], indent=2))
        return EXIT_OK
    lines = []
    for e, answers in enumerate(per_example):
        prefix = f"example {e + 1}: " if len(per_example) > 1 else ""
        if not any(True for v in variables if not v.is_anonymous):
            lines.append(prefix + ("true" if answers else "false"))
            continue
        if not answers:
            lines.append(prefix + "no answers")
        lines += [prefix + ", ".join(f"{k}={_text_value(v)}" for k, v in a.items()) for a in answers]
    print("\n".join(lines))
    return EXIT_OK


def _text_value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def _json_value(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) else str(value)

"""``nlp export-weights MODEL [OUT]``: a saved model's weights as a weights file (name -> value)."""

from __future__ import annotations

import argparse
import json

from ..errors import display_path
from ..language.sources import existing_path
from ..output import write_atomic
from . import COMMANDS
from .common import EXIT_OK, WarningCounter

NAME = "export-weights"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp export-weights``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Write the weights of MODEL (a model.json written by nlp train) as a weights file: one JSON "
                    "object mapping each parameter's name to its value (a number for a scalar, a flat list for a "
                    "column vector, [[...]] for a row, a list of rows for a matrix; docs/neural.md). nlp predict "
                    "TEMPLATE DATA --weights FILE reads it back.")
    p.add_argument("model", metavar="MODEL", help="a saved model (model.json)")
    p.add_argument("out", metavar="OUT", nargs="?", help="the weights file to write (default: standard output)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp export-weights``: the model's parameters by name, to OUT (atomically) or standard output."""
    from ..learn.model import Model

    model = Model.load(existing_path(args.model, "model"))
    text = json.dumps(model.store.to_json(), indent=1) + "\n"
    if args.out is None:
        print(text, end="")
    else:
        print(f"wrote {display_path(write_atomic(args.out, text))}")
    return EXIT_OK

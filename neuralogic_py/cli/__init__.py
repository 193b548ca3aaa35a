"""The ``nlp`` command line: one module per subcommand, one place for errors.

``main`` parses the arguments and runs a subcommand under :func:`~.common.run_command`, which
turns what a user can get wrong into a message and an exit code, never a traceback:

=====  ==============================================================
0      success
1      ``--strict`` and a warning was raised
2      an error in the input (syntax, validation, missing file) or usage
130    interrupted (Ctrl-C)
=====  ==============================================================

A subcommand is a module ``neuralogic_py.cli.<name>`` with ``NAME``, ``HELP`` (its line in
``nlp --help``, kept in :data:`COMMANDS`), ``add(subparsers, common)``, which declares its arguments
(``common`` holds the options every command takes, such as ``--strict``) and sets ``run``, and
``run(args, warnings) -> int``. Add its name and help line to ``COMMANDS`` (``export-weights`` is the
module ``export_weights``). Only the chosen
subcommand's module is imported, so a command may import what it needs at its top without
slowing down the others or ``nlp --help``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Collection, Sequence

from importlib import import_module
from types import ModuleType

from .. import __version__
from .common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_STRICT, WarningCounter, run_command

__all__ = ["COMMANDS", "command", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_STRICT", "WarningCounter", "build_parser",
           "main", "run_command"]

COMMANDS: dict[str, str] = {
    "check": "parse and validate a template and its data; print a summary",
    "ground": "ground a template on its data; print counts and timings",
    "query": "answer a logical query (no learning)",
    "predict": "compute each query's output with weights given by name",
    "compress": "print the neurons and edges before and after pruning and lifting",
    "train": "learn a template's weights from data; print metrics, save the model",
    "test": "evaluate a saved model on data",
    "export-weights": "write a saved model's weights as a weights file (name -> value)",
    "draw": "draw a template, or one example's ground or lifted network (DOT, SVG, PNG)",
    "plot": "plot a training run's loss and metric curves and its ROC and PR curves",
    "report": "write a self-contained report.html of a training run",
    "convert": "convert graph data (a TU Dortmund folder) to NeuraLogic examples and queries files",
    "datasets": "list the bundled datasets and templates (names usable as paths)",
}
"""Every subcommand by name, with its line in ``nlp --help``."""


def command(name: str) -> ModuleType:
    """The module implementing subcommand ``name`` (imported on first use)."""
    return import_module(f".{name.replace('-', '_')}", __name__)


def build_parser(declared: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The ``nlp`` parser; only the subcommands named in ``declared`` (default: all) get their arguments.

    The others are listed by name and help line, which is all ``nlp --help`` shows.
    """
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--strict", action="store_true", help="treat warnings as errors (exit 1)")
    parser = argparse.ArgumentParser(
        prog="nlp", description="Differentiable Datalog (Lifted Relational Neural Networks) in pure Python.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, line in COMMANDS.items():
        if declared is None or name in declared:
            command(name).add(subparsers, common)
        else:
            subparsers.add_parser(name, help=line)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``nlp`` with ``argv`` (default: the process's arguments); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)  # `nlp` itself takes only flags
    parser = build_parser([command] if command else [])
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version and usage errors: argparse has printed them
        return int(e.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_ERROR
    return run_command(args.run, args)

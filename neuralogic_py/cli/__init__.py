"""The ``nlp`` command line: one module per subcommand, one place for errors.

``main`` parses the arguments and runs a subcommand under :func:`~.common.run_command`, which
turns what a user can get wrong into a message and an exit code, never a traceback:

=====  ==============================================================
0      success
1      ``--strict`` and a warning was raised
2      an error in the input (syntax, validation, missing file) or usage
130    interrupted (Ctrl-C)
=====  ==============================================================

A subcommand is a module with ``NAME``, ``HELP`` (its line in ``nlp --help``),
``add(subparsers, common)``, which declares its arguments (``common`` holds the options every
command takes, such as ``--strict``) and sets ``run``, and ``run(args, warnings) -> int``. Add
the module to ``COMMANDS``. Only the chosen subcommand's arguments are declared, so a command's
``add`` may import what its choices need without slowing down the others or ``nlp --help``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Collection, Sequence

from .. import __version__
from . import check, compress, ground, predict, query, test, train
from .common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_STRICT, WarningCounter, run_command

__all__ = ["COMMANDS", "EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_STRICT", "WarningCounter", "build_parser",
           "main", "run_command"]

COMMANDS = (check, ground, query, predict, compress, train, test)


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
    for command in COMMANDS:
        if declared is None or command.NAME in declared:
            command.add(subparsers, common)
        else:
            subparsers.add_parser(command.NAME, help=command.HELP)
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

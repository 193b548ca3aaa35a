"""``nlp report OUT``: a self-contained OUT/report.html about a training run."""

from __future__ import annotations

import argparse
import sys

from ..errors import display_path
from . import COMMANDS
from .common import EXIT_OK, WarningCounter, output_folder

NAME = "report"
HELP = COMMANDS[NAME]
REPORT = "report.html"


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp report``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Read the folder OUT of an nlp train run and write OUT/report.html, one page that needs no "
                    "network access: the run's settings, data sizes, training curves, final metrics with ROC and "
                    "PR curves, compression table and the template drawn. Curves need matplotlib (pip install "
                    "'neuralogic_py[plot]'), the drawing Graphviz's dot program (Debian package graphviz); "
                    "without them the page says what is missing.")
    p.add_argument("out", metavar="OUT", help="the --out folder of an nlp train run")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp report``: report.html, written into the run's folder."""
    from ..draw.report import report_html
    from ..draw.run import read_run

    page, notes = report_html(read_run(args.out))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    with output_folder(args.out, "report") as folder:
        path = folder.write(REPORT, page)
        folder.commit()
    print(f"wrote {display_path(path)}")
    return EXIT_OK

"""``nlp plot OUT``: a training run's loss and metric curves and its ROC and PR curves, as images in OUT/plots/."""

from __future__ import annotations

import argparse

from ..errors import NeuralogicError, display_path
from . import COMMANDS
from .common import EXIT_OK, WarningCounter, output_folder

NAME = "plot"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp plot``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Read the folder OUT of an nlp train run and draw, with matplotlib (pip install "
                    "'neuralogic_py[plot]'), OUT/plots/curves.png (per epoch: losses, and the accuracy, AUC-ROC and "
                    "AUC-PR of the selection set, from history.csv) and OUT/plots/roc_pr.png (the ROC and "
                    "precision-recall curves of every split's final predictions, for a binary task).")
    p.add_argument("out", metavar="OUT", help="the --out folder of an nlp train run")
    p.add_argument("--format", choices=("png", "svg", "pdf"), default="png", help="image format (default png)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp plot``: the run's figures, written into its folder."""
    from ..draw.plots import figure_class, figures, image
    from ..draw.run import read_run

    run = read_run(args.out)
    figure_class()  # matplotlib is there, before any work
    made = figures(run)
    if not made:
        raise NeuralogicError(f"nothing to plot in {run.name}: no history.csv and no predictions of a binary task",
                              hint="history.csv is written by nlp train (this version and later)")
    with output_folder(args.out, "plot") as folder:
        paths = [folder.write(f"plots/{name}.{args.format}", image(figure, args.format))
                 for name, figure in made.items()]
        folder.commit()
    print("wrote " + ", ".join(display_path(p) for p in paths))
    return EXIT_OK

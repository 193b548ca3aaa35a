"""``nlp test``: evaluate a saved model on data."""

from __future__ import annotations

import argparse
import contextlib

from ..errors import NeuralogicError, display_path
from ..language.sources import existing_path
from . import COMMANDS
from .common import (EXIT_OK, WarningCounter, add_grounding_arguments, add_progress_argument, output_folder,
                     require_queries)

NAME = "test"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp test``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Load MODEL (a model.json written by nlp train) and print the metrics of DATA: an examples "
                    "file, or a sources directory (each of its train, val and test splits).")
    p.add_argument("model", metavar="MODEL", help="a saved model (model.json)")
    p.add_argument("data", metavar="DATA", help="examples file or sources directory")
    p.set_defaults(bundled=("data",))
    p.add_argument("-q", "--queries", metavar="Q", help="queries file (replaces the directory's training queries)")
    p.add_argument("--out", metavar="DIR",
                   help="also write evaluation.json and evaluation/<split>.tsv into this folder")
    add_progress_argument(p)
    add_grounding_arguments(p)
    p.set_defaults(run=run)



def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp test``: metrics of every split of DATA under a saved model."""
    from ..learn import report
    from ..learn.dataset import data_splits
    from ..learn.model import Model
    from ..learn.model_file import is_model_file

    if not is_model_file(existing_path(args.model, "model")) and is_model_file(args.data):
        raise NeuralogicError(f"{display_path(args.model)} is not a saved model, but {display_path(args.data)} is",
                              hint=f"the model comes first: nlp test {args.data} {args.model}")
    with output_folder(args.out, NAME) if args.out else contextlib.nullcontext() as folder:
        model = Model.load(existing_path(args.model, "model"))
        evaluations, predictions = {}, {}
        for role, data in data_splits(args.data, args.queries):
            require_queries(data, "evaluate", f"nlp test {args.model} {args.data} --queries QUERIES")
            evaluations[role] = model.evaluate(data, allow_underivable=args.allow_underivable)
            predictions[role] = model.predict(data, allow_underivable=args.allow_underivable)
            print(report.split_line(role, evaluations[role]))
        if folder is None:
            return EXIT_OK
        paths = report.write_predictions(folder, predictions, "evaluation")
        paths.append(folder.write("evaluation.json", report.json_text({
            "command": "test", "model": display_path(args.model),
            "evaluations": {role: e.as_dict() for role, e in evaluations.items()}})))
        folder.commit()
    print(report.written_line(paths))
    return EXIT_OK

"""``nlp predict``: each query's output, under weights given by name or a saved model's."""

from __future__ import annotations

import argparse
import json

from ..errors import NeuralogicError
from ..language.sources import load_sources, load_split
from ..output import write_atomic
from . import COMMANDS
from .common import (EXIT_OK, WarningCounter, add_grounding_arguments, add_profile_argument, add_progress_argument,
                     file_name, integer, no_data_error, read_template)

NAME = "predict"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp predict``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        usage="nlp predict MODEL DATA [options]\n       nlp predict TEMPLATE [DATA] [--weights WEIGHTS] [options]",
        description="Write each query's output, in query order, as {\"outputs\": [...]} (a number per scalar "
                    "output, a flat list per column vector). With MODEL (a model.json written by nlp train), under "
                    "its trained weights; with TEMPLATE, under the weights --weights gives by name (a weights file: "
                    "the conformance weights.json format, as nlp export-weights writes it, or a model.json), the "
                    "others keeping their written values or drawn (--seed). DATA is an examples file or a sources "
                    "directory (its training split, or its test split when it has no training split).")
    p.add_argument("template", metavar="MODEL|TEMPLATE",
                   help="a saved model (model.json), or a template file or sources directory (then DATA may be "
                        "omitted)")
    p.add_argument("data", metavar="DATA", nargs="?", help="examples file or sources directory")
    p.add_argument("-q", "--queries", metavar="Q", help="queries file (replaces the directory's training queries)")
    p.add_argument("--weights", metavar="WEIGHTS",
                   help="weights by name: a weights file ({\"name\": value, ...}) or a model.json, whose trained "
                        "weights are taken")
    p.add_argument("--output", "-o", metavar="FILE", help="write the outputs here (default: standard output)")
    add_profile_argument(p)
    p.add_argument("--seed", type=integer(0), default=0, help="seed for weights written by shape only (default 0)")
    add_progress_argument(p)
    add_grounding_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp predict``: outputs of every query under the given weights."""
    from ..learn.model import Model
    from ..learn.model_file import is_model_file
    from ..neural.parameters import block_to_json
    from ..neural.predict import build, finite_outputs
    from ..neural.settings import PROFILES

    if is_model_file(args.template):
        return _predict_with_model(args)
    sources = load_sources(args.template, args.data, args.queries)
    template = read_template(sources.template, args.data, NAME)
    split = sources.train or sources.test
    if not split:
        raise no_data_error("predict for")
    data = load_split(split)
    compiled = build(template, data.examples, data.query_lines,
                     settings=PROFILES[args.profile], seed=args.seed, allow_underivable=args.allow_underivable,
                     examples_file=file_name(split.examples), queries_file=file_name(split.queries))
    if args.weights and is_model_file(args.weights):
        compiled.store.load(Model.load(args.weights).parameters(), strict=False)
    elif args.weights:
        compiled.store.load_json(args.weights, warn_missing=True)
    text = json.dumps({"outputs": [block_to_json(o) for o in finite_outputs(compiled, compiled.forward())]}, indent=1)
    return _emit(args, text)


def _predict_with_model(args: argparse.Namespace) -> int:
    """``nlp predict MODEL DATA``: a saved model's outputs, in the same format."""
    from ..learn.dataset import Dataset
    from ..learn.model import Model
    from ..learn.model_file import is_model_file

    if args.data is None:
        raise NeuralogicError("nlp predict MODEL needs DATA", hint="nlp predict model.json examples.txt")
    model = Model.load(args.template)
    if args.weights:
        model.load_parameters(Model.load(args.weights).parameters() if is_model_file(args.weights) else args.weights)
    predictions = model.predict(Dataset.load(args.data, args.queries), allow_underivable=args.allow_underivable)
    text = json.dumps(predictions.outputs_json(), indent=1)
    return _emit(args, text)


def _emit(args: argparse.Namespace, text: str) -> int:
    """The outputs to --output (written atomically) or to standard output."""
    if args.output:
        write_atomic(args.output, text + "\n")
    else:
        print(text)
    return EXIT_OK

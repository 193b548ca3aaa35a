"""``nlp compress``: the neurons and edges before and after pruning and lifting, without training."""

from __future__ import annotations

import argparse
import json
import time

from ..language.pairing import counted
from ..language.sources import load_sources, load_split
from . import COMMANDS
from .common import (EXIT_OK, WarningCounter, add_grounding_arguments, add_lifting_arguments, add_profile_argument,
                     add_sources_arguments, file_name, integer, lifting, no_data_error, read_template)

NAME = "compress"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp compress``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Ground TEMPLATE on DATA (its training split, or its test split when it has none), build the "
                    "neural network and print, without training, the neurons (facts, atoms, rules, aggregations) "
                    "and edges the queries reach: in the ground network, after exact chain pruning, and after "
                    "lifting within each example and across all examples, with the time each stage took.")
    add_sources_arguments(p)
    add_lifting_arguments(p)
    add_profile_argument(p)
    p.add_argument("--seed", type=integer(0), default=0, help="seed of the value method's weight draws (default 0)")
    p.add_argument("--json", action="store_true", help="print the statistics as JSON")
    add_grounding_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp compress``: the compression statistics of a template on its data, without training."""
    from ..logic.samples import ground_samples
    from ..neural.compression import SCOPES, compress, report_lines
    from ..neural.network import neuralize
    from ..neural.parameters import ParameterStore
    from ..neural.settings import PROFILES

    sources = load_sources(args.template, args.data, args.queries)
    split = sources.train or sources.test
    if not split:
        raise no_data_error("compress")
    started = time.perf_counter()
    template = read_template(sources.template, args.data, NAME)
    data = load_split(split)
    seconds = {"parse": time.perf_counter() - started}
    started = time.perf_counter()
    grounding = ground_samples(template, data.examples, data.query_lines, allow_underivable=args.allow_underivable,
                               examples_file=file_name(split.examples), queries_file=file_name(split.queries))
    seconds["ground"] = time.perf_counter() - started
    started = time.perf_counter()
    network = neuralize(template, grounding, ParameterStore.from_template(template), PROFILES[args.profile])
    seconds["neuralize"] = time.perf_counter() - started
    reports = [compress(network, lifting(args, scope))[1] for scope in SCOPES[::-1]]
    stages = reports[0].stages[:2] + [r.stages[-1] for r in reports[:len(reports) if args.lifting != "none" else 0]]
    if args.json:
        print(json.dumps({"samples": len(network.samples), "seconds": seconds,
                          "lifting": reports[-1].as_dict()["lifting"],
                          "stages": [stage.as_dict() for stage in stages], "warnings": counter.count}, indent=2))
        return EXIT_OK
    print(f"{counted(len(network.samples), 'sample')} in {counted(len(data.examples), 'example')}; "
          + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items()))
    print("\n".join(report_lines(len(network.samples), stages, kinds=True)))
    return EXIT_OK

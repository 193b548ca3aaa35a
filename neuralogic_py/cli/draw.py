"""``nlp draw``: a template, or one example's ground or lifted network, as DOT, SVG or PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..errors import NeuralogicError, display_path
from ..language.pairing import counted
from ..language.sources import load_sources, load_split
from ..output import write_atomic
from . import COMMANDS
from .common import (EXIT_OK, WarningCounter, add_grounding_arguments, add_profile_argument, add_sources_arguments,
                     file_name, integer, no_data_error, read_template)

NAME = "draw"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp draw``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Draw TEMPLATE's predicates and rules, or (--network) one example's neural network: ground "
                    "(every neuron by kind, edges with their weight names) or lifted (after chain pruning and "
                    "structural lifting, each neuron with how many it stands for). Writes DOT text, or SVG / PNG "
                    "through Graphviz's dot program (Debian package graphviz).")
    add_sources_arguments(p)
    p.add_argument("--network", choices=("ground", "lifted"),
                   help="draw one example's network instead of the template")
    p.add_argument("--split", choices=("train", "val", "test"),
                   help="the split whose examples --network draws (default: train, else test)")
    p.add_argument("--example", type=integer(1), default=1, metavar="N",
                   help="the example to draw (1-based, default 1)")
    p.add_argument("--query", metavar="ATOM",
                   help="draw only what this atom of the example depends on (e.g. 'layer1(a2)')")
    p.add_argument("--depth", type=integer(0), metavar="D",
                   help="draw neurons at most D edges below the outputs (or --query); without it a network of more "
                        "than 400 neurons is cut to fit, and the drawing says so")
    p.add_argument("--format", choices=("dot", "svg", "png"),
                   help="output format (default: from the --output suffix, else dot)")
    p.add_argument("--output", "-o", metavar="FILE", help="write here (default: standard output)")
    add_profile_argument(p)
    add_grounding_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp draw``: the drawing, written to --output or standard output."""
    from ..draw import draw_ground, draw_lifted, draw_template
    from ..draw.dot import format_of, require_graphviz

    format = format_of(args.output, args.format) if args.output else (args.format or "dot")
    if format != "dot":
        require_graphviz(format)  # before any work
    sources = load_sources(args.template, args.data, args.queries)
    template = read_template(sources.template, args.data, NAME)
    if args.network is None:
        drawing = draw_template(template, ", ".join(display_path(f) for f in sources.template))
    else:
        drawing = _network_drawing(args, sources, template, draw_ground if args.network == "ground" else draw_lifted)
    for note in drawing.notes[1:]:
        print(f"note: {note}", file=sys.stderr)
    content = drawing.as_format(format)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(args.output, content)
        print(f"wrote {display_path(args.output)}")
    elif isinstance(content, bytes):
        sys.stdout.buffer.write(content)
    else:
        sys.stdout.write(content)
    return EXIT_OK


def _network_drawing(args: argparse.Namespace, sources: Any, template: Any, draw: Any) -> Any:
    """One example's network of the chosen split, drawn by ``draw`` (:func:`draw_ground` or :func:`draw_lifted`)."""
    from ..draw.network import UnknownAtom
    from ..logic.samples import ground_samples
    from ..neural.network import neuralize
    from ..neural.parameters import ParameterStore
    from ..neural.settings import PROFILES

    split = getattr(sources, args.split) if args.split else (sources.train or sources.test)
    if not split:
        raise no_data_error("draw")
    data = load_split(split)
    grounding = ground_samples(template, data.examples, data.query_lines, allow_underivable=args.allow_underivable,
                               examples_file=file_name(split.examples), queries_file=file_name(split.queries))
    if args.example > max(len(data.examples), 1):
        raise NeuralogicError(f"--example {args.example}: {file_name(split.examples)} holds "
                              f"{counted(len(data.examples), 'example')}")
    network = neuralize(template, grounding, ParameterStore.from_template(template), PROFILES[args.profile])
    span = data.examples[args.example - 1].span if data.examples else None
    name = f"example {args.example}" + (f" ({display_path(span.file)}:{span.line})" if span and span.file else "")
    try:
        return draw(template, network, args.example - 1, args.query, args.depth, name=name)
    except UnknownAtom as e:  # at the example it looked in
        raise UnknownAtom(e.message, span, e.hint) from None

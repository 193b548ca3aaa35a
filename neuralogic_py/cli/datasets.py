"""``nlp datasets``: the bundled datasets, one line each, and the bundled templates."""

from __future__ import annotations

import argparse

from ..errors import display_path
from . import COMMANDS
from .common import EXIT_OK, WarningCounter

NAME = "datasets"
HELP = COMMANDS[NAME]


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp datasets``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="List the datasets and templates that ship with neuralogic_py: for each dataset its splits, "
                    "how its queries pair with its examples and its template. Where a command takes a template or "
                    "data path, a bundled name (carbonyl, gnn) or repository path (datasets/carbonyl) that does "
                    "not exist in the current folder stands for the bundled item: nlp train carbonyl.")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp datasets``: one line per dataset, then the templates."""
    from .. import datasets

    names = datasets.names()
    width = max(map(len, names), default=0)
    print(f"datasets in {display_path(datasets.root() / datasets.DATASETS)} (train one: nlp train NAME):")
    for name in names:
        print(f"  {name:<{width}}  {describe(name)}")
    print(f"templates in {display_path(datasets.root() / datasets.TEMPLATES)}: {', '.join(datasets.template_names())}")
    return EXIT_OK


def describe(name: str) -> str:
    """``160 examples paired by order with 160 query lines; test 80; template: template.txt``."""
    from .. import datasets
    from ..language.pairing import infer_pairing

    if not datasets.splits(name):
        return other_folder(name)
    parts = []
    for split in datasets.splits(name):
        data = datasets.load(name, split)
        if split == "train":
            parts.append(infer_pairing(data.examples, data.query_lines).describe())
        else:
            parts.append(f"{split} {len(data.examples) or len(data.query_lines)}")
    try:
        template = datasets.template(name)
        shown = template.name if template.parent == datasets.path(name) else \
            f"{datasets.TEMPLATES}/{template.name}"
    except datasets.SourceError:
        shown = "none (name one)"
    return f"{'; '.join(parts)}; template: {shown}"


def other_folder(name: str) -> str:
    """A bundled folder that is not a sources directory: a TU Dortmund graph folder, say how to convert it."""
    from .. import datasets
    from ..errors import NeuralogicError
    from ..graphs.tu import read_tu

    try:
        tu = read_tu(datasets.path(name))
    except NeuralogicError:
        return "no examples or queries files"
    return (f"a TU Dortmund graph folder ({tu.name}, {len(tu.graphs)} graphs): "
            f"nlp convert tu {datasets.DATASETS}/{name} OUT makes examples and queries files")

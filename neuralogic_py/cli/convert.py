"""``nlp convert``: graph data in other formats -> a NeuraLogic examples file and queries file."""

from __future__ import annotations

import argparse
import sys
import time

from ..errors import display_path
from ..language.pairing import counted
from . import COMMANDS
from .common import EXIT_OK, WarningCounter, output_folder

NAME = "convert"
HELP = COMMANDS[NAME]
FORMATS = ("tu",)


def add(subparsers: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Declare ``nlp convert``'s arguments."""
    p = subparsers.add_parser(
        NAME, parents=[common], help=HELP,
        description="Read graph data in FORMAT from SOURCE and write OUT/examples.txt (one graph per line: node "
                    "features, edges, edge features) and OUT/queries.txt (its target), so that OUT is a data "
                    "folder for nlp train. Formats: tu, a TU Dortmund folder (NAME_A.txt, "
                    "NAME_graph_indicator.txt, NAME_graph_labels.txt, NAME_node_labels.txt, ...). Node i of a "
                    "graph is n<i>; by default its features are one vector fact '<[...]> feature(n<i>)', with "
                    "--unary one fact per label instead ('label3(n<i>)').")
    p.add_argument("format", choices=FORMATS, metavar="FORMAT", help="the source format: tu")
    p.add_argument("source", metavar="SOURCE", help="the folder holding the data")
    p.add_argument("out", metavar="OUT", help="the folder to write examples.txt and queries.txt into")
    p.add_argument("--name", help="the TU dataset name NAME (default: the one NAME_A.txt in SOURCE)")
    names = p.add_argument_group("predicates")
    names.add_argument("--feature", default="feature", help="node feature predicate (default feature)")
    names.add_argument("--edge", default="edge", help="edge predicate (default edge)")
    names.add_argument("--edge-feature", default="edge_feature", help="edge feature predicate (default edge_feature)")
    names.add_argument("--output", default="predict", help="query predicate (default predict)")
    names.add_argument("--node-prefix", default="n", metavar="PREFIX",
                       help="node constants are PREFIX<i> (default n; '' for plain numbers)")
    names.add_argument("--unary", action="store_true",
                       help="one fact per node label or attribute (label<L>(n<i>), valued when not 1) instead of a "
                            "feature vector")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, counter: WarningCounter) -> int:
    """``nlp convert``: read, encode, write atomically, then one summary line."""
    from ..graphs import GraphEncoding, examples_text, queries_text, read_tu

    started = time.perf_counter()
    encoding = GraphEncoding(feature=args.feature, edge=args.edge, edge_feature=args.edge_feature,
                             output=args.output, node_prefix=args.node_prefix, unary=args.unary)
    with output_folder(args.out, NAME) as out:
        data = read_tu(args.source, args.name, progress=lambda line: print(line, file=sys.stderr, flush=True))
        print(f"encoding {counted(len(data.graphs), 'graph')}", file=sys.stderr, flush=True)
        dataset = data.to_dataset(encoding)
        print(f"writing {display_path(out.path)}", file=sys.stderr, flush=True)
        out.write("examples.txt", examples_text(dataset))
        out.write("queries.txt", queries_text(dataset))
        out.commit()
    nodes = sum(g.num_nodes for g in data.graphs)
    edges = sum(g.num_edges for g in data.graphs)
    classes = f", classes {', '.join(map(str, data.classes))}" if data.classes else ""
    print(f"{data.name}: {counted(len(data.graphs), 'graph')}, {counted(nodes, 'node')}, {counted(edges, 'edge')}, "
          f"{len(data.node_columns)} node and {len(data.edge_columns)} edge feature columns{classes} -> "
          f"{display_path(out.path / 'examples.txt')}, {display_path(out.path / 'queries.txt')} "
          f"({time.perf_counter() - started:.1f} s)")
    return EXIT_OK

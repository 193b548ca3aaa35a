"""Parsing speed: the template parser, and the data path (fast scanner) against lark on the same data.

    python benchmarks/parse.py                 # from the repository root
    python benchmarks/parse.py --lark-bytes 600000 --repeat 5

Prints MB/s (MB = 10^6 characters of text; the shared files are ASCII) and, for each data
file, the ratio scanner rate / lark rate. lark is timed on a prefix of the file (whole
statements, or the first facts of a one-statement knowledge base) because it takes about a
minute on the 5 MB NCI file. Times are the best of ``--repeat`` runs; reading the file
from disk is not included, except in the final ``load_examples`` line (the issue's goal:
the NCI examples file loads in under 1 s).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from neuralogic_py.language.data import load_examples, parse_examples, parse_queries
from neuralogic_py.language.parser import parse_template
from timing import best_time

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
TEMPLATES = ["conformance/c11_mutagenesis_gnn/template.txt", "conformance/c12_nations_triples/template.txt"]
DATA = [
    ("datasets/nci_gi50/786_0/examples.txt", parse_examples),
    ("datasets/kbs/kinships/examples.txt", parse_examples),
    ("datasets/kbs/kinships/queries.txt", parse_queries),
]
_STATEMENT_END = re.compile(r"\.(?!\d)")


def prefix(text: str, size: int) -> str:
    """The first whole statements of ``text`` covering ``size`` characters; when the first
    statement alone is much longer (a knowledge base), its first facts closed with '.'."""
    if len(text) <= size:
        return text
    end = _STATEMENT_END.search(text, size)
    if end is not None and end.end() < 2 * size:
        return text[:end.end()]
    cut = text.find(",\n", size)
    return text[:cut] + "." if cut >= 0 else text


def shared(relative: str) -> Path | None:
    path = SHARED / relative
    if not path.is_file():
        print(f"  skipped: {path} not found")
        return None
    return path


def rate(chars: int, seconds: float) -> float:
    return chars / seconds / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement, best is kept (default 3)")
    parser.add_argument("--lark-bytes", type=int, default=300_000, help="prefix lark reads (default 300000)")
    parser.add_argument("--template-copies", type=int, default=20, help="parses per template (default 20)")
    args = parser.parse_args()

    print("template parser (lark + validation)")
    for relative in TEMPLATES:
        path = shared(relative)
        if path is None:
            continue
        text = path.read_text()
        seconds = best_time(lambda: [parse_template(text, relative) for _ in range(args.template_copies)],
                            args.repeat)
        print(f"  {relative:<52} {len(text) / 1e3:7.1f} kB x {args.template_copies}: "
              f"{rate(len(text) * args.template_copies, seconds):6.2f} MB/s")

    print("\ndata path: scanner vs lark (lark on a prefix)")
    print(f"  {'file':<42} {'size':>8} {'scanner':>12} {'lark':>11} {'ratio':>7}")
    for relative, parse in DATA:
        path = shared(relative)
        if path is None:
            continue
        text = path.read_text()
        fast = best_time(lambda: parse(text, relative), args.repeat)
        head = prefix(text, args.lark_bytes)
        slow = best_time(lambda: parse(head, relative, fast=False), 1)
        assert parse(head, relative) == parse(head, relative, fast=False), "scanner and lark disagree"
        fast_rate, slow_rate = rate(len(text), fast), rate(len(head), slow)
        print(f"  {relative:<42} {len(text) / 1e6:6.2f}MB {fast_rate:7.2f} MB/s {slow_rate:6.2f} MB/s "
              f"{fast_rate / slow_rate:6.1f}x")

    path = shared(DATA[0][0])
    if path is not None:
        seconds = best_time(lambda: load_examples(path), args.repeat)
        examples = load_examples(path)
        print(f"\nload_examples({DATA[0][0]}): {seconds:.2f} s for {len(examples)} examples, "
              f"{sum(len(e.facts) for e in examples)} facts (goal: under 1 s)")


if __name__ == "__main__":
    main()

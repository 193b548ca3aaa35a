"""Data to train or evaluate on: examples and the query lines that pair with them.

A :class:`Dataset` is what one grounding reads: examples and query lines (either may
be empty) and the files they came from, for messages. ``Dataset.load`` reads a file
or the training split of a sources directory; ``Dataset.concat`` joins several
(external cross-validation folds) and remembers which part each example came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import NeuralogicError, display_path
from ..language import ir
from ..language.pairing import PairingMode, infer_pairing
from ..language.sources import SPLIT_NAMES, Split, existing_path, load_split
from ..neural.parameters import block_value


@dataclass(frozen=True)
class Dataset:
    """Examples and query lines (see the module docstring). ``parts`` gives, for data joined by
    :meth:`concat`, the number of examples of each part, in order."""

    examples: tuple[ir.Example, ...] = ()
    query_lines: tuple[ir.QueryLine, ...] = ()
    examples_file: str | None = None
    queries_file: str | None = None
    parts: tuple[int, ...] = ()

    @classmethod
    def from_split(cls, split: Split) -> Dataset:
        data = load_split(split)
        return cls(data.examples, data.query_lines, _name(split.examples), _name(split.queries))

    @classmethod
    def load(cls, data: str | Path, queries: str | Path | None = None) -> Dataset:
        """An examples file (with ``queries`` optionally) or a sources directory's training split."""
        return cls.from_split(_training_split(Path(data), queries))

    @classmethod
    def concat(cls, parts: Sequence[Dataset]) -> Dataset:
        """One dataset holding every part's examples and query lines, in order."""
        return cls(tuple(e for p in parts for e in p.examples), tuple(q for p in parts for q in p.query_lines),
                   ", ".join(p.examples_file for p in parts if p.examples_file) or None,
                   ", ".join(p.queries_file for p in parts if p.queries_file) or None,
                   tuple(len(p.examples) for p in parts))

    def __bool__(self) -> bool:
        return bool(self.examples or self.query_lines)

    def describe(self) -> str:
        files = [f for f in (self.examples_file, self.queries_file) if f]
        return ", ".join(files) if files else f"{len(self.examples)} examples"

    def targets(self) -> list[np.ndarray]:
        """The target of every query written in the data, as 2-D blocks (unlabelled queries skipped)."""
        queries = [q for e in self.examples for q in e.queries] + [q for line in self.query_lines for q in line.queries]
        return [block_value(q.target) for q in queries if q.target is not None]

    def query_predicates(self) -> set[tuple[str, int]]:
        queries = [q for e in self.examples for q in e.queries] + [q for line in self.query_lines for q in line.queries]
        return {(q.atom.predicate, q.atom.arity) for q in queries}

    def part_of_examples(self) -> np.ndarray:
        """For each example, the index of the part it came from (all 0 for data not joined)."""
        sizes = self.parts or (len(self.examples),)
        return np.repeat(np.arange(len(sizes)), sizes)

    def is_knowledge_base(self) -> bool:
        pairing = infer_pairing(self.examples, self.query_lines)
        return pairing.mode is PairingMode.KNOWLEDGE_BASE


def _name(path: Path | None) -> str | None:
    return display_path(path) if path is not None else None


def _training_split(path: Path, queries: str | Path | None) -> Split:
    """The files to read for ``path``: itself (a file) or a directory's training files."""
    resolved = existing_path(path, "data")
    query_file = existing_path(queries, "queries file") if queries is not None else None
    if not resolved.is_dir():
        return Split(resolved, query_file)
    example_names, query_names = SPLIT_NAMES["train"]
    examples = next((resolved / n for n in example_names if (resolved / n).is_file()), None)
    found_queries = next((resolved / n for n in query_names if (resolved / n).is_file()), None)
    if examples is None and found_queries is None and query_file is None:
        raise NeuralogicError(f"no training data in {display_path(resolved)}: looked for "
                              f"{', '.join(example_names + query_names)}")
    return Split(examples, query_file or found_queries)

"""Data to train or evaluate on: examples and the query lines that pair with them.

A :class:`Dataset` is what one grounding reads: examples and query lines (either may
be empty) and the files they came from, for messages. ``Dataset.load`` reads a file
or the training split of a sources directory; ``Dataset.concat`` joins several;
:func:`items_dataset` holds data built in Python (a list of examples and query lines, e.g.
made with :mod:`neuralogic_py.language.dsl`). :class:`DataFiles` stands for a split's files that are
read chunk by chunk as they are grounded (:mod:`neuralogic_py.neural.chunked`), never
whole (:meth:`DataFiles.read` reads them whole).

External cross-validation folds (``fold_*`` folders, :func:`external_folds`) come in
two layouts, told apart per fold:

* a fold with a test split (``testExamples.txt`` / ``testQueries.txt``) is a whole
  train/test split of its own: train on its training files, test on its test files;
* a fold with only training files is one part of a partition: test on it, train on
  the other folds' training files joined (in fold order). Folds paired by order or by
  id join cleanly; a knowledge base (one example per fold) cannot be joined and needs
  the first layout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import NeuralogicError, display_path
from ..language import ir
from ..language.chunks import Chunk, Part, file_pairing, read_chunks, read_statement_groups, statements
from ..language.data import parse_examples, parse_queries
from ..language.pairing import PairingMode, counted, infer_pairing
from ..language.sources import SPLIT_NAMES, Sources, Split, beside_queries, existing_path, load_split
from ..neural.parameters import block_value


@dataclass(frozen=True)
class Dataset:
    """Examples and query lines (see the module docstring)."""

    examples: tuple[ir.Example, ...] = ()
    query_lines: tuple[ir.QueryLine, ...] = ()
    examples_file: str | None = None
    queries_file: str | None = None

    @classmethod
    def from_split(cls, split: Split) -> Dataset:
        data = load_split(split)
        return cls(data.examples, data.query_lines, _name(split.examples), _name(split.queries))

    @classmethod
    def load(cls, data: str | Path, queries: str | Path | None = None) -> Dataset:
        """An examples file (with ``queries`` optionally) or a sources directory's training split."""
        return cls.from_split(training_split(Path(data), queries))

    @classmethod
    def of(cls, items: Iterable[ir.Example | ir.QueryLine]) -> Dataset:
        """The examples and query lines among ``items`` (in their order), e.g. a list of DSL ``Example(...)``."""
        examples, query_lines = [], []
        for item in items:
            if isinstance(item, ir.Example):
                examples.append(item)
            elif isinstance(item, ir.QueryLine):
                query_lines.append(item)
            else:
                raise NeuralogicError(f"data items are examples and query lines, got {type(item).__name__}: "
                                      f"{str(item)[:60]}",
                                      hint="build them with neuralogic_py.language.dsl: Example(...), QueryLine(...)")
        return cls(tuple(examples), tuple(query_lines))

    @classmethod
    def concat(cls, parts: Sequence[Dataset]) -> Dataset:
        """One dataset holding every part's examples and query lines, in order."""
        return cls(tuple(e for p in parts for e in p.examples), tuple(q for p in parts for q in p.query_lines),
                   ", ".join(p.examples_file for p in parts if p.examples_file) or None,
                   ", ".join(p.queries_file for p in parts if p.queries_file) or None)

    def __bool__(self) -> bool:
        return bool(self.examples or self.query_lines)

    def describe(self) -> str:
        files = [f for f in (self.examples_file, self.queries_file) if f]
        return ", ".join(files) if files else counted(len(self.examples), "example")

    def targets(self) -> list[np.ndarray]:
        """The target of every query written in the data, as 2-D blocks (unlabelled queries skipped)."""
        queries = [q for e in self.examples for q in e.queries] + [q for line in self.query_lines for q in line.queries]
        return [block_value(q.target) for q in queries if q.target is not None]

    def query_predicates(self) -> set[tuple[str, int]]:
        queries = [q for e in self.examples for q in e.queries] + [q for line in self.query_lines for q in line.queries]
        return {(q.atom.predicate, q.atom.arity) for q in queries}

    def is_knowledge_base(self) -> bool:
        pairing = infer_pairing(self.examples, self.query_lines)
        return pairing.mode is PairingMode.KNOWLEDGE_BASE


@dataclass(frozen=True, eq=False)
class DataFiles:
    """A split's files, read chunk by chunk (:func:`~neuralogic_py.language.chunks.read_chunks`), never whole.

    It answers what training asks of a :class:`Dataset` (targets, queried predicates, whether
    it is a knowledge base) by passes over the files that keep one chunk in memory.
    """

    split: Split

    @classmethod
    def load(cls, data: str | Path, queries: str | Path | None = None) -> DataFiles:
        """The files :meth:`Dataset.load` would read."""
        return cls(training_split(Path(data), queries))

    @property
    def examples_file(self) -> str | None:
        return _name(self.split.examples)

    @property
    def queries_file(self) -> str | None:
        return _name(self.split.queries)

    @cached_property
    def pairing(self) -> PairingMode:
        return file_pairing(self.split)

    @cached_property
    def examples(self) -> int:
        """How many examples the examples file holds."""
        return sum(1 for _ in statements(self.split.examples)) if self.split.examples else 0

    @cached_property
    def query_lines(self) -> int:
        """How many query lines the queries file holds."""
        return sum(1 for _ in statements(self.split.queries)) if self.split.queries else 0

    @property
    def queried_by_lines(self) -> bool:
        """Whether chunks are cut in the query lines (a knowledge base, or queries on template facts)."""
        return self.pairing in (PairingMode.KNOWLEDGE_BASE, PairingMode.TEMPLATE_FACTS)

    def read(self) -> Dataset:
        """The files read whole."""
        return Dataset.from_split(self.split)

    def __bool__(self) -> bool:
        return bool(self.split)

    def describe(self) -> str:
        return ", ".join(f for f in (self.examples_file, self.queries_file) if f)

    def chunks(self, size: int) -> Iterator[Chunk]:
        return read_chunks(self.split, size, Part(self.pairing))  # the pairing found once, not again

    def _queries(self) -> Iterator[ir.Query]:
        """Every query written in the files (one pass over the queries file, or the examples if labelled)."""
        if self.split.queries is not None:
            for lines in read_statement_groups(self.split.queries, _PASS, parse_queries):
                yield from (q for line in lines for q in line.queries)
        elif self.split.examples is not None:
            for examples in read_statement_groups(self.split.examples, _PASS, parse_examples):
                yield from (q for e in examples for q in e.queries)

    def targets(self) -> list[np.ndarray]:
        return [block_value(q.target) for q in self._queries() if q.target is not None]

    def query_predicates(self) -> set[tuple[str, int]]:
        return {(q.atom.predicate, q.atom.arity) for q in self._queries()}

    def is_knowledge_base(self) -> bool:
        return self.pairing is PairingMode.KNOWLEDGE_BASE


_PASS = 1000  # examples per chunk of a pass over the files for targets


@dataclass(frozen=True)
class Fold:
    """One external fold: its name, template files, training and test data."""

    name: str
    template: tuple[Path, ...]
    train: Dataset
    test: Dataset


def external_folds(sources: Sources) -> list[Fold]:
    """The train/test data of each ``fold_*`` folder (layouts in the module docstring)."""
    loaded = [(fold, Dataset.from_split(fold.train) if fold.train else Dataset()) for fold in sources.folds]
    out = []
    for i, (fold, own) in enumerate(loaded):
        if fold.test:
            out.append(Fold(fold.name, fold.template, own, Dataset.from_split(fold.test)))
            continue
        others = [data for j, (other, data) in enumerate(loaded) if j != i and not other.test]
        if not others:
            raise NeuralogicError(f"fold {fold.name} has no test files and no other fold to train on",
                                  hint="give each fold testExamples.txt/testQueries.txt, or add more folds")
        if own.is_knowledge_base():
            raise NeuralogicError(f"fold {fold.name} is a knowledge base (one example); folds of a partition are "
                                  "joined, which needs several examples",
                                  hint="give each fold its own trainExamples.txt and testExamples.txt")
        out.append(Fold(fold.name, fold.template, Dataset.concat(others), own))
    return out


DataLike = Dataset | DataFiles | str | Path | Iterable[ir.Example | ir.QueryLine]
"""What the :class:`~.model.Model` methods take as data: a dataset, files, a path, or items (:func:`items_dataset`)."""


def items_dataset(data: Any, queries: str | Path | None = None) -> Dataset:
    """The :class:`Dataset` of data built in Python: one example or query line, or an iterable of them."""
    if queries is not None:
        raise NeuralogicError("queries= names the queries file of a data file; data given as a list holds its "
                              "query lines itself", hint="add QueryLine(...) items to the list")
    if isinstance(data, (ir.Example, ir.QueryLine)):
        return Dataset.of([data])
    try:
        items = list(data)
    except TypeError:
        raise NeuralogicError(f"data is a Dataset, a path or a list of examples, got {type(data).__name__}") from None
    return Dataset.of(items)


def _name(path: Path | None) -> str | None:
    return display_path(path) if path is not None else None


def data_splits(data: str | Path, queries: str | Path | None = None) -> list[tuple[str, Dataset]]:
    """``[("data", dataset)]`` for a file; for a sources directory, each split it has (train, val, test).

    ``queries`` names the queries of a file, or replaces a directory's training queries.
    """
    resolved = existing_path(data, "data")
    if not resolved.is_dir():
        return [("data", Dataset.from_split(training_split(resolved, queries)))]
    found = []
    for role in SPLIT_NAMES:
        split = _directory_split(resolved, role, queries if role == "train" else None)
        if split:
            found.append((role, Dataset.from_split(split)))
    if not found:
        names = [n for examples, query_names in SPLIT_NAMES.values() for n in (*examples, *query_names)]
        raise NeuralogicError(f"no data in {display_path(resolved)}: looked for {', '.join(names)}")
    return found


def _directory_split(directory: Path, role: str, queries: str | Path | None) -> Split:
    example_names, query_names = SPLIT_NAMES[role]
    examples = next((directory / n for n in example_names if (directory / n).is_file()), None)
    found_queries = next((directory / n for n in query_names if (directory / n).is_file()), None)
    query_file = existing_path(queries, "queries file") if queries is not None else None
    return Split(examples, query_file or found_queries)


def training_split(path: Path, queries: str | Path | None) -> Split:
    """The files to read for ``path``: itself (a file) or a directory's training files."""
    resolved = existing_path(path, "data")
    if not resolved.is_dir():  # (unlabelled examples take the queries beside them)
        return beside_queries(Split(resolved, existing_path(queries, "queries file") if queries is not None else None))
    split = _directory_split(resolved, "train", queries)
    if not split:
        example_names, query_names = SPLIT_NAMES["train"]
        raise NeuralogicError(f"no training data in {display_path(resolved)}: looked for "
                              f"{', '.join(example_names + query_names)}")
    return split

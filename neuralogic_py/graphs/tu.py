"""TU Dortmund graph-classification folders as graphs (the layout PyG's ``TUDataset`` reads).

A folder holds ``NAME_<part>.txt`` files, one row per line, columns separated by commas:

=========================  ===============================================================  =========
``A``                      ``u, v``: an edge from global node u to v (1-based)              required
``graph_indicator``        line i: the graph (1-based) of node i                            required
``graph_labels``           a class label per graph
``graph_attributes``       numbers per graph: the target instead of the label (as in PyG)
``node_labels``            integer labels per node (one column or more)
``node_attributes``        numbers per node
``edge_labels``            integer labels per line of ``A``
``edge_attributes``        numbers per line of ``A``
=========================  ===============================================================  =========

As PyG builds them: ``x = [node attributes, one-hot node labels]`` where each label column is
one-hot over min..max of that column (``edge_attr`` likewise), and the graph labels, sorted, become
classes 0..C-1: the target is the class for two classes (or one), its one-hot vector for more.
Nodes are numbered 0.. within their graph in file order; edges are kept as listed (TU lists every
undirected edge in both directions). A malformed file is an error at its line and column.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import SourceError, Span, ValidationError, display_path
from ..language.pairing import counted
from .graph import Graph, GraphEncoding, to_dataset

PARTS = ("A", "graph_indicator", "graph_labels", "graph_attributes", "node_labels", "node_attributes",
         "edge_labels", "edge_attributes")


@dataclass(frozen=True)
class TUData:
    """The graphs of a TU folder, with names for the columns of ``x`` and ``edge_attr``.

    ``node_columns``: ``attribute<k>`` per node attribute, then ``label<L>`` per one-hot label value L
    (``label<c>_<L>`` with several label columns; ``m`` for a minus sign); ``edge_columns`` likewise;
    ``classes``: the TU graph labels in class order (empty when the target is ``graph_attributes`` or absent).
    """

    name: str
    graphs: tuple[Graph, ...]
    node_columns: tuple[str, ...]
    edge_columns: tuple[str, ...]
    classes: tuple[int, ...]
    files: tuple[str, ...]

    def to_dataset(self, encoding: GraphEncoding = GraphEncoding()) -> Any:
        """The graphs as a :class:`~neuralogic_py.learn.dataset.Dataset`; with ``encoding.unary`` the unary
        predicates are named after the columns (``label3(n0)``) unless the encoding names them."""
        if encoding.unary:
            encoding = dataclasses.replace(
                encoding, feature_names=encoding.feature_names or self.node_columns or None,
                edge_feature_names=encoding.edge_feature_names or self.edge_columns or None)
        return to_dataset(self.graphs, encoding, name=f"{self.name} (TU)")


class _Table:
    """The rows of one TU file, parsed, and where each line is (for errors)."""

    def __init__(self, path: Path, kind: type, columns: int | None) -> None:
        self.path = path
        self.file = display_path(path)
        text = path.read_text(encoding="utf-8")
        self.lines = text.splitlines()
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        width = columns or (self.lines[0].count(",") + 1 if self.lines else 1)
        self.values = self._fast(kind, width)
        if self.values is None:
            self.values = self._checked(kind, width)

    def _fast(self, kind: type, width: int) -> np.ndarray | None:
        """Every line at once when the file is well-formed (None: look line by line)."""
        if any(line.count(",") != width - 1 for line in self.lines):
            return None
        tokens = ",".join(self.lines).split(",")
        try:
            values = np.array([t.strip() for t in tokens], dtype=np.int64 if kind is int else np.float64)
        except ValueError:
            return None
        if kind is float and not np.all(np.isfinite(values)):
            return None
        return values.reshape(len(self.lines), width)

    def _checked(self, kind: type, width: int) -> np.ndarray:
        rows = []
        for number, line in enumerate(self.lines, start=1):
            parts = line.split(",")
            if len(parts) != width:
                raise ValidationError(f"expected {width} column{'s' if width > 1 else ''} separated by commas, found "
                                      f"{len(parts) if line.strip() else 0}", self.span(number),
                                      "every line of the file has the same number of columns")
            row, column = [], 1
            for part in parts:
                try:
                    value = kind(part.strip())
                    if kind is float and not np.isfinite(value):
                        raise ValueError
                except ValueError:
                    offset = len(part) - len(part.lstrip())
                    raise ValidationError(f"expected {'an integer' if kind is int else 'a finite number'}, found "
                                          f"{part.strip()!r}", self.span(number, column + offset,
                                                                         len(part.strip()))) from None
                row.append(value)
                column += len(part) + 1
            rows.append(row)
        return np.array(rows, dtype=np.int64 if kind is int else np.float64).reshape(len(rows), width)

    def span(self, line: int, column: int = 1, width: int = 0) -> Span:
        """Line ``line`` (1-based; past the end: the line after the last), columns ``column..+width``."""
        text = self.lines[line - 1] if line <= len(self.lines) else None
        width = width or max(1, len(text or ""))
        return Span(self.file, line, column, line, column + width, text)

    def value_span(self, row: int, column: int) -> Span:
        """Where the value in 0-based ``row`` and ``column`` is written."""
        line = self.lines[row]
        parts = line.split(",")
        start = sum(len(p) + 1 for p in parts[:column])
        offset = len(parts[column]) - len(parts[column].lstrip())
        return self.span(row + 1, start + offset + 1, len(parts[column].strip()))

    def expect_rows(self, count: int, where: str, unit: str) -> None:
        """An error unless the file has ``count`` lines, one per ``unit`` (counted in ``where``)."""
        if len(self.values) != count:
            raise ValidationError(f"{counted(len(self.values), 'line')}, but {where} {counted(count, unit)}",
                                  self.span(count + 1 if len(self.values) > count else len(self.values) + 1),
                                  f"the file needs exactly one line per {unit}")


def _find_name(folder: Path) -> str:
    found = sorted(p.name[:-len("_A.txt")] for p in folder.glob("*_A.txt"))
    if len(found) != 1:
        raise SourceError(f"{display_path(folder)} holds {'no' if not found else len(found)} TU edge files "
                          f"(NAME_A.txt){': ' + ', '.join(found) if found else ''}",
                          hint="give the folder of one TU dataset, or its name with --name")
    return found[0]


def read_tu(folder: str | Path, name: str | None = None, *,
            progress: Callable[[str], None] | None = None) -> TUData:
    """The graphs of the TU folder ``folder`` (module docstring); ``name`` is NAME (default: the one ``*_A.txt``).

    ``progress`` is called with a line as each file is read.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"{display_path(folder)} is not a folder", hint="give the folder holding NAME_A.txt")
    name = name or _find_name(folder)
    paths = {part: folder / f"{name}_{part}.txt" for part in PARTS}
    for part in ("A", "graph_indicator"):
        if not paths[part].is_file():
            raise SourceError(f"{display_path(paths[part])} not found", hint="a TU folder needs NAME_A.txt and "
                                                                             "NAME_graph_indicator.txt")
    present = {part: path for part, path in paths.items() if path.is_file()}

    def table(part: str, kind: type, columns: int | None = None) -> _Table:
        if progress:
            progress(f"reading {display_path(present[part])}")
        return _Table(present[part], kind, columns)

    indicator = table("graph_indicator", int, 1)
    graph_of = indicator.values[:, 0] - 1
    if len(graph_of) and graph_of.min() < 0:
        raise ValidationError("graph ids start at 1", indicator.value_span(int(np.argmax(graph_of < 0)), 0))
    count = int(graph_of.max()) + 1 if len(graph_of) else 0
    sizes = np.bincount(graph_of, minlength=count)
    if count and not sizes.all():
        empty = int(np.argmin(sizes))
        raise ValidationError(f"graph {empty + 1} has no nodes",
                              indicator.value_span(int(np.argmax(graph_of > empty)), 0),
                              "graph ids run from 1 to the number of graphs without gaps")
    targets, classes = _targets(present, table, count, indicator.file)
    edges = table("A", int, 2)
    ends = edges.values - 1
    outside = (ends < 0) | (ends >= len(graph_of))
    if outside.any():
        row, column = map(int, np.argwhere(outside)[0])
        raise ValidationError(f"node {ends[row, column] + 1} does not exist: {indicator.file} lists "
                              f"{len(graph_of)} nodes", edges.value_span(row, column))
    across = graph_of[ends[:, 0]] != graph_of[ends[:, 1]]
    if across.any():
        row = int(np.argmax(across))
        raise ValidationError(f"the edge joins node {ends[row, 0] + 1} of graph {graph_of[ends[row, 0]] + 1} to node "
                              f"{ends[row, 1] + 1} of graph {graph_of[ends[row, 1]] + 1}", edges.span(row + 1))
    x, node_columns = _features(present, table, "node", len(graph_of), indicator.file)
    edge_attr, edge_columns = _features(present, table, "edge", len(ends), edges.file)
    graphs = _split(graph_of, count, ends, x, edge_attr, targets)
    return TUData(name, graphs, node_columns, edge_columns, classes,
                  tuple(display_path(p) for p in present.values()))


def _targets(present: dict[str, Path], table: Callable[..., _Table], count: int,
             where: str) -> tuple[list[np.ndarray | None], tuple[int, ...]]:
    """Each graph's target and the class labels (see the module docstring)."""
    if "graph_attributes" in present:
        attributes = table("graph_attributes", float)
        attributes.expect_rows(count, f"{where} names", "graph")
        return [row[0] if len(row) == 1 else row for row in attributes.values], ()
    if "graph_labels" not in present:
        return [None] * count, ()
    labels = table("graph_labels", int, 1)
    labels.expect_rows(count, f"{where} names", "graph")
    classes, index = np.unique(labels.values[:, 0], return_inverse=True)
    if len(classes) > 2:
        return list(np.eye(len(classes))[index]), tuple(classes.tolist())
    return list(index.astype(np.float64)), tuple(classes.tolist())


def _features(present: dict[str, Path], table: Callable[..., _Table], kind: str, rows: int,
              counted_in: str) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """``[attributes, one-hot labels]`` of nodes or edges and the column names (None, () without either file)."""
    blocks, names = [], []
    where = f"{counted_in} {'lists' if kind == 'node' else 'has'}"
    if f"{kind}_attributes" in present:
        attributes = table(f"{kind}_attributes", float)
        attributes.expect_rows(rows, where, kind)
        blocks.append(attributes.values)
        names += [f"attribute{k}" for k in range(attributes.values.shape[1])]
    if f"{kind}_labels" in present:
        labels = table(f"{kind}_labels", int)
        labels.expect_rows(rows, where, kind)
        several = labels.values.shape[1] > 1
        for c, column in enumerate(labels.values.T):
            low = int(column.min()) if len(column) else 0
            width = int(column.max()) - low + 1 if len(column) else 0
            blocks.append(np.eye(width)[column - low])
            names += [f"label{f'{c}_' if several else ''}{_number(low + k)}" for k in range(width)]
    if not blocks:
        return None, ()
    return np.hstack(blocks), tuple(names)


def _number(value: int) -> str:
    return str(value) if value >= 0 else f"m{-value}"


def _split(graph_of: np.ndarray, count: int, ends: np.ndarray, x: np.ndarray | None, edge_attr: np.ndarray | None,
           targets: list[np.ndarray | None]) -> tuple[Graph, ...]:
    """One :class:`Graph` per graph id: its nodes renumbered 0.. in file order, its edges in file order."""
    order = np.argsort(graph_of, kind="stable")
    node_starts = np.searchsorted(graph_of[order], np.arange(count + 1))
    local = np.empty(len(graph_of), np.int64)
    local[order] = np.arange(len(graph_of)) - node_starts[graph_of[order]]
    edge_graph = graph_of[ends[:, 0]] if len(ends) else np.zeros(0, np.int64)
    edge_order = np.argsort(edge_graph, kind="stable")
    edge_starts = np.searchsorted(edge_graph[edge_order], np.arange(count + 1))
    graphs = []
    for k in range(count):
        nodes = order[node_starts[k]:node_starts[k + 1]]
        chosen = edge_order[edge_starts[k]:edge_starts[k + 1]]
        y = targets[k]
        graphs.append(Graph(len(nodes), local[ends[chosen]].T.copy(), None if x is None else x[nodes],
                            None if edge_attr is None else edge_attr[chosen],
                            None if y is None else np.asarray(y, dtype=np.float64), None))
    return tuple(graphs)

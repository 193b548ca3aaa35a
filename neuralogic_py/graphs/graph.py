"""One graph as arrays (PyG's ``Data`` layout, numpy only) and the NeuraLogic example and query it becomes.

A :class:`Graph` holds node features ``x`` (n, f), ``edge_index`` (2, m) with the source node of
edge ``j`` in row 0 and its target in row 1, edge features ``edge_attr`` (m, d), a graph target
``y`` (a number or a vector) and node targets ``node_y`` (n,) or (n, k). :class:`GraphEncoding`
names the predicates; with its defaults graph ``G`` becomes the example and query line::

    <[x_0]> feature(n0), ..., edge(n_s, n_d), ..., <[e_j]> edge_feature(n_s, n_d), ...
    <y> predict.                      (node targets: <y_i> predict(n_i), ...)

that is, node ``i`` is the constant ``n<i>``, every column of ``edge_index`` is one directed
``edge`` fact (an undirected graph lists both directions, as PyG stores it), and a feature row of
width 1 is written as a number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import NeuralogicError, ValidationError
from ..language import ir

_PREDICATE = re.compile(r"[a-z][A-Za-z0-9_]*\Z")
_PREFIX = re.compile(r"([a-z][A-Za-z0-9_]*)?\Z")


@dataclass(frozen=True, eq=False)
class Graph:
    """One graph's arrays, checked (make one with :func:`graph`; the module docstring has the layout).

    ``num_nodes`` is n; ``x``, ``edge_attr`` and ``node_y`` are float64 2-D arrays or None, ``edge_index`` an
    int64 (2, m) array with entries in ``0..n-1``, ``y`` a float64 array of shape () or (k,), or None.
    """

    num_nodes: int
    edge_index: np.ndarray
    x: np.ndarray | None = None
    edge_attr: np.ndarray | None = None
    y: np.ndarray | None = None
    node_y: np.ndarray | None = None

    @property
    def num_edges(self) -> int:
        return int(self.edge_index.shape[1])


def as_array(value: Any) -> np.ndarray:
    """A numpy array of anything array-like (lists, numpy arrays, torch tensors without importing torch)."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, possibly requiring grad
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def graph(x: Any = None, edge_index: Any = None, edge_attr: Any = None, y: Any = None, node_y: Any = None,
          num_nodes: int | None = None, *, name: str = "the graph") -> Graph:
    """A checked :class:`Graph` from array-likes; ``name`` is how errors call it.

    n is ``num_nodes``, else the rows of ``x`` or ``node_y``, else one more than the largest node of
    ``edge_index``. A 1-D ``x`` or ``edge_attr`` is one feature per node or edge; a NaN row of ``node_y``
    marks an unlabelled node.
    """
    edges = np.zeros((2, 0), np.int64) if edge_index is None else _edge_index(as_array(edge_index), name)
    features = None if x is None else _rows(x, "x", name)
    targets = None if node_y is None else _rows(node_y, "node_y", name, allow_nan=True)
    if num_nodes is None:
        sized = next((a for a in (features, targets) if a is not None), None)
        num_nodes = sized.shape[0] if sized is not None else int(edges.max()) + 1 if edges.size else 0
    for what, a in (("x", features), ("node_y", targets)):
        if a is not None and a.shape[0] != num_nodes:
            raise ValidationError(f"{name}: {what} has {a.shape[0]} rows but the graph has {num_nodes} nodes")
    if edges.size and (edges.min() < 0 or edges.max() >= num_nodes):
        bad = int(np.flatnonzero((edges < 0).any(axis=0) | (edges >= num_nodes).any(axis=0))[0])
        raise ValidationError(f"{name}: edge {bad} ({edges[0, bad]} -> {edges[1, bad]}) names a node outside "
                              f"0..{num_nodes - 1}", hint="edge_index holds 0-based node indices")
    attributes = None if edge_attr is None else _rows(edge_attr, "edge_attr", name)
    if attributes is not None and attributes.shape[0] != edges.shape[1]:
        raise ValidationError(f"{name}: edge_attr has {attributes.shape[0]} rows but edge_index has "
                              f"{edges.shape[1]} edges")
    target = None if y is None else _target(as_array(y), name)
    return Graph(int(num_nodes), edges, features, attributes, target, targets)


def _edge_index(a: np.ndarray, name: str) -> np.ndarray:
    if a.size == 0:
        return np.zeros((2, 0), np.int64)
    if a.ndim != 2 or a.shape[0] != 2:
        raise ValidationError(f"{name}: edge_index must have shape (2, edges), got {a.shape}",
                              hint="row 0 holds the source nodes, row 1 the targets (transpose an edge list)")
    if not np.issubdtype(a.dtype, np.integer):
        if not (np.issubdtype(a.dtype, np.number) and np.all(np.isfinite(a)) and np.all(a == np.round(a))):
            raise ValidationError(f"{name}: edge_index must hold integer node indices")
    return a.astype(np.int64)


def _rows(value: Any, what: str, name: str, *, allow_nan: bool = False) -> np.ndarray:
    a = as_array(value)
    if not np.issubdtype(a.dtype, np.number) and a.dtype != np.bool_:
        raise ValidationError(f"{name}: {what} must hold numbers, got {a.dtype}")
    a = a.astype(np.float64)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValidationError(f"{name}: {what} must have 1 or 2 dimensions, got shape {a.shape}")
    if not np.all(np.isfinite(a) | (np.isnan(a) if allow_nan else False)):
        raise ValidationError(f"{name}: {what} holds values that are not finite numbers")
    return a


def _target(a: np.ndarray, name: str) -> np.ndarray:
    a = a.astype(np.float64)
    if a.ndim > 1 or not np.all(np.isfinite(a)):
        raise ValidationError(f"{name}: y must be a finite number or vector, got shape {a.shape}",
                              hint="node targets go in node_y")
    return a[0] if a.shape == (1,) else a


@dataclass(frozen=True)
class GraphEncoding:
    """How graphs are written as facts and queries (module docstring).

    ``feature``: the vector-valued node feature predicate; ``unary``: write node (and edge) features as
    one fact per non-zero column instead, on the predicates ``feature_names`` (``edge_feature_names``),
    default ``feature<k>`` (``edge_feature<k>``), valued when not 1; ``edge``: the edge predicate;
    ``edge_feature``: the edge feature predicate; ``output``: the query predicate; ``node_prefix``:
    node ``i`` is the constant ``<node_prefix><i>`` (empty: the integer ``i``); ``undirected``: also
    write the reverse of every edge not listed (with its features); ``num_classes``: integer targets
    become one-hot vectors of this length.
    """

    feature: str = "feature"
    edge: str = "edge"
    edge_feature: str = "edge_feature"
    output: str = "predict"
    node_prefix: str = "n"
    unary: bool = False
    feature_names: tuple[str, ...] | None = None
    edge_feature_names: tuple[str, ...] | None = None
    undirected: bool = False
    num_classes: int | None = None

    def __post_init__(self) -> None:
        names = [self.feature, self.edge, self.edge_feature, self.output, *(self.feature_names or ()),
                 *(self.edge_feature_names or ())]
        for text in names:
            if not _PREDICATE.match(text):
                raise NeuralogicError(f"{text!r} is not a predicate name",
                                      hint="a predicate starts with a lower-case letter, then letters, digits or _")
        if not _PREFIX.match(self.node_prefix):
            raise NeuralogicError(f"node prefix {self.node_prefix!r} does not start a constant",
                                  hint="use a lower-case letter then letters, digits or _, or nothing for numbers")
        if self.num_classes is not None and self.num_classes < 2:
            raise NeuralogicError(f"num_classes must be at least 2, got {self.num_classes}")

    def node(self, i: int) -> ir.Constant:
        return ir.Constant(f"{self.node_prefix}{i}" if self.node_prefix else i)

    def example(self, g: Graph, name: str = "the graph") -> ir.Example:
        """The facts of ``g``: node features, edges, edge features (in that order)."""
        nodes = [self.node(i) for i in range(g.num_nodes)]
        facts: list[ir.Fact] = []
        if g.x is not None:
            facts += self._features(g.x, [(n,) for n in nodes], self.feature, self.feature_names, name, "x")
        edges, attributes = self._edges(g)
        ends = [(nodes[s], nodes[d]) for s, d in edges.T.tolist()]
        facts += [ir.Fact(ir.Atom(self.edge, pair)) for pair in ends]
        if attributes is not None:
            facts += self._features(attributes, ends, self.edge_feature, self.edge_feature_names, name, "edge_attr")
        return ir.Example(tuple(facts))

    def query_line(self, g: Graph, name: str = "the graph") -> ir.QueryLine:
        """``<y> predict.`` and ``<y_i> predict(n_i).`` per labelled node; ``predict.`` when nothing is labelled."""
        queries = []
        if g.y is not None:
            queries.append(ir.Query(ir.Atom(self.output), self._value(g.y, name)))
        if g.node_y is not None:
            for i, row in enumerate(g.node_y):
                if not np.isnan(row).any():
                    queries.append(ir.Query(ir.Atom(self.output, (self.node(i),)), self._value(row, name)))
        return ir.QueryLine(tuple(queries) or (ir.Query(ir.Atom(self.output)),))

    def _edges(self, g: Graph) -> tuple[np.ndarray, np.ndarray | None]:
        """The edges written (with the reverses of one-way edges when undirected) and their features."""
        if not self.undirected or not g.num_edges:
            return g.edge_index, g.edge_attr
        listed = set(zip(*g.edge_index.tolist()))
        missing = [j for j, (s, d) in enumerate(zip(*g.edge_index.tolist())) if (d, s) not in listed]
        edges = np.hstack([g.edge_index, g.edge_index[::-1, missing]])
        attributes = None if g.edge_attr is None else np.vstack([g.edge_attr, g.edge_attr[missing]])
        return edges, attributes

    def _features(self, rows: np.ndarray, terms: Sequence[tuple[ir.Constant, ...]], predicate: str,
                  names: tuple[str, ...] | None, graph_name: str, what: str) -> list[ir.Fact]:
        if not self.unary:
            return [ir.Fact(ir.Atom(predicate, t), _fixed(row)) for t, row in zip(terms, rows)]
        if names is not None and len(names) != rows.shape[1]:
            raise NeuralogicError(f"{graph_name}: {what} has {rows.shape[1]} columns but {len(names)} predicate "
                                  "names were given for them")
        names = names or tuple(f"{predicate}{k}" for k in range(rows.shape[1]))
        facts = []
        for t, row in zip(terms, rows):
            for k in np.flatnonzero(row).tolist():
                value = float(row[k])
                facts.append(ir.Fact(ir.Atom(names[k], t), None if value == 1.0 else _fixed(value)))
        return facts

    def _value(self, target: np.ndarray, name: str) -> ir.Value:
        if self.num_classes is None:
            return ir.value_from_array(target[0] if target.shape == (1,) else target)
        label = float(target.reshape(-1)[0]) if target.size == 1 else None
        if label is None or label != int(label) or not 0 <= label < self.num_classes:
            raise NeuralogicError(f"{name}: target {target.tolist()} is not a class in 0..{self.num_classes - 1}",
                                  hint="one-hot targets need integer class labels")
        return ir.value_from_array(np.eye(self.num_classes)[int(label)])


def _fixed(row: np.ndarray | float) -> ir.Weight:
    """A fixed input value: a number for a width-1 row, else a vector."""
    a = np.asarray(row, dtype=np.float64).reshape(-1)
    return ir.Weight(ir.value_from_array(a[0] if a.size == 1 else a), fixed=True)


def to_dataset(graphs: Iterable[Any], encoding: GraphEncoding = GraphEncoding(), *, name: str | None = None) -> Any:
    """A :class:`~neuralogic_py.learn.dataset.Dataset`: one example and one query line per graph.

    ``graphs`` holds :class:`Graph` objects or PyTorch Geometric ``Data`` objects (a PyG ``Dataset`` is
    such an iterable); ``name`` describes the data in messages.
    """
    from ..learn.dataset import Dataset
    from .convert import as_graph

    examples, lines = [], []
    for k, item in enumerate(graphs):
        g = as_graph(item, name=f"graph {k}")
        examples.append(encoding.example(g, f"graph {k}"))
        lines.append(encoding.query_line(g, f"graph {k}"))
    return Dataset(tuple(examples), tuple(lines), name)


def examples_text(dataset: Any) -> str:
    """The examples file of a dataset: one example per line."""
    return "".join(f"{e}\n" for e in dataset.examples)


def queries_text(dataset: Any) -> str:
    """The queries file of a dataset: one query line per line, aligned with the examples by order."""
    return "".join(f"{q}\n" for q in dataset.query_lines)

"""Graphs from other libraries' objects: networkx graphs and PyTorch Geometric ``Data``.

Neither library is imported here: a networkx graph is read through its ``nodes``/``edges`` views
and a PyG ``Data`` object through its ``x``, ``edge_index``, ``edge_attr`` and ``y`` attributes
(tensors become numpy arrays by :func:`~.graph.as_array`), so both stay optional.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ValidationError
from .graph import Graph, as_array, graph


def as_graph(item: Any, *, name: str = "the graph", node_level: bool | None = None) -> Graph:
    """``item`` as a :class:`~.graph.Graph`: itself, or converted from a PyG ``Data`` object (:func:`from_pyg`)."""
    if isinstance(item, Graph):
        return item
    if hasattr(item, "edge_index"):
        return from_pyg(item, name=name, node_level=node_level)
    raise ValidationError(f"{name} is a {type(item).__name__}, not a graph",
                          hint="make one with neuralogic_py.graphs.graph(x=..., edge_index=...), from_networkx(...) "
                               "or pass PyTorch Geometric Data objects")


def from_pyg(data: Any, *, name: str = "the graph", node_level: bool | None = None) -> Graph:
    """A PyG ``Data`` object's ``x``, ``edge_index``, ``edge_attr`` and ``y`` as a :class:`~.graph.Graph`.

    ``y`` is a graph target, unless ``node_level`` says it holds one row per node; by default it is read
    as node targets when it has as many rows as the graph has nodes (and more than one).
    """
    num_nodes = getattr(data, "num_nodes", None)
    y = getattr(data, "y", None)
    node_y = None
    if y is not None:
        target = as_array(y)
        rows = target.shape[0] if target.ndim else 1
        if node_level is None:
            node_level = num_nodes is not None and num_nodes > 1 and rows == num_nodes
        if node_level:
            y, node_y = None, target
    return graph(getattr(data, "x", None), data.edge_index, getattr(data, "edge_attr", None), y, node_y,
                 None if num_nodes is None else int(num_nodes), name=name)


def from_networkx(g: Any, *, node_features: Sequence[str] = (), edge_features: Sequence[str] = (),
                  graph_target: str | None = None, node_target: str | None = None,
                  name: str = "the graph") -> Graph:
    """A networkx graph as a :class:`~.graph.Graph`; node ``i`` is the ``i``-th of ``g.nodes``.

    Node features are the node attributes named in ``node_features`` (each a number or a vector),
    joined in that order; edge features likewise from ``edge_features``. An undirected graph gives
    both directions of every edge (the reverse right after it; a self loop once). ``graph_target``
    names the attribute in ``g.graph`` holding the graph's target, ``node_target`` the node attribute
    holding node targets (nodes without it are unlabelled).
    """
    nodes = list(g.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    directed = g.is_directed()
    pairs, rows = [], []
    for u, v, attributes in g.edges(data=True):
        row = _joined(attributes, edge_features, f"{name}: edge ({u!r}, {v!r})")
        for s, d in [(u, v)] if directed or u == v else [(u, v), (v, u)]:
            pairs.append((index[s], index[d]))
            rows.append(row)
    edge_index = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
    x = _stacked([_joined(g.nodes[node], node_features, f"{name}: node {node!r}") for node in nodes],
                 node_features, name) if node_features else None
    edge_attr = _stacked(rows, edge_features, name) if edge_features else None
    y = None
    if graph_target is not None:
        if graph_target not in g.graph:
            raise ValidationError(f"{name} has no graph attribute {graph_target!r}",
                                  hint=f"it has {sorted(map(str, g.graph)) or 'none'}")
        y = g.graph[graph_target]
    node_y = None
    if node_target is not None:
        values = [g.nodes[node].get(node_target) for node in nodes]
        width = max((np.size(v) for v in values if v is not None), default=1)
        node_y = np.array([np.full(width, np.nan) if v is None else np.reshape(as_array(v), -1) for v in values],
                          dtype=np.float64).reshape(len(nodes), width)
    return graph(x, edge_index, edge_attr, y, node_y, len(nodes), name=name)


def _joined(attributes: dict[str, Any], names: Sequence[str], where: str) -> np.ndarray:
    """The attributes ``names`` of one node or edge, each a number or a vector, as one vector."""
    parts = []
    for key in names:
        if key not in attributes:
            raise ValidationError(f"{where} has no attribute {key!r}",
                                  hint=f"it has {sorted(map(str, attributes)) or 'none'}")
        parts.append(np.reshape(as_array(attributes[key]).astype(np.float64), -1))
    return np.concatenate(parts) if parts else np.zeros(0)


def _stacked(rows: list[np.ndarray], names: Sequence[str], name: str) -> np.ndarray:
    """Rows of one width as a matrix (features of different lengths are an error)."""
    widths = sorted({len(r) for r in rows})
    if len(widths) > 1:
        raise ValidationError(f"{name}: the attributes {', '.join(map(repr, names))} give features of different "
                              f"lengths ({', '.join(map(str, widths))})")
    return np.array(rows, dtype=np.float64).reshape(len(rows), widths[0] if widths else 0)

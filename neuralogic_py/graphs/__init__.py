"""Graph data as NeuraLogic examples: from arrays, networkx, PyTorch Geometric and TU folders.

Convention (:class:`GraphEncoding`'s defaults): node i is ``n<i>``, its features ``<[x_i]> feature(n<i>)``,
edge j ``edge(n<s>, n<d>)`` (both directions for an undirected graph), its features
``<[e_j]> edge_feature(n<s>, n<d>)``, and the query is ``<y> predict.`` (node targets ``<y_i> predict(n<i>)``).

::

    from neuralogic_py.graphs import graph, to_dataset
    g = graph(x=[[1, 0], [0, 1]], edge_index=[[0, 1], [1, 0]], y=1)
    data = to_dataset([g])                 # a learn.Dataset: Model.fit(data) trains on it
"""

from .convert import as_graph, from_networkx, from_pyg
from .graph import Graph, GraphEncoding, as_array, examples_text, graph, queries_text, to_dataset
from .tu import TUData, read_tu

__all__ = ["Graph", "GraphEncoding", "TUData", "as_array", "as_graph", "examples_text", "from_networkx", "from_pyg",
           "graph", "queries_text", "read_tu", "to_dataset"]

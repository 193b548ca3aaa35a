"""The zoo's layers against PyTorch Geometric's on the same weights: the largest output difference per layer.

Each layer of :mod:`neuralogic_py.nn` that has a PyG counterpart is built twice, as
PyG's module (float64, its own random initialisation) and as ours; ``Module.load_pyg``
copies PyG's ``state_dict`` into our model; both run on the same random directed
graphs (features ``x(i)``, edges ``edge(j, i)``, one self loop in the data, edge
features ``edge_x(j, i)`` for GINE, typed edges ``typed(j, r, i)`` for RGCN). The table
lists the largest absolute difference of the node outputs over the graphs. Needs torch
and torch_geometric; without them it says so and exits 0.

    python benchmarks/zoo_pyg.py [--graphs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from neuralogic_py.language.dsl import R, Example, QueryLine, TemplateBuilder  # noqa: E402
from neuralogic_py.learn.dataset import Dataset  # noqa: E402
from neuralogic_py.learn.model import Model  # noqa: E402
from neuralogic_py import nn  # noqa: E402

IN, OUT, EDGE_DIM, RELATIONS = 3, 4, 2, 3


def pairs(pyg: Any) -> dict[str, tuple[Callable[[], Any], Callable[[], nn.Module]]]:
    """Per layer: a PyG module and our module, both mapping IN features to OUT (APPNP keeps IN)."""
    def mlp() -> Any:
        return pyg.MLP([IN, 5, OUT], norm=None)

    return {
        "GCNConv": (lambda: pyg.GCNConv(IN, OUT), lambda: nn.GCNConv(IN, OUT, "h", "x")),
        "SAGEConv": (lambda: pyg.SAGEConv(IN, OUT), lambda: nn.SAGEConv(IN, OUT, "h", "x")),
        "GraphConv": (lambda: pyg.GraphConv(IN, OUT), lambda: nn.GraphConv(IN, OUT, "h", "x")),
        "GINConv": (lambda: pyg.GINConv(mlp(), eps=0.3, train_eps=True),
                    lambda: nn.GINConv(nn.MLP([IN, 5, OUT], "h", "h_in"), "x", train_eps=True)),
        "GINEConv": (lambda: pyg.GINEConv(mlp(), edge_dim=EDGE_DIM),
                     lambda: nn.GINEConv(nn.MLP([IN, 5, OUT], "h", "h_in"), "x", "edge_x", edge_dim=EDGE_DIM)),
        "ResGatedGraphConv": (lambda: pyg.ResGatedGraphConv(IN, OUT), lambda: nn.ResGatedGraphConv(IN, OUT, "h", "x")),
        "SGConv": (lambda: pyg.SGConv(IN, OUT, K=2), lambda: nn.SGConv(IN, OUT, "h", "x", K=2)),
        "TAGConv": (lambda: pyg.TAGConv(IN, OUT, K=3), lambda: nn.TAGConv(IN, OUT, "h", "x", K=3)),
        "APPNP": (lambda: pyg.APPNP(K=3, alpha=0.1), lambda: nn.APPNP(3, 0.1, "h", "x")),
        "RGCNConv": (lambda: pyg.RGCNConv(IN, OUT, RELATIONS),
                     lambda: nn.RGCNConv(IN, OUT, RELATIONS, "h", "x", "typed")),
        "GATv2Conv": (lambda: pyg.GATv2Conv(IN, OUT), lambda: nn.GATv2Conv(IN, OUT, "h", "x")),
        "GATv2Conv, 3 heads": (lambda: pyg.GATv2Conv(IN, OUT, heads=3),
                               lambda: nn.GATv2Conv(IN, OUT, "h", "x", heads=3)),
    }


def random_graph(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Features, edges (one self loop), edge features and edge types."""
    n = int(rng.integers(5, 12))
    edges = sorted({(int(j), int(i)) for j in range(n) for i in range(n) if rng.random() < 0.3} | {(0, 0)})
    return (rng.normal(size=(n, IN)), edges, rng.normal(size=(len(edges), EDGE_DIM)),
            rng.integers(RELATIONS, size=len(edges)))


def difference(torch: Any, theirs: Any, ours: nn.Module, graph: tuple) -> float:
    x, edges, edge_x, types = graph
    model = Model(TemplateBuilder(ours), seed=0)
    ours.load_pyg(model, theirs.state_dict())
    facts = [R.x(i)[row.tolist()] for i, row in enumerate(x)] + [R.edge(j, i) for j, i in edges]
    facts += [R.edge_x(j, i)[e.tolist()] for (j, i), e in zip(edges, edge_x)]
    facts += [R.typed(j, int(r), i) for (j, i), r in zip(edges, types)]
    data = Dataset((Example(facts, id=R.g),), (QueryLine([R.h(i) for i in range(len(x))], id=R.g),))
    mine = model.predict(data).outputs[:, :, 0]
    edge_index = torch.tensor(edges, dtype=torch.long).T
    extra = {nn.GINEConv: torch.tensor(edge_x), nn.RGCNConv: torch.tensor(types)}.get(type(ours))
    args = (torch.tensor(x), edge_index) + (() if extra is None else (extra,))
    with torch.no_grad():
        reference = theirs(*args).numpy()
    return float(np.abs(mine - reference).max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", type=int, default=5, help="random graphs per layer")
    args = parser.parse_args()
    if importlib.util.find_spec("torch_geometric") is None:
        print("torch_geometric is not installed: nothing to compare")
        return
    import torch
    import torch_geometric
    import torch_geometric.nn as pyg

    torch.set_default_dtype(torch.float64)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    graphs = [random_graph(rng) for _ in range(args.graphs)]
    print(f"torch {torch.__version__}, torch_geometric {torch_geometric.__version__}, float64, "
          f"{args.graphs} random graphs per layer, PyG's own initial weights copied into ours")
    print("| layer | largest absolute difference |\n| --- | --- |")
    for name, (make_theirs, make_ours) in pairs(pyg).items():
        theirs = make_theirs()
        print(f"| {name} | {max(difference(torch, theirs, make_ours(), g) for g in graphs):.1e} |")


if __name__ == "__main__":
    main()

"""The module zoo (neuralogic_py.nn): each layer's network equals a numpy computation of its docstring's formula.

Every test builds the template from the module, grounds it on random graphs' facts
(node features ``x(i)``, edges ``edge(j, i)``), sets random weights by name, and compares
the outputs with the formula computed in numpy from the same weights (float64, 1e-10).
"""

from __future__ import annotations

import numpy as np
import pytest

from neuralogic_py.language.dsl import R, Example, QueryLine, TemplateBuilder
from neuralogic_py.learn.dataset import Dataset
from neuralogic_py.learn.model import Model
from neuralogic_py.nn import (APPNP, MLP, GCNConv, GINConv, GINEConv, GraphConv, Linear, MaxPooling, MeanPooling,
                              ResGatedGraphConv, RGCNConv, SAGEConv, SGConv, SumPooling, TAGConv)

TOL = 1e-10
SEEDS = [0, 1, 2, 3]


class Graph:
    """A random directed graph: n nodes, features (n, d), edges as (source, target) pairs without repeats."""

    def __init__(self, seed: int, d: int = 3, relations: int = 0, edge_dim: int = 0):
        rng = np.random.default_rng(seed)
        self.n = int(rng.integers(4, 9))
        self.x = rng.normal(size=(self.n, d))
        pairs = {(int(j), int(i)) for j in range(self.n) for i in range(self.n) if rng.random() < 0.35}
        pairs.add((0, 0))  # an explicit self loop: GCN must not count it twice
        pairs = {(j, i) for j, i in pairs if self.n - 1 not in (j, i)}  # the last node is isolated
        self.edges = sorted(pairs)
        self.types = [int(rng.integers(relations)) for _ in self.edges] if relations else []
        self.edge_x = rng.normal(size=(len(self.edges), edge_dim or d))

    def adjacency(self) -> np.ndarray:
        """A[i, j] = 1 for an edge j -> i."""
        a = np.zeros((self.n, self.n))
        for j, i in self.edges:
            a[i, j] = 1.0
        return a

    def neighbours(self, i: int) -> list[int]:
        return [j for j, t in self.edges if t == i]

    def facts(self, edge_values: bool = False) -> list:
        facts = [R.x(i)[self.x[i].tolist()] for i in range(self.n)]
        for k, (j, i) in enumerate(self.edges):
            if self.types:
                facts.append(R.edge(j, self.types[k], i))
            elif edge_values:
                facts.append(R.edge(j, i)[self.edge_x[k].tolist()])
            else:
                facts.append(R.edge(j, i))
        return facts


def run(layers: list, graph: Graph, output: str, seed: int, *, edge_values: bool = False,
        nodes: bool = True, allow_underivable: bool = False) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The model's outputs for ``output(i)`` of every node (or the 0-ary ``output``), with random weights."""
    model = Model(TemplateBuilder(layers), seed=seed)
    rng = np.random.default_rng(100 + seed)
    weights = {name: rng.normal(size=value.shape) for name, value in model.parameters().items()
               if name in model.store.learnable()}
    model.load_parameters(weights)
    queries = [R.get(output)(i) for i in range(graph.n)] if nodes else [R.get(output)]
    data = Dataset((Example(graph.facts(edge_values), id=R.g),), (QueryLine(queries, id=R.g),))
    outputs = model.predict(data, allow_underivable=allow_underivable).outputs
    return model.parameters(), outputs[:, :, 0]


def column(w: dict[str, np.ndarray], name: str) -> np.ndarray:
    return w[name][:, 0]


def linear(w: dict[str, np.ndarray], name: str, x: np.ndarray, bias: bool = True) -> np.ndarray:
    """x W^T + b over rows."""
    y = x @ w[f"{name}__weight"].T
    return y + column(w, f"{name}__bias") if bias else y


def mlp(w: dict[str, np.ndarray], output: str, x: np.ndarray, depth: int) -> np.ndarray:
    for k in range(depth - 1):
        x = np.maximum(linear(w, f"{output}__mlp{k}", x), 0.0)
    return linear(w, output, x)


def normalised(a: np.ndarray, self_loops: bool) -> np.ndarray:
    """PyG's gcn_norm as a dense matrix: D^-1/2 (A + remaining self loops) D^-1/2, inf -> 0."""
    if self_loops:
        a = a.copy()
        np.fill_diagonal(a, 1.0)
    deg = a.sum(axis=1)
    inv = np.zeros_like(deg)
    inv[deg > 0] = deg[deg > 0] ** -0.5
    return inv[:, None] * a * inv[None, :]


# --------------------------------------------------------------------------- dense layers and readouts


@pytest.mark.parametrize("seed", SEEDS)
def test_linear_and_mlp(seed):
    g = Graph(seed)
    w, out = run([Linear(3, 4, "h", "x", activation="tanh")], g, "h", seed)
    np.testing.assert_allclose(out, np.tanh(linear(w, "h", g.x)), rtol=0, atol=TOL)
    w, out = run([MLP([3, 5, 4, 2], "h", "x")], g, "h", seed)
    np.testing.assert_allclose(out, mlp(w, "h", g.x, 3), rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pool, reduce", [(SumPooling, np.sum), (MeanPooling, np.mean), (MaxPooling, np.max)])
def test_pooling(seed, pool, reduce):
    g = Graph(seed)
    _, out = run([Linear(3, 4, "h", "x"), pool("r", "h")], g, "r", seed, nodes=False)
    w, _ = run([Linear(3, 4, "h", "x")], g, "h", seed)
    np.testing.assert_allclose(out[0], reduce(linear(w, "h", g.x), axis=0), rtol=0, atol=TOL)


# --------------------------------------------------------------------------- message passing


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("aggr, reduce", [("mean", np.mean), ("sum", np.sum), ("max", np.max)])
def test_sage(seed, aggr, reduce):
    g = Graph(seed)
    w, out = run([SAGEConv(3, 4, "h", "x", aggr=aggr)], g, "h", seed)
    for i in range(g.n):
        want = w["h__lin_r"] @ g.x[i] + column(w, "h__bias")
        if g.neighbours(i):
            want = want + w["h__lin_l"] @ reduce(g.x[g.neighbours(i)], axis=0)
        np.testing.assert_allclose(out[i], want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_graph_conv(seed):
    g = Graph(seed)
    w, out = run([GraphConv(3, 2, "h", "x", activation="relu")], g, "h", seed)
    want = g.x @ w["h__lin_root"].T + (g.adjacency() @ g.x) @ w["h__lin_rel"].T + column(w, "h__bias")
    np.testing.assert_allclose(out, np.maximum(want, 0.0), rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("eps, train_eps", [(0.0, False), (0.3, False), (0.1, True)])
def test_gin(seed, eps, train_eps):
    g = Graph(seed)
    layer = GINConv(MLP([3, 5, 4], "h", "h_in"), "x", eps=eps, train_eps=train_eps)
    w, out = run([layer], g, "h", seed)
    factor = w["h_in__eps"][0, 0] if train_eps else 1.0 + eps
    np.testing.assert_allclose(out, mlp(w, "h", factor * g.x + g.adjacency() @ g.x, 2), rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("edge_dim", [None, 2])
def test_gine(seed, edge_dim):
    g = Graph(seed, edge_dim=edge_dim or 0)
    layer = GINEConv(Linear(3, 4, "h", "h_in"), "x", eps=0.2, edge_dim=edge_dim)
    w, out = run([layer], g, "h", seed, edge_values=True)
    edge_x = g.edge_x if edge_dim is None else g.edge_x @ w["h_in__lin"].T + column(w, "h_in__lin_bias")
    total = 1.2 * g.x
    for k, (j, i) in enumerate(g.edges):
        total[i] += np.maximum(g.x[j] + edge_x[k], 0.0)
    np.testing.assert_allclose(out, linear(w, "h", total), rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_rgcn(seed):
    g = Graph(seed, relations=3)
    w, out = run([RGCNConv(3, 4, 3, "h", "x")], g, "h", seed)
    want = g.x @ w["h__root"].T + column(w, "h__bias")
    for i in range(g.n):
        for r in range(3):
            sources = [j for (j, t), kind in zip(g.edges, g.types) if t == i and kind == r]
            if sources:
                want[i] += w[f"h__weight{r}"] @ g.x[sources].mean(axis=0)
    np.testing.assert_allclose(out, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_res_gated(seed):
    g = Graph(seed)
    w, out = run([ResGatedGraphConv(3, 4, "h", "x")], g, "h", seed)
    k, q, v = (linear(w, f"h__{role}", g.x) for role in ("key", "query", "value"))
    want = g.x @ w["h__lin_skip"].T + column(w, "h__bias")
    for j, i in g.edges:
        want[i] += 1.0 / (1.0 + np.exp(-(k[i] + q[j]))) * v[j]
    np.testing.assert_allclose(out, want, rtol=0, atol=TOL)


# --------------------------------------------------------------------------- degree-normalised propagation


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("add_self_loops, normalize", [(True, True), (False, True), (True, False)])
def test_gcn(seed, add_self_loops, normalize):
    g = Graph(seed)
    layer = GCNConv(3, 4, "h", "x", add_self_loops=add_self_loops, normalize=normalize)
    w, out = run([layer], g, "h", seed, allow_underivable=not add_self_loops)
    a = g.adjacency()
    if add_self_loops:
        np.fill_diagonal(a, 1.0)
    propagate = normalised(a, False) if normalize else a
    want = propagate @ g.x @ w["h__lin"].T + column(w, "h__bias")
    # without self loops, a node that no node with in-edges sends to is not derived (PyG gives it the bias)
    derived = a @ (a.sum(axis=1) > 0) > 0
    assert len(out) == derived.sum()
    np.testing.assert_allclose(out, want[derived], rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("K", [1, 3])
def test_sgc(seed, K):
    g = Graph(seed)
    w, out = run([SGConv(3, 2, "h", "x", K=K)], g, "h", seed)
    a = normalised(g.adjacency(), True)
    want = np.linalg.matrix_power(a, K) @ g.x @ w["h__lin"].T + column(w, "h__bias")
    np.testing.assert_allclose(out, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("normalize", [True, False])
def test_tag(seed, normalize):
    g = Graph(seed)
    w, out = run([TAGConv(3, 2, "h", "x", K=3, normalize=normalize)], g, "h", seed)
    a = normalised(g.adjacency(), False) if normalize else g.adjacency()
    want = sum(np.linalg.matrix_power(a, k) @ g.x @ w[f"h__lins{k}"].T for k in range(4)) + column(w, "h__bias")
    np.testing.assert_allclose(out, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
def test_appnp(seed):
    g = Graph(seed)
    _, out = run([APPNP(4, 0.15, "h", "x")], g, "h", seed)
    a, h = normalised(g.adjacency(), True), g.x
    for _ in range(4):
        h = 0.85 * a @ h + 0.15 * g.x
    np.testing.assert_allclose(out, h, rtol=0, atol=TOL)

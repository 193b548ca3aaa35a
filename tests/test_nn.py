"""The module zoo (neuralogic_py.nn): each layer's network equals a numpy computation of its docstring's formula.

Every test builds the template from the module, grounds it on random graphs' facts
(node features ``x(i)``, edges ``edge(j, i)``), sets random weights by name, and compares
the outputs with the formula computed in numpy from the same weights (float64, 1e-10).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from neuralogic_py.engine import ops
from neuralogic_py.engine.gradcheck import numerical_gradient
from neuralogic_py.errors import NeuralogicWarning, ValidationError
from neuralogic_py.language.dsl import R, Example, QueryLine, TemplateBuilder
from neuralogic_py.learn.dataset import Dataset
from neuralogic_py.learn.model import Model
from neuralogic_py.nn import (APPNP, GRU, LSTM, MLP, RNN, GATv2Conv, GCNConv, GINConv, GINEConv, GraphConv, Linear,
                              MaxPooling, MeanPooling, ResGatedGraphConv, RGCNConv, SAGEConv, SGConv, SumPooling,
                              TAGConv)
from neuralogic_py.nn.models import MODELS, ready_template

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

    def facts(self, edge_values: bool = False, feature: str = "x") -> list:
        facts = [R.get(feature)(i)[self.x[i].tolist()] for i in range(self.n)]
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
    factor = 1.0 + (w["h_in__eps"][0, 0] if train_eps else eps)
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


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("heads, concat, share_weights", [(1, True, False), (2, True, False), (3, False, True)])
def test_gatv2(seed, heads, concat, share_weights):
    g = Graph(seed)
    layer = GATv2Conv(3, 2, "h", "x", heads=heads, concat=concat, share_weights=share_weights, activation="tanh")
    w, out = run([layer], g, "h", seed)
    left = linear(w, "h__lin_l", g.x)
    right = left if share_weights else linear(w, "h__lin_r", g.x)
    a = g.adjacency()
    np.fill_diagonal(a, 1.0)
    per_head = []
    for h in range(heads):
        rows = slice(2 * h, 2 * h + 2)
        result = np.zeros((g.n, 2))
        for i in range(g.n):
            sources = np.flatnonzero(a[i])
            z = right[i, rows] + left[sources, rows]
            scores = np.where(z > 0, z, 0.2 * z) @ w[f"h__att{h}"][0]
            alpha = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
            result[i] = alpha @ left[sources, rows]
        per_head.append(result)
    combined = np.concatenate(per_head, axis=1) if concat else np.mean(per_head, axis=0)
    np.testing.assert_allclose(out, np.tanh(combined + column(w, "h__bias")), rtol=0, atol=TOL)


# --------------------------------------------------------------------------- degree-normalised propagation


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("add_self_loops, normalize", [(True, True), (False, True), (True, False)])
def test_gcn(seed, add_self_loops, normalize):
    g = Graph(seed)
    layer = GCNConv(3, 4, "h", "x", add_self_loops=add_self_loops, normalize=normalize)
    if add_self_loops:
        w, out = run([layer], g, "h", seed)
    else:
        with pytest.warns(NeuralogicWarning, match="underivable quer"):
            w, out = run([layer], g, "h", seed, allow_underivable=True)
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


# --------------------------------------------------------------------------- composition: gradients and training


def stacked(activation: str = "relu") -> list:
    """GCN -> ResGated -> SAGE -> GIN, a mean readout and an MLP head with a sigmoid output."""
    return [GCNConv(3, 4, "h1", "x", activation=activation),
            ResGatedGraphConv(4, 4, "h2", "h1", activation=activation),
            SAGEConv(4, 4, "h3", "h2", activation="tanh"),
            GINConv(MLP([4, 4, 3], "h4", "h4_in"), "h3"),
            MeanPooling("g", "h4"),
            MLP([3, 3, 1], "predict", "g", arity=0),
            (R.predict / 0) | {"activation": "sigmoid"}]


def graph_data(seeds: list[int]) -> Dataset:
    """Graphs labelled 1.0 when their nodes' first feature is positive on average."""
    graphs = [Graph(seed) for seed in seeds]
    return Dataset(tuple(Example(g.facts(), queries=R.predict[float(g.x[:, 0].mean() > 0)]) for g in graphs))


def attention() -> list:
    """Two-head GATv2 attention, a sum readout and a linear head."""
    return [GATv2Conv(3, 2, "h1", "x", heads=2, activation="tanh"), SumPooling("g", "h1"),
            Linear(4, 1, "predict", "g", arity=0, activation="sigmoid")]


@pytest.mark.parametrize("layers", [stacked("tanh"), attention()], ids=["stacked", "attention"])
def test_a_stacked_model_has_the_finite_difference_gradient(layers):
    model = Model(TemplateBuilder(layers), seed=0)
    _, compiled = model.build(graph_data([0, 1, 2]))
    params = model.store.learnable()
    cotangent = np.random.default_rng(0).normal(size=compiled.forward(params).shape)

    _, grads = compiled.value_and_grad(params, lambda out, t: ops.sum_all(ops.multiply(out, cotangent)),
                                       compiled.targets())
    assert set(grads) == set(params)
    for name, value in params.items():
        numeric = numerical_gradient(lambda v: compiled.forward({**params, name: v}), [value], 0, cotangent)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-6, atol=1e-8, err_msg=name)


def test_a_stacked_model_trains():
    model = Model(TemplateBuilder(stacked()), seed=0, loss="crossentropy")
    result = model.fit(graph_data(list(range(16))), epochs=15, optimizer="adam", lr=0.01)
    errors = result.history.train_error
    assert len(errors) == 15
    assert errors[-1] < 0.8 * errors[0]


# --------------------------------------------------------------------------- ready templates


@pytest.mark.parametrize("name", sorted(MODELS))
def test_the_ready_templates_are_generated_from_the_modules(name):
    assert (REPO / "templates" / f"pyg_{name}.rules").read_text() == ready_template(name)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_ready_gcn_template_is_three_gcn_layers_a_mean_and_a_sigmoid(seed):
    graphs = [Graph(seed * 10 + k, d=7) for k in range(3)]
    model = Model(REPO / "templates" / "pyg_gcn.rules", seed=seed)
    data = Dataset(tuple(Example(g.facts(feature="feature"), queries=R.predict[1.0]) for g in graphs))
    outputs = model.predict(data).outputs.reshape(-1)
    w = model.parameters()
    for g, output in zip(graphs, outputs):
        a, h = normalised(g.adjacency(), True), g.x
        for k in (1, 2, 3):
            h = np.maximum(a @ h @ w[f"h{k}__lin"].T + column(w, f"h{k}__bias"), 0.0)
        z = w["predict__weight"] @ h.mean(axis=0) + w["predict__bias"][0, 0]
        assert output == pytest.approx(1.0 / (1.0 + np.exp(-z[0])), abs=TOL)


# --------------------------------------------------------------------------- recurrent layers over sequences


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def run_sequences(layer, seed: int, arity: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Outputs ``h(..., t)`` for random sequences ``x(..., t)``, t = 1..L (two sequences when arity is 1)."""
    rng = np.random.default_rng(seed)
    length = int(rng.integers(2, 6))
    xs = rng.normal(size=(2 if arity else 1, length, 3))
    prefix = [(s,) for s in range(len(xs))] if arity else [()]
    facts = [R.x(*p, t + 1)[xs[k, t].tolist()] for k, p in enumerate(prefix) for t in range(length)]
    queries = [R.h(*p, t + 1) for p in prefix for t in range(length)]
    model = Model(TemplateBuilder(layer), seed=seed)
    model.load_parameters({name: rng.normal(size=value.shape) for name, value in model.store.learnable().items()})
    data = Dataset((Example(facts, id=R.s),), (QueryLine(queries, id=R.s),))
    outputs = model.predict(data).outputs[:, :, 0]
    return model.parameters(), xs, outputs.reshape(len(xs), length, -1)


def recurrence(step, xs: np.ndarray, size: int) -> np.ndarray:
    """Hidden states of ``state = step(x_t, state)`` from zero states, per sequence."""
    out = np.zeros((*xs.shape[:2], size))
    for k, sequence in enumerate(xs):
        state = None
        for t, x in enumerate(sequence):
            state = step(x, state)
            out[k, t] = state[0]
    return out


def affine(w: dict[str, np.ndarray], gate: str, x: np.ndarray, h: np.ndarray) -> np.ndarray:
    return w[f"{gate}__weight_ih"] @ x + w[f"{gate}__weight_hh"] @ h + column(w, f"{gate}__bias")


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("arity", [0, 1])
def test_rnn(seed, arity):
    w, xs, out = run_sequences(RNN(3, 4, "h", "x", arity=arity), seed, arity)
    want = recurrence(lambda x, s: (np.tanh(affine(w, "h", x, np.zeros(4) if s is None else s[0])),), xs, 4)
    np.testing.assert_allclose(out, want, rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("arity", [0, 1])
def test_gru(seed, arity):
    w, xs, out = run_sequences(GRU(3, 4, "h", "x", arity=arity), seed, arity)

    def step(x, state):
        h = np.zeros(4) if state is None else state[0]
        r, z = sigmoid(affine(w, "h__r", x, h)), sigmoid(affine(w, "h__z", x, h))
        n = np.tanh(w["h__n__weight_ih"] @ x + column(w, "h__n__bias")
                    + r * (w["h__hn__weight_hh"] @ h + column(w, "h__hn__bias")))
        return ((1 - z) * n + z * h,)

    np.testing.assert_allclose(out, recurrence(step, xs, 4), rtol=0, atol=TOL)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("arity", [0, 1])
def test_lstm(seed, arity):
    w, xs, out = run_sequences(LSTM(3, 4, "h", "x", arity=arity), seed, arity)

    def step(x, state):
        h, c = (np.zeros(4), np.zeros(4)) if state is None else state
        i, f, o = (sigmoid(affine(w, f"h__{g}", x, h)) for g in "ifo")
        c = f * c + i * np.tanh(affine(w, "h__g", x, h))
        return o * np.tanh(c), c

    np.testing.assert_allclose(out, recurrence(step, xs, 4), rtol=0, atol=TOL)


# --------------------------------------------------------------------------- the guide


GUIDE = REPO / "docs" / "modules.md"
PYTHON_BLOCKS = re.findall(r"^```python\n(.*?)^```", GUIDE.read_text(), re.MULTILINE | re.DOTALL)


def test_the_guide_has_an_example_per_family():
    text = "\n".join(PYTHON_BLOCKS)
    assert len(PYTHON_BLOCKS) == 3
    assert all(name in text for name in ("GCNConv", "SAGEConv", "MeanPooling", "MLP", "GINConv", "GRU"))


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"block{k + 1}" for k in range(len(PYTHON_BLOCKS))])
def test_the_guide_runs(block, tmp_path):
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()


def test_the_fused_engine_trains_the_stacked_model_as_numpy_does():
    from neuralogic_py.engine import jit

    if not jit.available():
        pytest.skip("numba is not installed")
    data = graph_data(list(range(6)))
    trained = []
    for engine in ("numpy", "fused"):
        model = Model(TemplateBuilder(stacked()), seed=0, loss="crossentropy", engine=engine)
        result = model.fit(data, epochs=3, optimizer="adam", lr=0.01)
        assert result.history.engine == engine
        trained.append(model.parameters())
    for name, value in trained[0].items():
        np.testing.assert_allclose(trained[1][name], value, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("make, message", [
    (lambda: SGConv(2, 3, "h", "x", K=0), "SGConv's K must be a whole number of at least 1, got 0"),
    (lambda: GATv2Conv(2, 3, "h", "x", heads=1.5), "heads must be a whole number of at least 1"),
    (lambda: SAGEConv(2, 3, "h", "x", aggr="meen"), "aggr must be one of mean, add, sum, max, min"),
    (lambda: MLP([3], "h", "x"), "an MLP needs at least an input and an output size"),
    (lambda: GINConv(SAGEConv(2, 3, "h", "x"), "x"), "the nn of a GIN layer is a Linear or an MLP"),
    (lambda: str(GCNConv(2, 3, "H", "x")), "a weight name must start with a lower-case letter"),
])
def test_bad_layer_arguments_are_errors_at_the_users_line(make, message):
    with pytest.raises(ValidationError, match=re.escape(message)) as caught:
        make()
    assert caught.value.span.file.endswith("test_nn.py")


def test_pyg_weights_load_by_their_state_dict_names():
    """PyG's shapes (a bias (n,), GATv2's att (1, heads, out), RGCN's (in, out) matrices) become ours."""
    rng = np.random.default_rng(0)
    layer = GATv2Conv(3, 2, "h", "x")
    model = Model(TemplateBuilder(layer), seed=0)
    state = {"lin_l.weight": rng.normal(size=(2, 3)), "lin_l.bias": rng.normal(size=2),
             "lin_r.weight": rng.normal(size=(2, 3)), "lin_r.bias": rng.normal(size=2),
             "att": rng.normal(size=(1, 1, 2)), "bias": rng.normal(size=2)}
    layer.load_pyg(model, state)
    w = model.parameters()
    np.testing.assert_array_equal(w["h__lin_l__weight"], state["lin_l.weight"])
    np.testing.assert_array_equal(w["h__lin_r__bias"][:, 0], state["lin_r.bias"])
    np.testing.assert_array_equal(w["h__att0"], state["att"][0])
    np.testing.assert_array_equal(w["h__bias"][:, 0], state["bias"])
    del state["att"]
    with pytest.raises(ValidationError, match="the PyG state_dict has no att"):
        layer.load_pyg(model, state)
    layer = RGCNConv(3, 2, 2, "h", "x")
    model = Model(TemplateBuilder(layer), seed=0)
    state = {"weight": rng.normal(size=(2, 3, 2)), "root": rng.normal(size=(3, 2)), "bias": rng.normal(size=2)}
    layer.load_pyg(model, state)
    w = model.parameters()
    np.testing.assert_array_equal(w["h__weight1"], state["weight"][1].T)
    np.testing.assert_array_equal(w["h__root"], state["root"].T)


def test_the_guide_shows_the_rules_gcn_writes():
    shown = re.search(r"^```text\n(h1__edge.*?)^```", GUIDE.read_text(), re.MULTILINE | re.DOTALL).group(1)
    assert shown.rstrip("\n") == str(GCNConv(2, 3, "h1", "feature")).rstrip("\n")

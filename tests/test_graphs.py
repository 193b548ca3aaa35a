"""Graph import (neuralogic_py.graphs, nlp convert tu): arrays, networkx, PyG and TU folders -> examples and queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import require_shared

from neuralogic_py.cli import main
from neuralogic_py.errors import NeuralogicError, ValidationError
from neuralogic_py.graphs import (GraphEncoding, examples_text, from_networkx, graph, queries_text, read_tu,
                                  to_dataset)
from neuralogic_py.language import ir
from neuralogic_py.language.data import parse_examples, parse_queries
from neuralogic_py.learn.dataset import Dataset
from neuralogic_py.learn.model import Model


def random_graph(rng: np.random.Generator, nodes: int, edges: int, features: int, edge_features: int) -> dict:
    return {"x": rng.normal(size=(nodes, features)), "edge_index": rng.integers(0, nodes, size=(2, edges)),
            "edge_attr": rng.normal(size=(edges, edge_features)) if edge_features else None,
            "y": float(rng.integers(0, 2))}


def reparsed(dataset: Dataset) -> tuple[tuple[ir.Example, ...], tuple[ir.QueryLine, ...]]:
    """The dataset written as text and read back by the parser."""
    return parse_examples(examples_text(dataset)), parse_queries(queries_text(dataset))


def decoded(example: ir.Example) -> tuple[dict[str, np.ndarray], list[tuple[str, str]], dict[tuple[str, str], list]]:
    """Node features by node, directed edges in order, edge features by edge: read off the facts."""
    features, edges, edge_features = {}, [], {}
    for fact in example.facts:
        terms = tuple(str(t) for t in fact.atom.terms)
        if fact.atom.predicate == "feature":
            features[terms[0]] = np.atleast_1d(fact.weight.value.to_array())
        elif fact.atom.predicate == "edge":
            edges.append(terms)
        elif fact.atom.predicate == "edge_feature":
            edge_features.setdefault(terms, []).append(np.atleast_1d(fact.weight.value.to_array()))
    return features, edges, edge_features


@pytest.mark.parametrize("features,edge_features", [(3, 0), (1, 2), (4, 1)])
def test_arrays_round_trip(features, edge_features):
    """arrays -> examples -> text -> parse: the same facts, and the facts hold the arrays' numbers bit for bit."""
    rng = np.random.default_rng(features * 10 + edge_features)
    arrays = [random_graph(rng, n, m, features, edge_features) for n, m in ((5, 8), (1, 0), (7, 12))]
    dataset = to_dataset([graph(**a) for a in arrays])
    examples, lines = reparsed(dataset)
    assert [tuple(e.facts) for e in examples] == [tuple(e.facts) for e in dataset.examples]
    assert lines == dataset.query_lines
    for a, example, line in zip(arrays, examples, lines):
        x, edges, edge_features_read = decoded(example)
        assert sorted(x) == sorted(f"n{i}" for i in range(len(a["x"])))
        for i, row in enumerate(a["x"]):
            assert np.array_equal(x[f"n{i}"], row)
        assert edges == [(f"n{s}", f"n{d}") for s, d in a["edge_index"].T]
        if a["edge_attr"] is not None:
            for (s, d), row in zip(a["edge_index"].T, a["edge_attr"]):
                assert any(np.array_equal(row, r) for r in edge_features_read[(f"n{s}", f"n{d}")])
        assert str(line) == f"{a['y']} predict."


def test_encoding_options_hand_checked():
    """Unary features, undirected edges, one-hot and node targets, other names: the text checked by hand."""
    g = graph(x=[[1, 0], [0, 2.5], [0, 0]], edge_index=[[0, 1], [1, 2]], edge_attr=[[1.0], [0.5]],
              node_y=[[1], [np.nan], [2]])
    encoding = GraphEncoding(unary=True, undirected=True, num_classes=3, edge="bond", output="cls", node_prefix="a",
                             feature_names=("c", "o"), edge_feature_names=("b",))
    dataset = to_dataset([g], encoding)
    assert examples_text(dataset) == ("c(a0), <2.5> o(a1), bond(a0, a1), bond(a1, a2), bond(a1, a0), bond(a2, a1), "
                                      "b(a0, a1), <0.5> b(a1, a2), b(a1, a0), <0.5> b(a2, a1).\n")
    assert queries_text(dataset) == "[0.0, 1.0, 0.0] cls(a0), [0.0, 0.0, 1.0] cls(a2).\n"
    assert reparsed(dataset)[1] == dataset.query_lines
    plain = to_dataset([graph(edge_index=[[0], [1]])], GraphEncoding(node_prefix=""))
    assert (examples_text(plain), queries_text(plain)) == ("edge(0, 1).\n", "predict.\n")


def test_training_reads_the_examples():
    """Model.predict on imported graphs: sum over nodes of W x_i (an independent numpy computation), and fit runs."""
    rng = np.random.default_rng(3)
    graphs = [graph(**random_graph(rng, n, 2 * n, 2, 0)) for n in (2, 4, 6)]
    model = Model.from_text("predict :- {1,2} feature(X). [activation=identity, aggregation=sum]\n"
                            "predict/0 [activation=identity]\n")
    (w,) = model.parameters().values()
    outputs = model.predict(to_dataset(graphs)).outputs.reshape(-1)
    assert np.allclose(outputs, [float((w @ g.x.T).sum()) for g in graphs], rtol=0, atol=1e-12)
    result = model.fit(to_dataset(graphs), epochs=2)
    assert result.history.epochs == 2


@pytest.mark.parametrize("arrays,message", [
    ({"edge_index": [[0, 1, 2]]}, r"shape \(2, edges\)"),
    ({"x": [[1.0], [2.0]], "edge_index": [[0], [2]]}, "outside 0..1"),
    ({"x": [[1.0], [2.0]], "edge_index": [[0], [1]], "edge_attr": [[1.0], [2.0]]}, "edge_attr has 2 rows"),
    ({"x": [[np.inf]], "edge_index": [[0], [0]]}, "not finite"),
    ({"edge_index": [[0.5], [1]]}, "integer node indices"),
    ({"x": [[1.0]], "node_y": [1, 2]}, "node_y has 2 rows"),
])
def test_bad_arrays(arrays, message):
    with pytest.raises(ValidationError, match=message):
        graph(**arrays)


def test_bad_names_and_classes():
    with pytest.raises(NeuralogicError, match="not a predicate name"):
        GraphEncoding(feature="Feature")
    with pytest.raises(NeuralogicError, match="not a class in 0..1"):
        to_dataset([graph(x=[[1.0]], y=2)], GraphEncoding(num_classes=2))


def test_networkx_round_trip():
    """networkx -> examples -> text -> parse -> the same nodes, edges (both directions) and attributes."""
    nx = pytest.importorskip("networkx")
    g = nx.Graph(label=1)
    g.add_node("c", a=1.0, b=[0.0, 2.0])
    g.add_node("x", a=-1.5, b=[1.0, 1.0], target=0)
    g.add_node("y", a=0.25, b=[3.0, 0.0], target=1)
    g.add_edge("c", "x", w=0.5)
    g.add_edge("x", "y", w=2.0)
    g.add_edge("y", "y", w=1.0)
    converted = from_networkx(g, node_features=["a", "b"], edge_features=["w"], graph_target="label",
                              node_target="target")
    (example,), (line,) = reparsed(to_dataset([converted]))
    x, edges, edge_features = decoded(example)
    names = {f"n{i}": node for i, node in enumerate(g.nodes)}
    for constant, node in names.items():
        assert np.array_equal(x[constant], [g.nodes[node]["a"], *g.nodes[node]["b"]])
    back = nx.DiGraph([(names[s], names[d]) for s, d in edges])
    assert set(back.edges) == {(u, v) for u, v in g.edges} | {(v, u) for u, v in g.edges}
    assert len(edges) == 5  # two edges both ways, the self loop once
    for (s, d), values in edge_features.items():
        assert [float(v[0]) for v in values] == [g.edges[names[s], names[d]]["w"]]
    assert str(line) == "1.0 predict, 0.0 predict(n1), 1.0 predict(n2)."
    directed = from_networkx(nx.DiGraph([(0, 1)]))
    assert directed.edge_index.tolist() == [[0], [1]]
    with pytest.raises(ValidationError, match="has no attribute 'b'"):
        from_networkx(nx.Graph([(0, 1)]), node_features=["b"])


def test_pyg_data_objects():
    """PyG Data objects (and a list of them, as a PyG Dataset iterates) give what the same arrays give."""
    torch = pytest.importorskip("torch")
    data = pytest.importorskip("torch_geometric.data")
    rng = np.random.default_rng(5)
    arrays = [random_graph(rng, n, 2 * n, 3, 2) for n in (3, 5)]
    objects = [data.Data(x=torch.tensor(a["x"], requires_grad=True), edge_index=torch.tensor(a["edge_index"]),
                         edge_attr=torch.tensor(a["edge_attr"]), y=torch.tensor([int(a["y"])])) for a in arrays]
    ours = to_dataset([graph(**a) for a in arrays])
    theirs = to_dataset(objects)
    assert (examples_text(theirs), queries_text(theirs)) == (examples_text(ours), queries_text(ours))
    node_level = to_dataset([data.Data(x=torch.ones(3, 1), edge_index=torch.tensor([[0, 1], [1, 2]]),
                                       y=torch.tensor([0, 1, 1]))])
    assert queries_text(node_level) == "0.0 predict(n0), 1.0 predict(n1), 1.0 predict(n2).\n"


# -- TU folders -------------------------------------------------------------------------------------

TINY = {  # two graphs: a triangle-ish graph of 3 nodes and a single edge; three classes
    "A": "1, 2\n2, 1\n2, 3\n3, 2\n4, 5\n5, 4\n",
    "graph_indicator": "1\n1\n1\n2\n2\n",
    "graph_labels": "7\n-2\n",
    "node_labels": "2\n0\n2\n1\n0\n",
    "node_attributes": "0.5\n1.0\n-1.0\n2.0\n0.0\n",
    "edge_labels": "1\n1\n2\n2\n1\n1\n",
}


def write_tu(folder: Path, files: dict[str, str], name: str = "TINY") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for part, text in files.items():
        (folder / f"{name}_{part}.txt").write_text(text)
    return folder


def test_tu_folder_hand_checked(tmp_path):
    """The tiny folder's facts, worked out by hand from the files above (x = [attribute, one-hot label 0..2])."""
    data = read_tu(write_tu(tmp_path / "tiny", TINY))
    assert data.node_columns == ("attribute0", "label0", "label1", "label2")
    assert data.edge_columns == ("label1", "label2")
    assert data.classes == (-2, 7)
    dataset = data.to_dataset()
    assert examples_text(dataset).splitlines() == [
        "<[0.5, 0.0, 0.0, 1.0]> feature(n0), <[1.0, 1.0, 0.0, 0.0]> feature(n1), <[-1.0, 0.0, 0.0, 1.0]> feature(n2), "
        "edge(n0, n1), edge(n1, n0), edge(n1, n2), edge(n2, n1), <[1.0, 0.0]> edge_feature(n0, n1), "
        "<[1.0, 0.0]> edge_feature(n1, n0), <[0.0, 1.0]> edge_feature(n1, n2), <[0.0, 1.0]> edge_feature(n2, n1).",
        "<[2.0, 0.0, 1.0, 0.0]> feature(n0), <[0.0, 1.0, 0.0, 0.0]> feature(n1), edge(n0, n1), edge(n1, n0), "
        "<[1.0, 0.0]> edge_feature(n0, n1), <[1.0, 0.0]> edge_feature(n1, n0)."]
    assert queries_text(dataset) == "1.0 predict.\n0.0 predict.\n"
    unary = data.to_dataset(GraphEncoding(unary=True))
    assert examples_text(unary).splitlines()[1] == ("<2.0> attribute0(n0), label1(n0), label0(n1), edge(n0, n1), "
                                                    "edge(n1, n0), label1(n0, n1), label1(n1, n0).")
    three = write_tu(tmp_path / "three", {**TINY, "graph_indicator": "1\n1\n2\n3\n3\n", "graph_labels": "1\n2\n3\n",
                                          "A": "1, 2\n4, 5\n", "edge_labels": "1\n1\n"})
    del_edges = read_tu(three, "TINY")
    assert [g.y.tolist() for g in del_edges.graphs] == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]


BAD = [  # (file part, its text, line, column, message)
    ("A", "1, 2\n2; 1\n", 2, 1, "expected 2 columns"),
    ("A", "1, 2\n2, x\n", 2, 4, "expected an integer, found 'x'"),
    ("A", "1, 2\n2, 9\n", 2, 4, "node 9 does not exist"),
    ("A", "1, 2\n3, 4\n", 2, 1, "joins node 3 of graph 1 to node 4 of graph 2"),
    ("graph_indicator", "1\n1\n1\n3\n3\n", 4, 1, "graph 2 has no nodes"),
    ("graph_indicator", "1\n1\n0\n2\n2\n", 3, 1, "graph ids start at 1"),
    ("graph_labels", "1\n", 2, 1, "1 line, but bad/TINY_graph_indicator.txt names 2 graphs"),
    ("node_labels", "1\n1\n1\n1\n1\n1\n", 6, 1, "6 lines, but"),
    ("node_attributes", "1.0\n2.0\nnan\n1\n1\n", 3, 1, "a finite number, found 'nan'"),
    ("edge_labels", "1\n2\n", 3, 1, "2 lines, but bad/TINY_A.txt has 6 edges"),
]


@pytest.mark.parametrize("part,text,line,column,message", BAD)
def test_bad_tu_files(tmp_path, monkeypatch, capsys, part, text, line, column, message):
    """A malformed file: a positioned error from read_tu, and exit 2 with file:line:column from nlp convert."""
    monkeypatch.chdir(tmp_path)
    write_tu(tmp_path / "bad", {**TINY, part: text})
    with pytest.raises(ValidationError, match=message) as error:
        read_tu("bad")
    assert (error.value.span.file, error.value.span.line, error.value.span.column) == (
        f"bad/TINY_{part}.txt", line, column)
    assert main(["convert", "tu", "bad", "out"]) == 2
    assert f"bad/TINY_{part}.txt:{line}:{column}: error: " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_convert_cli_writes_a_data_folder(tmp_path, monkeypatch, capsys):
    """nlp convert tu writes examples.txt and queries.txt that Dataset.load reads back to the same examples."""
    monkeypatch.chdir(tmp_path)
    write_tu(tmp_path / "tiny", TINY)
    assert main(["convert", "tu", "tiny", "out", "--edge", "bond", "--node-prefix", "a"]) == 0
    captured = capsys.readouterr()
    assert "TINY: 2 graphs, 5 nodes, 6 edges, 4 node and 2 edge feature columns, classes -2, 7" in captured.out
    assert "reading tiny/TINY_A.txt" in captured.err
    loaded = Dataset.load("out")
    expected = read_tu("tiny").to_dataset(GraphEncoding(edge="bond", node_prefix="a"))
    assert [tuple(e.facts) for e in loaded.examples] == [tuple(e.facts) for e in expected.examples]
    assert loaded.query_lines == expected.query_lines
    assert main(["convert", "tu", "tiny", "out2", "--feature", "Bad"]) == 2
    assert "not a predicate name" in capsys.readouterr().err


def test_shared_mutag():
    """TU MUTAG: 188 graphs, node, edge and class counts equal to the TU files' line counts; the text reads back."""
    folder = require_shared("datasets", "tu", "MUTAG")
    lines = {part: (folder / f"MUTAG_{part}.txt").read_text().split("\n") for part in
             ("A", "graph_indicator", "graph_labels", "node_labels")}
    lines = {part: [line for line in text if line.strip()] for part, text in lines.items()}
    data = read_tu(folder)
    assert len(data.graphs) == 188 == len(lines["graph_labels"])
    assert sum(g.num_nodes for g in data.graphs) == len(lines["graph_indicator"]) == len(lines["node_labels"])
    assert sum(g.num_edges for g in data.graphs) == len(lines["A"])
    assert data.classes == (-1, 1)
    assert sum(g.y == 1 for g in data.graphs) == lines["graph_labels"].count("1") == 125
    assert data.node_columns == tuple(f"label{k}" for k in range(1, 8))
    first = [int(v) for v in lines["graph_indicator"]].count(1)
    assert data.graphs[0].num_nodes == first
    assert np.array_equal(data.graphs[0].x.argmax(axis=1) + 1, [int(v) for v in lines["node_labels"][:first]])
    dataset = data.to_dataset()
    examples, queries = reparsed(dataset)
    assert len(examples) == len(queries) == 188
    assert [tuple(e.facts) for e in examples] == [tuple(e.facts) for e in dataset.examples]


def test_tu_attributes_and_regression_targets(tmp_path):
    """Edge attributes come before one-hot edge labels; graph attributes replace the labels as the target (as PyG)."""
    files = {**TINY, "edge_attributes": "0.5, 1\n0.5, 1\n2, 0\n2, 0\n-1, 1\n-1, 1\n", "graph_attributes": "0.25\n3\n"}
    data = read_tu(write_tu(tmp_path / "tiny", files))
    assert data.edge_columns == ("attribute0", "attribute1", "label1", "label2")
    assert data.classes == ()
    assert data.graphs[1].edge_attr.tolist() == [[-1.0, 1.0, 1.0, 0.0], [-1.0, 1.0, 1.0, 0.0]]
    assert queries_text(data.to_dataset()) == "0.25 predict.\n3.0 predict.\n"


def test_tu_folder_read_by_pyg_gives_the_same_examples(tmp_path):
    """PyG's own TUDataset reader on the tiny folder (attributes kept) and read_tu give the same text."""
    datasets = pytest.importorskip("torch_geometric.datasets")
    write_tu(tmp_path / "TINY" / "raw", TINY)
    theirs = datasets.TUDataset(str(tmp_path), "TINY", use_node_attr=True, use_edge_attr=True)
    ours = read_tu(tmp_path / "TINY" / "raw").to_dataset()
    assert examples_text(to_dataset(theirs)) == examples_text(ours)
    assert queries_text(to_dataset(theirs)) == queries_text(ours)

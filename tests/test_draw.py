"""Drawings: the template graph, one example's ground and lifted network, and `nlp draw`.

DOT text is checked by its structure always, and by Graphviz's own parser where its `dot`
program is installed (`.ci/run` installs the Debian package graphviz). A lifted drawing's
multiplicities must add up to the example's neurons after chain pruning, as `compress` counts
them on a network of that example alone.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO

from neuralogic_py import cli
from neuralogic_py.draw import Drawing, GraphvizMissing, draw_ground, draw_lifted, draw_template
from neuralogic_py.language.parser import load_template
from neuralogic_py.language.sources import load_sources, load_split
from neuralogic_py.logic.samples import ground_samples
from neuralogic_py.neural.compression import compress
from neuralogic_py.neural.flat import Flat
from neuralogic_py.neural.network import neuralize

GNN = REPO / "templates" / "gnn.rules"
MOLECULES = REPO / "datasets" / "molecules"
HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="needs Graphviz's dot program (Debian package graphviz)")

NODE = re.compile(r'^  "((?:[^"\\]|\\.)*)" \[(.*)\];$')
EDGE = re.compile(r'^  "((?:[^"\\]|\\.)*)" -> "((?:[^"\\]|\\.)*)"(?: \[(.*)\])?;$')


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def parsed(dot: str) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """Nodes (id -> attributes) and edges of DOT text as Drawing writes it; fails on any other line."""
    lines = dot.splitlines()
    assert lines[0] == "digraph neuralogic {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[4:-1]:
        if m := EDGE.match(line):
            edges.append((m[1], m[2], m[3] or ""))
        else:
            m = NODE.match(line)
            assert m, f"not a node or an edge statement: {line}"
            nodes[m[1]] = m[2]
    assert {end for tail, head, _ in edges for end in (tail, head)} <= set(nodes), "an edge to an undeclared node"
    return nodes, edges


def check_dot(drawing: Drawing) -> tuple[dict[str, str], list[tuple[str, str, str]]]:
    """The structural check, and Graphviz's parser where it is installed."""
    text = drawing.dot()
    nodes, edges = parsed(text)
    assert len(nodes) == len(drawing.nodes) and len(edges) == len(drawing.edges)
    if HAS_DOT:
        done = subprocess.run(["dot", "-Tcanon"], input=text, capture_output=True, text=True)
        assert done.returncode == 0 and not done.stderr, done.stderr
    return nodes, edges


def molecules(split: str = "train") -> tuple:
    sources = load_sources(GNN, MOLECULES, None)
    template = load_template(*sources.template)
    data = load_split(getattr(sources, split))
    return template, data, neuralize(template, ground_samples(template, data.examples, data.query_lines))


@pytest.mark.parametrize("path", sorted((REPO / "templates").glob("*.rules")), ids=lambda p: p.name)
def test_every_bundled_template_draws_as_valid_dot(path):
    template = load_template(path)
    nodes, edges = check_dot(draw_template(template, path.name))
    rules = [n for n in nodes if n.startswith("rule")]
    assert len(rules) == len(template.rules)
    # one edge per body literal and one into the head, per rule
    assert len(edges) == sum(len(rule.body) + 1 for rule in template.rules)


def test_template_drawing_shows_weights_hidden_literals_and_input_predicates():
    drawing = draw_template(load_template(GNN))
    assert drawing.nodes["c/1"].kind == "input" and drawing.nodes["layer1/1"].kind == "predicate"
    assert drawing.nodes["layer1/1"].label == "layer1/1\ntanh"
    hidden = [e for e in drawing.edges if e.tail == "bond/3"]
    assert len(hidden) == 2 and all(e.attributes == {"style": "dashed"} for e in hidden)
    assert [e.label for e in drawing.edges if e.head == "rule10"] == ["{3,3}", "{3,3}", ""]
    assert [e.label for e in drawing.edges if e.tail == "rule14"] == ["{1,3}"]


def test_ground_drawing_has_every_neuron_the_outputs_reach_by_kind():
    template, _, network = molecules()
    flat = Flat(network)
    for example in range(len(network.samples)):
        reached = np.concatenate(flat.reachable(network.outputs[example:example + 1]))
        drawing = draw_ground(template, network, example)
        check_dot(drawing)
        kinds = [node.kind for node in drawing.nodes.values()]
        assert len(kinds) == reached.sum()
        assert set(kinds) == {"fact", "atom", "rule", "aggregation"}
        assert drawing.notes[0].startswith(f"{reached.sum()} neurons")


def test_ground_edges_carry_weight_names_and_bypassed_neurons_are_dashed():
    template, _, network = molecules()
    drawing = draw_ground(template, network, 4)
    labels = {e.label for e in drawing.edges}
    assert {"rule10.body1", "rule10.body2", "rule12.body1", "rule14.head"} <= labels
    dashed = [n for n in drawing.nodes.values() if "dashed" in n.attributes.get("style", "")]
    assert dashed and {n.kind for n in dashed} == {"aggregation"}  # one-member avg aggregations, here


def test_a_soft_negation_is_a_neuron_between_its_input_and_its_rule(tmp_path):
    (tmp_path / "t.rules").write_text("h(X) :- ~a(X), b(X).\n")
    (tmp_path / "e.txt").write_text("a(x), <0.3> a(y), b(x), b(y).\n")
    (tmp_path / "q.txt").write_text("h(x), h(y).\n")
    sources = load_sources(tmp_path / "t.rules", tmp_path / "e.txt", tmp_path / "q.txt")
    template, data = load_template(*sources.template), load_split(sources.train)
    network = neuralize(template, ground_samples(template, data.examples, data.query_lines))
    drawing = draw_ground(template, network)
    nodes, edges = check_dot(drawing)
    negations = [name for name, node in drawing.nodes.items() if node.kind == "negation"]
    assert len(negations) == 2 and {drawing.nodes[n].label for n in negations} == {"reverse"}
    for negation in negations:  # from its input, into its one rule neuron
        assert [drawing.nodes[head].kind for tail, head, _ in edges if tail == negation] == ["rule"]
        assert [drawing.nodes[tail].kind for tail, head, _ in edges if head == negation] == ["fact"]


@pytest.mark.parametrize("dataset", ["molecules", "carbonyl"])
def test_lifted_multiplicities_add_up_to_the_neurons_after_chain_pruning(dataset):
    sources = load_sources(GNN, REPO / "datasets" / dataset, None)
    template = load_template(*sources.template)
    data = load_split(sources.train)
    network = neuralize(template, ground_samples(template, data.examples, data.query_lines))
    for example in range(min(6, len(data.examples))):
        drawing = draw_lifted(template, network, example)
        check_dot(drawing)
        counts = [node.count for node in drawing.nodes.values() if node.kind != "cut"]
        alone = ground_samples(template, data.examples[example:example + 1], data.query_lines[example:example + 1])
        _, report = compress(neuralize(template, alone), "structural")
        pruned, lifted = report.stages[1].counts, report.stages[2].counts
        assert sum(counts) == pruned.neurons
        assert len(counts) == lifted.neurons  # one drawn neuron per neuron the lifted network computes
        assert all(n >= 1 for n in counts)


def test_lifted_drawing_marks_merged_neurons():
    template, _, network = molecules()
    drawing = draw_lifted(template, network, 4)
    nodes, _ = check_dot(drawing)
    merged = {node.label: node.count for node in drawing.nodes.values() if (node.count or 0) > 1}
    assert merged["rule 1\ntanh(sum)"] == 7  # the embedding rule neurons of 4 atoms and 3 bonds: all tanh(1.0)
    assert any("×7" in attributes for attributes in nodes.values())
    assert "c/1" in merged  # a fact neuron of several atoms: its predicate


def test_depth_cuts_and_says_what_it_cut():
    template, _, network = molecules()
    full = draw_ground(template, network, 0)
    cut = draw_ground(template, network, 0, depth=2)
    check_dot(cut)
    neurons = [n for n in cut.nodes.values() if n.kind != "cut"]
    assert len(neurons) < len(full.nodes)
    assert any(n.kind == "cut" and n.label.startswith("+") for n in cut.nodes.values())
    assert f"{len(full.nodes) - len(neurons)} of {len(full.nodes)} neurons not drawn" in cut.notes[-1]
    limited = draw_ground(template, network, 0, limit=20)
    assert len([n for n in limited.nodes.values() if n.kind != "cut"]) <= 20
    assert "(--depth to choose)" in limited.notes[1]


def test_query_draws_what_one_atom_depends_on():
    template, _, network = molecules()
    drawing = draw_ground(template, network, 1, query="layer1( a2 )")
    assert drawing.title == "ground network of layer1( a2 ) in example 2"
    atoms = {n.label.split("\n")[0] for n in drawing.nodes.values() if n.kind == "atom"}
    assert "layer1(a2)" in atoms and not any(a.startswith(("layer2", "predict")) for a in atoms)


@needs_dot
def test_svg_png_and_jupyter_display():
    drawing = draw_template(load_template(GNN))
    assert drawing.svg().lstrip().startswith("<?xml") and "<svg" in drawing._repr_svg_()
    assert drawing.png().startswith(b"\x89PNG")


def test_without_graphviz_the_message_names_the_package(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    drawing = draw_template(load_template(GNN))
    assert drawing._repr_svg_() is None
    with pytest.raises(GraphvizMissing, match="Debian package graphviz"):
        drawing.svg()
    code, out, err = run(capsys, "draw", GNN, "-o", tmp_path / "t.svg")
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "graphviz" in err
    assert not (tmp_path / "t.svg").exists()
    code, out, _ = run(capsys, "draw", GNN)  # DOT needs nothing
    assert code == 0 and out.startswith("digraph")


@needs_dot
@pytest.mark.parametrize("network", ["ground", "lifted"])
def test_nlp_draw_writes_the_format_its_suffix_names(capsys, tmp_path, network):
    for name, start in (("n.svg", b"<?xml"), ("n.png", b"\x89PNG"), ("n.dot", b"digraph")):
        code, out, err = run(capsys, "draw", GNN, MOLECULES, "--network", network, "--example", "5",
                             "-o", tmp_path / "sub" / name)
        assert (code, err) == (0, "") and out.startswith("wrote ")
        assert (tmp_path / "sub" / name).read_bytes().lstrip().startswith(start)


@pytest.mark.parametrize("argv, message", [
    (["--network", "ground", "--example", "9"], "--example 9: "),
    (["--network", "lifted", "--query", "layer1(a9)"], "trainExamples.txt:2:1: error: --query layer1(a9)"),
    (["--network", "ground", "--split", "val"], "no examples or queries to draw"),
    (["-o", "picture.jpg"], "cannot tell the format of picture.jpg"),
])
def test_bad_input_is_a_positioned_message_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "draw", GNN, MOLECULES, *argv)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err


def test_unknown_query_hint_names_the_closest_atoms(capsys):
    code, _, err = run(capsys, "draw", GNN, MOLECULES, "--network", "ground", "--query", "layer2(a9)")
    assert code == 2 and "hint: did you mean layer2(a" in err

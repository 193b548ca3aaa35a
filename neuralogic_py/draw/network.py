"""One example's neural network, ground or lifted, as a drawing.

:func:`draw_ground` draws every neuron the example's outputs (or one ``query`` atom) reach,
by kind (:data:`~.dot.KINDS`): *fact* and *atom* neurons labelled with their ground atom (an
atom with its activation), *rule* neurons with their template rule's number and functions,
*aggregation* neurons with their aggregation, and a *negation* between a soft-negated input
and its rule neuron. Edges run from input to reader, labelled with the weight's parameter name
(``rule10.body1``; an atom's input with its rule's head weight); an input used ``k`` times is one
edge labelled ``×k``. Neurons that exact chain pruning bypasses (they compute exactly their one
input) are drawn dashed.

:func:`draw_lifted` draws the same example after chain pruning and structural lifting within
the example (docs/lifting.md): each neuron stands for the ``N`` neurons of the pruned network
that it computes once, labelled ``×N`` and coloured by kind. Every neuron of the pruned network
is counted once, at the neuron of the lifted network that computes it (a bypassed one at the
neuron it passes through; one that lifting turned into the product ``W x`` on an edge at ``x``),
so the counts of a whole drawing add up to the example's neurons after chain pruning.

Large networks: ``depth`` keeps the neurons at most that many edges below the roots; without it,
a network of more than ``limit`` neurons is drawn to the deepest depth that keeps it under the
limit. What is cut is said in the drawing's notes, and each neuron whose inputs were cut gets a
``+k inputs`` mark.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable

import numpy as np

from ..errors import NeuralogicError
from ..language import ir
from ..language.pairing import counted
from ..neural.compression import LiftingSettings, lift
from ..neural.flat import Flat
from ..neural.network import FACT, Network
from ..neural.pruning import Bypass, chain_bypass, resolve
from .dot import Drawing, Edge, Node

LIMIT = 400
"""Neurons drawn at most when no depth is given."""


class UnknownAtom(NeuralogicError):
    """``query`` names no atom of the example that the example's outputs need."""


class _Graph:
    """A network's neurons (global numbering of :class:`~.flat.Flat`) with their input edges and labels."""

    def __init__(self, template: ir.Template, network: Network) -> None:
        self.network = network
        self.flat = flat = Flat(network)
        self.bypass: Bypass = chain_bypass(flat)
        self.numbers = {id(rule): n for n, rule in enumerate(template.rules, 1)}
        net = network
        layers = net.layers
        # every input slot: (reader, input, weight name, function on the input or "")
        head_weights = np.array([layer.head_weight or "" for layer in layers], object)
        body_names = [np.tile(np.array([w or "" for w in layer.weights], object), layer.n_rules) for layer in layers]
        body_functions = [np.tile(np.array([f or "" for f in layer.functions], object), layer.n_rules)
                          for layer in layers]
        self.parent = np.concatenate([net.in_atom, flat.rule_base + flat.body_rule, flat.agg_base + flat.member_agg])
        self.child = np.concatenate([flat.agg_base + flat.in_agg, flat.body_node, flat.rule_base + flat.member_rule])
        self.name = np.concatenate([head_weights[flat.agg_layer[flat.in_agg]], *body_names,
                                    np.full(len(flat.member_agg), "", object)])
        self.function = np.concatenate([np.full(len(net.in_atom), "", object), *body_functions,
                                        np.full(len(flat.member_agg), "", object)])
        order = np.argsort(self.parent, kind="stable")
        self.parent, self.child, self.name, self.function = (a[order] for a in (self.parent, self.child, self.name,
                                                                                self.function))
        self.ptr = np.r_[0, np.cumsum(np.bincount(self.parent, minlength=flat.size))]

    def inputs(self, x: int) -> list[tuple[int, str, str]]:
        """The input slots of neuron ``x``: (input, weight name, function on the input or "")."""
        at = slice(self.ptr[x], self.ptr[x + 1])
        return list(zip(self.child[at].tolist(), self.name[at].tolist(), self.function[at].tolist()))

    def kind(self, x: int) -> str:
        flat = self.flat
        if x < flat.rule_base:
            return "fact" if self.network.kind[x] == FACT else "atom"
        return "rule" if x < flat.agg_base else "aggregation"

    def label(self, x: int, many: bool = False) -> tuple[str, str]:
        """The label and tooltip of neuron ``x``; ``many``: it stands for several, so an atom shows its predicate."""
        net, flat = self.network, self.flat
        program = net.program
        if x < flat.rule_base:
            text = str(program.atom(x))
            shown = program.atom(x).signature if many else text
            if net.kind[x] == FACT:
                value = net.fact_params[net.param[x]] if net.param[x] >= 0 else _value(net.constants[net.const[x]])
                return shown + ("" if value == "1" else f"\n{value}"), f"fact {text} = {value}"
            offset = f" + {net.offset_names[net.offset[x]]}" if net.offset[x] >= 0 else ""
            return f"{shown}\n{net.functions[net.activation[x]]}{offset}", f"atom {text}"
        if x < flat.agg_base:
            r = x - flat.rule_base
            layer = net.layers[flat.rule_layer[r]]
            local = flat.rule_local[r]
            offset = f" + {layer.offset}" if layer.offset else ""
            body = ", ".join(str(program.atom(a)) for a in layer.body[local].tolist())
            return (f"rule {self.numbers.get(id(layer.rule), '?')}\n{layer.activation}({layer.combination}{offset})",
                    f"{layer.rule}  ground body: {body}")
        layer = net.layers[flat.agg_layer[x - flat.agg_base]]
        head = program.atom(int(layer.head[flat.agg_local[x - flat.agg_base]]))
        return (f"{layer.aggregation}\nrule {self.numbers.get(id(layer.rule), '?')}",
                f"aggregation of {layer.rule} for {head}")

    def reached(self, roots: np.ndarray) -> np.ndarray:
        """Which neurons (global numbering) ``roots`` depend on."""
        return np.concatenate(self.flat.reachable(roots))

    def kept(self) -> np.ndarray:
        """Neurons chain pruning does not bypass."""
        return ~self.bypass.global_mask()

    def through(self) -> np.ndarray:
        """Per neuron, the neuron of the pruned network that computes it (a product ``W x``: ``x``)."""
        flat, bypass = self.flat, self.bypass
        target = resolve(flat, bypass)
        weighted = np.flatnonzero(bypass.weighted)
        inner = target.copy()
        inner[flat.agg_base + weighted] = target[flat.rule_base + bypass.aggregation[weighted]]
        return inner[target]


def draw_ground(template: ir.Template, network: Network, example: int = 0, query: str | None = None,
                depth: int | None = None, limit: int = LIMIT, name: str | None = None) -> Drawing:
    """The ground network of example ``example`` (0-based) of ``network``, or of its ``query`` atom.

    See the module docstring for what is drawn and how ``depth`` and ``limit`` cut it; ``name``
    names the example in the title (default ``example N``).
    """
    graph = _Graph(template, network)
    roots, what = _roots(network, example, query, name)
    reached = graph.reached(roots)
    bypassed = ~graph.kept()
    drawing = Drawing(f"ground network of {what}")
    _draw(drawing, graph, roots, reached, lambda x: x, depth, limit,
          lambda x: {"style": KIND_DASHED[graph.kind(x)]} if bypassed[x] else {})
    drawing.notes.insert(0, f"{counted(int(reached.sum()), 'neuron')}; dashed: bypassed by chain pruning")
    return drawing


KIND_DASHED = {"fact": "filled,dashed", "atom": "filled,dashed", "rule": "rounded,filled,dashed",
               "aggregation": "filled,dashed"}


def draw_lifted(template: ir.Template, network: Network, example: int = 0, query: str | None = None,
                depth: int | None = None, limit: int = LIMIT, name: str | None = None) -> Drawing:
    """The lifted network of example ``example`` (0-based) of ``network``, or of its ``query`` atom.

    Chain pruning, then structural lifting within the example; each neuron is labelled with
    how many neurons of the pruned network it stands for (module docstring). ``depth``,
    ``limit`` and ``name`` as for :func:`draw_ground`.
    """
    ground = _Graph(template, network)
    roots, what = _roots(network, example, query, name)
    reached = ground.reached(roots) & ground.kept()
    lifted_network, _, representative = lift(network, LiftingSettings(scope="example"))
    graph = _Graph(template, lifted_network)
    through = graph.through()
    stands_for = Counter(through[representative[np.flatnonzero(reached)]].tolist())
    lifted_roots = np.unique(through[representative[roots]])
    drawing = Drawing(f"lifted network of {what}")
    shown = _draw(drawing, graph, lifted_roots, graph.reached(lifted_roots) & graph.kept(), lambda x: int(through[x]),
                  depth, limit, lambda x: {})
    for x in shown:
        node = drawing.nodes[_id(x)]
        n = stands_for.get(x, 0)
        node.label = graph.label(x, many=n > 1)[0]
        node.count = n
        node.tooltip = f"stands for {counted(n, 'neuron')}; {node.tooltip}"
    drawing.notes.insert(0, f"{counted(len(stands_for), 'neuron')} for the {int(reached.sum())} after chain pruning "
                            "(×N: neurons it stands for)")
    return drawing


def _draw(drawing: Drawing, graph: _Graph, roots: np.ndarray, members: np.ndarray, through: Callable[[int], int],
          depth: int | None, limit: int, style: Callable[[int], dict[str, str]]) -> list[int]:
    """Add the neurons ``members`` below ``roots`` to ``drawing``, inputs resolved by ``through``; return them."""
    distance = _distances(graph, roots, members, through)
    total = len(distance)
    if depth is None and total > limit:
        depth = max([d for d in range(max(distance.values()) + 1)
                     if sum(v <= d for v in distance.values()) <= limit] or [0])
        drawing.notes.append(f"{total} neurons: drawn to depth {depth} (--depth to choose)")
    shown = sorted(x for x, d in distance.items() if depth is None or d <= depth)
    if len(shown) < total:
        drawing.notes.append(f"cut below depth {depth}: {total - len(shown)} of {total} neurons not drawn")
    visible = set(shown)
    for x in shown:
        label, tooltip = graph.label(x)
        drawing.nodes[_id(x)] = Node(graph.kind(x), label, tooltip, style(x))
        edges: Counter = Counter()
        cut = set()
        for child, name, function in graph.inputs(x):
            child = through(child)
            if child not in visible:
                cut.add(child)
                continue
            tail = _id(child)
            if function:  # a negation (function) neuron between the input and its reader, one per input
                tail = f"{function} {child}"
                if tail not in drawing.nodes:
                    drawing.nodes[tail] = Node("negation", function, f"{function} of {graph.label(child)[1]}")
                    drawing.edges.append(Edge(_id(child), tail))
            edges[(tail, name)] += 1
        for (tail, name), n in edges.items():
            drawing.edges.append(Edge(tail, _id(x), name + (f" ×{n}" if n > 1 else "")))
        if cut:
            drawing.nodes[f"cut {x}"] = Node("cut", f"+{len(cut)} inputs")
            drawing.edges.append(Edge(f"cut {x}", _id(x), "", {"style": "dotted"}))
    return shown


def _distances(graph: _Graph, roots: np.ndarray, members: np.ndarray,
               through: Callable[[int], int]) -> dict[int, int]:
    """Edges from the nearest root to every neuron of ``members`` below ``roots`` (breadth first)."""
    distance = {int(r): 0 for r in roots.tolist()}
    frontier = list(distance)
    while frontier:
        following = []
        for x in frontier:
            for child, _, _ in graph.inputs(x):
                child = through(child)
                if members[child] and child not in distance:
                    distance[child] = distance[x] + 1
                    following.append(child)
        frontier = following
    return distance


def _roots(network: Network, example: int, query: str | None, name: str | None) -> tuple[np.ndarray, str]:
    """The neurons a drawing starts from: the example's outputs, or the atom named ``query``; and what they are."""
    program = network.program
    examples = sorted({s.example for s in network.samples}) or [0]
    if example not in examples:
        raise NeuralogicError(f"--example {example + 1}: the data has no queries on example {example + 1}",
                              hint=f"examples with queries: {_ranges(examples)}")
    if query is None:
        roots = np.unique([s.atom for s in network.samples if s.example == example])
        return roots, name or f"example {example + 1}"
    wanted = "".join(query.split())
    atoms = np.flatnonzero(program.atoms.ex == example)
    texts = {"".join(str(program.atom(a)).split()): a for a in atoms.tolist()}
    if wanted not in texts:
        close = difflib.get_close_matches(wanted, list(texts), n=5, cutoff=0.5)
        raise UnknownAtom(f"--query {query}: example {example + 1} has no atom {query} that its outputs need",
                              hint=("did you mean " + ", ".join(close) + "?") if close else
                              f"its atoms include {', '.join(list(texts)[:5])}")
    return np.array([texts[wanted]]), f"{query} in {name or f'example {example + 1}'}"


def _ranges(numbers: list[int]) -> str:
    """1-based numbers as ``1..6, 9``."""
    parts, start = [], None
    for i, n in enumerate(numbers):
        if start is None:
            start = n
        if i + 1 == len(numbers) or numbers[i + 1] != n + 1:
            parts.append(f"{start + 1}" if start == n else f"{start + 1}..{n + 1}")
            start = None
    return ", ".join(parts)


def _id(x: int) -> str:
    return f"n{x}"


def _value(value: np.ndarray | None) -> str:
    """A fact's value as its label shows it: a scalar with 4 significant digits, else its shape."""
    if value is None or value.size == 1:
        return f"{float(1.0 if value is None else value.reshape(-1)[0]):.4g}"
    return "x".join(map(str, value.shape)) + " values"

"""Lifting chunk by chunk: each chunk's ground network lifted into the network lifted so far.

Grounding memory grows with the examples while lifting shrinks the network (:mod:`.lifting`
merges the atom-type embeddings of every molecule into one neuron each), so large sets are
grounded in chunks (:mod:`.chunked`) and :class:`LiftedBuilder` keeps only

* the lifted network of the chunks seen so far, one neuron per class and space (nodes, rule
  neurons, aggregations), numbered densely, with atoms named by global predicate and constant
  ids (:class:`AtomNames`) instead of a chunk's database;
* the key table of structural lifting (:class:`~.lifting.KeyTable`: every key met so far and
  its class) and, per class and space, the neuron of the lifted network that stands for it;
* the samples (their queries, targets, importance) and each one's output neuron.

Adding a chunk (structural lifting) classifies the chunk's neurons against the key table
(:func:`~.lifting.structural_classes` with the table kept, signatures coded alike, constants and
fact parameters numbered globally), so a neuron gets the class it has among all examples. The
chunk is rewired to its own representatives (:func:`~.lifting.representatives`); those of a
class the lifted network already has are replaced by its neuron there, the others are appended
to the lifted network, reading lifted neurons or appended ones. The work is the chunk's: the
lifted network is only extended.

Why this is the lifted network of all examples at once. A class depends on a neuron's function
and its inputs' classes only, whichever other neurons are present, so the chunked classes are
the whole-set ones; a class keeps one neuron of the lowest level among its members, as the
whole-set representative rule does. When a chunk brings a member of a known class at a lower
level than the lifted network's neuron (a chain of identities made it higher elsewhere), the
lifted network and the chunk are joined (:func:`join`) and classified afresh, which again keeps
the lowest level. So the classes, their levels and the outputs' classes are those of lifting all
examples at once; which member stands for a class and the numbering may differ, and with them
the order of floating-point sums (outputs and gradients agree to rounding).

The value method and no lifting join and lift (:func:`.compression.lift`) every chunk with the
network so far, which costs the size of that network per chunk. How queries pair with examples
is the chunk reader's (:mod:`neuralogic_py.language.chunks`): each chunk pairs as the whole set.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..language import ir
from ..logic.ground import GroundProgram
from ..logic.samples import Sample, sample_id
from .compression import CompressionReport, Counts, LiftingSettings, Stage, count, lift
from .flat import Flat
from .lifting import KeyTable, NeuronGraph, representatives, rewire, structural_classes
from .network import INDEX, Layer, Network
from .pruning import chain_bypass

NODE, RULE, AGGREGATION = range(3)  # the spaces of :attr:`~.lifting.NeuronGraph.space`


@dataclass
class AtomColumns:
    """Predicate (global id), example (global index) and terms (global constant ids, -1 padded) per node."""

    pred: np.ndarray
    ex: np.ndarray
    terms: np.ndarray

    def take(self, rows: np.ndarray) -> AtomColumns:
        return AtomColumns(self.pred[rows], self.ex[rows], self.terms[rows])


@dataclass
class AtomNames:
    """Predicates and constants interned across chunks, so a lifted network names its atoms without a database.

    Constants are keyed by their value's Python type too: ``1`` and ``1.0`` are distinct
    constants, as in the grounding's symbol table.
    """

    predicates: list[tuple[str, int]] = field(default_factory=list)
    constants: list[ir.Constant] = field(default_factory=list)
    _pred_ids: dict[tuple[str, int], int] = field(default_factory=dict)
    _const_ids: dict[tuple, int] = field(default_factory=dict)

    def predicate(self, key: tuple[str, int]) -> int:
        return _intern(self._pred_ids, self.predicates, key, key)

    def constant(self, c: ir.Constant) -> int:
        return _intern(self._const_ids, self.constants, (type(c.value), c.value, c.type), c)

    def columns(self, program: GroundProgram, first_example: int) -> AtomColumns:
        """The atoms of one chunk's ground program in global ids (examples counted from ``first_example``)."""
        db, atoms = program.db, program.atoms
        pred_map = np.array([self.predicate(key) for key in db.predicates.keys] + [-1], INDEX)
        terms = atoms.terms.astype(INDEX, copy=True)
        used = np.unique(terms[terms >= 0])
        const_map = np.full(int(used.max()) + 1 if len(used) else 0, -1, INDEX)
        const_map[used] = [self.constant(db.symbols.constant(int(i))) for i in used.tolist()]
        terms[terms >= 0] = const_map[terms[terms >= 0]]
        return AtomColumns(pred_map[atoms.pred], atoms.ex.astype(INDEX) + first_example, terms)


def _intern(ids: dict, items: list, key, item) -> int:
    found = ids.get(key)
    if found is None:
        found = ids[key] = len(items)
        items.append(item)
    return found


@dataclass
class LiftedProgram:
    """What a network reads of its ground program once built: atom columns and atom names (``atom(a)``)."""

    atoms: AtomColumns
    names: AtomNames

    def atom(self, a: int) -> ir.Atom:
        name, arity = self.names.predicates[int(self.atoms.pred[a])]
        return ir.Atom(name, tuple(self.names.constants[t] for t in self.atoms.terms[a, :arity].tolist()))


@dataclass
class _Globals:
    """What every network of one builder numbers alike: functions, offsets, constants (by value), fact parameters."""

    functions: list[str] = field(default_factory=list)
    offsets: list[str] = field(default_factory=list)
    constants: list[np.ndarray | None] = field(default_factory=list)
    fact_params: list[str] = field(default_factory=list)
    _function_ids: dict[str, int] = field(default_factory=dict)
    _offset_ids: dict[str, int] = field(default_factory=dict)
    _constant_ids: dict[tuple, int] = field(default_factory=dict)
    _param_ids: dict[str, int] = field(default_factory=dict)

    def maps(self, network: Network) -> tuple[np.ndarray, ...]:
        """Index maps (with -1 kept as -1) of ``network``'s functions, offsets, constants and fact parameters."""
        constants = [_intern(self._constant_ids, self.constants,
                             None if c is None else (c.shape, c.tobytes()), c) for c in network.constants]
        return tuple(np.array(ids + [-1], INDEX) for ids in (
            [_intern(self._function_ids, self.functions, f, f) for f in network.functions],
            [_intern(self._offset_ids, self.offsets, o, o) for o in network.offset_names], constants,
            [_intern(self._param_ids, self.fact_params, p, p) for p in network.fact_params]))


class LiftedBuilder:
    """The lifted network of the chunks added so far (module docstring).

    ``add(network, first_example, lines, examples)`` lifts one chunk's ground network
    (neuralized with the parameter store every chunk shares) into it; ``finish()`` returns the
    lifted network of every sample, in query order, and a compression report whose first two
    stages sum the chunks'.
    """

    def __init__(self, lifting: str | LiftingSettings = "structural") -> None:
        self.settings = LiftingSettings.of(lifting)
        self.names = AtomNames()
        self.globals = _Globals()
        self.codes: dict[tuple, int] = {}  # signature codes (lifting.NeuronGraph), shared by every chunk
        self.network: Network | None = None
        self.samples: list[Sample] = []
        self.ground = [np.zeros(5, INDEX), np.zeros(5, INDEX)]  # ground and chain-pruned counts, summed
        self.seconds = [0.0, 0.0]  # chain pruning and lifting, summed over the chunks
        self.chunks = 0
        self.rejoined = 0  # chunks that brought a lower-level member of a known class (module docstring)
        self._reset()

    def _reset(self) -> None:
        self.table = KeyTable()
        self.where = [np.full(0, -1, INDEX) for _ in range(3)]  # per space and class: lifted neuron (packed)

    def add(self, chunk: Network, first_example: int = 0, lines: np.ndarray | None = None,
            examples: Sequence[ir.Example] = ()) -> None:
        """Lift ``chunk``, a ground network, into the network lifted so far.

        The chunk's example ``e`` is example ``first_example + e`` of the whole set and its
        query line ``i`` is line ``lines[i]``; ``examples`` are its examples (for sample ids).
        """
        first_sample = len(self.samples)
        for k, s in enumerate(chunk.samples):
            line = s.request.line if s.request.line is None or lines is None else int(lines[s.request.line])
            request = dataclasses.replace(s.request, example=s.request.example + first_example, line=line)
            self.samples.append(dataclasses.replace(s, example=s.example + first_example, request=request,
                                                    id=sample_id(examples, s.request, first_sample + k)))
        local = self._globalize(chunk, first_example)
        started = time.perf_counter()
        flat = Flat(local)
        bypass = chain_bypass(flat)
        needed = np.concatenate(flat.reachable())
        self.seconds[0] += time.perf_counter() - started
        for i, kept in enumerate((np.ones(len(needed), dtype=bool), ~bypass.global_mask())):
            self.ground[i] += _counts(count(local, flat, needed, kept))
        started = time.perf_counter()
        if self.settings.method != "structural":
            joined = local if self.network is None else join(self.network, local)
            lifted, _, _ = lift(joined, self.settings)
            self._reset()
            self.network = None
            self._absorb(lifted, Flat(lifted), np.full(0, -1, INDEX), np.full(0, -1, INDEX))
        elif not self._merge(local, flat, bypass, needed):
            self.rejoined += 1
            joined = join(self.network, local)
            self._reset()
            self.network = None
            joined_flat = Flat(joined)
            joined_bypass = chain_bypass(joined_flat)
            self._merge(joined, joined_flat, joined_bypass, np.concatenate(joined_flat.reachable()))
        self.seconds[1] += time.perf_counter() - started
        self.chunks += 1

    def _globalize(self, chunk: Network, first_example: int) -> Network:
        """``chunk`` with atoms, predicates, functions, offsets, constants and fact parameters in global ids."""
        program = chunk.program
        functions, offsets, constants, params = self.globals.maps(chunk)
        predicates = {self.names.predicate(program.db.predicates.keys[pid]): p for pid, p in chunk.predicates.items()}
        return dataclasses.replace(
            chunk, program=LiftedProgram(self.names.columns(program, first_example), self.names),
            predicates=predicates, activation=functions[chunk.activation], combination=functions[chunk.combination],
            offset=offsets[chunk.offset], const=constants[chunk.const], param=params[chunk.param],
            constants=self.globals.constants, fact_params=self.globals.fact_params,
            functions=self.globals.functions, offset_names=self.globals.offsets)

    def _merge(self, network: Network, flat: Flat, bypass, needed: np.ndarray) -> bool:
        """Classify ``network`` against the key table and extend the lifted network with its new classes.

        False (nothing changed but the key table) when a known class gets a member of a lower
        level than the lifted network's neuron.
        """
        graph = NeuronGraph(network, flat, bypass, needed, self.codes)
        scope = [graph.example] if self.settings.scope == "example" else []
        classes, _ = structural_classes(graph, scope, self.table)
        rep = representatives(graph, classes)
        for space in range(3):
            grown = np.full(self.table.n_classes, -1, INDEX)
            grown[:len(self.where[space])] = self.where[space]
            self.where[space] = grown
        space = graph.space
        target = np.full(len(classes), -1, INDEX)  # per neuron: the lifted neuron of its class and space
        for s in range(3):
            mine = np.flatnonzero((space == s) & (classes >= 0))
            target[mine] = self.where[s][classes[mine]]
        stands = np.flatnonzero((rep == np.arange(len(rep))) & (target >= 0))
        if len(stands) and (graph.level[stands] < self._levels(space[stands], target[stands])).any():
            return False
        realized = rewire(network, flat, rep)
        self._absorb(realized, Flat(realized), classes, target)
        return True

    def _levels(self, space: np.ndarray, packed: np.ndarray) -> np.ndarray:
        """The levels of lifted neurons given by space and packed place (node id; layer << 40 | local)."""
        net = self.network
        out = np.empty(len(packed), INDEX)
        nodes = space == NODE
        out[nodes] = net.level[packed[nodes]]
        for s, name in ((RULE, "rule_level"), (AGGREGATION, "agg_level")):
            mine = np.flatnonzero(space == s)
            layer, local = packed[mine] >> _BITS, packed[mine] & _MASK
            for i in np.unique(layer).tolist():
                at = layer == i
                out[mine[at]] = getattr(net.layers[i], name)[local[at]]
        return out

    def _absorb(self, realized: Network, flat: Flat, classes: np.ndarray, target: np.ndarray) -> None:
        """Append the neurons ``realized``'s outputs reach that have no lifted ``target`` (-1) to the lifted network,
        their references to the others redirected to their targets, and record where each new class is."""
        keep = np.concatenate(flat.reachable())
        where = target.copy() if len(target) else np.full(len(keep), -1, INDEX)  # each kept neuron's place
        new = keep & (where < 0)
        base = self.network
        n_rules = [layer.n_rules for layer in base.layers] if base is not None else [0] * len(realized.layers)
        n_groups = [layer.n_groups for layer in base.layers] if base is not None else [0] * len(realized.layers)
        nodes = np.flatnonzero(new[:flat.rule_base])
        where[nodes] = (base.n_nodes if base is not None else 0) + np.arange(len(nodes))
        for lo, layer_of, sizes in ((flat.rule_base, flat.rule_layer, n_rules),
                                    (flat.agg_base, flat.agg_layer, n_groups)):
            mine = np.flatnonzero(new[lo:lo + len(layer_of)])
            rank = np.arange(len(mine)) - np.searchsorted(layer_of[mine], layer_of[mine])
            where[lo + mine] = (layer_of[mine] << _BITS) | (np.asarray(sizes, INDEX)[layer_of[mine]] + rank)
        for s, (lo, hi) in enumerate(((0, flat.rule_base), (flat.rule_base, flat.agg_base),
                                      (flat.agg_base, flat.size))):
            fresh = lo + np.flatnonzero(new[lo:hi])
            if len(classes):
                self.where[s][classes[fresh]] = where[fresh]
        node_where = where[:flat.rule_base]
        rule_where, agg_where = where[flat.rule_base:flat.agg_base], where[flat.agg_base:]
        layers = []
        for i, layer in enumerate(realized.layers):
            rules = np.flatnonzero(new[flat.rule_base + flat.rule_offset[i]:flat.rule_base + flat.rule_offset[i + 1]])
            groups = np.flatnonzero(new[flat.agg_base + flat.agg_offset[i]:flat.agg_base + flat.agg_offset[i + 1]])
            entries = np.flatnonzero(new[flat.agg_base + flat.agg_offset[i] + layer.member_group])
            members = rule_where[flat.members_of(i)[entries]]
            part = dataclasses.replace(
                layer, body=node_where[layer.body[rules]], member=members & _MASK, member_layer=members >> _BITS,
                member_group=agg_where[flat.agg_offset[i] + layer.member_group[entries]] & _MASK,
                head=node_where[layer.head[groups]],
                **{f: getattr(layer, f)[rules if f.startswith("rule") else groups] for f in _LAYER_ARRAYS})
            layers.append(part if base is None else _joined_layer(base.layers[i], part))
        inputs = np.flatnonzero(new[realized.in_atom])
        in_agg = agg_where[flat.in_agg[inputs]]
        part = dataclasses.replace(
            realized, program=LiftedProgram(realized.program.atoms.take(nodes), self.names), layers=layers,
            kind=realized.kind[nodes], const=realized.const[nodes], param=realized.param[nodes],
            in_atom=node_where[realized.in_atom[inputs]], in_layer=in_agg >> _BITS, in_group=in_agg & _MASK,
            outputs=node_where[realized.outputs], **{f: getattr(realized, f)[nodes] for f in _NODE_ARRAYS})
        self.network = part if base is None else _joined_nodes(base, part)

    def finish(self) -> tuple[Network, CompressionReport]:
        """The lifted network of every sample, samples in query order, and the compression report."""
        if self.network is None:
            raise ValueError("no chunk was added")
        network = self.network
        lines = [s.request.line for s in self.samples]
        order = np.arange(len(lines))
        if lines and None not in lines:  # queries files: samples in query line order, as one grounding gives
            order = np.argsort(np.array(lines), kind="stable")
        network.outputs = network.outputs[order]
        network.samples = [dataclasses.replace(self.samples[i], atom=int(a))
                           for i, a in zip(order.tolist(), network.outputs.tolist())]
        report = CompressionReport(len(network.samples), self.settings)
        report.stages.append(Stage(f"ground networks of {self.chunks} chunks", Counts(*self.ground[0].tolist()), 0.0))
        report.stages.append(Stage("chain pruning", Counts(*self.ground[1].tolist()), self.seconds[0]))
        if self.settings.method != "none":
            flat = Flat(network)
            kept = ~chain_bypass(flat).global_mask()
            report.stages.append(Stage(self.settings.describe(), count(network, flat, np.concatenate(flat.reachable()),
                                                                       kept), self.seconds[1]))
        return network, report


_BITS = 40  # a rule or aggregation neuron's place in the lifted network: layer << _BITS | index in the layer
_MASK = (1 << _BITS) - 1
_LAYER_ARRAYS = ("rule_level", "rule_shape", "agg_level", "agg_shape", "agg_count", "contrib_shape")
_NODE_ARRAYS = ("level", "shape", "weighted", "activation", "combination", "offset")


def _counts(c: Counts) -> np.ndarray:
    return np.array([c.facts, c.atoms, c.rules, c.aggregations, c.edges], INDEX)


def _member_layer(layer: Layer) -> np.ndarray:
    return np.full(len(layer.member), layer.index, INDEX) if layer.member_layer is None else layer.member_layer


def _joined_layer(a: Layer, b: Layer) -> Layer:
    """Layer ``a`` with ``b``'s rule and aggregation neurons after its own; ``b`` already refers to them so."""
    return dataclasses.replace(
        a, body=np.concatenate([a.body, b.body]), member=np.concatenate([a.member, b.member]),
        member_layer=np.concatenate([_member_layer(a), _member_layer(b)]),
        member_group=np.concatenate([a.member_group, b.member_group]), head=np.concatenate([a.head, b.head]),
        **{f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in _LAYER_ARRAYS})


def _joined_nodes(a: Network, b: Network) -> Network:
    """Network ``a`` with ``b``'s nodes after its own (layers already joined in ``b``); ``b`` refers to them so."""
    columns = [a.program.atoms, b.program.atoms]
    width = max(c.terms.shape[1] for c in columns)
    terms = np.full((a.n_nodes + b.n_nodes, width), -1, INDEX)
    terms[:a.n_nodes, :columns[0].terms.shape[1]] = columns[0].terms
    terms[a.n_nodes:, :columns[1].terms.shape[1]] = columns[1].terms
    program = LiftedProgram(AtomColumns(np.concatenate([c.pred for c in columns]),
                                        np.concatenate([c.ex for c in columns]), terms), a.program.names)
    return dataclasses.replace(
        b, program=program, predicates={**a.predicates, **b.predicates},
        **{f: np.concatenate([getattr(a, f), getattr(b, f)])
           for f in ("kind", "const", "param", "in_atom", "in_layer", "in_group", "outputs", *_NODE_ARRAYS)})


def join(first: Network, second: Network) -> Network:
    """Two networks of one template and one builder side by side: ``second``'s neurons after ``first``'s.

    Both number functions, offsets, constants, fact parameters and atoms alike
    (:meth:`LiftedBuilder._globalize`); ``first`` may be lifted (``Layer.member_layer``).
    """
    n = first.n_nodes
    layers = []
    for i, (a, b) in enumerate(zip(first.layers, second.layers)):
        shifted = dataclasses.replace(
            b, body=b.body + n, member=b.member + np.array([x.n_rules for x in first.layers], INDEX)[_member_layer(b)],
            member_layer=_member_layer(b), member_group=b.member_group + a.n_groups, head=b.head + n)
        layers.append(_joined_layer(a, shifted))
    n_groups = np.array([layer.n_groups for layer in first.layers], INDEX)
    shifted = dataclasses.replace(second, layers=layers, in_atom=second.in_atom + n,
                                  in_group=second.in_group + n_groups[second.in_layer], outputs=second.outputs + n)
    return _joined_nodes(first, shifted)

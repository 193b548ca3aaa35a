"""Lifting chunk by chunk: each chunk's ground network lifted into the network lifted so far.

Grounding memory grows with the examples while the lifted network does not (:mod:`.lifting`
merges the atom-type embeddings of every molecule into one neuron each), so large sets are
grounded in chunks (:mod:`.chunked`) and :class:`LiftedBuilder` keeps only

* the lifted network of the chunks seen so far, *compact*: only the neurons its samples
  reach, one per class, renumbered densely (:func:`compact`), with the atoms' names kept as
  global predicate and constant ids (:class:`AtomNames`) instead of the chunk's database;
* the samples (their queries, targets, importance) and each one's output neuron.

Adding a chunk lays its ground network beside the lifted one (:func:`join`: nodes, rule
and aggregation neurons of the chunk numbered after those of the lifted network, layer by
layer, since every chunk is grounded from one template), lifts the pair with the whole-set
lifting (:func:`.compression.lift`) and compacts the result. The chunk's ground network is
then dropped.

Why this is the lifted network of all examples at once. A structural class is decided by
a neuron's function and the classes of its inputs (:mod:`.lifting`), whichever other
neurons are present; the network lifted so far holds one neuron per class, of the lowest
level among the class's members (the representative rule), with its inputs rewired to
representatives. Lifting it again with a chunk puts every chunk neuron in the class it has
among all examples, and a class met before keeps one neuron, again of the lowest level. By
induction over the chunks, the final network has the classes, levels and output classes
that lifting all examples at once gives; only which member stands for a class, and so the
numbering, may differ, and with it the order of floating-point sums (outputs and gradients
agree to rounding). Pairing of queries and examples is the chunk reader's business
(:mod:`neuralogic_py.language.chunks`): each chunk pairs as the whole set does.

Work per chunk is the lifting of (lifted so far + chunk), so the lifted network is lifted
again with every chunk: chunks of a few hundred examples or more keep that small.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..language import ir
from ..logic.ground import GroundProgram
from ..logic.samples import Sample, sample_id
from .compression import CompressionReport, Counts, LiftingSettings, Stage, lift
from .flat import Flat
from .network import INDEX, Layer, Network


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
        found = self._pred_ids.get(key)
        if found is None:
            found = self._pred_ids[key] = len(self.predicates)
            self.predicates.append(key)
        return found

    def constant(self, c: ir.Constant) -> int:
        key = (type(c.value), c.value, c.type)
        found = self._const_ids.get(key)
        if found is None:
            found = self._const_ids[key] = len(self.constants)
            self.constants.append(c)
        return found

    def columns(self, program: GroundProgram, first_example: int) -> AtomColumns:
        """The atoms of one chunk's ground program in global ids (examples counted from ``first_example``)."""
        db, atoms = program.db, program.atoms
        pred_map = np.array([self.predicate(key) for key in db.predicates.keys], INDEX)
        terms = atoms.terms.astype(INDEX, copy=True)
        used = np.unique(terms[terms >= 0])
        const_map = np.full(int(used.max()) + 1 if len(used) else 0, -1, INDEX)
        const_map[used] = [self.constant(db.symbols.constant(int(i))) for i in used.tolist()]
        terms[terms >= 0] = const_map[terms[terms >= 0]]
        return AtomColumns(pred_map[atoms.pred] if len(pred_map) else atoms.pred.astype(INDEX),
                           atoms.ex.astype(INDEX) + first_example, terms)


@dataclass
class LiftedProgram:
    """What a network reads of its ground program once built: atom columns and atom names (``atom(a)``)."""

    atoms: AtomColumns
    names: AtomNames

    def atom(self, a: int) -> ir.Atom:
        name, arity = self.names.predicates[int(self.atoms.pred[a])]
        return ir.Atom(name, tuple(self.names.constants[t] for t in self.atoms.terms[a, :arity].tolist()))


class LiftedBuilder:
    """The lifted network of the chunks added so far (module docstring).

    ``add(network, first_example)`` lifts one chunk's ground network (neuralized with this
    builder's parameter store) into it; ``finish()`` returns the lifted network of every
    sample, in query order, and a compression report whose first two stages sum the chunks.
    """

    def __init__(self, lifting: str | LiftingSettings = "structural") -> None:
        self.settings = LiftingSettings.of(lifting)
        self.names = AtomNames()
        self.network: Network | None = None
        self.samples: list[Sample] = []
        self.ground = [np.zeros(5, INDEX), np.zeros(5, INDEX)]  # ground and chain-pruned counts, summed
        self.seconds = [0.0, 0.0]  # chain pruning and lifting, summed over the chunks
        self.last: Stage | None = None  # the last lifting's stage: the neurons of the network lifted so far
        self.chunks = 0

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
        _, own, _ = lift(local, "none")  # the chunk's ground network and its chain pruning, for the report
        for i in range(2):
            self.ground[i] += _counts(own.stages[i].counts)
        self.seconds[0] += own.stages[1].seconds
        joined = local if self.network is None else join(self.network, local)
        joined.samples = self.samples
        lifted, report, _ = lift(joined, self.settings)
        self.seconds[1] += report.stages[-1].seconds
        self.last = report.stages[-1]
        self.network = compact(lifted)
        self.chunks += 1

    def _globalize(self, chunk: Network, first_example: int) -> Network:
        """``chunk`` with atoms, predicates, functions and offsets in this builder's global ids."""
        base = self.network
        functions = list(base.functions) if base is not None else []
        offsets = list(base.offset_names) if base is not None else []

        program = chunk.program
        columns = self.names.columns(program, first_example)
        function_map = np.array([_code(functions, f) for f in chunk.functions] + [-1], INDEX)
        offset_map = np.array([_code(offsets, o) for o in chunk.offset_names] + [-1], INDEX)
        predicates = {self.names.predicate(program.db.predicates.keys[pid]): p for pid, p in chunk.predicates.items()}
        return dataclasses.replace(
            chunk, program=LiftedProgram(columns, self.names), predicates=predicates,
            activation=function_map[chunk.activation], combination=function_map[chunk.combination],
            offset=offset_map[chunk.offset], functions=functions, offset_names=offsets)

    def finish(self) -> tuple[Network, CompressionReport]:
        """The lifted network of every sample, samples in query order, and the compression report."""
        if self.network is None:
            raise ValueError("no chunk was added")
        network = self.network
        lines = [s.request.line for s in self.samples]
        order = np.arange(len(lines))
        if lines and None not in lines:  # queries files: samples in query line order, as one grounding gives
            order = np.argsort(np.array(lines), kind="stable")
        outputs = network.outputs[order]
        network.samples = [dataclasses.replace(self.samples[i], atom=int(a))
                           for i, a in zip(order.tolist(), outputs.tolist())]
        network.outputs = outputs
        report = CompressionReport(len(network.samples), self.settings)
        report.stages.append(Stage(f"ground networks of {self.chunks} chunks", Counts(*self.ground[0].tolist()), 0.0))
        report.stages.append(Stage("chain pruning", Counts(*self.ground[1].tolist()), self.seconds[0]))
        if self.settings.method != "none":
            report.stages.append(dataclasses.replace(self.last, seconds=self.seconds[1], merged=None))
        return network, report


def _counts(c: Counts) -> np.ndarray:
    return np.array([c.facts, c.atoms, c.rules, c.aggregations, c.edges], INDEX)


def join(first: Network, second: Network) -> Network:
    """Two networks of one template side by side: ``second``'s neurons numbered after ``first``'s, layer by layer.

    Both must share the parameter store, the function and offset names and the atom names
    (:meth:`LiftedBuilder._globalize`). ``first`` may be lifted (``Layer.member_layer``).
    """
    n = first.n_nodes
    layers = []
    n_rules = np.array([layer.n_rules for layer in first.layers], INDEX)
    n_groups = np.array([layer.n_groups for layer in first.layers], INDEX)
    for i, (a, b) in enumerate(zip(first.layers, second.layers)):
        a_of = _member_layer(a)
        b_of = _member_layer(b)
        layers.append(dataclasses.replace(
            a, body=np.concatenate([a.body, b.body + n]), member=np.concatenate([a.member, b.member + n_rules[b_of]]),
            member_layer=np.concatenate([a_of, b_of]), member_group=np.concatenate([a.member_group,
                                                                                     b.member_group + n_groups[i]]),
            head=np.concatenate([a.head, b.head + n]),
            **{f: np.concatenate([getattr(a, f), getattr(b, f)]) for f in _LAYER_ARRAYS}))
    columns = [first.program.atoms, second.program.atoms]
    width = max(c.terms.shape[1] for c in columns)
    terms = np.full((n + second.n_nodes, width), -1, INDEX)
    terms[:n, :columns[0].terms.shape[1]] = columns[0].terms
    terms[n:, :columns[1].terms.shape[1]] = columns[1].terms
    program = LiftedProgram(AtomColumns(np.concatenate([c.pred for c in columns]),
                                        np.concatenate([c.ex for c in columns]), terms), first.program.names)
    fact_params = list(first.fact_params)
    param_map = np.array([_code(fact_params, p) for p in second.fact_params] + [-1], INDEX)
    return dataclasses.replace(
        first, program=program, layers=layers, predicates={**first.predicates, **second.predicates},
        kind=np.concatenate([first.kind, second.kind]),
        const=np.concatenate([first.const, np.where(second.const >= 0, second.const + len(first.constants), -1)]),
        param=np.concatenate([first.param, param_map[second.param]]),
        constants=first.constants + second.constants, fact_params=fact_params,
        in_atom=np.concatenate([first.in_atom, second.in_atom + n]),
        in_layer=np.concatenate([first.in_layer, second.in_layer]),
        in_group=np.concatenate([first.in_group, second.in_group + n_groups[second.in_layer]]),
        outputs=np.concatenate([first.outputs, second.outputs + n]),
        **{f: np.concatenate([getattr(first, f), getattr(second, f)]) for f in _NODE_ARRAYS})


_LAYER_ARRAYS = ("rule_level", "rule_shape", "agg_level", "agg_shape", "agg_count", "contrib_shape")
_NODE_ARRAYS = ("level", "shape", "weighted", "activation", "combination", "offset")


def _member_layer(layer: Layer) -> np.ndarray:
    return np.full(len(layer.member), layer.index, INDEX) if layer.member_layer is None else layer.member_layer


def _code(names: list[str], name: str) -> int:
    if name not in names:
        names.append(name)
    return names.index(name)


def compact(network: Network) -> Network:
    """``network`` reduced to the neurons its outputs reach, renumbered densely (nodes, and per layer).

    Constants no fact reads are dropped. Samples are left as they are: their output neurons
    are ``outputs`` (renumbered).
    """
    flat = Flat(network)
    node_keep, rule_keep, agg_keep = flat.reachable()
    node_new = np.cumsum(node_keep) - 1
    rule_new = _local_numbers(rule_keep, flat.rule_offset, flat.rule_layer)
    agg_new = _local_numbers(agg_keep, flat.agg_offset, flat.agg_layer)
    layers = []
    for i, layer in enumerate(network.layers):
        rules = np.flatnonzero(rule_keep[flat.rule_offset[i]:flat.rule_offset[i + 1]])
        groups = np.flatnonzero(agg_keep[flat.agg_offset[i]:flat.agg_offset[i + 1]])
        kept = np.flatnonzero(agg_keep[flat.agg_offset[i] + layer.member_group])
        members = flat.members_of(i)[kept]
        layers.append(dataclasses.replace(
            layer, body=node_new[layer.body[rules]], member=rule_new[members], member_layer=flat.rule_layer[members],
            member_group=agg_new[flat.agg_offset[i] + layer.member_group[kept]], head=node_new[layer.head[groups]],
            **{f: getattr(layer, f)[rules if f.startswith("rule") else groups] for f in _LAYER_ARRAYS}))
    nodes = np.flatnonzero(node_keep)
    inputs = np.flatnonzero(node_keep[network.in_atom])
    const = network.const[nodes]
    used, const_new = np.unique(const[const >= 0], return_inverse=True)
    const = const.copy()
    const[const >= 0] = const_new
    return dataclasses.replace(
        network, program=LiftedProgram(network.program.atoms.take(nodes), network.program.names), layers=layers,
        kind=network.kind[nodes], const=const, param=network.param[nodes],
        constants=[network.constants[c] for c in used.tolist()],
        in_atom=node_new[network.in_atom[inputs]], in_layer=flat.agg_layer[flat.in_agg[inputs]],
        in_group=agg_new[flat.in_agg[inputs]], outputs=node_new[network.outputs],
        **{f: getattr(network, f)[nodes] for f in _NODE_ARRAYS})


def _local_numbers(keep: np.ndarray, offsets: np.ndarray, layer_of: np.ndarray) -> np.ndarray:
    """Per flat neuron, its new index within its layer once only the ``keep`` ones are kept."""
    total = np.cumsum(keep) - 1
    before = np.r_[0, np.cumsum(keep)][offsets[:-1]] if len(offsets) > 1 else np.zeros(0, INDEX)
    return (total - before[layer_of]).astype(INDEX) if len(keep) else np.zeros(0, INDEX)

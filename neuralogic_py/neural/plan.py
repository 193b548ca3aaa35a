"""Compiled execution: the neuron DAG as a short list of batched engine ops.

:func:`compile_network` makes a :class:`CompiledNetwork` once per
:class:`~.network.Network`; ``compiled.plan(samples)`` compiles the part of the
network those samples' outputs depend on into a :class:`Plan` (cached per sample
set, so fixed mini-batches compile once). ``CompiledNetwork`` is what training
uses: ``forward(params, samples)``, ``value_and_grad(params, loss, targets,
samples, weights)`` and ``explain_nonfinite(...)``, with ``params`` the learnable
values by name (the network's :class:`~.parameters.ParameterStore` supplies the
fixed ones).

Steps
    Neurons are grouped by topological level and, within a level, run rule
    neurons, then aggregation neurons, then atom neurons. A *step* is one group:

    * **rule step**: the rule neurons of one level whose rules share a *class*
      (functions, soft-negation pattern, weight and offset shapes, input shapes):
      per body position one gather of the inputs, the negation, one ``times`` with
      the weight (one GEMM when a single rule's weight is shared by the whole step;
      weights gathered per row when several rules with equal shapes run together,
      e.g. the 42 atom/bond-type embedding rules of a molecule template), then the
      combination with the offset first, then the activation;
    * **aggregation step**: one segment reduction (sum, avg, max, min, count; concat
      and softmax per uniform member count) over the rule neurons of each (rule,
      head), then the head weight;
    * **atom step**: the atom neurons of one level with equal functions and shape:
      the weighted aggregation values (scalars broadcast where a predicate mixes
      shapes) and the predicate offsets of weighted atoms, one segment reduction
      (or, for product/concat/crosssum/cossim/softmax/sparsemax, the combination
      over fixed input positions), then the activation.

Value banks
    Every step appends one *chunk* ``(n, rows, cols)`` to the bank of its output
    shape; inputs are gathers from a bank (a chunk, or the concatenation of
    consecutive chunks when a read spans levels, as in recursion). Nothing is
    computed for neurons that change nothing: an aggregation of one member (sum,
    avg, max, min, concat) without head weight, and an atom neuron of one input
    with the identity activation, are *aliases* of their input's row; facts with
    equal constant values share one row; all ``count``/``softmax`` neurons of one
    input share one constant row 1.

Differentiation
    Parameters enter as tensors (:func:`~neuralogic_py.engine.variable` for the
    learnable ones); the engine's tape records the steps and
    :func:`~neuralogic_py.engine.backward` runs them reversed. No Python loop runs
    per neuron or per sample, only per step and per body position.

Max and min combinations and aggregations of vectors are element-wise (the
reference picks the whole input with the largest element sum; an element-wise
extreme is the usual pooling and has a well-defined gradient per element). The
``softmax`` aggregation is the reference's: the probabilities of the members as one
column vector (members are scalars in practice); with one member it is the
constant 1.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine import Segments, Tensor, backward, constant, ops, variable
from ..engine.functions import ACTIVATIONS, AGGREGATIONS, COMBINATIONS
from ..engine.tape import value_of
from ..errors import NeuralogicError, ValidationError
from .network import ATOM, FACT, INDEX, Layer, Network, ground_rule_text, ranges
from .parameters import block_value
from .shapes import CONSTANT_ON_ONE, SCALAR, SEGMENT_AGGREGATIONS

Shape = tuple[int, int]

# Several rules share a step when their weights have equal shapes; a rule whose weights multiply
# non-scalar inputs (real matrix products) keeps a step of its own once it has this many rows, where
# one shared GEMM beats per-row weights.
MERGE_LIMIT = 1024

SEGMENT_COMBINATIONS = ("sum", "avg", "max", "min", "count")
FIRST = "first"  # the combination of a single input that passes it through
ONE = "one"  # the combination of a single input that is the constant 1


class NumericalError(NeuralogicError):
    """A value stopped being finite (NaN or infinity)."""


# --------------------------------------------------------------------------- compiled steps


@dataclass
class Read:
    """Rows of a bank: chunks ``first..last`` (concatenated), then ``gather`` (None: that whole chunk)."""

    bank: int
    first: int
    last: int
    gather: Segments | None


@dataclass
class WeightRef:
    """One shared weight (``pick`` None), or per row the weight ``names[pick.ids[row]]``."""

    names: tuple[str, ...]
    pick: Segments | None


@dataclass
class Step:
    """One batched group of neurons; ``kind`` is ``fact``, ``rule``, ``aggregation`` or ``atom``."""

    kind: str
    level: int
    label: str
    bank: int
    n: int
    neurons: np.ndarray  # the neurons of the rows (flat rule / aggregation ids, or atom ids)
    inputs: list[Read] = field(default_factory=list)
    soft: tuple[bool, ...] = ()
    weights: list[WeightRef | None] = field(default_factory=list)
    offset: WeightRef | None = None
    combination: str = FIRST
    activation: str = "identity"
    aggregation: Segments | None = None
    function: str = ""
    head_weight: WeightRef | None = None
    broadcast: list[Shape | None] = field(default_factory=list)
    offset_shape: Shape | None = None
    constant: np.ndarray | None = None
    params: WeightRef | None = None
    rows: np.ndarray | None = None  # the bank rows of the output chunk


# --------------------------------------------------------------------------- the compiled network


@dataclass(frozen=True)
class RuleClass:
    combination: str
    activation: str
    soft: tuple[bool, ...]
    weights: tuple[Shape | None, ...]
    offset: Shape | None
    inputs: tuple[Shape, ...]
    negation: str
    alone: int  # the layer, when it must not share its step (MERGE_LIMIT); else -1


@dataclass(frozen=True)
class AggregationClass:
    function: str
    member: Shape
    count: int  # uniform member count (concat, softmax); 0 otherwise
    head_weight: Shape | None
    alone: int


@dataclass(frozen=True)
class AtomClass:
    combination: str  # FIRST / ONE for single inputs
    activation: str
    shape: Shape
    positions: tuple[Shape, ...] = ()  # input shapes for the positional combinations (offset first)


class CompiledNetwork:
    """A network ready to run: which step every neuron belongs to, and plans for sets of samples."""

    def __init__(self, network: Network, cache_size: int = 4096) -> None:
        self.network = network
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, Plan] = OrderedDict()
        layers = network.layers
        self.rule_offset = _offsets([layer.n_rules for layer in layers])
        self.agg_offset = _offsets([layer.n_groups for layer in layers])
        cat = lambda parts, dtype=INDEX: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)  # noqa
        self.rule_layer = cat([np.full(layer.n_rules, i) for i, layer in enumerate(layers)])
        self.rule_local = cat([np.arange(layer.n_rules) for layer in layers])
        self.rule_level = cat([layer.rule_level for layer in layers])
        self.agg_layer = cat([np.full(layer.n_groups, i) for i, layer in enumerate(layers)])
        self.agg_local = cat([np.arange(layer.n_groups) for layer in layers])
        self.agg_level = cat([layer.agg_level for layer in layers])
        self.agg_head = cat([layer.head for layer in layers])
        self.member_rule = cat([self.rule_offset[i] + layer.member for i, layer in enumerate(layers)])
        self.member_agg = cat([self.agg_offset[i] + layer.member_group for i, layer in enumerate(layers)])
        self.body_rule = cat([np.repeat(self.rule_offset[i] + np.arange(layer.n_rules), layer.body.shape[1])
                              for i, layer in enumerate(layers)])
        self.body_node = cat([layer.body.reshape(-1) for layer in layers])
        self.in_agg = self.agg_offset[network.in_layer] + network.in_group if len(network.in_atom) \
            else np.zeros(0, INDEX)
        self.rule_classes: list[RuleClass] = []
        self.agg_classes: list[AggregationClass] = []
        self.atom_classes: list[AtomClass] = []
        self.rule_class = cat([self._rule_classes(i, layer) for i, layer in enumerate(layers)])
        self.agg_class = cat([self._agg_classes(i, layer) for i, layer in enumerate(layers)])
        self.atom_class = self._atom_classes()
        self._constant_tables: dict[Shape, tuple[np.ndarray, np.ndarray]] = {}

    # -- classes

    def _class_id(self, table: list, key) -> int:
        try:
            return table.index(key)
        except ValueError:
            table.append(key)
            return len(table) - 1

    def _rule_classes(self, li: int, layer: Layer) -> np.ndarray:
        net = self.network
        store = net.store.parameters
        p = len(layer.positions)
        weights = tuple(store[w].shape if w else None for w in layer.weights)
        offset = store[layer.offset].shape if layer.offset else None
        signature = net.shape[layer.body].reshape(layer.n_rules, 2 * p)
        if layer.n_rules == 0:
            return np.zeros(0, INDEX)
        distinct, inverse = np.unique(signature, axis=0, return_inverse=True)
        ids = []
        for sig in distinct.tolist():
            inputs = tuple((sig[2 * j], sig[2 * j + 1]) for j in range(p))
            matmul = any(w is not None and w != SCALAR and x != SCALAR for w, x in zip(weights, inputs))
            alone = li if matmul and layer.n_rules >= MERGE_LIMIT else -1
            ids.append(self._class_id(self.rule_classes, RuleClass(
                layer.combination, layer.activation, layer.soft, weights, offset, inputs, net.settings.negation,
                alone)))
        return np.asarray(ids, dtype=INDEX)[inverse.reshape(-1)]

    def _agg_classes(self, li: int, layer: Layer) -> np.ndarray:
        if layer.n_groups == 0:
            return np.zeros(0, INDEX)
        store = self.network.store.parameters
        head = store[layer.head_weight].shape if layer.head_weight else None
        starts = layer.group_starts
        member = layer.rule_shape[layer.member[starts]]
        positional = layer.aggregation in ("concat", "softmax")
        count = layer.agg_count if positional else np.zeros(layer.n_groups, INDEX)
        key = np.column_stack([member, count])
        distinct, inverse = np.unique(key, axis=0, return_inverse=True)
        ids = []
        for rows, cols, c in distinct.tolist():
            matmul = head is not None and head != SCALAR and (rows, cols) != SCALAR
            alone = li if matmul and layer.n_groups >= MERGE_LIMIT else -1
            ids.append(self._class_id(self.agg_classes, AggregationClass(layer.aggregation, (rows, cols), c, head,
                                                                         alone)))
        return np.asarray(ids, dtype=INDEX)[inverse.reshape(-1)]

    def _atom_classes(self) -> np.ndarray:
        net = self.network
        out = np.full(net.n_nodes, -1, INDEX)
        atoms = np.flatnonzero(net.kind == ATOM)
        if not len(atoms):
            return out
        n_inputs = np.bincount(net.in_atom, minlength=net.n_nodes)[atoms] + (net.offset[atoms] >= 0)
        comb = np.array(net.functions, dtype=object)[net.combination[atoms]]
        act = np.array(net.functions, dtype=object)[net.activation[atoms]]
        effective = np.where(n_inputs == 1, np.where(np.isin(comb, CONSTANT_ON_ONE), ONE, FIRST), comb)
        key_cols = np.column_stack([np.unique(effective, return_inverse=True)[1], np.unique(act, return_inverse=True)[1],
                                    net.shape[atoms]])
        positional = ~np.isin(effective, (FIRST, ONE) + SEGMENT_COMBINATIONS)
        contrib = np.concatenate([layer.contrib_shape for layer in net.layers]) if net.layers \
            else np.zeros((0, 2), INDEX)
        distinct, first, inverse = np.unique(key_cols[~positional], axis=0, return_index=True, return_inverse=True)
        plain = atoms[~positional]
        ids = [self._class_id(self.atom_classes, AtomClass(effective[~positional][f], act[~positional][f],
                                                          tuple(net.shape[plain[f]].tolist())))
               for f in first.tolist()]
        out[plain] = np.asarray(ids, dtype=INDEX)[inverse.reshape(-1)]
        for i in np.flatnonzero(positional).tolist():  # positional combinations on atoms: rare, per atom
            a = int(atoms[i])
            shapes = []
            if net.offset[a] >= 0:
                shapes.append(net.store.parameters[net.offset_names[net.offset[a]]].shape)
            lo, hi = np.searchsorted(net.in_atom, [a, a + 1])
            shapes += [tuple(s) for s in contrib[self.in_agg[lo:hi]].tolist()]
            out[a] = self._class_id(self.atom_classes, AtomClass(effective[i], act[i], tuple(net.shape[a].tolist()),
                                                                 tuple(shapes)))
        return out

    # -- running (the training protocol of neuralogic_py.learn.trainer)

    @property
    def store(self):
        return self.network.store

    def values(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Every parameter's value: the store's, overridden by ``params``."""
        values = dict(self.network.store.values)
        if params is not None:
            values.update(params)
        return values

    def targets(self) -> np.ndarray:
        """The samples' targets as ``(samples, rows, cols)`` (NaN where a sample has none)."""
        blocks = [block_value(s.target) if s.target is not None else None for s in self.network.samples]
        shapes = {b.shape for b in blocks if b is not None}
        if len(shapes) > 1:
            raise ValidationError(f"the queries' targets have several shapes: {sorted(shapes)}")
        shape = shapes.pop() if shapes else (1, 1)
        return np.stack([b if b is not None else np.full(shape, np.nan) for b in blocks]) if blocks \
            else np.zeros((0, *shape))

    def forward(self, params: Mapping[str, Any] | None = None, samples: np.ndarray | None = None) -> np.ndarray:
        """Outputs ``(len(samples), rows, cols)`` of ``samples`` (None: all) with the given parameter values."""
        return self.plan(samples).forward(self.values(params))

    def value_and_grad(self, params: Mapping[str, np.ndarray], loss: Any, targets: np.ndarray,
                       samples: np.ndarray | None = None, weights: np.ndarray | None = None
                       ) -> tuple[float, dict[str, np.ndarray]]:
        """The batch error ``loss.mean(outputs, targets, weights)`` of ``samples`` and its gradient.

        Gradients are returned for the parameters in ``params`` that are learnable
        and that these samples' outputs depend on. ``loss`` is a
        :class:`~neuralogic_py.learn.losses.Loss` or any ``f(outputs, targets) -> Tensor``.
        """
        objective = (lambda out, t: loss.mean(out, t, weights)) if hasattr(loss, "mean") else loss
        learnable = {n for n in params if n in self.network.store and not self.network.store.parameters[n].fixed}
        error, grads, _ = self.plan(samples).value_and_grad(self.values(params), objective, targets, learnable)
        return error, grads

    def explain_nonfinite(self, params: Mapping[str, Any], samples: np.ndarray | None = None, loss: Any = None,
                          targets: np.ndarray | None = None) -> str:
        """Where the values of ``samples`` first stop being finite (a neuron and its rule or predicate)."""
        return self.plan(samples).explain_nonfinite(self.values(params))

    # -- plans

    def plan(self, samples: np.ndarray | None = None) -> Plan:
        """The compiled plan of ``samples`` (indices into ``network.samples``; None: all), cached."""
        key = ("all",) if samples is None else tuple(np.asarray(samples, dtype=INDEX).tolist())
        plan = self._cache.get(key)
        if plan is not None:
            self._cache.move_to_end(key)
            return plan
        chosen = np.arange(len(self.network.samples), dtype=INDEX) if samples is None \
            else np.asarray(samples, dtype=INDEX)
        plan = _Compiler(self, chosen).compile()
        self._cache[key] = plan
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return plan

    def needed(self, atoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Masks of the nodes, rule neurons and aggregation neurons ``atoms`` depend on."""
        net = self.network
        node = np.zeros(net.n_nodes, dtype=bool)
        node[atoms] = True
        rule = np.zeros(len(self.rule_layer), dtype=bool)
        agg = np.zeros(len(self.agg_layer), dtype=bool)
        frontier = np.unique(atoms)
        while len(frontier):
            fresh_agg = np.zeros(len(agg), dtype=bool)
            lo = np.searchsorted(net.in_atom, frontier)
            hi = np.searchsorted(net.in_atom, frontier, side="right")
            fresh_agg[self.in_agg[ranges(lo, hi)]] = True
            agg |= fresh_agg
            fresh_rule = np.zeros(len(rule), dtype=bool)
            fresh_rule[self.member_rule[fresh_agg[self.member_agg]]] = True
            fresh_rule &= ~rule
            rule |= fresh_rule
            reached = self.body_node[fresh_rule[self.body_rule]]
            reached = np.unique(reached[~node[reached]])
            node[reached] = True
            frontier = reached[net.kind[reached] == ATOM]
        return node, rule, agg

    def constant_table(self, shape: Shape) -> tuple[np.ndarray, np.ndarray]:
        """The distinct constants of one shape (``(k, rows, cols)``) and each constant's row (-1: other shape)."""
        table = self._constant_tables.get(shape)
        if table is None:
            consts = self.network.constants
            row = np.full(len(consts), -1, INDEX)
            values: list[np.ndarray] = []
            seen: dict[bytes, int] = {}
            for i, c in enumerate(consts):
                if c is not None and c.shape == shape:
                    key = c.tobytes()
                    if key not in seen:
                        seen[key] = len(values)
                        values.append(c)
                    row[i] = seen[key]
            stacked = np.stack(values) if values else np.zeros((0, *shape))
            table = self._constant_tables[shape] = (stacked, row)
        return table


def _offsets(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(INDEX)


# --------------------------------------------------------------------------- compiling a plan


class _Banks:
    """Chunk layout of the value banks while a plan is compiled."""

    def __init__(self) -> None:
        self.shapes: list[Shape] = []
        self.index: dict[Shape, int] = {}
        self.starts: list[list[int]] = []
        self.sizes: list[int] = []

    def bank(self, shape: Shape) -> int:
        b = self.index.get(shape)
        if b is None:
            b = self.index[shape] = len(self.shapes)
            self.shapes.append(shape)
            self.starts.append([])
            self.sizes.append(0)
        return b

    def append(self, shape: Shape, n: int) -> tuple[int, np.ndarray]:
        """A new chunk of ``n`` rows: its bank and the bank rows it occupies."""
        b = self.bank(shape)
        start = self.sizes[b]
        self.starts[b].append(start)
        self.sizes[b] = start + n
        return b, np.arange(start, start + n, dtype=INDEX)

    def read(self, bank: int, rows: np.ndarray) -> Read:
        starts = np.asarray(self.starts[bank])
        first = int(np.searchsorted(starts, rows.min(), side="right") - 1)
        last = int(np.searchsorted(starts, rows.max(), side="right") - 1)
        base = starts[first]
        end = starts[last + 1] if last + 1 < len(starts) else self.sizes[bank]
        local = rows - base
        chunk_rows = (starts[first + 1] if first + 1 < len(starts) else self.sizes[bank]) - base
        if first == last and len(local) == chunk_rows and np.array_equal(local, np.arange(chunk_rows)):
            return Read(bank, first, last, None)
        return Read(bank, first, last, Segments(local, int(end - base)))


class _Compiler:
    def __init__(self, compiled: CompiledNetwork, samples: np.ndarray) -> None:
        self.s = compiled
        self.net = compiled.network
        self.samples = samples
        self.banks = _Banks()
        self.steps: list[Step] = []
        net = self.net
        self.node_addr = np.full(net.n_nodes, -1, INDEX)
        self.node_bank = np.full(net.n_nodes, -1, INDEX)
        self.rule_addr = np.full(len(compiled.rule_layer), -1, INDEX)
        self.agg_addr = np.full(len(compiled.agg_layer), -1, INDEX)  # of the value after the head weight
        self.agg_bank = np.full(len(compiled.agg_layer), -1, INDEX)
        self.one_row: int | None = None

    def compile(self) -> Plan:
        s, net = self.s, self.net
        outputs = net.outputs[self.samples]
        node, rule, agg = s.needed(outputs)
        self._facts(np.flatnonzero(node & (net.kind == FACT)))
        groups = []  # (level, phase, class, ids)
        for phase, ids, level, cls in ((0, np.flatnonzero(rule), s.rule_level, s.rule_class),
                                       (1, np.flatnonzero(agg), s.agg_level, s.agg_class),
                                       (2, np.flatnonzero(node & (net.kind == ATOM)), net.level, s.atom_class)):
            if not len(ids):
                continue
            key = np.column_stack([level[ids], cls[ids]])
            order = np.lexsort((key[:, 1], key[:, 0]))
            ids, key = ids[order], key[order]
            cut = np.flatnonzero((np.diff(key, axis=0) != 0).any(axis=1)) + 1
            for part in np.split(np.arange(len(ids)), cut):
                groups.append((int(key[part[0], 0]), phase, int(key[part[0], 1]), ids[part]))
        groups.sort(key=lambda g: (g[0], g[1], g[2]))
        for level, phase, cls, ids in groups:
            if phase == 0:
                self._rule_step(level, s.rule_classes[cls], ids)
            elif phase == 1:
                self._aggregation_step(level, s.agg_classes[cls], ids)
            else:
                self._atom_step(level, s.atom_classes[cls], ids)
        out_banks = self.node_bank[outputs]
        reads = []
        for b in np.unique(out_banks).tolist():
            where = np.flatnonzero(out_banks == b)
            reads.append((where, self.banks.read(b, self.node_addr[outputs[where]])))
        return Plan(self.s, self.samples, self.steps, list(self.banks.shapes), reads)

    # -- helpers

    def _chunk(self, kind: str, level: int, label: str, shape: Shape, neurons: np.ndarray, **fields) -> Step:
        bank, rows = self.banks.append(shape, len(neurons))
        step = Step(kind, level, label, bank, len(neurons), neurons, rows=rows, **fields)
        self.steps.append(step)
        return step

    def _weight_ref(self, names: list[str | None], per_row: np.ndarray) -> WeightRef | None:
        """``names[i]`` is the weight of the rows with ``per_row == i``."""
        if all(n is None for n in names):
            return None
        distinct = list(dict.fromkeys(names))
        if len(distinct) == 1:
            return WeightRef((distinct[0],), None)
        index = np.array([distinct.index(n) for n in names], dtype=INDEX)
        return WeightRef(tuple(distinct), Segments(index[per_row], len(distinct)))

    def _constant_one(self) -> tuple[int, int]:
        if self.one_row is None:
            step = self._chunk("fact", 0, "the constant 1", SCALAR, np.zeros(1, INDEX), constant=np.ones((1, 1, 1)))
            self.one_row = int(step.rows[0])
        return self.banks.bank(SCALAR), self.one_row

    # -- facts

    def _facts(self, facts: np.ndarray) -> None:
        net = self.net
        if not len(facts):
            return
        shapes = net.shape[facts]
        for rows, cols in np.unique(shapes, axis=0).tolist():
            shape = (rows, cols)
            these = facts[(shapes == shape).all(axis=1)]
            consts = these[net.param[these] < 0]
            if len(consts):
                table, row_of = self.s.constant_table(shape)
                used = np.unique(row_of[net.const[consts]])
                step = self._chunk("fact", 0, f"{len(used)} distinct constant values", shape, used,
                                   constant=table[used])
                self.node_bank[consts] = step.bank
                self.node_addr[consts] = step.rows[np.searchsorted(used, row_of[net.const[consts]])]
            params = these[net.param[these] >= 0]
            if len(params):
                used = np.unique(net.param[params])
                names = [net.fact_params[int(p)] for p in used]
                ref = WeightRef(tuple(names), Segments(np.arange(len(used)), len(used)))
                step = self._chunk("fact", 0, "learnable fact values", shape, used, params=ref)
                self.node_bank[params] = step.bank
                self.node_addr[params] = step.rows[np.searchsorted(used, net.param[params])]

    # -- rule neurons

    def _rule_step(self, level: int, cls: RuleClass, ids: np.ndarray) -> None:
        s, net = self.s, self.net
        layer_of = s.rule_layer[ids]
        local = s.rule_local[ids]
        used_layers = np.unique(layer_of)
        layers = [net.layers[int(i)] for i in used_layers]
        per_row = np.searchsorted(used_layers, layer_of)
        p = len(cls.inputs)
        inputs = []
        for j in range(p):
            nodes = np.empty(len(ids), INDEX)
            for k, layer in enumerate(layers):
                sel = per_row == k
                nodes[sel] = layer.body[local[sel], j]
            inputs.append(self.banks.read(int(self.node_bank[nodes[0]]), self.node_addr[nodes]))
        weights = [self._weight_ref([layer.weights[j] for layer in layers], per_row) for j in range(p)]
        offset = self._weight_ref([layer.offset for layer in layers], per_row)
        n_inputs = p + (offset is not None)
        combination = cls.combination if n_inputs > 1 else (ONE if cls.combination in CONSTANT_ON_ONE else FIRST)
        label = layers[0].describe() if len(layers) == 1 else f"{len(layers)} rules like {layers[0].describe()}"
        shape = tuple(layers[0].rule_shape[local[0]].tolist())
        step = self._chunk("rule", level, label, shape, ids, inputs=inputs, soft=cls.soft, weights=weights,
                           offset=offset, combination=combination, activation=cls.activation,
                           function=cls.negation, offset_shape=cls.offset)
        self.rule_addr[ids] = step.rows

    # -- aggregation neurons

    def _aggregation_step(self, level: int, cls: AggregationClass, ids: np.ndarray) -> None:
        s, net = self.s, self.net
        layer_of = s.agg_layer[ids]
        used_layers = np.unique(layer_of)
        layers = [net.layers[int(i)] for i in used_layers]
        per_row = np.searchsorted(used_layers, layer_of)
        lo = np.searchsorted(s.member_agg, ids)
        hi = np.searchsorted(s.member_agg, ids, side="right")
        counts = hi - lo
        members = s.member_rule[ranges(lo, hi)]
        owner = np.repeat(np.arange(len(ids), dtype=INDEX), counts)
        head = self._weight_ref([layer.head_weight for layer in layers], per_row)
        name = cls.function
        single = bool(np.all(counts == 1))
        label = layers[0].describe() if len(layers) == 1 else f"{len(layers)} rules like {layers[0].describe()}"
        out_shape = tuple(layers[0].contrib_shape[s.agg_local[ids[0]]].tolist())
        member_bank = self.banks.bank(cls.member)
        if single and name in ("sum", "avg", "max", "min", "concat") and head is None:
            self.agg_addr[ids] = self.rule_addr[members]  # the aggregation passes its one member through
            self.agg_bank[ids] = member_bank
            return
        if single and name in ("count", "softmax") and head is None:
            bank, row = self._constant_one()
            self.agg_addr[ids], self.agg_bank[ids] = row, bank
            return
        read = self.banks.read(member_bank, self.rule_addr[members])
        reduce = None if single else Segments(owner, len(ids))
        if single and name in ("count", "softmax"):
            name = ONE
        step = self._chunk("aggregation", level, label, out_shape, ids, inputs=[read], aggregation=reduce,
                           function=name, head_weight=head)
        self.agg_addr[ids] = step.rows
        self.agg_bank[ids] = step.bank

    # -- atom neurons

    def _atom_step(self, level: int, cls: AtomClass, atoms: np.ndarray) -> None:
        s, net = self.s, self.net
        lo = np.searchsorted(net.in_atom, atoms)
        hi = np.searchsorted(net.in_atom, atoms, side="right")
        counts = hi - lo
        inputs = s.in_agg[ranges(lo, hi)]
        owner = np.repeat(np.arange(len(atoms), dtype=INDEX), counts)
        preds = np.unique(net.program.atoms.pred[atoms])
        label = "atoms of " + ", ".join(net.predicates[int(p)].label for p in preds[:4]) + \
            (", ..." if len(preds) > 4 else "")
        shape = cls.shape
        if cls.combination == FIRST:
            if cls.activation == "identity":
                self.node_addr[atoms] = self.agg_addr[inputs]  # one input, no activation: an alias
                self.node_bank[atoms] = self.agg_bank[inputs]
                return
            read = self.banks.read(int(self.agg_bank[inputs[0]]), self.agg_addr[inputs])
            step = self._chunk("atom", level, label, shape, atoms, inputs=[read], combination=FIRST,
                               activation=cls.activation)
        elif cls.combination == ONE:
            step = self._chunk("atom", level, label, shape, atoms, combination=ONE, activation=cls.activation)
        elif cls.combination in SEGMENT_COMBINATIONS:
            step = self._segment_atom_step(level, cls, atoms, inputs, owner, label)
        else:
            step = self._positional_atom_step(level, cls, atoms, inputs, counts, label)
        self.node_addr[atoms] = step.rows
        self.node_bank[atoms] = step.bank

    def _offset_ref(self, atoms: np.ndarray) -> WeightRef:
        net = self.net
        codes = net.offset[atoms]
        used = np.unique(codes)
        names = tuple(net.offset_names[int(c)] for c in used)
        return WeightRef(names, Segments(np.searchsorted(used, codes), len(used)))

    def _segment_atom_step(self, level, cls: AtomClass, atoms, inputs, owner, label) -> Step:
        net = self.net
        reads, broadcast, members = [], [], []
        banks = self.agg_bank[inputs]
        for b in np.unique(banks).tolist():
            sel = np.flatnonzero(banks == b)
            reads.append(self.banks.read(b, self.agg_addr[inputs[sel]]))
            bank_shape = self.banks.shapes[b]
            broadcast.append(None if bank_shape == cls.shape else cls.shape)
            members.append(owner[sel])
        with_offset = np.flatnonzero(net.offset[atoms] >= 0)
        offset = self._offset_ref(atoms[with_offset]) if len(with_offset) else None
        if offset is not None:
            members.append(with_offset)
        member_of = np.concatenate(members)
        return self._chunk("atom", level, label, cls.shape, atoms, inputs=reads, broadcast=broadcast, offset=offset,
                           offset_shape=cls.shape, aggregation=Segments(member_of, len(atoms)),
                           combination=cls.combination, activation=cls.activation)

    def _positional_atom_step(self, level, cls: AtomClass, atoms, inputs, counts, label) -> Step:
        net = self.net
        has_offset = bool(net.offset[atoms[0]] >= 0)
        k = int(counts[0])
        grid = inputs.reshape(len(atoms), k)
        reads = [self.banks.read(int(self.agg_bank[grid[0, j]]), self.agg_addr[grid[:, j]]) for j in range(k)]
        offset = self._offset_ref(atoms) if has_offset else None
        return self._chunk("atom", level, label, cls.shape, atoms, inputs=reads, offset=offset,
                           combination=cls.combination, activation=cls.activation)


# --------------------------------------------------------------------------- running a plan


class Plan:
    """A compiled network for one set of samples: outputs, values and gradients.

    ``steps`` run in order, each appending one chunk to the bank of its shape;
    ``outputs`` are read from the banks in sample order.
    """

    def __init__(self, compiled: CompiledNetwork, samples: np.ndarray, steps: list[Step], bank_shapes: list[Shape],
                 outputs: list[tuple[np.ndarray, Read]]) -> None:
        self.compiled = compiled
        self.network = compiled.network
        self.samples = samples
        self.steps = steps
        self.bank_shapes = bank_shapes
        self.output_reads = outputs
        names: dict[str, None] = {}
        for step in steps:
            for ref in (*step.weights, step.offset, step.head_weight, step.params):
                if ref is not None:
                    names.update(dict.fromkeys(ref.names))
        self.parameter_names = list(names)

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def output_shape(self) -> Shape | None:
        """The shape of every output, or None when samples have outputs of several shapes."""
        shapes = {self.bank_shapes[read.bank] for _, read in self.output_reads}
        return shapes.pop() if len(shapes) == 1 else None

    def counts(self) -> dict[str, int]:
        """Steps by kind and the rows they compute."""
        out: dict[str, int] = {"steps": len(self.steps)}
        for step in self.steps:
            out[f"{step.kind} rows"] = out.get(f"{step.kind} rows", 0) + step.n
        return out

    # -- the computation

    def outputs(self, values: Mapping[str, Any], *, check: bool = False) -> Tensor:
        """The outputs ``(samples, rows, cols)``, recorded on the tape when ``values`` hold variables.

        ``values`` maps parameter names to arrays or tensors. ``check`` raises
        :class:`NumericalError` at the first step whose values are not finite.
        """
        run = _Run(self, values, check)
        for step in self.steps:
            run.execute(step)
        return run.outputs()

    def forward(self, values: Mapping[str, Any]) -> np.ndarray:
        """Output values ``(samples, rows, cols)`` (no tape)."""
        return np.asarray(value_of(self.outputs({n: value_of(v) for n, v in values.items()})))

    def value_and_grad(self, values: Mapping[str, np.ndarray], loss: Callable[[Tensor, np.ndarray], Tensor],
                       targets: np.ndarray, learnable: Mapping[str, Any] | None = None
                       ) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
        """``loss(outputs, targets)`` and its gradient with respect to every learnable parameter used.

        ``learnable`` names the parameters to differentiate (default: those the
        network's store marks learnable). Returns (loss, gradients by name, outputs).
        """
        store = self.network.store
        if learnable is None:
            wanted = {n for n in self.parameter_names if not store.parameters[n].fixed}
        else:
            wanted = {n for n in self.parameter_names if n in learnable}
        leaves = {n: variable(values[n]) for n in wanted}
        tensors = {n: leaves.get(n, v) for n, v in values.items()}
        out = self.outputs(tensors)
        error = loss(out, targets)
        if not isinstance(error, Tensor) or not leaves:
            return float(np.asarray(value_of(error))), {n: np.zeros_like(values[n]) for n in wanted}, value_of(out)
        names = list(leaves)
        grads = backward(error, [leaves[n] for n in names])
        return float(error.value), dict(zip(names, grads)), out.value

    def explain_nonfinite(self, values: Mapping[str, Any]) -> str:
        """Where the values first stop being finite: the step, its rule or predicate, and a neuron."""
        try:
            self.outputs({n: value_of(v) for n, v in values.items()}, check=True)
        except NumericalError as e:
            return e.message
        bad = [n for n in self.parameter_names if not np.all(np.isfinite(value_of(values[n])))]
        if bad:
            return f"the parameters {', '.join(bad)} are not finite"
        return "every neuron value is finite, so the gradient overflows"

    def describe_row(self, step: Step, row: int) -> str:
        """The neuron computed at ``row`` of ``step``, in words."""
        net = self.network
        neuron = int(step.neurons[row])
        if step.kind == "atom":
            return f"the atom neuron of {net.atom_text(neuron)}"
        if step.kind == "fact":
            return "a fact value"
        s = self.compiled
        if step.kind == "rule":
            layer = net.layers[int(s.rule_layer[neuron])]
            return f"the rule neuron of {ground_rule_text(net, layer, int(s.rule_local[neuron]))}"
        layer = net.layers[int(s.agg_layer[neuron])]
        head = int(layer.head[int(s.agg_local[neuron])])
        return f"the aggregation neuron of {layer.describe()} for {net.atom_text(head)}"


class _Run:
    """One evaluation of a plan: the chunks computed so far and per-run caches."""

    def __init__(self, plan: Plan, values: Mapping[str, Any], check: bool) -> None:
        self.plan = plan
        self.values = values
        self.check = check
        self.chunks: list[list[Any]] = [[] for _ in plan.bank_shapes]
        self.joined: dict[tuple[int, int, int], Any] = {}
        self.stacks: dict[tuple[str, ...], Any] = {}

    def param(self, name: str) -> Any:
        v = self.values[name]
        return v if isinstance(v, Tensor) else np.asarray(v, dtype=np.float64)

    def stack(self, names: tuple[str, ...]) -> Any:
        stacked = self.stacks.get(names)
        if stacked is None:
            parts = [self.param(n) for n in names]
            rows, cols = np.shape(value_of(parts[0]))
            stacked = ops.reshape(ops.concat_rows(*parts), (len(parts), rows, cols)) if len(parts) > 1 \
                else ops.reshape(parts[0], (1, rows, cols))
            self.stacks[names] = stacked
        return stacked

    def weight(self, ref: WeightRef) -> Any:
        if ref.pick is None:
            return self.param(ref.names[0])
        return ops.gather(self.stack(ref.names), ref.pick)

    def read(self, read: Read) -> Any:
        chunks = self.chunks[read.bank]
        if read.first == read.last:
            source = chunks[read.first]
        else:
            key = (read.bank, read.first, read.last)
            source = self.joined.get(key)
            if source is None:
                source = self.joined[key] = ops.concat_rows(*chunks[read.first:read.last + 1])
        return source if read.gather is None else ops.gather(source, read.gather)

    def execute(self, step: Step) -> None:
        value = getattr(self, "_" + step.kind)(step)
        if self.check and not np.all(np.isfinite(value_of(value))):
            values = np.asarray(value_of(value)).reshape(step.n, -1)
            row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
            raise NumericalError(f"{self.plan.describe_row(step, row)} is not finite ({step.kind} step of "
                                 f"{step.label})")
        self.chunks[step.bank].append(value)

    def _fact(self, step: Step) -> Any:
        if step.constant is not None:
            return step.constant
        return self.stack(step.params.names)

    def _rule(self, step: Step) -> Any:
        xs = []
        if step.offset is not None:
            xs.append(self.weight(step.offset))
        for j, read in enumerate(step.inputs):
            x = self.read(read)
            if step.soft[j]:
                x = ACTIVATIONS[step.function](x)
            if step.weights[j] is not None:
                x = ops.times(self.weight(step.weights[j]), x)
            xs.append(x)
        return ACTIVATIONS[step.activation](_combine(step.combination, xs, step.n))

    def _aggregation(self, step: Step) -> Any:
        x = self.read(step.inputs[0])
        name, seg = step.function, step.aggregation
        if name == ONE:
            y = np.ones((step.n, 1, 1))
        elif seg is None:
            y = x
        else:
            y = AGGREGATIONS[name](x, seg)
        if step.head_weight is not None:
            y = ops.times(self.weight(step.head_weight), y)
        return y

    def _atom(self, step: Step) -> Any:
        if step.combination == FIRST:
            y = self.read(step.inputs[0])
        elif step.combination == ONE:
            y = np.ones((step.n, 1, 1))
        elif step.aggregation is not None:  # a segment combination over the atoms' inputs
            parts = []
            for read, shape in zip(step.inputs, step.broadcast):
                x = self.read(read)
                parts.append(x if shape is None else ops.add(x, np.zeros((1, *shape))))
            if step.offset is not None:
                off = self.weight(step.offset)
                parts.append(ops.add(off, np.zeros((1, *step.offset_shape))))
            x = parts[0] if len(parts) == 1 else ops.concat_rows(*parts)
            y = AGGREGATIONS[step.combination](x, step.aggregation)
        else:
            xs = [self.weight(step.offset)] if step.offset is not None else []
            xs += [self.read(r) for r in step.inputs]
            y = _combine(step.combination, xs, step.n)
        return ACTIVATIONS[step.activation](y)

    def outputs(self) -> Tensor:
        reads = self.plan.output_reads
        if len(reads) == 1 and reads[0][1].gather is not None:
            out = self.read(reads[0][1])
        else:
            parts = [self.read(r) for _, r in reads]
            if len(parts) > 1:
                raise ValidationError("the samples have outputs of different shapes: "
                                      + ", ".join(str(self.plan.bank_shapes[r.bank]) for _, r in reads),
                                      hint="query atoms of one shape together")
            out = parts[0]
        return out if isinstance(out, Tensor) else constant(out)


def _combine(name: str, xs: list[Any], n: int) -> Any:
    """A rule neuron's combination; a single input passes through (or is the constant 1)."""
    if name == ONE:
        return np.ones((n, 1, 1))
    if name == FIRST:
        x = xs[0]
        if np.ndim(value_of(x)) == 2:  # only an offset: one value for every row
            x = ops.add(x, np.zeros((n, 1, 1)))
        return x
    return COMBINATIONS[name](*xs)


def compile_network(network: Network, cache_size: int = 4096) -> CompiledNetwork:
    """Assign every neuron of ``network`` to its step; plans are then compiled per set of samples."""
    return CompiledNetwork(network, cache_size)

"""The schedule: every neuron of a network assigned to a batched step, once per network.

Neurons are grouped by topological level and, within a level, run rule neurons,
then aggregation neurons, then atom neurons. A *step* is one group of neurons that
one short sequence of engine ops computes together (:mod:`.plan` runs them):

* **rule step**: rule neurons of one level whose rules share a *class* (functions,
  the functions on their inputs, weight and offset shapes, input shapes). Several rules of
  one class share a step with their weights gathered per row (the 42 atom and bond
  type embedding rules of a molecule template become one step); a rule whose
  weights are true matrix products keeps a step of its own once it has
  :data:`MERGE_LIMIT` rows, where one shared GEMM is faster.
* **aggregation step**: aggregation neurons of one level with equal function,
  member shape and head-weight shape (and, for concat and softmax, member count):
  one segment reduction, then the head weight. A softmax over listed head variables
  runs whole partitions in one step (their levels are one, :mod:`.network`).
* **atom step**: atom neurons of one level with equal functions and shape: their
  head-weighted inputs and offsets, one segment reduction (sum, avg, max, min,
  count), or, for product, concat, crosssum, cossim, softmax and sparsemax, the
  combination over fixed input positions (atoms grouped by input shapes); then the
  activation.

Value banks. Every step writes one *chunk* of rows to the bank of its output
shape; every input is a set of *bank rows*. Neurons that change nothing (the
bypassed neurons of exact chain pruning, :mod:`.pruning`) get no row of their own
but *alias* their input's row; a weighted aggregation (``W x``) aliases ``x`` when its
atom neurons apply ``W``, and otherwise its step computes ``W x`` from its one member.
Facts with equal constant values share one row, and
every count or softmax neuron with one input reads one constant row 1. The row of
every neuron is kept (``node_bank``/``node_row``, ``rule_bank``/``rule_row``, and
``agg_bank``/``agg_row`` for an aggregation's value after its head weight).

Steps read only rows that earlier steps write, so the rows some samples need are
found in one backward pass over the steps, from the samples' output rows
(:func:`.plan.materialize`); only neurons some sample needs are scheduled at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..logic.keys import unique_rows
from .flat import Flat, cat_index
from .network import ATOM, FACT, INDEX, Layer, Network, ranges
from .parameters import Shape
from .pruning import chain_bypass
from .shapes import CONSTANT_ON_ONE, SCALAR

MERGE_LIMIT = 1024
SEGMENT_COMBINATIONS = ("sum", "avg", "max", "min", "count")
FIRST = "first"  # the combination of a single input that passes it through
ONE = "one"  # the combination of a single input that is the constant 1


# --------------------------------------------------------------------------- layout of a step


class _Members:
    """Something listed per member, ``of[k]`` the step row of member k (non-decreasing, or None: one per row)."""

    of: np.ndarray | None
    _ptr: np.ndarray | None

    def members(self, rows: np.ndarray, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """The members of step rows ``rows`` (ascending), and how many each row has."""
        if self._ptr is None:
            self._ptr = np.searchsorted(self.of, np.arange(n_rows + 1))
        lo, hi = self._ptr[rows], self._ptr[rows + 1]
        return ranges(lo, hi), hi - lo


@dataclass
class Input(_Members):
    """Bank rows a step reads: ``rows[k]`` for step row ``of[k]`` (``of`` None: row k reads ``rows[k]``)."""

    bank: int
    rows: np.ndarray
    of: np.ndarray | None = None
    _ptr: np.ndarray | None = field(default=None, repr=False)


@dataclass
class Pick(_Members):
    """Which of ``names`` each row (or each member ``of``) uses; ``index`` None: ``names[0]`` everywhere."""

    names: tuple[str, ...]
    index: np.ndarray | None
    of: np.ndarray | None = None
    _ptr: np.ndarray | None = field(default=None, repr=False)


@dataclass
class StepLayout:
    """One step over all samples: what it computes, for which neurons, reading which bank rows.

    ``kind`` is ``fact``, ``rule``, ``aggregation`` or ``atom``. ``rows`` are the
    (consecutive) bank rows it writes. For rule steps ``functions[j]`` is the function
    applied to input j (soft negation, ``sqrt(b)``, ...) or None; for aggregation steps
    ``function`` is the aggregation; ``reduce`` says whether ``inputs[0]`` has several
    members per row.
    """

    kind: str
    level: int
    label: str
    bank: int
    shape: Shape
    neurons: np.ndarray
    rows: np.ndarray
    inputs: list[Input] = field(default_factory=list)
    functions: tuple[str | None, ...] = ()
    weights: list[Pick | None] = field(default_factory=list)
    offset: Pick | None = None
    head_weight: Pick | None = None
    params: Pick | None = None
    constant: np.ndarray | None = None
    combination: str = FIRST
    activation: str = "identity"
    function: str = ""
    reduce: bool = False
    broadcast: list[Shape | None] = field(default_factory=list)
    partition: np.ndarray | None = None  # per row, its softmax partition (aggregation softmax(agg_terms=...))


# --------------------------------------------------------------------------- classes


@dataclass(frozen=True)
class RuleClass:
    combination: str
    activation: str
    functions: tuple[str | None, ...]
    weights: tuple[Shape | None, ...]
    offset: Shape | None
    inputs: tuple[Shape, ...]
    alone: int  # the layer, when it must keep a step of its own (MERGE_LIMIT); else -1


@dataclass(frozen=True)
class AggregationClass:
    function: str
    member: Shape
    count: int  # uniform member count (concat, softmax); 0 otherwise
    head_weight: Shape | None
    alone: int


@dataclass(frozen=True)
class AtomClass:
    combination: str  # FIRST / ONE for a single input
    activation: str
    shape: Shape
    positions: tuple[Shape, ...] = ()  # input shapes of the positional combinations (offset first)
    head_weight: Shape | None = None  # FIRST: the head weight of the single input, which the atom applies


# --------------------------------------------------------------------------- the schedule


class Schedule(Flat):
    """Flat neuron arrays (:class:`~.flat.Flat`), step classes, and the step layouts of a network."""

    def __init__(self, network: Network) -> None:
        super().__init__(network)
        self.rule_shape = cat_index([layer.rule_shape for layer in network.layers], shape=(0, 2))
        self.bypass = chain_bypass(self)
        self.rule_classes: list[RuleClass] = []
        self.agg_classes: list[AggregationClass] = []
        self.atom_classes: list[AtomClass] = []
        layers = network.layers
        self.rule_class = cat_index([self._rule_classes(i, layer) for i, layer in enumerate(layers)])
        self.agg_class = cat_index([self._agg_classes(i, layer) for i, layer in enumerate(layers)])
        self.atom_class = self._atom_classes()
        self.needed_node, self.needed_rule, self.needed_agg = self.reachable()
        self.steps: list[StepLayout] = []
        self.bank_shapes: list[Shape] = []
        self.bank_sizes: list[int] = []
        self.output_bank = np.zeros(0, INDEX)
        self.output_rows = np.zeros(0, INDEX)
        _Layout(self).build()

    # -- classes

    @staticmethod
    def _class_id(table: list, key) -> int:
        try:
            return table.index(key)
        except ValueError:
            table.append(key)
            return len(table) - 1

    def _rule_classes(self, li: int, layer: Layer) -> np.ndarray:
        if layer.n_rules == 0:
            return np.zeros(0, INDEX)
        net = self.network
        store = net.store.parameters
        p = len(layer.positions)
        weights = tuple(store[w].shape if w else None for w in layer.weights)
        offset = store[layer.offset].shape if layer.offset else None
        signature = net.shape[layer.body].reshape(layer.n_rules, 2 * p)
        distinct, _, inverse = unique_rows(signature)
        ids = []
        for sig in distinct.tolist():
            inputs = tuple((sig[2 * j], sig[2 * j + 1]) for j in range(p))
            matmul = any(w is not None and w != SCALAR and x != SCALAR for w, x in zip(weights, inputs))
            alone = li if matmul and layer.n_rules >= MERGE_LIMIT else -1
            ids.append(self._class_id(self.rule_classes, RuleClass(
                layer.combination, layer.activation, layer.functions, weights, offset, inputs, alone)))
        return np.asarray(ids, dtype=INDEX)[inverse.reshape(-1)]

    def _agg_classes(self, li: int, layer: Layer) -> np.ndarray:
        if layer.n_groups == 0:
            return np.zeros(0, INDEX)
        store = self.network.store.parameters
        head = store[layer.head_weight].shape if layer.head_weight else None
        member = self.rule_shape[self.members_of(li)[layer.group_starts]]
        count = layer.agg_count if layer.aggregation in ("concat", "softmax") else np.zeros(layer.n_groups, INDEX)
        distinct, _, inverse = unique_rows(np.column_stack([member, count]))
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
        names = np.array(net.functions, dtype=object)
        n_inputs = np.bincount(net.in_atom, minlength=net.n_nodes)[atoms] + (net.offset[atoms] >= 0)
        comb, act = names[net.combination[atoms]], names[net.activation[atoms]]
        effective = np.where(n_inputs == 1, np.where(np.isin(comb, CONSTANT_ON_ONE), ONE, FIRST), comb)
        positional = ~np.isin(effective, (FIRST, ONE) + SEGMENT_COMBINATIONS)
        plain = np.flatnonzero(~positional)
        if len(plain):
            absorbed = self._absorbed_shapes(atoms[plain])
            key = np.column_stack([np.unique(effective[plain], return_inverse=True)[1].reshape(-1),
                                   np.unique(act[plain], return_inverse=True)[1].reshape(-1),
                                   net.shape[atoms[plain]], absorbed])
            _, first, inverse = unique_rows(key)
            ids = []
            for f in first.tolist():
                weight, source = absorbed[f, :2], absorbed[f, 2:]
                ids.append(self._class_id(self.atom_classes, AtomClass(
                    effective[plain[f]], act[plain[f]], tuple(net.shape[atoms[plain[f]]].tolist()),
                    (tuple(source.tolist()),) if weight[0] >= 0 else (),
                    tuple(weight.tolist()) if weight[0] >= 0 else None)))
            out[atoms[plain]] = np.asarray(ids, dtype=INDEX)[inverse.reshape(-1)]
        contrib = cat_index([layer.contrib_shape for layer in net.layers], shape=(0, 2))
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

    def _absorbed_shapes(self, atoms: np.ndarray) -> np.ndarray:
        """Per atom: the shapes of the head weight it applies and of its input before it, or -1s (:mod:`.pruning`)."""
        net = self.network
        out = np.full((len(atoms), 4), -1, INDEX)
        lo = np.searchsorted(net.in_atom, atoms)
        single = (np.searchsorted(net.in_atom, atoms, side="right") - lo) == 1
        at = np.flatnonzero(single)
        agg = self.in_agg[lo[at]]
        at, agg = at[self.bypass.absorbed[agg]], agg[self.bypass.absorbed[agg]]
        head_shape = np.array([net.store.parameters[layer.head_weight].shape if layer.head_weight else (-1, -1)
                               for layer in net.layers], dtype=INDEX).reshape(-1, 2)
        out[at, :2] = head_shape[self.agg_layer[agg]]
        out[at, 2:] = cat_index([layer.agg_shape for layer in net.layers], shape=(0, 2))[agg]
        return out


# --------------------------------------------------------------------------- building the layout


class _Layout:
    """Assigns every neuron a step (or an alias) and every step its rows, in execution order."""

    def __init__(self, schedule: Schedule) -> None:
        self.s = schedule
        self.net = schedule.network
        net = self.net
        self.index: dict[Shape, int] = {}
        self.node_row = np.full(net.n_nodes, -1, INDEX)
        self.node_bank = np.full(net.n_nodes, -1, INDEX)
        self.rule_row = np.full(len(schedule.rule_layer), -1, INDEX)
        self.rule_bank = np.full(len(schedule.rule_layer), -1, INDEX)
        self.agg_row = np.full(len(schedule.agg_layer), -1, INDEX)  # of the value after the head weight
        self.agg_bank = np.full(len(schedule.agg_layer), -1, INDEX)
        self.one: tuple[int, int] | None = None

    def bank(self, shape: Shape) -> int:
        b = self.index.get(shape)
        if b is None:
            b = self.index[shape] = len(self.s.bank_shapes)
            self.s.bank_shapes.append(shape)
            self.s.bank_sizes.append(0)
        return b

    def step(self, kind: str, level: int, label: str, shape: Shape, neurons: np.ndarray, **fields) -> StepLayout:
        b = self.bank(shape)
        start = self.s.bank_sizes[b]
        self.s.bank_sizes[b] = start + len(neurons)
        rows = np.arange(start, start + len(neurons), dtype=INDEX)
        layout = StepLayout(kind, level, label, b, shape, neurons, rows, **fields)
        self.s.steps.append(layout)
        return layout

    def build(self) -> None:
        s, net = self.s, self.net
        needed_node = s.needed_node
        self.facts(np.flatnonzero(needed_node & (net.kind == FACT)))
        groups = []  # (level, phase, class, ids)
        for phase, ids, level, cls in ((0, np.flatnonzero(s.needed_rule), s.rule_level, s.rule_class),
                                       (1, np.flatnonzero(s.needed_agg), s.agg_level, s.agg_class),
                                       (2, np.flatnonzero(needed_node & (net.kind == ATOM)), net.level,
                                        s.atom_class)):
            if not len(ids):
                continue
            order = np.lexsort((cls[ids], level[ids]))
            ids = ids[order]
            key = np.column_stack([level[ids], cls[ids]])
            cut = np.flatnonzero((np.diff(key, axis=0) != 0).any(axis=1)) + 1
            for part in np.split(np.arange(len(ids)), cut):
                groups.append((int(key[part[0], 0]), phase, int(key[part[0], 1]), ids[part]))
        groups.sort(key=lambda g: g[:3])
        bypass = s.bypass
        for level, phase, cls, ids in groups:
            if phase == 0:
                ids = self.alias(ids, bypass.rule, (self.rule_bank, self.rule_row), (self.node_bank, self.node_row))
                if len(ids):
                    self.rules(level, s.rule_classes[cls], ids)
            elif phase == 1:  # a weighted aggregation that its atoms do not absorb computes W x: a row
                ids = self.alias(ids, np.where(bypass.weighted & ~bypass.absorbed, -1, bypass.aggregation),
                                 (self.agg_bank, self.agg_row), (self.rule_bank, self.rule_row))
                if len(ids):
                    self.aggregations(level, s.agg_classes[cls], ids)
            else:
                ids = self.alias(ids, bypass.atom, (self.node_bank, self.node_row), (self.agg_bank, self.agg_row))
                if len(ids):
                    self.atoms(level, s.atom_classes[cls], ids)
        s.output_bank = self.node_bank[net.outputs]
        s.output_rows = self.node_row[net.outputs]
        s.node_bank, s.node_row = self.node_bank, self.node_row
        s.rule_bank, s.rule_row = self.rule_bank, self.rule_row
        s.agg_bank, s.agg_row = self.agg_bank, self.agg_row

    @staticmethod
    def alias(ids: np.ndarray, through: np.ndarray, rows: tuple[np.ndarray, np.ndarray],
              input_rows: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Bypassed neurons among ``ids`` read the row of their input (``through``); returns the others."""
        inputs = through[ids]
        bypassed = inputs >= 0
        for mine, theirs in zip(rows, input_rows):
            mine[ids[bypassed]] = theirs[inputs[bypassed]]
        return ids[~bypassed]

    def label(self, layers: list[Layer]) -> str:
        first = layers[0].describe()
        return first if len(layers) == 1 else f"{len(layers)} rules like {first}"

    def pick(self, names: list[str | None], per_row: np.ndarray) -> Pick | None:
        """``names[i]`` is the weight of the rows with ``per_row == i``."""
        if all(n is None for n in names):
            return None
        distinct = list(dict.fromkeys(names))
        if len(distinct) == 1:
            return Pick((distinct[0],), None)
        index = np.array([distinct.index(n) for n in names], dtype=INDEX)
        return Pick(tuple(distinct), index[per_row])

    def constant_one(self) -> tuple[int, int]:
        if self.one is None:
            step = self.step("fact", 0, "the constant 1", SCALAR, np.zeros(1, INDEX), constant=np.ones((1, 1, 1)))
            self.one = (step.bank, int(step.rows[0]))
        return self.one

    # -- facts

    def facts(self, facts: np.ndarray) -> None:
        net = self.net
        if not len(facts):
            return
        shapes = net.shape[facts]
        for rows, cols in np.unique(shapes, axis=0).tolist():
            shape = (rows, cols)
            these = facts[(shapes == shape).all(axis=1)]
            consts = these[net.param[these] < 0]
            if len(consts):
                table, row_of = _constant_table(net, shape)
                which = row_of[net.const[consts]]
                used, slot = np.unique(which, return_inverse=True)
                step = self.step("fact", 0, f"{len(used)} distinct constant values", shape, used,
                                 constant=table[used])
                self.node_bank[consts] = step.bank
                self.node_row[consts] = step.rows[slot.reshape(-1)]
            params = these[net.param[these] >= 0]
            if len(params):
                used, slot = np.unique(net.param[params], return_inverse=True)
                names = tuple(net.fact_params[int(p)] for p in used)
                step = self.step("fact", 0, "learnable fact values", shape, used,
                                 params=Pick(names, np.arange(len(used), dtype=INDEX)))
                self.node_bank[params] = step.bank
                self.node_row[params] = step.rows[slot.reshape(-1)]

    # -- rule neurons

    def rules(self, level: int, cls: RuleClass, ids: np.ndarray) -> None:
        s, net = self.s, self.net
        layer_of, local = s.rule_layer[ids], s.rule_local[ids]
        used_layers = np.unique(layer_of)
        layers = [net.layers[int(i)] for i in used_layers]
        per_row = np.searchsorted(used_layers, layer_of)
        p = len(cls.inputs)
        nodes = np.empty((len(ids), p), INDEX)
        for k, layer in enumerate(layers):
            sel = per_row == k
            nodes[sel] = layer.body[local[sel]]
        inputs = [Input(int(self.node_bank[nodes[0, j]]), self.node_row[nodes[:, j]]) for j in range(p)]
        offset = self.pick([layer.offset for layer in layers], per_row)
        n_inputs = p + (offset is not None)
        combination = cls.combination if n_inputs > 1 else (ONE if cls.combination in CONSTANT_ON_ONE else FIRST)
        shape = tuple(layers[0].rule_shape[local[0]].tolist())
        step = self.step("rule", level, self.label(layers), shape, ids, inputs=inputs,
                         functions=cls.functions,
                         weights=[self.pick([layer.weights[j] for layer in layers], per_row) for j in range(p)],
                         offset=offset, combination=combination, activation=cls.activation)
        self.rule_row[ids], self.rule_bank[ids] = step.rows, step.bank

    # -- aggregation neurons

    def aggregations(self, level: int, cls: AggregationClass, ids: np.ndarray) -> None:
        s, net = self.s, self.net
        layer_of = s.agg_layer[ids]
        used_layers = np.unique(layer_of)
        layers = [net.layers[int(i)] for i in used_layers]
        per_row = np.searchsorted(used_layers, layer_of)
        lo = np.searchsorted(s.member_agg, ids)
        hi = np.where(s.bypass.weighted[ids], lo + 1, np.searchsorted(s.member_agg, ids, side="right"))
        counts = hi - lo  # W x of a weighted aggregation reads its one member (copies of it: the first)
        members = s.member_rule[ranges(lo, hi)]
        partition = None
        if s.agg_partition[ids[0]] >= 0:  # a class holds one layer's aggregation: all split, or none
            partition = np.unique(s.agg_partition[ids], return_inverse=True)[1].reshape(-1).astype(INDEX)
        single = bool(np.all(counts == 1)) and partition is None
        head = self.pick([layer.head_weight for layer in layers], per_row)
        name = cls.function
        if single and head is None and name in ("count", "softmax"):
            self.agg_bank[ids], self.agg_row[ids] = self.constant_one()
            return
        of = None if single else np.repeat(np.arange(len(ids), dtype=INDEX), counts)
        shape = tuple(layers[0].contrib_shape[s.agg_local[ids[0]]].tolist())
        step = self.step("aggregation", level, self.label(layers), shape, ids,
                         inputs=[Input(int(self.rule_bank[members[0]]), self.rule_row[members], of)],
                         head_weight=head, function=ONE if single and name in ("count", "softmax") else name,
                         reduce=not single, partition=partition)
        self.agg_row[ids], self.agg_bank[ids] = step.rows, step.bank

    # -- atom neurons

    def atoms(self, level: int, cls: AtomClass, atoms: np.ndarray) -> None:
        s, net = self.s, self.net
        lo = np.searchsorted(net.in_atom, atoms)
        hi = np.searchsorted(net.in_atom, atoms, side="right")
        counts = hi - lo
        inputs = s.in_agg[ranges(lo, hi)]
        preds = np.unique(net.program.atoms.pred[atoms])
        label = "atoms of " + ", ".join(net.predicates[int(p)].label for p in preds[:4]) + \
            (", ..." if len(preds) > 4 else "")
        if cls.combination == FIRST:
            head = None
            if cls.head_weight is not None:
                layer_of = s.agg_layer[inputs]
                used_layers = np.unique(layer_of)
                head = self.pick([net.layers[int(i)].head_weight for i in used_layers],
                                 np.searchsorted(used_layers, layer_of))
            step = self.step("atom", level, label, cls.shape, atoms,
                             inputs=[Input(int(self.agg_bank[inputs[0]]), self.agg_row[inputs])],
                             head_weight=head, activation=cls.activation)
        elif cls.combination == ONE:
            step = self.step("atom", level, label, cls.shape, atoms, combination=ONE,
                             activation=cls.activation)
        elif cls.combination in SEGMENT_COMBINATIONS:
            member_of = np.repeat(np.arange(len(atoms), dtype=INDEX), counts)
            banks = self.agg_bank[inputs]
            parts, broadcast = [], []
            for b in np.unique(banks).tolist():
                sel = np.flatnonzero(banks == b)
                parts.append(Input(b, self.agg_row[inputs[sel]], member_of[sel]))
                broadcast.append(None if self.s.bank_shapes[b] == cls.shape else cls.shape)
            with_offset = np.flatnonzero(net.offset[atoms] >= 0)
            step = self.step("atom", level, label, cls.shape, atoms, inputs=parts, broadcast=broadcast,
                             offset=self.offsets(atoms, with_offset) if len(with_offset) else None,
                             combination=cls.combination, activation=cls.activation, reduce=True)
        else:
            k = int(counts[0])
            grid = inputs.reshape(len(atoms), k)
            parts = [Input(int(self.agg_bank[grid[0, j]]), self.agg_row[grid[:, j]]) for j in range(k)]
            has_offset = bool(net.offset[atoms[0]] >= 0)
            step = self.step("atom", level, label, cls.shape, atoms, inputs=parts,
                             offset=self.offsets(atoms, np.arange(len(atoms), dtype=INDEX)) if has_offset else None,
                             combination=cls.combination, activation=cls.activation)
        self.node_row[atoms], self.node_bank[atoms] = step.rows, step.bank

    def offsets(self, atoms: np.ndarray, rows: np.ndarray) -> Pick:
        """The predicate offsets of ``atoms[rows]`` (always gathered per row: they are members or inputs)."""
        codes = self.net.offset[atoms[rows]]
        used, index = np.unique(codes, return_inverse=True)
        return Pick(tuple(self.net.offset_names[int(c)] for c in used), index.reshape(-1).astype(INDEX), rows)


def _constant_table(network: Network, shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """The distinct constants of one shape (``(k, rows, cols)``) and each constant's row (-1: other shape)."""
    first = network.constant_ids()
    of_shape = np.array([c is not None and c.shape == shape for c in network.constants], dtype=bool)
    distinct, row = np.unique(first[of_shape], return_inverse=True)
    rows = np.full(len(first), -1, INDEX)
    rows[of_shape] = row.reshape(-1)
    values = [network.constants[int(i)] for i in distinct]
    return (np.stack(values) if values else np.zeros((0, *shape))), rows

"""Neuralization: a ground program becomes a neuron DAG held in arrays (language.md §5).

Neurons (one row of an array each, never one object each):

=============  ======================================  =========================================================
neuron         one per                                 value
=============  ======================================  =========================================================
fact           ground atom no rule derives             its value: a data constant (1.0 when none is written),
                                                       a template fact's parameter, an ``@embed`` parameter
rule           ground rule (head + distinct body)      ``act_r(comb_r([offset], w_1 x_1, ..., w_n x_n))``
aggregation    (lifted rule, ground head)              ``agg_r(rule neurons of that rule and head)``
atom           ground atom some rule derives           ``act_p(comb_p([offset_p], W_1 agg_1, ..., W_k agg_k))``
negation       soft-negated body occurrence ``~b``     ``neg(x)``, by default ``1 - x``, applied to the input;
               or a function on a literal ``f(b)``     ``f(x)`` (``sqrt(b)``, ``slice(b, rows=[0, 2])``)
=============  ======================================  =========================================================

* ``x_j`` is the value of the j-th visible body literal: the *atom* neuron when some
  rule derives it (an input fact of the same atom is then ignored: facts are
  shadowed by rules), otherwise its fact neuron, through the literal's function
  when it has one (``~b`` or ``f(b)``). ``w_j`` is the literal's weight;
  a literal without one enters unweighted (as with weight 1).
* The offset is the **first** element of the combination's input list, so ``avg``
  averages it in and ``crosssum`` adds it to every combination.
* ``W_r`` is rule r's head weight (unit when absent), applied to the aggregation
  output on its way into the atom neuron, whose inputs are the aggregation neurons
  of every rule with that head, in template order.
* A rule neuron is *weighted* when it has an offset or body weights; an atom neuron
  when some rule feeding it has a head weight. Only weighted atom neurons carry the
  predicate offset (``h/1 {1}``); on others it is ignored, as in the reference.
* A neuron with a single input skips its combination (count, softmax and sparsemax
  give the constant 1 instead).
* A template fact with variables (``<2.0> edge(X, X).``) gives every ground head
  a fact neuron with its value; an ``@embed_x(X) :- ...`` rule gives every ground
  head ``embed_x(c)`` a fact neuron valued by its own learnable parameter
  ``@embed_x(c)``, shaped like the rule's head weight, shared across examples. A
  template fact, with or without variables, wins over an input fact of the same atom.

Functions come from the rule's and the predicate's metadata, else from
:class:`~.settings.NeuralSettings`.

Before any number is computed, :func:`neuralize` orders the neurons by
topological *level* (facts 0; a rule neuron one above its highest input; an
aggregation neuron at its highest member; an atom neuron at its highest
aggregation) and infers every neuron's value shape (:mod:`.shapes`). A shape that
does not fit is a :class:`ValidationError` at the rule, naming the literal and both
shapes. A cyclic ground network (recursion over cyclic data) is an error naming a
rule and the atoms on the cycle: the reference silently deletes back edges, which
changes results; we never drop an edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ValidationError
from ..language import ir
from ..language.functions import function_parts, literal_function_text
from ..logic.keys import unique_rows
from ..logic.ground import GroundProgram
from ..logic.samples import Grounding, Sample
from .parameters import (
    Parameter,
    ParameterStore,
    RuleWeights,
    Shape,
    TemplateWeights,
    block_value,
    shape_text,
    template_weights,
)
from .settings import REFERENCE, NeuralSettings
from .shapes import (
    CONSTANT_ON_ONE,
    ELEMENTWISE,
    SCALAR,
    ShapeMismatch,
    activation_shape,
    aggregation_shape,
    combination_shape,
    times_shape,
)

FACT = 0
ATOM = 1
INDEX = np.int64


@dataclass
class Layer:
    """The rule and aggregation neurons of one lifted rule.

    ``body[i, j]`` is the node (atom or fact neuron) read by rule neuron ``i`` at its
    ``j``-th visible literal (written position ``positions[j]``). Aggregation neuron
    ``g`` reduces the rule neurons ``member[k]`` for the ``k`` with
    ``member_group[k] == g`` (non-decreasing; a rule neuron may be listed more than
    once, which is how a lifted network keeps multiplicities) and feeds atom neuron
    ``head[g]``. ``weights[j]``, ``offset`` and ``head_weight`` are parameter names.
    ``member_layer[k]``, when given, is the layer whose rule neuron ``member[k]`` is (a
    lifted network shares equivalent rule neurons between layers); None: this layer.
    ``partition[g]``, for the aggregation ``softmax(agg_terms=[...])`` only, numbers the
    heads equal but for the listed variables (and in one example): the softmax runs over
    the members of all groups of a partition, and group ``g`` sums its members' shares.
    """

    index: int  # position in Network.layers
    rule: ir.Rule
    positions: tuple[int, ...]
    functions: tuple[str | None, ...]  # per visible literal: the function applied to its value, or None
    weights: tuple[str | None, ...]
    offset: str | None
    head_weight: str | None
    combination: str
    activation: str
    aggregation: str
    body: np.ndarray
    member: np.ndarray
    member_group: np.ndarray
    head: np.ndarray
    member_layer: np.ndarray | None = field(default=None, repr=False)
    partition: np.ndarray | None = field(default=None, repr=False)
    # filled by the analysis
    rule_level: np.ndarray = field(default=None, repr=False)
    rule_shape: np.ndarray = field(default=None, repr=False)
    agg_level: np.ndarray = field(default=None, repr=False)
    agg_shape: np.ndarray = field(default=None, repr=False)
    agg_count: np.ndarray = field(default=None, repr=False)
    contrib_shape: np.ndarray = field(default=None, repr=False)

    @property
    def n_rules(self) -> int:
        return len(self.body)

    @property
    def n_groups(self) -> int:
        return len(self.head)

    @property
    def group_starts(self) -> np.ndarray:
        return np.searchsorted(self.member_group, np.arange(self.n_groups))

    def literal(self, j: int) -> ir.Literal:
        return self.rule.body[self.positions[j]]

    def describe(self) -> str:
        where = f" ({self.rule.span.location()})" if self.rule.span else ""
        return f"rule '{_short(self.rule)}'{where}"


@dataclass
class Predicate:
    """Atom-neuron functions of one predicate and its offset parameter."""

    label: str
    activation: str
    combination: str
    offset: str | None


@dataclass
class Network:
    """The neuron DAG of a ground program (see the module docstring).

    Nodes are the ground atoms of ``program`` (``A`` rows): ``kind[a]`` is
    :data:`ATOM` or :data:`FACT`; a fact's value is ``constants[const[a]]`` or the
    parameter ``fact_params[param[a]]``. Atom neuron inputs are the aggregation
    neurons ``(in_layer[i], in_group[i])`` for the ``i`` with ``in_atom[i] == a``
    (sorted by atom, then layer; in a lifted network, an input may be an equivalent
    aggregation of another layer, in the same place). ``outputs[s]`` is the atom of
    sample ``s``.
    """

    program: GroundProgram
    store: ParameterStore
    settings: NeuralSettings
    layers: list[Layer]
    predicates: dict[int, Predicate]
    kind: np.ndarray
    const: np.ndarray
    param: np.ndarray
    constants: list[np.ndarray | None]
    fact_params: list[str]
    in_atom: np.ndarray
    in_layer: np.ndarray
    in_group: np.ndarray
    samples: list[Sample]
    outputs: np.ndarray
    # filled by the analysis
    level: np.ndarray = field(default=None, repr=False)
    shape: np.ndarray = field(default=None, repr=False)
    weighted: np.ndarray = field(default=None, repr=False)
    activation: np.ndarray = field(default=None, repr=False)  # per atom: index into functions
    combination: np.ndarray = field(default=None, repr=False)
    offset: np.ndarray = field(default=None, repr=False)  # per atom: index into offset_names, -1 = none
    offset_names: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)

    @property
    def n_nodes(self) -> int:
        return len(self.kind)

    def atom_text(self, a: int) -> str:
        return f"{self.program.atom(a)} (example {int(self.program.atoms.ex[a]) + 1})"

    def function_code(self, name: str) -> int:
        """The index of function ``name`` in ``functions`` (added when new)."""
        if name not in self.functions:
            self.functions.append(name)
        return self.functions.index(name)

    def constant_ids(self) -> np.ndarray:
        """Per constant, the index of the first constant equal to it (same shape and float64 bits; -1: none).

        Equality is exact: fact neurons with equal ids have equal values and share a row, or a class.
        """
        first = np.full(len(self.constants), -1, INDEX)
        seen: dict[tuple[tuple[int, ...], bytes], int] = {}
        for i, c in enumerate(self.constants):
            if c is not None:
                first[i] = seen.setdefault((c.shape, c.tobytes()), i)
        return first

    def counts(self) -> dict[str, int]:
        """Neurons and edges by kind (negation: distinct inputs through a function, soft negation or other)."""
        facts = int((self.kind == FACT).sum())
        atoms = int((self.kind == ATOM).sum())
        rules = sum(layer.n_rules for layer in self.layers)
        aggs = sum(layer.n_groups for layer in self.layers)
        negations = 0
        for layer in self.layers:
            for j, function in enumerate(layer.functions):
                if function is not None:
                    negations += len(np.unique(layer.body[:, j]))
        edges = sum(layer.body.size + len(layer.member) for layer in self.layers) + len(self.in_atom)
        return {"facts": facts, "atoms": atoms, "rules": rules, "aggregations": aggs, "negations": negations,
                "neurons": facts + atoms + rules + aggs + negations, "edges": edges}


# --------------------------------------------------------------------------- building


def neuralize(template: ir.Template, grounding: Grounding, store: ParameterStore | None = None,
              settings: NeuralSettings = REFERENCE) -> Network:
    """The neuron DAG of ``grounding``, with levels and shapes worked out.

    ``store`` holds the parameters (made from ``template`` when None); ``@embed``
    parameters the data calls for are added to it.
    """
    weights = template_weights(template)
    if store is None:
        store = ParameterStore(weights.parameters.values())
    program = grounding.program
    db = program.db
    if len(weights.rules) != len(program.rules):
        raise AssertionError("the template does not match the ground program's rules")
    n_atoms = len(program.atoms)
    layers: list[Layer] = []
    fact_layers: list[tuple[int, RuleWeights]] = []
    for gr in program.rules:
        usage = weights.rules[gr.rule.index]
        if usage.fact or usage.embed:
            fact_layers.append((gr.rule.index, usage))
            continue
        layers.append(_layer(len(layers), gr, usage, program, settings))
    kind = np.full(n_atoms, FACT, dtype=np.int8)
    for layer in layers:
        kind[layer.head] = ATOM
    constants = [_constant(w) for w in db.values]
    const = np.where(program.atoms.fact, program.atoms.value, -1).astype(INDEX)
    param = np.full(n_atoms, -1, dtype=INDEX)
    fact_params: list[str] = []
    param_index: dict[str, int] = {}

    def param_id(name: str) -> int:
        if name not in param_index:
            param_index[name] = len(fact_params)
            fact_params.append(name)
        return param_index[name]

    _template_fact_values(program, weights, const, param, param_id)
    # template facts with variables and @embed heads, earliest in the text winning
    for index, usage in reversed(fact_layers):
        gr = program.rules[index]
        heads = np.unique(gr.head)
        heads = heads[kind[heads] == FACT]
        if usage.embed:
            shape = weights.embed_shapes[index]
            for a in heads.tolist():
                name = f"@{program.atom(a)}"
                store.add(Parameter(name, shape, False, None, "embedding", gr.rule.rule.span))
                param[a] = param_id(name)
                const[a] = -1
        elif usage.head is not None and not store.parameters[usage.head].fixed:
            param[heads] = param_id(usage.head)
            const[heads] = -1
        else:
            value = store.values[usage.head] if usage.head is not None else np.ones((1, 1))
            constants.append(np.array(value))
            const[heads] = len(constants) - 1
            param[heads] = -1
    missing = np.flatnonzero((kind == FACT) & (const < 0) & (param < 0))
    if len(missing):
        raise AssertionError(f"atom {program.atom(int(missing[0]))} is neither derived nor a fact")
    in_atom = np.concatenate([layer.head for layer in layers]) if layers else np.zeros(0, INDEX)
    in_layer = np.concatenate([np.full(layer.n_groups, layer.index, INDEX) for layer in layers]) if layers \
        else np.zeros(0, INDEX)
    in_group = np.concatenate([np.arange(layer.n_groups, dtype=INDEX) for layer in layers]) if layers \
        else np.zeros(0, INDEX)
    order = np.lexsort((in_layer, in_atom))
    network = Network(program, store, settings, layers, _predicates(template, weights, program, settings), kind,
                      const, param, constants, fact_params, in_atom[order], in_layer[order], in_group[order],
                      list(grounding.samples), np.array([s.atom for s in grounding.samples], dtype=INDEX))
    analyse(network)
    return network


def _short(rule: ir.Rule, limit: int = 90) -> str:
    text = str(rule)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _constant(weight: ir.Weight | None) -> np.ndarray | None:
    if weight is None:
        return np.ones((1, 1))
    return block_value(weight.value)


def _layer(index: int, gr, usage, program: GroundProgram, settings: NeuralSettings) -> Layer:
    rule: ir.Rule = gr.rule.rule
    meta = rule.metadata
    n = len(gr)
    if n:
        first = int(gr.group[0])
        local = (gr.group - first).astype(INDEX)
        n_groups = int(local[-1]) + 1
        head = program.group_head[first:first + n_groups].astype(INDEX)
    else:
        local, head = np.zeros(0, INDEX), np.zeros(0, INDEX)
    functions = tuple(settings.negation if soft else rule.body[p].function for p, soft in zip(gr.positions, gr.soft))
    aggregation = meta.aggregation or settings.aggregation
    return Layer(index, rule, tuple(gr.positions), functions,
                 tuple(usage.body[p] for p in gr.positions), usage.offset, usage.head,
                 meta.combination or settings.rule_combination, meta.activation or settings.rule_activation,
                 aggregation, gr.body.astype(INDEX).reshape(n, len(gr.positions)),
                 np.arange(n, dtype=INDEX), local, head,
                 partition=_partition(rule, aggregation, head, program) if is_split(aggregation) else None)


def is_split(aggregation: str) -> bool:
    """Whether an aggregation is the softmax over listed head variables (it couples several heads)."""
    return aggregation.startswith("softmax(")


def _partition(rule: ir.Rule, aggregation: str, head: np.ndarray, program: GroundProgram) -> np.ndarray:
    """Per ground head: the id of its partition, the heads of its example equal but at the ``agg_terms`` places."""
    listed = set(function_parts(aggregation)[1]["agg_terms"])
    kept = [i for i, t in enumerate(rule.head.terms) if not (isinstance(t, ir.Variable) and t.name in listed)]
    atoms = program.atoms
    key = np.column_stack([atoms.ex[head], *(atoms.terms[head, i] for i in kept)]).astype(INDEX)
    return unique_rows(key)[2].reshape(-1).astype(INDEX) if len(head) else np.zeros(0, INDEX)


def _template_fact_values(program: GroundProgram, weights: TemplateWeights, const: np.ndarray, param: np.ndarray,
                          param_id) -> None:
    """Ground template facts with learnable values read their parameter (shared by all examples)."""
    db = program.db
    learnable = np.asarray(db.value_learnable, dtype=bool)
    atoms = program.atoms
    rows = np.flatnonzero(atoms.fact & learnable[np.maximum(atoms.value, 0)] & (atoms.value >= 0))
    if not len(rows):
        return
    keys: dict[tuple, str] = {}
    for atom, name in weights.facts.items():
        pid = db.predicates.find(atom.predicate, atom.arity)
        ids = tuple(db.symbols.find(t) for t in atom.terms)
        if pid is not None and None not in ids:
            keys.setdefault((pid, *ids), name)
    arity = np.array([db.predicates.arity(int(p)) for p in range(len(db.predicates))])
    for a, pid, terms in zip(rows.tolist(), atoms.pred[rows].tolist(), atoms.terms[rows].tolist()):
        name = keys.get((pid, *terms[:arity[pid]]))
        if name is not None:
            param[a] = param_id(name)
            const[a] = -1


def _predicates(template: ir.Template, weights: TemplateWeights, program: GroundProgram,
                settings: NeuralSettings) -> dict[int, Predicate]:
    db = program.db
    meta: dict[tuple[str, int], dict[str, str]] = {}
    for s in template.predicate_metadata:
        entries = meta.setdefault((s.predicate.name, s.predicate.arity), {})
        for key in ("activation", "combination"):
            value = s.metadata.get(key)
            if isinstance(value, str):
                entries[key] = value
    out = {}
    for pid, (name, arity) in enumerate(db.predicates.keys):
        m = meta.get((name, arity), {})
        out[pid] = Predicate(f"{name}/{arity}", m.get("activation", settings.atom_activation),
                             m.get("combination", settings.atom_combination),
                             weights.predicate_offsets.get((name, arity)))
    return out


# --------------------------------------------------------------------------- analysis: levels


def analyse(network: Network) -> None:
    """Levels (with cycle detection), weighted atoms, atom functions and every neuron's shape."""
    _levels(network)
    n = network.n_nodes
    layers = network.layers
    has_head_weight = np.array([layer.head_weight is not None for layer in layers], dtype=bool)
    weighted = np.zeros(n, dtype=bool)
    if len(network.in_atom):
        weighted[network.in_atom[has_head_weight[network.in_layer]]] = True
    network.weighted = weighted
    _atom_functions(network)
    _shapes(network)


def _levels(network: Network) -> None:
    kind, layers = network.kind, network.layers
    level = np.where(kind == FACT, 0, -1).astype(INDEX)
    rule_level = [np.full(layer.n_rules, -1, INDEX) for layer in layers]
    agg_level = [np.full(layer.n_groups, -1, INDEX) for layer in layers]
    pending_rules = [np.arange(layer.n_rules, dtype=INDEX) for layer in layers]
    pending_aggs = [np.arange(layer.n_groups, dtype=INDEX) for layer in layers]
    starts = [layer.group_starts for layer in layers]
    group_offset = np.concatenate([[0], np.cumsum([layer.n_groups for layer in layers])]).astype(INDEX)
    in_flat = group_offset[network.in_layer] + network.in_group
    atom_first = np.searchsorted(network.in_atom, np.arange(network.n_nodes))
    pending_atoms = np.flatnonzero(kind == ATOM)
    while True:
        progress = False
        for li, layer in enumerate(layers):
            todo = pending_rules[li]
            if len(todo):
                inputs = level[layer.body[todo]]
                ready = (inputs >= 0).all(axis=1)
                if ready.any():
                    top = inputs[ready].max(axis=1) if inputs.shape[1] else np.zeros(int(ready.sum()), INDEX)
                    rule_level[li][todo[ready]] = 1 + top
                    pending_rules[li] = todo[~ready]
                    progress = True
            todo = pending_aggs[li]
            if len(todo):
                member_level = rule_level[li][layer.member]
                unready = np.bincount(layer.member_group, weights=member_level < 0, minlength=layer.n_groups)
                top = np.maximum.reduceat(member_level, starts[li]) if len(member_level) else member_level
                if layer.partition is not None:  # a partition's groups run together, when all are ready
                    unready = np.bincount(layer.partition, weights=unready)[layer.partition]
                    highest = np.full(int(layer.partition.max(initial=-1)) + 1, -1, INDEX)
                    np.maximum.at(highest, layer.partition, top)
                    top = highest[layer.partition]
                ready = unready[todo] == 0
                if ready.any():
                    agg_level[li][todo[ready]] = top[todo[ready]]
                    pending_aggs[li] = todo[~ready]
                    progress = True
        if len(pending_atoms):
            flat = np.concatenate(agg_level) if agg_level else np.zeros(0, INDEX)
            input_level = flat[in_flat]
            unready = np.bincount(network.in_atom, weights=input_level < 0, minlength=network.n_nodes)
            ready = unready[pending_atoms] == 0
            if ready.any():
                done = pending_atoms[ready]
                top = np.maximum.reduceat(input_level, atom_first[done]) if len(input_level) else input_level
                level[done] = top
                pending_atoms = pending_atoms[~ready]
                progress = True
        if not progress:
            break
    if len(pending_atoms):
        raise _cycle_error(network, level, rule_level, agg_level, int(pending_atoms[0]))
    network.level = level
    for layer, rl, al in zip(layers, rule_level, agg_level):
        layer.rule_level, layer.agg_level = rl, al


def _cycle_error(network: Network, level, rule_level, agg_level, start: int) -> ValidationError:
    """Walk unresolved dependencies from ``start`` until an atom repeats: that is a cycle."""
    path: list[int] = [start]
    via: list[Layer] = []
    seen = {start: 0}
    a = start
    while True:
        lo, hi = np.searchsorted(network.in_atom, [a, a + 1])
        step = None
        for i in range(lo, hi):
            li, g = int(network.in_layer[i]), int(network.in_group[i])
            if agg_level[li][g] >= 0:
                continue
            layer = network.layers[li]
            groups = [g] if layer.partition is None else np.flatnonzero(layer.partition == layer.partition[g])
            members = layer.member[np.isin(layer.member_group, groups)]  # a softmax partition waits for all
            for r in members[rule_level[li][members] < 0].tolist():
                body = layer.body[r]
                blocked = body[level[body] < 0]
                if len(blocked):
                    step = (layer, int(blocked[0]))
                    break
            if step:
                break
        layer, b = step
        via.append(layer)
        if b in seen:
            cycle = path[seen[b]:] + [b]
            rules = via[seen[b]:]
            break
        seen[b] = len(path)
        path.append(b)
        a = b
    shown = " <- ".join(str(network.program.atom(x)) for x in cycle[:8]) + (" <- ..." if len(cycle) > 8 else "")
    example = int(network.program.atoms.ex[cycle[0]]) + 1
    first = rules[0]
    return ValidationError(
        f"the ground network has a cycle in example {example}: {shown} (through {first.describe()}); "
        f"a neuron cannot depend on its own value",
        first.rule.span,
        "the reference silently deletes an edge on such cycles, which changes the results; make the recursion "
        "acyclic on this data, e.g. add a depth argument bounded with @next")


def _atom_functions(network: Network) -> None:
    n = network.n_nodes
    pred = network.program.atoms.pred
    activation = np.full(n, -1, INDEX)
    combination = np.full(n, -1, INDEX)
    offset = np.full(n, -1, INDEX)
    atoms = np.flatnonzero(network.kind == ATOM)
    override = network.settings.output_activation
    is_output = np.zeros(n, dtype=bool)
    is_output[network.outputs] = True
    for pid in np.unique(pred[atoms]).tolist():
        spec = network.predicates[pid]
        rows = atoms[pred[atoms] == pid]
        activation[rows] = network.function_code(spec.activation)
        combination[rows] = network.function_code(spec.combination)
        if spec.offset is not None:
            if spec.offset not in network.offset_names:
                network.offset_names.append(spec.offset)
            with_offset = rows[network.weighted[rows]]
            offset[with_offset] = network.offset_names.index(spec.offset)
    if override is not None:
        activation[is_output & (network.kind == ATOM)] = network.function_code(override)
    network.activation, network.combination, network.offset = activation, combination, offset


# --------------------------------------------------------------------------- analysis: shapes


def _shapes(network: Network) -> None:
    n = network.n_nodes
    shape = np.zeros((n, 2), dtype=INDEX)
    facts = np.flatnonzero(network.kind == FACT)
    if len(facts):
        shape[facts] = _fact_shapes(network, facts)
    layers = network.layers
    for layer in layers:
        layer.rule_shape = np.zeros((layer.n_rules, 2), INDEX)
        layer.agg_shape = np.zeros((layer.n_groups, 2), INDEX)
        layer.contrib_shape = np.zeros((layer.n_groups, 2), INDEX)
        layer.agg_count = np.bincount(layer.member_group, minlength=layer.n_groups).astype(INDEX)
    top = int(network.level.max()) if n else 0
    rule_by_level = [_by_level(layer.rule_level, top) for layer in layers]
    agg_by_level = [_by_level(layer.agg_level, top) for layer in layers]
    atoms_by_level = _by_level(np.where(network.kind == ATOM, network.level, -1), top)
    group_offset = np.concatenate([[0], np.cumsum([layer.n_groups for layer in layers])]).astype(INDEX)
    for level in range(1, top + 1):
        for li, layer in enumerate(layers):
            rows = rule_by_level[li][level]
            if len(rows):
                layer.rule_shape[rows] = _rule_shapes(network, layer, rows, shape)
        for li, layer in enumerate(layers):
            groups = agg_by_level[li][level]
            if len(groups):
                _aggregation_shapes(network, layer, groups)
        atoms = atoms_by_level[level]
        if len(atoms):
            shape[atoms] = _atom_shapes(network, atoms, group_offset)
    network.shape = shape


def ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(lo[i], hi[i])``."""
    counts = hi - lo
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, INDEX)
    return np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(total)


def _by_level(levels: np.ndarray, top: int) -> list[np.ndarray]:
    order = np.argsort(levels, kind="stable")
    bounds = np.searchsorted(levels[order], np.arange(top + 2))
    return [order[bounds[k]:bounds[k + 1]] for k in range(top + 1)]


def _fact_shapes(network: Network, facts: np.ndarray) -> np.ndarray:
    table = [(-1, -1) if c is None else c.shape for c in network.constants]
    const_shapes = np.array(table, dtype=INDEX).reshape(-1, 2)
    param_shapes = np.array([network.store.parameters[p].shape for p in network.fact_params],
                            dtype=INDEX).reshape(-1, 2)
    c, p = network.const[facts], network.param[facts]
    out = np.where((p >= 0)[:, None], param_shapes[np.maximum(p, 0)] if len(param_shapes) else 0,
                   const_shapes[np.maximum(c, 0)] if len(const_shapes) else 0)
    bad = np.flatnonzero(out[:, 0] < 0)
    if len(bad):
        a = int(facts[bad[0]])
        raise ValidationError(f"the fact {network.atom_text(a)} has only a shape, no value",
                              hint="give data facts values (<[1, 0]> f(a)); shape-only {n} values belong in the "
                                   "template, where they are learned")
    return out


def _param_shape(network: Network, name: str | None) -> Shape | None:
    return None if name is None else network.store.parameters[name].shape


def ground_rule_text(network: Network, layer: Layer, row: int) -> str:
    """Rule neuron ``row`` of ``layer`` as its ground rule, with its example: ``h(a) :- f(a), example 1``.

    In a lifted network whose own layer no longer reads it (other layers share it), the head is unknown:
    ``... :- f(a)``, with the example of its first body atom.
    """
    atom = network.program.atom
    own = layer.member_layer is None or layer.member_layer == layer.index
    readers = np.flatnonzero((layer.member == row) & own)
    head = int(layer.head[layer.member_group[readers[0]]]) if len(readers) else -1
    body = ", ".join(str(atom(int(a))) if f is None else literal_function_text(f, str(atom(int(a))))
                     for a, f in zip(layer.body[row], layer.functions))
    anchor = [head] if head >= 0 else layer.body[row].tolist()
    example = int(network.program.atoms.ex[anchor[0]]) + 1 if anchor else "?"
    return f"{atom(head) if head >= 0 else '...'} :- {body}, example {example}"


def _rule_shapes(network: Network, layer: Layer, rows: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Output shapes of rule neurons ``rows`` of ``layer`` (one computation per distinct input signature)."""
    p = len(layer.positions)
    signature = shape[layer.body[rows]].reshape(len(rows), 2 * p)
    distinct, first, inverse = unique_rows(signature)
    out = np.zeros((len(distinct), 2), INDEX)
    for k, sig in enumerate(distinct.tolist()):
        inputs = [(sig[2 * j], sig[2 * j + 1]) for j in range(p)]
        out[k] = rule_output_shape(network, layer, inputs, int(rows[first[k]]))
    return out[inverse.reshape(-1)]


def rule_output_shape(network: Network, layer: Layer, inputs: Sequence[Shape], row: int | None = None) -> Shape:
    """The shape a rule neuron of ``layer`` computes from body values of ``inputs`` shapes."""
    items: list[tuple[str, Shape]] = []
    if layer.offset is not None:
        items.append((f"the offset {layer.rule.offset}", _param_shape(network, layer.offset)))
    for j, x in enumerate(inputs):
        lit = layer.literal(j)
        if layer.functions[j] is not None:
            try:
                x = activation_shape(layer.functions[j], x)
            except ShapeMismatch as e:
                raise _shape_error(network, layer, row, f"'{lit}': {e}", lit.span) from None
        w = _param_shape(network, layer.weights[j])
        if w is not None:
            try:
                x = times_shape(w, x)
            except ShapeMismatch:
                raise _shape_error(network, layer, row, f"the weight of '{lit}' is a {shape_text(w)} but its value "
                                   f"is a {shape_text(tuple(inputs[j]))}: no product", lit.span) from None
        items.append((f"'{lit}'", x))
    if not items:
        raise ValidationError(f"{layer.describe()} has no neural input: every body literal is hidden or built-in "
                              "and there is no offset", layer.rule.span,
                              "make a body literal visible (remove *) or give the rule an offset: h :- *b, 0.0.")
    combined = _combine(network, layer.combination, items, layer, row)
    try:
        return activation_shape(layer.activation, combined)
    except ShapeMismatch as e:
        raise _shape_error(network, layer, row, f"the activation: {e}", layer.rule.span) from None


def _combine(network: Network, name: str, items: list[tuple[str, Shape]], layer: Layer, row: int | None) -> Shape:
    try:
        return combination_shape(name, [s for _, s in items])
    except ShapeMismatch as e:
        reason = str(e)
        if name in ELEMENTWISE:
            bigger = [(what, s) for what, s in items if s != SCALAR]
            a = bigger[0]
            b = next(x for x in bigger if x[1] != a[1])
            reason = f"{name} cannot combine {a[0]} (a {shape_text(a[1])}) with {b[0]} (a {shape_text(b[1])})"
        raise _shape_error(network, layer, row, reason, layer.rule.span) from None


def _shape_error(network: Network, layer: Layer, row: int | None, reason: str, span) -> ValidationError:
    seen = f"; first in {ground_rule_text(network, layer, row)}" if row is not None else ""
    return ValidationError(f"shape mismatch in {layer.describe()}: {reason}{seen}", span or layer.rule.span,
                           "check the weight shapes ({rows,cols} maps a cols-vector to a rows-vector) and the "
                           "values of the facts")


def _aggregation_shapes(network: Network, layer: Layer, groups: np.ndarray) -> None:
    starts = layer.group_starts
    ends = np.append(starts[1:], len(layer.member))
    at = ranges(starts[groups], ends[groups])
    member_shape = layer.rule_shape[layer.member[at]]
    first = layer.rule_shape[layer.member[starts[layer.member_group[at]]]]
    differ = np.flatnonzero((member_shape != first).any(axis=1))
    if len(differ):
        k = int(differ[0])
        g = int(layer.member_group[at[k]])
        a, b = tuple(first[k]), tuple(member_shape[k])
        raise ValidationError(f"shape mismatch in {layer.describe()}: the aggregation {layer.aggregation} of "
                              f"{network.atom_text(int(layer.head[g]))} gets a {shape_text(a)} and a "
                              f"{shape_text(b)}", layer.rule.span)
    member = layer.rule_shape[layer.member[starts[groups]]]
    count = layer.agg_count[groups]
    name = layer.aggregation
    if layer.partition is not None:
        _partition_shapes(network, layer, groups, member)
    if name in ("sum", "avg", "max", "min") or layer.partition is not None:
        agg = member
    else:
        agg = np.array([aggregation_shape(name, tuple(m), int(c)) for m, c in zip(member.tolist(), count.tolist())],
                       dtype=INDEX).reshape(-1, 2)
    layer.agg_shape[groups] = agg
    w = _param_shape(network, layer.head_weight)
    if w is None:
        layer.contrib_shape[groups] = agg
        return
    distinct, _, inverse = unique_rows(agg)
    out = np.zeros((len(distinct), 2), INDEX)
    for k, s in enumerate(distinct.tolist()):
        try:
            out[k] = times_shape(w, tuple(s))
        except ShapeMismatch:
            raise ValidationError(f"shape mismatch in {layer.describe()}: the head weight {layer.rule.head_weight} "
                                  f"is a {shape_text(w)} but the rule's aggregated value is a "
                                  f"{shape_text(tuple(s))}: no product", layer.rule.span) from None
    layer.contrib_shape[groups] = out[inverse.reshape(-1)]


def _partition_shapes(network: Network, layer: Layer, groups: np.ndarray, member: np.ndarray) -> None:
    """The groups of one softmax partition have members of one shape (the softmax runs over all of them)."""
    part = layer.partition[groups]
    _, at, inverse = np.unique(part, return_index=True, return_inverse=True)
    first = member[at][inverse.reshape(-1)]  # the shape of the first group of each partition
    differ = np.flatnonzero((first != member).any(axis=1))
    if len(differ):
        g = int(groups[differ[0]])
        other = int(groups[np.flatnonzero(part == part[differ[0]])[0]])
        raise ValidationError(f"shape mismatch in {layer.describe()}: the softmax over "
                              f"{network.atom_text(int(layer.head[other]))} and "
                              f"{network.atom_text(int(layer.head[g]))} gets a {shape_text(tuple(first[differ[0]]))} "
                              f"and a {shape_text(tuple(member[differ[0]]))}", layer.rule.span)


def _atom_shapes(network: Network, atoms: np.ndarray, group_offset: np.ndarray) -> np.ndarray:
    """Shapes of atom neurons ``atoms``: their inputs (offset first) combined, then activated."""
    contrib = np.concatenate([layer.contrib_shape for layer in network.layers]) if network.layers \
        else np.zeros((0, 2), INDEX)
    lo = np.searchsorted(network.in_atom, atoms)
    hi = np.searchsorted(network.in_atom, atoms, side="right")
    counts = hi - lo
    sel = ranges(lo, hi)
    in_shape = contrib[group_offset[network.in_layer[sel]] + network.in_group[sel]]
    owner = np.repeat(np.arange(len(atoms)), counts)
    offsets = network.offset[atoms]
    off_rows = np.flatnonzero(offsets >= 0)
    off_shape = np.array([network.store.parameters[network.offset_names[o]].shape
                          for o in offsets[off_rows].tolist()], dtype=INDEX).reshape(-1, 2)
    # every input, offsets first (per atom, the order only matters for the positional combinations)
    m_owner = np.concatenate([off_rows, owner])
    m_shape = np.concatenate([off_shape, in_shape])
    n_inputs = np.bincount(m_owner, minlength=len(atoms))
    comb_names = network.functions
    comb = network.combination[atoms]
    out = np.zeros((len(atoms), 2), INDEX)
    single = n_inputs == 1
    if single.any():
        idx = np.flatnonzero(single[m_owner])
        out[m_owner[idx]] = m_shape[idx]
        constant_one = np.isin(comb, [network.function_code(c) for c in CONSTANT_ON_ONE])
        out[single & constant_one] = SCALAR
    elementwise = np.isin(comb, [network.function_code(c) for c in ELEMENTWISE]) & ~single
    if elementwise.any():
        pick = elementwise[m_owner]
        own, shp = m_owner[pick], m_shape[pick]
        big = (shp != 1).any(axis=1)
        common = np.ones((len(atoms), 2), INDEX)
        np.maximum.at(common, own[big], shp[big])
        bad = np.flatnonzero(big & (shp != common[own]).any(axis=1))
        if len(bad):
            raise _atom_shape_error(network, atoms[own[bad[0]]], comb_names[int(comb[own[bad[0]]])])
        out[elementwise] = common[elementwise]
    rest = np.flatnonzero(~single & ~elementwise)
    for i in rest.tolist():  # positional combinations on atoms (product, concat, ...): rare, per atom
        shapes = [tuple(s) for s in m_shape[m_owner == i].tolist()]
        try:
            out[i] = combination_shape(comb_names[int(comb[i])], shapes)
        except ShapeMismatch:
            raise _atom_shape_error(network, atoms[i], comb_names[int(comb[i])]) from None
    act = network.activation[atoms]
    for code in np.unique(act).tolist():
        rows = np.flatnonzero(act == code)
        name = network.functions[code]
        for shape in np.unique(out[rows], axis=0).tolist():
            these = rows[(out[rows] == shape).all(axis=1)]
            try:
                out[these] = activation_shape(name, tuple(shape))
            except ShapeMismatch as e:
                raise ValidationError(f"shape mismatch at the atom neuron of {network.atom_text(int(atoms[these[0]]))}: "
                                      f"the activation {e}", None, "check the predicate's activation "
                                      "(h/1 [activation=...]) against the values its rules give") from None
    return out


def _atom_shape_error(network: Network, atom: int, combination: str) -> ValidationError:
    lo, hi = np.searchsorted(network.in_atom, [atom, atom + 1])
    parts = []
    span = None
    if network.offset[atom] >= 0:
        name = network.offset_names[network.offset[atom]]
        parts.append(f"the predicate offset '{name}' (a {shape_text(network.store.parameters[name].shape)})")
    for i in range(lo, hi):
        layer = network.layers[int(network.in_layer[i])]
        s = tuple(layer.contrib_shape[int(network.in_group[i])])
        parts.append(f"a {shape_text(s)} from {layer.describe()}")
        span = span or layer.rule.span
    return ValidationError(f"shape mismatch at the atom neuron of {network.atom_text(atom)}: {combination} cannot "
                           f"combine " + ", ".join(parts), span,
                           "rules with one head must give values of one shape (use head weights to map them)")

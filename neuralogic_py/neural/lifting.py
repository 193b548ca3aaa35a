"""Lifting: neurons that compute the same function of the weights merged into one.

Structural equivalence, decided bottom-up: two neurons are equivalent when they are the
same kind of neuron with the same functions and offset (and head weight) and, per input
slot, the same weight and equivalent inputs; facts when their values are equal (exactly:
same shape, same float64 bits) or they read the same parameter. How inputs compare
depends on the function (:func:`canonical`): position by position for product, concat,
crosssum, cossim, softmax and sparsemax; as a multiset of (weight, soft negation, input
class) for sum, elproduct and an avg with an offset; as proportions for avg, which is
the same over x, x, y, y as over x, y; as a set for max and min; only their number for
count. A bypassed neuron (:mod:`.pruning`) is its input, so it takes its input's class,
and so does an avg, max or min whose inputs are all one class of weight 1 (avg(x, x) is
x); such an aggregation with a head weight ``W`` is ``W x``, keyed by ``(W, class of x)``
whichever rule it comes from. Neurons are visited in topological order, one group per
(level, phase); a group's keys ``[signature, extra columns..., canonical inputs...]`` are
one integer matrix per input layout, matched against every key seen so far by one sort
(:func:`row_ids`), so the classes of a neuron's inputs are final before its own key is
built. The signature names functions, offsets and weights, never the rule or the layer,
so equal keys at different levels and of different rules share a class: the embedding
rule neurons ``tanh(1.0)`` of ``{3,1} e(A) :- c_ar(A).`` and ``{3,1} e(A) :- o_2(A).``
are one neuron (their head weights differ, and apply after the aggregation). No value is
hashed: the classes are a certificate, by induction over the order.

A class is *realized* by rewiring, never by copying: every reference to a neuron (a
rule neuron's body, an aggregation's members, an atom neuron's inputs, a sample's
output) is replaced by the representative of its class among the neurons of its kind
(:func:`representatives`: nodes, rule neurons, aggregation neurons), whatever layer it
comes from: an aggregation of one rule may reduce rule neurons of another
(``Layer.member_layer``), an atom neuron may read another rule's aggregation. Rule and
aggregation neurons of different layers still run in one step when their functions and
shapes agree (:mod:`.schedule`), so the batching stays. Parents keep every input slot, so
multiplicities stay: an avg over r1, r2, r3 with r1 = r2 becomes an avg over r1, r1, r3.
Duplicates are left unreferenced, and the schedule only runs neurons some output reaches
(:meth:`~.flat.Flat.reachable`), so the lifted network computes every class once, with
the same outputs and, because a merged neuron receives the sum of the gradients its
duplicates received, the same gradients, up to the order of floating-point sums (and,
for the proportions of an avg, its division).

Extra key columns restrict merging: the example of each neuron (lifting within examples,
as the reference does sample by sample) or the classes of the value-based method
(:mod:`.isovalue`, whose merges the structural check then vetoes where they are not
certified).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .flat import Flat
from .network import FACT, INDEX, Network
from .pruning import Bypass, passes_through, resolve

_CLASS_BITS = 40  # input classes packed below the slot: (slot << 40) | class
FACT_KIND, ATOM_KIND, RULE_KIND, AGGREGATION_KIND = range(4)


def row_ids(keys: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense ids of the rows of an int64 matrix (equal rows, equal ids) and how many distinct rows there are.

    Columns are first packed into as few words as their ranges allow (:func:`_packed`), a bijection
    of the rows, so most key matrices sort as one column.
    """
    n, k = keys.shape
    if n == 0:
        return np.zeros(0, INDEX), 0
    if k == 0:
        return np.zeros(n, INDEX), 1
    words = _packed(keys)
    new = np.empty(n, dtype=bool)
    new[0] = True
    if words.shape[1] == 1:
        order = np.argsort(words[:, 0])
        ordered = words[order, 0]
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    else:
        order = np.lexsort(words.T[::-1])
        ordered = words[order]
        np.any(ordered[1:] != ordered[:-1], axis=1, out=new[1:])
    ids = np.empty(n, INDEX)
    ids[order] = np.cumsum(new) - 1
    return ids, int(new.sum())


def _packed(keys: np.ndarray) -> np.ndarray:
    """The rows of ``keys`` with consecutive columns packed into one int64 while their value ranges fit in 62 bits."""
    low = keys.min(axis=0)
    bits = [int(span).bit_length() for span in (keys.max(axis=0) - low).tolist()]
    words, width = [], 63
    for j, b in enumerate(bits):
        column = keys[:, j] - low[j]
        if width + b > 62:
            words.append(column)
            width = b
        else:
            words[-1] = (words[-1] << b) | column
            width += b
    return np.column_stack(words)


class NeuronGraph:
    """Every neuron of a network in the global numbering of :class:`~.flat.Flat`, with its inputs as CSR.

    ``signature[x]`` codes what ``x`` computes apart from its inputs (kind, functions,
    offset, head weight; a fact's value), ``canon[x]`` how its inputs compare (one of
    :data:`ORDERED`, :data:`MULTISET`, :data:`RATIO`, :data:`SET`, :data:`COUNT`),
    ``passing[x]`` whether it is the identity of one input of weight 1 (an aggregation: but
    for its head weight, whose code is ``head[x]``, 0 for none);
    ``child[ptr[x]:ptr[x + 1]]`` are its inputs (through bypasses) and ``slot`` the code of
    their (weight, soft negation). ``needed`` marks what the outputs reach, ``bypassed``
    the pruned neurons that are exactly their input (``pruned``: all pruned neurons, the
    weighted aggregations too), ``target`` the neuron each stands for,
    ``inner`` the input ``x`` of a weighted aggregation ``W x`` (:mod:`.pruning`; itself
    elsewhere), ``order`` a topological order key (level and phase), ``level`` the network's
    levels, ``space`` the kind of place a neuron is referred to from (0 nodes, 1 rule
    neurons, 2 aggregations: a representative serves every layer), ``home`` its layer (for
    nodes: its predicate), ``example`` its example.
    """

    def __init__(self, network: Network, flat: Flat, bypass: Bypass, needed: np.ndarray | None = None) -> None:
        self.network, self.flat = network, flat
        net = network
        self.target = resolve(flat, bypass)
        self.bypassed = bypass.identities()
        self.pruned = bypass.global_mask()
        self.passing = passes_through(flat)
        self.needed = np.concatenate(flat.reachable()) if needed is None else needed
        self.level = np.concatenate([net.level, flat.rule_level, flat.agg_level]).astype(INDEX, copy=False)
        # a rule neuron of level l runs before the aggregations of level l, which run before its atoms
        self.order = 3 * self.level + np.concatenate([np.full(net.n_nodes, 2), np.zeros(flat.n_rules, INDEX),
                                                      np.ones(flat.n_aggs, INDEX)]).astype(INDEX, copy=False)
        self.space = np.concatenate([np.zeros(net.n_nodes, INDEX), np.ones(flat.n_rules, INDEX),
                                     np.full(flat.n_aggs, 2, INDEX)])
        self.home = np.concatenate([net.program.atoms.pred, flat.rule_layer, flat.agg_layer]).astype(INDEX, copy=False)
        codes: dict[tuple, int] = {(None, False): 0}
        body_slots = [np.tile([codes.setdefault((w, s), len(codes)) for w, s in zip(layer.weights, layer.soft)],
                              layer.n_rules).astype(INDEX, copy=False) for layer in net.layers]
        head = np.array([codes.setdefault((layer.head_weight, False), len(codes)) for layer in net.layers], INDEX)
        self.head = np.concatenate([np.zeros(flat.agg_base, INDEX), head[flat.agg_layer]]).astype(INDEX, copy=False)
        # inputs: atoms' aggregations, rule neurons' body nodes, aggregations' members (already in global order)
        parent = np.concatenate([net.in_atom, flat.rule_base + flat.body_rule, flat.agg_base + flat.member_agg])
        child = np.concatenate([flat.agg_base + flat.in_agg, flat.body_node, flat.rule_base + flat.member_rule])
        self.slot = np.concatenate([np.zeros(len(net.in_atom), INDEX), *body_slots,
                                    np.zeros(len(flat.member_agg), INDEX)]).astype(INDEX, copy=False)
        self.ptr = np.r_[0, np.cumsum(np.bincount(parent, minlength=flat.size))].astype(INDEX, copy=False)
        self.child = self.target[child.astype(INDEX, copy=False)]
        self.inner = np.arange(flat.size, dtype=INDEX)
        weighted = np.flatnonzero(bypass.weighted)
        self.inner[flat.agg_base + weighted] = self.target[flat.rule_base + bypass.aggregation[weighted]]
        self.signature, self.canon = self._signatures()
        self.example = self._examples()

    @property
    def counts(self) -> np.ndarray:
        """Inputs per neuron."""
        return np.diff(self.ptr)

    @property
    def kind(self) -> np.ndarray:
        """:data:`FACT_KIND`, :data:`ATOM_KIND`, :data:`RULE_KIND` or :data:`AGGREGATION_KIND` per neuron."""
        net, flat = self.network, self.flat
        return np.concatenate([np.where(net.kind == FACT, FACT_KIND, ATOM_KIND), np.full(flat.n_rules, RULE_KIND),
                               np.full(flat.n_aggs, AGGREGATION_KIND)]).astype(INDEX, copy=False)

    def _signatures(self) -> tuple[np.ndarray, np.ndarray]:
        net, flat = self.network, self.flat
        codes: dict[tuple, int] = {}

        def code(key: tuple) -> int:
            return codes.setdefault(key, len(codes))

        signature = np.full(flat.size, -1, INDEX)
        canon = np.full(flat.size, ORDERED, INDEX)
        facts = np.flatnonzero(net.kind == FACT)
        if len(facts):
            first = net.constant_ids()
            const, param = net.const[facts], net.param[facts]
            values = np.where(param >= 0, -1 - param, first[np.maximum(const, 0)])
            distinct, inverse = np.unique(values, return_inverse=True)
            signature[facts] = np.array([code(("fact", v)) for v in distinct.tolist()], INDEX)[inverse.reshape(-1)]
        atoms = np.flatnonzero(net.kind != FACT)
        if len(atoms):
            triples = np.column_stack([net.activation[atoms], net.combination[atoms], net.offset[atoms]])
            inverse, n = row_ids(triples)
            distinct = np.zeros((n, 3), INDEX)
            distinct[inverse] = triples
            names = net.functions
            ids = [code(("atom", names[a], names[c], net.offset_names[o] if o >= 0 else None))
                   for a, c, o in distinct.tolist()]
            signature[atoms] = np.array(ids, INDEX)[inverse]
            canon[atoms] = np.array([canonical(names[c], o >= 0) for _, c, o in distinct.tolist()], INDEX)[inverse]
        for i, layer in enumerate(net.layers):
            rules = flat.rule_base + np.arange(flat.rule_offset[i], flat.rule_offset[i + 1])
            signature[rules] = code(("rule", layer.combination, layer.activation, layer.offset,
                                     net.settings.negation if any(layer.soft) else None))
            canon[rules] = canonical(layer.combination, layer.offset is not None)
            aggs = flat.agg_base + np.arange(flat.agg_offset[i], flat.agg_offset[i + 1])
            signature[aggs] = code(("aggregation", layer.aggregation, layer.head_weight))
            canon[aggs] = canonical(layer.aggregation, False)
        return signature, canon

    def _examples(self) -> np.ndarray:
        net, flat = self.network, self.flat
        ex = net.program.atoms.ex.astype(INDEX, copy=False)
        agg_ex = np.concatenate([ex[layer.head] for layer in net.layers]).astype(INDEX, copy=False) if net.layers \
            else np.zeros(0, INDEX)
        rule_ex = np.full(flat.n_rules, -1, INDEX)
        rule_ex[flat.member_rule] = agg_ex[flat.member_agg]
        return np.concatenate([ex, rule_ex, agg_ex])


ORDERED, MULTISET, RATIO, SET, COUNT = range(5)


def canonical(function: str, offset: bool) -> int:
    """How the inputs of a combination or aggregation compare (an offset is one more, fixed input).

    ``ORDERED``: position by position. ``MULTISET``: the order does not matter (sum,
    elproduct, avg with an offset). ``RATIO``: only the proportions of equal inputs matter
    (avg: avg(x, x, y, y) = avg(x, y)). ``SET``: only which inputs occur (max, min).
    ``COUNT``: only how many (count).
    """
    if function == "count":
        return COUNT
    if function in ("max", "min"):
        return SET
    if function == "avg":
        return MULTISET if offset else RATIO
    if function in ("sum", "elproduct"):
        return MULTISET
    return ORDERED


class _KeyTable:
    """Key rows seen so far, per row layout, and their classes: new rows get new classes."""

    def __init__(self) -> None:
        self.rows: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.n_classes = 0

    def classes(self, layout: tuple, keys: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
        """The class of each key row; a row not seen before takes its ``given`` class (>= 0) or a new one."""
        known, known_classes = self.rows.get(layout, (keys[:0], np.zeros(0, INDEX)))
        ids, n_ids = row_ids(np.concatenate([known, keys]))
        of_id = np.full(n_ids, -1, INDEX)
        of_id[ids[:len(known)]] = known_classes
        mine = ids[len(known):]
        if given is not None:
            pick = (given >= 0) & (of_id[mine] < 0)
            of_id[mine[pick]] = given[pick]
        unnumbered = np.flatnonzero(of_id < 0)
        of_id[unnumbered] = self.n_classes + np.arange(len(unnumbered))
        self.n_classes += len(unnumbered)
        is_new = np.ones(n_ids, dtype=bool)
        is_new[ids[:len(known)]] = False
        new_rows = np.flatnonzero(is_new[mine])
        if len(new_rows):
            new_rows = new_rows[np.unique(mine[new_rows], return_index=True)[1]]
            self.rows[layout] = (np.concatenate([known, keys[new_rows]]),
                                 np.concatenate([known_classes, of_id[mine[new_rows]]]))
        return of_id[mine]


PLAIN, NORMALIZED, IDENTITY = range(3)  # how a neuron's key was formed (structural_classes)


def structural_classes(graph: NeuronGraph, extra: list[np.ndarray] = ()) -> tuple[np.ndarray, np.ndarray]:
    """Class of every needed neuron (-1 elsewhere) by structural equivalence, refined by ``extra`` columns.

    Neurons are visited in topological order, one group per (level, phase); within a
    group, one key matrix per input layout; keys are looked up in a table of all keys
    seen so far, so equal keys at different levels, rules or kinds get one class. A
    layout holds neurons of up to a power of two inputs (or runs of equal inputs), the
    missing ones padded with -1, so a few sorts serve neurons of many widths.

    A neuron that is the identity of one input of weight 1 (:func:`canonical`: avg, max or
    min of copies of one input, or a single input) takes that input's class; an
    aggregation that would be one but for its head weight ``W`` computes ``W x`` and is keyed
    ``(W, class of x)``, which is also how its atom neurons see it. Also returned, per
    neuron, how its key was formed: :data:`PLAIN`, :data:`NORMALIZED` (avg proportions or
    max/min sets changed it) or :data:`IDENTITY` (the class of its input, or ``W x``).
    """
    keyed = graph.needed & ~graph.bypassed
    cls = np.full(len(keyed), -1, INDEX)
    code = np.full(len(keyed), -1, INDEX)  # what parents see: the class, or (W << _CLASS_BITS) | x for W x
    form = np.zeros(len(keyed), np.int8)
    table = _KeyTable()
    counts = graph.counts
    ids = np.flatnonzero(keyed)
    width = _bucket(counts[ids])
    group = (graph.order[ids] * (COUNT + 1) + graph.canon[ids]) * 64 + np.log2(np.maximum(width, 1)).astype(INDEX) \
        + (width > 0)  # (order, canon, width) as one sortable number: a width is 0 or a power of two
    sort = np.argsort(group, kind="stable")
    ids, group, width = ids[sort], group[sort], width[sort]
    cuts = np.flatnonzero(group[1:] != group[:-1]) + 1
    heads = zip(graph.canon[ids[np.r_[0, cuts]]].tolist(), width[np.r_[0, cuts]].tolist()) if len(ids) else []
    for part, (canon, width) in zip(np.split(ids, cuts), heads):
        fixed = [graph.signature[part], *(column[part] for column in extra)]
        if canon == COUNT or width == 0:
            cls[part] = code[part] = table.classes(("count", len(fixed)), np.column_stack([*fixed, counts[part]]))
            continue
        present = np.arange(width) < counts[part][:, None]
        at = np.where(present, graph.ptr[part][:, None] + np.arange(width), 0)
        packed = np.where(present, (graph.slot[at] << _CLASS_BITS) | code[graph.child[at]], _PAD)
        if canon == ORDERED and width > 1:
            key = np.column_stack([*fixed, np.where(present, packed, -1)])
            cls[part] = code[part] = table.classes(("ordered", len(fixed), width), key)
            continue
        packed.sort(axis=1)
        for rows, values, multiplicities, normalized in _runs(packed, canon):
            mine = part[rows]
            form[mine[normalized]] = NORMALIZED
            plain = np.ones(len(rows), dtype=bool)
            # the identity of one input of weight 1 is that input; with a head weight W, it is W x
            same = graph.passing[mine] & (values[:, 1:] < 0).all(axis=1) & (multiplicities[:, 0] == 1) \
                & (values[:, 0] >> _CLASS_BITS == 0)
            form[mine[same]] = IDENTITY
            head = graph.head[mine]
            weighted = np.flatnonzero(same & (head > 0))
            if len(weighted):
                w, x = head[weighted], values[weighted, 0]
                cls[mine[weighted]] = table.classes(
                    ("weighted", len(extra)), np.column_stack([*(c[mine[weighted]] for c in extra), w, x]))
                code[mine[weighted]] = (w << _CLASS_BITS) | x
                plain[weighted] = False
            given = np.where(same, values[:, 0], -1)[plain]
            key = np.column_stack([*(f[rows[plain]] for f in fixed), values[plain], multiplicities[plain]])
            cls[mine[plain]] = code[mine[plain]] = table.classes(("runs", len(fixed), values.shape[1]), key, given)
    return _through_bypasses(graph, cls), _through_bypasses(graph, form)


_PAD = np.iinfo(INDEX).max  # a missing input: sorts after every input code


def _bucket(widths: np.ndarray) -> np.ndarray:
    """0, 1, 2 for 0, 1, 2, else the next power of two: the padded width of a key layout."""
    out = np.asarray(widths, INDEX).copy()
    big = out > 2
    out[big] = 1 << np.ceil(np.log2(out[big])).astype(INDEX)
    return out


def _runs(packed: np.ndarray, canon: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Rows of sorted input codes (padded with :data:`_PAD`) as runs of equal codes, per bucket of run counts.

    Per bucket: (rows, codes, multiplicities, normalized), the codes padded with -1 and the
    multiplicities with 0 to the bucket's width. ``SET`` keeps multiplicity 1, ``RATIO``
    divides the multiplicities by their gcd; ``normalized`` marks the rows that changed.
    """
    n, width = packed.shape
    real = packed != _PAD
    starts = real.copy()
    starts[:, 1:] &= packed[:, 1:] != packed[:, :-1]
    n_runs = starts.sum(axis=1)
    flat_starts = np.flatnonzero(starts.reshape(-1))
    row, col = np.divmod(flat_starts, width)
    following = np.r_[col[1:], 0]
    last = np.r_[row[1:] != row[:-1], True]
    following[last] = real.sum(axis=1)[row[last]]
    lengths = (following - col).astype(INDEX)
    values = packed.reshape(-1)[flat_starts]
    first_run = np.r_[0, np.cumsum(n_runs)[:-1]]
    raw = lengths.copy()
    if canon == SET:
        lengths[:] = 1
    elif canon == RATIO:
        lengths //= np.gcd.reduceat(lengths, first_run)[row]
    changed = np.zeros(n, dtype=bool)
    changed[row[lengths != raw]] = True
    position = np.arange(len(row)) - first_run[row]
    bucket = _bucket(n_runs)
    out = []
    for k in np.unique(bucket).tolist():
        rows = np.flatnonzero(bucket == k)
        slot = np.full(n, -1, INDEX)
        slot[rows] = np.arange(len(rows))
        mine = np.flatnonzero(bucket[row] == k)
        codes = np.full((len(rows), k), -1, INDEX)
        multiplicities = np.zeros((len(rows), k), INDEX)
        codes[slot[row[mine]], position[mine]] = values[mine]
        multiplicities[slot[row[mine]], position[mine]] = lengths[mine]
        out.append((rows, codes, multiplicities, changed[rows]))
    return out


def keyed_classes(graph: NeuronGraph, columns: list[np.ndarray]) -> np.ndarray:
    """Class of every needed neuron (-1 elsewhere) by the given key columns alone (one :func:`row_ids` pass)."""
    keyed = np.flatnonzero(graph.needed & ~graph.bypassed)
    cls = np.full(len(graph.needed), -1, INDEX)
    cls[keyed], _ = row_ids(np.column_stack([column[keyed] for column in columns]))
    return _through_bypasses(graph, cls)


def _through_bypasses(graph: NeuronGraph, cls: np.ndarray) -> np.ndarray:
    return np.where(graph.needed, cls[graph.target], -1).astype(cls.dtype)


def representatives(graph: NeuronGraph, cls: np.ndarray) -> np.ndarray:
    """Per neuron (global numbering), the neuron that stands for its class in its space (itself when unclassed).

    One representative per class and space (nodes, rule neurons, aggregations), whatever
    layer each member comes from: the member of lowest level (so every reader still runs
    after it), preferring a bypassed neuron (which costs no row), then the lowest index.
    """
    rep = np.arange(len(cls), dtype=INDEX)
    ids = np.flatnonzero(cls >= 0)
    order = ids[np.lexsort((ids, ~graph.bypassed[ids], graph.level[ids], cls[ids], graph.space[ids]))]
    space, klass = graph.space[order], cls[order]
    first = np.r_[True, (space[1:] != space[:-1]) | (klass[1:] != klass[:-1])] if len(order) else np.zeros(0, bool)
    rep[order] = order[np.flatnonzero(first)][np.cumsum(first) - 1]
    return rep


def realize(graph: NeuronGraph, rep: np.ndarray) -> Network:
    """The network with every reference to a neuron replaced by its representative ``rep`` (module docstring).

    A rule neuron's representative may belong to another layer (``Layer.member_layer``), and so
    may an atom neuron's input aggregation (``Network.in_layer``).
    """
    net, flat = graph.network, graph.flat
    rules = rep[flat.rule_base + flat.member_rule] - flat.rule_base
    layers = []
    for i, layer in enumerate(net.layers):
        mine = rules[flat.member_offset[i]:flat.member_offset[i + 1]]
        layers.append(replace(layer, body=rep[layer.body], member=flat.rule_local[mine],
                              member_layer=flat.rule_layer[mine]))
    aggs = rep[flat.agg_base + flat.in_agg] - flat.agg_base
    return replace(net, layers=layers, in_layer=flat.agg_layer[aggs], in_group=flat.agg_local[aggs],
                   outputs=rep[net.outputs])


def merges(graph: NeuronGraph, rep: np.ndarray, form: np.ndarray) -> dict[str, int]:
    """The neurons lifting merged away, by kind of merge.

    A neuron that chain pruning kept is merged when another neuron represents it, or when it
    is the identity of its input. ``by normal form``: its key was normalized or an identity
    (``form``, :func:`structural_classes`); otherwise ``across layers`` when its
    representative comes from another layer (nodes: another predicate), else ``within one
    layer``.
    """
    merged = graph.needed & ~graph.pruned & ((rep != np.arange(len(rep))) | (form == IDENTITY))
    normal = merged & (form != PLAIN)
    across = merged & ~normal & (graph.home[rep] != graph.home)
    return {"within one layer": int((merged & ~normal & ~across).sum()), "across layers": int(across.sum()),
            "by normal form": int(normal.sum())}

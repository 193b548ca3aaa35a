"""Lifting: neurons that compute the same function of the weights merged into one.

Structural equivalence, decided bottom-up: two neurons are equivalent when they are the
same kind of neuron with the same functions and offset (and head weight) and, per input
slot, the same weight and equivalent inputs; facts when their values are equal (exactly:
same shape, same float64 bits) or they read the same parameter. How inputs compare
depends on the function (:func:`canonical`): position by position for product, concat,
crosssum, cossim, softmax and sparsemax; as a multiset of (weight, input function, input
class) for sum, elproduct and an avg with an offset; as proportions for avg, which is
the same over x, x, y, y as over x, y; as a set for max and min; only their number for
count. An aggregation ``softmax(agg_terms=[...])`` depends on the other heads of its
partition as well, so it is never merged (its members are). A bypassed neuron (:mod:`.pruning`) is its input, so it takes its input's class,
and so does an avg, max or min whose inputs are all one class of weight 1 (avg(x, x) is
x); such an aggregation with a head weight ``W`` is ``W x``, keyed by ``(W, class of x)``
whichever rule it comes from. Neurons are visited in topological order, one group per
(level, phase); a group's keys ``[signature, extra columns..., canonical inputs...]`` are
one integer matrix per input layout, made distinct by one sort (:func:`row_ids`) and
looked up among every key seen so far by a checked hash (:class:`KeyTable`), so the classes
of a neuron's inputs are final before its own key is built. The signature names functions,
offsets and weights, never the rule or the layer, so equal keys at different levels and of
different rules share a class: the embedding rule neurons ``tanh(1.0)`` of
``{3,1} e(A) :- c_ar(A).`` and ``{3,1} e(A) :- o_2(A).`` are one neuron (their head weights
differ, and apply after the aggregation). No value is hashed, and a key's hash is checked
against the key: the classes are a certificate, by induction over the order.

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
    their (weight, input function: soft negation, ``sqrt(b)``, ...). ``needed`` marks what the outputs reach, ``bypassed``
    the pruned neurons that are exactly their input (``pruned``: all pruned neurons, the
    weighted aggregations too), ``target`` the neuron each stands for, ``level`` the
    network's levels, ``space`` the kind of place a neuron is referred to from (0 nodes, 1
    rule neurons, 2 aggregations: a representative serves every layer). Computed when asked
    for: ``order``, ``inner``, ``home``, ``example``, ``kind``. ``signatures`` codes the
    signatures; networks classified into one :class:`KeyTable` share it, and must number
    constants (by value) and fact parameters alike (:mod:`.incremental`).
    """

    def __init__(self, network: Network, flat: Flat, bypass: Bypass, needed: np.ndarray | None = None,
                 signatures: dict[tuple, int] | None = None) -> None:
        self.network, self.flat, self.bypass = network, flat, bypass
        net = network
        self.target = resolve(flat, bypass)
        self.bypassed = bypass.identities()
        self.pruned = bypass.global_mask()
        self.passing = passes_through(flat)
        self.needed = np.concatenate(flat.reachable()) if needed is None else needed
        self.level = np.concatenate([net.level, flat.rule_level, flat.agg_level]).astype(INDEX, copy=False)
        self.space = np.repeat(np.arange(3, dtype=np.int8), [net.n_nodes, flat.n_rules, flat.n_aggs])
        codes: dict[tuple, int] = {(None, None): 0}
        slots = [np.array([codes.setdefault((w, f), len(codes)) for w, f in zip(layer.weights, layer.functions)],
                          np.int32)
                 for layer in net.layers]
        body_slots = [np.tile(slot, layer.n_rules) for slot, layer in zip(slots, net.layers)]
        head = np.array([codes.setdefault((layer.head_weight, None), len(codes)) for layer in net.layers], np.int32)
        self.head = np.concatenate([np.zeros(flat.agg_base, np.int32), head[flat.agg_layer]])
        # inputs: atoms' aggregations, rule neurons' body nodes, aggregations' members (already in global order)
        counts = [np.bincount(net.in_atom, minlength=net.n_nodes),
                  *[np.full(layer.n_rules, layer.body.shape[1]) for layer in net.layers],
                  *[layer.agg_count for layer in net.layers]]
        self.ptr = np.r_[0, np.cumsum(np.concatenate(counts))].astype(INDEX, copy=False)
        self.child = np.concatenate([self.target[flat.agg_base + flat.in_agg], self.target[flat.body_node],
                                     self.target[flat.rule_base + flat.member_rule]])
        self.slot = np.concatenate([np.zeros(len(net.in_atom), np.int32), *body_slots,
                                    np.zeros(len(flat.member_agg), np.int32)])
        self.signature, self.canon = self._signatures({} if signatures is None else signatures)

    @property
    def order(self) -> np.ndarray:
        """A topological order key: a rule neuron of level l runs before the aggregations of level l, then atoms."""
        phase = np.repeat(np.array([2, 0, 1], INDEX), [self.network.n_nodes, self.flat.n_rules, self.flat.n_aggs])
        return 3 * self.level + phase

    @property
    def inner(self) -> np.ndarray:
        """The input ``x`` of every weighted aggregation ``W x`` (:mod:`.pruning`), through identities; else itself."""
        flat, bypass = self.flat, self.bypass
        inner = np.arange(flat.size, dtype=INDEX)
        weighted = np.flatnonzero(bypass.weighted)
        inner[flat.agg_base + weighted] = self.target[flat.rule_base + bypass.aggregation[weighted]]
        return inner

    @property
    def home(self) -> np.ndarray:
        """The layer of every rule and aggregation neuron; for nodes, their predicate."""
        return np.concatenate([self.network.program.atoms.pred, self.flat.rule_layer,
                               self.flat.agg_layer]).astype(INDEX, copy=False)

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

    def _signatures(self, codes: dict[tuple, int]) -> tuple[np.ndarray, np.ndarray]:
        net, flat = self.network, self.flat

        def code(key: tuple) -> int:
            return codes.setdefault(key, len(codes))

        signature = np.full(flat.size, -1, np.int32)
        canon = np.full(flat.size, ORDERED, np.int8)
        facts = np.flatnonzero(net.kind == FACT)
        if len(facts):
            first = net.constant_ids()
            const, param = net.const[facts], net.param[facts]
            values = np.where(param >= 0, -1 - param, first[np.maximum(const, 0)])
            distinct, inverse = np.unique(values, return_inverse=True)
            signature[facts] = np.array([code(("fact", v)) for v in distinct.tolist()], np.int32)[inverse.reshape(-1)]
        atoms = np.flatnonzero(net.kind != FACT)
        if len(atoms):
            triples = np.column_stack([net.activation[atoms], net.combination[atoms], net.offset[atoms]])
            inverse, n = row_ids(triples)
            distinct = np.zeros((n, 3), INDEX)
            distinct[inverse] = triples
            names = net.functions
            ids = [code(("atom", names[a], names[c], net.offset_names[o] if o >= 0 else None))
                   for a, c, o in distinct.tolist()]
            signature[atoms] = np.array(ids, np.int32)[inverse]
            canon[atoms] = np.array([canonical(names[c], o >= 0) for _, c, o in distinct.tolist()], np.int8)[inverse]
        for i, layer in enumerate(net.layers):
            rules = flat.rule_base + np.arange(flat.rule_offset[i], flat.rule_offset[i + 1])
            signature[rules] = code(("rule", layer.combination, layer.activation, layer.offset))
            canon[rules] = canonical(layer.combination, layer.offset is not None)
            aggs = flat.agg_base + np.arange(flat.agg_offset[i], flat.agg_offset[i + 1])
            if layer.partition is not None:  # its value depends on its partition too: each is its own class
                signature[aggs] = [code(("aggregation", int(g))) for g in aggs.tolist()]
                continue
            signature[aggs] = code(("aggregation", layer.aggregation, layer.head_weight))
            canon[aggs] = canonical(layer.aggregation, False)
        return signature, canon

    @property
    def example(self) -> np.ndarray:
        """The example of every neuron (of its head atom for rule and aggregation neurons)."""
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


class KeyTable:
    """Key rows seen so far, per row layout, and their classes: new rows get new classes.

    New keys are made distinct by one sort (:func:`row_ids`), in lexicographic order, and
    looked up among the kept ones by hash (:class:`_Layout`); the new ones are numbered in
    that order. A table may be kept across networks (:mod:`.incremental`).
    """

    def __init__(self) -> None:
        self.rows: dict[tuple, _Layout] = {}
        self.n_classes = 0

    def classes(self, layout: tuple, keys: np.ndarray, given: np.ndarray | None = None) -> np.ndarray:
        """The class of each key row; a row not seen before takes its ``given`` class (>= 0) or a new one."""
        local, n_distinct = row_ids(keys)
        some = np.empty(n_distinct, INDEX)
        some[local] = np.arange(len(keys))
        distinct = keys[some]  # in lexicographic order
        table = self.rows.get(layout)
        if table is None:
            table = self.rows[layout] = _Layout(keys.shape[1])
        cls = table.lookup(distinct)
        found = cls >= 0
        if given is not None:  # equal rows have equal given classes: the input class is in the key
            cls = np.where(cls < 0, given[some], cls)
        unnumbered = np.flatnonzero(cls < 0)
        cls[unnumbered] = self.n_classes + np.arange(len(unnumbered))
        self.n_classes += len(unnumbered)
        fresh = np.flatnonzero(~found)
        if len(fresh):
            table.add(distinct[fresh], cls[fresh])
        return cls[local]


class _Layout:
    """The distinct key rows of one layout (in the order first met) with their classes, and a hash of each row
    in sorted order: a lookup costs a binary search per row, whatever the number of rows kept.

    A hash found is checked against the row itself, so two rows that share a hash stay two keys.
    """

    def __init__(self, width: int) -> None:
        self.rows = np.zeros((16, width), INDEX)  # the first ``n`` rows are kept; the rest is room to grow
        self.classes = np.zeros(16, INDEX)
        self.n = 0
        self.hashes = np.zeros(0, np.uint64)  # sorted
        self.index = np.zeros(0, INDEX)  # the row of each hash

    def lookup(self, rows: np.ndarray) -> np.ndarray:
        """Per row (distinct): the class it was kept with, or -1."""
        found = np.full(len(rows), -1, INDEX)
        if not self.n or not len(rows):
            return found
        hashes = _row_hashes(rows)
        lo = np.searchsorted(self.hashes, hashes)
        hi = np.searchsorted(self.hashes, hashes, side="right")
        one = np.flatnonzero(hi - lo == 1)
        at = self.index[lo[one]]
        same = (self.rows[at] == rows[one]).all(axis=1)
        found[one[same]] = self.classes[at[same]]
        for k in np.flatnonzero(hi - lo > 1).tolist():  # rows sharing a hash: compare each
            for i in self.index[lo[k]:hi[k]].tolist():
                if (self.rows[i] == rows[k]).all():
                    found[k] = self.classes[i]
        return found

    def add(self, rows: np.ndarray, classes: np.ndarray) -> None:
        """Keep new rows (distinct, not kept before) with their classes."""
        n, m = self.n, len(rows)
        if n + m > len(self.rows):
            size = max(2 * len(self.rows), n + m)
            self.rows = np.concatenate([self.rows[:n], np.zeros((size - n, self.rows.shape[1]), INDEX)])
            self.classes = np.concatenate([self.classes[:n], np.zeros(size - n, INDEX)])
        self.rows[n:n + m], self.classes[n:n + m] = rows, classes
        self.n = n + m
        hashes = _row_hashes(rows)
        order = np.argsort(hashes, kind="stable")
        at = np.searchsorted(self.hashes, hashes[order])
        self.hashes = np.insert(self.hashes, at, hashes[order])
        self.index = np.insert(self.index, at, n + order)


_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def _row_hashes(rows: np.ndarray) -> np.ndarray:
    """A 64-bit hash of every row of an int64 matrix (multiply-xor over the columns, then a final mix)."""
    h = np.full(len(rows), np.uint64(len(rows[0]) if len(rows) else 0), np.uint64)
    with np.errstate(over="ignore"):
        for column in rows.T.view(np.uint64):
            h = (h ^ column) * _HASH_MULTIPLIER
            h ^= h >> np.uint64(29)
    return h


PLAIN, NORMALIZED, IDENTITY = range(3)  # how a neuron's key was formed (structural_classes)


def structural_classes(graph: NeuronGraph, extra: list[np.ndarray] = (),
                       table: KeyTable | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Class of every needed neuron (-1 elsewhere) by structural equivalence, refined by ``extra`` columns.

    Neurons are visited in topological order, one group per (level, phase); within a
    group, one key matrix per input layout; keys are looked up in a table of all keys
    seen so far, so equal keys at different levels, rules or kinds get one class. A
    layout holds neurons of one number of inputs (or runs of equal inputs) up to
    :data:`_EXACT`, then up to a power of two, the missing ones padded with -1, so a few
    sorts serve neurons of many widths.

    A neuron that is the identity of one input of weight 1 (:func:`canonical`: avg, max or
    min of copies of one input, or a single input) takes that input's class; an
    aggregation that would be one but for its head weight ``W`` computes ``W x`` and is keyed
    ``(W, class of x)``, which is also how its atom neurons see it. Also returned, per
    neuron, how its key was formed: :data:`PLAIN`, :data:`NORMALIZED` (avg proportions or
    max/min sets changed it) or :data:`IDENTITY` (the class of its input, or ``W x``).

    ``table`` holds the keys of networks classified before (:mod:`.incremental`: their
    signatures coded alike, see :class:`NeuronGraph`): a key met before gets
    its class again, so classes are shared with those networks.
    """
    keyed = graph.needed & ~graph.bypassed
    cls = np.full(len(keyed), -1, INDEX)
    code = np.full(len(keyed), -1, INDEX)  # what parents see: the class, or (W << _CLASS_BITS) | x for W x
    form = np.zeros(len(keyed), np.int8)
    table = KeyTable() if table is None else table
    counts = graph.counts
    ids = np.flatnonzero(keyed)
    width = _bucket(counts[ids])
    group = (graph.order[ids] * (COUNT + 1) + graph.canon[ids]) * (int(width.max(initial=0)) + 1) + width
    sort = np.argsort(group)
    ids, group, width = ids[sort], group[sort], width[sort]
    cuts = np.flatnonzero(group[1:] != group[:-1]) + 1
    heads = zip(graph.canon[ids[np.r_[0, cuts]]].tolist(), width[np.r_[0, cuts]].tolist()) if len(ids) else []
    for part, (canon, width) in zip(np.split(ids, cuts), heads):
        fixed = [graph.signature[part], *(column[part] for column in extra)]
        if canon == COUNT or width == 0:
            cls[part] = code[part] = table.classes(("count", len(fixed)), np.column_stack([*fixed, counts[part]]))
            continue
        at = graph.ptr[part][:, None] + np.arange(width)
        padded = width > _EXACT
        if padded:
            present = np.arange(width) < counts[part][:, None]
            at[~present] = 0
        packed = code[graph.child[at]]
        if graph.flat.rule_base <= part[0] < graph.flat.agg_base:  # only rule neurons weight their inputs
            packed |= graph.slot[at].astype(INDEX) << _CLASS_BITS
        if canon == ORDERED and width > 1:
            if padded:
                packed[~present] = -1
            cls[part] = code[part] = table.classes(("ordered", len(fixed), width), np.column_stack([*fixed, packed]))
            continue
        if padded:
            packed[~present] = _PAD
        packed.sort(axis=1)
        for rows, values, multiplicities, normalized in _runs(packed, canon, padded):
            mine = part[rows]
            form[mine[normalized]] = NORMALIZED
            plain = np.ones(len(rows), dtype=bool)
            given = None
            if values.shape[1] == 1:  # the identity of one input of weight 1 is that input; with a head weight W, W x
                same = graph.passing[mine] & (multiplicities[:, 0] == 1) & (values[:, 0] >> _CLASS_BITS == 0)
                form[mine[same]] = IDENTITY
                head = graph.head[mine].astype(INDEX)
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
_EXACT = 8  # key layouts of up to this many inputs are not padded


def _bucket(widths: np.ndarray) -> np.ndarray:
    """The padded width of a key layout: the width itself up to :data:`_EXACT`, else the next power of two."""
    out = np.asarray(widths, INDEX).copy()
    big = out > _EXACT
    out[big] = 1 << np.ceil(np.log2(out[big])).astype(INDEX)
    return out


def _runs(packed: np.ndarray, canon: int, padded: bool) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Rows of sorted input codes (``padded``: some end in :data:`_PAD`) as runs of equal codes, per run-count bucket.

    Per bucket: (rows, codes, multiplicities, normalized), the codes padded with -1 and the
    multiplicities with 0 to the bucket's width. ``SET`` keeps multiplicity 1, ``RATIO``
    divides the multiplicities by their gcd; ``normalized`` marks the rows that changed.
    """
    n, width = packed.shape
    if width == 1:
        return [(np.arange(n), packed, np.ones((n, 1), INDEX), np.zeros(n, dtype=bool))]
    starts = np.empty((n, width), dtype=bool)
    starts[:, 0] = True
    np.not_equal(packed[:, 1:], packed[:, :-1], out=starts[:, 1:])
    if padded:
        real = packed != _PAD
        starts &= real
    n_runs = starts.sum(axis=1)
    flat_starts = np.flatnonzero(starts.reshape(-1))
    row, col = np.divmod(flat_starts, width)
    following = np.r_[col[1:], 0]
    last = np.r_[row[1:] != row[:-1], True]
    following[last] = real.sum(axis=1)[row[last]] if padded else width
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
    order = ids[np.lexsort((~graph.bypassed[ids], graph.level[ids], cls[ids], graph.space[ids]))]  # stable
    space, klass = graph.space[order], cls[order]
    first = np.r_[True, (space[1:] != space[:-1]) | (klass[1:] != klass[:-1])] if len(order) else np.zeros(0, bool)
    rep[order] = order[np.flatnonzero(first)][np.cumsum(first) - 1]
    return rep


def realize(graph: NeuronGraph, rep: np.ndarray) -> Network:
    """The network with every reference to a neuron replaced by its representative ``rep`` (module docstring).

    A rule neuron's representative may belong to another layer (``Layer.member_layer``), and so
    may an atom neuron's input aggregation (``Network.in_layer``).
    """
    return rewire(graph.network, graph.flat, rep)


def rewire(net: Network, flat: Flat, rep: np.ndarray) -> Network:
    """:func:`realize` for any replacement ``rep`` of neurons (global numbering of ``flat``)."""
    rules = rep[flat.rule_base + flat.member_rule] - flat.rule_base
    layers = []
    for i, layer in enumerate(net.layers):
        mine = rules[flat.member_offset[i]:flat.member_offset[i + 1]]
        layers.append(replace(layer, body=rep[layer.body], member=flat.rule_local[mine],
                              member_layer=flat.rule_layer[mine]))
    aggs = rep[flat.agg_base + flat.in_agg] - flat.agg_base
    return replace(net, layers=layers, in_layer=flat.agg_layer[aggs], in_group=flat.agg_local[aggs],
                   outputs=rep[net.outputs])


def merges(graph: NeuronGraph, rep: np.ndarray, form: np.ndarray, pruned_after: np.ndarray) -> dict[str, int]:
    """The neurons lifting merged away, by kind of merge.

    A neuron that chain pruning kept is merged when another neuron represents it, or when
    its representative is pruned in the lifted network (``pruned_after``, same numbering: it
    became an identity, e.g. an avg of copies). ``by normal form``: its key was normalized or
    an identity (``form``, :func:`structural_classes`), or it became one; otherwise ``across
    layers`` when its representative comes from another layer (nodes: another predicate),
    else ``within one layer``.
    """
    gone = pruned_after[rep]
    merged = graph.needed & ~graph.pruned & ((rep != np.arange(len(rep))) | gone)
    normal = merged & ((form != PLAIN) | gone)
    across = merged & ~normal & (graph.home[rep] != graph.home)
    return {"within one layer": int((merged & ~normal & ~across).sum()), "across layers": int(across.sum()),
            "by normal form": int(normal.sum())}

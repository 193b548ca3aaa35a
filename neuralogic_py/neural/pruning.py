"""Exact chain pruning: neurons that compute exactly their single input are bypassed.

A neuron *passes its input through* when, given one input of weight 1, its value is that
input's value whatever the weights:

* a rule neuron without offset, with the identity activation and a combination that a
  single input skips (all but count, softmax and sparsemax, which make it the constant 1);
* an aggregation neuron without head weight whose aggregation is sum, avg, max, min or
  concat (each the identity on one member);
* an atom neuron without predicate offset, with the identity activation and a combination a
  single input skips.

It is *bypassed* when it has exactly one input, unweighted and without a function on it
(``~b``, ``sqrt(b)``), or when its function is avg, max or min and every input is the same
neuron, so unweighted and plain (avg(x, x) = x: after lifting has merged inputs).

An aggregation so bypassed may have a head weight ``W``: it is then *weighted*, ``W x``,
and the product belongs to the edges into its atom neurons, ``act(comb([o], W x, ...))``,
as in the reference's weighted atom neurons (the aggregation neuron itself is ``x``). When
every atom neuron reading it has it as its only input (no predicate offset), those atom
neurons apply ``W`` themselves and the aggregation is *absorbed*: no row at all. Otherwise
the schedule computes ``W x`` as a row of its own, the value those atoms read; it is the
product on an edge, not a neuron, so neither is counted as one.

Nothing with another activation is bypassed, so pruning never changes a value or a
gradient. (The reference's default pruning bypasses every *unweighted* single-input neuron
whatever its activation, dropping e.g. the sigmoid of a single-rule head; language.md
§5.6.)

The schedule gives a bypassed neuron no row of its own: it reads its input's row
(:mod:`.schedule`), but for the product of a weighted aggregation that is not absorbed.
Lifting gives a bypassed neuron its input's class (:mod:`.lifting`), and a weighted
aggregation the class of ``W x``. Chains of neurons that are exactly their input resolve to
the first neuron that is not (:func:`resolve`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .flat import Flat
from .network import ATOM, INDEX
from .shapes import CONSTANT_ON_ONE

PASSING_AGGREGATIONS = ("sum", "avg", "max", "min", "concat")  # the identity on a single member
IDEMPOTENT = ("avg", "max", "min")  # the identity on any number of copies of one input


@dataclass
class Bypass:
    """The single input of every bypassed neuron (-1: not bypassed).

    ``rule[r]`` is the node flat rule neuron ``r`` passes through, ``aggregation[g]`` the
    flat rule neuron aggregation ``g`` passes through, ``atom[a]`` the flat aggregation
    atom ``a`` passes through. ``weighted[g]``: aggregation ``g`` is bypassed but for its
    head weight (module docstring); ``absorbed[g]``: weighted, and every atom neuron
    reading it applies the head weight itself.
    """

    rule: np.ndarray
    aggregation: np.ndarray
    atom: np.ndarray
    weighted: np.ndarray
    absorbed: np.ndarray

    def global_mask(self) -> np.ndarray:
        """Bypassed or not, in the global numbering of :class:`~.flat.Flat` (nodes, rules, aggregations)."""
        return np.concatenate([self.atom >= 0, self.rule >= 0, self.aggregation >= 0])

    def identities(self) -> np.ndarray:
        """Bypassed and exactly their input (not weighted), in the global numbering."""
        return np.concatenate([self.atom >= 0, self.rule >= 0, (self.aggregation >= 0) & ~self.weighted])


def passes_through(flat: Flat) -> np.ndarray:
    """Per neuron (global numbering): whether it is the identity of a single input of weight 1.

    An aggregation is, but for its head weight (a weighted aggregation computes ``W x``).
    """
    net = flat.network
    rules = [layer.offset is None and layer.activation == "identity" and layer.combination not in CONSTANT_ON_ONE
             for layer in net.layers]
    aggs = [layer.aggregation in PASSING_AGGREGATIONS for layer in net.layers]  # but for a head weight
    atoms = (net.kind == ATOM) & (net.offset < 0) & _codes_in(net, net.activation, ("identity",)) \
        & ~_codes_in(net, net.combination, CONSTANT_ON_ONE)
    return np.concatenate([atoms, np.array(rules, bool)[flat.rule_layer], np.array(aggs, bool)[flat.agg_layer]])


def chain_bypass(flat: Flat) -> Bypass:
    """Which neurons of ``flat.network`` are bypassed, and through which input."""
    net = flat.network
    passing = passes_through(flat)
    rule = np.full(flat.n_rules, -1, INDEX)
    aggregation = np.full(flat.n_aggs, -1, INDEX)
    weighted = np.zeros(flat.n_aggs, dtype=bool)
    n_inputs = np.bincount(net.in_atom, minlength=net.n_nodes)
    # an atom neuron with one input and no offset can apply that input's head weight itself; an aggregation
    # leaves its head weight to its atoms only when every atom reading it can (after lifting, several may)
    can_absorb = (n_inputs == 1) & (net.offset < 0) & ~_codes_in(net, net.combination, CONSTANT_ON_ONE)
    keeps_weight = np.zeros(flat.n_aggs, dtype=bool)
    keeps_weight[flat.in_agg[~can_absorb[net.in_atom]]] = True
    member_start = np.searchsorted(flat.member_agg, np.arange(flat.n_aggs))
    for i, layer in enumerate(net.layers):
        p = len(layer.positions)
        unweighted = all(w is None for w in layer.weights) and all(f is None for f in layer.functions)
        if p and layer.n_rules and unweighted and passing[flat.rule_base + flat.rule_offset[i]] \
                and (p == 1 or layer.combination in IDEMPOTENT):
            same = (layer.body == layer.body[:, :1]).all(axis=1)
            rule[flat.rule_offset[i] + np.flatnonzero(same)] = layer.body[same, 0]
        if layer.aggregation not in PASSING_AGGREGATIONS or not layer.n_groups:
            continue
        single = layer.agg_count == 1
        if layer.aggregation in IDEMPOTENT:
            members = flat.members_of(i)
            starts = layer.group_starts
            single = np.maximum.reduceat(members, starts) == np.minimum.reduceat(members, starts)
        flat_ids = flat.agg_offset[i] + np.flatnonzero(single)
        aggregation[flat_ids] = flat.member_rule[member_start[flat_ids]]
        weighted[flat_ids] = layer.head_weight is not None
    absorbed = weighted & ~keeps_weight
    atom = np.full(net.n_nodes, -1, INDEX)
    first_input = flat.in_agg[np.minimum(np.searchsorted(net.in_atom, np.arange(net.n_nodes)),
                                         max(len(flat.in_agg) - 1, 0))] if len(flat.in_agg) \
        else np.zeros(net.n_nodes, INDEX)
    atoms = np.flatnonzero(passing[:net.n_nodes] & (n_inputs == 1))
    atoms = atoms[~weighted[first_input[atoms]]]  # an atom reading W x computes the product: not a copy
    atom[atoms] = first_input[atoms]
    return Bypass(rule, aggregation, atom, weighted, absorbed)


def resolve(flat: Flat, bypass: Bypass) -> np.ndarray:
    """For every neuron (global numbering), the first neuron down its chain of identities that is not one.

    A weighted aggregation (``W x``) is not an identity: it resolves to itself.
    """
    through = np.arange(flat.size, dtype=INDEX)
    rules = np.flatnonzero(bypass.rule >= 0)
    through[flat.rule_base + rules] = bypass.rule[rules]
    aggs = np.flatnonzero((bypass.aggregation >= 0) & ~bypass.weighted)
    through[flat.agg_base + aggs] = flat.rule_base + bypass.aggregation[aggs]
    atoms = np.flatnonzero(bypass.atom >= 0)
    through[atoms] = flat.agg_base + bypass.atom[atoms]
    while True:  # pointer jumping: chains halve every round
        step = through[through]
        if np.array_equal(step, through):
            return through
        through = step


def _codes_in(network, codes: np.ndarray, names) -> np.ndarray:
    """Whether each function code (index into ``network.functions``) names one of ``names``."""
    wanted = [network.functions.index(name) for name in names if name in network.functions]
    return np.isin(codes, wanted)

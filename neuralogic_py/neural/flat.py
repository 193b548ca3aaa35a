"""A network's neurons numbered across layers, its edges as flat arrays, and what the outputs reach.

:class:`~.network.Network` keeps rule and aggregation neurons per layer (one layer per
lifted rule). The schedule, chain pruning and lifting need them numbered across all
layers: *flat* rule neuron ``rule_offset[i] + r`` is rule neuron ``r`` of layer ``i``, flat
aggregation neuron ``agg_offset[i] + g`` is group ``g`` of layer ``i``. Edges:

* ``body_rule[k]`` reads node ``body_node[k]`` (every visible body literal, in literal order);
* aggregation ``member_agg[k]`` reduces rule neuron ``member_rule[k]`` (sorted by aggregation;
  a rule neuron listed twice counts twice, which is how a lifted network keeps multiplicities;
  in a lifted network it may be a rule neuron of another layer, ``Layer.member_layer``);
* atom ``network.in_atom[k]`` combines aggregation ``in_agg[k]`` (sorted by atom).

Some passes treat all neurons alike, in one *global* numbering: node ``a`` is ``a``, flat rule
neuron ``r`` is ``rule_base + r``, flat aggregation ``g`` is ``agg_base + g``.
"""

from __future__ import annotations

import numpy as np

from .network import INDEX, Network


class Flat:
    """Flat numbering of a network's rule and aggregation neurons and of its edges (module docstring)."""

    def __init__(self, network: Network) -> None:
        self.network = network
        layers = network.layers
        self.rule_offset = offsets_of([layer.n_rules for layer in layers])
        self.agg_offset = offsets_of([layer.n_groups for layer in layers])
        self.rule_layer = cat_index([np.full(layer.n_rules, i) for i, layer in enumerate(layers)])
        self.rule_local = cat_index([np.arange(layer.n_rules) for layer in layers])
        self.rule_level = cat_index([layer.rule_level for layer in layers])
        self.agg_layer = cat_index([np.full(layer.n_groups, i) for i, layer in enumerate(layers)])
        self.agg_local = cat_index([np.arange(layer.n_groups) for layer in layers])
        self.agg_level = cat_index([layer.agg_level for layer in layers])
        self.member_rule = cat_index([self.rule_offset[i if layer.member_layer is None else layer.member_layer]
                                      + layer.member for i, layer in enumerate(layers)])
        self.member_offset = offsets_of([len(layer.member) for layer in layers])
        self.member_agg = cat_index([self.agg_offset[i] + layer.member_group for i, layer in enumerate(layers)])
        self.body_rule = cat_index([np.repeat(self.rule_offset[i] + np.arange(layer.n_rules), layer.body.shape[1])
                               for i, layer in enumerate(layers)])
        self.body_node = cat_index([layer.body.reshape(-1) for layer in layers])
        self.in_agg = (self.agg_offset[network.in_layer] + network.in_group).astype(INDEX, copy=False)
        # softmax partitions (Layer.partition), numbered across layers; -1: not in one
        partition_offset = offsets_of([0 if layer.partition is None else int(layer.partition.max(initial=-1)) + 1
                                       for layer in layers])
        self.agg_partition = cat_index([np.full(layer.n_groups, -1) if layer.partition is None
                                        else partition_offset[i] + layer.partition for i, layer in enumerate(layers)])
        self.n_samples = len(network.samples)

    def members_of(self, i: int) -> np.ndarray:
        """The flat rule neurons that layer ``i``'s aggregations reduce (``Layer.member`` in flat numbering)."""
        return self.member_rule[self.member_offset[i]:self.member_offset[i + 1]]

    @property
    def n_nodes(self) -> int:
        return self.network.n_nodes

    @property
    def n_rules(self) -> int:
        return len(self.rule_layer)

    @property
    def n_aggs(self) -> int:
        return len(self.agg_layer)

    @property
    def rule_base(self) -> int:
        return self.n_nodes

    @property
    def agg_base(self) -> int:
        return self.n_nodes + self.n_rules

    @property
    def size(self) -> int:
        """Neurons in the global numbering: nodes, then rule neurons, then aggregation neurons."""
        return self.n_nodes + self.n_rules + self.n_aggs

    def reachable(self, outputs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Which nodes, rule and aggregation neurons ``outputs`` (default: the samples' outputs) depend on.

        Reached marks are pushed from the outputs down every edge until nothing
        changes (one round per level); an aggregation of a softmax partition reaches
        every aggregation of its partition.
        """
        net = self.network
        node = np.zeros(net.n_nodes, np.int8)
        node[net.outputs if outputs is None else outputs] = 1
        rule = np.zeros(self.n_rules, np.int8)
        agg = np.zeros(self.n_aggs, np.int8)
        to_agg = _Reducer(self.in_agg)
        to_rule = _Reducer(self.member_rule)
        to_node = _Reducer(self.body_node)
        split = np.flatnonzero(self.agg_partition >= 0)
        to_partition = _Reducer(self.agg_partition[split])
        while True:
            to_agg.push(agg, node[net.in_atom])
            if len(split):  # one group of a softmax partition needs all of them
                reached = np.zeros(int(self.agg_partition.max()) + 1, np.int8)
                to_partition.push(reached, agg[split])
                agg[split] = reached[self.agg_partition[split]]
            to_rule.push(rule, agg[self.member_agg])
            reached = int(node.sum())
            to_node.push(node, rule[self.body_rule])
            if int(node.sum()) == reached:
                return node.astype(bool), rule.astype(bool), agg.astype(bool)


class _Reducer:
    """The maximum of values pushed along edges into their targets (sorted once, reduceat each time)."""

    def __init__(self, targets: np.ndarray) -> None:
        self.order = np.argsort(targets, kind="stable")
        sorted_targets = targets[self.order]
        self.starts = np.flatnonzero(np.r_[True, sorted_targets[1:] != sorted_targets[:-1]]) if len(targets) \
            else np.zeros(0, INDEX)
        self.targets = sorted_targets[self.starts] if len(targets) else np.zeros(0, INDEX)

    def push(self, into: np.ndarray, values: np.ndarray) -> None:
        if len(self.targets):
            into[self.targets] = np.maximum(into[self.targets], np.maximum.reduceat(values[self.order], self.starts))


def offsets_of(sizes: list[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(INDEX)


def cat_index(parts: list[np.ndarray], shape: tuple[int, ...] = (0,)) -> np.ndarray:
    return np.concatenate(parts).astype(INDEX, copy=False) if parts else np.zeros(shape, INDEX)

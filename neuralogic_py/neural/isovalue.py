"""Value-based lifting, the method of the ICLR 2021 paper: neurons whose values agree under random weights.

Every learnable parameter is drawn uniformly from (-1, 1) (the reference's initialisation),
``inits`` times, each time from one generator seeded with ``seed``; the network runs forward
once per draw (the compiled plan of all samples); each neuron's values are rounded to
``digits`` decimal digits, and neurons with equal rounded values in every draw fall in one
*value class*. The store's values are never touched, and the draws come from a generator of
their own, so training starts from the same weights with or without lifting (the reference
draws from its training generator and so shifts the later initialisation).

This is a randomised identity test: equivalent neurons always agree (up to rounding at a digit
boundary, or values that differ in their last bits through the order of sums, which splits a
class and only costs compression), different functions agree only by accident, which rounding
to few digits, saturated activations, piecewise-linear functions (relu, max) and many neurons
(birthday collisions) make likelier. The structural check of :mod:`.lifting` can veto such
merges. Two defects of the reference are not copied: facts are never merged by value with
computed neurons (a sigmoid saturated to 1.0 is not the fact 1.0: facts keep their exact
classes), and the check compares every kind of neuron, weighted or not.

Values that are not finite give no class (each such neuron stays alone).
"""

from __future__ import annotations

import numpy as np

from .lifting import NeuronGraph, row_ids
from .network import FACT, INDEX
from .plan import materialize
from .schedule import Schedule


def value_classes(schedule: Schedule, graph: NeuronGraph, *, inits: int, digits: int, seed: int) -> np.ndarray:
    """The value class of every computed neuron that is needed and not bypassed (-1 elsewhere; global numbering)."""
    net = schedule.network
    store = net.store
    plan = materialize(schedule)
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(inits):
        values = dict(store.values)
        for name, parameter in store.parameters.items():
            if not parameter.fixed:
                values[name] = rng.uniform(-1.0, 1.0, parameter.shape)
        draws.append(plan.bank_values(values))
    bank = np.concatenate([schedule.node_bank, schedule.rule_bank, schedule.agg_bank])
    row = np.concatenate([schedule.node_row, schedule.rule_row, schedule.agg_row])
    computed = graph.needed & ~graph.bypassed
    computed[:net.n_nodes] &= net.kind != FACT
    out = np.full(len(computed), -1, INDEX)
    next_class = 0
    for b in np.unique(bank[computed]).tolist():
        neurons = np.flatnonzero(computed & (bank == b))
        rows, which = np.unique(row[neurons], return_inverse=True)
        numbers = np.concatenate([draw[b][rows].reshape(len(rows), -1) for draw in draws], axis=1)
        rounded = np.round(numbers, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
        finite = np.isfinite(rounded).all(axis=1)
        keys = np.column_stack([np.where(finite, -1, np.arange(len(rows))), rounded.view(np.int64)])
        local, n_classes = row_ids(keys)
        out[neurons] = next_class + local[which.reshape(-1)]
        next_class += n_classes
    return out
